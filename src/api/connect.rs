//! The connect flow over HTTP: `POST /v2/users/{user_id}/connect` starts it,
//! `GET /v2/oauth/callback` (no API key: the state is the credential) finishes it.

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::tokens::UserPath;
use crate::api::{AuthErrors, NO_STORE, timestamp};
use crate::auth::Caller;
use crate::connect::{CallbackParams, StartRequest};
use crate::error::{ApiError, ErrorBody};
use crate::model::{ConnectFlow, ConnectStatus, Scope};
use crate::providers::config::ConnectionConfig;
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
    /// `authorization_code` (default): the user's browser goes to the provider. `device`
    /// (RFC 8628): the user enters a code on any device, tokenvault polls the provider; for
    /// agents and machines without a browser.
    #[serde(default)]
    pub flow: ConnectFlow,
    /// Flow `authorization_code` (required there): where the user's browser lands afterwards,
    /// with `status=connected&integration_key=…` or `status=error&error=…`. Must start with a
    /// prefix of `TOKENVAULT_REDIRECT_ALLOWLIST`.
    #[schema(example = "https://app.example.com/oauth/done")]
    pub redirect_uri: Option<String>,
    /// Per-account values the provider's URLs need (`connection_config` in
    /// `GET /v2/providers`), e.g. `{"subdomain": "acme"}` for Zendesk; a value that does not
    /// match its pattern is a 422.
    #[serde(default)]
    #[schema(example = json!({"subdomain": "acme"}))]
    pub connection_config: Option<ConnectionConfig>,
}

/// A started connect: send the user's browser to `authorization_url`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectResponse {
    #[schema(value_type = String, example = "authorization_code")]
    pub flow: ConnectFlow,
    /// Ask `GET /v2/users/{user_id}/connect/{connect_id}` how it stands.
    #[schema(example = "con_8Hq2Zk1Lw9TfXbVn3RcYp0Ad")]
    pub connect_id: String,
    /// Send the user's browser here.
    pub authorization_url: String,
    /// The single-use state of this connect (it is in the URL too).
    pub state: String,
    /// The connect must come back before this.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// A started device connect: show the user `user_code` and `verification_uri`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceConnectResponse {
    #[schema(value_type = String, example = "device")]
    pub flow: ConnectFlow,
    #[schema(example = "con_8Hq2Zk1Lw9TfXbVn3RcYp0Ad")]
    pub connect_id: String,
    /// What the user enters at `verification_uri`.
    #[schema(example = "WDJB-MJHT")]
    pub user_code: String,
    /// Where the user enters the code, on any device.
    #[schema(example = "https://github.com/login/device")]
    pub verification_uri: String,
    /// The URL with the code in it, when the provider gives one (none of the built-in ones do).
    pub verification_uri_complete: Option<String>,
    /// The user must approve before this.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Seconds between tokenvault's polls of the provider (it grows on `slow_down`).
    #[schema(example = 5)]
    pub interval: u64,
}

/// A started connect, by flow.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StartedConnect {
    AuthorizationCode(ConnectResponse),
    Device(DeviceConnectResponse),
}

