-- API keys: only the SHA-256 of the key is stored.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    user_id TEXT,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);

-- Stored credentials: the secret part is a Fernet ciphertext bound to its row.
CREATE TABLE tokens (
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    token_type TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    scopes TEXT,
    expires_at TIMESTAMP,
    status TEXT NOT NULL DEFAULT 'active',
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, user_id, integration_key)
);
