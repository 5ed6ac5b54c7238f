//! `/v2/users/{user_id}/tokens`: store, list, get, delete and refresh a user's credentials.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::AppState;
use crate::api::{AuthErrors, timestamp};
use crate::auth::{Caller, Scope};
use crate::crypto::RowRef;
use crate::db::events::{Event, EventRow};
use crate::db::tokens::{NewToken, RowKey, STATUS_ACTIVE, Stored, TokenRow};
use crate::db::{self};
use crate::error::{ApiError, ErrorBody};
use crate::providers::client::client_for;
use crate::refresh::{self as engine, Credential};
use crate::token_data::{self, TokenData, TokenType};

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
    /// What happened at the provider: `revoked`, `failed` (deleted here anyway), `skipped`
    /// (`?revoke=false`) or `not_supported` (no revocation endpoint, or not an OAuth2 token).
    #[schema(example = "revoked")]
    pub revocation: &'static str,
    /// Why revocation failed, when it did.
    pub revocation_error: Option<String>,
}

/// Query of `GET …/tokens/{integration_key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GetTokenQuery {
    /// Refresh an OAuth2 token at the provider even if it is not about to expire.
    pub force_refresh: Option<bool>,
}

/// Query of `DELETE …/tokens/{integration_key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteTokenQuery {
    /// `false` skips revocation at the provider. Default `true`.
    pub revoke: Option<bool>,
}

/// Query of `GET …/tokens/{integration_key}/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// How many events, newest first: 1 to 500, default 50.
    pub limit: Option<i64>,
}

/// One audit event of a credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenEvent {
    pub id: i64,
    /// `stored`, `refresh`, `revoke` or `deleted`.
    #[schema(example = "refresh")]
    pub event: String,
    /// `created`, `replaced`, `success`, `invalid`, `transient`, `revoked`, `failed`, `skipped`,
    /// `not_supported`.
    #[schema(example = "success")]
    pub outcome: String,
    /// Why, for a person; never contains a secret.
    pub reason: Option<String>,
    pub created_at: String,
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

/// The `{user_id}` of a route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// Your application's id for the user.
    user_id: String,
}

impl UserPath {
    /// Checks the value and that `caller` may use `scope` on this user; returns the user id.
    fn authorize(self, caller: &Caller, scope: Scope) -> Result<String, ApiError> {
        caller.require_for_user(scope, &self.user_id)?;
        token_data::check_user_id(&self.user_id)?;
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
    /// Checks the values and that `caller` may use `scope` on this user:
    /// (user_id, integration_key).
    fn authorize(self, caller: &Caller, scope: Scope) -> Result<(String, String), ApiError> {
        caller.require_for_user(scope, &self.user_id)?;
        token_data::check_user_id(&self.user_id)?;
        token_data::check_integration_key(&self.integration_key)?;
        Ok((self.user_id, self.integration_key))
    }
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

fn row_key<'a>(tenant: &'a str, user_id: &'a str, integration_key: &'a str) -> RowKey<'a> {
    RowKey {
        tenant,
        user_id,
        integration_key,
    }
}

/// Store a credential (insert, or replace the one with the same integration key).
#[utoipa::path(
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
    token_data::check_integration_key(&request.integration_key)?;
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
            let outcome = match stored {
                Stored::Created => "created",
                Stored::Replaced => "replaced",
            };
            let key = row_key(&tenant, &user_id, &integration_key);
            EventRow::record(conn, key, Event::Stored, outcome, None, now)?;
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
    let tenant = caller.tenant.clone();
    let rows = state
        .db
        .run(move |conn| Ok(TokenRow::list_for_user(conn, &tenant, &user_id)?))
        .await?;
    let now = db::now();
    let items: Vec<TokenMetadata> = rows.iter().map(|row| metadata(row, now)).collect();
    Ok(HttpResponse::Ok().json(items))
}

/// Get a usable credential, decrypted, refreshing an OAuth2 token first when needed.
///
/// An OAuth2 token with less than `REFRESH_WINDOW_SECS` left (or any, with `force_refresh=true`)
/// is refreshed at the provider first; `refreshed` says whether that happened. When the provider
/// fails transiently and the current token is still valid, it is returned (`refreshed: false`).
#[utoipa::path(
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
    let (user_id, integration_key) = path.into_inner().authorize(&caller, Scope::TokensRead)?;
    let credential = engine::load(&state, &caller.tenant, &user_id, &integration_key).await?;
    let force = query.force_refresh.unwrap_or(false);
    let usable = engine::get_usable(&state, credential, force).await?;
    let Credential { row, data } = usable.credential;
    let token_type = TokenType::parse(&row.token_type)
        .ok_or_else(|| ApiError::internal("unknown stored token type"))?;
    let now = db::now();
    Ok(HttpResponse::Ok().json(GetTokenResponse {
        token_data: token_data::usable_view(token_type, &Value::Object(data)),
        scopes: row.scope_list(),
        expires_at: row.expires_at.map(timestamp),
        is_expired: is_expired(row.expires_at, now),
        refreshed: usable.refreshed,
        integration_key: row.integration_key,
        provider: row.provider,
        token_type: row.token_type,
        status: row.status,
    }))
}

