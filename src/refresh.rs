//! The refresh engine: when a credential is refreshed, what a refresh writes, and single flight.
//!
//! Single flight has two layers. Within a process, concurrent requests for one credential join
//! one in-flight refresh (a spawned task whose result every waiter receives). Across processes
//! sharing a database, the refreshing task first takes a lease in the token row by
//! compare-and-set (`TokenRow::try_lease`: only at the version it read, only if no live lease);
//! an instance that loses waits, polling the row, until the version moves (the winner wrote its
//! result, which it then serves) or the lease expires (the winner died, and it takes over). No
//! pooled connection is held while the provider is being called.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::NaiveDateTime;
use diesel::Connection;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::AppState;
use crate::crypto::RowRef;
use crate::db::events::{Event, EventRow};
use crate::db::tokens::{CredentialId, RefreshedFields, STATUS_EXPIRED, STATUS_INVALID, TokenRow};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::providers::client::{Failure, ProviderClient, TokenReply, client_for};
use crate::token_data::TokenType;

/// A lease outlives the provider timeout by this much before another instance may take over.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How often an instance waiting on another's lease looks at the row again.
const LEASE_POLL: Duration = Duration::from_millis(25);

/// What a client must do after the provider rejected the grant.
pub const REAUTHORIZE: &str =
    "The provider rejected the refresh token; the user must re-authorize this connection";

/// Unix milliseconds now: the unit of lease and cooldown columns.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A credential as stored and decrypted.
#[derive(Clone)]
pub struct Credential {
    pub row: TokenRow,
    pub data: Map<String, Value>,
}

/// A credential ready to hand out, and whether this request refreshed it.
pub struct Usable {
    pub credential: Credential,
    pub refreshed: bool,
}

/// Why a refresh did not produce a token. `Clone`, as every waiter of a flight gets a copy.
#[derive(Debug, Clone)]
pub enum RefreshError {
    /// The grant is dead: 410 `connection_error`.
    Rejected(String),
    /// Try again later: 503 `refresh_unavailable`.
    Transient {
        reason: String,
        retry_after: Option<u64>,
    },
    NotFound,
    DatabaseUnavailable,
    Internal(String),
}

impl From<ApiError> for RefreshError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound(_) => RefreshError::NotFound,
            ApiError::DatabaseUnavailable => RefreshError::DatabaseUnavailable,
            other => RefreshError::Internal(other.to_string_for_log()),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Rejected(reason) => {
                ApiError::ConnectionError(format!("{REAUTHORIZE} ({reason})"))
            }
            RefreshError::Transient {
                reason,
                retry_after,
            } => ApiError::RefreshUnavailable {
                message: format!("Token refresh is temporarily unavailable: {reason}"),
                retry_after,
            },
            RefreshError::NotFound => ApiError::token_not_found(),
            RefreshError::DatabaseUnavailable => ApiError::DatabaseUnavailable,
            RefreshError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

type FlightKey = CredentialId;
type FlightResult = Result<Credential, RefreshError>;
type Flights = Arc<Mutex<HashMap<FlightKey, watch::Receiver<Option<FlightResult>>>>>;

/// Refreshes credentials at their providers, once per credential at a time.
pub struct Refresher {
    client: ProviderClient,
    /// This instance's name in lease columns.
    instance: String,
    flights: Flights,
}

impl Refresher {
    pub fn new(client: ProviderClient) -> Result<Refresher, ApiError> {
        Ok(Refresher {
            client,
            instance: format!("inst_{}", crate::auth::random_base62(12)?),
            flights: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    pub fn client(&self) -> &ProviderClient {
        &self.client
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }
}

/// Removes a flight from the map when its task ends, however it ends.
struct FlightGuard {
    flights: Flights,
    key: FlightKey,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Ok(mut flights) = self.flights.lock() {
            flights.remove(&self.key);
        }
    }
}

/// The row identity a credential's ciphertext is bound to.
pub(crate) fn row_ref(row: &TokenRow) -> RowRef<'_> {
    RowRef {
        tenant: &row.tenant,
        user_id: &row.user_id,
        integration_key: &row.integration_key,
    }
}

/// Decrypts a row's token data.
pub fn open(state: &AppState, row: &TokenRow) -> Result<Map<String, Value>, ApiError> {
    let opened = state
        .vault
        .open(row_ref(row), &row.ciphertext)
        .map_err(ApiError::internal)?;
    match opened.data {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::internal(format!(
            "{}: stored token data is not an object",
            row_ref(row)
        ))),
    }
}

