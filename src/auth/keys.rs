//! API keys and access tokens as a service: create, list and revoke keys; mint, list and
//! destroy access tokens. The HTTP handlers and the CLI call these; the tenant and ownership
//! rules live here, not in a handler.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::cache::AuthCache;
use super::issue::{self, ACCESS_TOKEN_BOUNDS, Issued, KeySpec, KeyState};
use super::revocations;
use super::{AuthError, Caller};
use crate::db::access_tokens::AccessTokenRow;
use crate::db::api_keys::ApiKeyRow;
use crate::db::{Db, DbError};
use crate::expiry;
use crate::model::{Clock, KeyScopes, Scope, timestamp};
use crate::secret::Secret;

/// Keys live from one minute to a hundred years.
const KEY_BOUNDS: expiry::Bounds = expiry::Bounds {
    min: chrono::Duration::minutes(1),
    max: chrono::Duration::days(36_500),
};

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
    #[schema(value_type = Vec<Scope>, example = json!(["tokens:read"]))]
    pub scopes: Vec<String>,
    /// The one user this key can reach, if bound.
    pub user_id: Option<String>,
    #[schema(value_type = KeyState, example = "active")]
    pub state: &'static str,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    /// Updated at most once a minute.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl ApiKeyInfo {
    pub fn new(row: &ApiKeyRow, now: NaiveDateTime) -> ApiKeyInfo {
        ApiKeyInfo {
            id: row.id.clone(),
            tenant: row.tenant.clone(),
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: row.scopes.names(),
            user_id: row.user_id.clone(),
            state: issue::key_state(row, now).as_str(),
            expires_at: row.expires_at.map(timestamp),
            revoked_at: row.revoked_at.map(timestamp),
            last_used_at: row.last_used_at.map(timestamp),
            created_at: timestamp(row.created_at),
        }
    }
}

/// A created key: its metadata and the key, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    /// The API key. Shown once: store it now.
    #[schema(example = "agk_3n8Q1x…")]
    pub key: String,
}

/// What a caller asks a new key to be. The tenant is always the caller's.
#[derive(Debug, Default)]
pub struct KeyRequest {
    pub name: String,
    /// `None`: the default scopes (the four `tokens:*`).
    pub scopes: Option<Vec<String>>,
    pub user_id: Option<String>,
    pub expires_in: Option<String>,
    pub expires_at: Option<String>,
}

/// What a caller asks of a new access token: how long it lives (`expires_in` or `expires_at`,
/// default one hour); `grant_type` may only be `client_credentials` (Crunchy Bridge's form).
#[derive(Debug, Default)]
pub struct MintRequest {
    pub expires_in: Option<String>,
    pub expires_at: Option<String>,
    pub grant_type: Option<String>,
}

/// A minted access token, its secret shown once.
#[derive(Debug)]
pub struct Minted {
    pub row: AccessTokenRow,
    pub token: Secret<String>,
    pub now: NaiveDateTime,
}

/// API keys and access tokens of the tenants.
#[derive(Clone)]
pub struct KeyService {
    db: Db,
    cache: Arc<AuthCache>,
    clock: Clock,
}

impl KeyService {
    pub fn new(db: Db, cache: Arc<AuthCache>, clock: Clock) -> KeyService {
        KeyService { db, cache, clock }
    }

    /// Creates a key in the caller's tenant (admin, with the API key itself).
    pub async fn create(
        &self,
        caller: &Caller,
        request: KeyRequest,
    ) -> Result<CreatedApiKey, AuthError> {
        require_admin(caller)?;
        let now = self.clock.now_naive();
        let expires_at = expiry::resolve(
            request.expires_in.as_deref(),
            request.expires_at.as_deref(),
            now,
            KEY_BOUNDS,
            None,
        )
        .map_err(AuthError::InvalidRequest)?;
        let scopes = match &request.scopes {
            Some(names) => KeyScopes::parse_names(names.iter().map(String::as_str))
                .map_err(AuthError::InvalidRequest)?,
            None => KeyScopes::default(),
        };
        let spec = KeySpec::parse(
            &caller.tenant,
            &request.name,
            scopes,
            request.user_id.as_deref(),
            expires_at,
        )
        .map_err(AuthError::InvalidRequest)?;
        caller.require_covers(&spec.scopes, spec.user_id.as_deref())?;
        let issued = Issued::api_key(None)?;
        let created = self
            .db
            .run(move |conn| issue::create_api_key(conn, &spec, issued))
            .await?;
        Ok(CreatedApiKey {
            info: ApiKeyInfo::new(&created.row, now),
            key: created.key.into_inner(),
        })
    }

