-- Connect flow: who the credential belongs to at the provider ({"id","email","name"} as JSON,
-- null when unknown), and the pending authorization requests.
ALTER TABLE tokens ADD COLUMN account TEXT;

-- One row per started connect: the state is single use (used_at is set by a compare-and-set)
-- and expires after ten minutes. Only a hash of the state is kept; the PKCE verifier is sealed.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    scopes TEXT,
    redirect_uri TEXT NOT NULL,
    verifier_ciphertext TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
