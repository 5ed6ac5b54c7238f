//! Who is calling: the `X-API-Key` extractor, scopes, user binding, key generation and hashing,
//! and a short-lived in-memory cache so a request costs no extra database round trip.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::api_keys::{ApiKeyRow, NewApiKey};
use crate::db::{self, DbConnection};
use crate::error::ApiError;

pub const API_KEY_PREFIX: &str = "agk_";
pub const API_KEY_HEADER: &str = "X-API-Key";
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

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub tenant: String,
    scopes: Vec<Scope>,
    pub bound_user: Option<String>,
}

impl Caller {
    fn from_row(row: &ApiKeyRow) -> Caller {
        Caller {
            key_id: row.id.clone(),
            tenant: row.tenant.clone(),
            scopes: row.scope_names().filter_map(Scope::parse).collect(),
            bound_user: row.user_id.clone(),
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
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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

/// Authenticated keys by hash, each trusted for the cache TTL. A revocation takes effect on
/// this instance at once when revoked here, and within the TTL when revoked elsewhere.
pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, ApiKeyRow)>>,
}

/// Above this many entries, stale ones are swept on insert.
const CACHE_SWEEP_AT: usize = 10_000;

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key_hash: &str) -> Option<ApiKeyRow> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key_hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, row)| row.clone())
    }

    fn put(&self, row: ApiKeyRow) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_SWEEP_AT {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.insert(row.key_hash.clone(), (Instant::now(), row));
        }
    }

    /// Forgets a key (after it was revoked on this instance).
    pub fn forget(&self, key_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, row)| row.id != key_id);
        }
    }
}

/// Checks a presented API key and returns its caller.
pub async fn authenticate(state: &AppState, presented: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::Unauthorized("Invalid API key".into());
    if !presented.starts_with(API_KEY_PREFIX) || presented.len() > MAX_PRESENTED_LEN {
        return Err(invalid());
    }
    let key_hash = hash_secret(presented);
    let row = match state.auth.get(&key_hash) {
        Some(row) => row,
        None => {
            let lookup = key_hash.clone();
            let row = state
                .db
                .run(move |conn| Ok(ApiKeyRow::find_by_hash(conn, &lookup)?))
                .await?
                .ok_or_else(invalid)?;
            state.auth.put(row.clone());
            row
        }
    };
    if row.revoked_at.is_some() {
        return Err(ApiError::Unauthorized(
            "This API key has been revoked".into(),
        ));
    }
    if row.expires_at.is_some_and(|at| at <= db::now()) {
        return Err(ApiError::Unauthorized("This API key has expired".into()));
    }
    Ok(Caller::from_row(&row))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = req
            .headers()
            .get(API_KEY_HEADER)
            .map(|v| v.to_str().map(str::trim).map(String::from));
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            match presented {
                None => Err(ApiError::Unauthorized(format!(
                    "Missing API key: send it in the {API_KEY_HEADER} header"
                ))),
                Some(Err(_)) => Err(ApiError::Unauthorized("Invalid API key".into())),
                Some(Ok(key)) => authenticate(&state, &key).await,
            }
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
