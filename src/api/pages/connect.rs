//! The hosted connect page: `GET /connect/{token}` lists what the link offers, `POST` starts an
//! OAuth (or device) connect or stores a typed API key or password, `GET …/done` ends it: a
//! redirect to the app, the popup's hand-back to its opener, or a page of its own.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{Fields, html, see_other};
use crate::connect::landing;
use crate::connect::sessions::{FormSecret, Hosted, HostedStart, Outcome, by_form};
use crate::credentials::{Error, Inconsistency};
use crate::db::web::ConnectSessionRow;
use crate::model::{ConnectStatus, TokenType};
use crate::providers::Provider;
use crate::providers::config::ConnectionConfig;
use crate::secret::{Secret, random_base62};
use crate::state::AppState;
use crate::web::connect::{self as pages, CONNECTED, Card, FAILED, Method, PopupMessage};
use crate::web::layout::message;
use crate::web::session::{csrf_ok, csrf_token};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/connect/{token}", web::get().to(show))
        .route("/connect/{token}", web::post().to(submit))
        .route("/connect/{token}/done", web::get().to(done))
        .route("/connect/sessions/{id}/done", web::get().to(done_by_id));
}

/// How the page connects `provider`: OAuth when it can (a client is configured), else a form.
fn method_of(provider: &Provider, client: bool) -> Method {
    let oauth = (provider.supports_connect() || provider.supports_device()) && client;
    match by_form(provider) {
        Some(TokenType::ApiKey) if !oauth => Method::ApiKey {
            hint: provider.key_hint.clone(),
        },
        Some(TokenType::Basic) if !oauth => Method::Basic,
        _ => Method::OAuth,
    }
}

/// The live session of a link, or the page to answer instead.
async fn live(state: &AppState, token: &str) -> Result<ConnectSessionRow, HttpResponse> {
    answer(state.connect.hosted(token).await).map_err(|page| *page)
}

/// A session found (by token or id), or the page to answer instead.
fn answer(found: Result<Hosted, Error>) -> Result<ConnectSessionRow, Box<HttpResponse>> {
    match found {
        Ok(Hosted::Live(session)) => Ok(*session),
        Ok(Hosted::Expired) => Err(Box::new(html(
            StatusCode::GONE,
            message(
                "This link has expired",
                "Ask the app that sent it for a new one.",
            ),
        ))),
        Ok(Hosted::Unknown) => Err(Box::new(html(
            StatusCode::NOT_FOUND,
            message(
                "Unknown link",
                "This connect link does not exist. Check that it was copied whole.",
            ),
        ))),
        Err(error) => Err(Box::new(failure(&error))),
    }
}

/// A page for a domain error: its message (never a secret), with its status.
fn failure(error: &Error) -> HttpResponse {
    let (status, title) = match error {
        Error::Invalid(_) | Error::Unprocessable(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Not connected")
        }
        Error::Unavailable { .. } | Error::Database(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
    };
    let text = match error {
        Error::Internal(_) => "tokenvault could not finish this. Try again later.".to_string(),
        Error::Database(_) => "tokenvault's database is unavailable.".to_string(),
        other => other.to_string(),
    };
    html(status, message(title, &text))
}

/// The cookie that ties a link's forms to the browser that opened it: a page posted from
/// elsewhere (another site submitting a form with its own link) has no CSRF token that fits.
const BROWSER_COOKIE: &str = "tv_connect";

/// The browser's `tv_connect` value, when it has a well-formed one.
fn browser_of(req: &HttpRequest) -> Option<String> {
    let value = req.cookie(BROWSER_COOKIE)?.value().to_string();
    (value.len() == 32 && value.chars().all(|c| c.is_ascii_alphanumeric())).then_some(value)
}

/// What a link's CSRF token is derived from: its token and the browser's cookie.
fn form_key(token: &str, browser: &str) -> String {
    format!("{token}:{browser}")
}

fn render(
    state: &AppState,
    session: &ConnectSessionRow,
    (token, browser): (&str, &str),
    notice: Option<&str>,
) -> maud::Markup {
    let cards: Vec<Card> = state
        .connect
        .offered(session)
        .iter()
        .map(|(p, client)| Card::new(p, *client, method_of(p, *client)))
        .collect();
    let action = format!("/connect/{token}");
    let csrf = csrf_token(&form_key(token, browser));
    pages::page_of(&action, &csrf, &cards, notice)
}

async fn show(
    state: web::Data<AppState>,
    token: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let session = match live(&state, &token).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let browser = match browser_of(&req).map_or_else(|| random_base62(32), Ok) {
        Ok(browser) => browser,
        Err(_) => return failure(&Error::internal(Inconsistency("no randomness".into()))),
    };
    let page = render(&state, &session, (&token, &browser), None);
    let mut response = html(StatusCode::OK, page);
    let cookie = super::cookie(&state, (BROWSER_COOKIE, "/connect"), browser);
    let _ = response.add_cookie(&cookie);
    response
}

async fn submit(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<Fields>,
    req: HttpRequest,
) -> HttpResponse {
    let session = match live(&state, &token).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let browser = browser_of(&req).unwrap_or_default();
    if browser.is_empty() || !csrf_ok(&form_key(&token, &browser), form.get("_csrf")) {
        return html(
            StatusCode::FORBIDDEN,
            message("The form has expired", "Reload the page and try again."),
        );
    }
    let provider = form.get("provider").unwrap_or_default().to_string();
    let config: ConnectionConfig = form
        .0
        .0
        .iter()
        .filter_map(|(name, value)| {
            let field = name.strip_prefix("config.")?;
            let value = value.trim();
            (!value.is_empty()).then(|| (field.to_string(), value.to_string()))
        })
        .collect();
    let offered = state.connect.offered(&session);
    let Some((entry, client)) = offered.iter().find(|(p, _)| p.key == provider) else {
        let notice = "This link does not offer that provider.";
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&state, &session, (&token, &browser), Some(notice)),
        );
    };
    let method = method_of(entry, *client);
    if method == Method::OAuth {
        let started = state
            .connect
            .start_hosted(&session, &provider, config)
            .await;
        return match started {
            Ok(HostedStart::Redirect(url)) => see_other(&url),
            Ok(HostedStart::Device(device)) => html(
                StatusCode::OK,
                pages::device_page(
                    &device.user_code,
                    &device.verification_uri,
                    &format!("/connect/{}/done", token.as_str()),
                ),
            ),
            Err(error) => failure(&error),
        };
    }
    let stored = match form_secret(&method, &form) {
        Ok(secret) => {
            let store = state
                .connect
                .store_hosted(&session, &provider, secret, config);
            store.await
        }
        Err(notice) => Err(Error::Invalid(notice.into())),
    };
    match stored {
        Ok(()) => see_other(&format!("/connect/{}/done", token.as_str())),
        Err(Error::Invalid(text) | Error::Unprocessable(text)) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&state, &session, (&token, &browser), Some(&text)),
        ),
        Err(error) => failure(&error),
    }
}

