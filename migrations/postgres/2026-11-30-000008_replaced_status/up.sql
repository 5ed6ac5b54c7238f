-- What a store replaced: the status the credential had before it was stored again (NULL when
-- the store created it). A store over an `invalid` credential is a recovery (webhook
-- `credential.recovered`); read back in the store's own transaction.
ALTER TABLE tokens ADD COLUMN replaced_status TEXT;
