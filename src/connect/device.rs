//! The device flow (RFC 8628) and the status of any connect. `start_device` asks the provider
//! for a device code and a user code, seals the device code in a `connects` row and answers the
//! user code; `DevicePoller` (a background worker on every instance) polls due connects, each
//! under a lease so that one instance polls at a time and another takes over when it dies, at
//! the provider's interval (+5 s per `slow_down`), until the user approves, denies, or the code
//! expires. An approval stores the credential and finishes the connect in one transaction.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::json;
use tokio::task::JoinSet;

use super::{ConnectService, StartRequest};
use crate::credentials::data::OAuth2TokenData;
use crate::credentials::service::{AlsoInTransaction, NewCredential};
use crate::credentials::{Error, ErrorChain, Inconsistency};
use crate::db::DbError;
use crate::db::connects::{ConnectRow, Polled};
use crate::db::events::EventRow;
use crate::model::{ConnectFlow, ConnectStatus, CredentialKey, EventKind, Outcome};
use crate::providers::Provider;
use crate::providers::client::Failure;
use crate::providers::device::{MAX_INTERVAL_SECS, Poll};
use crate::secret::{Secret, random_base62};

/// How long an instance holding approved tokens keeps the connect to itself while storing them.
const APPROVAL_HOLD_MS: i64 = 120_000;
/// Why a store is rolled back: the connect was no longer pending.
const ALREADY_FINISHED: &str = "the connect was already finished";
/// Seconds `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_SECS: i32 = 5;
/// The longest pause after polls that got no answer.
const MAX_BACKOFF_SECS: i64 = 60;
/// Connects one poller pass looks at.
const BATCH: i64 = 32;
/// How often the poller looks for due connects.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// A started device connect: what the user is shown.
#[derive(Debug)]
pub struct DeviceStarted {
    pub connect_id: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_at: NaiveDateTime,
    pub interval: u64,
}

/// Where a connect stands.
#[derive(Debug)]
pub struct ConnectView {
    pub connect_id: String,
    pub flow: ConnectFlow,
    pub status: ConnectStatus,
    pub integration_key: String,
    pub provider: String,
    pub error: Option<String>,
    pub expires_at: NaiveDateTime,
}

impl ConnectService {
    /// Starts a device connect for (tenant, user): the codes to show the user.
    pub async fn start_device(
        &self,
        tenant: &str,
        user_id: &str,
        request: StartRequest,
    ) -> Result<DeviceStarted, Error> {
        let (provider, client) =
            self.connectable(tenant, &request.provider, ConnectFlow::Device)?;
        let integration_key = request.integration_key.as_deref().unwrap_or(&provider.key);
        let key = CredentialKey::parse(tenant, user_id, integration_key).map_err(Error::Invalid)?;
        let scopes = request
            .scopes
            .unwrap_or_else(|| provider.default_scopes.clone());
        super::check_scopes(&provider, &scopes)?;
        if provider.has_connection_config() || !request.connection_config.is_empty() {
            return Err(Error::Unprocessable(format!(
                "{} has per-account values (connection_config): connect it with flow \
                 authorization_code",
                provider.key
            )));
        }
        let timeout = self.inner.settings.timeout;
        let call = self
            .inner
            .client
            .device_authorization(&provider, &client, &scopes, timeout);
        let authorization = call.await.map_err(|failure| match failure {
            Failure::Rejected(reason) => Error::Unprocessable(format!(
                "{} refused the device authorization: {reason}",
                provider.key
            )),
            Failure::Transient {
                reason,
                retry_after,
            } => Error::Unavailable {
                reason: format!("{} device authorization: {reason}", provider.key),
                retry_after,
            },
        })?;
        let clock = self.inner.credentials.clock();
        let (now, now_ms) = (clock.now_naive(), clock.now_millis());
        let lifetime = i64::try_from(authorization.expires_in).unwrap_or(0);
        let interval = i32::try_from(authorization.interval).unwrap_or(SLOW_DOWN_SECS);
        let sealed = json!({"device_code": authorization.device_code.as_str()});
        let row = ConnectRow {
            device_ciphertext: Some(self.inner.vault.seal(&key, &sealed)),
            interval_secs: interval,
            next_poll_at: Some(now_ms.saturating_add(i64::from(interval) * 1000)),
            expires_at: now + chrono::Duration::seconds(lifetime),
            ..new_connect(&key, &provider, ConnectFlow::Device, &scopes, now)?
        };
        let (connect_id, expires_at) = (row.connect_id.clone(), row.expires_at);
        self.inner
            .db
            .run(move |conn| Ok(ConnectRow::insert(conn, &row)?))
            .await?;
        tracing::info!(%key, provider = %provider.key, connect_id, "device connect started");
        Ok(DeviceStarted {
            connect_id,
            user_code: authorization.user_code,
            verification_uri: authorization.verification_uri,
            verification_uri_complete: authorization.verification_uri_complete,
            expires_at,
            interval: authorization.interval,
        })
    }

