//! A standards-following authorization server and MCP server, as tokenvault meets them when it
//! knows nothing but a URL: RFC 8414 metadata, RFC 7591 registration (checked), PKCE S256
//! required, the RFC 8707 `resource` required on authorize, exchange and refresh when the server
//! guards a resource, refresh tokens that rotate (the old one dies), RFC 7009 revocation; and an
//! MCP endpoint that answers 401 with RFC 9728's `resource_metadata`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Default)]
struct State {
    base: String,
    /// The issuer its metadata names (the base unless a test lies).
    issuer: Option<String>,
    clients: HashMap<String, (String, Vec<String>)>,
    codes: HashMap<String, (String, String)>,
    refresh: HashMap<String, String>,
    access: Vec<String>,
    revoked: Vec<String>,
    refused: Vec<String>,
    registrations: Vec<serde_json::Value>,
    resources_seen: Vec<String>,
    /// What every authorize, exchange and refresh must name as `resource` (none: no resource).
    required_resource: Option<String>,
    issued: u32,
}

pub struct OAuthServer {
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: ServerHandle,
}

type Shared = web::Data<Mutex<State>>;

fn refuse(state: &mut State, why: &str) -> HttpResponse {
    state.refused.push(why.to_string());
    HttpResponse::BadRequest().json(json!({"error": "invalid_request", "error_description": why}))
}

impl OAuthServer {
    pub fn start() -> OAuthServer {
        let state = Arc::new(Mutex::new(State::default()));
        let shared: Shared = web::Data::from(Arc::clone(&state));
        let (addr, server) = super::local_server("127.0.0.1:0", 2, move |cfg| {
            cfg.app_data(shared.clone())
                .route(
                    "/.well-known/oauth-authorization-server",
                    web::get().to(metadata),
                )
                .route(
                    "/.well-known/oauth-protected-resource/mcp",
                    web::get().to(resource),
                )
                .route("/register", web::post().to(register))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/revoke", web::post().to(revoke))
                .route("/mcp", web::get().to(mcp));
        });
        let url = format!("http://{addr}");
        state.lock().unwrap().base = url.clone();
        OAuthServer {
            url,
            state,
            _server: server,
        }
    }

    /// Makes every authorize, exchange and refresh name the MCP endpoint as `resource`.
    pub fn guard_mcp(&self) {
        let url = self.mcp_url();
        self.state.lock().unwrap().required_resource = Some(url);
    }

    /// Makes its metadata name another issuer (a mix-up a client must refuse).
    pub fn lie_about_issuer(&self, issuer: &str) {
        self.state.lock().unwrap().issuer = Some(issuer.to_string());
    }

    /// Forgets every client it registered (as a server that dropped them would).
    pub fn forget_clients(&self) {
        self.state.lock().unwrap().clients.clear();
    }

    pub fn registrations(&self) -> Vec<serde_json::Value> {
        self.state.lock().unwrap().registrations.clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }

    pub fn revoked(&self) -> Vec<String> {
        self.state.lock().unwrap().revoked.clone()
    }

    /// The `resource` of every authorize, exchange and refresh, in order.
    pub fn resources_seen(&self) -> Vec<String> {
        self.state.lock().unwrap().resources_seen.clone()
    }

    pub fn last_access_token(&self) -> Option<String> {
        self.state.lock().unwrap().access.last().cloned()
    }

    /// The resource the MCP endpoint guards.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url)
    }
}

async fn metadata(state: Shared) -> HttpResponse {
    let state = state.lock().unwrap();
    let base = &state.base;
    HttpResponse::Ok().json(json!({
        "issuer": state.issuer.clone().unwrap_or_else(|| base.clone()),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "registration_endpoint": format!("{base}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
    }))
}

async fn resource(state: Shared) -> HttpResponse {
    let base = state.lock().unwrap().base.clone();
    HttpResponse::Ok().json(json!({
        "resource": format!("{base}/mcp"),
        "authorization_servers": [base],
        "scopes_supported": ["mcp:tools"],
    }))
}

async fn mcp(state: Shared) -> HttpResponse {
    let base = state.lock().unwrap().base.clone();
    HttpResponse::Unauthorized()
        .insert_header((
            "WWW-Authenticate",
            format!(
                r#"Bearer error="invalid_token", resource_metadata="{base}/.well-known/oauth-protected-resource/mcp""#
            ),
        ))
        .finish()
}

async fn register(body: web::Json<serde_json::Value>, state: Shared) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let body = body.into_inner();
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let grants = body["grant_types"].to_string();
    if uris.is_empty()
        || !grants.contains("authorization_code")
        || !grants.contains("refresh_token")
    {
        state.refused.push(format!("registration {body}"));
        return HttpResponse::BadRequest().json(json!({"error": "invalid_client_metadata"}));
    }
    state.registrations.push(body);
    let id = format!("dyn-{}", state.registrations.len());
    let secret = format!("dyn-secret-{}", state.registrations.len());
    state.clients.insert(id.clone(), (secret.clone(), uris));
    HttpResponse::Created().json(json!({"client_id": id, "client_secret": secret,
        "client_id_issued_at": 0, "client_secret_expires_at": 0}))
}

