//! `/v2/api-keys`: API key management for admins of a tenant. The same functions serve the
//! CLI's `tokenvault keys` commands.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::{AuthErrors, NO_STORE};
use crate::auth::Caller;
use crate::auth::keys::KeyRequest;
pub use crate::auth::keys::{ApiKeyInfo, CreatedApiKey};
use crate::error::{ApiError, ErrorBody};
use crate::model::Scope;
use crate::state::AppState;

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
    let body = body.into_inner();
    let request = KeyRequest {
        name: body.name,
        scopes: body.scopes,
        user_id: body.user_id,
        expires_in: body.expires_in,
        expires_at: body.expires_at,
    };
    let created = state.keys.create(&caller, request).await?;
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(created))
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
    Ok(HttpResponse::Ok().json(state.keys.list(&caller).await?))
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
    let revoked = state.keys.revoke(&caller, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(revoked))
}