    /// Where connect `connect_id` of (tenant, user) stands; a pending one past its expiry is
    /// `expired`.
    pub async fn status(
        &self,
        tenant: &str,
        user_id: &str,
        connect_id: &str,
    ) -> Result<ConnectView, Error> {
        let (tenant, user, id) = (
            tenant.to_string(),
            user_id.to_string(),
            connect_id.to_string(),
        );
        let row = self
            .inner
            .db
            .read(move |conn| Ok(ConnectRow::find(conn, &tenant, &user, &id)?))
            .await?
            .ok_or(Error::NotFound)?;
        let unknown = |what: &str| Error::internal(Inconsistency(format!("connect {what}")));
        let flow: ConnectFlow = row.flow.parse().map_err(|_| unknown("flow"))?;
        let mut status: ConnectStatus = row.status.parse().map_err(|_| unknown("status"))?;
        let now = self.inner.credentials.clock().now_naive();
        if status == ConnectStatus::Pending && row.expires_at <= now {
            status = ConnectStatus::Expired;
        }
        Ok(ConnectView {
            connect_id: row.connect_id,
            flow,
            status,
            integration_key: row.integration_key,
            provider: row.provider,
            error: row.error,
            expires_at: row.expires_at,
        })
    }

    /// Polls one claimed connect and writes what came of it.
    async fn poll_claimed(&self, row: ConnectRow, owner: &str) -> Result<(), Error> {
        let key = CredentialKey::stored(&row.tenant, &row.user_id, &row.integration_key);
        let clock = self.inner.credentials.clock();
        let (now, now_ms) = (clock.now_naive(), clock.now_millis());
        let step = match self.connectable(&row.tenant, &row.provider, ConnectFlow::Device) {
            _ if row.expires_at <= now => Step::Finish(
                ConnectStatus::Expired,
                "expired_token".into(),
                "the device code expired before the user approved".into(),
            ),
            Err(e) => Step::Finish(
                ConnectStatus::Failed,
                "not_connectable".into(),
                e.to_string(),
            ),
            Ok((provider, client)) => {
                let device_code = self.device_code(&key, &row)?;
                let timeout = self.inner.settings.timeout;
                let poll = self
                    .inner
                    .client
                    .device_poll(&provider, &client, &device_code, timeout);
                match poll.await {
                    Poll::Tokens(exchanged) => {
                        return self
                            .connected(&key, &row, owner, &provider, *exchanged)
                            .await;
                    }
                    other => {
                        if let Poll::Transient(reason) = &other {
                            tracing::info!(%key, provider = %provider.key, reason, "device poll got no answer; backing off");
                        }
                        next_step(other, &row, now_ms)
                    }
                }
            }
        };
        let next = match step {
            Step::Again(next) => next,
            Step::Finish(status, code, why) => {
                return self
                    .finish_device(&key, &row, owner, status, &code, &why)
                    .await;
            }
        };
        let (id, owner) = (row.connect_id.clone(), owner.to_string());
        self.inner
            .db
            .run(move |conn| Ok(ConnectRow::polled(conn, &id, &owner, &next)?))
            .await?;
        Ok(())
    }

    /// The connect's device code, unsealed.
    fn device_code(&self, key: &CredentialKey, row: &ConnectRow) -> Result<Secret<String>, Error> {
        let sealed = row.device_ciphertext.as_deref().unwrap_or_default();
        let opened = self
            .inner
            .vault
            .open(key, sealed)
            .map_err(Error::internal)?;
        let code = opened.data["device_code"].as_str().unwrap_or_default();
        Ok(Secret::new(code.to_string()))
    }

