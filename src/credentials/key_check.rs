//! Start-up proof that a configured key opens the data: a check value sealed at first start
//! (re-sealed by `rotate-key`) must open, or the server and every command refuse to start.
//! A database from before the check existed is proven by its first credential instead.

use crate::config::Config;
use crate::crypto::Vault;
use crate::db::key_check::KeyCheck;
use crate::db::tokens::TokenRow;
use crate::db::{self, DatabaseUrl, Db, DbError};

/// Why start-up stops.
fn mismatch(vault: &Vault) -> String {
    format!(
        "SECRET_TOKEN_ENC_KEY does not match the data in this database: none of the {} \
         configured key(s) opens it. Set the key the data was written with (to change keys, \
         set \"NEW,OLD\" and run `tokenvault rotate-key`)",
        vault.key_count()
    )
}

/// Whether the database holds anything encrypted (then a new key must never be generated).
pub fn holds_encrypted_data(db: &Db) -> Result<bool, DbError> {
    db.run_blocking(|conn| Ok(KeyCheck::find(conn)?.is_some() || TokenRow::count(conn)? > 0))
}

/// Which configured key opens the data: its index, or `None` on a database with nothing
/// encrypted yet.
pub fn which_key(db: &Db, vault: &Vault) -> Result<Option<usize>, String> {
    let (check, first_row) = db
        .run_blocking(|conn| {
            let check = KeyCheck::find(conn)?;
            let first = match check {
                Some(_) => None,
                None => TokenRow::page_after(conn, None, 1)?.pop(),
            };
            Ok((check, first))
        })
        .map_err(|e| format!("cannot read the key check: {e}"))?;
    match (check, first_row) {
        (Some(check), _) => vault
            .open_check(&check)
            .map(Some)
            .map_err(|_| mismatch(vault)),
        (None, Some(row)) => vault
            .open(&row.key(), &row.ciphertext)
            .map(|opened| Some(opened.key_index))
            .map_err(|_| mismatch(vault)),
        (None, None) => Ok(None),
    }
}

/// Refuses a key that does not open the data; seals the check value when there is none yet.
pub fn verify_or_seal(db: &Db, vault: &Vault) -> Result<usize, String> {
    let opened = which_key(db, vault)?;
    let has_check = db
        .run_blocking(|conn| Ok(KeyCheck::find(conn)?.is_some()))
        .map_err(|e| format!("cannot read the key check: {e}"))?;
    if has_check {
        return Ok(opened.unwrap_or(0));
    }
    let sealed = vault.seal_check();
    let inserted = db
        .run_blocking(|conn| Ok(KeyCheck::insert(conn, &sealed, db::now())?))
        .map_err(|e| format!("cannot store the key check: {e}"))?;
    if inserted {
        return Ok(opened.unwrap_or(0));
    }
    // Another instance sealed one first: it must open with our keys too.
    which_key(db, vault).map(|index| index.unwrap_or(0))
}

/// Re-seals the check value with the first key (after every row was re-encrypted with it).
pub fn reseal(db: &Db, vault: &Vault) -> Result<(), DbError> {
    let sealed = vault.seal_check();
    db.run_blocking(|conn| Ok(KeyCheck::replace(conn, &sealed, db::now())?))
}

/// How many stored credentials are unbound ciphertexts of the original service (readable, but
/// not bound to their row until `rotate-key` re-seals them).
pub fn count_unbound(db: &Db, vault: &Vault) -> Result<u64, DbError> {
    let mut after = None;
    let mut unbound = 0u64;
    loop {
        let batch = db.run_blocking(|conn| Ok(TokenRow::page_after(conn, after.as_ref(), 500)?))?;
        let Some(last) = batch.last() else {
            return Ok(unbound);
        };
        after = Some(last.key());
        let legacy = batch.iter().filter(|row| {
            vault
                .open(&row.key(), &row.ciphertext)
                .is_ok_and(|opened| !opened.bound)
        });
        unbound = unbound.saturating_add(legacy.count() as u64);
    }
}

/// Counts unbound ciphertexts in the background and says what to do about them.
pub fn report_unbound(db: Db, vault: std::sync::Arc<Vault>) {
    let spawned = std::thread::Builder::new()
        .name("tokenvault-legacy-count".into())
        .spawn(move || match count_unbound(&db, &vault) {
            Ok(0) => {}
            Ok(count) => tracing::warn!(
                count,
                "credentials in the original service's unbound format: run `tokenvault rotate-key` \
                 to bind them to their rows (TOKENVAULT_LEGACY_CIPHERTEXT=refuse stops serving them)"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot count unbound credentials"),
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot count unbound credentials");
    }
}

/// Loads the encryption keys: configured, or the key file next to the SQLite database
/// (generated only while the database holds nothing encrypted).
pub fn load_vault(
    config: &Config,
    db: &Db,
) -> Result<(Vault, Option<(std::path::PathBuf, bool)>), String> {
    if let Some(spec) = &config.encryption_keys {
        return Ok((Vault::from_secrets(spec.as_str())?, None));
    }
    match &config.database {
        DatabaseUrl::Postgres(_) => Err(
            "SECRET_TOKEN_ENC_KEY is not set. With PostgreSQL it is required, so that every \
             instance can read the same data: generate one with `tokenvault gen-key` and set it"
                .into(),
        ),
        DatabaseUrl::Sqlite(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| std::path::Path::new("."));
            let holds_data =
                holds_encrypted_data(db).map_err(|e| format!("cannot read the database: {e}"))?;
            let (key, file, created) = crate::crypto::load_or_create_key_file(dir, !holds_data)?;
            Ok((Vault::from_secrets(&key)?, Some((file, created))))
        }
    }
}