    /// The keys of the caller's tenant, oldest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<ApiKeyInfo>, AuthError> {
        require_admin(caller)?;
        let tenant = caller.tenant.clone();
        let rows = self
            .db
            .run(move |conn| Ok(ApiKeyRow::list(conn, Some(&tenant))?))
            .await?;
        let now = self.clock.now_naive();
        Ok(rows.iter().map(|row| ApiKeyInfo::new(row, now)).collect())
    }

    /// Revokes a key of the caller's tenant; another tenant's key does not exist for it.
    pub async fn revoke(&self, caller: &Caller, id: &str) -> Result<ApiKeyInfo, AuthError> {
        require_admin(caller)?;
        let (tenant, target) = (caller.tenant.clone(), id.to_string());
        let now = self.clock.now_naive();
        let row = self
            .db
            .run(move |conn| {
                if ApiKeyRow::find(conn, &target)?.is_none_or(|r| r.tenant != tenant) {
                    return Ok(None);
                }
                revocations::revoke_api_key(conn, &target, now)?;
                let revoked = ApiKeyRow::find(conn, &target)?;
                Ok(Some(
                    revoked.ok_or(DbError::Missing("the revoked API key vanished"))?,
                ))
            })
            .await?
            .ok_or_else(|| AuthError::NotFound("API key not found".into()))?;
        self.cache.forget_key(id);
        tracing::info!(key_id = %id, tenant = %row.tenant, revoked_by = %caller.key_id, "API key revoked");
        Ok(ApiKeyInfo::new(&row, now))
    }

    /// Mints an access token from the caller's API key (never from an access token).
    pub async fn mint(&self, caller: &Caller, request: MintRequest) -> Result<Minted, AuthError> {
        caller.require_api_key("mint another access token")?;
        match request.grant_type.as_deref().map(str::trim) {
            None | Some("") | Some("client_credentials") => {}
            Some(_) => {
                return Err(AuthError::InvalidRequest(
                    "grant_type must be client_credentials".into(),
                ));
            }
        }
        let now = self.clock.now_naive();
        let expires_at = expiry::resolve(
            request.expires_in.as_deref(),
            request.expires_at.as_deref(),
            now,
            ACCESS_TOKEN_BOUNDS,
            Some(chrono::Duration::hours(1)),
        )
        .map_err(AuthError::InvalidRequest)?
        .unwrap_or(now + chrono::Duration::hours(1));
        let issued = Issued::access_token()?;
        let caller = caller.clone();
        let minted = self
            .db
            .run(move |conn| issue::mint_access_token(conn, &caller, issued, expires_at))
            .await?;
        Ok(Minted {
            row: minted.row,
            token: minted.token,
            now,
        })
    }

    /// Live access tokens: the calling key's, or the whole tenant's for an admin key.
    pub async fn live_tokens(
        &self,
        caller: &Caller,
    ) -> Result<(Vec<AccessTokenRow>, NaiveDateTime), AuthError> {
        let now = self.clock.now_naive();
        let tenant = caller.tenant.clone();
        let key_filter = (!caller.is_tenant_admin()).then(|| caller.key_id.clone());
        let rows = self
            .db
            .run(move |conn| {
                Ok(AccessTokenRow::list_live(
                    conn,
                    &tenant,
                    key_filter.as_deref(),
                    now,
                )?)
            })
            .await?;
        Ok((rows, now))
    }

    /// Destroys an access token minted from the caller's key (or any of the tenant's, for an
    /// admin); it stops working at once.
    pub async fn destroy(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(AccessTokenRow, NaiveDateTime), AuthError> {
        let (tenant, lookup) = (caller.tenant.clone(), id.to_string());
        let row = self
            .db
            .run(move |conn| Ok(AccessTokenRow::find(conn, &tenant, &lookup)?))
            .await?
            .ok_or_else(|| AuthError::NotFound("Access token not found".into()))?;
        if row.api_key_id != caller.key_id && !caller.is_tenant_admin() {
            return Err(AuthError::Forbidden(
                "This access token was minted from another API key; only that key or an admin \
                 key of the tenant can destroy it"
                    .into(),
            ));
        }
        let now = self.clock.now_naive();
        let (target, tenant) = (id.to_string(), caller.tenant.clone());
        let row = self
            .db
            .run(move |conn| {
                revocations::destroy_access_token(conn, &target, now)?;
                let destroyed = AccessTokenRow::find(conn, &tenant, &target)?;
                destroyed.ok_or(DbError::Missing("the destroyed access token vanished"))
            })
            .await?;
        self.cache.forget_access_token(id);
        Ok((row, now))
    }
}

/// Managing keys needs an admin of the whole tenant, with the API key itself.
fn require_admin(caller: &Caller) -> Result<(), AuthError> {
    caller.require_tenant_admin("manage API keys")
}
