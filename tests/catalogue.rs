//! The catalogue, end to end: every entry of the embedded `providers.toml` played by a local
//! emulator configured from that entry's own fields (`common::emulator`), through the real HTTP
//! API over a real database. For each OAuth entry: connect (authorize parameters, PKCE, the
//! callback's `iss` and metadata) → code exchange (client auth, body format, reply path) →
//! account → two refreshes (rotation) → a proxied call (`api_auth`) → delete with revocation.
//! Client-credentials entries mint; API-key and basic entries are proxied with the credential
//! where `api_auth` puts it, and keys without the documented prefix are refused. This proves
//! the entries consistent with what tokenvault does; whether each entry is true to its
//! provider is the documentation's word (docs/CATALOGUE.md says which parts were checked).

mod common;

use actix_web::test::TestRequest;
use base64::Engine;
use common::emulator::{CLIENT_ID, CLIENT_SECRET, Emulator, Spec};
use common::{TestApp, TestResponse};
use serde_json::{Value, json};
use tokenvault::providers::OAuthClient;
use tokenvault::secret::Secret;

const APP: &str = "https://app.example.com/oauth/done";
const CATALOGUE: &str = include_str!("../src/providers/providers.toml");

fn specs() -> Vec<Spec> {
    let root: toml::Table = CATALOGUE.parse().unwrap();
    root.iter()
        .map(|(key, table)| {
            Spec::of(key, table.as_table().unwrap()).unwrap_or_else(|e| panic!("[{key}]: {e}"))
        })
        .collect()
}

async fn app_for(emulator: &Emulator, specs: &[Spec]) -> TestApp {
    let toml: String = specs.iter().map(|s| s.overrides(&emulator.url)).collect();
    let connectable: Vec<String> = specs
        .iter()
        .filter(|s| s.connectable)
        .map(|s| s.key.clone())
        .collect();
    TestApp::new()
        .with_providers_toml(toml)
        .config(move |c| {
            c.public_url = "https://vault.example.com".into();
            c.redirect_allowlist = vec![APP.into()];
            c.proxy.allow_private = true;
            for key in connectable {
                let client = OAuthClient {
                    client_id: Secret::new(CLIENT_ID.into()),
                    client_secret: Some(Secret::new(CLIENT_SECRET.into())),
                };
                c.oauth_clients.insert(key, client);
            }
        })
        .start()
        .await
}

fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
}

fn expect(response: &TestResponse, status: u16, what: &str) -> Result<(), String> {
    ensure(response.status.as_u16() == status, || {
        format!("{what}: {} {}", response.status, response.body)
    })
}

/// The authorization URL played by a browser: the provider's answer, then tokenvault's.
async fn browse(app: &TestApp, authorization_url: &str) -> Result<String, String> {
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
    let landed = app.call(TestRequest::get().uri(&uri)).await;
    expect(&landed, 302, "callback")?;
    let to = landed.headers.get("location").and_then(|v| v.to_str().ok());
    Ok(to.unwrap_or_default().to_string())
}

/// Whether the proxied call carried `secret` where `api_auth` says.
fn placed(
    api_auth: &str,
    secret: &str,
    basic: Option<(&str, &str)>,
    call: &(std::collections::HashMap<String, String>, String),
) -> Result<(), String> {
    let (headers, query) = call;
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
        _ => false,
    };
    ensure(ok, || {
        format!("proxy: credential not placed as {api_auth}: {headers:?} ?{query}")
    })
}

