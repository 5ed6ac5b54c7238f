//! `/v2/users/{user_id}/tokens`: store, list, get, delete and refresh a user's credentials.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::api::{AuthErrors, LimitQuery, NO_STORE, timestamp};
use crate::auth::Caller;
use crate::credentials::data::UsableSecret;
use crate::credentials::service::{NewCredential, is_expired};
use crate::credentials::{Credential, Inconsistency, Want};
use crate::db::tokens::{Stored, TokenRow};
use crate::error::{ApiError, ErrorBody};
use crate::model::Scope;
use crate::model::{
    Account, CredentialKey, EventKind, Outcome, Revocation, TokenStatus, TokenType, check_user_id,
};
use crate::providers::config::{self, ConnectionConfig};
use crate::state::AppState;

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
    #[schema(value_type = Object)]
    pub token_data: Value,
    /// Permission scopes.
    #[validate(length(max = 200, message = "at most 200 scopes"))]
    #[schema(example = json!(["calendar", "email"]))]
    pub scopes: Option<Vec<String>>,
    /// Expiration time, RFC 3339 (a time without offset is taken as UTC).
    #[schema(format = DateTime, example = "2025-01-16T10:00:00Z")]
    pub expires_at: Option<String>,
    /// Per-account values the provider's URLs need (`GET /v2/providers` lists each provider's
    /// fields and patterns), e.g. `{"subdomain": "acme"}` for Zendesk. A value that does not
    /// match its pattern is a 422.
    #[serde(default)]
    #[schema(example = json!({"subdomain": "acme"}))]
    pub connection_config: Option<ConnectionConfig>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreTokenResponse {
    #[schema(example = "google")]
    pub integration_key: String,
    #[schema(example = "google")]
    pub provider: String,
    #[schema(value_type = TokenType, example = "oauth2")]
    pub token_type: &'static str,
    #[schema(example = "Token stored successfully for google")]
    pub message: String,
    #[schema(format = DateTime, example = "2025-01-15T10:00:00Z")]
    pub created_at: String,
}

/// Metadata of a stored credential; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenMetadata {
    pub integration_key: String,
    pub provider: String,
    #[schema(value_type = TokenType)]
    pub token_type: &'static str,
    pub scopes: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub is_expired: bool,
    /// Who it belongs to at the provider (credentials stored by the connect flow); null when
    /// unknown.
    pub account: Option<Account>,
    /// `active`, `expired` (a transient refresh failure left it past expiry) or `invalid`
    /// (the provider rejected the refresh token: re-authorize).
    #[schema(value_type = TokenStatus, example = "active")]
    pub status: &'static str,
    /// Per-account values: given at store or connect, or learned from the provider's reply
    /// (Salesforce's `instance_url`); `{}` when none.
    pub connection_config: ConnectionConfig,
}

/// A usable credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct GetTokenResponse {
    pub integration_key: String,
    pub provider: String,
    #[schema(value_type = TokenType)]
    pub token_type: &'static str,
    /// The usable secret: `access_token`, `refresh_token`, `token_type` for oauth2; the
    /// `api_key` fields; or the `token` fields. Never client credentials.
    pub token_data: UsableSecret,
    pub scopes: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    pub is_expired: bool,
    /// Whether this request refreshed the token at the provider.
    pub refreshed: bool,
    /// Who it belongs to at the provider (credentials stored by the connect flow); null when
    /// unknown.
    pub account: Option<Account>,
    #[schema(value_type = TokenStatus, example = "active")]
    pub status: &'static str,
    /// Per-account values (see `TokenMetadata`).
    pub connection_config: ConnectionConfig,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteTokenResponse {
    #[schema(example = "google")]
    pub integration_key: String,
    #[schema(example = "Token for google deleted successfully")]
    pub message: String,
    /// What happened at the provider: `revoked`, `failed` (deleted here anyway), `skipped`
    /// (`?revoke=false`) or `not_supported` (no revocation endpoint, or not an OAuth2 token).
    #[schema(value_type = Revocation, example = "revoked")]
    pub revocation: &'static str,
    /// Why revocation failed, when it did.
    pub revocation_error: Option<String>,
}