/// Delete a credential, revoking it at the provider first (best effort).
///
/// A failing revocation still deletes the credential; `revocation` says what happened.
#[utoipa::path(
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
    let (user_id, integration_key) = path.into_inner().authorize(&caller, Scope::TokensDelete)?;
    let credential = engine::load(&state, &caller.tenant, &user_id, &integration_key).await?;
    let (revocation, revocation_error) =
        revoke(&state, &credential, query.revoke != Some(false)).await;

    let (tenant, key) = (caller.tenant.clone(), integration_key.clone());
    let reason = revocation_error.clone();
    let deleted = state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let now = db::now();
                let row = row_key(&tenant, &user_id, &key);
                if !TokenRow::delete(conn, &tenant, &user_id, &key)? {
                    return Ok(false);
                }
                EventRow::record(conn, row, Event::Revoke, revocation, reason.as_deref(), now)?;
                EventRow::record(conn, row, Event::Deleted, "success", None, now)?;
                Ok(true)
            })
        })
        .await?;
    if !deleted {
        return Err(ApiError::token_not_found());
    }
    let message = match revocation {
        "failed" => format!(
            "Token for {integration_key} deleted successfully, but revoking it at the provider failed"
        ),
        _ => format!("Token for {integration_key} deleted successfully"),
    };
    Ok(HttpResponse::Ok().json(DeleteTokenResponse {
        message,
        integration_key,
        revocation,
        revocation_error,
    }))
}

/// Revokes a credential at its provider if asked and possible: (outcome, failure reason).
async fn revoke(
    state: &AppState,
    credential: &Credential,
    wanted: bool,
) -> (&'static str, Option<String>) {
    if !wanted {
        return ("skipped", None);
    }
    let provider = state.registry.get(&credential.row.provider);
    let provider = match provider {
        Some(p)
            if p.revoke.is_some() && credential.row.token_type == TokenType::OAuth2.as_str() =>
        {
            p
        }
        _ => return ("not_supported", None),
    };
    let client = client_for(
        &credential.data,
        state.config.oauth_clients.get(&provider.key),
    );
    let result = state
        .refresher
        .client()
        .revoke(
            provider,
            &credential.data,
            client.as_ref(),
            state.config.refresh_timeout,
        )
        .await;
    match result {
        Ok(()) => ("revoked", None),
        Err(failure) => {
            tracing::warn!(
                tenant = %credential.row.tenant, user_id = %credential.row.user_id,
                integration_key = %credential.row.integration_key, provider = %provider.key,
                reason = %failure.reason(), "revocation at the provider failed; deleting anyway"
            );
            ("failed", Some(failure.reason().to_string()))
        }
    }
}

/// List a credential's audit events, newest first.
///
/// Stores, refresh attempts (with their outcome and reason), revocations and deletes. The events
/// of a deleted credential stay readable. Never contains secrets.
#[utoipa::path(
    tag = "tokens",
    params(
        CredentialPath,
        EventsQuery,
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
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, integration_key) = path.into_inner().authorize(&caller, Scope::TokensRead)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidRequest(
            "limit must be between 1 and 500".into(),
        ));
    }
    let tenant = caller.tenant.clone();
    let rows = state
        .db
        .run(move |conn| {
            Ok(EventRow::list(
                conn,
                row_key(&tenant, &user_id, &integration_key),
                limit,
            )?)
        })
        .await?;
    let events: Vec<TokenEvent> = rows
        .into_iter()
        .map(|e| TokenEvent {
            id: e.id,
            event: e.event,
            outcome: e.outcome,
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
    tag = "tokens",
    params(CredentialPath),
    responses(
        (status = 200, description = "Refreshed", body = RefreshTokenResponse),
        (status = 400, description = "The credential cannot be refreshed (not OAuth2, no refresh token, provider without token endpoint)", body = ErrorBody),
        (status = 404, description = "Token not found", body = ErrorBody),
        (status = 410, description = "The provider rejected the refresh token (`connection_error`): the user must re-authorize", body = ErrorBody),
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
    let (user_id, integration_key) = path.into_inner().authorize(&caller, Scope::TokensRefresh)?;
    let credential = engine::load(&state, &caller.tenant, &user_id, &integration_key).await?;
    let fresh = engine::refresh_now(&state, credential).await?;
    Ok(HttpResponse::Ok().json(RefreshTokenResponse {
        integration_key: fresh.row.integration_key,
        success: true,
        message: "Token refreshed successfully".into(),
        refreshed_at: timestamp(fresh.row.updated_at),
    }))
}
