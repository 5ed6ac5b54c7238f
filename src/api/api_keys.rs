//! `/v2/api-keys`: API key management for admins of a tenant. The same functions serve the
//! CLI's `tokenvault keys` commands.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::NaiveDateTime;

use crate::api::{AuthErrors, NO_STORE, timestamp};
use crate::auth::caller::Caller;
use crate::auth::issue::{self, Issued, KeySpec, KeyState};
use crate::auth::revocations;
use crate::auth::scope::{DEFAULT_KEY_SCOPES, Scope};
use crate::db::api_keys::ApiKeyRow;
use crate::db::{self, DbError};
use crate::error::{ApiError, ErrorBody};
use crate::expiry;
use crate::state::AppState;

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

/// Body of `POST /v2/api-keys`. The tenant is always the caller's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// A name to recognise the key by: not blank, at most 128 characters.
    #[schema(example = "billing-service", pattern = r"\S", max_length = 128)]
    pub name: String,
    /// Scopes. Default: the four `tokens:*` scopes.
    #[schema(value_type = Option<Vec<Scope>>, example = json!(["tokens:read", "tokens:refresh"]))]
    pub scopes: Option<Vec<String>>,
    /// Bind the key to one user: it can reach only that user's credentials.
    pub user_id: Option<String>,
    /// Lifetime, e.g. "90d" (s, m, h, d, w, M), from a minute to a hundred years. Not with
    /// `expires_at`. Default: no expiry.
    #[schema(pattern = r"^\s*[0-9]+[smhdwM]\s*$")]
    pub expires_in: Option<String>,
    /// Expiry time, RFC 3339. Not with `expires_in`.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
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

/// Keys live from one minute to a hundred years.
const KEY_BOUNDS: expiry::Bounds = expiry::Bounds {
    min: chrono::Duration::minutes(1),
    max: chrono::Duration::days(36_500),
};

fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    caller.require(Scope::Admin)?;
    Ok(caller.require_api_key("manage API keys")?)
}

/// Create an API key in the caller's tenant; the key is returned once.
#[utoipa::path(
    operation_id = "createApiKey",
    tag = "api-keys",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created; `key` is shown only here", body = CreatedApiKey),
        (status = 400, description = "Invalid name, scope, user id or expiry; unknown field (e.g. `tenant`)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/api-keys")]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<CreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let request = body.into_inner();
    let now = db::now();
    let expires_at = expiry::resolve(
        request.expires_in.as_deref(),
        request.expires_at.as_deref(),
        now,
        KEY_BOUNDS,
        None,
    )
    .map_err(ApiError::InvalidRequest)?;
    let scopes = request
        .scopes
        .map(|names| names.join(","))
        .unwrap_or_else(|| DEFAULT_KEY_SCOPES.to_string());
    let spec = KeySpec::parse(
        &caller.tenant,
        &request.name,
        &scopes,
        request.user_id.as_deref(),
        expires_at,
    )
    .map_err(ApiError::InvalidRequest)?;
    let issued = Issued::api_key(None).map_err(ApiError::internal)?;
    let created = state
        .db
        .run(move |conn| issue::create_api_key(conn, &spec, issued))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(CreatedApiKey {
            info: ApiKeyInfo::new(&created.row, now),
            key: created.key.into_inner(),
        }))
}

/// List the caller's tenant's API keys (metadata only, never the keys).
#[utoipa::path(
    operation_id = "listApiKeys",
    tag = "api-keys",
    responses(
        (status = 200, description = "Keys, oldest first", body = Vec<ApiKeyInfo>),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/api-keys")]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let tenant = caller.tenant.clone();
    let rows = state
        .db
        .run(move |conn| Ok(ApiKeyRow::list(conn, Some(&tenant))?))
        .await?;
    let now = db::now();
    let keys: Vec<ApiKeyInfo> = rows.iter().map(|row| ApiKeyInfo::new(row, now)).collect();
    Ok(HttpResponse::Ok().json(keys))
}

/// Revoke an API key of the caller's tenant.
///
/// It stops working on this instance at once and on the others within a second (PostgreSQL
/// `NOTIFY`; the authentication cache TTL is the fallback); so do the access tokens minted
/// from it.
#[utoipa::path(
    operation_id = "revokeApiKey",
    tag = "api-keys",
    params(("id" = String, Path, description = "The key's id (key_…)")),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = ApiKeyInfo),
        (status = 404, description = "No such key in this tenant", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[delete("/v2/api-keys/{id}")]
pub async fn revoke(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let id = path.into_inner();
    let (tenant, target) = (caller.tenant.clone(), id.clone());
    let now = db::now();
    let row = state
        .db
        .run(move |conn| {
            // Another tenant's key does not exist as far as this caller can tell.
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
        .ok_or_else(|| ApiError::NotFound("API key not found".into()))?;
    state.auth.forget_key(&id);
    tracing::info!(key_id = %id, tenant = %row.tenant, revoked_by = %caller.key_id, "API key revoked");
    Ok(HttpResponse::Ok().json(ApiKeyInfo::new(&row, now)))
}
