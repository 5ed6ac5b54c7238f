DROP TABLE tokens;
DROP TABLE api_keys;
