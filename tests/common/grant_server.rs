//! A local authorization server for the minting grants, implemented as the RFCs say and strict
//! about what it receives: the client-credentials grant (RFC 6749 §4.4, the client
//! authenticated as configured), the JWT-bearer grant (RFC 7523: signature checked against the
//! public keys it trusts, `iss`, `aud`, `exp` at most an hour after `iat`, `jti` never reused),
//! and GitHub's app installation endpoint (app JWT checked, at most ten minutes). Anything it
//! finds wrong in a request is kept in `problems()`, which a test asserts empty.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self as sig, KeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Whose quirks the device endpoints have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceStyle {
    /// Pending is HTTP 200; `verification_uri`; a public client (no secret on polls).
    #[default]
    GitHub,
    /// Pending is HTTP 428; `verification_url`; polls carry the client secret.
    Google,
    /// Pending is HTTP 400; a denial is `authorization_declined`; a public client.
    Microsoft,
}

/// What the user did with a device code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Pending,
    Approved,
    Denied,
    Expired,
}

#[derive(Default)]
struct Devices {
    style: DeviceStyle,
    interval: u64,
    expires_in: u64,
    /// device code → (user code, decision, polls, tokens issued)
    codes: HashMap<String, (String, Decision, usize, bool)>,
    /// `slow_down` answers still to give.
    slow_downs: usize,
    /// Approves a code at its n-th poll (0: never by itself).
    approve_at: usize,
    polls: usize,
    down: bool,
}

/// A test key's PEM (tests/fixtures).
pub fn fixture_key(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

/// The public key of a PEM private key (RSA or EC P-256), as ring verifies with it.
fn public_key(pem: &str) -> (bool, Vec<u8>) {
    match PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap() {
        PrivateKeyDer::Pkcs1(der) => {
            let pair = sig::RsaKeyPair::from_der(der.secret_pkcs1_der()).unwrap();
            (true, pair.public().as_ref().to_vec())
        }
        PrivateKeyDer::Pkcs8(der) => match sig::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()) {
            Ok(pair) => (true, pair.public().as_ref().to_vec()),
            Err(_) => {
                let rng = ring::rand::SystemRandom::new();
                let pair = sig::EcdsaKeyPair::from_pkcs8(
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der.secret_pkcs8_der(),
                    &rng,
                )
                .unwrap();
                (false, pair.public_key().as_ref().to_vec())
            }
        },
        _ => panic!("unsupported test key"),
    }
}

/// How the client must authenticate on the client-credentials grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Body,
}

#[derive(Default)]
struct State {
    url: Mutex<String>,
    token_calls: AtomicUsize,
    install_calls: AtomicUsize,
    delay: Mutex<Duration>,
    down: Mutex<bool>,
    client_auth: Mutex<Option<ClientAuth>>,
    clients: Mutex<HashMap<String, String>>,
    /// Clients that authenticate but may not use this grant (`unauthorized_client`).
    unauthorized: Mutex<HashSet<String>>,
    /// Trusted public keys: (is RSA, key).
    keys: Mutex<Vec<(bool, Vec<u8>)>>,
    /// GitHub: the app id and its installations.
    app_id: Mutex<String>,
    installations: Mutex<HashSet<String>>,
    expires_in: Mutex<Option<u64>>,
    jtis: Mutex<HashSet<String>>,
    device: Mutex<Devices>,
    /// What each successful grant request carried (form parameters, claims).
    seen: Mutex<Vec<Value>>,
    problems: Mutex<Vec<String>>,
}

pub struct GrantServer {
    pub url: String,
    state: Arc<State>,
    server: actix_web::dev::ServerHandle,
}