/// Reads and decrypts a caller's credential, or 404.
pub async fn load(
    state: &AppState,
    tenant: &str,
    user_id: &str,
    integration_key: &str,
) -> Result<Credential, ApiError> {
    let (t, u, k) = (
        tenant.to_string(),
        user_id.to_string(),
        integration_key.to_string(),
    );
    let row = state
        .db
        .run(move |conn| Ok(TokenRow::find(conn, &t, &u, &k)?))
        .await?
        .ok_or_else(ApiError::token_not_found)?;
    let data = open(state, &row)?;
    Ok(Credential { row, data })
}

fn is_oauth2(row: &TokenRow) -> bool {
    TokenType::parse(&row.token_type) == Some(TokenType::OAuth2)
}

fn refresh_token(data: &Map<String, Value>) -> Option<&str> {
    data.get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn still_valid(row: &TokenRow, now: NaiveDateTime) -> bool {
    row.expires_at.is_none_or(|at| at > now)
}

/// Why this credential cannot be refreshed at all, if it cannot.
fn not_refreshable(state: &AppState, credential: &Credential) -> Option<String> {
    let row = &credential.row;
    if !is_oauth2(row) {
        return Some(format!(
            "Token type {} does not support refresh",
            row.token_type
        ));
    }
    if refresh_token(&credential.data).is_none() {
        return Some("This credential has no refresh token to refresh with".into());
    }
    match state.registry.get(&row.provider) {
        Some(provider) if provider.token_url.is_some() => None,
        _ => Some(format!(
            "Provider {} does not support refresh",
            row.provider
        )),
    }
}

/// GET: the credential, refreshed first when it is inside the refresh window or `force` is set.
/// A transient failure falls back to the current token while it is still valid.
pub async fn get_usable(
    state: &web::Data<AppState>,
    credential: Credential,
    force: bool,
) -> Result<Usable, ApiError> {
    let row = &credential.row;
    let as_is = |credential| {
        Ok(Usable {
            credential,
            refreshed: false,
        })
    };
    if !is_oauth2(row) {
        return as_is(credential);
    }
    if row.status == STATUS_INVALID {
        return Err(ApiError::ConnectionError(REAUTHORIZE.into()));
    }
    let now = db::now();
    let window = chrono::Duration::from_std(state.config.refresh_window).unwrap_or_default();
    let inside_window = row.expires_at.is_some_and(|at| at - now <= window);
    if !(force || inside_window) || not_refreshable(state, &credential).is_some() {
        return as_is(credential);
    }
    match refresh(state, &credential).await {
        Ok(fresh) => Ok(Usable {
            credential: fresh,
            refreshed: true,
        }),
        Err(RefreshError::Transient { .. }) if still_valid(&credential.row, now) => {
            as_is(credential)
        }
        Err(e) => Err(e.into()),
    }
}

/// POST …/refresh: refresh now, or say precisely why not.
pub async fn refresh_now(
    state: &web::Data<AppState>,
    credential: Credential,
) -> Result<Credential, ApiError> {
    if let Some(why) = not_refreshable(state, &credential) {
        return Err(ApiError::InvalidRequest(why));
    }
    if credential.row.status == STATUS_INVALID {
        return Err(ApiError::ConnectionError(REAUTHORIZE.into()));
    }
    Ok(refresh(state, &credential).await?)
}

/// Refreshes once, joining a refresh of the same credential already in flight here.
async fn refresh(
    state: &web::Data<AppState>,
    credential: &Credential,
) -> Result<Credential, RefreshError> {
    let row = &credential.row;
    let now_ms = now_millis();
    if let Some(until) = row.cooldown_until.filter(|until| *until > now_ms) {
        let wait = ((until - now_ms) as u64).div_ceil(1000);
        return Err(RefreshError::Transient {
            reason: format!("a recent refresh attempt failed; the next one is allowed in {wait}s"),
            retry_after: Some(wait),
        });
    }
    let key = row.id();
    let refresher = &state.refresher;
    let mut receiver = {
        let mut flights = refresher
            .flights
            .lock()
            .map_err(|_| RefreshError::Internal("refresh flight map poisoned".into()))?;
        match flights.get(&key) {
            Some(receiver) => receiver.clone(),
            None => {
                let (sender, receiver) = watch::channel(None);
                flights.insert(key.clone(), receiver.clone());
                let guard = FlightGuard {
                    flights: refresher.flights.clone(),
                    key,
                };
                let (state, credential) = (state.clone(), credential.clone());
                // A task of its own: the refresh completes (and releases its lease) even if every
                // request waiting for it goes away.
                actix_web::rt::spawn(async move {
                    let result = lead(&state, credential).await;
                    let _ = sender.send(Some(result));
                    drop(guard);
                });
                receiver
            }
        }
    };
    let result = receiver
        .wait_for(Option::is_some)
        .await
        .map_err(|_| RefreshError::Internal("refresh task ended without a result".into()))?;
    result
        .clone()
        .unwrap_or_else(|| Err(RefreshError::Internal("empty refresh result".into())))
}

/// The flight leader: takes the lease (or waits for the instance holding it), calls the provider,
/// writes the outcome and its audit event.
async fn lead(state: &web::Data<AppState>, credential: Credential) -> FlightResult {
    let Credential { row, data } = credential;
    let provider = state
        .registry
        .get(&row.provider)
        .ok_or_else(|| RefreshError::Internal(format!("unknown provider {}", row.provider)))?
        .clone();
    let timeout = state.config.refresh_timeout;
    let lease_len = timeout + LEASE_MARGIN;
    let give_up_at = Instant::now() + lease_len * 2;
    let owner = state.refresher.instance.clone();
    let id = row.id();
    let find = {
        let id = id.clone();
        move |conn: &mut DbConnection| -> Result<Option<TokenRow>, ApiError> {
            Ok(TokenRow::find_key(conn, id.key())?)
        }
    };

    loop {
        let version = row.version;
        let (id, owner, lease_ms) = (id.clone(), owner.clone(), lease_len.as_millis() as i64);
        let taken = state
            .db
            .run(move |conn| {
                let now_ms = now_millis();
                Ok(TokenRow::try_lease(
                    conn,
                    id.key(),
                    version,
                    &owner,
                    now_ms,
                    now_ms + lease_ms,
                )?)
            })
            .await?;
        if taken {
            break;
        }
        let current = state
            .db
            .run(find.clone())
            .await?
            .ok_or(RefreshError::NotFound)?;
        if current.version != version {
            // Another instance finished first (or the credential was stored anew): serve its result.
            return outcome_of(state, current);
        }
        if Instant::now() >= give_up_at {
            return Err(RefreshError::Transient {
                reason: "another instance is still refreshing this credential".into(),
                retry_after: Some(1),
            });
        }
        actix_web::rt::time::sleep(LEASE_POLL).await;
    }

    // We hold the lease. No database connection is held during the provider call.
    let client = client_for(&data, state.config.oauth_clients.get(&provider.key));
    let refresh_token = refresh_token(&data).unwrap_or_default().to_string();
    let started = Instant::now();
    let result = state
        .refresher
        .client
        .refresh(&provider, &refresh_token, client.as_ref(), timeout)
        .await;
    let took_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(reply) => {
            let rotated = reply.refresh_token.is_some();
            let fresh = merge_reply(data, &reply);
            let now = db::now();
            let expires_at = reply
                .expires_in
                .map(|secs| now + chrono::Duration::seconds(secs.min(i64::MAX as u64) as i64));
            let scopes = match &reply.scope {
                Some(scope) => Some(
                    serde_json::to_string(
                        &scope
                            .split([' ', ','])
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>(),
                    )
                    .unwrap_or_default(),
                ),
                None => row.scopes.clone(),
            };
            let ciphertext = state
                .vault
                .seal(row_ref(&row), &Value::Object(fresh.clone()));
            let reason = if rotated {
                "refreshed; the provider rotated the refresh token"
            } else {
                "refreshed; the refresh token was kept"
            };
            let (written_id, written_owner, written_find) = (id.clone(), owner, find.clone());
            let written = state
                .db
                .run(move |conn| {
                    conn.transaction(|conn| {
                        let key = written_id.key();
                        let fields = RefreshedFields {
                            ciphertext: &ciphertext,
                            expires_at,
                            scopes: scopes.as_deref(),
                            updated_at: now,
                        };
                        if !TokenRow::complete_refresh(conn, key, &written_owner, &fields)? {
                            return Ok(None);
                        }
                        EventRow::record(conn, key, Event::Refresh, "success", Some(reason), now)?;
                        written_find(conn)
                    })
                })
                .await?;
            tracing::info!(
                tenant = %id.tenant, user_id = %id.user_id, integration_key = %id.integration_key,
                provider = %provider.key, rotated, took_ms, "refreshed credential"
            );
            match written {
                Some(row) => Ok(Credential { row, data: fresh }),
                // The lease was lost (the credential was stored anew meanwhile): serve what is there.
                None => {
                    let current = state.db.run(find).await?.ok_or(RefreshError::NotFound)?;
                    outcome_of(state, current)
                }
            }
        }
        Err(failure) => {
            let now = db::now();
            let (status, cooldown_until, class) = match &failure {
                Failure::Rejected(_) => (STATUS_INVALID.to_string(), None, "invalid"),
                Failure::Transient { retry_after, .. } => {
                    let cooldown = state
                        .config
                        .refresh_cooldown
                        .max(Duration::from_secs(retry_after.unwrap_or(0)));
                    let status = if still_valid(&row, now) {
                        row.status.clone()
                    } else {
                        STATUS_EXPIRED.to_string()
                    };
                    (
                        status,
                        Some(now_millis() + cooldown.as_millis() as i64),
                        "transient",
                    )
                }
            };
            let reason = failure.reason().to_string();
            tracing::warn!(
                tenant = %id.tenant, user_id = %id.user_id, integration_key = %id.integration_key,
                provider = %provider.key, class, reason = %reason, took_ms, "refresh failed"
            );
            let logged_reason = reason.clone();
            state
                .db
                .run(move |conn| {
                    conn.transaction(|conn| {
                        let key = id.key();
                        if TokenRow::fail_refresh(conn, key, &owner, &status, cooldown_until, now)?
                        {
                            EventRow::record(
                                conn,
                                key,
                                Event::Refresh,
                                class,
                                Some(&logged_reason),
                                now,
                            )?;
                        }
                        Ok::<_, ApiError>(())
                    })
                })
                .await?;
            Err(match failure {
                Failure::Rejected(reason) => RefreshError::Rejected(reason),
                Failure::Transient { .. } => RefreshError::Transient {
                    reason,
                    retry_after: cooldown_until
                        .map(|until| ((until - now_millis()).max(0) as u64).div_ceil(1000)),
                },
            })
        }
    }
}

