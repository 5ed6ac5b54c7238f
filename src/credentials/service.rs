//! The credential service: store, load, use (refreshing first when due), refresh, delete, and
//! the audit log. Handlers call one of these; background work can call them too.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::cache::{Cached, ReadCache, Ticket};
use super::data::{OAuth2TokenData, TokenData};
use super::refresh::flight::Flights;
use super::refresh::policy;
use super::{Error, ErrorChain, Inconsistency};
use crate::crypto::Vault;
use crate::db::events::EventRow;
use crate::db::subscriptions::Subscriptions;
use crate::db::tokens::{NewToken, Stored, TokenRow};
use crate::db::webhooks::Notice;
use crate::db::{self, Db, DbConnection, DbError};
use crate::expiry;
use crate::model::{
    Account, Clock, CredentialKey, EventKind, Outcome, Revocation, Scopes, TokenStatus, TokenType,
    WebhookEvent,
};
use crate::providers::client::ProviderClient;
use crate::providers::config::{self, ConnectionConfig};
use crate::providers::{Provider, Registry};
use crate::secret::random_base62;

/// A credential as stored, and its decrypted data.
#[derive(Debug, Clone)]
pub struct Credential {
    pub row: TokenRow,
    pub data: TokenData,
}

/// A credential ready to hand out, and whether this request refreshed it.
#[derive(Debug)]
pub struct Usable {
    pub credential: Credential,
    pub refreshed: bool,
}

/// What a GET asks of an OAuth2 credential beyond "usable now".
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    /// Refresh even when not due (at most once per forced-refresh interval).
    pub force: bool,
    /// The token must stay valid at least this long. Beyond the refresh window this widens the
    /// window for this request only, limited like a forced refresh so a provider whose tokens
    /// live shorter is not asked on every call.
    pub min_validity: Option<Duration>,
}

/// Work a store does in its transaction after writing the credential.
pub type AlsoInTransaction = Box<dyn FnOnce(&mut DbConnection) -> Result<(), DbError> + Send>;

/// What a store request brings, before it is checked.
#[derive(Debug)]
pub struct NewCredential {
    pub provider: String,
    pub token_type: String,
    pub token_data: Value,
    pub scopes: Option<Vec<String>>,
    /// RFC 3339; a time without offset is taken as UTC.
    pub expires_at: Option<String>,
    /// Who it belongs to at the provider, when known (connect flow).
    pub account: Option<Account>,
    /// How it arrived: `Stored` (POST) or `Connected` (the connect flow); its audit event.
    pub arrived: EventKind,
    /// Per-account values, checked against the provider's `connection_config` patterns.
    pub connection_config: ConnectionConfig,
}

impl NewCredential {
    /// An OAuth2 credential the connect flow obtained.
    pub fn connected(
        provider: &str,
        data: OAuth2TokenData,
        scopes: Option<Vec<String>>,
        account: Option<Account>,
        connection_config: ConnectionConfig,
    ) -> NewCredential {
        NewCredential {
            provider: provider.to_string(),
            token_type: TokenType::OAuth2.as_str().to_string(),
            token_data: TokenData::OAuth2(data).to_value(),
            scopes: scopes.filter(|s| !s.is_empty()),
            expires_at: None,
            account,
            arrived: EventKind::Connected,
            connection_config,
        }
    }
}

/// What a delete did at the provider.
#[derive(Debug)]
pub struct Deleted {
    pub revocation: Revocation,
    /// Why revocation failed, when it did.
    pub revocation_error: Option<String>,
}

/// Refresh settings, from the configuration.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    /// Refresh when less than this is left.
    pub window: Duration,
    /// Hard timeout of a provider call.
    pub timeout: Duration,
    /// After a transient failure, no attempt for this long (or the provider's `Retry-After`).
    pub cooldown: Duration,
    /// How long a provider's answer is retried into a failing database.
    pub persist: Duration,
    /// At most one forced refresh per credential in this interval.
    pub force_min: Duration,
    /// Serve unbound ciphertexts of the original service (else: refuse them).
    pub accept_legacy: bool,
    /// The background refresher refreshes credentials expiring within this.
    pub ahead: Duration,
}

pub(super) struct Inner {
    pub(super) db: Db,
    pub(super) vault: Arc<Vault>,
    pub(super) registry: Arc<Registry>,
    pub(super) client: ProviderClient,
    pub(super) settings: RefreshSettings,
    /// This instance's name in lease columns.
    pub(super) instance: String,
    pub(super) flights: Flights<CredentialKey, Result<Credential, Error>>,
    pub(super) clock: Clock,
    /// Sealed rows for GET; `None` when `TOKENVAULT_READ_CACHE=false`.
    pub(super) cache: Option<Arc<ReadCache>>,
}

