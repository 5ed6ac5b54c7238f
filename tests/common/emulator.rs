//! One local server that plays every provider of the embedded catalogue, each configured from
//! its own entry's fields (client auth, body format, PKCE, reply path, rotation, revocation,
//! account paths, metadata in the reply or the callback), and checks what tokenvault sends.
//! Every URL of an entry is rewritten under `/{key}/{role}/…` here, keeping its placeholders, so
//! the emulator also sees what tokenvault filled in. What it refuses is kept for the test to
//! report, one line per provider and reason.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokenvault::providers::OAuthClient;
use tokenvault::secret::Secret;

use super::{TestApp, TestResponse};

pub const CLIENT_ID: &str = "conformance-client";
pub const CLIENT_SECRET: &str = "CONFORMANCE-CLIENT-SECRET";

/// Values tried for each `connection_config` field: the first matching its pattern is used.
const CONFIG_SAMPLES: &[&str] = &[
    "acme",
    "acme.okta.com",
    "acme.auth0.com",
    "accounts.zoho.eu",
    "us6",
    "1234567890",
    "https://acme.my.salesforce.com",
    "https://acme.pipedrive.com",
    "https://www.zohoapis.eu",
];

/// The URL fields of an entry and the role the emulator plays at each.
pub const URL_FIELDS: &[(&str, &str)] = &[
    ("authorize_url", "authorize"),
    ("token_url", "token"),
    ("userinfo_url", "userinfo"),
    ("api_base_url", "api"),
    ("client_credentials_url", "mint"),
    ("installation_token_url", "install"),
    ("device_authorization_url", "device"),
    ("device_token_url", "devicetoken"),
];

#[derive(Clone, Debug)]
pub struct Revoke {
    method: String,
    auth: String,
    format: String,
    token_field: String,
    refresh: bool,
    template: String,
}

/// What an entry says its provider does.
#[derive(Clone, Debug)]
pub struct Spec {
    pub key: String,
    pub token_types: Vec<String>,
    basic: bool,
    json: bool,
    pub pkce: bool,
    pub rotates: bool,
    reply_path: Option<String>,
    gives_expiry: bool,
    scope_param: String,
    separator: String,
    pub default_scopes: Vec<String>,
    authorize_params: BTreeMap<String, String>,
    pub revoke: Option<Revoke>,
    account: [String; 3],
    pub has_userinfo: bool,
    userinfo_post: bool,
    /// Field → path in the exchange reply, or `callback.PARAM`.
    metadata: BTreeMap<String, String>,
    /// Field → the sample value used for it.
    pub config: BTreeMap<String, String>,
    issuer: Option<String>,
    templates: BTreeMap<String, String>,
    pub api_auth: String,
    pub key_pattern: Option<String>,
    pub connectable: bool,
}