/// What another instance's finished refresh (or a new store) left in the row.
fn outcome_of(state: &AppState, current: TokenRow) -> FlightResult {
    if current.status == STATUS_INVALID {
        return Err(RefreshError::Rejected(
            "the provider rejected the refresh token (seen by another instance)".into(),
        ));
    }
    let now_ms = now_millis();
    if let Some(until) = current.cooldown_until.filter(|until| *until > now_ms) {
        return Err(RefreshError::Transient {
            reason: "the refresh failed on another instance".into(),
            retry_after: Some(((until - now_ms) as u64).div_ceil(1000)),
        });
    }
    let data = open(state, &current)?;
    Ok(Credential { row: current, data })
}

/// The stored token data after a successful refresh: new access token, rotated refresh token
/// if the reply has one (else the old one is kept), new expiry, scope and type.
pub fn merge_reply(mut data: Map<String, Value>, reply: &TokenReply) -> Map<String, Value> {
    data.insert("access_token".into(), reply.access_token.clone().into());
    if let Some(refresh_token) = &reply.refresh_token {
        data.insert("refresh_token".into(), refresh_token.clone().into());
    }
    if let Some(token_type) = &reply.token_type {
        data.insert("token_type".into(), token_type.clone().into());
    }
    match reply.expires_in {
        Some(secs) => data.insert("expires_in".into(), secs.into()),
        None => data.remove("expires_in"),
    };
    if let Some(scope) = &reply.scope {
        data.insert("scope".into(), scope.clone().into());
    }
    data
}
