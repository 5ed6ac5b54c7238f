//! Connect sessions over HTTP: `POST /v2/connect-sessions` makes a link to tokenvault's hosted
//! connect page for one user; `GET /v2/connect-sessions/{id}` tells what was connected through
//! it. The page itself is `web::connect`.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{AuthErrors, NO_STORE, timestamp};
use crate::auth::Caller;
use crate::connect::sessions::SessionRequest;
use crate::credentials::Error as CredentialError;
use crate::db::connects::ConnectRow;
use crate::error::{ApiError, ErrorBody};
use crate::model::{Scope, check_user_id};
use crate::state::AppState;

/// Body of `POST /v2/connect-sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectSessionRequest {
    /// The user whose accounts the page connects.
    #[schema(example = "user-42", min_length = 1, max_length = 255)]
    pub user_id: String,
    /// The providers the page offers (default: every provider this tenant can connect: OAuth
    /// ones with a client, API-key and basic ones).
    #[schema(example = json!(["github", "openai"]))]
    pub providers: Option<Vec<String>>,
    /// Where the browser goes afterwards, with `status=connected&integration_key=…` or
    /// `status=error&error=…`; must start with a prefix of `TOKENVAULT_REDIRECT_ALLOWLIST`.
    /// Without it (and without `popup`) the page ends on tokenvault's own "done" page.
    #[schema(example = "https://app.example.com/connected")]
    pub redirect_uri: Option<String>,
    /// The page is opened by `tokenvault.connect(url)` (`/connect.js`): it ends by posting
    /// `{type: "tokenvault:connected" | "tokenvault:error", integration_key, provider}` to its
    /// opener (only to origins of `TOKENVAULT_REDIRECT_ALLOWLIST`) and closing.
    #[serde(default)]
    pub popup: bool,
    /// Seconds the link works: 60 to 86400, default 1800.
    #[schema(example = 1800, minimum = 60, maximum = 86400)]
    pub expires_in: Option<u64>,
}

/// A made link.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectSessionCreated {
    #[schema(example = "cs_8Hq2Zk1Lw9TfXbVn3RcYp0Ad")]
    pub id: String,
    /// Hand this to the user (it is the only copy of the link's token).
    #[schema(example = "https://vault.example.com/connect/3vQb…")]
    pub url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// One connect started through a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionConnect {
    pub connect_id: String,
    /// `authorization_code`, `device` or `form` (an API key or password typed on the page).
    pub flow: String,
    pub provider: String,
    pub integration_key: String,
    /// `pending`, `connected`, `denied`, `expired` or `failed`.
    pub status: String,
    pub error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl SessionConnect {
    fn new(row: ConnectRow) -> SessionConnect {
        SessionConnect {
            connect_id: row.connect_id,
            flow: row.flow,
            provider: row.provider,
            integration_key: row.integration_key,
            status: row.status,
            error: row.error,
            created_at: timestamp(row.created_at),
        }
    }
}

/// A connect session and what was connected through it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectSession {
    pub id: String,
    pub user_id: String,
    /// The allow-list, when the session has one.
    pub providers: Option<Vec<String>>,
    pub redirect_uri: Option<String>,
    pub popup: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// The connects started on the page, oldest first.
    pub connects: Vec<SessionConnect>,
}

/// Make a link to the hosted connect page for a user.
///
/// The page lists the allowed providers, runs the OAuth (or device) flow for OAuth providers
/// and offers a form for API-key and basic providers. The link works until `expires_at`, on
/// any instance, as often as the user needs it.
#[utoipa::path(
    operation_id = "createConnectSession",
    tag = "connect",
    request_body = ConnectSessionRequest,
    responses(
        (status = 201, description = "The link", body = ConnectSessionCreated),
        (status = 400, description = "Malformed body, invalid user id, expires_in out of range, both redirect_uri and popup", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "Unknown provider in providers, or a redirect_uri outside TOKENVAULT_REDIRECT_ALLOWLIST", body = ErrorBody),
        (status = 503, description = "The database is unavailable (`database_unavailable`)", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[post("/v2/connect-sessions")]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<ConnectSessionRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    caller.require_for_user(Scope::TokensWrite, &body.user_id)?;
    check_user_id(&body.user_id).map_err(ApiError::InvalidRequest)?;
    let request = SessionRequest {
        user_id: body.user_id,
        providers: body.providers,
        redirect_uri: body.redirect_uri,
        popup: body.popup,
        expires_in: body.expires_in,
    };
    let created = state
        .connect
        .create_session(&caller.tenant, request)
        .await?;
    tracing::info!(session_id = %created.id, "connect session created");
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(ConnectSessionCreated {
            id: created.id,
            url: created.url.into_inner(),
            expires_at: timestamp(created.expires_at),
        }))
}

/// A connect session and what was connected through it.
#[utoipa::path(
    operation_id = "getConnectSession",
    tag = "connect",
    params(("id" = String, Path, description = "The session's id (cs_…)")),
    responses(
        (status = 200, description = "The session", body = ConnectSession),
        (status = 404, description = "No such session in this tenant (or for this key's user)", body = ErrorBody),
        (status = 503, description = "The database is unavailable (`database_unavailable`)", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[get("/v2/connect-sessions/{id}")]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TokensRead)?;
    let not_found = || ApiError::NotFound("No such connect session".into());
    let view = match state.connect.session(&caller.tenant, &path).await {
        Err(CredentialError::NotFound) => return Err(not_found()),
        other => other?,
    };
    let session = view.session;
    if caller.require_user(&session.user_id).is_err() {
        return Err(not_found());
    }
    let providers = session
        .providers
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(ConnectSession {
            id: session.id,
            user_id: session.user_id,
            providers,
            redirect_uri: session.redirect_uri,
            popup: session.popup,
            created_at: timestamp(session.created_at),
            expires_at: timestamp(session.expires_at),
            connects: view.connects.into_iter().map(SessionConnect::new).collect(),
        }))
}
