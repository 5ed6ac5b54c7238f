//! Who is calling: the `Caller` extractor (`X-API-Key: agk_…` or `Authorization: Bearer agat_…`),
//! scopes, user binding, API key and access token issuance (shared by the CLI and the HTTP API),
//! and a short-lived in-memory cache so a request costs no extra database round trip.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::db::access_tokens::{AccessTokenRow, NewAccessToken};
use crate::db::api_keys::{ApiKeyRow, NewApiKey};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::expiry;

pub const API_KEY_PREFIX: &str = "agk_";
pub const ACCESS_TOKEN_PREFIX: &str = "agat_";
pub const API_KEY_HEADER: &str = "X-API-Key";
/// Longest lifetime of an access token: one month. Shortest: one minute. Default: one hour.
pub const ACCESS_TOKEN_BOUNDS: expiry::Bounds = expiry::Bounds {
    min: chrono::Duration::minutes(1),
    max: chrono::Duration::days(30),
};
/// Scopes of a key created without saying which: everything but `admin`.
pub const DEFAULT_KEY_SCOPES: &str = "tokens:read,tokens:write,tokens:refresh,tokens:delete";
/// `last_used_at` is written at most this often per key and instance.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Random characters after the prefix: 43 base62 characters carry over 256 bits.
const API_KEY_RANDOM_LEN: usize = 43;
/// Characters of a key kept in the clear for recognition (`agk_` + 6).
const RECOGNITION_PREFIX_LEN: usize = 10;
/// Longest header value even looked at.
const MAX_PRESENTED_LEN: usize = 256;

/// A permission an API key may hold. `admin` implies all others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    TokensRead,
    TokensWrite,
    TokensRefresh,
    TokensDelete,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::TokensRead,
        Scope::TokensWrite,
        Scope::TokensRefresh,
        Scope::TokensDelete,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TokensRead => "tokens:read",
            Scope::TokensWrite => "tokens:write",
            Scope::TokensRefresh => "tokens:refresh",
            Scope::TokensDelete => "tokens:delete",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name.trim())
    }

    /// Parses a comma-separated list, refusing unknown names; returns the normalised list.
    pub fn parse_list(list: &str) -> Result<String, String> {
        let mut scopes = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let scope = Scope::parse(name).ok_or_else(|| {
                format!(
                    "unknown scope {name:?}; known scopes: {}",
                    Scope::ALL.map(Scope::as_str).join(", ")
                )
            })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err("at least one scope is required".into());
        }
        Ok(scopes
            .into_iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(","))
    }
}

/// The authenticated caller of a request: an API key, used directly or through an access token
/// minted from it (same tenant, scopes and user binding).
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub tenant: String,
    scopes: Vec<Scope>,
    pub bound_user: Option<String>,
    /// The access token used, when the request came with one.
    pub access_token_id: Option<String>,
}

impl Caller {
    fn from_row(row: &ApiKeyRow, access_token_id: Option<String>) -> Caller {
        Caller {
            key_id: row.id.clone(),
            tenant: row.tenant.clone(),
            scopes: row.scope_names().filter_map(Scope::parse).collect(),
            bound_user: row.user_id.clone(),
            access_token_id,
        }
    }

    /// 403 when the request came with an access token: some things need the API key itself.
    pub fn require_api_key(&self, what: &str) -> Result<(), ApiError> {
        match self.access_token_id {
            Some(_) => Err(ApiError::Forbidden(format!(
                "An access token cannot {what}; use the API key"
            ))),
            None => Ok(()),
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }

    /// 403 unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This API key lacks the {} scope",
                scope.as_str()
            )))
        }
    }

    /// 403 when the key is bound to a user other than `user_id`.
    pub fn require_user(&self, user_id: &str) -> Result<(), ApiError> {
        match &self.bound_user {
            Some(bound) if bound != user_id => Err(ApiError::Forbidden(
                "This API key is bound to another user".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Both checks a `/v2/users/{user_id}/…` route needs.
    pub fn require_for_user(&self, scope: Scope, user_id: &str) -> Result<(), ApiError> {
        self.require(scope)?;
        self.require_user(user_id)
    }
}

/// Hex SHA-256 of a presented secret: what is stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(HEX[usize::from(byte >> 4)] as char);
        hex.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    hex
}

/// `len` random base62 characters from the operating system's generator.
pub fn random_base62(len: usize) -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf)
            .map_err(|e| ApiError::internal(format!("random generator failed: {e}")))?;
        // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
        for b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(ALPHABET[(*b % 62) as usize] as char);
        }
    }
    Ok(out)
}

/// What to create: the same for the CLI, start-up bootstrap and (later) the HTTP API.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub tenant: String,
    pub name: String,
    /// Normalised comma-separated scopes (see `Scope::parse_list`).
    pub scopes: String,
    pub user_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
}