impl GrantServer {
    pub async fn start() -> GrantServer {
        let state = Arc::new(State::default());
        *state.expires_in.lock().unwrap() = Some(3600);
        let data = web::Data::from(state.clone());
        let (addr, handle) = super::local_server("127.0.0.1:0", 2, move |cfg| {
            cfg.app_data(data.clone())
                .route("/token", web::post().to(token))
                .route("/tenants/{tenant}/token", web::post().to(token))
                .route("/device/code", web::post().to(device_code))
                .route(
                    "/app/installations/{id}/access_tokens",
                    web::post().to(installation),
                );
        });
        let url = format!("http://{addr}");
        *state.url.lock().unwrap() = url.clone();
        GrantServer {
            url,
            state,
            server: handle,
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    /// Accepts this client, authenticated as `auth`.
    pub fn client(&self, id: &str, secret: &str, auth: ClientAuth) {
        self.state
            .clients
            .lock()
            .unwrap()
            .insert(id.into(), secret.into());
        *self.state.client_auth.lock().unwrap() = Some(auth);
    }

    /// Forgets every client.
    pub fn state_clients_clear(&self) {
        self.state.clients.lock().unwrap().clear();
    }

    pub fn unauthorized_client(&self, id: &str) {
        self.state.unauthorized.lock().unwrap().insert(id.into());
    }

    /// Trusts assertions and app JWTs signed by the private key `pem`.
    pub fn trust(&self, pem: &str) {
        self.state.keys.lock().unwrap().push(public_key(pem));
    }

    pub fn app(&self, app_id: &str, installation: &str) {
        *self.state.app_id.lock().unwrap() = app_id.into();
        self.state
            .installations
            .lock()
            .unwrap()
            .insert(installation.into());
    }

    pub fn uninstall(&self, installation: &str) {
        self.state
            .installations
            .lock()
            .unwrap()
            .remove(installation);
    }

    pub fn expires_in(&self, secs: Option<u64>) {
        *self.state.expires_in.lock().unwrap() = secs;
    }

    pub fn delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// Answers 503 from now on (or again normally).
    pub fn down(&self, down: bool) {
        *self.state.down.lock().unwrap() = down;
    }

    pub fn token_calls(&self) -> usize {
        self.state.token_calls.load(Ordering::SeqCst)
    }

    pub fn install_calls(&self) -> usize {
        self.state.install_calls.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Value> {
        self.state.seen.lock().unwrap().clone()
    }

    pub fn problems(&self) -> Vec<String> {
        self.state.problems.lock().unwrap().clone()
    }

    /// Device endpoints with `style`'s quirks, this interval and code lifetime.
    pub fn device(&self, style: DeviceStyle, interval: u64, expires_in: u64) {
        let mut devices = self.state.device.lock().unwrap();
        devices.style = style;
        devices.interval = interval;
        devices.expires_in = expires_in;
    }

    /// What the user does with every code issued so far.
    pub fn decide(&self, decision: Decision) {
        for code in self.state.device.lock().unwrap().codes.values_mut() {
            code.1 = decision;
        }
    }

    /// The next `n` polls are answered `slow_down`.
    pub fn slow_down(&self, n: usize) {
        self.state.device.lock().unwrap().slow_downs = n;
    }

    /// Approves a code at its `n`-th poll.
    pub fn approve_at_poll(&self, n: usize) {
        self.state.device.lock().unwrap().approve_at = n;
    }

    /// Polls answered 503 from now on (or normally again).
    pub fn device_down(&self, down: bool) {
        self.state.device.lock().unwrap().down = down;
    }

    pub fn device_polls(&self) -> usize {
        self.state.device.lock().unwrap().polls
    }

    /// Device codes issued.
    pub fn device_codes(&self) -> usize {
        self.state.device.lock().unwrap().codes.len()
    }
}

impl Drop for GrantServer {
    fn drop(&mut self) {
        drop(self.server.clone().stop(false));
    }
}

fn problem(state: &State, what: String) {
    state.problems.lock().unwrap().push(what);
}

fn oauth_error(status: u16, error: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"error": error, "error_description": "refused by the test server"}))
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn pause(state: &State) -> Option<HttpResponse> {
    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let down = *state.down.lock().unwrap();
    down.then(|| HttpResponse::ServiceUnavailable().body("<html>maintenance</html>"))
}

async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let n = state.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(down) = pause(&state).await {
        return down;
    }
    if !header(&req, "content-type").starts_with("application/x-www-form-urlencoded") {
        problem(&state, "token request is not form-encoded".into());
    }
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => client_credentials(&req, &form, &state, n),
        Some(JWT_BEARER) => jwt_bearer(&form, &state, n),
        Some(DEVICE_CODE) => device_poll(&form, &state),
        _ => oauth_error(400, "unsupported_grant_type"),
    }
}

