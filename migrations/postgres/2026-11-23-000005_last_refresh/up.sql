-- When (unix milliseconds) the provider was last asked to refresh this credential, by any
-- instance: forced refreshes are limited to one per TOKENVAULT_FORCE_REFRESH_MIN_SECS.
ALTER TABLE tokens ADD COLUMN last_refresh_at BIGINT;
