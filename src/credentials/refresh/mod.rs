//! The refresh engine. A refresh is: join or lead the in-process flight (`flight`), take the
//! row's lease or wait for the instance holding it (`lease`), call the provider with no database
//! connection held, then write the outcome and its audit event. `policy` decides when to
//! refresh and what an answer means.

pub mod flight;
pub mod lease;
mod mint;
pub mod policy;

use std::time::Instant;

use super::data::TokenData;
use super::service::{Credential, CredentialService, Usable, Want};
use super::{Error, Inconsistency};
use crate::db::tokens::{FailedFields, TokenRow};
use crate::model::{CredentialKey, Outcome, Scopes, TokenStatus, WebhookEvent};
use crate::providers::Provider;
use crate::providers::client::{Failure, TokenReply};
use crate::providers::config;
use flight::Tail;
use lease::Acquired;

/// How a flight leader's refresh ended.
enum Led {
    /// Refreshed and written.
    Written(Credential),
    /// Refreshed; the database write failed and is being retried (`Tail`).
    Persisting(Credential, Tail),
}

/// What the background refresher did with one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// Refreshed at the provider (here, or by a GET or another instance it waited for).
    Refreshed,
    /// Nothing to do: no longer due, not refreshable (held off for a day), invalid, or gone.
    Skipped,
}