/// The secret a provider's form sent, or what is missing.
fn form_secret(method: &Method, form: &Fields) -> Result<FormSecret, &'static str> {
    match method {
        Method::OAuth => Err("This provider is connected through its own page."),
        Method::ApiKey { .. } => match form.get("api_key") {
            Some(key) => Ok(FormSecret::ApiKey(Secret::new(key.to_string()))),
            None => Err("Enter the API key."),
        },
        Method::Basic => match (form.get("username"), form.raw("password")) {
            (Some(username), Some(password)) => Ok(FormSecret::Basic {
                username: username.to_string(),
                password: Secret::new(password.to_string()),
            }),
            _ => Err("Enter the username and the password."),
        },
    }
}

/// The end of a form or a device connect (the browser holds the link).
async fn done(state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    match live(&state, &token).await {
        Ok(session) => {
            let here = format!("/connect/{}/done", token.as_str());
            let page = format!("/connect/{}", token.as_str());
            ended(&state, &session, (&here, &page)).await
        }
        Err(page) => page,
    }
}

/// The end of an OAuth connect: where the provider's consent sends the browser back (through
/// the callback), by the session's id.
async fn done_by_id(state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    match answer(state.connect.hosted_by_id(&id).await) {
        Ok(session) => {
            let here = format!("/connect/sessions/{}/done", session.id);
            ended(&state, &session, (&here, &here)).await
        }
        Err(page) => *page,
    }
}

/// How the session's last connect ended; a pending one is checked again at `here`, none at
/// all goes back to `start`.
async fn ended(
    state: &AppState,
    session: &ConnectSessionRow,
    (here, start): (&str, &str),
) -> HttpResponse {
    let outcome = match state.connect.outcome(session).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) if here != start => return see_other(start),
        Ok(None) => {
            let text = "Nothing was connected through this link yet.";
            return html(StatusCode::OK, message("Not connected", text));
        }
        Err(error) => return failure(&error),
    };
    if outcome.status == ConnectStatus::Pending {
        return html(StatusCode::OK, pages::pending_page(here));
    }
    finish(state, session, outcome)
}

/// The end of a connect: to the app, to the opener, or a page of its own.
fn finish(state: &AppState, session: &ConnectSessionRow, outcome: Outcome) -> HttpResponse {
    let connected = outcome.status == ConnectStatus::Connected;
    let error = (!connected).then(|| {
        outcome
            .error
            .clone()
            .unwrap_or_else(|| outcome.status.as_str().to_string())
    });
    if session.popup {
        let message = PopupMessage {
            kind: if connected { CONNECTED } else { FAILED },
            provider: outcome.provider,
            integration_key: outcome.integration_key,
            error,
        };
        let origins = allowed_origins(&state.config.redirect_allowlist);
        return html(StatusCode::OK, pages::popup_done(&message, &origins));
    }
    if let Some(uri) = &session.redirect_uri {
        let params: Vec<(&str, &str)> = match &error {
            None => vec![
                ("status", "connected"),
                ("integration_key", &outcome.integration_key),
            ],
            Some(code) => vec![("status", "error"), ("error", code)],
        };
        return see_other(&landing(uri, &params));
    }
    let text = match &error {
        None => format!(
            "{} is connected. You can close this window.",
            outcome.provider
        ),
        Some(code) => format!("{} was not connected ({code}).", outcome.provider),
    };
    let title = if connected {
        "Connected"
    } else {
        "Not connected"
    };
    html(StatusCode::OK, message(title, &text))
}

/// The origins of the redirect allow-list: where a popup may post its result.
fn allowed_origins(allowlist: &[String]) -> Vec<String> {
    let mut origins: Vec<String> = allowlist
        .iter()
        .filter_map(|prefix| url::Url::parse(prefix).ok())
        .map(|url| url.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .collect();
    origins.dedup();
    origins
}