/// Everything the credential operations work with. Cheap to clone; a refresh task owns a clone.
#[derive(Clone)]
pub struct CredentialService {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for CredentialService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialService")
            .field("vault", &self.inner.vault)
            .field("settings", &self.inner.settings)
            .field("instance", &self.inner.instance)
            .finish_non_exhaustive()
    }
}

impl CredentialService {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        registry: Arc<Registry>,
        client: ProviderClient,
        settings: RefreshSettings,
        (clock, cache): (Clock, Option<Arc<ReadCache>>),
    ) -> Result<CredentialService, Error> {
        let instance = format!("inst_{}", random_base62(12).map_err(Error::internal)?);
        let inner = Inner {
            db,
            vault,
            registry,
            client,
            settings,
            instance,
            flights: Flights::default(),
            clock,
            cache,
        };
        Ok(CredentialService {
            inner: Arc::new(inner),
        })
    }

    /// The clock this service reads.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Now, by the service's clock.
    pub(super) fn now(&self) -> NaiveDateTime {
        self.inner.clock.now_naive()
    }

    /// Now in Unix milliseconds, by the service's clock.
    pub(super) fn now_ms(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// Decrypts a row's token data.
    pub(super) fn open(&self, row: TokenRow) -> Result<Credential, Error> {
        let key = row.key();
        let opened = self
            .inner
            .vault
            .open(&key, &row.ciphertext)
            .map_err(Error::internal)?;
        if !opened.bound && !self.inner.settings.accept_legacy {
            return Err(Error::internal(Inconsistency(format!(
                "{key}: unbound ciphertext of the original service refused \
                 (TOKENVAULT_LEGACY_CIPHERTEXT=refuse); run `tokenvault rotate-key` to bind it"
            ))));
        }
        // serde's message may quote a value, so only its class goes into the log.
        let data = TokenData::from_value(row.token_type, opened.data).map_err(|e| {
            Error::internal(Inconsistency(format!(
                "{key}: stored token data does not fit its type {} ({:?} error)",
                row.token_type,
                e.classify()
            )))
        })?;
        Ok(Credential { row, data })
    }

    /// The read cache, when there is one.
    pub fn cache(&self) -> Option<&Arc<ReadCache>> {
        self.inner.cache.as_ref()
    }

    /// After a write of `key` here (committed, failed or unknown): the next read goes to the
    /// database.
    pub(super) fn written(&self, key: &CredentialKey) {
        if let Some(cache) = &self.inner.cache {
            cache.evict(key);
        }
    }

    /// A credential's row for a GET: from the read cache when it holds it, else from the
    /// database (and kept, unless a write came between).
    async fn find_for_read(&self, key: &CredentialKey) -> Result<TokenRow, Error> {
        let Some(cache) = &self.inner.cache else {
            return self.find(key).await;
        };
        let (cached, lookup) = cache.get(key);
        crate::metrics::read_cache(lookup.as_str());
        match cached {
            Cached::Hit { row, renew } => {
                if let Some(ticket) = renew {
                    self.renew(key, ticket, Arc::clone(&row));
                }
                Ok(TokenRow::clone(&row))
            }
            Cached::Miss(ticket) => {
                let row = self.find(key).await?;
                if let Some(ticket) = ticket {
                    cache.fill(ticket, Arc::new(row.clone()));
                }
                Ok(row)
            }
        }
    }

    /// Reads `key`'s row again off the request and puts it in place of `served` (unless an
    /// eviction came between); on any failure the entry simply expires at its TTL.
    fn renew(&self, key: &CredentialKey, ticket: Ticket, served: Arc<TokenRow>) {
        let (service, key) = (self.clone(), key.clone());
        tokio::spawn(async move {
            let row = service.find(&key).await.ok().map(Arc::new);
            if let Some(cache) = service.cache() {
                cache.renewed(ticket, &served, row);
            }
        });
    }

    /// Reads and decrypts a credential.
    pub async fn load(&self, key: &CredentialKey) -> Result<Credential, Error> {
        let row = self.find(key).await?;
        self.open(row)
    }

    /// Reads a credential's row, still encrypted.
    async fn find(&self, key: &CredentialKey) -> Result<TokenRow, Error> {
        let key = key.clone();
        self.inner
            .db
            .read(move |conn| Ok(TokenRow::find(conn, &key)?))
            .await?
            .ok_or(Error::NotFound)
    }

    /// The credential, refreshed first when it is due (inside the refresh window, or as
    /// `want` asks).
    pub async fn usable(&self, key: &CredentialKey, want: Want) -> Result<Usable, Error> {
        let row = self.find_for_read(key).await?;
        let credential = self.open(row)?;
        self.make_usable(credential, want).await
    }

    /// Refreshes now, or says precisely why not.
    pub async fn refresh_now(&self, key: &CredentialKey) -> Result<Credential, Error> {
        let credential = self.load(key).await?;
        let registry = &self.inner.registry;
        if let Some(why) = policy::not_refreshable(&credential, registry) {
            return Err(Error::Invalid(why));
        }
        if credential.row.status == TokenStatus::Invalid {
            return Err(Error::rejected(None));
        }
        let (last, min) = (
            credential.row.last_refresh_at,
            self.inner.settings.force_min,
        );
        if let Some(wait) = policy::forced_too_soon(last, self.now_ms(), min) {
            return Err(Error::TooSoon {
                min_secs: min.as_secs(),
                retry_after: wait,
            });
        }
        self.refresh(&credential).await
    }

    /// Stores a credential under `key` (insert, or replace): whether it was new, and the row.
    pub async fn store(
        &self,
        key: CredentialKey,
        new: NewCredential,
    ) -> Result<(Stored, TokenRow), Error> {
        self.store_with(key, new, None).await
    }

    /// `store`, with `also` done in the same transaction after the credential is written (a
    /// connect marks itself connected there, so neither happens without the other).
    pub async fn store_with(
        &self,
        key: CredentialKey,
        new: NewCredential,
        also: Option<AlsoInTransaction>,
    ) -> Result<(Stored, TokenRow), Error> {
        let entry = self
            .inner
            .registry
            .lookup(key.tenant.as_str(), new.provider.trim())
            .ok_or_else(|| Error::Unprocessable("Invalid provider".into()))?;
        let provider = entry.as_ref();
        let token_type = TokenType::parse_request(&new.token_type)
            .ok_or_else(|| Error::Unprocessable("Invalid token type".into()))?;
        if !provider.supports(token_type) {
            return Err(Error::Unprocessable(format!(
                "Invalid token type: {} does not accept {token_type} credentials",
                provider.key
            )));
        }
        let data = TokenData::validate(token_type, &new.token_data).map_err(Error::Invalid)?;
        data.check_for(provider).map_err(Error::Invalid)?;
        check_fit(provider, token_type, &data, &new.connection_config)?;
        let connection_config = config::to_column(&new.connection_config);
        let now = self.now();
        let expires_at = stored_expiry(&new, &data, provider, now)?;
        let scopes = new.scopes.map(|s| Scopes::new(s).to_column());
        let account = new.account.as_ref().and_then(Account::to_column);
        // The background refresher's first look: the same rule as after a refresh (halfway
        // through a short life), never at once.
        let ahead = self.inner.settings.ahead;
        let background_at = policy::background_after_success(self.now_ms(), expires_at, ahead);
        let arrived = new.arrived;
        let ciphertext = self.inner.vault.seal(&key, &data.to_value());
        let provider_key = provider.key.clone();
        let evicted = key.clone();
        let subscriptions = Arc::clone(self.inner.db.subscriptions());
        let written = self
            .inner
            .db
            .transaction(move |conn| {
                let new = NewToken {
                    tenant: &key.tenant,
                    user_id: &key.user_id,
                    integration_key: &key.integration_key,
                    provider: &provider_key,
                    token_type,
                    ciphertext: &ciphertext,
                    scopes: scopes.as_deref(),
                    expires_at,
                    status: TokenStatus::Active,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    account: account.as_deref(),
                    background_at,
                    connection_config: connection_config.as_deref(),
                };
                let written = write_arrival(conn, &subscriptions, (&key, &new), arrived)?;
                if let Some(also) = also {
                    also(conn)?;
                }
                Ok(written)
            })
            .await;
        self.written(&evicted);
        Ok(written?)
    }

    /// The tenant's users whose id starts with `prefix` and how many credentials each has:
    /// `limit` from `offset`, in id order.
    pub async fn users(
        &self,
        tenant: &str,
        prefix: &str,
        page: (i64, i64),
    ) -> Result<Vec<(String, i64)>, Error> {
        let (tenant, prefix) = (tenant.to_string(), prefix.to_string());
        Ok(self
            .inner
            .db
            .read(move |conn| Ok(TokenRow::users(conn, &tenant, &prefix, page)?))
            .await?)
    }

    /// A user's credentials (rows only: metadata, never decrypted).
    pub async fn list(&self, tenant: &str, user_id: &str) -> Result<Vec<TokenRow>, Error> {
        let (tenant, user_id) = (tenant.to_string(), user_id.to_string());
        Ok(self
            .inner
            .db
            .read(move |conn| Ok(TokenRow::list_for_user(conn, &tenant, &user_id)?))
            .await?)
    }

    /// Revokes at the provider first when `revoke` (best effort), then deletes.
    /// A credential whose data cannot be decrypted (a foreign or corrupt ciphertext) is deleted
    /// all the same, unrevoked.
    pub async fn delete(&self, key: &CredentialKey, revoke: bool) -> Result<Deleted, Error> {
        let row = self.find(key).await?;
        let provider = row.provider.clone();
        let (revocation, revocation_error) = match (revoke, self.open(row)) {
            (false, _) => (Revocation::Skipped, None),
            (true, Ok(credential)) => self.revoke(&credential).await,
            (true, Err(e)) => {
                tracing::warn!(
                    %key, error = %ErrorChain(&e),
                    "deleting a credential whose data cannot be decrypted; it was not revoked"
                );
                let why = "the stored data could not be decrypted, so it was not revoked at the \
                           provider";
                (Revocation::Failed, Some(why.to_string()))
            }
        };
        let removal = Removal {
            provider,
            revocation,
            reason: revocation_error.clone(),
        };
        let deleted = remove(&self.inner.db, key, removal).await;
        self.written(key);
        if !deleted? {
            return Err(Error::NotFound);
        }
        Ok(Deleted {
            revocation,
            revocation_error,
        })
    }

    /// Revokes a credential at its provider if possible: the outcome, and why it failed.
    async fn revoke(&self, credential: &Credential) -> (Revocation, Option<String>) {
        let row = &credential.row;
        let config = config::from_column(row.connection_config.as_deref());
        let entry = self
            .inner
            .registry
            .lookup(row.tenant.as_str(), &row.provider);
        let provider = entry.as_deref().map(|p| p.resolved(&config));
        let (provider, data) = match (provider.as_deref(), credential.data.oauth2()) {
            (Some(p), Some(data)) if p.revoke.is_some() => (p, data),
            _ => return (Revocation::NotSupported, None),
        };
        let platform = self
            .inner
            .registry
            .client(row.tenant.as_str(), &provider.key);
        let client = data.client(platform.as_ref());
        let timeout = self.inner.settings.timeout;
        let result = self
            .inner
            .client
            .revoke(
                provider,
                &data.access_token,
                data.refresh_token(),
                client.as_ref(),
                timeout,
            )
            .await;
        match result {
            Ok(()) => (Revocation::Revoked, None),
            Err(failure) => {
                let row = &credential.row;
                tracing::warn!(
                    tenant = %row.tenant, user_id = %row.user_id,
                    integration_key = %row.integration_key, provider = %provider.key,
                    reason = %failure.reason(), "revocation at the provider failed; deleting anyway"
                );
                (Revocation::Failed, Some(failure.reason().to_string()))
            }
        }
    }

    /// Records an audit event of `key` (one that is not part of a write of the credential).
    pub async fn record(
        &self,
        key: &CredentialKey,
        event: (EventKind, Outcome),
        reason: Option<String>,
    ) -> Result<(), Error> {
        let (key, now) = (key.clone(), self.now());
        self.inner
            .db
            .run(move |conn| Ok(EventRow::record(conn, &key, event, reason.as_deref(), now)?))
            .await?;
        Ok(())
    }

    /// The newest `limit` audit events of a credential (also after it was deleted).
    pub async fn events(&self, key: &CredentialKey, limit: i64) -> Result<Vec<EventRow>, Error> {
        let key = key.clone();
        Ok(self
            .inner
            .db
            .read(move |conn| Ok(EventRow::list(conn, &key, limit)?))
            .await?)
    }
}

