//! The HTTP side of the pages for people (`web`): the hosted connect page (`/connect/…`,
//! `/connect.js`), the console (`/console/…`) and their static files (`/assets/…`). Handlers
//! read the request, call the domain services the JSON API calls, and answer a template.

pub mod connect;
pub mod console;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::Markup;

use crate::state::AppState;
use crate::web::{PAGE_HEADERS, assets};

/// Registers the pages' routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{name}", web::get().to(asset))
        .route("/connect.js", web::get().to(connect_js));
    connect::configure(cfg);
    console::configure(cfg);
}

/// A page with `status` and the pages' headers.
pub fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    for header in PAGE_HEADERS {
        response.insert_header(header);
    }
    response
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// A cookie of the pages under `path`: HttpOnly, SameSite=Strict, Secure when served over https.
pub fn cookie<'a>(state: &AppState, (name, path): (&'a str, &'a str), value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.public_url.starts_with("https://"))
        .finish()
}

/// 303 to `location` (after a form, or to the sign-in page).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish()
}

fn static_file(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match assets::asset(&name) {
        Some((body, content_type)) => static_file(body, content_type),
        None => html(
            StatusCode::NOT_FOUND,
            crate::web::layout::message("Not found", "There is no such file."),
        ),
    }
}

/// `tokenvault.connect(url)` for an app's pages: served to any origin (it is a script the
/// app's page loads).
async fn connect_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(assets::CONNECT_JS)
}

/// The form fields a page posted (repeated names kept in order).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed, when not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` as typed (a password or key: spaces are its own), when not
    /// empty.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

/// `?page=` of a list (1 when absent or nonsense), and the other query parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    pub page: Option<String>,
    pub q: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> usize {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| (1..=10_000).contains(p))
            .unwrap_or(1)
    }
}