/// Why a request's `resource` is not the one required (`required_resource`, or none).
fn resource_refusal(state: &mut State, given: Option<&String>) -> Option<String> {
    let given = given.cloned().unwrap_or_default();
    state.resources_seen.push(given.clone());
    let expected = state.required_resource.clone().unwrap_or_default();
    (given != expected).then(|| format!("resource {given:?}, expected {expected:?}"))
}

async fn authorize(query: web::Query<HashMap<String, String>>, state: Shared) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let q = |n: &str| query.get(n).cloned().unwrap_or_default();
    let Some((_, uris)) = state.clients.get(&q("client_id")).cloned() else {
        return refuse(&mut state, "unknown client_id at authorize");
    };
    if !uris.contains(&q("redirect_uri")) || q("response_type") != "code" {
        return refuse(&mut state, "redirect_uri not registered");
    }
    if q("code_challenge").is_empty() || q("code_challenge_method") != "S256" {
        return refuse(&mut state, "PKCE S256 required");
    }
    if let Some(why) = resource_refusal(&mut state, query.get("resource")) {
        return refuse(&mut state, &why);
    }
    let code = format!("code-{}", state.codes.len() + 1);
    state
        .codes
        .insert(code.clone(), (q("client_id"), q("code_challenge")));
    let mut target = reqwest::Url::parse(&q("redirect_uri")).unwrap();
    let issuer = state.issuer.clone().unwrap_or_else(|| state.base.clone());
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q("state"))
        .append_pair("iss", &issuer);
    HttpResponse::Found()
        .insert_header(("Location", target.to_string()))
        .finish()
}

fn client_of(request: &HttpRequest, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()?;
        let (id, secret) = String::from_utf8(decoded)
            .ok()?
            .split_once(':')
            .map(|(a, b)| (a.to_string(), b.to_string()))?;
        return Some((id, secret));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

fn issue(state: &mut State, client: &str) -> HttpResponse {
    state.issued += 1;
    let access = format!("mcp-at-{}", state.issued);
    let refresh = format!("mcp-rt-{}", state.issued);
    state.access.push(access.clone());
    state.refresh.insert(refresh.clone(), client.to_string());
    HttpResponse::Ok().json(json!({"access_token": access, "token_type": "Bearer",
        "expires_in": 3600, "refresh_token": refresh}))
}

async fn token(
    request: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    state: Shared,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let form = form.into_inner();
    let Some((id, secret)) = client_of(&request, &form) else {
        return refuse(&mut state, "no client authentication");
    };
    if state.clients.get(&id).map(|(s, _)| s) != Some(&secret) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let f = |n: &str| form.get(n).cloned().unwrap_or_default();
    match f("grant_type").as_str() {
        "authorization_code" => {
            let Some((client, challenge)) = state.codes.remove(&f("code")) else {
                return refuse(&mut state, "unknown or used code");
            };
            let proved = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(f("code_verifier").as_bytes()));
            if client != id || proved != challenge {
                return refuse(&mut state, "code_verifier does not match");
            }
            if let Some(why) = resource_refusal(&mut state, form.get("resource")) {
                return refuse(&mut state, &why);
            }
            issue(&mut state, &id)
        }
        "refresh_token" => {
            // Rotation: a refresh token works once.
            let Some(client) = state.refresh.remove(&f("refresh_token")) else {
                return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
            };
            if client != id {
                return refuse(&mut state, "refresh by another client");
            }
            if let Some(why) = resource_refusal(&mut state, form.get("resource")) {
                return refuse(&mut state, &why);
            }
            issue(&mut state, &id)
        }
        other => refuse(&mut state, &format!("grant_type {other}")),
    }
}

async fn revoke(
    request: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    state: Shared,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    let form = form.into_inner();
    let Some((id, secret)) = client_of(&request, &form) else {
        return refuse(&mut state, "revoke without client authentication");
    };
    if state.clients.get(&id).map(|(s, _)| s) != Some(&secret) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let token = form.get("token").cloned().unwrap_or_default();
    state.refresh.remove(&token);
    state.revoked.push(token);
    HttpResponse::Ok().finish()
}
