//! Tenant providers, end to end: a tenant adds a provider at run time (or its own OAuth app for
//! a catalogue provider) through the API, and it serves store, connect, refresh, proxy and
//! revoke like a catalogue entry — for that tenant only. The provider is the conformance
//! emulator (`common::emulator`), which checks which client id arrives.

mod common;

use common::TestApp;
use common::emulator::{APP, CLIENT_ID, CLIENT_SECRET, Emulator, Spec, connect, deployed, oauth};
use serde_json::{Map, Value, json};
use tokenvault::providers::OAuthClient;
use tokenvault::secret::Secret;

/// Acme as a tenant would describe it (its real URLs), the emulator's spec of it, and the body
/// that adds it with its URLs at the emulator.
fn acme(emulator_url: Option<&str>) -> (Map<String, Value>, Spec) {
    let fields = json!({
        "display_name": "Acme",
        "token_types": ["oauth2"],
        "env_var": "ACME_TOKEN",
        "token_url": "https://auth.acme.example/oauth/token",
        "authorize_url": "https://auth.acme.example/oauth/authorize",
        "userinfo_url": "https://api.acme.example/me",
        "api_base_url": "https://api.acme.example/v1",
        "client_auth": "basic",
        "rotates_refresh_token": true,
        "default_scopes": ["read"],
        "scopes": {"read": "Read everything", "write": "Change things"},
        "revoke": {"url": "https://auth.acme.example/oauth/revoke", "method": "POST",
                   "auth": "client", "format": "form", "token": "refresh"},
    });
    let table = toml::Value::try_from(&fields)
        .unwrap()
        .as_table()
        .unwrap()
        .clone();
    let spec = Spec::of("acme", &table).unwrap();
    let mut body = fields.as_object().unwrap().clone();
    if let Some(url) = emulator_url {
        let rewritten: toml::Table = spec.overrides(url).parse().unwrap();
        let acme = rewritten["acme"].as_table().unwrap();
        for (field, value) in acme {
            match value {
                toml::Value::String(s) => {
                    body.insert(field.clone(), json!(s));
                }
                toml::Value::Table(t) if field == "revoke" => {
                    body["revoke"]["url"] = json!(t["url"].as_str().unwrap());
                }
                _ => {}
            }
        }
    }
    (body, spec)
}

async fn app_with_platform(google_client: &str) -> TestApp {
    let google = OAuthClient {
        client_id: Secret::new(google_client.into()),
        client_secret: Some(Secret::new(CLIENT_SECRET.into())),
    };
    TestApp::new()
        .config(move |c| {
            deployed(c, vec![]);
            c.oauth_clients.insert("google".into(), google);
        })
        .start()
        .await
}

fn with_client(mut body: Map<String, Value>, key: &str) -> Value {
    body.insert("key".into(), json!(key));
    body.insert(
        "client".into(),
        json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
    );
    Value::Object(body)
}

#[actix_web::test]
async fn a_tenants_own_provider_connects_refreshes_proxies_and_revokes() {
    let (_, spec) = acme(None);
    let emulator = Emulator::start(vec![spec.clone()]);
    let (body, _) = acme(Some(&emulator.url));
    let app = app_with_platform("platform-google").await;

    let added = app
        .post(
            "/v2/providers",
            &app.admin_key,
            &with_client(body.clone(), "acme"),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["source"], "tenant");
    assert_eq!(added.body["supports_connect"], true);
    assert_eq!(added.body["own_client"], true);
    let shown = added.body.to_string();
    assert!(
        !shown.contains(CLIENT_SECRET) && !shown.contains(CLIENT_ID),
        "{shown}"
    );

    let listed = app.get("/v2/providers", &app.admin_key).await;
    let acme = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "acme")
        .cloned();
    assert_eq!(acme.unwrap()["source"], "tenant");
    assert!(!listed.body.to_string().contains(CLIENT_SECRET));

    // Connect → exchange (Basic with the tenant's client, checked by the emulator) → account →
    // two refreshes → a proxied call → delete with revocation.
    oauth(&app, &emulator, &spec).await.unwrap();
    assert_eq!(emulator.refused(), Vec::<String>::new());

    let again = app
        .post("/v2/providers", &app.admin_key, &with_client(body, "acme"))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.error(), "conflict");
}

