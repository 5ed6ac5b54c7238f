//! The cross-instance half of single flight: a lease in the token row, taken by compare-and-set
//! (only at the version read, only if no live lease). An instance that loses waits, polling the
//! row, until the version moves (the winner wrote its result) or the lease expires (the winner
//! died, and it takes over). The outcome is written, and the lease released, in one transaction
//! with its audit event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::credentials::Error;
use crate::db::events::EventRow;
use crate::db::tokens::{FailedFields, RefreshedFields, TokenRow};
use crate::db::webhooks::Notice;
use crate::db::{Db, DbError};
use crate::model::{Clock, CredentialKey, EventKind, Outcome, TokenStatus, WebhookEvent};

/// A lease outlives the leader's own deadlines by this much (clock differences between
/// instances, the last write's round trip) before another instance may take over.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How often an instance waiting on another's lease looks at the row again.
const LEASE_POLL: Duration = Duration::from_millis(25);
/// How long a waiter whose current token still works waits for another instance's refresh.
const STILL_VALID_PATIENCE: Duration = Duration::from_secs(2);
/// First pause between attempts to write a refresh result into a failing database; doubles up
/// to `PERSIST_BACKOFF_MAX`.
const PERSIST_BACKOFF: Duration = Duration::from_millis(100);
const PERSIST_BACKOFF_MAX: Duration = Duration::from_secs(2);

/// How taking the lease ended.
pub enum Acquired {
    /// This instance holds it: call the provider.
    Taken,
    /// Another instance finished (or the credential was stored anew): its row.
    Moved(Box<TokenRow>),
}

/// How long a lease lasts: the provider call (bounded by `timeout`), then the write of its
/// answer, retried through a database fault for up to `persist`, and a margin. No other
/// instance takes over before it ends, so a refresh token the provider has superseded is never
/// sent again while the answer that superseded it may still be written (the leader gives up
/// writing before its lease ends). The price: a leader that dies mid-refresh holds the
/// credential for this long (135 s by default) before another instance refreshes it.
pub fn lease_len(timeout: Duration, persist: Duration) -> Duration {
    timeout + persist + LEASE_MARGIN
}

/// How long to wait for another instance's refresh: briefly when the current token still works
/// (the caller is served it), else as long as a live leader needs to answer (`timeout` and the
/// margin). A waiter that gives up answers 503 with `Retry-After` until the lease ends.
pub fn patience(token_still_valid: bool, timeout: Duration) -> Duration {
    match token_still_valid {
        true => STILL_VALID_PATIENCE,
        false => timeout + LEASE_MARGIN,
    }
}