/// Where a connect stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectStatusResponse {
    pub connect_id: String,
    pub flow: ConnectFlow,
    /// `pending` until the user finishes; `connected` (the credential is stored), `denied`,
    /// `expired` (not finished in time) or `failed` (see `error`).
    pub status: ConnectStatus,
    /// Where the credential is (or will be) stored.
    pub integration_key: String,
    #[schema(example = "github")]
    pub provider: String,
    /// Why it did not connect: an OAuth error code (`access_denied`, `expired_token`, …) or
    /// tokenvault's (`exchange_failed`, `issuer_mismatch`, …).
    pub error: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Path of one connect.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectPath {
    /// The user.
    pub user_id: String,
    /// `connect_id` from the start.
    pub connect_id: String,
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

/// Start connecting a user's account at a provider.
///
/// Flow `authorization_code` (OAuth authorization code with PKCE) answers the provider's
/// authorization URL: send the user's browser there. After consent the provider sends the
/// browser to `/v2/oauth/callback`, which stores the credential and sends it on to
/// `redirect_uri`. Flow `device` (RFC 8628) answers a user code and where to enter it;
/// tokenvault polls the provider until the user approves and then stores the credential. Either
/// way, `GET …/connect/{connect_id}` tells how it stands.
#[utoipa::path(
    operation_id = "startConnect",
    tag = "connect",
    params(UserPath),
    request_body = ConnectRequest,
    responses(
        (status = 201, description = "Started (authorization code: valid ten minutes, once; device: until expires_at)", body = StartedConnect),
        (status = 400, description = "Malformed body, invalid user id or integration key", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "Unknown provider, a provider without connect (or without a device endpoint), no platform OAuth client configured (names the variables), or a redirect_uri outside TOKENVAULT_REDIRECT_ALLOWLIST", body = ErrorBody),
        (status = 503, description = "The provider's device authorization endpoint did not answer (`refresh_unavailable`, with Retry-After when known), or the database is unavailable", body = ErrorBody),
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
    let flow = request.flow;
    let start = StartRequest {
        provider: request.provider,
        integration_key: request.integration_key,
        scopes: request.scopes,
        redirect_uri: request.redirect_uri,
        connection_config: request.connection_config.unwrap_or_default(),
    };
    let connect = &state.connect;
    let started = match flow {
        ConnectFlow::AuthorizationCode => {
            let started = connect.start(&caller.tenant, &user_id, start).await?;
            StartedConnect::AuthorizationCode(ConnectResponse {
                flow,
                connect_id: started.connect_id,
                authorization_url: started.authorization_url,
                state: started.state.into_inner(),
                expires_at: timestamp(started.expires_at),
            })
        }
        ConnectFlow::Device => {
            let started = connect
                .start_device(&caller.tenant, &user_id, start)
                .await?;
            StartedConnect::Device(DeviceConnectResponse {
                flow,
                connect_id: started.connect_id,
                user_code: started.user_code,
                verification_uri: started.verification_uri,
                verification_uri_complete: started.verification_uri_complete,
                expires_at: timestamp(started.expires_at),
                interval: started.interval,
            })
        }
        ConnectFlow::Form => {
            return Err(ApiError::Unprocessable(
                "flow form is the hosted connect page's: make a connect session \
                 (POST /v2/connect-sessions)"
                    .into(),
            ));
        }
    };
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(started))
}

/// How a connect stands (either flow).
#[utoipa::path(
    operation_id = "getConnect",
    tag = "connect",
    params(ConnectPath),
    responses(
        (status = 200, description = "The connect's status", body = ConnectStatusResponse),
        (status = 400, description = "Invalid user id", body = ErrorBody),
        (status = 404, description = "No such connect for this user (or it finished more than a day ago)", body = ErrorBody),
        (status = 503, description = "The database is unavailable (`database_unavailable`)", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[get("/v2/users/{user_id}/connect/{connect_id}")]
pub async fn status(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<ConnectPath>,
) -> Result<HttpResponse, ApiError> {
    let ConnectPath {
        user_id,
        connect_id,
    } = path.into_inner();
    let user_id = UserPath { user_id }.authorize(&caller, Scope::TokensRead)?;
    let view = state
        .connect
        .status(&caller.tenant, &user_id, &connect_id)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(ConnectStatusResponse {
            connect_id: view.connect_id,
            flow: view.flow,
            status: view.status,
            integration_key: view.integration_key,
            provider: view.provider,
            error: view.error,
            expires_at: timestamp(view.expires_at),
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
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let params = CallbackParams {
        code: query.code.map(Secret::new),
        state: query.state.map(Secret::new),
        error: query.error,
        iss: query.iss,
        query: callback_extras(request.query_string()),
    };
    let location = state.connect.callback(params).await?;
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, location))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish())
}

/// The callback's other query parameters (a provider's `realmId`), bounded; the code and state
/// are left out so they are never kept beside the extras.
fn callback_extras(query: &str) -> BTreeMap<String, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(name, value)| {
            !matches!(name.as_str(), "code" | "state") && name.len() <= 64 && value.len() <= 512
        })
        .take(32)
        .collect()
}