/// The client as it authenticated, checked against the configured method (RFC 6749 §2.3.1:
/// Basic credentials are form-urlencoded before Base64).
fn authenticated_client(
    req: &HttpRequest,
    form: &HashMap<String, String>,
    state: &State,
) -> Option<(String, String)> {
    let basic = header(req, "authorization");
    let in_body = form.contains_key("client_id") || form.contains_key("client_secret");
    let expected = *state.client_auth.lock().unwrap();
    let (id, secret) = if let Some(encoded) = basic.strip_prefix("Basic ") {
        if expected != Some(ClientAuth::Basic) || in_body {
            problem(
                state,
                "client authenticated with Basic where body was expected".into(),
            );
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        (unescape(id), unescape(secret))
    } else {
        if expected != Some(ClientAuth::Body) {
            problem(
                state,
                "client authenticated in the body where Basic was expected".into(),
            );
        }
        (
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        )
    };
    let known = state.clients.lock().unwrap().get(&id).cloned();
    (known.as_deref() == Some(secret.as_str())).then_some((id, secret))
}

fn client_credentials(
    req: &HttpRequest,
    form: &HashMap<String, String>,
    state: &State,
    n: usize,
) -> HttpResponse {
    let Some((id, _)) = authenticated_client(req, form, state) else {
        return oauth_error(401, "invalid_client");
    };
    if state.unauthorized.lock().unwrap().contains(&id) {
        return oauth_error(400, "unauthorized_client");
    }
    if form.contains_key("refresh_token") || form.contains_key("code") {
        problem(
            state,
            "client-credentials request carries another grant".into(),
        );
    }
    state
        .seen
        .lock()
        .unwrap()
        .push(json!({"path": req.path(), "form": form}));
    success(state, format!("cc-{n}"))
}

fn success(state: &State, access_token: String) -> HttpResponse {
    let mut reply = json!({"access_token": access_token, "token_type": "Bearer"});
    if let Some(secs) = *state.expires_in.lock().unwrap() {
        reply["expires_in"] = json!(secs);
    }
    HttpResponse::Ok().json(reply)
}

/// A compact JWS checked against the trusted keys: its header and claims.
fn verified(state: &State, jwt: &str) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [head, claims, signature] = parts[..] else {
        return Err("not a compact JWS".into());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| "bad base64url")?;
        serde_json::from_slice(&bytes).map_err(|_| "not JSON".to_string())
    };
    let (header, claims_value) = (decode(head)?, decode(claims)?);
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "bad signature encoding")?;
    let message = format!("{head}.{claims}");
    let algorithm: &dyn sig::VerificationAlgorithm = match header["alg"].as_str() {
        Some("RS256") => &sig::RSA_PKCS1_2048_8192_SHA256,
        Some("ES256") => &sig::ECDSA_P256_SHA256_FIXED,
        other => return Err(format!("alg {other:?} not accepted")),
    };
    let rsa = header["alg"] == "RS256";
    let trusted = state.keys.lock().unwrap().clone();
    let ok = trusted
        .iter()
        .filter(|(is_rsa, _)| *is_rsa == rsa)
        .any(|(_, key)| {
            sig::UnparsedPublicKey::new(algorithm, key)
                .verify(message.as_bytes(), &signature)
                .is_ok()
        });
    if !ok {
        return Err("signature does not verify with a trusted key".into());
    }
    Ok((header, claims_value))
}

/// RFC 7523 §3: `iss`, `aud` (this token endpoint), `exp` after `iat` by at most an hour, a
/// `jti` not seen before.
fn jwt_bearer(form: &HashMap<String, String>, state: &State, n: usize) -> HttpResponse {
    if form.contains_key("client_secret") {
        problem(state, "JWT-bearer request carries a client secret".into());
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(400, "invalid_request");
    };
    let (header, claims) = match verified(state, assertion) {
        Ok(parts) => parts,
        Err(_) => return oauth_error(400, "invalid_grant"),
    };
    let token_url = format!("{}/token", state.url.lock().unwrap());
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    let lifetime_ok =
        matches!((iat, exp), (Some(iat), Some(exp)) if exp > iat && exp - iat <= 3600);
    let jti = claims["jti"].as_str().unwrap_or_default().to_string();
    let fresh_jti = !jti.is_empty() && state.jtis.lock().unwrap().insert(jti);
    let aud_ok =
        claims["aud"] == json!(token_url) || claims["aud"] == json!("https://api.example.test");
    if claims["iss"].as_str().is_none_or(str::is_empty) || !aud_ok || !lifetime_ok || !fresh_jti {
        problem(state, format!("assertion claims refused: {claims}"));
        return oauth_error(400, "invalid_grant");
    }
    state
        .seen
        .lock()
        .unwrap()
        .push(json!({"header": header, "claims": claims, "form": form}));
    success(state, format!("sa-{n}"))
}

