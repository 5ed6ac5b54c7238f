DROP TABLE oauth_states;
ALTER TABLE tokens DROP COLUMN account;
