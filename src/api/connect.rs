//! The connect flow over HTTP: `POST /v2/users/{user_id}/connect` starts it,
//! `GET /v2/oauth/callback` (no API key: the state is the credential) finishes it.

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::tokens::UserPath;
use crate::api::{AuthErrors, NO_STORE, timestamp};
use crate::auth::Caller;
use crate::connect::{CallbackParams, StartRequest};
use crate::error::{ApiError, ErrorBody};
use crate::model::Scope;
use crate::secret::Secret;
use crate::state::AppState;

/// Body of `POST /v2/users/{user_id}/connect`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// A provider that supports connect (`supports_connect` in `GET /v2/providers`).
    #[schema(example = "google")]
    pub provider: String,
    /// Where to store the credential; default: the provider key.
    #[schema(example = "google")]
    pub integration_key: Option<String>,
    /// Scopes to ask for; default: the provider's `default_scopes`.
    pub scopes: Option<Vec<String>>,
    /// Where the user's browser lands afterwards, with `status=connected&integration_key=…` or
    /// `status=error&error=…`. Must start with a prefix of `TOKENVAULT_REDIRECT_ALLOWLIST`.
    #[schema(example = "https://app.example.com/oauth/done")]
    pub redirect_uri: String,
}

/// A started connect.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectResponse {
    /// Send the user's browser here.
    pub authorization_url: String,
    /// The single-use state of this connect (it is in the URL too).
    pub state: String,
    /// The connect must come back before this.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// What the provider sends the browser back with. Other parameters (Google's `scope`,
/// `authuser`, …) are ignored.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The state `POST …/connect` returned.
    pub state: Option<String>,
    /// The provider's error, e.g. `access_denied`.
    pub error: Option<String>,
    /// The authorization server's issuer (RFC 9207); when sent, it must be the provider's.
    pub iss: Option<String>,
}

/// Start connecting a user's account at a provider (OAuth authorization code with PKCE).
///
/// Answers the provider's authorization URL: send the user's browser there. After consent the
/// provider sends the browser to `/v2/oauth/callback`, which stores the credential and sends it
/// on to `redirect_uri`.
#[utoipa::path(
    operation_id = "startConnect",
    tag = "connect",
    params(UserPath),
    request_body = ConnectRequest,
    responses(
        (status = 201, description = "Started; valid ten minutes, once", body = ConnectResponse),
        (status = 400, description = "Malformed body, invalid user id or integration key", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "Unknown provider, a provider without connect, no platform OAuth client configured (names the variables), or a redirect_uri outside TOKENVAULT_REDIRECT_ALLOWLIST", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/users/{user_id}/connect")]
pub async fn start(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<UserPath>,
    body: web::Json<ConnectRequest>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner().authorize(&caller, Scope::TokensWrite)?;
    let request = body.into_inner();
    let start = StartRequest {
        provider: request.provider,
        integration_key: request.integration_key,
        scopes: request.scopes,
        redirect_uri: request.redirect_uri,
    };
    let started = state.connect.start(&caller.tenant, &user_id, start).await?;
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(ConnectResponse {
            authorization_url: started.authorization_url,
            state: started.state.into_inner(),
            expires_at: timestamp(started.expires_at),
        }))
}

/// Where the provider sends the user's browser back (no API key: the state is the credential).
///
/// Exchanges the code, stores the credential and answers 302 to the app's `redirect_uri` with
/// `status=connected&integration_key=…`, or `status=error&error=<code>` when the user denied
/// or the exchange failed. Never echoes a token or the code.
#[utoipa::path(
    operation_id = "finishConnect",
    tag = "connect",
    params(CallbackQuery),
    responses(
        (status = 302, description = "To the app's redirect_uri with the outcome", headers(("Location" = String, description = "The app's redirect_uri with status=connected&integration_key=… or status=error&error=…"))),
        (status = 400, description = "Unknown, expired or already used state (`invalid_request`)", body = ErrorBody),
        (status = 503, description = "The database is unavailable (`database_unavailable`)", body = ErrorBody),
    )
)]
#[get("/v2/oauth/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let params = CallbackParams {
        code: query.code.map(Secret::new),
        state: query.state.map(Secret::new),
        error: query.error,
        iss: query.iss,
    };
    let location = state.connect.callback(params).await?;
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, location))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish())
}
