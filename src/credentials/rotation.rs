//! `tokenvault rotate-key`: re-encrypts every stored credential with the first configured key
//! (and binds legacy ciphertexts written by the original Python service to their rows).
//!
//! Safe to interrupt and re-run: rows are visited in primary-key order in batches, each row is
//! swapped by compare-and-set on its old ciphertext, and a row already under the first key is
//! only counted. Safe while the server runs: a row written concurrently (a store or a refresh)
//! keeps the concurrent write, which the server sealed itself; the row is read again and checked.

use diesel::Connection;

use crate::crypto::Vault;
use crate::db::tokens::TokenRow;
use crate::db::{Db, DbError};
use crate::model::CredentialKey;

/// How many times a row that keeps changing under us is retried before it is reported.
const MAX_ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Rows per batch (one read, one write transaction).
    pub batch_size: i64,
    /// Stop after visiting this many rows (a deliberate interruption; re-run to continue).
    pub limit: Option<u64>,
}

/// Counts so far, reported after each batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows in the table when the run started.
    pub total: u64,
    pub reencrypted: u64,
    pub already_current: u64,
    /// Rows deleted while we were at them.
    pub vanished: u64,
    /// Rows that could not be re-encrypted: their identity and why (never their contents).
    pub failed: Vec<(CredentialKey, String)>,
    /// True when the run stopped at `Options::limit` before the end.
    pub interrupted: bool,
}

impl Summary {
    pub fn visited(&self) -> u64 {
        self.reencrypted + self.already_current + self.vanished + self.failed.len() as u64
    }
}

enum Plan {
    Current,
    Swap { new: String },
    Failed(String),
}

fn plan(vault: &Vault, row: &TokenRow) -> Plan {
    let key = row.key();
    match vault.open(&key, &row.ciphertext) {
        Err(e) => Plan::Failed(e.to_string()),
        // Under the first key and bound to its row: nothing to do. A legacy (unbound) ciphertext
        // is re-sealed even under the first key, so that afterwards every row is bound.
        Ok(opened) if opened.key_index == 0 && opened.bound => Plan::Current,
        Ok(opened) => Plan::Swap {
            new: vault.seal(&key, &opened.data),
        },
    }
}

/// Re-encrypts every row under the vault's first key (and, when all succeeded, re-seals the key
/// check with it); `progress` hears the counts after each batch. Errors only when the database
/// fails; undecryptable rows are counted as failed.
pub fn rotate(
    db: &Db,
    vault: &Vault,
    options: Options,
    progress: &mut dyn FnMut(&Summary),
) -> Result<Summary, DbError> {
    let mut summary = Summary {
        total: db.run_blocking(|conn| Ok(TokenRow::count(conn)?))? as u64,
        ..Summary::default()
    };
    let mut after: Option<CredentialKey> = None;
    loop {
        let batch_size = match options.limit {
            Some(limit) if summary.visited() >= limit => {
                summary.interrupted = true;
                break;
            }
            Some(limit) => options.batch_size.min((limit - summary.visited()) as i64),
            None => options.batch_size,
        };
        let batch =
            db.run_blocking(|conn| Ok(TokenRow::page_after(conn, after.as_ref(), batch_size)?))?;
        let Some(last) = batch.last() else { break };
        after = Some(last.key());

        let mut swaps = Vec::new();
        for row in &batch {
            match plan(vault, row) {
                Plan::Current => summary.already_current += 1,
                Plan::Failed(why) => summary.failed.push((row.key(), why)),
                Plan::Swap { new } => swaps.push((row, new)),
            }
        }
        // One short write transaction per batch (one statement on PostgreSQL); rows that
        // changed meanwhile are retried alone.
        let batch_swaps: Vec<(CredentialKey, &str, &str)> = swaps
            .iter()
            .map(|(row, new)| (row.key(), row.ciphertext.as_str(), new.as_str()))
            .collect();
        let swapped: std::collections::HashSet<CredentialKey> = db
            .run_blocking(|conn| {
                conn.transaction(|conn| TokenRow::swap_ciphertexts(conn, &batch_swaps))
                    .map_err(DbError::from)
            })?
            .into_iter()
            .collect();
        let lost: Vec<&TokenRow> = swaps
            .iter()
            .map(|(row, _)| *row)
            .filter(|row| !swapped.contains(&row.key()))
            .collect();
        summary.reencrypted += (swaps.len() - lost.len()) as u64;
        for row in lost {
            retry_row(db, vault, row.key(), &mut summary)?;
        }
        progress(&summary);
    }
    // Every row is now under the first key: so is the proof of which key the data needs.
    if summary.failed.is_empty() && !summary.interrupted {
        super::key_check::reseal(db, vault)?;
    }
    Ok(summary)
}

/// A row that changed under us: read it again and re-encrypt what is there now.
fn retry_row(
    db: &Db,
    vault: &Vault,
    id: CredentialKey,
    summary: &mut Summary,
) -> Result<(), DbError> {
    for _ in 0..MAX_ATTEMPTS {
        let current = db.run_blocking(|conn| Ok(TokenRow::find(conn, &id)?))?;
        let Some(row) = current else {
            summary.vanished += 1;
            return Ok(());
        };
        match plan(vault, &row) {
            Plan::Current => {
                summary.already_current += 1;
                return Ok(());
            }
            Plan::Failed(why) => {
                summary.failed.push((id, why));
                return Ok(());
            }
            Plan::Swap { new } => {
                if db.run_blocking(|conn| {
                    Ok(TokenRow::swap_ciphertext(conn, &id, &row.ciphertext, &new)?)
                })? {
                    summary.reencrypted += 1;
                    return Ok(());
                }
            }
        }
    }
    summary.failed.push((
        id,
        "kept changing during rotation; run rotate-key again".into(),
    ));
    Ok(())
}