/// Takes the lease of `key` at `version` for `owner`, waiting out another instance's lease for
/// at most `patience`.
pub async fn acquire(
    db: &Db,
    key: &CredentialKey,
    (version, owner): (i64, &str),
    lease_len: Duration,
    patience: Duration,
    clock: &Clock,
) -> Result<Acquired, Error> {
    let give_up_at = Instant::now() + patience;
    let lease_ms = i64::try_from(lease_len.as_millis()).unwrap_or(i64::MAX);
    loop {
        let (k, o) = (key.clone(), owner.to_string());
        let now_ms = clock.now_millis();
        let taken = db
            .run(move |conn| {
                let span = (now_ms, now_ms.saturating_add(lease_ms));
                Ok(TokenRow::try_lease(conn, &k, version, &o, span)?)
            })
            .await?;
        if taken {
            return Ok(Acquired::Taken);
        }
        let current = find(db, key).await?.ok_or(Error::NotFound)?;
        if current.version != version {
            return Ok(Acquired::Moved(Box::new(current)));
        }
        if Instant::now() >= give_up_at {
            let left_ms = current
                .refresh_lease_until
                .map_or(0, |until| until.saturating_sub(clock.now_millis()));
            let left = u64::try_from(left_ms.saturating_add(999) / 1000).unwrap_or(0);
            return Err(Error::Unavailable {
                reason: "another instance is still refreshing this credential".into(),
                retry_after: Some(left.clamp(1, 300)),
            });
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// The row of `key` as it is now.
pub async fn find(db: &Db, key: &CredentialKey) -> Result<Option<TokenRow>, DbError> {
    let key = key.clone();
    db.read(move |conn| Ok(TokenRow::find(conn, &key)?)).await
}

/// What a successful refresh writes.
#[derive(Clone)]
pub struct Success {
    pub ciphertext: String,
    pub expires_at: Option<NaiveDateTime>,
    pub scopes: Option<String>,
    pub reason: &'static str,
    pub at: NaiveDateTime,
    /// When the provider was asked (unix milliseconds).
    pub asked_at_ms: i64,
    /// When the background refresher looks at it next (unix milliseconds).
    pub background_at: Option<i64>,
    pub provider: String,
    /// `Recovered` when this success ends a run of failures.
    pub notice: Option<WebhookEvent>,
}

/// What a failed refresh writes.
#[derive(Debug)]
pub struct Failed {
    pub fields: FailedFields,
    pub outcome: Outcome,
    /// Why, without a secret.
    pub reason: String,
    pub provider: String,
    /// What the tenant's webhooks hear, if anything.
    pub notice: Option<WebhookEvent>,
}

/// Writes a successful refresh and its event, by compare-and-set on the `version` the refresh
/// started from (releasing the lease): the written row, or `None` when another refresh or a
/// new store landed first.
pub async fn complete(
    db: &Db,
    key: &CredentialKey,
    version: i64,
    success: Success,
) -> Result<Option<TokenRow>, DbError> {
    let key = key.clone();
    let subscriptions = Arc::clone(db.subscriptions());
    db.transaction(move |conn| {
        let fields = RefreshedFields {
            ciphertext: &success.ciphertext,
            expires_at: success.expires_at,
            scopes: success.scopes.as_deref(),
            updated_at: success.at,
            asked_at_ms: success.asked_at_ms,
            background_at: success.background_at,
        };
        if !TokenRow::complete_refresh(conn, &key, version, &fields)? {
            return Ok(None);
        }
        let event = (EventKind::Refresh, Outcome::Success);
        EventRow::record(conn, &key, event, Some(success.reason), success.at)?;
        if let Some(event) = success.notice {
            let notice = Notice {
                event,
                key: &key,
                provider: &success.provider,
                status: Some(TokenStatus::Active),
                reason: Some(success.reason),
                at: success.at,
            };
            subscriptions.enqueue(conn, &notice)?;
        }
        Ok(TokenRow::find(conn, &key)?)
    })
    .await
}

/// Retries `complete` through a database fault for up to `window`: once a provider has
/// answered, its tokens (a rotated refresh token above all) must reach the database.
pub async fn persist(db: Db, key: CredentialKey, version: i64, success: Success, window: Duration) {
    let give_up_at = Instant::now() + window;
    let mut pause = PERSIST_BACKOFF;
    for attempt in 2u32.. {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(PERSIST_BACKOFF_MAX);
        match complete(&db, &key, version, success.clone()).await {
            Ok(Some(_)) => {
                tracing::info!(%key, attempt, "refresh result written after a database fault");
                return;
            }
            Ok(None) => {
                tracing::warn!(%key, "another refresh or a new store landed first; this refresh's result is superseded");
                return;
            }
            Err(e) if e.is_transient() && Instant::now() < give_up_at => {
                tracing::debug!(%key, attempt, error = %e, "refresh result not written yet; retrying");
            }
            Err(e) => {
                tracing::error!(
                    %key, attempt, error = %e,
                    "refresh result could not be written: the provider's new tokens are lost; \
                     the user may have to re-authorize this connection"
                );
                return;
            }
        }
    }
}

/// Writes a failed refresh, its event and its webhook notice while `owner` holds the lease.
pub async fn fail(
    db: &Db,
    key: &CredentialKey,
    owner: &str,
    failed: Failed,
) -> Result<(), DbError> {
    let (key, owner) = (key.clone(), owner.to_string());
    let subscriptions = Arc::clone(db.subscriptions());
    db.transaction(move |conn| {
        let at = failed.fields.at;
        if !TokenRow::fail_refresh(conn, &key, &owner, failed.fields)? {
            return Ok(());
        }
        let event = (EventKind::Refresh, failed.outcome);
        EventRow::record(conn, &key, event, Some(&failed.reason), at)?;
        if let Some(event) = failed.notice {
            let notice = Notice {
                event,
                key: &key,
                provider: &failed.provider,
                status: Some(failed.fields.status),
                reason: Some(&failed.reason),
                at,
            };
            subscriptions.enqueue(conn, &notice)?;
        }
        Ok(())
    })
    .await
}
