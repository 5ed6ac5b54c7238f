//! The console: sign-in with an admin API key, then a tenant's users and their connections,
//! webhooks and their deliveries, API keys and providers. Every form posts a CSRF token; a
//! request without a live session goes to the sign-in page.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{Fields, ListQuery, html, see_other};
use crate::api::extract::attempt_of;
use crate::auth::AuthError;
use crate::auth::keys::KeyRequest;
use crate::connect::sessions::SessionRequest;
use crate::credentials::Error;
use crate::model::CredentialKey;
use crate::secret::random_base62;
use crate::state::AppState;
use crate::web::console::{self as pages, Nav, NewLink, Notice, PAGE_SIZE, Pager, encode};
use crate::web::layout::message;
use crate::web::session::{COOKIE, SIGNIN_COOKIE, SessionError, Sessions, SignedIn, csrf_ok};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console",
        web::get().to(|| async { see_other("/console/users") }),
    )
    .route("/console/signin", web::get().to(signin_page))
    .route("/console/signin", web::post().to(signin))
    .route("/console/signout", web::post().to(signout))
    .route("/console/users", web::get().to(users))
    .route("/console/users/{user}", web::get().to(connections))
    .route(
        "/console/users/{user}/connections/{key}/events",
        web::get().to(events),
    )
    .route(
        "/console/users/{user}/connections/{key}/delete",
        web::post().to(delete),
    )
    .route(
        "/console/users/{user}/connections/{key}/reconnect",
        web::post().to(reconnect),
    )
    .route("/console/webhooks", web::get().to(webhooks))
    .route("/console/webhooks/{id}", web::get().to(deliveries))
    .route(
        "/console/webhooks/{id}/deliveries/{message}/retry",
        web::post().to(retry),
    )
    .route("/console/keys", web::get().to(keys))
    .route("/console/keys", web::post().to(create_key))
    .route("/console/keys/{id}/revoke", web::post().to(revoke_key))
    .route("/console/providers", web::get().to(providers));
}

fn sessions(state: &AppState) -> Sessions {
    Sessions::new(state.db.clone(), state.clock.clone())
}

/// A cookie of the console.
fn cookie<'a>(state: &AppState, name: &'a str, value: String) -> Cookie<'a> {
    super::cookie(state, (name, "/console"), value)
}

/// The signed-in console of a request, or the answer instead (to the sign-in page; a 403 when
/// a form came without its CSRF token).
async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    form: Option<&Fields>,
) -> Result<SignedIn, HttpResponse> {
    let id = req.cookie(COOKIE).map(|c| c.value().to_string());
    let signed = match id {
        Some(id) => sessions(state).check(&id).await,
        None => Ok(None),
    };
    let signed = match signed {
        Ok(Some(signed)) => signed,
        Ok(None) => return Err(see_other("/console/signin")),
        Err(_) => return Err(unavailable()),
    };
    if let Some(form) = form {
        let id = req.cookie(COOKIE).map(|c| c.value().to_string());
        if !csrf_ok(id.as_deref().unwrap_or_default(), form.get("_csrf")) {
            return Err(csrf_refused());
        }
    }
    Ok(signed)
}

fn csrf_refused() -> HttpResponse {
    html(
        StatusCode::FORBIDDEN,
        message(
            "Refused: the form's token is missing or wrong",
            "Go back, reload the page and send the form again.",
        ),
    )
}

fn unavailable() -> HttpResponse {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        message(
            "Try again in a moment",
            "tokenvault's database is unavailable.",
        ),
    )
}

fn nav(signed: &SignedIn) -> Nav<'_> {
    Nav {
        tenant: &signed.caller.tenant,
        csrf: &signed.csrf,
    }
}

/// A domain error as a notice on the page it happened on; `None` when the database is down
/// (a page of its own).
fn notice_of(error: &Error) -> Option<String> {
    match error {
        Error::Invalid(text) | Error::Unprocessable(text) => Some(text.clone()),
        Error::NotFound => Some("Not found (it may have been deleted already).".into()),
        Error::Database(_) => None,
        other => Some(other.to_string()),
    }
}

async fn signin_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let existing = req.cookie(SIGNIN_COOKIE).map(|c| c.value().to_string());
    let value = match existing.filter(|v| v.len() == 32) {
        Some(value) => value,
        None => match random_base62(32) {
            Ok(value) => value,
            Err(_) => return unavailable(),
        },
    };
    let csrf = crate::web::session::csrf_token(&value);
    let mut response = html(StatusCode::OK, pages::signin(&csrf, None));
    let _ = response.add_cookie(&cookie(&state, SIGNIN_COOKIE, value));
    response
}