fn text(table: &toml::Table, field: &str) -> Option<String> {
    table
        .get(field)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

fn strings(table: &toml::Table, field: &str) -> Vec<String> {
    table
        .get(field)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn sub_table(table: &toml::Table, field: &str) -> BTreeMap<String, String> {
    table
        .get(field)
        .and_then(|v| v.as_table())
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl Spec {
    /// Reads an entry as the registry documents its fields and defaults.
    pub fn of(key: &str, table: &toml::Table) -> Result<Spec, String> {
        let flag = |field: &str, default: bool| {
            table
                .get(field)
                .and_then(|v| v.as_bool())
                .unwrap_or(default)
        };
        let mut config = BTreeMap::new();
        for (field, pattern) in sub_table(table, "connection_config") {
            let regex = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
            let sample = CONFIG_SAMPLES
                .iter()
                .find(|s| regex.is_match(s))
                .ok_or_else(|| {
                    format!(
                        "no sample value matches connection_config.{field} ({pattern}): add one"
                    )
                })?;
            config.insert(field, sample.to_string());
        }
        let account = sub_table(table, "account");
        let path = |f: &str, d: &str| account.get(f).cloned().unwrap_or_else(|| d.into());
        let revoke = table
            .get("revoke")
            .and_then(|v| v.as_table())
            .map(|r| Revoke {
                method: text(r, "method").unwrap_or_default(),
                auth: text(r, "auth").unwrap_or_default(),
                format: text(r, "format").unwrap_or_default(),
                token_field: text(r, "token_field").unwrap_or_else(|| "token".into()),
                refresh: text(r, "token").as_deref() == Some("refresh"),
                template: text(r, "url").unwrap_or_default(),
            });
        let mut templates: BTreeMap<String, String> = URL_FIELDS
            .iter()
            .filter_map(|(field, role)| Some((role.to_string(), text(table, field)?)))
            .collect();
        if let Some(revoke) = &revoke {
            templates.insert("revoke".into(), revoke.template.clone());
        }
        let token_types = strings(table, "token_types");
        Ok(Spec {
            key: key.to_string(),
            connectable: token_types.iter().any(|t| t == "oauth2")
                && templates.contains_key("authorize")
                && templates.contains_key("token"),
            token_types,
            basic: text(table, "client_auth").as_deref() == Some("basic"),
            json: text(table, "request_format").as_deref() == Some("json"),
            pkce: flag("pkce", true),
            rotates: flag("rotates_refresh_token", false),
            reply_path: text(table, "token_reply_path"),
            gives_expiry: table.get("default_expires_in").is_none(),
            scope_param: text(table, "scope_param").unwrap_or_else(|| "scope".into()),
            separator: text(table, "scope_separator").unwrap_or_else(|| " ".into()),
            default_scopes: strings(table, "default_scopes"),
            authorize_params: sub_table(table, "authorize_params"),
            revoke,
            account: [
                path("id", "sub"),
                path("email", "email"),
                path("name", "name"),
            ],
            has_userinfo: templates.contains_key("userinfo"),
            userinfo_post: text(table, "userinfo_method").as_deref() == Some("POST"),
            metadata: sub_table(table, "token_reply_metadata"),
            config,
            issuer: text(table, "issuer"),
            templates,
            api_auth: text(table, "api_auth").unwrap_or_else(|| "bearer".into()),
            key_pattern: text(table, "key_pattern"),
        })
    }

    /// Whether the entry has an API the proxy reaches.
    pub fn has_api(&self) -> bool {
        self.templates.contains_key("api")
    }

    /// The fields a caller gives at connect: declared and not filled by the provider.
    pub fn caller_config(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .filter(|(field, _)| !self.metadata.contains_key(*field))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The path tokenvault must call for `role`: the template's host and path, placeholders
    /// filled, under `/{key}/{role}/h/`; `/{key}/{role}/o` where the template starts with a
    /// placeholder (a whole origin from the reply).
    fn expected_path(&self, role: &str) -> Option<String> {
        let template = self.templates.get(role)?;
        if template.starts_with('{') {
            return Some(format!("/{}/{role}/o", self.key));
        }
        let mut rest = template
            .split_once("://")
            .map_or(template.as_str(), |(_, r)| r)
            .to_string();
        for (field, value) in &self.config {
            rest = rest.replace(&format!("{{{field}}}"), value);
        }
        rest = rest
            .replace("{client_id}", CLIENT_ID)
            .replace("{tenant}", "contoso");
        Some(format!("/{}/{role}/h/{rest}", self.key))
    }

    /// The entry's URL fields rewritten to `base` (for the `PROVIDERS_FILE`).
    pub fn overrides(&self, base: &str) -> String {
        let mut out = format!("[{}]\n", self.key);
        let rewrite = |role: &str, template: &str| match template.starts_with('{') {
            true => format!("{base}/{}/{role}/o", self.key),
            false => {
                let rest = template.split_once("://").map_or(template, |(_, r)| r);
                format!("{base}/{}/{role}/h/{rest}", self.key)
            }
        };
        for (field, role) in URL_FIELDS {
            if let Some(template) = self.templates.get(*role) {
                out.push_str(&format!("{field} = {:?}\n", rewrite(role, template)));
            }
        }
        if let Some(revoke) = &self.revoke {
            let url = rewrite("revoke", &revoke.template);
            out.push_str(&format!("[{}.revoke]\nurl = {url:?}\n", self.key));
        }
        out
    }
}

/// A request the proxy made to a provider's API.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub query: String,
}

/// The emulator's record of one provider.
#[derive(Default, Debug, Clone)]
pub struct Played {
    pub access: String,
    pub refresh: String,
    issued: u32,
    challenge: Option<String>,
    redirect_uri: String,
    pub revoked: Vec<String>,
    pub api_calls: Vec<ApiCall>,
    pub token_calls: u32,
}

#[derive(Default)]
struct State {
    specs: Mutex<BTreeMap<String, Spec>>,
    played: Mutex<BTreeMap<String, Played>>,
    refused: Mutex<Vec<String>>,
}

pub struct Emulator {
    pub url: String,
    state: Arc<State>,
    _server: ServerHandle,
}

fn set_path(root: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut at = root;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let next_is_index = parts.get(i + 1).is_some_and(|p| p.parse::<usize>().is_ok());
        let fresh = || match next_is_index {
            true => json!([]),
            false => json!({}),
        };
        at = match part.parse::<usize>() {
            Ok(index) if at.is_array() => {
                let items = at.as_array_mut().unwrap();
                while items.len() <= index {
                    items.push(fresh());
                }
                &mut items[index]
            }
            _ => {
                let object = at.as_object_mut().unwrap();
                if last {
                    object.insert(part.to_string(), value);
                    return;
                }
                object.entry(part.to_string()).or_insert_with(fresh)
            }
        };
        if last {
            *at = value;
            return;
        }
    }
}

/// The request's parameters: a form or a JSON object of strings.
fn params_of(body: &[u8], json: bool) -> Option<HashMap<String, String>> {
    if json {
        let map: Map<String, Value> = serde_json::from_slice(body).ok()?;
        return Some(
            map.into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect(),
        );
    }
    serde_urlencoded::from_bytes(body).ok()
}

fn basic_of(request: &HttpRequest) -> Option<(String, String)> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded)
        .ok()?
        .split_once(':')?
        .to_owned();
    Some((id.to_string(), secret.to_string()))
}