/// Query of `GET …/tokens/{integration_key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GetTokenQuery {
    /// Refresh an OAuth2 token at the provider even if it is not about to expire. Needs the
    /// `tokens:refresh` scope; at most once per credential per
    /// `TOKENVAULT_FORCE_REFRESH_MIN_SECS` (inside it the current token is returned).
    pub force_refresh: Option<bool>,
    /// Seconds (at most 86 400) the returned OAuth2 token must stay valid: one expiring sooner
    /// is refreshed first, like a forced refresh beyond the standard window (at most once per
    /// `TOKENVAULT_FORCE_REFRESH_MIN_SECS`). A provider's token may live shorter than asked:
    /// check `expires_at`.
    #[param(maximum = 86400)]
    pub min_validity: Option<u32>,
}

/// The longest `min_validity` a GET may ask for, in seconds.
const MAX_MIN_VALIDITY: u32 = 86_400;

impl GetTokenQuery {
    /// What the GET asks for, checked.
    fn want(&self) -> Result<Want, ApiError> {
        let min_validity = match self.min_validity {
            Some(secs) if secs > MAX_MIN_VALIDITY => {
                return Err(ApiError::InvalidRequest(format!(
                    "min_validity is at most {MAX_MIN_VALIDITY} seconds"
                )));
            }
            secs => secs.map(|s| std::time::Duration::from_secs(u64::from(s))),
        };
        Ok(Want {
            force: self.force_refresh.unwrap_or(false),
            min_validity,
        })
    }
}

/// Query of `DELETE …/tokens/{integration_key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteTokenQuery {
    /// `false` skips revocation at the provider. Default `true`.
    pub revoke: Option<bool>,
}

/// One audit event of a credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenEvent {
    pub id: i64,
    #[schema(value_type = EventKind, example = "refresh")]
    pub event: String,
    #[schema(value_type = Outcome, example = "success")]
    pub outcome: String,
    /// Why, for a person; never contains a secret.
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshTokenResponse {
    pub integration_key: String,
    pub success: bool,
    #[schema(example = "Token refreshed successfully")]
    pub message: String,
    #[schema(format = DateTime)]
    pub refreshed_at: String,
}

/// The `{user_id}` of a route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// Your application's id for the user.
    pub user_id: String,
}

impl UserPath {
    /// Checks the value and that `caller` may use `scope` on this user; returns the user id.
    pub fn authorize(self, caller: &Caller, scope: Scope) -> Result<String, ApiError> {
        caller.require_for_user(scope, &self.user_id)?;
        check_user_id(&self.user_id).map_err(ApiError::InvalidRequest)?;
        Ok(self.user_id)
    }
}

/// The `{user_id}` and `{integration_key}` of a route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CredentialPath {
    /// Your application's id for the user.
    user_id: String,
    /// The integration the credential is stored under.
    integration_key: String,
}

impl CredentialPath {
    /// Checks the values and that `caller` may use `scope` on this user: the credential's key.
    fn authorize(self, caller: &Caller, scope: Scope) -> Result<CredentialKey, ApiError> {
        caller.require_for_user(scope, &self.user_id)?;
        CredentialKey::parse(&caller.tenant, &self.user_id, &self.integration_key)
            .map_err(ApiError::InvalidRequest)
    }
}

/// A row's scope list, as responses show it.
fn scopes_of(row: &TokenRow) -> Result<Option<Vec<String>>, ApiError> {
    let scopes = row
        .scopes()
        .map_err(|e| ApiError::internal(Inconsistency(format!("{}: {e}", row.key()))))?;
    Ok(scopes.map(|s| s.as_slice().to_vec()))
}