async fn proxied(
    app: &TestApp,
    emulator: &Emulator,
    spec: &Spec,
    user: &str,
) -> Result<(std::collections::HashMap<String, String>, String), String> {
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

async fn oauth(app: &TestApp, emulator: &Emulator, spec: &Spec) -> Result<(), String> {
    let user = format!("u-{}", spec.key);
    let tokens = format!("/v2/users/{user}/tokens/{}", spec.key);
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

async fn minted(app: &TestApp, emulator: &Emulator, spec: &Spec) -> Result<(), String> {
    let user = format!("cc-{}", spec.key);
    let body = json!({"integration_key": spec.key, "provider": spec.key,
        "token_type": "client_credentials",
        "token_data": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "tenant": "contoso"}});
    let stored = app
        .post(&format!("/v2/users/{user}/tokens"), &app.admin_key, &body)
        .await;
    expect(&stored, 201, "store client credentials")?;
    let got = app
        .get(
            &format!("/v2/users/{user}/tokens/{}", spec.key),
            &app.admin_key,
        )
        .await;
    expect(&got, 200, "mint")?;
    let played = emulator.played(&spec.key).access;
    ensure(
        got.body["token_data"]["access_token"] == json!(played),
        || format!("minted: {}", got.body),
    )
}

/// A key with the entry's documented prefix (the pattern's first alternatives), or any key.
fn key_for(pattern: Option<&str>) -> String {
    let mut prefix = String::new();
    let mut chars = pattern
        .unwrap_or("^")
        .trim_start_matches('^')
        .chars()
        .peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ')').collect();
                prefix.push_str(inner.split('|').next().unwrap_or_default());
            }
            '[' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                prefix.extend(inner.chars().next());
            }
            '\\' => prefix.extend(chars.next()),
            '$' => break,
            c => prefix.push(c),
        }
    }
    format!("{prefix}CONFORMANCE-KEY-0123456789")
}

async fn keyed(app: &TestApp, emulator: &Emulator, spec: &Spec) -> Result<(), String> {
    let user = format!("k-{}", spec.key);
    let key = key_for(spec.key_pattern.as_deref());
    let store = |token_data: Value, kind: &str| json!({"integration_key": spec.key, "provider": spec.key, "token_type": kind, "token_data": token_data});
    if spec.key_pattern.is_some() {
        let wrong = "zz-NOT-THIS-PROVIDERS-KEY";
        let refused = app
            .post(
                &format!("/v2/users/{user}/tokens"),
                &app.admin_key,
                &store(json!({"api_key": wrong}), "api_key"),
            )
            .await;
        expect(&refused, 422, "a key without the prefix")?;
        ensure(!refused.body.to_string().contains(wrong), || {
            "the refused key was echoed".into()
        })?;
    }
    if spec.token_types.iter().any(|t| t == "api_key") {
        let stored = app
            .post(
                &format!("/v2/users/{user}/tokens"),
                &app.admin_key,
                &store(
                    json!({"api_key": key, "api_secret": "conformance-secret"}),
                    "api_key",
                ),
            )
            .await;
        expect(&stored, 201, "store api key")?;
        if spec.has_api() {
            let secret = Some((key.as_str(), "conformance-secret"));
            placed(
                &spec.api_auth,
                &key,
                secret,
                &proxied(app, emulator, spec, &user).await?,
            )?;
        }
    }
    if spec.token_types.iter().any(|t| t == "basic") {
        let user = format!("b-{}", spec.key);
        let data = json!({"username": "ACconformance", "password": "basic-secret"});
        let stored = app
            .post(
                &format!("/v2/users/{user}/tokens"),
                &app.admin_key,
                &store(data, "basic"),
            )
            .await;
        expect(&stored, 201, "store basic")?;
        if spec.has_api() {
            let call = proxied(app, emulator, spec, &user).await?;
            placed("basic", "", Some(("ACconformance", "basic-secret")), &call)?;
        }
    }
    Ok(())
}

#[actix_web::test]
async fn every_catalogue_entry_plays_its_provider_as_its_fields_say() {
    let specs = specs();
    assert!(specs.len() >= 60, "{} entries", specs.len());
    let emulator = Emulator::start(specs.clone());
    let app = app_for(&emulator, &specs).await;
    let mut failures = Vec::new();
    let (mut oauth_checked, mut keys_checked, mut minting_checked) = (0, 0, 0);
    for spec in &specs {
        let kinds = |kind: &str| spec.token_types.iter().any(|t| t == kind);
        let mut results = Vec::new();
        if spec.connectable {
            results.push(oauth(&app, &emulator, spec).await);
            oauth_checked += 1;
        }
        if kinds("client_credentials") {
            results.push(minted(&app, &emulator, spec).await);
            minting_checked += 1;
        }
        if kinds("api_key") || kinds("basic") {
            results.push(keyed(&app, &emulator, spec).await);
            keys_checked += 1;
        }
        failures.extend(
            results
                .into_iter()
                .filter_map(Result::err)
                .map(|e| format!("{}: {e}", spec.key)),
        );
    }
    failures.extend(emulator.refused());
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(oauth_checked >= 40, "{oauth_checked} OAuth entries checked");
    assert!(
        keys_checked >= 15 && minting_checked >= 2,
        "{keys_checked} keyed, {minting_checked} minting"
    );
}
