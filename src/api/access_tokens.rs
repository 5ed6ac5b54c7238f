//! `/v2/access-tokens`: short-lived bearer tokens minted from an API key (Crunchy Bridge's
//! access-token exchange): mint, list, destroy.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{AuthErrors, NO_STORE, read_optional_json, timestamp};
use crate::auth::caller::{Caller, attempt_of, presented_secret};
use crate::auth::issue::{self, ACCESS_TOKEN_BOUNDS, API_KEY_PREFIX, Issued};
use crate::auth::scope::Scope;
use crate::auth::{self, AuthError, revocations};
use crate::db::access_tokens::AccessTokenRow;
use crate::db::{self, DbError};
use crate::error::{ApiError, ErrorBody};
use crate::expiry;
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
    caller.require_api_key("mint another access token")?;
    match request.grant_type.as_deref().map(str::trim) {
        None | Some("") | Some("client_credentials") => {}
        Some(_) => {
            return Err(ApiError::InvalidRequest(
                "grant_type must be client_credentials".into(),
            ));
        }
    }
    let now = db::now();
    let expires_at = expiry::resolve(
        request.expires_in.as_deref(),
        request.expires_at.as_deref(),
        now,
        ACCESS_TOKEN_BOUNDS,
        Some(chrono::Duration::hours(1)),
    )
    .map_err(ApiError::InvalidRequest)?
    .ok_or_else(|| ApiError::internal("access token without expiry"))?;
    let issued = Issued::access_token().map_err(ApiError::internal)?;
    let minted = state
        .db
        .run(move |conn| issue::mint_access_token(conn, &caller, issued, expires_at))
        .await?;
    let secret = Some(minted.token.into_inner());
    let body = AccessToken::new(&minted.row, secret, now);
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
    let now = db::now();
    let tenant = caller.tenant.clone();
    let key_filter = (!caller.has(Scope::Admin)).then(|| caller.key_id.clone());
    let rows = state
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
    let id = path.into_inner();
    let tenant = caller.tenant.clone();
    let lookup = id.clone();
    let row = state
        .db
        .run(move |conn| Ok(AccessTokenRow::find(conn, &tenant, &lookup)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("Access token not found".into()))?;
    if row.api_key_id != caller.key_id && !caller.has(Scope::Admin) {
        return Err(AuthError::Forbidden(
            "This access token was minted from another API key; only that key or an admin key \
             of the tenant can destroy it"
                .into(),
        )
        .into());
    }
    let now = db::now();
    let (target, tenant) = (id.clone(), caller.tenant.clone());
    let row = state
        .db
        .run(move |conn| {
            revocations::destroy_access_token(conn, &target, now)?;
            let destroyed = AccessTokenRow::find(conn, &tenant, &target)?;
            destroyed.ok_or(DbError::Missing("the destroyed access token vanished"))
        })
        .await?;
    state.auth.forget_access_token(&id);
    Ok(HttpResponse::Ok().json(AccessToken::new(&row, None, now)))
}