/// How long the background refresher leaves a credential it cannot refresh (no refresh token,
/// no token endpoint) before looking again; a new store looks at once.
const NOT_REFRESHABLE_HOLD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl CredentialService {
    /// The background refresher's rule: refresh `key` if it expires within `ahead`, through the
    /// same single flight and lease as a GET.
    pub async fn refresh_ahead(
        &self,
        key: &CredentialKey,
        ahead: std::time::Duration,
    ) -> Result<Ahead, Error> {
        let credential = match self.load(key).await {
            Ok(credential) => credential,
            Err(Error::NotFound) => return Ok(Ahead::Skipped),
            Err(e) => return Err(e),
        };
        let row = &credential.row;
        if !row.token_type.renewed() || row.status == TokenStatus::Invalid {
            return Ok(Ahead::Skipped);
        }
        if policy::not_refreshable(&credential, &self.inner.registry).is_some() {
            let hold_ms = i64::try_from(NOT_REFRESHABLE_HOLD.as_millis()).unwrap_or(i64::MAX);
            let (key, version) = (key.clone(), row.version);
            let until = self.now_ms().saturating_add(hold_ms);
            self.inner
                .db
                .run(move |conn| Ok(TokenRow::hold_background(conn, &key, version, until)?))
                .await?;
            return Ok(Ahead::Skipped);
        }
        if !policy::due(row.expires_at, self.now(), ahead, false) {
            return Ok(Ahead::Skipped);
        }
        // Someone (a GET, another instance's refresher) is refreshing it right now.
        if row
            .refresh_lease_until
            .is_some_and(|until| until > self.now_ms())
        {
            return Ok(Ahead::Skipped);
        }
        self.refresh(&credential).await.map(|_| Ahead::Refreshed)
    }

    /// GET's rule: refresh first when due; a transient failure falls back to the current token
    /// while it is still valid.
    pub(super) async fn make_usable(
        &self,
        credential: Credential,
        want: Want,
    ) -> Result<Usable, Error> {
        let as_is = |credential| {
            Ok(Usable {
                credential,
                refreshed: false,
            })
        };
        let row = &credential.row;
        if !row.token_type.renewed() {
            return as_is(credential);
        }
        if row.status == TokenStatus::Invalid {
            return Err(Error::rejected(None));
        }
        // A minting kind with nothing minted yet has no token to fall back to.
        let as_is = |credential: Credential| match credential.data.minted() {
            None if credential.row.token_type.minted() => Err(Error::Unavailable {
                reason: "no access token has been minted for this credential yet".into(),
                retry_after: policy::cooldown_left(credential.row.cooldown_until, self.now_ms()),
            }),
            _ => as_is(credential),
        };
        let now = self.now();
        let settings = &self.inner.settings;
        // Forcing (and asking for more validity than the window gives) is limited to once per
        // interval; refresh near expiry is not.
        let last = row.last_refresh_at;
        let may_force = policy::forced_too_soon(last, self.now_ms(), settings.force_min).is_none();
        let window = match want.min_validity {
            Some(wanted) if may_force => wanted.max(settings.window),
            _ => settings.window,
        };
        let due = policy::due(row.expires_at, now, window, want.force && may_force);
        if !due || policy::not_refreshable(&credential, &self.inner.registry).is_some() {
            return as_is(credential);
        }
        match self.refresh(&credential).await {
            Ok(fresh) => Ok(Usable {
                credential: fresh,
                refreshed: true,
            }),
            Err(Error::Unavailable { .. })
                if policy::still_valid(credential.row.expires_at, now) =>
            {
                as_is(credential)
            }
            Err(e) => Err(e),
        }
    }

    /// After the provider's API refused `used`'s token: a renewed credential, through the same
    /// single flight and lease as any refresh (when another request or instance renewed it
    /// meanwhile, that result, without calling the provider). Not limited by the
    /// forced-refresh interval: the caller asks at most once per request. `None` when the
    /// credential cannot be renewed (an API key, no refresh token, no token endpoint).
    pub async fn renewed_after_refusal(
        &self,
        used: &Credential,
    ) -> Result<Option<Credential>, Error> {
        let row = &used.row;
        if !row.token_type.renewed()
            || policy::not_refreshable(used, &self.inner.registry).is_some()
        {
            return Ok(None);
        }
        if row.status == TokenStatus::Invalid {
            return Err(Error::rejected(None));
        }
        self.refresh(used).await.map(Some)
    }

    /// Refreshes once, joining a refresh of the same credential already in flight here.
    pub(super) async fn refresh(&self, credential: &Credential) -> Result<Credential, Error> {
        if let Some(wait) = policy::cooldown_left(credential.row.cooldown_until, self.now_ms()) {
            return Err(Error::Unavailable {
                reason: format!(
                    "a recent refresh attempt failed; the next one is allowed in {wait}s"
                ),
                retry_after: Some(wait),
            });
        }
        let (service, leader) = (self.clone(), credential.clone());
        let led = std::sync::atomic::AtomicBool::new(false);
        let joined = self
            .inner
            .flights
            .join_or_lead(credential.row.key(), || {
                led.store(true, std::sync::atomic::Ordering::Relaxed);
                service.lead_flight(leader)
            })
            .await;
        if !led.load(std::sync::atomic::Ordering::Relaxed) {
            crate::metrics::refresh_joined();
        }
        joined.unwrap_or_else(|| {
            Err(Error::internal(Inconsistency(
                "the refresh task ended without a result".into(),
            )))
        })
    }

    /// The flight leader: its result for every waiter, and the write still going on, if any.
    async fn lead_flight(
        self,
        credential: Credential,
    ) -> (Result<Credential, Error>, Option<Tail>) {
        let (key, service) = (credential.row.key(), self.clone());
        let led = self.lead(credential).await;
        // Whatever was written (or may have been) is read from the database next.
        service.written(&key);
        match led {
            Ok(Led::Written(fresh)) => (Ok(fresh), None),
            Ok(Led::Persisting(fresh, tail)) => (Ok(fresh), Some(tail)),
            Err(e) => (Err(e), None),
        }
    }

    /// Lease → provider call → write the outcome.
    async fn lead(self, credential: Credential) -> Result<Led, Error> {
        let row = &credential.row;
        let provider = self
            .inner
            .registry
            .lookup(row.tenant.as_str(), &row.provider)
            .map(|p| {
                let config = config::from_column(row.connection_config.as_deref());
                p.resolved(&config).into_owned()
            })
            .ok_or_else(|| {
                Error::internal(Inconsistency(format!("unknown provider {}", row.provider)))
            })?;
        let key = row.key();
        let settings = &self.inner.settings;
        let lease_len = lease::lease_len(settings.timeout, settings.persist);
        let still_valid = policy::still_valid(row.expires_at, self.now());
        let patience = lease::patience(still_valid, settings.timeout);
        let owner = &self.inner.instance;
        let taken = lease::acquire(
            &self.inner.db,
            &key,
            (row.version, owner),
            lease_len,
            patience,
            &self.inner.clock,
        );
        if let Acquired::Moved(current) = taken.await? {
            return self.outcome_of(*current).map(Led::Written);
        }
        let started = Instant::now();
        let asked_at_ms = self.now_ms();
        let tenant = row.tenant.as_str();
        let mut result = self
            .call_provider(tenant, &provider, &credential.data)
            .await;
        // A client tokenvault registered itself and the server no longer knows: registered
        // anew (once), and the grant tried again with it.
        if matches!(&result, Err(failure) if failure.refused_client())
            && self
                .inner
                .registry
                .renew_client(tenant, &row.provider)
                .await
        {
            result = self
                .call_provider(tenant, &provider, &credential.data)
                .await;
        }
        let took = started.elapsed();
        let outcome = match &result {
            Ok(_) => Outcome::Success,
            Err(Failure::Rejected(_)) => Outcome::Invalid,
            Err(Failure::Transient { .. }) => Outcome::Transient,
        };
        crate::metrics::refresh(&provider.key, outcome.as_str(), took);
        let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(%key, provider = %provider.key, took_ms, "provider answered");
        match result {
            Ok(reply) => {
                let answer = (reply, asked_at_ms);
                self.write_success(&key, &provider, credential, answer)
                    .await
            }
            Err(failure) => {
                let answer = (failure, asked_at_ms);
                Err(self
                    .write_failure(&key, &provider, &credential, answer)
                    .await?)
            }
        }
    }

    /// Seals the merged reply and writes it (compare-and-set on the version the refresh started
    /// from). A database fault does not lose it: waiters get it from memory while the write is
    /// retried in the background.
    async fn write_success(
        &self,
        key: &CredentialKey,
        provider: &Provider,
        credential: Credential,
        (reply, asked_at_ms): (TokenReply, i64),
    ) -> Result<Led, Error> {
        let Credential { row, data } = credential;
        let fresh = data.merge_reply(&reply);
        let rotated = reply.refresh_token.is_some();
        let success = self.success_write(key, (&row, provider), &fresh, (&reply, asked_at_ms));
        tracing::info!(%key, provider = %provider.key, kind = %row.token_type, rotated, "renewed credential");
        if provider.rotates_refresh_token && !rotated {
            tracing::debug!(%key, provider = %provider.key, "provider usually rotates refresh tokens; this reply kept it");
        }
        let db = &self.inner.db;
        match lease::complete(db, key, row.version, success.clone()).await {
            Ok(Some(row)) => Ok(Led::Written(Credential { row, data: fresh })),
            // Another refresh or a new store landed first: serve what is there.
            Ok(None) => {
                let current = lease::find(db, key).await?.ok_or(Error::NotFound)?;
                self.outcome_of(current).map(Led::Written)
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(%key, error = %e, "refresh result not written yet; retrying in the background");
                let in_memory = TokenRow {
                    expires_at: success.expires_at,
                    scopes: success.scopes.clone(),
                    status: TokenStatus::Active,
                    updated_at: success.at,
                    cooldown_until: None,
                    last_refresh_at: Some(success.asked_at_ms),
                    refresh_failures: 0,
                    ..row
                };
                let window = self.inner.settings.persist;
                let tail =
                    lease::persist(db.clone(), key.clone(), in_memory.version, success, window);
                let fresh = Credential {
                    row: in_memory,
                    data: fresh,
                };
                Ok(Led::Persisting(fresh, Box::pin(tail)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What a successful refresh writes.
    fn success_write(
        &self,
        key: &CredentialKey,
        (row, provider): (&TokenRow, &Provider),
        fresh: &TokenData,
        (reply, asked_at_ms): (&TokenReply, i64),
    ) -> lease::Success {
        let at = self.now();
        // A reply without a lifetime is taken to live the provider's usual one (a day when
        // unknown): the token is renewed by then rather than left to die silently.
        let lifetime = reply.expires_in.unwrap_or(provider.assumed_expires_in());
        let expires_at = policy::expires_at_after(at, lifetime);
        let ahead = self.inner.settings.ahead;
        let recovers = row.status != TokenStatus::Active || row.refresh_failures > 0;
        lease::Success {
            ciphertext: self.inner.vault.seal(key, &fresh.to_value()),
            expires_at,
            scopes: match &reply.scope {
                Some(scope) => Some(Scopes::from_reply(scope).to_column()),
                None => row.scopes.clone(),
            },
            reason: match (row.token_type.minted(), reply.refresh_token.is_some()) {
                (true, _) => "minted a new access token",
                (false, true) => "refreshed; the provider rotated the refresh token",
                (false, false) => "refreshed; the refresh token was kept",
            },
            at,
            asked_at_ms,
            background_at: policy::background_after_success(asked_at_ms, expires_at, ahead),
            provider: row.provider.clone(),
            notice: recovers.then_some(WebhookEvent::Recovered),
        }
    }

    /// Records a failed refresh (status, cooldown, event) and returns the error to answer.
    async fn write_failure(
        &self,
        key: &CredentialKey,
        provider: &Provider,
        credential: &Credential,
        (failure, asked_at_ms): (Failure, i64),
    ) -> Result<Error, Error> {
        let row = &credential.row;
        let (now, now_ms) = (self.now(), self.now_ms());
        let cooldown = self.inner.settings.cooldown;
        let record = policy::on_failure(
            &failure,
            (row.status, row.expires_at),
            (now, now_ms),
            cooldown,
        );
        let reason = failure.reason().to_string();
        tracing::warn!(
            %key, provider = %provider.key, class = %record.outcome, reason = %reason,
            "refresh failed"
        );
        let retry_at = policy::background_retry_at(
            now_ms,
            row.refresh_failures.saturating_add(1),
            cooldown,
            record.cooldown_until,
            policy::jitter(),
        );
        let notice = match record.status {
            TokenStatus::Invalid => Some(WebhookEvent::Invalid),
            TokenStatus::Expired if row.status != TokenStatus::Expired => {
                Some(WebhookEvent::RefreshFailed)
            }
            _ => None,
        };
        let failed = lease::Failed {
            fields: FailedFields {
                status: record.status,
                cooldown_until: record.cooldown_until,
                background_at: retry_at,
                at: now,
                asked_at_ms,
            },
            outcome: record.outcome,
            reason,
            provider: row.provider.clone(),
            notice,
        };
        lease::fail(&self.inner.db, key, &self.inner.instance, failed).await?;
        Ok(policy::error_for(failure, &record, self.now_ms()))
    }

    /// What another instance's finished refresh (or a new store) left in the row.
    fn outcome_of(&self, current: TokenRow) -> Result<Credential, Error> {
        if current.status == TokenStatus::Invalid {
            return Err(Error::rejected(Some(
                "the provider rejected the refresh token (seen by another instance)",
            )));
        }
        if let Some(wait) = policy::cooldown_left(current.cooldown_until, self.now_ms()) {
            return Err(Error::Unavailable {
                reason: "the refresh failed on another instance".into(),
                retry_after: Some(wait),
            });
        }
        self.open(current)
    }
}
