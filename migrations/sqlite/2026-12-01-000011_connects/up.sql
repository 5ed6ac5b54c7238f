-- A connect, whatever its flow, has a status an app can ask for (GET …/connect/{connect_id}).
-- Device flow (RFC 8628): the device code is sealed; any instance polls a due connect under a
-- lease (lease_owner, lease_until: unix milliseconds), at interval_secs (+5 per slow_down);
-- next_poll_at is null once the connect has finished.
CREATE TABLE connects (
    connect_id TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    flow TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    scopes TEXT,
    device_ciphertext TEXT,
    interval_secs INTEGER NOT NULL,
    next_poll_at BIGINT,
    poll_failures INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX connects_due ON connects (next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX connects_expires_at ON connects (expires_at);
-- The authorization-code flow's state names its connect.
ALTER TABLE oauth_states ADD COLUMN connect_id TEXT;
