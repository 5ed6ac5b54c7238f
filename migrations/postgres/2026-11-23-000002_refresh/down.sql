DROP TABLE token_events;
ALTER TABLE tokens DROP COLUMN cooldown_until;
ALTER TABLE tokens DROP COLUMN refresh_lease_until;
ALTER TABLE tokens DROP COLUMN refresh_lease_owner;