fn metadata(row: &TokenRow, now: NaiveDateTime) -> Result<TokenMetadata, ApiError> {
    Ok(TokenMetadata {
        integration_key: row.integration_key.clone(),
        provider: row.provider.clone(),
        token_type: row.token_type.as_str(),
        scopes: scopes_of(row)?,
        expires_at: row.expires_at.map(timestamp),
        created_at: timestamp(row.created_at),
        updated_at: timestamp(row.updated_at),
        is_expired: is_expired(row.expires_at, now),
        account: Account::from_column(row.account.as_deref()),
        status: row.status.as_str(),
        connection_config: config::from_column(row.connection_config.as_deref()),
    })
}

/// Store a credential (insert, or replace the one with the same integration key).
#[utoipa::path(
    operation_id = "storeToken",
    tag = "tokens",
    params(UserPath),
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
    path: web::Path<UserPath>,
    body: web::Json<StoreTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner().authorize(&caller, Scope::TokensWrite)?;
    let request = body.into_inner();
    let key = CredentialKey::parse(&caller.tenant, &user_id, &request.integration_key)
        .map_err(ApiError::InvalidRequest)?;
    request
        .validate()
        .map_err(|e| ApiError::InvalidRequest(format!("Invalid request body: {e}")))?;
    let new = NewCredential {
        provider: request.provider,
        token_type: request.token_type,
        token_data: request.token_data,
        scopes: request.scopes,
        expires_at: request.expires_at,
        account: None,
        arrived: EventKind::Stored,
        connection_config: request.connection_config.unwrap_or_default(),
    };
    let (stored, saved) = state.credentials.store(key, new).await?;
    let body = StoreTokenResponse {
        message: format!("Token stored successfully for {}", saved.integration_key),
        integration_key: saved.integration_key,
        provider: saved.provider,
        token_type: saved.token_type.as_str(),
        created_at: timestamp(saved.created_at),
    };
    Ok(match stored {
        Stored::Created => HttpResponse::Created().json(body),
        Stored::Replaced => HttpResponse::Ok().json(body),
    })
}

/// List a user's credentials: metadata only, never token data.
#[utoipa::path(
    operation_id = "listTokens",
    tag = "tokens",
    params(UserPath),
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
    path: web::Path<UserPath>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner().authorize(&caller, Scope::TokensRead)?;
    let rows = state.credentials.list(&caller.tenant, &user_id).await?;
    let now = state.clock.now_naive();
    let items = rows
        .iter()
        .map(|row| metadata(row, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(items))
}

