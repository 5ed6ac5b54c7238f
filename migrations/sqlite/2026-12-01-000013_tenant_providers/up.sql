-- Providers a tenant added at run time, or its own OAuth app for a catalogue provider (issue 23).
CREATE TABLE tenant_providers (
    tenant TEXT NOT NULL,
    provider_key TEXT NOT NULL,
    definition TEXT NOT NULL,
    client_id TEXT,
    client_secret_ciphertext TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, provider_key)
);