#[actix_web::test]
async fn another_tenant_neither_sees_nor_uses_the_provider() {
    let (_, spec) = acme(None);
    let emulator = Emulator::start(vec![spec]);
    let (body, _) = acme(Some(&emulator.url));
    let app = app_with_platform("platform-google").await;
    let added = app
        .post("/v2/providers", &app.admin_key, &with_client(body, "acme"))
        .await;
    assert_eq!(added.status, 201, "{}", added.body);

    let other = app.create_key("other", "admin", None);
    let listed = app.get("/v2/providers", &other).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["provider"] != "acme")
    );
    assert_eq!(app.get("/v2/providers/acme", &other).await.status, 404);
    let store = json!({"integration_key": "acme", "provider": "acme", "token_type": "oauth2",
                       "token_data": {"access_token": "at", "refresh_token": "rt"}});
    let refused = app.post("/v2/users/u1/tokens", &other, &store).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let connect_body = json!({"provider": "acme", "redirect_uri": APP});
    let refused = app
        .post("/v2/users/u1/connect", &other, &connect_body)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(app.delete("/v2/providers/acme", &other).await.status, 404);

    // A key without admin cannot add one.
    let writer = app.create_key("default", "tokens:read,tokens:write", None);
    let (body, _) = acme(Some(&emulator.url));
    let forbidden = app
        .post("/v2/providers", &writer, &with_client(body, "acme2"))
        .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
}

#[actix_web::test]
async fn a_tenants_own_app_for_google_wins_over_the_platforms() {
    let google: toml::Table = toml::from_str::<toml::Table>(include_str!(
        "../src/providers/providers.toml"
    ))
    .unwrap()["google"]
        .as_table()
        .unwrap()
        .clone();
    let spec = Spec::of("google", &google).unwrap();
    let emulator = Emulator::start(vec![spec.clone()]);
    let overrides = spec.overrides(&emulator.url);
    // The deployment points Google at the emulator; its platform client is not the one the
    // emulator accepts.
    let app = TestApp::new()
        .with_providers_toml(overrides)
        .config(|c| {
            c.public_url = "https://vault.example.com".into();
            c.redirect_allowlist = vec![APP.into()];
            c.oauth_clients.insert(
                "google".into(),
                OAuthClient {
                    client_id: Secret::new("platform-google".into()),
                    client_secret: Some(Secret::new("platform-secret".into())),
                },
            );
        })
        .start()
        .await;
    let other = app.create_key("other", "admin", None);

    // Without its own app, the tenant connects with the platform's client: the provider
    // refuses it.
    let started = app
        .post(
            "/v2/users/u1/connect",
            &other,
            &json!({"provider": "google", "redirect_uri": APP}),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert!(
        started.body["authorization_url"]
            .as_str()
            .unwrap()
            .contains("client_id=platform-google")
    );

    // The default tenant brings its own: connect, exchange and refresh use it.
    let own = json!({"key": "google", "client": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}});
    let added = app.post("/v2/providers", &app.admin_key, &own).await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        added.body["display_name"], "Google Workspace",
        "the catalogue's fields stay"
    );
    connect(&app, &spec, "u1").await.unwrap();
    let refreshed = app
        .post(
            "/v2/users/u1/tokens/google/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(emulator.refused(), Vec::<String>::new());

    // Deleting it while a credential uses it needs force; then the platform's client is back.
    let refused = app.delete("/v2/providers/google", &app.admin_key).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let deleted = app
        .delete("/v2/providers/google?force=true", &app.admin_key)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let started = app
        .post(
            "/v2/users/u2/connect",
            &app.admin_key,
            &json!({"provider": "google", "redirect_uri": APP}),
        )
        .await;
    assert!(
        started.body["authorization_url"]
            .as_str()
            .unwrap()
            .contains("client_id=platform-google")
    );
}

#[actix_web::test]
async fn a_provider_that_cannot_serve_is_refused_with_every_problem() {
    let app = app_with_platform("platform-google").await;
    let bad = json!({"key": "broken", "display_name": "Broken", "token_types": ["oauth2"],
        "env_var": "B", "token_url": "not a url", "authorize_url": "https://{tenant_host}/authorize"});
    let refused = app.post("/v2/providers", &app.admin_key, &bad).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let message = refused.message();
    assert!(
        message.contains("token_url \"not a url\" is not an absolute http(s) URL"),
        "{message}"
    );
    assert!(
        message.contains("{tenant_host}, which connection_config does not declare"),
        "{message}"
    );
    let unknown = json!({"key": "acme", "display_name": "A", "token_types": ["api_key"],
        "env_var": "A", "colour": "blue"});
    let refused = app.post("/v2/providers", &app.admin_key, &unknown).await;
    assert_eq!(refused.status, 422);
    assert!(refused.message().contains("colour"), "{}", refused.body);
    let key = json!({"key": "Not A Key", "display_name": "A", "token_types": ["api_key"], "env_var": "A"});
    assert_eq!(
        app.post("/v2/providers", &app.admin_key, &key).await.status,
        422
    );
    assert_eq!(
        app.get("/v2/providers/broken", &app.admin_key).await.status,
        404
    );
}

