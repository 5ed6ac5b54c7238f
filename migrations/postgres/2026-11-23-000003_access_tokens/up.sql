-- Short-lived access tokens minted from API keys: only the SHA-256 of the token is stored.
CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    tenant TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    destroyed_at TIMESTAMP
);
CREATE INDEX access_tokens_api_key ON access_tokens (api_key_id);
CREATE INDEX access_tokens_tenant ON access_tokens (tenant);