async fn signin(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let pre = req.cookie(SIGNIN_COOKIE).map(|c| c.value().to_string());
    let pre = pre.unwrap_or_default();
    if pre.is_empty() || !csrf_ok(&pre, form.get("_csrf")) {
        return csrf_refused();
    }
    let csrf = crate::web::session::csrf_token(&pre);
    let refuse = |status, text: &str| html(status, pages::signin(&csrf, Some((false, text))));
    let attempt = attempt_of(&req, &state);
    let presented = form.get("api_key").unwrap_or_default();
    match sessions(&state).sign_in(&attempt, presented).await {
        Ok(id) => {
            let mut response = see_other("/console/users");
            let _ = response.add_cookie(&cookie(&state, COOKIE, id.into_inner()));
            response
        }
        Err(SessionError::NotAdmin) => {
            refuse(StatusCode::FORBIDDEN, &SessionError::NotAdmin.to_string())
        }
        Err(SessionError::Auth(AuthError::Throttled { retry_after })) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed sign-ins from this address; retry in {retry_after}s."),
        ),
        Err(SessionError::Auth(AuthError::Unauthorized(text))) => {
            refuse(StatusCode::UNAUTHORIZED, &text)
        }
        Err(_) => unavailable(),
    }
}

async fn signout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    if let Err(page) = signed_in(&state, &req, Some(&form)).await {
        return page;
    }
    if let Some(id) = req.cookie(COOKIE)
        && sessions(&state).sign_out(id.value()).await.is_err()
    {
        return unavailable();
    }
    let mut response = see_other("/console/signin");
    let mut gone = cookie(&state, COOKIE, String::new());
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}

async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, None).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let page = query.page();
    let prefix = query.q.as_deref().unwrap_or_default().trim().to_string();
    let size = i64::try_from(PAGE_SIZE).unwrap_or(25);
    let offset = i64::try_from(page.saturating_sub(1))
        .unwrap_or(0)
        .saturating_mul(size);
    let tenant = &signed.caller.tenant;
    let rows = match state
        .credentials
        .users(tenant, &prefix, (offset, size + 1))
        .await
    {
        Ok(rows) => rows,
        Err(_) => return unavailable(),
    };
    let base = format!("/console/users?q={}&", encode(&prefix));
    let has_next = rows.len() > PAGE_SIZE;
    let rows: Vec<_> = rows.into_iter().take(PAGE_SIZE).collect();
    let pager = Pager {
        page,
        has_next,
        base,
    };
    html(
        StatusCode::OK,
        pages::users(nav(&signed), &prefix, &rows, &pager),
    )
}

/// The user's page, with a notice or a new link.
async fn user_page(
    state: &AppState,
    signed: &SignedIn,
    user: &str,
    (notice, link): (Notice<'_>, Option<&NewLink>),
) -> HttpResponse {
    let rows = match state.credentials.list(&signed.caller.tenant, user).await {
        Ok(rows) => rows,
        Err(_) => return unavailable(),
    };
    let markup = pages::connections(nav(signed), user, &rows, notice, link);
    html(StatusCode::OK, markup)
}

async fn connections(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: web::Path<String>,
) -> HttpResponse {
    match signed_in(&state, &req, None).await {
        Ok(signed) => user_page(&state, &signed, &user, (None, None)).await,
        Err(page) => page,
    }
}

async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, None).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let (user, integration) = path.into_inner();
    let Ok(key) = CredentialKey::parse(&signed.caller.tenant, &user, &integration) else {
        return html(
            StatusCode::NOT_FOUND,
            message("Not found", "No such connection."),
        );
    };
    let page = query.page();
    let limit = i64::try_from(page.saturating_mul(PAGE_SIZE).saturating_add(1)).unwrap_or(500);
    let rows = match state.credentials.events(&key, limit.min(500)).await {
        Ok(rows) => rows,
        Err(_) => return unavailable(),
    };
    let base = format!(
        "/console/users/{}/connections/{}/events?",
        encode(&user),
        encode(&integration)
    );
    let (rows, pager) = Pager::slice(rows, page, base);
    let markup = pages::events(nav(&signed), &user, &integration, &rows, &pager);
    html(StatusCode::OK, markup)
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, Some(&form)).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let (user, integration) = path.into_inner();
    let result = match CredentialKey::parse(&signed.caller.tenant, &user, &integration) {
        Ok(key) => state.credentials.delete(&key, true).await.map(|_| ()),
        Err(text) => Err(Error::Invalid(text)),
    };
    let text = match result {
        Ok(()) => format!("Deleted {integration} (revoked at the provider where it can be)."),
        Err(error) => match notice_of(&error) {
            Some(text) => text,
            None => return unavailable(),
        },
    };
    let good = text.starts_with("Deleted");
    tracing::info!(user_id = %user, integration_key = %integration, key_id = %signed.caller.key_id, "console delete");
    user_page(&state, &signed, &user, (Some((good, &text)), None)).await
}

