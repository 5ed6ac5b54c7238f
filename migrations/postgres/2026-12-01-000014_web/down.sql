DROP TABLE console_sessions;
DROP INDEX connects_session;
ALTER TABLE connects DROP COLUMN session_id;
DROP TABLE connect_sessions;
