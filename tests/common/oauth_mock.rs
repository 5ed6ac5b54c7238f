//! A local OAuth provider for tests: a token endpoint and a revocation endpoint that answer as
//! real providers do (quirks included), count their calls and record what they were sent.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// How the token endpoint answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// JSON success with a new access token `ya29.NEW-<n>`; a rotated refresh token
    /// `1//ROTATED-<n>` when `rotate`.
    Success {
        rotate: bool,
        expires_in: Option<u64>,
    },
    /// GitHub without `Accept: application/json`: form-encoded success.
    FormSuccess,
    /// GitHub's failure: HTTP 200, form-encoded `error=…`.
    FormError(&'static str),
    /// Slack: HTTP 200 with `{"ok": false, "error": …}`.
    SlackError(&'static str),
    /// RFC 6749 error: `{"error": …}` with this status.
    OAuthError(u16, &'static str),
    /// A bare status with an HTML body.
    Status(u16),
    /// 429 with `Retry-After`.
    RateLimited(u64),
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// A provider that rotates on every refresh and rejects a superseded refresh token with
    /// `invalid_grant` (OAuth 2.1's reuse detection): each token it has not seen before, or has
    /// issued, works once; `superseded_sent()` counts the dead ones it was sent.
    Rotating,
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub body: String,
}

struct MockState {
    token_calls: AtomicUsize,
    revoke_calls: AtomicUsize,
    reply: Mutex<Reply>,
    delay: Mutex<Duration>,
    revoke_status: Mutex<u16>,
    requests: Mutex<Vec<Recorded>>,
    /// Refresh tokens already used (`Reply::Rotating`).
    used_refresh_tokens: Mutex<std::collections::HashSet<String>>,
    superseded_sent: AtomicUsize,
}

pub struct MockProvider {
    pub url: String,
    state: Arc<MockState>,
    server: actix_web::dev::ServerHandle,
}

impl MockProvider {
    /// Starts the mock on a free port; it answers `Reply::Success` until told otherwise.
    pub async fn start() -> MockProvider {
        let state = Arc::new(MockState {
            token_calls: AtomicUsize::new(0),
            revoke_calls: AtomicUsize::new(0),
            reply: Mutex::new(Reply::Success {
                rotate: false,
                expires_in: Some(3600),
            }),
            delay: Mutex::new(Duration::ZERO),
            revoke_status: Mutex::new(200),
            requests: Mutex::new(Vec::new()),
            used_refresh_tokens: Mutex::default(),
            superseded_sent: AtomicUsize::new(0),
        });
        let data = web::Data::from(state.clone());
        let (addr, handle) = super::local_server("127.0.0.1:0", 2, move |cfg| {
            cfg.app_data(data.clone())
                .route("/token", web::post().to(token))
                .route("/revoke", web::to(revoke));
        });
        let url = format!("http://{addr}");
        MockProvider {
            url,
            state,
            server: handle,
        }
    }

    pub fn reply(&self, reply: Reply) {
        *self.state.reply.lock().unwrap() = reply;
    }

    /// Answers the token endpoint only after `delay` (longer than the refresh timeout: a hang).
    pub fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    pub fn revoke_status(&self, status: u16) {
        *self.state.revoke_status.lock().unwrap() = status;
    }

    pub fn token_calls(&self) -> usize {
        self.state.token_calls.load(Ordering::SeqCst)
    }

    /// Superseded refresh tokens sent to it (`Reply::Rotating`).
    pub fn superseded_sent(&self) -> usize {
        self.state.superseded_sent.load(Ordering::SeqCst)
    }

    pub fn revoke_calls(&self) -> usize {
        self.state.revoke_calls.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn last_request(&self) -> Recorded {
        self.requests()
            .last()
            .cloned()
            .expect("the mock was never called")
    }

    /// A `PROVIDERS_FILE` pointing every OAuth2 provider's endpoints at this mock.
    pub fn providers_toml(&self) -> String {
        [
            "google",
            "slack",
            "github",
            "microsoft",
            "zoom",
            "dropbox",
            "notion",
        ]
        .iter()
        .map(|p| {
            let revoke = if *p == "microsoft" {
                String::new()
            } else {
                format!("[{p}.revoke]\nurl = \"{}/revoke\"\n", self.url)
            };
            format!("[{p}]\ntoken_url = \"{}/token\"\n{revoke}", self.url)
        })
        .collect()
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        let server = self.server.clone();
        drop(server.stop(false));
    }
}

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

fn record(state: &MockState, req: &HttpRequest, body: &web::Bytes) {
    state.requests.lock().unwrap().push(Recorded {
        method: req.method().to_string(),
        path: req.path().to_string(),
        authorization: header(req, "authorization"),
        content_type: header(req, "content-type"),
        accept: header(req, "accept"),
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<MockState>) -> HttpResponse {
    let n = state.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    record(&state, &req, &body);
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let reply = state.reply.lock().unwrap().clone();
    match reply {
        Reply::Success { rotate, expires_in } => {
            let mut body = json!({"access_token": format!("ya29.NEW-{n}"), "token_type": "Bearer",
                                  "scope": "https://www.googleapis.com/auth/calendar email"});
            if let Some(secs) = expires_in {
                body["expires_in"] = json!(secs);
            }
            if rotate {
                body["refresh_token"] = json!(format!("1//ROTATED-{n}"));
            }
            HttpResponse::Ok().json(body)
        }
        Reply::FormSuccess => HttpResponse::Ok()
            .content_type("application/x-www-form-urlencoded; charset=utf-8")
            .body(format!(
                "access_token=ghu_NEW{n}&expires_in=28800&refresh_token=ghr_ROTATED{n}\
                 &refresh_token_expires_in=15811200&scope=&token_type=bearer"
            )),
        Reply::FormError(error) => HttpResponse::Ok()
            .content_type("application/x-www-form-urlencoded; charset=utf-8")
            .body(format!(
                "error={error}&error_description=The+refresh+token+passed+is+incorrect+or+expired."
            )),
        Reply::SlackError(error) => HttpResponse::Ok().json(json!({"ok": false, "error": error})),
        Reply::OAuthError(status, error) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status).unwrap(),
        )
        .json(json!({"error": error, "error_description": "Token has been expired or revoked."})),
        Reply::Status(status) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                .content_type("text/html")
                .body("<html><body>Server Error</body></html>")
        }
        Reply::RateLimited(secs) => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", secs.to_string()))
            .json(json!({"error": "rate_limited"})),
        Reply::Malformed => HttpResponse::Ok()
            .content_type("application/json")
            .body("{\"access_token\": "),
        Reply::Rotating => rotating_reply(&state, &body, n),
    }
}

/// `Reply::Rotating`: a fresh pair for a refresh token used for the first time, `invalid_grant`
/// for one used before.
fn rotating_reply(state: &MockState, body: &[u8], n: usize) -> HttpResponse {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let sent = form
        .iter()
        .find(|(k, _)| k == "refresh_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if !state.used_refresh_tokens.lock().unwrap().insert(sent) {
        state.superseded_sent.fetch_add(1, Ordering::SeqCst);
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    }
    HttpResponse::Ok().json(json!({"access_token": format!("ya29.ROT-{n}"),
        "refresh_token": format!("1//ROT-{n}"), "token_type": "Bearer", "expires_in": 3600}))
}

async fn revoke(req: HttpRequest, body: web::Bytes, state: web::Data<MockState>) -> HttpResponse {
    state.revoke_calls.fetch_add(1, Ordering::SeqCst);
    record(&state, &req, &body);
    let status = *state.revoke_status.lock().unwrap();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"ok": status == 200}))
}
