DROP TRIGGER tokens_changed ON tokens;
DROP TRIGGER tokens_written ON tokens;
DROP FUNCTION tokenvault_token_changed();
