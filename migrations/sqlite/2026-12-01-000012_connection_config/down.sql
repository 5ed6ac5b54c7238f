ALTER TABLE oauth_states DROP COLUMN connection_config;
ALTER TABLE tokens DROP COLUMN connection_config;