fn header(request: &HttpRequest, name: &str) -> String {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl Emulator {
    pub fn start(specs: Vec<Spec>) -> Emulator {
        let state = Arc::new(State {
            specs: Mutex::new(specs.into_iter().map(|s| (s.key.clone(), s)).collect()),
            ..State::default()
        });
        let shared = web::Data::from(Arc::clone(&state));
        let (addr, server) = super::local_server("127.0.0.1:0", 2, move |cfg| {
            cfg.app_data(shared.clone())
                .default_service(web::to(handle));
        });
        Emulator {
            url: format!("http://{addr}"),
            state,
            _server: server,
        }
    }

    /// Changes a spec after start (a test that needs the emulator's own URL in a reply).
    pub fn adjust(&self, key: &str, change: impl FnOnce(&mut Spec)) {
        if let Some(spec) = self.state.specs.lock().unwrap().get_mut(key) {
            change(spec);
        }
    }

    pub fn played(&self, key: &str) -> Played {
        self.state
            .played
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Everything refused so far, `key: reason`.
    pub fn refused(&self) -> Vec<String> {
        self.state.refused.lock().unwrap().clone()
    }
}

async fn handle(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let path = request.path().to_string();
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let (key, role) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let Some(spec) = state.specs.lock().unwrap().get(key).cloned() else {
        return HttpResponse::NotFound().finish();
    };
    let spec = &spec;
    let refuse = |why: String| {
        state
            .refused
            .lock()
            .unwrap()
            .push(format!("{key}: {role}: {why}"));
        HttpResponse::BadRequest()
            .json(json!({"error": "invalid_request", "error_description": why}))
    };
    if role != "api" && spec.expected_path(role).as_deref() != Some(path.as_str()) {
        return refuse(format!(
            "called {path}, expected {:?}",
            spec.expected_path(role)
        ));
    }
    let mut played = state.played.lock().unwrap();
    let played = played.entry(key.to_string()).or_default();
    let outcome = match role {
        "authorize" => authorize(spec, played, &request),
        "token" | "mint" => token(spec, played, &request, &body),
        "userinfo" => userinfo(spec, played, &request),
        "revoke" => revoke(spec, played, &request, &body),
        "api" => {
            let headers = request
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            played.api_calls.push(ApiCall {
                path: path.clone(),
                headers,
                query: request.query_string().to_string(),
            });
            Ok(HttpResponse::Ok().json(json!({"ok": true})))
        }
        other => Err(format!("no such role {other}")),
    };
    outcome.unwrap_or_else(refuse)
}

fn authorize(
    spec: &Spec,
    played: &mut Played,
    request: &HttpRequest,
) -> Result<HttpResponse, String> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(request.query_string()).map_err(|e| e.to_string())?;
    let q = |name: &str| query.get(name).cloned().unwrap_or_default();
    if q("response_type") != "code" || q("client_id") != CLIENT_ID || q("state").is_empty() {
        return Err(format!("bad authorize request {query:?}"));
    }
    let challenge = query.get("code_challenge").cloned();
    if spec.pkce != challenge.is_some() || (spec.pkce && q("code_challenge_method") != "S256") {
        return Err(format!("PKCE: expected {}, got {challenge:?}", spec.pkce));
    }
    if !spec.default_scopes.is_empty() {
        let wanted = spec.default_scopes.join(&spec.separator);
        if q(&spec.scope_param) != wanted {
            return Err(format!(
                "{} = {:?}, expected {wanted:?}",
                spec.scope_param,
                q(&spec.scope_param)
            ));
        }
    }
    for (name, value) in &spec.authorize_params {
        if &q(name) != value {
            return Err(format!("authorize parameter {name} missing"));
        }
    }
    played.challenge = challenge;
    played.redirect_uri = q("redirect_uri");
    let mut target = reqwest::Url::parse(&q("redirect_uri")).map_err(|e| e.to_string())?;
    target
        .query_pairs_mut()
        .append_pair("code", &format!("code-{}", spec.key))
        .append_pair("state", &q("state"));
    if let Some(issuer) = &spec.issuer {
        target.query_pairs_mut().append_pair("iss", issuer);
    }
    for (field, path) in &spec.metadata {
        if let Some(param) = path.strip_prefix("callback.") {
            target
                .query_pairs_mut()
                .append_pair(param, &spec.config[field]);
        }
    }
    Ok(HttpResponse::Found()
        .insert_header(("Location", target.to_string()))
        .finish())
}

/// Client authentication as the entry says: Basic alone, or both in the body.
fn client_of(
    spec: &Spec,
    request: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<(String, String), String> {
    let in_body = (
        params.get("client_id").cloned(),
        params.get("client_secret").cloned(),
    );
    match (spec.basic, basic_of(request), in_body) {
        (true, Some(pair), (_, None)) => Ok(pair),
        (false, None, (Some(id), Some(secret))) => Ok((id, secret)),
        (basic, header, body) => Err(format!(
            "client auth: expected {}, got Basic {} and body {:?}",
            if basic { "basic" } else { "body" },
            header.is_some(),
            body.0.is_some()
        )),
    }
}

fn token(
    spec: &Spec,
    played: &mut Played,
    request: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, String> {
    played.token_calls += 1;
    let content_type = header(request, "content-type");
    let wanted = match spec.json {
        true => "application/json",
        false => "application/x-www-form-urlencoded",
    };
    if !content_type.starts_with(wanted) {
        return Err(format!("body as {content_type:?}, expected {wanted}"));
    }
    let params = params_of(body, spec.json).ok_or("unreadable body")?;
    let p = |name: &str| params.get(name).cloned().unwrap_or_default();
    let (id, secret) = client_of(spec, request, &params)?;
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return Err("wrong client".into());
    }
    let grant = p("grant_type");
    let exchange = grant == "authorization_code";
    match grant.as_str() {
        "authorization_code" => {
            if p("code") != format!("code-{}", spec.key) || p("redirect_uri") != played.redirect_uri
            {
                return Err("code or redirect_uri differs".into());
            }
            let verifier = params.get("code_verifier");
            let expected = played.challenge.clone();
            let proved = verifier.map(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(v.as_bytes()))
            });
            if proved != expected {
                return Err("code_verifier does not match the challenge".into());
            }
            played.refresh = format!("rt-{}-1", spec.key);
        }
        "refresh_token" => {
            if p("refresh_token") != played.refresh {
                return Err(format!(
                    "refresh_token {:?} is not the current one",
                    p("refresh_token")
                ));
            }
            if spec.rotates {
                played.refresh = format!("rt-{}-{}", spec.key, played.issued + 1);
            }
        }
        "client_credentials" => {}
        other => return Err(format!("grant_type {other:?}")),
    }
    played.issued += 1;
    played.access = format!("at-{}-{}", spec.key, played.issued);
    let mut tokens = json!({"access_token": played.access, "token_type": "bearer"});
    if spec.gives_expiry {
        tokens["expires_in"] = json!(3600);
    }
    if exchange || (grant == "refresh_token" && spec.rotates) {
        tokens["refresh_token"] = json!(played.refresh);
    }
    if !spec.default_scopes.is_empty() {
        tokens["scope"] = json!(spec.default_scopes.join(&spec.separator));
    }
    let mut reply = match (&spec.reply_path, exchange) {
        (Some(path), true) => {
            let mut reply = json!({"ok": true});
            set_path(&mut reply, path, tokens);
            reply
        }
        _ => tokens,
    };
    if exchange {
        for (field, path) in &spec.metadata {
            if !path.starts_with("callback.") {
                set_path(&mut reply, path, json!(spec.config[field]));
            }
        }
        if !spec.has_userinfo {
            account_into(spec, &mut reply);
        }
    }
    Ok(HttpResponse::Ok().json(reply))
}