#[actix_web::test]
async fn a_tenant_provider_changes_and_is_deleted() {
    let app = app_with_platform("platform-google").await;
    let body = json!({"key": "keyed", "display_name": "Keyed", "token_types": ["api_key"],
        "env_var": "KEYED_KEY", "key_pattern": "^kd_", "key_hint": "Keys start with kd_"});
    assert_eq!(
        app.post("/v2/providers", &app.admin_key, &body)
            .await
            .status,
        201
    );
    let store = |key: &str| {
        json!({"integration_key": "keyed", "provider": "keyed",
        "token_type": "api_key", "token_data": {"api_key": key}})
    };
    assert_eq!(
        app.post("/v2/users/u1/tokens", &app.admin_key, &store("zz"))
            .await
            .status,
        422
    );
    let changed = app
        .call(
            actix_web::test::TestRequest::patch()
                .uri("/v2/providers/keyed")
                .insert_header(("X-API-Key", app.admin_key.as_str()))
                .set_json(
                    json!({"key_pattern": null, "key_hint": null, "display_name": "Keyed 2"}),
                ),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["display_name"], "Keyed 2");
    assert_eq!(
        app.post("/v2/users/u1/tokens", &app.admin_key, &store("zz"))
            .await
            .status,
        201
    );
    let got = app.get("/v2/providers/keyed", &app.admin_key).await;
    assert_eq!(got.body["definition"]["display_name"], "Keyed 2");
    assert_eq!(
        app.delete("/v2/providers/keyed", &app.admin_key)
            .await
            .status,
        409
    );
    assert_eq!(
        app.delete("/v2/providers/keyed?force=true", &app.admin_key)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get("/v2/providers/keyed", &app.admin_key).await.status,
        404
    );
}

#[actix_web::test]
async fn rotate_key_re_encrypts_the_client_secrets() {
    let old = tokenvault::crypto::generate_key();
    let new = tokenvault::crypto::generate_key();
    let old_key = old.clone();
    let app = TestApp::new()
        .config(move |c| {
            c.encryption_keys = Some(old_key.into());
            c.proxy.allow_private = true;
        })
        .start()
        .await;
    let (body, _) = acme(Some("http://127.0.0.1:9"));
    let added = app
        .post("/v2/providers", &app.admin_key, &with_client(body, "acme"))
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let out = common::tokenvault_command(&app.db, &format!("{new},{old}"))
        .arg("rotate-key")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 tenant provider client secret(s) re-encrypted"),
        "{stderr}"
    );
    assert!(!stderr.contains(CLIENT_SECRET));
    // Served with the new key alone, the entry and its client are there.
    let new_key = new.clone();
    let rotated = app
        .instance_with(move |c| {
            c.encryption_keys = Some(new_key.into());
            c.proxy.allow_private = true;
        })
        .await;
    let listed = rotated.get("/v2/providers", &rotated.admin_key).await;
    let acme = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "acme")
        .cloned();
    assert_eq!(acme.expect("acme after rotation")["supports_connect"], true);
}

#[actix_web::test]
async fn the_cli_adds_and_removes_a_tenant_provider() {
    let app = app_with_platform("platform-google").await;
    let url = app.listen().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keyed.toml");
    std::fs::write(
        &file,
        "[keyed]\ndisplay_name = \"Keyed\"\ntoken_types = [\"api_key\"]\nenv_var = \"KEYED_KEY\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let added = common::tv(
        &url,
        &app.admin_key,
        &["providers", "add", "keyed", "--file", path],
    )
    .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(
        added.stdout.contains("added keyed (Keyed)"),
        "{}",
        added.stdout
    );
    let listed = common::tv(&url, &app.admin_key, &["providers"]).await;
    assert!(
        listed.stdout.lines().any(|l| l.starts_with("keyed\t")),
        "{}",
        listed.stdout
    );
    let again = common::tv(
        &url,
        &app.admin_key,
        &["providers", "add", "keyed", "--file", path],
    )
    .await;
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("already has a provider keyed"),
        "{}",
        again.stderr
    );
    let removed = common::tv(&url, &app.admin_key, &["providers", "rm", "keyed"]).await;
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let gone = common::tv(&url, &app.admin_key, &["providers", "rm", "keyed"]).await;
    assert_eq!(gone.code, 5, "{}", gone.stderr);
}
