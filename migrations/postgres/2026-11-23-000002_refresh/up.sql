-- Refresh coordination between instances: a lease (owner + expiry, unix milliseconds) taken by
-- compare-and-set, and a cooldown after a transient provider failure.
ALTER TABLE tokens ADD COLUMN refresh_lease_owner TEXT;
ALTER TABLE tokens ADD COLUMN refresh_lease_until BIGINT;
ALTER TABLE tokens ADD COLUMN cooldown_until BIGINT;

-- Audit log of stores, deletes, revocations and refresh attempts. Never holds secrets.
CREATE TABLE token_events (
    id BIGSERIAL PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX token_events_credential ON token_events (tenant, user_id, integration_key, id);
