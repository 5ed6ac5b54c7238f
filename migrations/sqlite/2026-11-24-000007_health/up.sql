-- Connection health: background refresh, webhooks (outbox + delivery attempts), retention.

-- Consecutive failed refreshes (reset by a success or a new store), and when the background
-- refresher looks at this credential next (unix milliseconds): set after each refresh (when it
-- enters the ahead window), after a failure (the backoff), for one it cannot refresh (a day);
-- null until the refresher has seen it (then its expiry decides).
ALTER TABLE tokens ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN background_at BIGINT;
-- The background scan reads two small ranges: credentials it has not seen, by expiry, and those
-- it has, by when to look again. Neither holds a credential that is not due.
CREATE INDEX tokens_refresh_unseen ON tokens (expires_at)
    WHERE token_type = 'oauth2' AND status <> 'invalid' AND expires_at IS NOT NULL
      AND background_at IS NULL;
CREATE INDEX tokens_refresh_next ON tokens (background_at)
    WHERE token_type = 'oauth2' AND status <> 'invalid' AND background_at IS NOT NULL;

-- Webhook endpoints of a tenant. The signing secret is sealed like a credential.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret_ciphertext TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant);

-- The outbox: one message per event and endpoint, written in the transaction of the change
-- that caused it, delivered by whichever instance claims it (lease, unix milliseconds).
CREATE TABLE webhook_messages (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    delivered_at TIMESTAMP,
    failed_at TIMESTAMP,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_messages_webhook ON webhook_messages (webhook_id, created_at);

-- Every delivery attempt of a message.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, id);

-- Retention reads these by age.
CREATE INDEX token_events_created_at ON token_events (created_at);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
