-- Hosted connect: a link an app hands to its end user. Only the token's hash is kept; the
-- allow-list of providers is a JSON list (null: every provider the tenant can connect).
CREATE TABLE connect_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    providers TEXT,
    redirect_uri TEXT,
    popup BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX connect_sessions_expires_at ON connect_sessions (expires_at);
-- What a connect session connected: its connects name it.
ALTER TABLE connects ADD COLUMN session_id TEXT;
CREATE INDEX connects_session ON connects (session_id) WHERE session_id IS NOT NULL;
-- The console's sign-ins: the cookie's hash, the admin key it was made with, idle and absolute
-- expiry. (A form's CSRF token is derived from the cookie, never stored.)
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    tenant TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
