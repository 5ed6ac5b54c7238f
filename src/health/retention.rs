//! Retention: what the background worker deletes, hourly, and `tokenvault reap` on demand.
//! Expired access tokens (a day after expiry), expired connect states, audit events older than
//! the retention, delivered (or given-up) webhook messages after a week, and, when configured,
//! credentials left `invalid` for that many days (each with its `deleted` event and webhook).

use chrono::NaiveDateTime;

use crate::credentials::service::{Removal, remove};
use crate::db::access_tokens::AccessTokenRow;
use crate::db::connects::ConnectRow;
use crate::db::events::EventRow;
use crate::db::oauth_states::StateRow;
use crate::db::tokens::TokenRow;
use crate::db::web::{ConnectSessionRow, ConsoleSessionRow};
use crate::db::webhooks::MessageRow;
use crate::db::{Db, DbConnection, DbError};
use crate::model::Revocation;
use diesel::QueryResult;

/// Expired access tokens are kept this long after expiry (a client's error can still name them).
const ACCESS_TOKEN_GRACE_DAYS: u64 = 1;
/// Delivered webhook messages are kept this long.
const DELIVERED_DAYS: u64 = 7;
/// Rows deleted per database job.
const RETENTION_BATCH: i64 = 5000;
/// Invalid credentials deleted per pass at most.
const REAP_BATCH: i64 = 1000;

/// Retention settings.
#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    pub events_days: u64,
    /// `None`: invalid credentials are kept.
    pub reap_invalid_days: Option<u64>,
}

/// What one pass deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purged {
    pub access_tokens: usize,
    /// Connect states and connects (their status is kept a day past expiry).
    pub oauth_states: usize,
    pub events: usize,
    pub webhook_messages: usize,
    /// Credentials deleted for having been invalid too long.
    pub reaped: Vec<String>,
}

fn days_before(now: NaiveDateTime, days: u64) -> NaiveDateTime {
    let days = i64::try_from(days).unwrap_or(i64::MAX);
    chrono::Duration::try_days(days)
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(NaiveDateTime::MIN)
}

/// Credentials that have been `invalid` for `days` at `now` (what a pass would reap).
pub async fn invalid_for(db: &Db, days: u64, now: NaiveDateTime) -> Result<Vec<TokenRow>, DbError> {
    let before = days_before(now, days);
    db.read(move |conn| Ok(TokenRow::invalid_since(conn, before, REAP_BATCH)?))
        .await
}

/// Runs `purge` (which deletes at most `RETENTION_BATCH` rows) as its own database job until
/// it deletes fewer: every job stays short, within the database deadline and statement timeout.
async fn in_batches<F>(db: &Db, purge: F) -> Result<usize, DbError>
where
    F: Fn(&mut DbConnection, i64) -> QueryResult<usize> + Clone + Send + 'static,
{
    let mut total = 0;
    loop {
        let purge = purge.clone();
        let deleted = db
            .run(move |conn| Ok(purge(conn, RETENTION_BATCH)?))
            .await?;
        total += deleted;
        if i64::try_from(deleted).unwrap_or(i64::MAX) < RETENTION_BATCH {
            return Ok(total);
        }
    }
}

/// One retention pass as of `now`.
pub async fn purge(
    db: &Db,
    settings: RetentionSettings,
    now: NaiveDateTime,
) -> Result<Purged, DbError> {
    let grace = days_before(now, ACCESS_TOKEN_GRACE_DAYS);
    let events_before = days_before(now, settings.events_days);
    let delivered_before = days_before(now, DELIVERED_DAYS);
    // A finished connect's status stays readable for a day after it expired.
    let connects_before = days_before(now, 1);
    let mut purged = Purged {
        access_tokens: in_batches(db, move |c, n| AccessTokenRow::purge_expired(c, grace, n))
            .await?,
        oauth_states: in_batches(db, move |c, n| StateRow::purge_expired(c, now, n)).await?
            + in_batches(db, move |c, n| {
                ConnectRow::purge_expired(c, connects_before, n)
            })
            .await?
            + in_batches(db, move |c, n| {
                ConnectSessionRow::purge_expired(c, connects_before, n)
            })
            .await?
            // Console sign-ins: ended by age, or unused for a day (the console's idle limit is
            // shorter; it checks that itself).
            + db
                .run(move |c| Ok(ConsoleSessionRow::purge_expired(c, now, connects_before)?))
                .await?,
        events: in_batches(db, move |c, n| EventRow::purge_before(c, events_before, n)).await?,
        webhook_messages: in_batches(db, move |c, n| {
            MessageRow::purge_finished(c, delivered_before, n)
        })
        .await?,
        reaped: Vec::new(),
    };
    if let Some(days) = settings.reap_invalid_days {
        for row in invalid_for(db, days, now).await? {
            let key = row.key();
            let removal = Removal {
                provider: row.provider.clone(),
                revocation: Revocation::Skipped,
                reason: Some(format!(
                    "reaped: invalid for more than {days} days (TOKENVAULT_REAP_INVALID_DAYS)"
                )),
            };
            if remove(db, &key, removal).await? {
                tracing::info!(%key, provider = %row.provider, days, "deleted a credential left invalid");
                purged.reaped.push(key.to_string());
            }
        }
    }
    for (kind, count) in [
        ("access_tokens", purged.access_tokens),
        ("oauth_states", purged.oauth_states),
        ("events", purged.events),
        ("webhook_messages", purged.webhook_messages),
        ("invalid_credentials", purged.reaped.len()),
    ] {
        crate::metrics::retention_deleted(kind, count);
    }
    Ok(purged)
}
