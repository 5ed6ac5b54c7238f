-- Every commit that changes what a reader of a credential sees notifies `tokenvault_tokens`
-- with the key's digest: the first 16 bytes of SHA-256 over tenant, user_id and
-- integration_key joined by U+001F, as 32 hex digits (CredentialKey::digest). Each instance's
-- listener evicts that key from its read cache. Lease and background-schedule columns alone
-- do not notify: readers do not serve them.
CREATE FUNCTION tokenvault_token_changed() RETURNS trigger AS $$
DECLARE
    changed tokens;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    PERFORM pg_notify('tokenvault_tokens', left(encode(sha256(convert_to(
        changed.tenant || chr(31) || changed.user_id || chr(31) || changed.integration_key,
        'UTF8')), 'hex'), 32));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tokens_written AFTER INSERT OR DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION tokenvault_token_changed();

CREATE TRIGGER tokens_changed AFTER UPDATE ON tokens
    FOR EACH ROW WHEN (
        OLD.ciphertext IS DISTINCT FROM NEW.ciphertext
        OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.version IS DISTINCT FROM NEW.version
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
        OR OLD.scopes IS DISTINCT FROM NEW.scopes
        OR OLD.provider IS DISTINCT FROM NEW.provider
        OR OLD.token_type IS DISTINCT FROM NEW.token_type
        OR OLD.account IS DISTINCT FROM NEW.account
        OR OLD.cooldown_until IS DISTINCT FROM NEW.cooldown_until
        OR OLD.last_refresh_at IS DISTINCT FROM NEW.last_refresh_at
        OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
    ) EXECUTE FUNCTION tokenvault_token_changed();
