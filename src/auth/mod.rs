//! Who is calling and what they may do: the caller and its checks (`caller`), issuing API keys
//! and access tokens (`issue`), managing them as a service (`keys`), their revocation across
//! instances (`revocations`), the failed-auth throttle (`throttle`), and the short-lived cache
//! that keeps authentication off the database on the hot path (`cache`).

pub mod bootstrap;
pub mod cache;
pub mod caller;
pub mod issue;
pub mod keys;
pub mod revocations;
pub mod throttle;

pub use caller::Caller;

use std::net::IpAddr;
use std::sync::Arc;

use crate::db::access_tokens::AccessTokenRow;
use crate::db::api_keys::ApiKeyRow;
use crate::db::{self, Db, DbError};
use crate::model::Clock;
use crate::secret::{RandomError, hash_secret};
use cache::{AuthCache, Authenticated};

use issue::{ACCESS_TOKEN_PREFIX, API_KEY_PREFIX};
use throttle::Throttle;

/// Longest presented secret even looked at.
const MAX_PRESENTED_LEN: usize = 256;

/// Why a caller is refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No, unknown, revoked or expired credential.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Malformed input (a key's name, scopes, user id or expiry).
    #[error("{0}")]
    InvalidRequest(String),
    /// No such key or access token in the caller's tenant.
    #[error("{0}")]
    NotFound(String),
    /// Too many failed attempts from this address.
    #[error("Too many failed authentication attempts from this address; retry in {retry_after}s")]
    Throttled { retry_after: u64 },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Who presents a secret: its address when known (for throttling failures), and the
/// instance's cache and throttle.
pub struct Attempt<'a> {
    pub cache: &'a AuthCache,
    pub throttle: &'a Throttle,
    pub client: Option<IpAddr>,
    /// What time it is (keys and access tokens expire).
    pub clock: &'a Clock,
}

impl Attempt<'_> {
    /// The error for a failed attempt: 401, or 429 once this address is over its limit.
    fn refuse(&self, reason: &'static str, message: &str) -> AuthError {
        match self.client.and_then(|ip| self.throttle.failed(ip)) {
            Some(retry_after) => {
                crate::metrics::auth_failure("throttled");
                AuthError::Throttled { retry_after }
            }
            None => {
                crate::metrics::auth_failure(reason);
                AuthError::Unauthorized(message.into())
            }
        }
    }
}

/// Checks a presented API key (`agk_…`) or access token (`agat_…`) and returns its caller.
pub async fn authenticate(
    db: &Db,
    attempt: &Attempt<'_>,
    presented: &str,
) -> Result<Caller, AuthError> {
    let cache = attempt.cache;
    let is_access_token = presented.starts_with(ACCESS_TOKEN_PREFIX);
    let invalid = if is_access_token {
        "Invalid access token"
    } else {
        "Invalid API key"
    };
    if !(is_access_token || presented.starts_with(API_KEY_PREFIX))
        || presented.len() > MAX_PRESENTED_LEN
    {
        return Err(attempt.refuse("malformed", invalid));
    }
    let secret_hash = hash_secret(presented);
    let found = match cache.get(&secret_hash) {
        Some(found) => found,
        None if cache.is_unknown(&secret_hash) => {
            return Err(attempt.refuse("unknown", invalid));
        }
        None => match look_up(db, secret_hash.clone(), is_access_token).await? {
            Some(found) => {
                let found = Arc::new(found);
                cache.put(secret_hash, Arc::clone(&found));
                found
            }
            None => {
                cache.remember_unknown(secret_hash);
                return Err(attempt.refuse("unknown", invalid));
            }
        },
    };
    if let Err(why) = check_live(&found, attempt.clock.now_naive()) {
        return Err(attempt.refuse("not_live", &why));
    }
    if cache.due_for_touch(&found.key.id) {
        let (db, key_id) = (db.clone(), found.key.id.clone());
        // Off the request path: a failed bookkeeping write must not fail the request.
        tokio::spawn(async move {
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

/// The key (or access token and its key) with this hash, in one round trip.
async fn look_up(
    db: &Db,
    secret_hash: String,
    is_access_token: bool,
) -> Result<Option<Authenticated>, DbError> {
    db.read(move |conn| {
        Ok(if is_access_token {
            AccessTokenRow::find_by_hash_with_key(conn, &secret_hash)?.map(|(access, key)| {
                Authenticated {
                    key,
                    access: Some(access),
                }
            })
        } else {
            ApiKeyRow::find_by_hash(conn, &secret_hash)?
                .map(|key| Authenticated { key, access: None })
        })
    })
    .await
}

/// Why the access token or its key no longer works at `now` (destroyed, revoked, expired).
fn check_live(found: &Authenticated, now: chrono::NaiveDateTime) -> Result<(), String> {
    let refuse = |message: String| Err(message);
    if let Some(access) = &found.access {
        if access.destroyed_at.is_some() {
            return refuse("This access token has been destroyed".into());
        }
        if access.expires_at <= now {
            return refuse("This access token has expired".into());
        }
    }
    let via = if found.access.is_some() {
        "The API key this access token was minted from"
    } else {
        "This API key"
    };
    if found.key.revoked_at.is_some() {
        return refuse(format!("{via} has been revoked"));
    }
    if found.key.expires_at.is_some_and(|at| at <= now) {
        return refuse(format!("{via} has expired"));
    }
    Ok(())
}