impl KeySpec {
    /// Validates what a key is created from; the CLI and `POST /v2/api-keys` both use this.
    pub fn parse(
        tenant: &str,
        name: &str,
        scopes: &str,
        user_id: Option<&str>,
        expires_at: Option<NaiveDateTime>,
    ) -> Result<KeySpec, String> {
        for (what, value) in [("tenant", tenant), ("name", name)] {
            if value.trim().is_empty() || value.len() > 128 {
                return Err(format!("{what} must be 1 to 128 characters"));
            }
        }
        if let Some(user) = user_id {
            crate::token_data::check_user_id(user).map_err(|e| e.to_string())?;
        }
        Ok(KeySpec {
            tenant: tenant.trim().to_string(),
            name: name.trim().to_string(),
            scopes: Scope::parse_list(scopes)?,
            user_id: user_id.map(String::from),
            expires_at,
        })
    }
}

/// An API key as listed (CLI `keys list --json`, `GET /v2/api-keys`): never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyInfo {
    #[schema(example = "key_3kTMd9Qw2xYz8aBc")]
    pub id: String,
    pub tenant: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    #[schema(example = "agk_3n8Q1x")]
    pub prefix: String,
    #[schema(example = json!(["tokens:read"]))]
    pub scopes: Vec<String>,
    /// The one user this key can reach, if bound.
    pub user_id: Option<String>,
    /// `active`, `revoked` or `expired`.
    #[schema(example = "active")]
    pub state: &'static str,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Updated at most once a minute.
    pub last_used_at: Option<String>,
    pub created_at: String,
}

impl ApiKeyInfo {
    pub fn new(row: &ApiKeyRow, now: NaiveDateTime) -> ApiKeyInfo {
        let time = crate::api::timestamp;
        ApiKeyInfo {
            id: row.id.clone(),
            tenant: row.tenant.clone(),
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: row.scope_names().map(String::from).collect(),
            user_id: row.user_id.clone(),
            state: row.state(now),
            expires_at: row.expires_at.map(time),
            revoked_at: row.revoked_at.map(time),
            last_used_at: row.last_used_at.map(time),
            created_at: time(row.created_at),
        }
    }
}

/// A created key: its row and the key itself, which exists nowhere else.
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub key: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("row", &self.row)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Creates a key from `spec`; `key` is a given key (bootstrap) or `None` to generate one.
pub fn create_api_key(
    conn: &mut DbConnection,
    spec: &KeySpec,
    key: Option<String>,
) -> Result<CreatedKey, ApiError> {
    let key = match key {
        Some(key) => key,
        None => format!("{API_KEY_PREFIX}{}", random_base62(API_KEY_RANDOM_LEN)?),
    };
    let id = format!("key_{}", random_base62(16)?);
    let key_hash = hash_secret(&key);
    let prefix: String = key.chars().take(RECOGNITION_PREFIX_LEN).collect();
    let new = NewApiKey {
        id: &id,
        tenant: &spec.tenant,
        name: &spec.name,
        key_hash: &key_hash,
        prefix: &prefix,
        scopes: &spec.scopes,
        user_id: spec.user_id.as_deref(),
        expires_at: spec.expires_at,
        created_at: db::now(),
    };
    ApiKeyRow::insert(conn, &new)?;
    let row = ApiKeyRow::find(conn, &id)?
        .ok_or_else(|| ApiError::internal("created API key vanished"))?;
    Ok(CreatedKey { row, key })
}

/// What a presented secret authenticated as: an API key, or an access token and its key.
struct Authenticated {
    key: ApiKeyRow,
    access: Option<AccessTokenRow>,
}

/// Authenticated secrets by hash, each trusted for the cache TTL. A revocation takes effect on
/// this instance at once when revoked here, and within the TTL when revoked elsewhere.
pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<Authenticated>)>>,
    /// When this instance last wrote `last_used_at` of each key.
    touched: Mutex<HashMap<String, Instant>>,
}