    /// Approved: the credential is stored and the connect finished in one transaction, only
    /// while the connect is still pending (so an approval is stored once, and never under a
    /// connect another instance ended). The lease is held meanwhile, and a failed write retried
    /// while it lasts: the provider will not hand out the tokens twice.
    async fn connected(
        &self,
        key: &CredentialKey,
        row: &ConnectRow,
        owner: &str,
        provider: &Provider,
        exchanged: crate::providers::client::Exchanged,
    ) -> Result<(), Error> {
        let clock = self.inner.credentials.clock().clone();
        let hold_until = clock.now_millis().saturating_add(APPROVAL_HOLD_MS);
        let (id, owner_owned) = (row.connect_id.clone(), owner.to_string());
        let held = self
            .inner
            .db
            .run(move |conn| Ok(ConnectRow::extend(conn, &id, &owner_owned, hold_until)?));
        if let Err(e) = held.await {
            tracing::warn!(%key, error = %ErrorChain(&e), "could not extend the device connect's lease; storing anyway");
        }
        let account = self.account(provider, &exchanged).await;
        let scopes: Option<Vec<String>> = row
            .scopes
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok());
        let data = OAuth2TokenData::from_reply(&exchanged.tokens);
        let mut attempt = 0u32;
        loop {
            let new = NewCredential::connected(
                &provider.key,
                data.clone(),
                scopes.clone(),
                account.clone(),
                Default::default(),
            );
            let (id, now) = (row.connect_id.clone(), clock.now_naive());
            let finish: AlsoInTransaction = Box::new(move |conn| {
                match ConnectRow::finish(conn, &id, ConnectStatus::Connected.as_str(), None, now)? {
                    true => Ok(()),
                    false => Err(DbError::Missing(ALREADY_FINISHED)),
                }
            });
            let stored = self
                .inner
                .credentials
                .store_with(key.clone(), new, Some(finish));
            match stored.await {
                Ok(_) => {
                    tracing::info!(%key, provider = %provider.key, connect_id = row.connect_id, "connected credential (device flow)");
                    return Ok(());
                }
                // Another instance ended it (or this one's earlier attempt did commit).
                Err(Error::Database(DbError::Missing(ALREADY_FINISHED))) => {
                    tracing::info!(%key, connect_id = row.connect_id, "device connect already finished; approval not stored again");
                    return Ok(());
                }
                Err(Error::Database(e))
                    if e.is_transient() && clock.now_millis() < hold_until && attempt < 7 =>
                {
                    attempt += 1;
                    tracing::warn!(%key, error = %ErrorChain(&e), attempt, "device connect not stored yet; retrying");
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends a device connect without a credential: its status, error code and audit event.
    async fn finish_device(
        &self,
        key: &CredentialKey,
        row: &ConnectRow,
        owner: &str,
        status: ConnectStatus,
        code: &str,
        reason: &str,
    ) -> Result<(), Error> {
        tracing::info!(%key, provider = %row.provider, status = %status, reason, "device connect ended");
        let outcome = match status {
            ConnectStatus::Denied => Outcome::Denied,
            _ => Outcome::Failed,
        };
        let now = self.inner.credentials.clock().now_naive();
        let done = Polled::Finished {
            status: status.as_str().into(),
            error: Some(code.to_string()),
            at: now,
        };
        let (key, id, owner, reason) = (
            key.clone(),
            row.connect_id.clone(),
            owner.to_string(),
            reason.to_string(),
        );
        self.inner
            .db
            .transaction(move |conn| {
                if ConnectRow::polled(conn, &id, &owner, &done)? {
                    EventRow::record(
                        conn,
                        &key,
                        (EventKind::Connected, outcome),
                        Some(&reason),
                        now,
                    )?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}

/// What a poll that brought no tokens leads to.
enum Step {
    /// Still pending: poll again as this says.
    Again(Polled),
    /// Ended: the status, the error code, why (for the audit event).
    Finish(ConnectStatus, String, String),
}

/// The rule of RFC 8628 §3.5 for an answer without tokens: pending polls again after the
/// interval, `slow_down` after an interval 5 s longer (or the one the reply names) from now on,
/// no answer after an exponential backoff; a denial, an expired code or any other error ends it.
fn next_step(poll: Poll, row: &ConnectRow, now_ms: i64) -> Step {
    let interval = row.interval_secs;
    let again = |interval: i32, failures: i32, wait: i64| {
        Step::Again(Polled::Again {
            interval_secs: interval,
            next_poll_at: now_ms.saturating_add(wait.saturating_mul(1000)),
            poll_failures: failures,
        })
    };
    let finish = |status, code: &str, why: String| Step::Finish(status, code.into(), why);
    match poll {
        Poll::Pending => again(interval, 0, i64::from(interval)),
        Poll::SlowDown(named) => {
            let slower = interval.saturating_add(SLOW_DOWN_SECS);
            let named = named.and_then(|n| i32::try_from(n).ok()).unwrap_or(0);
            let max = i32::try_from(MAX_INTERVAL_SECS).unwrap_or(i32::MAX);
            let interval = slower.max(named).min(max);
            again(interval, 0, i64::from(interval))
        }
        Poll::Transient(_) => {
            let failures = row.poll_failures.saturating_add(1);
            let doubled = i64::from(interval) << failures.clamp(0, 6);
            let wait = doubled.min(MAX_BACKOFF_SECS).max(i64::from(interval));
            again(interval, failures, wait)
        }
        Poll::Denied => finish(
            ConnectStatus::Denied,
            "access_denied",
            "the user denied the authorization".into(),
        ),
        Poll::Expired => finish(
            ConnectStatus::Expired,
            "expired_token",
            "the provider says the device code expired".into(),
        ),
        Poll::Failed(code) => {
            let why = format!("the provider answered {code}");
            finish(ConnectStatus::Failed, &code, why)
        }
        Poll::Tokens(_) => finish(
            ConnectStatus::Failed,
            "internal",
            "tokens reached the no-token rule".into(),
        ),
    }
}

/// A new pending connect row of `flow` (no polling).
pub(super) fn new_connect(
    key: &CredentialKey,
    provider: &Provider,
    flow: ConnectFlow,
    scopes: &[String],
    now: NaiveDateTime,
) -> Result<ConnectRow, Error> {
    let connect_id = format!("con_{}", random_base62(24).map_err(Error::internal)?);
    Ok(ConnectRow {
        connect_id,
        tenant: key.tenant.to_string(),
        user_id: key.user_id.to_string(),
        integration_key: key.integration_key.to_string(),
        provider: provider.key.clone(),
        flow: flow.as_str().into(),
        status: ConnectStatus::Pending.as_str().into(),
        error: None,
        scopes: Some(serde_json::to_string(scopes).unwrap_or_default()),
        device_ciphertext: None,
        interval_secs: 0,
        next_poll_at: None,
        poll_failures: 0,
        lease_owner: None,
        lease_until: None,
        created_at: now,
        expires_at: now,
        finished_at: None,
        session_id: None,
    })
}

/// Polls due device connects: every instance runs one; the lease on each row keeps two
/// instances from polling one connect at once.
#[derive(Clone)]
pub struct DevicePoller {
    connect: ConnectService,
    owner: String,
}

impl DevicePoller {
    pub fn new(connect: ConnectService, owner: String) -> DevicePoller {
        DevicePoller { connect, owner }
    }

    /// Polls forever, every second.
    pub async fn run(self) {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.poll_once().await {
                tracing::warn!(error = %ErrorChain(&e), "device poll pass failed; next one as usual");
            }
        }
    }

    /// One pass: claims the connects due now and polls them concurrently; how many it polled.
    pub async fn poll_once(&self) -> Result<usize, DbError> {
        let clock = self.connect.inner.credentials.clock().clone();
        let now_ms = clock.now_millis();
        let db = self.connect.inner.db.clone();
        let due = db
            .run(move |conn| Ok(ConnectRow::due(conn, now_ms, BATCH)?))
            .await?;
        let lease_ms = i64::try_from((self.connect.inner.settings.timeout * 3).as_millis())
            .unwrap_or(i64::MAX);
        let mut polls = JoinSet::new();
        for id in due {
            let owner = self.owner.clone();
            // Each claim's own now: claims are one round trip each, and a lease must not start
            // in the past.
            let now_ms = clock.now_millis();
            let until = now_ms.saturating_add(lease_ms);
            let claimed = db
                .run(move |conn| Ok(ConnectRow::claim(conn, &id, (&owner, now_ms, until))?))
                .await?;
            let Some(row) = claimed else { continue };
            let (connect, owner) = (self.connect.clone(), self.owner.clone());
            polls.spawn(async move {
                let id = row.connect_id.clone();
                if let Err(e) = connect.poll_claimed(row, &owner).await {
                    tracing::warn!(connect_id = id, error = %ErrorChain(&e), "device poll failed; the lease lets it be polled again");
                }
            });
        }
        let mut polled = 0;
        while polls.join_next().await.is_some() {
            polled += 1;
        }
        Ok(polled)
    }
}