/// GitHub: `POST /app/installations/{id}/access_tokens` with the app JWT (RS256, `iss` = the
/// app, at most ten minutes) → 201 `{"token", "expires_at"}`.
async fn installation(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<State>,
) -> HttpResponse {
    let n = state.install_calls.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(down) = pause(&state).await {
        return down;
    }
    if header(&req, "accept") != "application/vnd.github+json"
        || header(&req, "x-github-api-version").is_empty()
    {
        problem(
            &state,
            "installation request without GitHub's headers".into(),
        );
    }
    let bearer = header(&req, "authorization");
    let Some(jwt) = bearer.strip_prefix("Bearer ") else {
        return HttpResponse::Unauthorized().json(json!({"message": "Requires authentication"}));
    };
    let claims = match verified(&state, jwt) {
        Ok((header, claims)) if header["alg"] == "RS256" => claims,
        _ => {
            return HttpResponse::Unauthorized()
                .json(json!({"message": "A JSON web token could not be decoded"}));
        }
    };
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    let short = matches!((iat, exp), (Some(iat), Some(exp)) if exp > iat && exp - iat <= 600);
    let app_id = state.app_id.lock().unwrap().clone();
    if claims["iss"].as_str() != Some(app_id.as_str()) || !short {
        problem(&state, format!("app JWT refused: {claims}"));
        return HttpResponse::Unauthorized()
            .json(json!({"message": "'Expiration time' claim ('exp') is too far in the future"}));
    }
    if !state.installations.lock().unwrap().contains(path.as_str()) {
        return HttpResponse::NotFound().json(json!({"message": "Not Found"}));
    }
    state.seen.lock().unwrap().push(json!({"claims": claims}));
    let expires_at = chrono::Utc::now() + chrono::Duration::hours(1);
    HttpResponse::Created().json(json!({
        "token": format!("ghs_INSTALL{n}"),
        "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "permissions": {"contents": "read"},
        "repository_selection": "all",
    }))
}

/// RFC 8628 §3.1: `client_id` (and `scope`) → the codes.
async fn device_code(body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let Some(client_id) = form.get("client_id") else {
        return oauth_error(400, "invalid_request");
    };
    if !state.clients.lock().unwrap().contains_key(client_id) {
        return oauth_error(401, "invalid_client");
    }
    if form.contains_key("client_secret") {
        problem(
            &state,
            "device authorization request carries a client secret".into(),
        );
    }
    let mut devices = state.device.lock().unwrap();
    let n = devices.codes.len() + 1;
    let (device_code, user_code) = (format!("DEVICE-CODE-SECRET-{n}"), format!("WDJB-MJH{n}"));
    devices.codes.insert(
        device_code.clone(),
        (user_code.clone(), Decision::Pending, 0, false),
    );
    let url = format!("{}/device", state.url.lock().unwrap());
    let field = match devices.style {
        DeviceStyle::Google => "verification_url",
        _ => "verification_uri",
    };
    let mut reply = json!({"device_code": device_code, "user_code": user_code,
        "expires_in": devices.expires_in, "interval": devices.interval});
    reply[field] = json!(url);
    HttpResponse::Ok().json(reply)
}

/// RFC 8628 §3.4–3.5, with the style's quirks and its client authentication.
fn device_poll(form: &HashMap<String, String>, state: &State) -> HttpResponse {
    let mut devices = state.device.lock().unwrap();
    devices.polls += 1;
    let style = devices.style;
    let secret_sent = form.contains_key("client_secret");
    match style {
        DeviceStyle::Google if !secret_sent => {
            problem(state, "Google-style poll without the client secret".into());
            return oauth_error(401, "invalid_client");
        }
        DeviceStyle::GitHub | DeviceStyle::Microsoft if secret_sent => {
            problem(state, "public-client poll carries a client secret".into());
        }
        _ => {}
    }
    if !form.contains_key("client_id") {
        problem(state, "device poll without client_id".into());
    }
    if devices.down {
        return HttpResponse::ServiceUnavailable().body("<html>down</html>");
    }
    let approve_at = devices.approve_at;
    let slow = devices.slow_downs > 0;
    if slow {
        devices.slow_downs -= 1;
    }
    let code = form.get("device_code").cloned().unwrap_or_default();
    let Some(entry) = devices.codes.get_mut(&code) else {
        return oauth_error(400, "invalid_grant");
    };
    entry.2 += 1;
    if approve_at > 0 && entry.2 >= approve_at && entry.1 == Decision::Pending {
        entry.1 = Decision::Approved;
    }
    let pending_status = match style {
        DeviceStyle::GitHub => 200,
        DeviceStyle::Google => 428,
        DeviceStyle::Microsoft => 400,
    };
    if slow {
        let mut reply = json!({"error": "slow_down"});
        if style == DeviceStyle::GitHub {
            reply["interval"] = json!(devices.interval + 5);
        }
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(pending_status).unwrap())
            .json(reply);
    }
    match entry.1 {
        Decision::Pending => oauth_error(pending_status, "authorization_pending"),
        Decision::Denied if style == DeviceStyle::Microsoft => {
            oauth_error(400, "authorization_declined")
        }
        Decision::Denied => oauth_error(pending_status.max(400), "access_denied"),
        Decision::Expired => oauth_error(400, "expired_token"),
        Decision::Approved if entry.3 => oauth_error(400, "invalid_grant"),
        Decision::Approved => {
            entry.3 = true;
            HttpResponse::Ok().json(
                json!({"access_token": "gho_DEVICE-ACCESS", "token_type": "bearer",
                "refresh_token": "ghr_DEVICE-REFRESH", "expires_in": 28800, "scope": "repo"}),
            )
        }
    }
}
