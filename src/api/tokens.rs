//! `/v2/users/{user_id}/tokens`: store, list, get, delete and refresh a user's credentials.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use validator::Validate;

use crate::AppState;
use crate::api::{AuthErrors, timestamp};
use crate::auth::{Caller, Scope};
use crate::crypto::RowRef;
use crate::db::tokens::{NewToken, Stored, TokenRow};
use crate::db::{self};
use crate::error::{ApiError, ErrorBody};
use crate::token_data::{self, TokenData, TokenType};

/// Status of a stored credential.
pub const STATUS_ACTIVE: &str = "active";

/// Body of `POST /v2/users/{user_id}/tokens`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StoreTokenRequest {
    /// Integration identifier, e.g. "google", "slack", "openai".
    #[schema(example = "google")]
    pub integration_key: String,
    /// Provider name (whitelisted: google, slack, openai, anthropic, github, microsoft, zoom,
    /// dropbox, notion); case-insensitive.
    #[schema(example = "google")]
    pub provider: String,
    /// `oauth2`, `api_key` or `jwt`; case-insensitive.
    #[schema(example = "oauth2")]
    pub token_type: String,
    /// The credential; its fields depend on `token_type`.
    #[serde(default)]
    #[schema(value_type = TokenData)]
    pub token_data: Value,
    /// Permission scopes.
    #[validate(length(max = 200, message = "at most 200 scopes"))]
    #[schema(example = json!(["calendar", "email"]))]
    pub scopes: Option<Vec<String>>,
    /// Expiration time, RFC 3339 (a time without offset is taken as UTC).
    #[schema(example = "2025-01-16T10:00:00Z")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreTokenResponse {
    #[schema(example = "google")]
    pub integration_key: String,
    #[schema(example = "google")]
    pub provider: String,
    #[schema(example = "oauth2")]
    pub token_type: String,
    #[schema(example = "Token stored successfully for google")]
    pub message: String,
    #[schema(example = "2025-01-15T10:00:00Z")]
    pub created_at: String,
}

/// Metadata of a stored credential; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenMetadata {
    pub integration_key: String,
    pub provider: String,
    pub token_type: String,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub is_expired: bool,
    /// `active`, `expired` (a transient refresh failure left it past expiry) or `invalid`
    /// (the provider rejected the refresh token: re-authorize).
    #[schema(example = "active")]
    pub status: String,
}

/// A usable credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct GetTokenResponse {
    pub integration_key: String,
    pub provider: String,
    pub token_type: String,
    /// The usable secret: `access_token`, `refresh_token`, `token_type` for oauth2; the
    /// `api_key` fields; or the `token` fields. Never client credentials.
    #[schema(value_type = Object)]
    pub token_data: Map<String, Value>,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<String>,
    pub is_expired: bool,
    /// Whether this request refreshed the token at the provider.
    pub refreshed: bool,
    #[schema(example = "active")]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteTokenResponse {
    #[schema(example = "google")]
    pub integration_key: String,
    #[schema(example = "Token for google deleted successfully")]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshTokenResponse {
    pub integration_key: String,
    pub success: bool,
    #[schema(example = "Token refreshed successfully")]
    pub message: String,
    pub refreshed_at: String,
}

fn is_expired(expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

fn parse_expires_at(value: &str) -> Result<NaiveDateTime, ApiError> {
    let value = value.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc).naive_utc());
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| {
        ApiError::InvalidRequest(
            "expires_at must be an RFC 3339 time, e.g. 2025-01-16T10:00:00Z".into(),
        )
    })
}

fn check_path(user_id: &str, integration_key: Option<&str>) -> Result<(), ApiError> {
    token_data::check_user_id(user_id)?;
    integration_key.map_or(Ok(()), token_data::check_integration_key)
}

fn metadata(row: &TokenRow, now: NaiveDateTime) -> TokenMetadata {
    TokenMetadata {
        integration_key: row.integration_key.clone(),
        provider: row.provider.clone(),
        token_type: row.token_type.clone(),
        scopes: row.scope_list(),
        expires_at: row.expires_at.map(timestamp),
        created_at: timestamp(row.created_at),
        updated_at: timestamp(row.updated_at),
        is_expired: is_expired(row.expires_at, now),
        status: row.status.clone(),
    }
}