fn account_into(spec: &Spec, reply: &mut Value) {
    let [id, email, name] = &spec.account;
    set_path(reply, id, json!(format!("acct-{}", spec.key)));
    if email != id {
        set_path(reply, email, json!(format!("user@{}.example", spec.key)));
    }
    if name != id && name != email {
        set_path(reply, name, json!("Conformance User"));
    }
}

fn userinfo(
    spec: &Spec,
    played: &mut Played,
    request: &HttpRequest,
) -> Result<HttpResponse, String> {
    let method = request.method().as_str();
    if (method == "POST") != spec.userinfo_post {
        return Err(format!("userinfo by {method}"));
    }
    if header(request, "authorization") != format!("Bearer {}", played.access) {
        return Err("userinfo without the access token".into());
    }
    let mut reply = json!({});
    account_into(spec, &mut reply);
    Ok(HttpResponse::Ok().json(reply))
}

fn revoke(
    spec: &Spec,
    played: &mut Played,
    request: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, String> {
    let rule = spec.revoke.as_ref().ok_or("no revocation in the entry")?;
    if request.method().as_str() != rule.method {
        return Err(format!("revoke by {}", request.method()));
    }
    let token = match (rule.refresh, played.refresh.is_empty()) {
        (true, false) => played.refresh.clone(),
        _ => played.access.clone(),
    };
    let params = match rule.format.as_str() {
        "json" => params_of(body, true).ok_or("revoke body is not JSON")?,
        "form" => params_of(body, false).ok_or("revoke body is not a form")?,
        _ if body.is_empty() => HashMap::new(),
        _ => return Err("revoke carries a body where the entry says none".into()),
    };
    match rule.auth.as_str() {
        "bearer" => {
            if header(request, "authorization") != format!("Bearer {token}") {
                return Err("revoke without the bearer token".into());
            }
        }
        "client" => {
            // A DELETE authenticates the client with Basic (GitHub's only form).
            let spec = Spec {
                basic: spec.basic || rule.method == "DELETE",
                ..spec.clone()
            };
            if client_of(&spec, request, &params)? != (CLIENT_ID.into(), CLIENT_SECRET.into()) {
                return Err("revoke by the wrong client".into());
            }
        }
        _ => {
            if request.headers().contains_key("authorization")
                || params.contains_key("client_secret")
            {
                return Err("revoke authenticates where the entry says none".into());
            }
        }
    }
    if rule.auth != "bearer" && params.get(&rule.token_field) != Some(&token) {
        return Err(format!(
            "revoke names {:?} in {}, expected the {} token",
            params.get(&rule.token_field),
            rule.token_field,
            if rule.refresh { "refresh" } else { "access" }
        ));
    }
    played.revoked.push(token);
    Ok(HttpResponse::Ok().json(json!({})))
}

// The API side of a conformance check: tokenvault driven through its HTTP API as an app would.

pub const APP: &str = "https://app.example.com/oauth/done";

/// As a deployment would run it: a public URL, the app's redirect allowed, a platform client
/// for each of `keys`, and the proxy allowed to reach the emulator on this machine.
pub fn deployed(c: &mut tokenvault::config::Config, keys: Vec<String>) {
    c.public_url = "https://vault.example.com".into();
    c.redirect_allowlist = vec![APP.into()];
    c.proxy.allow_private = true;
    for key in keys {
        let client = OAuthClient {
            client_id: Secret::new(CLIENT_ID.into()),
            client_secret: Some(Secret::new(CLIENT_SECRET.into())),
        };
        c.oauth_clients.insert(key, client);
    }
}

pub fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

pub fn expect(response: &TestResponse, status: u16, what: &str) -> Result<(), String> {
    ensure(response.status.as_u16() == status, || {
        format!("{what}: {} {}", response.status, response.body)
    })
}

/// The authorization URL played by a browser: the provider's answer, then tokenvault's.
pub async fn browse(app: &TestApp, authorization_url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let at_provider = client
        .get(authorization_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = at_provider.status();
    let location = at_provider
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(location) = location else {
        let body = at_provider.text().await.unwrap_or_default();
        return Err(format!("authorize answered {status}: {body}"));
    };
    let back = reqwest::Url::parse(&location).map_err(|e| e.to_string())?;
    let uri = format!("{}?{}", back.path(), back.query().unwrap_or_default());
    let landed = app
        .call(actix_web::test::TestRequest::get().uri(&uri))
        .await;
    expect(&landed, 302, "callback")?;
    let to = landed.headers.get("location").and_then(|v| v.to_str().ok());
    Ok(to.unwrap_or_default().to_string())
}

/// Whether the proxied call carried `secret` where `api_auth` says.
pub fn placed(
    api_auth: &str,
    secret: &str,
    basic: Option<(&str, &str)>,
    call: &ApiCall,
) -> Result<(), String> {
    let (headers, query) = (&call.headers, &call.query);
    let got = |name: &str| {
        headers
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    };
    let parts: Vec<&str> = api_auth.splitn(3, ':').collect();
    let ok = match parts.as_slice() {
        ["bearer"] => got("authorization") == format!("Bearer {secret}"),
        ["basic"] => {
            let (user, password) = basic.unwrap_or((secret, ""));
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            got("authorization") == format!("Basic {encoded}")
        }
        ["header", name] => got(name) == secret,
        ["header", name, prefix] => got(name) == format!("{prefix} {secret}"),
        ["query", param] => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query).unwrap_or_default();
            pairs.contains(&(param.to_string(), secret.to_string()))
        }
        ["query", param, secret_param] => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query).unwrap_or_default();
            let second = basic.map(|(_, s)| s).unwrap_or_default();
            pairs.contains(&(param.to_string(), secret.to_string()))
                && pairs.contains(&(secret_param.to_string(), second.to_string()))
        }
        _ => false,
    };
    ensure(ok, || {
        format!("proxy: credential not placed as {api_auth}: {headers:?} ?{query}")
    })
}

