-- One row proving which encryption key the data was written with: a sealed check value that
-- must open with a configured key before the server starts.
CREATE TABLE key_check (
    id INTEGER PRIMARY KEY NOT NULL,
    ciphertext TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
