ALTER TABLE tokens DROP COLUMN last_refresh_at;
