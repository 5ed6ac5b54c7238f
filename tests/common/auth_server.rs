//! A local OAuth 2.0 authorization server that behaves like Google's and checks what it gets:
//! `/authorize` validates the client and the PKCE method and answers 302 to the redirect URI
//! with a code (or `error=access_denied`); `/token` exchanges a code once, only for the client
//! it was issued to, with the same redirect URI and a verifier matching the S256 challenge;
//! `/userinfo` answers the OpenID claims for the issued access token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "tv-platform-client.apps.example";
pub const CLIENT_SECRET: &str = "PLATFORM-CLIENT-SECRET";

/// What the user does at the consent screen.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Consent {
    Approve,
    Deny,
}

#[derive(Clone, Debug)]
struct Issued {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
}

#[derive(Default)]
struct State {
    consent: Mutex<Option<Consent>>,
    codes: Mutex<HashMap<String, Issued>>,
    access_tokens: Mutex<Vec<String>>,
    token_delay: Mutex<Duration>,
    userinfo_fails: Mutex<bool>,
    corrupt_challenges: Mutex<bool>,
    exchanges: AtomicUsize,
    refused: Mutex<Vec<String>>,
    /// The `iss` its authorization responses carry (RFC 9207), as Google's do.
    issuer: Mutex<String>,
}

pub struct AuthServer {
    pub url: String,
    state: Arc<State>,
    server: ServerHandle,
}

fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn refuse(state: &State, why: &str) -> HttpResponse {
    state.refused.lock().unwrap().push(why.to_string());
    HttpResponse::BadRequest().json(json!({"error": "invalid_grant", "error_description": why}))
}

