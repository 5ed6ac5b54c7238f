-- Per-account values of a credential (issue 24): JSON object of connection_config fields.
ALTER TABLE tokens ADD COLUMN connection_config TEXT;
ALTER TABLE oauth_states ADD COLUMN connection_config TEXT;
