//! The refresh engine. A refresh is: join or lead the in-process flight (`flight`), take the
//! row's lease or wait for the instance holding it (`lease`), call the provider with no database
//! connection held, then write the outcome and its audit event. `policy` decides when to
//! refresh and what an answer means.

pub mod flight;
pub mod lease;
pub mod policy;

use std::time::Instant;

use super::data::TokenData;
use super::model::{CredentialKey, Scopes, TokenStatus, TokenType};
use super::service::{Credential, CredentialService, Usable};
use super::{Error, Inconsistency};
use crate::db;
use crate::providers::Provider;
use crate::providers::client::{Failure, TokenReply};
use lease::Acquired;

impl CredentialService {
    /// GET's rule: refresh first when due; a transient failure falls back to the current token
    /// while it is still valid.
    pub(super) async fn make_usable(
        &self,
        credential: Credential,
        force: bool,
    ) -> Result<Usable, Error> {
        let as_is = |credential| {
            Ok(Usable {
                credential,
                refreshed: false,
            })
        };
        let row = &credential.row;
        if row.token_type != TokenType::OAuth2 {
            return as_is(credential);
        }
        if row.status == TokenStatus::Invalid {
            return Err(Error::rejected(None));
        }
        let now = db::now();
        let settings = &self.inner.settings;
        if !policy::due(row.expires_at, now, settings.window, force)
            || policy::not_refreshable(&credential, &self.inner.registry).is_some()
        {
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

    /// Refreshes once, joining a refresh of the same credential already in flight here.
    pub(super) async fn refresh(&self, credential: &Credential) -> Result<Credential, Error> {
        if let Some(wait) =
            policy::cooldown_left(credential.row.cooldown_until, policy::now_millis())
        {
            return Err(Error::Unavailable {
                reason: format!(
                    "a recent refresh attempt failed; the next one is allowed in {wait}s"
                ),
                retry_after: Some(wait),
            });
        }
        let (service, leader) = (self.clone(), credential.clone());
        let joined = self
            .inner
            .flights
            .join_or_lead(credential.row.key(), move || service.lead(leader))
            .await;
        joined.unwrap_or_else(|| {
            Err(Error::internal(Inconsistency(
                "the refresh task ended without a result".into(),
            )))
        })
    }

    /// The flight leader: lease → provider call → write the outcome.
    async fn lead(self, credential: Credential) -> Result<Credential, Error> {
        let row = &credential.row;
        let provider = self
            .inner
            .registry
            .get(&row.provider)
            .cloned()
            .ok_or_else(|| {
                Error::internal(Inconsistency(format!("unknown provider {}", row.provider)))
            })?;
        let key = row.key();
        let lease_len = lease::lease_len(self.inner.settings.timeout);
        let owner = &self.inner.instance;
        if let Acquired::Moved(current) =
            lease::acquire(&self.inner.db, &key, row.version, owner, lease_len).await?
        {
            return self.outcome_of(*current);
        }
        let started = Instant::now();
        let result = self.call_provider(&provider, &credential.data).await;
        let took_ms = started.elapsed().as_millis();
        tracing::debug!(%key, provider = %provider.key, took_ms, "provider answered");
        match result {
            Ok(reply) => self.write_success(&key, &provider, credential, reply).await,
            Err(failure) => Err(self
                .write_failure(&key, &provider, &credential, failure)
                .await?),
        }
    }

    /// The refresh-token grant at the provider. No database connection is held meanwhile.
    async fn call_provider(
        &self,
        provider: &Provider,
        data: &TokenData,
    ) -> Result<TokenReply, Failure> {
        let data = data
            .oauth2()
            .ok_or_else(|| Failure::transient("not an OAuth2 credential"))?;
        let refresh_token = data
            .refresh_token()
            .ok_or_else(|| Failure::transient("no refresh token"))?;
        let client = data.client(self.inner.settings.oauth_clients.get(&provider.key));
        let timeout = self.inner.settings.timeout;
        self.inner
            .client
            .refresh(provider, refresh_token, client.as_ref(), timeout)
            .await
    }

    /// Seals the merged reply and writes it while the lease holds; else serves what is there.
    async fn write_success(
        &self,
        key: &CredentialKey,
        provider: &Provider,
        credential: Credential,
        reply: TokenReply,
    ) -> Result<Credential, Error> {
        let Credential { row, data } = credential;
        let TokenData::OAuth2(oauth2) = data else {
            return Err(Error::internal(Inconsistency(format!(
                "{key}: refreshed a credential that is not OAuth2"
            ))));
        };
        let fresh = TokenData::OAuth2(oauth2.merge_reply(&reply));
        let rotated = reply.refresh_token.is_some();
        let at = db::now();
        let success = lease::Success {
            ciphertext: self.inner.vault.seal(key, &fresh.to_value()),
            expires_at: reply
                .expires_in
                .and_then(|secs| policy::expires_at_after(at, secs)),
            scopes: match &reply.scope {
                Some(scope) => Some(Scopes::from_reply(scope).to_column()),
                None => row.scopes.clone(),
            },
            reason: match rotated {
                true => "refreshed; the provider rotated the refresh token",
                false => "refreshed; the refresh token was kept",
            },
            at,
        };
        let owner = &self.inner.instance;
        let written = lease::complete(&self.inner.db, key, owner, success).await?;
        tracing::info!(%key, provider = %provider.key, rotated, "refreshed credential");
        if provider.rotates_refresh_token && !rotated {
            tracing::debug!(%key, provider = %provider.key, "provider usually rotates refresh tokens; this reply kept it");
        }
        match written {
            Some(row) => Ok(Credential { row, data: fresh }),
            // The lease was lost (the credential was stored anew meanwhile): serve what is there.
            None => {
                let current = lease::find(&self.inner.db, key).await?;
                self.outcome_of(current.ok_or(Error::NotFound)?)
            }
        }
    }

    /// Records a failed refresh (status, cooldown, event) and returns the error to answer.
    async fn write_failure(
        &self,
        key: &CredentialKey,
        provider: &Provider,
        credential: &Credential,
        failure: Failure,
    ) -> Result<Error, Error> {
        let row = &credential.row;
        let (now, now_ms) = (db::now(), policy::now_millis());
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
        let owner = &self.inner.instance;
        lease::fail(&self.inner.db, key, owner, record, (reason, now)).await?;
        Ok(policy::error_for(failure, &record, policy::now_millis()))
    }

    /// What another instance's finished refresh (or a new store) left in the row.
    fn outcome_of(&self, current: crate::db::tokens::TokenRow) -> Result<Credential, Error> {
        if current.status == TokenStatus::Invalid {
            return Err(Error::rejected(Some(
                "the provider rejected the refresh token (seen by another instance)",
            )));
        }
        if let Some(wait) = policy::cooldown_left(current.cooldown_until, policy::now_millis()) {
            return Err(Error::Unavailable {
                reason: "the refresh failed on another instance".into(),
                retry_after: Some(wait),
            });
        }
        self.open(current)
    }
}