async fn authorize(
    query: web::Query<HashMap<String, String>>,
    state: web::Data<State>,
) -> HttpResponse {
    let q = |name: &str| query.get(name).cloned().unwrap_or_default();
    if q("response_type") != "code" || q("client_id") != CLIENT_ID || q("redirect_uri").is_empty() {
        return HttpResponse::BadRequest().body("invalid authorize request");
    }
    let challenge = query.get("code_challenge").cloned();
    if challenge.is_some() && q("code_challenge_method") != "S256" {
        return HttpResponse::BadRequest().body("only S256");
    }
    let consent = state.consent.lock().unwrap().unwrap_or(Consent::Approve);
    let mut target = reqwest::Url::parse(&q("redirect_uri")).unwrap();
    let issuer = state.issuer.lock().unwrap().clone();
    target.query_pairs_mut().append_pair("iss", &issuer);
    match consent {
        Consent::Deny => {
            target
                .query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &q("state"));
        }
        Consent::Approve => {
            let code = format!("CODE-{}", state.codes.lock().unwrap().len() + 1);
            let challenge = match *state.corrupt_challenges.lock().unwrap() {
                true => Some(challenge_of("not-the-verifier")),
                false => challenge,
            };
            state.codes.lock().unwrap().insert(
                code.clone(),
                Issued {
                    client_id: q("client_id"),
                    redirect_uri: q("redirect_uri"),
                    challenge,
                    used: false,
                },
            );
            // Google adds parameters of its own.
            target
                .query_pairs_mut()
                .append_pair("state", &q("state"))
                .append_pair("code", &code)
                .append_pair("scope", &q("scope"))
                .append_pair("authuser", "0");
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", target.to_string()))
        .finish()
}

async fn token(form: web::Form<HashMap<String, String>>, state: web::Data<State>) -> HttpResponse {
    state.exchanges.fetch_add(1, Ordering::SeqCst);
    let delay = *state.token_delay.lock().unwrap();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let f = |name: &str| form.get(name).cloned().unwrap_or_default();
    if f("grant_type") != "authorization_code" {
        return refuse(&state, "grant_type");
    }
    if f("client_id") != CLIENT_ID || f("client_secret") != CLIENT_SECRET {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let mut codes = state.codes.lock().unwrap();
    let Some(issued) = codes.get_mut(&f("code")) else {
        return refuse(&state, "unknown code");
    };
    if issued.used {
        return refuse(&state, "code reused");
    }
    issued.used = true;
    if issued.client_id != f("client_id") || issued.redirect_uri != f("redirect_uri") {
        return refuse(&state, "client or redirect_uri differs");
    }
    if let Some(challenge) = &issued.challenge
        && challenge_of(&f("code_verifier")) != *challenge
    {
        return refuse(&state, "PKCE verifier does not match");
    }
    let mut tokens = state.access_tokens.lock().unwrap();
    let n = tokens.len() + 1;
    let access = format!("ya29.CONNECTED-{n}");
    tokens.push(access.clone());
    HttpResponse::Ok().json(json!({
        "access_token": access, "refresh_token": format!("1//CONNECTED-REFRESH-{n}"),
        "expires_in": 3599, "token_type": "Bearer", "scope": "openid email profile",
        "id_token": "eyJ.ID-TOKEN.sig"
    }))
}

async fn userinfo(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    if *state.userinfo_fails.lock().unwrap() {
        return HttpResponse::InternalServerError().body("down");
    }
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    if !state.access_tokens.lock().unwrap().contains(&bearer) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_token"}));
    }
    HttpResponse::Ok().json(json!({
        "sub": "g-1234567890", "email": "ada@example.com", "email_verified": true,
        "name": "Ada Lovelace"
    }))
}

impl AuthServer {
    pub async fn start() -> AuthServer {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let (addr, handle) = super::local_server("127.0.0.1:0", 1, move |cfg| {
            cfg.app_data(data.clone())
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo));
        });
        let url = format!("http://{addr}");
        *state.issuer.lock().unwrap() = url.clone();
        AuthServer {
            url,
            state,
            server: handle,
        }
    }

    /// Google's registry entry pointed at this server.
    pub fn providers_toml(&self) -> String {
        format!(
            "[google]\nauthorize_url = \"{0}/authorize\"\ntoken_url = \"{0}/token\"\n\
             userinfo_url = \"{0}/userinfo\"\nissuer = \"{0}\"\n",
            self.url
        )
    }

    /// Its authorization responses name another issuer from now on: the browser comes back as
    /// if from a different authorization server (a mix-up).
    pub fn answer_as_issuer(&self, issuer: &str) {
        *self.state.issuer.lock().unwrap() = issuer.to_string();
    }

    pub fn consent(&self, consent: Consent) {
        *self.state.consent.lock().unwrap() = Some(consent);
    }

    pub fn token_delay(&self, delay: Duration) {
        *self.state.token_delay.lock().unwrap() = delay;
    }

    pub fn userinfo_fails(&self) {
        *self.state.userinfo_fails.lock().unwrap() = true;
    }

    /// Records a challenge no verifier matches (as if the verifier sent were wrong).
    pub fn corrupt_challenges(&self) {
        *self.state.corrupt_challenges.lock().unwrap() = true;
    }

    pub fn exchanges(&self) -> usize {
        self.state.exchanges.load(Ordering::SeqCst)
    }

    /// Why the token endpoint refused exchanges.
    pub fn refused(&self) -> Vec<String> {
        self.state.refused.lock().unwrap().clone()
    }

    /// Plays the browser at the consent screen: follows `authorization_url` to the authorize
    /// endpoint and returns where it sends the browser (tokenvault's callback, with the code).
    pub async fn visit(&self, authorization_url: &str) -> String {
        let url = authorization_url.to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let reply = client.get(&url).send().await.unwrap();
        assert_eq!(
            reply.status().as_u16(),
            302,
            "authorize refused: {}",
            reply.text().await.unwrap()
        );
        reply.headers()["location"].to_str().unwrap().to_string()
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let server = self.server.clone();
        actix_web::rt::spawn(async move { server.stop(false).await });
    }
}