/// Above this many entries, stale ones are swept on insert.
const CACHE_SWEEP_AT: usize = 10_000;

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, secret_hash: &str) -> Option<Arc<Authenticated>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(secret_hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, found)| Arc::clone(found))
    }

    fn put(&self, secret_hash: String, found: Arc<Authenticated>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_SWEEP_AT {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.insert(secret_hash, (Instant::now(), found));
        }
    }

    /// Forgets a key and every access token minted from it (after revoking it here).
    pub fn forget_key(&self, key_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, found)| found.key.id != key_id);
        }
    }

    /// Forgets one access token (after destroying it here).
    pub fn forget_access_token(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, found)| found.access.as_ref().is_none_or(|t| t.id != token_id));
        }
    }

    /// Whether `last_used_at` of this key is due for a write (and, if so, marks it written).
    fn due_for_touch(&self, key_id: &str) -> bool {
        let Ok(mut touched) = self.touched.lock() else {
            return false;
        };
        match touched.get(key_id) {
            Some(at) if at.elapsed() < TOUCH_EVERY => false,
            _ => {
                touched.insert(key_id.to_string(), Instant::now());
                true
            }
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::Unauthorized(message.into())
}

/// Checks a presented API key (`agk_…`) or access token (`agat_…`) and returns its caller.
pub async fn authenticate(state: &AppState, presented: &str) -> Result<Caller, ApiError> {
    let is_access_token = presented.starts_with(ACCESS_TOKEN_PREFIX);
    let invalid = if is_access_token {
        "Invalid access token"
    } else {
        "Invalid API key"
    };
    if !(is_access_token || presented.starts_with(API_KEY_PREFIX))
        || presented.len() > MAX_PRESENTED_LEN
    {
        return Err(unauthorized(invalid));
    }
    let secret_hash = hash_secret(presented);
    let found = match state.auth.get(&secret_hash) {
        Some(found) => found,
        None => {
            let lookup = secret_hash.clone();
            let found = state
                .db
                .run(move |conn| {
                    Ok(if is_access_token {
                        AccessTokenRow::find_by_hash_with_key(conn, &lookup)?.map(
                            |(access, key)| Authenticated {
                                key,
                                access: Some(access),
                            },
                        )
                    } else {
                        ApiKeyRow::find_by_hash(conn, &lookup)?
                            .map(|key| Authenticated { key, access: None })
                    })
                })
                .await?
                .map(Arc::new)
                .ok_or_else(|| unauthorized(invalid))?;
            state.auth.put(secret_hash, Arc::clone(&found));
            found
        }
    };
    let now = db::now();
    if let Some(access) = &found.access {
        if access.destroyed_at.is_some() {
            return Err(unauthorized("This access token has been destroyed"));
        }
        if access.expires_at <= now {
            return Err(unauthorized("This access token has expired"));
        }
    }
    let via = if found.access.is_some() {
        "The API key this access token was minted from"
    } else {
        "This API key"
    };
    if found.key.revoked_at.is_some() {
        return Err(unauthorized(&format!("{via} has been revoked")));
    }
    if found.key.expires_at.is_some_and(|at| at <= now) {
        return Err(unauthorized(&format!("{via} has expired")));
    }
    if state.auth.due_for_touch(&found.key.id) {
        let (db, key_id) = (state.db.clone(), found.key.id.clone());
        // Off the request path: a failed bookkeeping write must not fail the request.
        actix_web::rt::spawn(async move {
            let _ = db
                .run(move |conn| Ok(ApiKeyRow::touch(conn, &key_id, db::now())?))
                .await;
        });
    }
    Ok(Caller::from_row(
        &found.key,
        found.access.as_ref().map(|access| access.id.clone()),
    ))
}

/// The secret a request presents: `X-API-Key`, or `Authorization: Bearer …`.
fn presented_secret(headers: &actix_web::http::header::HeaderMap) -> Result<&str, ApiError> {
    let text = |name| headers.get(name).map(|v| v.to_str().map(str::trim));
    if let Some(value) = text(API_KEY_HEADER) {
        return value.map_err(|_| unauthorized("Invalid API key"));
    }
    if let Some(value) = text(actix_web::http::header::AUTHORIZATION.as_str()) {
        let value = value.map_err(|_| unauthorized("Invalid Authorization header"))?;
        return value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("The Authorization header must be: Bearer agat_…"));
    }
    Err(unauthorized(
        "Missing credentials: send an API key in the X-API-Key header, or an access token as \
         Authorization: Bearer agat_…",
    ))
}

/// The caller named by a request's headers: `X-API-Key`, or `Authorization: Bearer …`.
pub async fn caller_from_headers(
    state: &AppState,
    headers: &actix_web::http::header::HeaderMap,
) -> Result<Caller, ApiError> {
    let secret = presented_secret(headers)?;
    authenticate(state, secret).await
}

/// A minted access token: its row and the token itself, which exists nowhere else.
pub struct MintedToken {
    pub row: AccessTokenRow,
    pub token: String,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("row", &self.row)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Mints an access token for `caller`'s API key, expiring at `expires_at`.
pub fn mint_access_token(
    conn: &mut DbConnection,
    caller: &Caller,
    expires_at: NaiveDateTime,
) -> Result<MintedToken, ApiError> {
    let token = format!(
        "{ACCESS_TOKEN_PREFIX}{}",
        random_base62(API_KEY_RANDOM_LEN)?
    );
    let id = format!("at_{}", random_base62(20)?);
    let token_hash = hash_secret(&token);
    AccessTokenRow::insert(
        conn,
        &NewAccessToken {
            id: &id,
            token_hash: &token_hash,
            api_key_id: &caller.key_id,
            tenant: &caller.tenant,
            created_at: db::now(),
            expires_at,
        },
    )?;
    let row = AccessTokenRow::find(conn, &caller.tenant, &id)?
        .ok_or_else(|| ApiError::internal("minted access token vanished"))?;
    Ok(MintedToken { row, token })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = presented_secret(req.headers()).map(String::from);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            authenticate(&state, &secret?).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_list_is_normalised_and_checked() {
        assert_eq!(
            Scope::parse_list(" tokens:read ,admin,tokens:read").unwrap(),
            "tokens:read,admin"
        );
        assert!(Scope::parse_list("tokens:everything").is_err());
        assert!(Scope::parse_list(" , ").is_err());
    }

    #[test]
    fn random_keys_are_base62_of_the_asked_length() {
        let a = random_base62(43).unwrap();
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_base62(43).unwrap());
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
