ALTER TABLE oauth_states DROP COLUMN connect_id;
DROP TABLE connects;
