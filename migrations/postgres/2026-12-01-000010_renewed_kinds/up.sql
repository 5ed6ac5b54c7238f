-- The background refresher also renews the minting kinds (client_credentials, service_account):
-- its two partial indexes cover every renewed kind. The list is TokenType::RENEWED.
DROP INDEX tokens_refresh_unseen;
DROP INDEX tokens_refresh_next;
CREATE INDEX tokens_refresh_unseen ON tokens (expires_at)
    WHERE token_type IN ('oauth2', 'client_credentials', 'service_account')
      AND status <> 'invalid' AND expires_at IS NOT NULL AND background_at IS NULL;
CREATE INDEX tokens_refresh_next ON tokens (background_at)
    WHERE token_type IN ('oauth2', 'client_credentials', 'service_account')
      AND status <> 'invalid' AND background_at IS NOT NULL;
