DROP INDEX access_tokens_expires_at;
DROP INDEX token_events_created_at;
DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
DROP TABLE webhooks;
DROP INDEX tokens_refresh_next;
DROP INDEX tokens_refresh_unseen;
ALTER TABLE tokens DROP COLUMN background_at;
ALTER TABLE tokens DROP COLUMN refresh_failures;
