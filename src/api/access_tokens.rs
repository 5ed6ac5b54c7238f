//! `/v2/access-tokens`: short-lived bearer tokens minted from an API key (Crunchy Bridge's
//! access-token exchange): mint, list, destroy.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::{attempt_of, presented_secret};
use crate::api::{AuthErrors, NO_STORE, read_optional_json, timestamp};
use crate::auth::issue::API_KEY_PREFIX;
use crate::auth::keys::MintRequest;
use crate::auth::{self, Caller};
use crate::db::access_tokens::AccessTokenRow;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Body of `POST /v2/access-tokens`; every field is optional and the body may be empty.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccessTokenRequest {
    /// The API key (`agk_…`), when not sent as `X-API-Key` or `Authorization: Bearer`.
    #[schema(pattern = "^agk_")]
    pub client_secret: Option<String>,
    /// Accepted and ignored (older clients send it).
    pub client_id: Option<String>,
    /// Lifetime: a number and a unit s, m, h, d, w or M (30 days), e.g. "15m", "1w".
    /// Between one minute and one month; default one hour. Not with `expires_at`.
    #[schema(example = "1h")]
    pub expires_in: Option<String>,
    /// Expiry time, RFC 3339, between one minute and one month from now. Not with `expires_in`.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Only `client_credentials` (or empty).
    #[schema(pattern = r"^\s*(client_credentials)?\s*$")]
    pub grant_type: Option<String>,
}

/// The access token resource. `access_token` is only ever shown in the creation reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    #[schema(example = "at_8Jq2mVx0bLr5TnWc7Yd1")]
    pub id: String,
    /// The secret, for `Authorization: Bearer`; `null` everywhere but the creation reply.
    pub access_token: Option<String>,
    pub api_key_id: String,
    /// The tenant (Crunchy Bridge's account).
    pub account_id: String,
    pub tenant: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    #[schema(example = "bearer")]
    pub token_type: &'static str,
}

impl AccessToken {
    fn new(row: &AccessTokenRow, secret: Option<String>, now: NaiveDateTime) -> AccessToken {
        AccessToken {
            id: row.id.clone(),
            access_token: secret,
            api_key_id: row.api_key_id.clone(),
            account_id: row.tenant.clone(),
            tenant: row.tenant.clone(),
            created_at: timestamp(row.created_at),
            expires_at: timestamp(row.expires_at),
            expires_in: (row.expires_at - now).num_seconds().max(0),
            token_type: "bearer",
        }
    }
}

/// Mint a short-lived access token from the calling API key.
///
/// The token carries the key's tenant, scopes and user binding, and works as
/// `Authorization: Bearer agat_…` on every `/v2` route until it expires, is destroyed, or its
/// API key is revoked. An access token cannot mint another.
#[utoipa::path(
    operation_id = "createAccessToken",
    tag = "access-tokens",
    request_body(content = Option<CreateAccessTokenRequest>, description = "Optional"),
    responses(
        (status = 201, description = "Minted; the secret is shown only here", body = AccessToken),
        (status = 400, description = "Bad expiry (both given, out of bounds, unparseable) or grant_type", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/access-tokens")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request: CreateAccessTokenRequest = read_optional_json(&state, body).await?;
    let secret = match request.client_secret.as_deref() {
        Some(secret) if secret.starts_with(API_KEY_PREFIX) => secret,
        Some(_) => {
            return Err(ApiError::Unauthorized(
                "client_secret must be an API key (agk_…)".into(),
            ));
        }
        None => presented_secret(req.headers())?,
    };
    let caller = auth::authenticate(&state.db, &attempt_of(&req, &state), secret).await?;
    let mint = MintRequest {
        expires_in: request.expires_in,
        expires_at: request.expires_at,
        grant_type: request.grant_type,
    };
    let minted = state.keys.mint(&caller, mint).await?;
    let secret = Some(minted.token.into_inner());
    let body = AccessToken::new(&minted.row, secret, minted.now);
    Ok(HttpResponse::Created().insert_header(NO_STORE).json(body))
}

/// List live access tokens: the calling key's, or the whole tenant's for an admin key.
#[utoipa::path(
    operation_id = "listAccessTokens",
    tag = "access-tokens",
    responses(
        (status = 200, description = "Live access tokens, newest first; never their secrets", body = Vec<AccessToken>),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/access-tokens")]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (rows, now) = state.keys.live_tokens(&caller).await?;
    let tokens: Vec<AccessToken> = rows
        .iter()
        .map(|row| AccessToken::new(row, None, now))
        .collect();
    Ok(HttpResponse::Ok().json(tokens))
}

/// Destroy an access token: it stops working at once.
///
/// It must have been minted from the calling API key, or the caller must be an admin of its
/// tenant.
#[utoipa::path(
    operation_id = "deleteAccessToken",
    tag = "access-tokens",
    params(("id" = String, Path, description = "The access token's id (at_…)")),
    responses(
        (status = 200, description = "Destroyed", body = AccessToken),
        (status = 404, description = "No such access token in this tenant", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[delete("/v2/access-tokens/{id}")]
pub async fn destroy(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, now) = state.keys.destroy(&caller, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AccessToken::new(&row, None, now)))
}
