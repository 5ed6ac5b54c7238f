DROP INDEX tokens_refresh_unseen;
DROP INDEX tokens_refresh_next;
CREATE INDEX tokens_refresh_unseen ON tokens (expires_at)
    WHERE token_type = 'oauth2' AND status <> 'invalid' AND expires_at IS NOT NULL
      AND background_at IS NULL;
CREATE INDEX tokens_refresh_next ON tokens (background_at)
    WHERE token_type = 'oauth2' AND status <> 'invalid' AND background_at IS NOT NULL;
