//! Issuing secrets: API keys (CLI, start-up bootstrap, `POST /v2/api-keys`) and access tokens
//! minted from them. Each secret is shown once and stored only as its hash.

use chrono::NaiveDateTime;

use super::caller::Caller;
use crate::db::access_tokens::{AccessTokenRow, NewAccessToken};
use crate::db::api_keys::{ApiKeyRow, NewApiKey};
use crate::db::{self, DbConnection, DbError};
use crate::expiry;
use crate::model::check_user_id;
use crate::model::{KeyScopes, Scope};
use crate::secret::{RandomError, Secret, hash_secret, random_base62};

pub const API_KEY_PREFIX: &str = "agk_";
pub const ACCESS_TOKEN_PREFIX: &str = "agat_";
/// Longest lifetime of an access token: one month. Shortest: one minute. Default: one hour.
pub const ACCESS_TOKEN_BOUNDS: expiry::Bounds = expiry::Bounds {
    min: chrono::Duration::minutes(1),
    max: chrono::Duration::days(30),
};
/// Random characters after the prefix: 43 base62 characters carry over 256 bits.
const RANDOM_LEN: usize = 43;
/// Characters of a key kept in the clear for recognition (`agk_` + 6).
const RECOGNITION_PREFIX_LEN: usize = 10;

/// What to create: the same for the CLI, start-up bootstrap and the HTTP API.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub tenant: String,
    pub name: String,
    pub scopes: KeyScopes,
    pub user_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
}

impl KeySpec {
    /// Validates what a key is created from; the CLI and `POST /v2/api-keys` both use this.
    pub fn parse(
        tenant: &str,
        name: &str,
        scopes: KeyScopes,
        user_id: Option<&str>,
        expires_at: Option<NaiveDateTime>,
    ) -> Result<KeySpec, String> {
        for (what, value) in [("tenant", tenant), ("name", name)] {
            if value.trim().is_empty() || value.chars().count() > 128 {
                return Err(format!("{what} must be 1 to 128 characters"));
            }
        }
        if let Some(user) = user_id {
            check_user_id(user)?;
            if scopes.allows(Scope::Admin) {
                return Err(
                    "an admin key cannot be bound to a user: admin is tenant-wide (bind a key \
                     with tokens:* scopes instead)"
                        .into(),
                );
            }
        }
        Ok(KeySpec {
            tenant: tenant.trim().to_string(),
            name: name.trim().to_string(),
            scopes,
            user_id: user_id.map(String::from),
            expires_at,
        })
    }
}

crate::model::text_enum! {
    /// Whether an API key works.
    pub enum KeyState {
        Active = "active",
        Revoked = "revoked",
        Expired = "expired",
    }
}

/// `active`, `revoked` or `expired`.
pub fn key_state(row: &ApiKeyRow, now: NaiveDateTime) -> KeyState {
    if row.revoked_at.is_some() {
        KeyState::Revoked
    } else if row.expires_at.is_some_and(|at| at <= now) {
        KeyState::Expired
    } else {
        KeyState::Active
    }
}

/// A freshly generated secret and the id of the row it will get; drawn before the database
/// work, so that work can fail only as the database fails.
#[derive(Debug)]
pub struct Issued {
    id: String,
    secret: Secret<String>,
}

impl Issued {
    /// A new API key, or the given one (bootstrap).
    pub fn api_key(given: Option<&str>) -> Result<Issued, RandomError> {
        let secret = match given {
            Some(key) => key.to_string(),
            None => format!("{API_KEY_PREFIX}{}", random_base62(RANDOM_LEN)?),
        };
        Ok(Issued {
            id: format!("key_{}", random_base62(16)?),
            secret: Secret::new(secret),
        })
    }

    /// A new access token.
    pub fn access_token() -> Result<Issued, RandomError> {
        Ok(Issued {
            id: format!("at_{}", random_base62(20)?),
            secret: Secret::new(format!(
                "{ACCESS_TOKEN_PREFIX}{}",
                random_base62(RANDOM_LEN)?
            )),
        })
    }
}

/// A created key: its row and the key itself, which exists nowhere else.
#[derive(Debug)]
pub struct CreatedKey {
    pub row: ApiKeyRow,
    pub key: Secret<String>,
}

/// Stores the key `issued` under `spec`.
pub fn create_api_key(
    conn: &mut DbConnection,
    spec: &KeySpec,
    issued: Issued,
) -> Result<CreatedKey, DbError> {
    let key = issued.secret;
    let key_hash = hash_secret(key.as_str());
    let prefix: String = key.as_str().chars().take(RECOGNITION_PREFIX_LEN).collect();
    let scopes = spec.scopes.to_column();
    let new = NewApiKey {
        id: &issued.id,
        tenant: &spec.tenant,
        name: &spec.name,
        key_hash: &key_hash,
        prefix: &prefix,
        scopes: &scopes,
        user_id: spec.user_id.as_deref(),
        expires_at: spec.expires_at,
        created_at: db::now(),
    };
    ApiKeyRow::insert(conn, &new)?;
    let row = ApiKeyRow::find(conn, &issued.id)?
        .ok_or(DbError::Missing("the created API key vanished"))?;
    Ok(CreatedKey { row, key })
}

/// A minted access token: its row and the token itself, which exists nowhere else.
#[derive(Debug)]
pub struct MintedToken {
    pub row: AccessTokenRow,
    pub token: Secret<String>,
}

/// Stores the access token `issued` for `caller`'s API key, expiring at `expires_at`.
pub fn mint_access_token(
    conn: &mut DbConnection,
    caller: &Caller,
    issued: Issued,
    expires_at: NaiveDateTime,
) -> Result<MintedToken, DbError> {
    let token_hash = hash_secret(issued.secret.as_str());
    let new = NewAccessToken {
        id: &issued.id,
        token_hash: &token_hash,
        api_key_id: &caller.key_id,
        tenant: &caller.tenant,
        created_at: db::now(),
        expires_at,
    };
    AccessTokenRow::insert(conn, &new)?;
    let row = AccessTokenRow::find(conn, &caller.tenant, &issued.id)?
        .ok_or(DbError::Missing("the minted access token vanished"))?;
    Ok(MintedToken {
        row,
        token: issued.secret,
    })
}