pub async fn proxied(
    app: &TestApp,
    emulator: &Emulator,
    spec: &Spec,
    user: &str,
) -> Result<ApiCall, String> {
    let path = format!("/v2/users/{user}/proxy/{}/ping", spec.key);
    let answer = app.get(&path, &app.admin_key).await;
    expect(&answer, 200, "proxy")?;
    emulator
        .played(&spec.key)
        .api_calls
        .last()
        .cloned()
        .ok_or_else(|| "proxy: nothing arrived".to_string())
}

/// Connects `user`'s account at the emulated provider through the API and the browser dance.
pub async fn connect(app: &TestApp, spec: &Spec, user: &str) -> Result<(), String> {
    let body = json!({"provider": spec.key, "redirect_uri": APP,
                      "connection_config": spec.caller_config()});
    let started = app
        .post(&format!("/v2/users/{user}/connect"), &app.admin_key, &body)
        .await;
    expect(&started, 201, "connect")?;
    let landing = browse(
        app,
        started.body["authorization_url"]
            .as_str()
            .unwrap_or_default(),
    )
    .await?;
    ensure(landing.contains("status=connected"), || {
        format!("landed on {landing}")
    })?;
    Ok(())
}

pub async fn oauth(app: &TestApp, emulator: &Emulator, spec: &Spec) -> Result<(), String> {
    let user = format!("u-{}", spec.key);
    let tokens = format!("/v2/users/{user}/tokens/{}", spec.key);
    connect(app, spec, &user).await?;
    let got = app.get(&tokens, &app.admin_key).await;
    expect(&got, 200, "get")?;
    let access = |got: &TestResponse| got.body["token_data"]["access_token"].clone();
    ensure(
        access(&got) == json!(emulator.played(&spec.key).access),
        || format!("get after connect: {}", got.body),
    )?;
    ensure(
        got.body["account"]["id"] == json!(format!("acct-{}", spec.key)),
        || format!("account: {}", got.body["account"]),
    )?;
    ensure(got.body["connection_config"] == json!(spec.config), || {
        format!("connection_config: {}", got.body["connection_config"])
    })?;
    for round in 1..=2 {
        let refreshed = app
            .post(&format!("{tokens}/refresh"), &app.admin_key, &json!({}))
            .await;
        expect(&refreshed, 200, &format!("refresh {round}"))?;
        let got = app.get(&tokens, &app.admin_key).await;
        ensure(
            access(&got) == json!(emulator.played(&spec.key).access),
            || format!("get after refresh {round}: {}", got.body),
        )?;
    }
    if spec.has_api() {
        let access = emulator.played(&spec.key).access;
        placed(
            &spec.api_auth,
            &access,
            None,
            &proxied(app, emulator, spec, &user).await?,
        )?;
    }
    let deleted = app.delete(&tokens, &app.admin_key).await;
    expect(&deleted, 200, "delete")?;
    let revocation = deleted.body["revocation"].clone();
    match &spec.revoke {
        Some(_) => ensure(
            revocation == "revoked" && !emulator.played(&spec.key).revoked.is_empty(),
            || format!("revocation {}: {}", revocation, deleted.body),
        ),
        None => ensure(revocation == "not_supported", || {
            format!("revocation {revocation}")
        }),
    }
}