fn row_ref(row: &TokenRow) -> RowRef<'_> {
    RowRef {
        tenant: &row.tenant,
        user_id: &row.user_id,
        integration_key: &row.integration_key,
    }
}

fn stored_type(row: &TokenRow) -> Result<TokenType, ApiError> {
    TokenType::parse(&row.token_type)
        .ok_or_else(|| ApiError::internal(format!("{}: unknown stored token type", row_ref(row))))
}

/// Reads a caller's credential or answers 404.
async fn find_row(
    state: &AppState,
    caller: &Caller,
    user_id: &str,
    integration_key: &str,
) -> Result<TokenRow, ApiError> {
    let (tenant, user, key) = (
        caller.tenant.clone(),
        user_id.to_string(),
        integration_key.to_string(),
    );
    state
        .db
        .run(move |conn| Ok(TokenRow::find(conn, &tenant, &user, &key)?))
        .await?
        .ok_or_else(ApiError::token_not_found)
}

/// Store a credential (insert, or replace the one with the same integration key).
#[utoipa::path(
    tag = "tokens",
    params(("user_id" = String, Path, description = "Your application's id for the user")),
    request_body = StoreTokenRequest,
    responses(
        (status = 201, description = "Stored a new credential", body = StoreTokenResponse),
        (status = 200, description = "Replaced the existing credential", body = StoreTokenResponse),
        (status = 400, description = "Malformed body, empty or invalid token data", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "Invalid provider or token type", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/users/{user_id}/tokens")]
pub async fn store(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<StoreTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    caller.require_for_user(Scope::TokensWrite, &user_id)?;
    let request = body.into_inner();
    check_path(&user_id, Some(&request.integration_key))?;
    request
        .validate()
        .map_err(|e| ApiError::InvalidRequest(format!("Invalid request body: {e}")))?;

    let provider = state
        .registry
        .get(request.provider.trim())
        .ok_or_else(|| ApiError::Unprocessable("Invalid provider".into()))?;
    let token_type = TokenType::parse(&request.token_type)
        .ok_or_else(|| ApiError::Unprocessable("Invalid token type".into()))?;
    if !provider.supports(token_type) {
        return Err(ApiError::Unprocessable(format!(
            "Invalid token type: {} does not accept {} credentials",
            provider.key,
            token_type.as_str()
        )));
    }
    let data = token_data::validate(token_type, &request.token_data)?;
    let now = db::now();
    let expires_at = match (&request.expires_at, token_data::expires_in(&data)) {
        (Some(at), _) => Some(parse_expires_at(at)?),
        (None, Some(secs)) => Some(now + chrono::Duration::seconds(secs as i64)),
        (None, None) => None,
    };
    let scopes = request
        .scopes
        .as_ref()
        .map(|s| serde_json::to_string(s).unwrap_or_else(|_| "[]".into()));

    let row = RowRef {
        tenant: &caller.tenant,
        user_id: &user_id,
        integration_key: &request.integration_key,
    };
    let ciphertext = state.vault.seal(row, &Value::Object(data));
    let (tenant, provider_key) = (caller.tenant.clone(), provider.key.clone());
    let integration_key = request.integration_key.clone();
    let token_type_name = token_type.as_str();
    let (stored, saved) = state
        .db
        .run(move |conn| {
            let new = NewToken {
                tenant: &tenant,
                user_id: &user_id,
                integration_key: &integration_key,
                provider: &provider_key,
                token_type: token_type_name,
                ciphertext: &ciphertext,
                scopes: scopes.as_deref(),
                expires_at,
                status: STATUS_ACTIVE,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            let stored = TokenRow::upsert(conn, &new)?;
            let saved = TokenRow::find(conn, &tenant, &user_id, &integration_key)?
                .ok_or_else(|| ApiError::internal("stored credential vanished"))?;
            Ok((stored, saved))
        })
        .await?;
    let body = StoreTokenResponse {
        message: format!("Token stored successfully for {}", saved.integration_key),
        integration_key: saved.integration_key,
        provider: saved.provider,
        token_type: saved.token_type,
        created_at: timestamp(saved.created_at),
    };
    Ok(match stored {
        Stored::Created => HttpResponse::Created().json(body),
        Stored::Replaced => HttpResponse::Ok().json(body),
    })
}

/// List a user's credentials: metadata only, never token data.
#[utoipa::path(
    tag = "tokens",
    params(("user_id" = String, Path, description = "Your application's id for the user")),
    responses(
        (status = 200, description = "The user's credentials, by integration key", body = Vec<TokenMetadata>),
        (status = 400, description = "Invalid user id", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/users/{user_id}/tokens")]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    caller.require_for_user(Scope::TokensRead, &user_id)?;
    check_path(&user_id, None)?;
    let tenant = caller.tenant.clone();
    let rows = state
        .db
        .run(move |conn| Ok(TokenRow::list_for_user(conn, &tenant, &user_id)?))
        .await?;
    let now = db::now();
    let items: Vec<TokenMetadata> = rows.iter().map(|row| metadata(row, now)).collect();
    Ok(HttpResponse::Ok().json(items))
}

/// Get a usable credential, decrypted.
#[utoipa::path(
    tag = "tokens",
    params(
        ("user_id" = String, Path, description = "Your application's id for the user"),
        ("integration_key" = String, Path, description = "The integration the credential is stored under"),
    ),
    responses(
        (status = 200, description = "The usable credential", body = GetTokenResponse),
        (status = 400, description = "Invalid path", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/users/{user_id}/tokens/{integration_key}")]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, integration_key) = path.into_inner();
    caller.require_for_user(Scope::TokensRead, &user_id)?;
    check_path(&user_id, Some(&integration_key))?;
    let row = find_row(&state, &caller, &user_id, &integration_key).await?;
    let token_type = stored_type(&row)?;
    let opened = state
        .vault
        .open(row_ref(&row), &row.ciphertext)
        .map_err(ApiError::internal)?;
    let now = db::now();
    Ok(HttpResponse::Ok().json(GetTokenResponse {
        token_data: token_data::usable_view(token_type, &opened.data),
        scopes: row.scope_list(),
        expires_at: row.expires_at.map(timestamp),
        is_expired: is_expired(row.expires_at, now),
        refreshed: false,
        integration_key: row.integration_key,
        provider: row.provider,
        token_type: row.token_type,
        status: row.status,
    }))
}

/// Delete a credential.
#[utoipa::path(
    tag = "tokens",
    params(
        ("user_id" = String, Path, description = "Your application's id for the user"),
        ("integration_key" = String, Path, description = "The integration the credential is stored under"),
    ),
    responses(
        (status = 200, description = "Deleted", body = DeleteTokenResponse),
        (status = 400, description = "Invalid path", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[delete("/v2/users/{user_id}/tokens/{integration_key}")]
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, integration_key) = path.into_inner();
    caller.require_for_user(Scope::TokensDelete, &user_id)?;
    check_path(&user_id, Some(&integration_key))?;
    let (tenant, key) = (caller.tenant.clone(), integration_key.clone());
    let deleted = state
        .db
        .run(move |conn| Ok(TokenRow::delete(conn, &tenant, &user_id, &key)?))
        .await?;
    if !deleted {
        return Err(ApiError::token_not_found());
    }
    Ok(HttpResponse::Ok().json(DeleteTokenResponse {
        message: format!("Token for {integration_key} deleted successfully"),
        integration_key,
    }))
}

/// Refresh an OAuth2 credential at its provider now.
#[utoipa::path(
    tag = "tokens",
    params(
        ("user_id" = String, Path, description = "Your application's id for the user"),
        ("integration_key" = String, Path, description = "The integration the credential is stored under"),
    ),
    responses(
        (status = 200, description = "Refreshed", body = RefreshTokenResponse),
        (status = 400, description = "The credential's type does not support refresh", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        (status = 410, description = "The provider rejected the refresh token (`connection_error`): re-authorize", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/users/{user_id}/tokens/{integration_key}/refresh")]
pub async fn refresh(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, integration_key) = path.into_inner();
    caller.require_for_user(Scope::TokensRefresh, &user_id)?;
    check_path(&user_id, Some(&integration_key))?;
    let row = find_row(&state, &caller, &user_id, &integration_key).await?;
    let token_type = stored_type(&row)?;
    if token_type != TokenType::OAuth2 {
        return Err(ApiError::InvalidRequest(format!(
            "Token type {} does not support refresh",
            token_type.as_str()
        )));
    }
    Err(ApiError::RefreshUnavailable(
        "OAuth2 refresh is not available in this version of tokenvault".into(),
    ))
}
