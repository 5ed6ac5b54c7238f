//! A local webhook receiver for tests: it can be down (nothing listening on its port), stall
//! (accept and never answer), answer a scripted series of statuses (with `Retry-After`), then
//! 200; it records every request it was sent.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};

/// One request as received, and what was answered.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<(u16, Option<u64>)>>,
    stall: AtomicBool,
    stalled: AtomicUsize,
    received: Mutex<Vec<Received>>,
}

pub struct Receiver {
    pub url: String,
    addr: std::net::SocketAddr,
    state: Arc<State>,
}

impl Receiver {
    /// A receiver whose port is reserved but not listening yet: deliveries are refused.
    pub fn down() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        Receiver {
            url: format!("http://{addr}/hooks"),
            addr,
            state: Arc::new(State::default()),
        }
    }

    /// Starts listening: scripted answers first, then 200.
    pub fn up(&self) {
        let data = web::Data::from(self.state.clone());
        super::local_server(self.addr, 1, move |cfg| {
            cfg.app_data(data.clone())
                .route("/hooks", web::post().to(hook));
        });
    }

    /// The next answers, in order (status, `Retry-After` seconds); 200 after them.
    pub fn script(&self, answers: &[(u16, Option<u64>)]) {
        self.state
            .script
            .lock()
            .unwrap()
            .extend(answers.iter().copied());
    }

    /// Accept requests and never answer them (until `stall(false)`).
    pub fn stall(&self, on: bool) {
        self.state.stall.store(on, Ordering::SeqCst);
    }

    /// Requests that arrived while stalling.
    pub fn stalled(&self) -> usize {
        self.state.stalled.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

async fn hook(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    if state.stall.load(Ordering::SeqCst) {
        state.stalled.fetch_add(1, Ordering::SeqCst);
        actix_web::rt::time::sleep(Duration::from_secs(600)).await;
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (status, retry_after) = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, None));
    state.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: status,
        at: Instant::now(),
    });
    let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(secs) = retry_after {
        response.insert_header(("Retry-After", secs.to_string()));
    }
    response.body("ok")
}

/// HMAC-SHA256 written out from RFC 2104 over `sha2`, independent of the server's `hmac` crate.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Whether `received` carries a valid Standard Webhooks signature under `secret` (`whsec_…`).
pub fn verifies(secret: &str, received: &Received) -> bool {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!("{}.{}.{}", received.id, received.timestamp, received.body);
    let expected = format!("v1,{}", engine.encode(hmac_sha256(&key, signed.as_bytes())));
    received
        .signature
        .split(' ')
        .any(|candidate| candidate == expected)
}
