ALTER TABLE tokens DROP COLUMN replaced_status;
