//! A local provider API for proxy tests: it records what arrives (headers, path, query, body
//! size) and answers as real APIs do — an echo, a 401 until a renewed token arrives, 429 with
//! `Retry-After`, a redirect to another host, a hang, a large body streamed slowly, cookies.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;

/// One request as the API received it.
#[derive(Clone, Debug)]
pub struct Arrived {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Every header, name lower-case, in arrival order (repeated names repeat).
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
    pub body: Vec<u8>,
}

impl Arrived {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }
}

#[derive(Default)]
struct State {
    arrived: Mutex<Vec<Arrived>>,
    /// The `Authorization` values `/guarded` accepts; anything else is 401.
    accepted: Mutex<Vec<String>>,
    /// The next answers of `/busy` (status, `Retry-After`); 200 after them.
    busy: Mutex<VecDeque<(u16, Option<String>)>>,
    /// `/gated` sends its first chunk, then waits for this before the rest.
    gate: tokio::sync::Notify,
}

pub struct Upstream {
    pub url: String,
    state: Arc<State>,
    server: actix_web::dev::ServerHandle,
}

impl Upstream {
    pub fn start() -> Upstream {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let (addr, server) = super::local_server("127.0.0.1:0", 2, move |cfg| {
            cfg.app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/api/guarded", web::to(guarded))
                .route("/api/busy", web::to(busy))
                .route("/api/redirect", web::to(redirect))
                .route("/api/hang", web::to(hang))
                .route("/api/big", web::get().to(big))
                .route("/api/gated", web::get().to(gated))
                .route("/api/{tail:.*}", web::to(echo));
        });
        Upstream {
            url: format!("http://{addr}/api"),
            state,
            server,
        }
    }

    pub fn arrived(&self) -> Vec<Arrived> {
        self.state.arrived.lock().unwrap().clone()
    }

    pub fn last(&self) -> Arrived {
        self.arrived().last().cloned().expect("nothing arrived")
    }

    /// `/guarded` answers 200 only to these `Authorization` values.
    pub fn accept(&self, authorization: &str) {
        self.state
            .accepted
            .lock()
            .unwrap()
            .push(authorization.to_string());
    }

    /// `/guarded` accepts nothing again.
    pub fn state_reset_accepted(&self) {
        self.state.accepted.lock().unwrap().clear();
    }

    /// Lets `/gated` send the rest of its body.
    pub fn open_gate(&self) {
        self.state.gate.notify_one();
    }

    /// `/busy` answers these first (status, `Retry-After`), then 200.
    pub fn busy(&self, answers: &[(u16, Option<&str>)]) {
        let mut busy = self.state.busy.lock().unwrap();
        busy.extend(answers.iter().map(|(s, r)| (*s, r.map(String::from))));
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

fn record(state: &State, req: &HttpRequest, body: &[u8]) {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    state.arrived.lock().unwrap().push(Arrived {
        method: req.method().to_string(),
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        headers,
        body_len: body.len(),
        body: body.to_vec(),
    });
}

/// 200 with what arrived, and headers an API sends (a cookie, a rate-limit header).
async fn echo(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    record(&state, &req, &body);
    let status = req
        .headers()
        .get("x-answer-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u16>().ok())
        .unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .insert_header(("Set-Cookie", "upstream_session=abc; Path=/"))
        .insert_header(("X-RateLimit-Remaining", "41"))
        .insert_header(("X-Tokenvault-Error", "forged"))
        .json(json!({
            "method": req.method().as_str(),
            "path": req.path(),
            "query": req.query_string(),
            "body_len": body.len(),
        }))
}

async fn guarded(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    record(&state, &req, &body);
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if state.accepted.lock().unwrap().contains(&given) {
        HttpResponse::Ok().json(json!({"ok": true, "body_len": body.len()}))
    } else {
        HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer error=\"invalid_token\""))
            .json(json!({"message": "Bad credentials"}))
    }
}

async fn busy(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    record(&state, &req, &body);
    let next = state.busy.lock().unwrap().pop_front();
    match next {
        Some((status, retry_after)) => {
            let mut response =
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
            if let Some(after) = retry_after {
                response.insert_header(("Retry-After", after));
            }
            response.json(json!({"message": "slow down"}))
        }
        None => HttpResponse::Ok().json(json!({"ok": true})),
    }
}

async fn redirect(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    record(&state, &req, &[]);
    HttpResponse::Found()
        .insert_header(("Location", "http://elsewhere.invalid/steal"))
        .finish()
}

async fn hang(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    record(&state, &req, &[]);
    tokio::time::sleep(Duration::from_secs(30)).await;
    HttpResponse::Ok().finish()
}

/// 1 MiB: the first 64 KiB at once, the rest only after `open_gate` — whoever reads the first
/// chunk before opening the gate proves the answer streams rather than being buffered whole.
async fn gated(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    record(&state, &req, &[]);
    let chunk = web::Bytes::from(vec![b'g'; 64 * 1024]);
    let stream = futures_util::stream::iter(0..16).then(move |i| {
        let (chunk, state) = (chunk.clone(), state.clone());
        async move {
            if i == 1 {
                state.gate.notified().await;
            }
            Ok::<_, std::io::Error>(chunk)
        }
    });
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .no_chunking(1024 * 1024)
        .streaming(stream)
}

/// `?mb=N` megabytes (default 1), in 64 KiB chunks, with `?pause_ms=` between chunks.
async fn big(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    record(&state, &req, &[]);
    let query: std::collections::HashMap<String, String> =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
    let mb: usize = query.get("mb").and_then(|v| v.parse().ok()).unwrap_or(1);
    let pause: u64 = query
        .get("pause_ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let chunk = web::Bytes::from(vec![b'x'; 64 * 1024]);
    let chunks = mb * 16;
    let stream = futures_util::stream::iter(0..chunks).then(move |_| {
        let chunk = chunk.clone();
        async move {
            if pause > 0 {
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Ok::<_, std::io::Error>(chunk)
        }
    });
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .no_chunking((mb * 1024 * 1024) as u64)
        .streaming(stream)
}