/// Get a usable credential, decrypted, refreshing an OAuth2 token first when needed.
///
/// An OAuth2 token with less than `REFRESH_WINDOW_SECS` left (or less than `min_validity`, or
/// any, with `force_refresh=true`) is refreshed at the provider first; `refreshed` says whether
/// that happened. When the provider fails transiently and the current token is still valid, it
/// is returned (`refreshed: false`).
#[utoipa::path(
    operation_id = "getToken",
    tag = "tokens",
    params(
        CredentialPath,
        GetTokenQuery,
    ),
    responses(
        (status = 200, description = "The usable credential", body = GetTokenResponse),
        (status = 400, description = "Invalid path or query", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        (status = 410, description = "The provider rejected the refresh token (`connection_error`): the user must re-authorize", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/users/{user_id}/tokens/{integration_key}")]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<CredentialPath>,
    query: web::Query<GetTokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner().authorize(&caller, Scope::TokensRead)?;
    let want = query.want()?;
    if want.force {
        caller.require(Scope::TokensRefresh)?;
    }
    let usable = state.credentials.usable(&key, want).await?;
    let Credential { row, data } = usable.credential;
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(GetTokenResponse {
            scopes: scopes_of(&row)?,
            token_data: data.into_usable(),
            expires_at: row.expires_at.map(timestamp),
            is_expired: is_expired(row.expires_at, state.clock.now_naive()),
            refreshed: usable.refreshed,
            account: Account::from_column(row.account.as_deref()),
            connection_config: config::from_column(row.connection_config.as_deref()),
            integration_key: row.integration_key,
            provider: row.provider,
            token_type: row.token_type.as_str(),
            status: row.status.as_str(),
        }))
}

/// Delete a credential, revoking it at the provider first (best effort).
///
/// A failing revocation still deletes the credential; `revocation` says what happened.
#[utoipa::path(
    operation_id = "deleteToken",
    tag = "tokens",
    params(
        CredentialPath,
        DeleteTokenQuery,
    ),
    responses(
        (status = 200, description = "Deleted", body = DeleteTokenResponse),
        (status = 400, description = "Invalid path or query", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[delete("/v2/users/{user_id}/tokens/{integration_key}")]
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<CredentialPath>,
    query: web::Query<DeleteTokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner().authorize(&caller, Scope::TokensDelete)?;
    let deleted = state
        .credentials
        .delete(&key, query.revoke != Some(false))
        .await?;
    let integration_key = String::from(key.integration_key);
    let message = match deleted.revocation {
        Revocation::Failed => format!(
            "Token for {integration_key} deleted successfully, but revoking it at the provider failed"
        ),
        _ => format!("Token for {integration_key} deleted successfully"),
    };
    Ok(HttpResponse::Ok().json(DeleteTokenResponse {
        message,
        integration_key,
        revocation: deleted.revocation.as_str(),
        revocation_error: deleted.revocation_error,
    }))
}

/// List a credential's audit events, newest first.
///
/// Stores, refresh attempts (with their outcome and reason), revocations and deletes. The events
/// of a deleted credential stay readable. Never contains secrets.
#[utoipa::path(
    operation_id = "listTokenEvents",
    tag = "tokens",
    params(
        CredentialPath,
        LimitQuery,
    ),
    responses(
        (status = 200, description = "Events, newest first", body = Vec<TokenEvent>),
        (status = 400, description = "Invalid path or limit", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/users/{user_id}/tokens/{integration_key}/events")]
pub async fn events(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<CredentialPath>,
    query: web::Query<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner().authorize(&caller, Scope::TokensRead)?;
    let limit = query.limit()?;
    let rows = state.credentials.events(&key, limit).await?;
    let events: Vec<TokenEvent> = rows
        .into_iter()
        .map(|e| TokenEvent {
            id: e.id,
            event: e.event.to_string(),
            outcome: e.outcome.to_string(),
            reason: e.reason,
            created_at: timestamp(e.created_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(events))
}

/// Refresh an OAuth2 credential at its provider now.
///
/// Concurrent refreshes of one credential, on any number of instances, call the provider once.
/// A transient provider failure answers 503 `refresh_unavailable` with `Retry-After`.
#[utoipa::path(
    operation_id = "refreshToken",
    tag = "tokens",
    params(CredentialPath),
    responses(
        (status = 200, description = "Refreshed", body = RefreshTokenResponse),
        (status = 400, description = "The credential cannot be refreshed (not OAuth2, no refresh token, provider without token endpoint)", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        (status = 410, description = "The provider rejected the refresh token (`connection_error`): the user must re-authorize", body = ErrorBody),
        (status = 429, description = "Refreshed less than `TOKENVAULT_FORCE_REFRESH_MIN_SECS` ago (`rate_limited`, with `Retry-After`)", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/users/{user_id}/tokens/{integration_key}/refresh")]
pub async fn refresh(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<CredentialPath>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner().authorize(&caller, Scope::TokensRefresh)?;
    let fresh = state.credentials.refresh_now(&key).await?;
    Ok(HttpResponse::Ok().json(RefreshTokenResponse {
        integration_key: fresh.row.integration_key,
        success: true,
        message: "Token refreshed successfully".into(),
        refreshed_at: timestamp(fresh.row.updated_at),
    }))
}