/// What the registry says about a credential beyond its kind: an API key with the provider's
/// documented prefix (the key is never echoed), connection-config values that match their
/// patterns, and the fields a renewed kind's endpoints need.
fn check_fit(
    provider: &Provider,
    token_type: TokenType,
    data: &TokenData,
    connection_config: &ConnectionConfig,
) -> Result<(), Error> {
    if let TokenData::ApiKey(key) = data
        && !provider.key_fits(key.api_key.expose())
    {
        let hint = provider.key_hint.as_deref().unwrap_or_default();
        return Err(Error::Unprocessable(format!(
            "token_data.api_key does not look like a {} key: {hint}",
            provider.display_name
        )));
    }
    let checked = match token_type.renewed() {
        true => provider.check_config(connection_config),
        false => connection_config
            .iter()
            .try_for_each(|(field, value)| provider.check_config_value(field, value)),
    };
    checked.map_err(|e| Error::Unprocessable(e.to_string()))
}

/// Inserts or replaces a stored credential with its audit event and webhook notice
/// (`credential.recovered` when it replaced an invalid one, else `credential.connected`): how,
/// and the row as written.
fn write_arrival(
    conn: &mut DbConnection,
    subscriptions: &Subscriptions,
    (key, new): (&CredentialKey, &NewToken<'_>),
    arrived: EventKind,
) -> Result<(Stored, TokenRow), DbError> {
    let stored = TokenRow::upsert(conn, new)?;
    let outcome = match stored {
        Stored::Created => Outcome::Created,
        Stored::Replaced => Outcome::Replaced,
    };
    EventRow::record(conn, key, (arrived, outcome), None, new.updated_at)?;
    let saved =
        TokenRow::find(conn, key)?.ok_or(DbError::Missing("the stored credential vanished"))?;
    let recovered = stored == Stored::Replaced && saved.replaced() == Some(TokenStatus::Invalid);
    let notice = Notice {
        event: match recovered {
            true => WebhookEvent::Recovered,
            false => WebhookEvent::Connected,
        },
        key,
        provider: new.provider,
        status: Some(TokenStatus::Active),
        reason: Some(match arrived {
            EventKind::Connected => "connected through the connect flow",
            _ => "stored",
        }),
        at: new.updated_at,
    };
    subscriptions.enqueue(conn, &notice)?;
    Ok((stored, saved))
}

/// What deleting a credential records.
#[derive(Debug, Clone)]
pub struct Removal {
    pub provider: String,
    pub revocation: Revocation,
    /// Why revocation failed or was skipped, when there is something to say.
    pub reason: Option<String>,
}

/// Deletes a credential's row with its `revoke` and `deleted` events and the webhooks'
/// `credential.deleted` notice, in one transaction; false when there was none.
pub async fn remove(db: &Db, key: &CredentialKey, removal: Removal) -> Result<bool, DbError> {
    let key = key.clone();
    let subscriptions = Arc::clone(db.subscriptions());
    db.transaction(move |conn| {
        let now = db::now();
        if !TokenRow::delete(conn, &key)? {
            return Ok(false);
        }
        let reason = removal.reason.as_deref();
        let revoke_event = (EventKind::Revoke, Outcome::from(removal.revocation));
        EventRow::record(conn, &key, revoke_event, reason, now)?;
        let deleted_event = (EventKind::Deleted, Outcome::Success);
        EventRow::record(conn, &key, deleted_event, None, now)?;
        let notice = Notice {
            event: WebhookEvent::Deleted,
            key: &key,
            provider: &removal.provider,
            status: None,
            reason,
            at: now,
        };
        subscriptions.enqueue(conn, &notice)?;
        Ok(true)
    })
    .await
}

/// Whether a credential is past its expiry at `now`.
/// The expiry a new credential is stored with: the request's `expires_at`, else its
/// `expires_in`; a refresh token with neither is taken to expire after the provider's usual
/// lifetime (so it is refreshed, not left to die silently); a minting kind has minted nothing
/// yet, so its token "expired" now and the first GET (or the background refresher) mints.
fn stored_expiry(
    new: &NewCredential,
    data: &TokenData,
    provider: &Provider,
    now: NaiveDateTime,
) -> Result<Option<NaiveDateTime>, Error> {
    let given = match &new.expires_at {
        Some(at) => Some(expiry::parse_time(at).map_err(|_| {
            Error::Invalid("expires_at must be an RFC 3339 time, e.g. 2025-01-16T10:00:00Z".into())
        })?),
        None => None,
    };
    if data.token_type().minted() {
        return Ok(Some(now));
    }
    let oauth2 = data.oauth2();
    Ok(match (given, oauth2.and_then(|d| d.expires_in)) {
        (Some(at), _) => Some(at),
        (None, Some(secs)) => policy::expires_at_after(now, secs),
        (None, None) if oauth2.is_some_and(|d| d.refresh_token().is_some()) => {
            policy::expires_at_after(now, provider.assumed_expires_in())
        }
        (None, None) => None,
    })
}

pub fn is_expired(expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    expires_at.is_some_and(|at| at <= now)
}