async fn reconnect(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, Some(&form)).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let (user, integration) = path.into_inner();
    let tenant = &signed.caller.tenant;
    let provider = match CredentialKey::parse(tenant, &user, &integration) {
        Ok(key) => state.credentials.load(&key).await.map(|c| c.row.provider),
        Err(text) => Err(Error::Invalid(text)),
    };
    let request = |provider: String| SessionRequest {
        user_id: user.clone(),
        providers: Some(vec![provider]),
        ..SessionRequest::default()
    };
    let created = match provider {
        Ok(provider) => {
            state
                .connect
                .create_session(tenant, request(provider))
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(created) => {
            let link = NewLink {
                url: created.url.into_inner(),
                expires_at: created.expires_at,
            };
            user_page(&state, &signed, &user, (None, Some(&link))).await
        }
        Err(error) => match notice_of(&error) {
            Some(text) => user_page(&state, &signed, &user, (Some((false, &text)), None)).await,
            None => unavailable(),
        },
    }
}

async fn webhooks(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let signed = match signed_in(&state, &req, None).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    match state.webhooks.list(&signed.caller.tenant).await {
        Ok(rows) => html(StatusCode::OK, pages::webhooks(nav(&signed), &rows)),
        Err(_) => unavailable(),
    }
}

/// An endpoint's deliveries page, with a notice.
async fn deliveries_page(
    state: &AppState,
    signed: &SignedIn,
    id: &str,
    (page, notice): (usize, Notice<'_>),
) -> HttpResponse {
    let tenant = &signed.caller.tenant;
    let Ok(webhook) = state.webhooks.find(tenant, id).await else {
        return html(
            StatusCode::NOT_FOUND,
            message("Not found", "No such webhook."),
        );
    };
    let limit = i64::try_from(page.saturating_mul(PAGE_SIZE).saturating_add(1)).unwrap_or(500);
    let Ok(rows) = state.webhooks.deliveries(tenant, id, limit.min(500)).await else {
        return unavailable();
    };
    let base = format!("/console/webhooks/{}?", encode(id));
    let (rows, pager) = Pager::slice(rows, page, base);
    let markup = pages::deliveries(nav(signed), &webhook, &rows, &pager, notice);
    html(StatusCode::OK, markup)
}

async fn deliveries(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    match signed_in(&state, &req, None).await {
        Ok(signed) => deliveries_page(&state, &signed, &id, (query.page(), None)).await,
        Err(page) => page,
    }
}

async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, Some(&form)).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let (id, message_id) = path.into_inner();
    let now_ms = state.clock.now_millis();
    let tenant = &signed.caller.tenant;
    let notice = match state
        .webhooks
        .retry(tenant, (&id, &message_id), now_ms)
        .await
    {
        Ok(()) => (true, format!("{message_id} will be sent again now.")),
        Err(error) => (false, error.to_string()),
    };
    let notice = Some((notice.0, notice.1.as_str()));
    deliveries_page(&state, &signed, &id, (1, notice)).await
}

/// The keys page, with a new key or a notice.
async fn keys_page(
    state: &AppState,
    signed: &SignedIn,
    (page, notice): (usize, Notice<'_>),
    created: Option<&crate::auth::keys::CreatedApiKey>,
) -> HttpResponse {
    let Ok(rows) = state.keys.list(&signed.caller).await else {
        return unavailable();
    };
    let (rows, pager) = Pager::slice(rows, page, "/console/keys?".into());
    html(
        StatusCode::OK,
        pages::keys(nav(signed), &rows, created, &pager, notice),
    )
}

async fn keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    match signed_in(&state, &req, None).await {
        Ok(signed) => keys_page(&state, &signed, (query.page(), None), None).await,
        Err(page) => page,
    }
}

async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Fields>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, Some(&form)).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let request = KeyRequest {
        name: form.get("name").unwrap_or_default().to_string(),
        scopes: Some(form.all("scope")),
        user_id: form.get("user_id").map(str::to_string),
        expires_in: None,
        expires_at: None,
    };
    match state.keys.create(&signed.caller, request).await {
        Ok(created) => {
            tracing::info!(key_id = %created.info.id, created_by = %signed.caller.key_id, "API key created in the console");
            keys_page(&state, &signed, (1, None), Some(&created)).await
        }
        Err(AuthError::Database(_)) => unavailable(),
        Err(error) => {
            let text = error.to_string();
            keys_page(&state, &signed, (1, Some((false, &text))), None).await
        }
    }
}

async fn revoke_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, Some(&form)).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let text = match state.keys.revoke(&signed.caller, &id).await {
        Ok(info) if info.id == signed.caller.key_id => return see_other("/console/signin"),
        Ok(info) => format!("Revoked the key {}.", info.name),
        Err(AuthError::Database(_)) => return unavailable(),
        Err(error) => error.to_string(),
    };
    let good = text.starts_with("Revoked");
    keys_page(&state, &signed, (1, Some((good, &text))), None).await
}

async fn providers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match signed_in(&state, &req, None).await {
        Ok(signed) => signed,
        Err(page) => return page,
    };
    let rows = state.registry.listing(&signed.caller.tenant);
    let (rows, pager) = Pager::slice(rows, query.page(), "/console/providers?".into());
    html(
        StatusCode::OK,
        pages::providers(nav(&signed), &rows, &pager),
    )
}
