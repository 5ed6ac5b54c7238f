//! Credential kinds beyond the user's refresh token, through the real HTTP API against a local
//! authorization server that checks what it receives: `basic`, `client_credentials` (minted
//! once, kept, re-minted inside the window, by GETs and the background refresher, one mint for
//! many callers on two instances), `service_account` (RFC 7523 assertions, RS256 and ES256, and
//! a GitHub App installation), their failures (410 and `invalid`, 503 with a cooldown), and a
//! refresh token without expiry refreshed at the registry's `default_expires_in`.

mod common;

use std::time::Duration;

use base64::Engine;
use common::grant_server::{ClientAuth, GrantServer, fixture_key};
use common::oauth_mock::{MockProvider, Reply};
use common::{TestApp, spawn_with_providers};
use serde_json::{Value, json};
use tokenvault::health::refresher::{Refresher, RefresherSettings};

/// The test providers, all pointed at `server`: `acme` (client authenticated with Basic),
/// `acmebody` (client in the body, scope beside the assertion, tokens taken to live 2 h when
/// the reply says nothing), Google's and GitHub's service accounts, Microsoft's tenant.
fn providers(server: &GrantServer) -> String {
    format!(
        r#"
[acme]
docs_url = "https://acme.example/docs"
display_name = "Acme API"
token_types = ["client_credentials", "basic"]
env_var = "ACME_TOKEN"
token_url = "{url}/token"
client_auth = "basic"

[acmebody]
docs_url = "https://acme.example/docs"
display_name = "Acme, client in the body"
token_types = ["client_credentials", "service_account"]
env_var = "ACME_TOKEN"
token_url = "{url}/token"
client_auth = "body"
assertion_scope = "param"
default_expires_in = 7200

[google]
token_url = "{url}/token"

[github]
installation_token_url = "{url}/app/installations/{{installation_id}}/access_tokens"

[microsoft]
client_credentials_url = "{url}/tenants/{{tenant}}/token"
"#,
        url = server.url
    )
}

async fn app_for(server: &GrantServer) -> TestApp {
    spawn_with_providers(providers(server), |_| {}).await
}

fn body(integration: &str, provider: &str, token_type: &str, data: Value) -> Value {
    json!({"integration_key": integration, "provider": provider, "token_type": token_type,
           "token_data": data})
}

async fn get(app: &TestApp, integration: &str) -> common::TestResponse {
    app.get(
        &format!("/v2/users/u1/tokens/{integration}"),
        &app.admin_key,
    )
    .await
}

fn acme_client() -> Value {
    json!({"client_id": "acme-client", "client_secret": "s3cr:et+1", "scope": "read write",
           "audience": "https://api.example.test", "resource": "https://api.example.test/v1"})
}

/// Seconds from the app's now to the response's `expires_at`.
fn expires_in(app: &TestApp, response: &common::TestResponse) -> i64 {
    let at = response.body["expires_at"].as_str().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
    (at.with_timezone(&chrono::Utc) - app.state.clock.now()).num_seconds()
}

fn status_of(listed: &common::TestResponse, integration: &str) -> String {
    listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["integration_key"] == integration)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[actix_web::test]
async fn basic_credentials_come_back_with_their_authorization_header() {
    let server = GrantServer::start().await;
    let app = app_for(&server).await;
    let data = json!({"username": "api-user", "password": "pa:ss wörd"});
    let stored = app
        .store("u1", &body("acme-basic", "acme", "basic", data))
        .await;
    assert_eq!(stored.status, 201);

    let got = get(&app, "acme-basic").await;
    assert_eq!(got.status, 200, "{}", got.body);
    let expected = base64::engine::general_purpose::STANDARD.encode("api-user:pa:ss wörd");
    assert_eq!(
        got.body["token_data"],
        json!({"username": "api-user", "password": "pa:ss wörd",
               "authorization": format!("Basic {expected}")})
    );
    assert_eq!(got.body["token_type"], "basic");
    assert_eq!(got.body["refreshed"], false);

    let path = "/v2/users/u1/tokens";
    for (data, names) in [
        (
            json!({"username": "u", "password": "p", "token": "x"}),
            "token",
        ),
        (json!({"username": "u"}), "password"),
        (json!({"username": "u", "password": ""}), "password"),
    ] {
        let refused = app
            .post(path, &app.admin_key, &body("b2", "acme", "basic", data))
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.message().contains(names), "{}", refused.body);
    }
    assert_eq!(server.token_calls(), 0);
}

#[actix_web::test]
async fn client_credentials_are_minted_once_kept_and_reminted_inside_the_window() {
    let server = GrantServer::start().await;
    server.client("acme-client", "s3cr:et+1", ClientAuth::Basic);
    let app = app_for(&server).await;
    let stored = app
        .store(
            "u1",
            &body("acme", "acme", "client_credentials", acme_client()),
        )
        .await;
    assert_eq!(stored.status, 201);
    assert_eq!(server.token_calls(), 0, "a store mints nothing");

    let first = get(&app, "acme").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body["token_data"],
        json!({"access_token": "cc-1", "token_type": "Bearer"})
    );
    assert_eq!(first.body["refreshed"], true);
    assert!((3590..=3600).contains(&expires_in(&app, &first)));
    let seen = &server.seen()[0];
    assert_eq!(seen["form"]["grant_type"], "client_credentials");
    assert_eq!(seen["form"]["scope"], "read write");
    assert_eq!(seen["form"]["audience"], "https://api.example.test");
    assert_eq!(seen["form"]["resource"], "https://api.example.test/v1");
    assert!(seen["form"]["client_secret"].is_null());

    let again = get(&app, "acme").await;
    assert_eq!(again.body["token_data"]["access_token"], "cc-1");
    assert_eq!(again.body["refreshed"], false);
    assert_eq!(server.token_calls(), 1);

    // Inside the refresh window (300 s by default): minted anew.
    app.advance(Duration::from_secs(3600 - 290));
    let later = get(&app, "acme").await;
    assert_eq!(later.body["token_data"]["access_token"], "cc-2");
    assert_eq!(server.token_calls(), 2);
    assert_eq!(server.problems(), Vec::<String>::new());

    let events = app
        .get("/v2/users/u1/tokens/acme/events", &app.admin_key)
        .await;
    let minted = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "refresh" && e["outcome"] == "success")
        .count();
    assert_eq!(minted, 2);
    assert!(!events.body.to_string().contains("s3cr"));
}

#[actix_web::test]
async fn a_client_in_the_body_and_a_tenant_in_the_url_as_the_registry_says() {
    let server = GrantServer::start().await;
    server.client("ms-app", "ms-secret", ClientAuth::Body);
    let app = app_for(&server).await;
    let data = json!({"client_id": "ms-app", "client_secret": "ms-secret",
                      "scope": "https://graph.microsoft.com/.default"});
    let path = "/v2/users/u1/tokens";
    let no_tenant = app
        .post(
            path,
            &app.admin_key,
            &body("graph", "microsoft", "client_credentials", data.clone()),
        )
        .await;
    assert_eq!(no_tenant.status, 400, "{}", no_tenant.body);
    assert!(no_tenant.message().contains("tenant"));

    let mut with_tenant = data;
    with_tenant["tenant"] = json!("contoso.onmicrosoft.com");
    app.store(
        "u1",
        &body("graph", "microsoft", "client_credentials", with_tenant),
    )
    .await;
    let got = get(&app, "graph").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"]["access_token"], "cc-1");
    let seen = &server.seen()[0];
    assert_eq!(seen["path"], "/tenants/contoso.onmicrosoft.com/token");
    assert_eq!(seen["form"]["client_id"], "ms-app");
    assert_eq!(
        seen["form"]["scope"],
        "https://graph.microsoft.com/.default"
    );
    assert_eq!(server.problems(), Vec::<String>::new());
}

#[actix_web::test]
async fn a_rejected_client_is_410_invalid_and_announced() {
    let server = GrantServer::start().await;
    server.client("acme-client", "right", ClientAuth::Basic);
    server.client("limited", "right", ClientAuth::Basic);
    server.unauthorized_client("limited");
    let app = TestApp::new()
        .with_providers_toml(providers(&server))
        .config(|c| c.health.webhook_allow_private = true)
        .start()
        .await;
    let created = app
        .post(
            "/v2/webhooks",
            &app.admin_key,
            &json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let webhook = created.body["id"].as_str().unwrap().to_string();

    let wrong = json!({"client_id": "acme-client", "client_secret": "wrong"});
    let limited = json!({"client_id": "limited", "client_secret": "right"});
    app.store("u1", &body("wrong", "acme", "client_credentials", wrong))
        .await;
    app.store(
        "u1",
        &body("limited", "acme", "client_credentials", limited),
    )
    .await;
    for integration in ["wrong", "limited"] {
        let refused = get(&app, integration).await;
        assert_eq!(refused.status, 410, "{}", refused.body);
        assert_eq!(refused.error(), "connection_error");
        assert!(!refused.body.to_string().contains("right"));
    }
    assert_eq!(server.token_calls(), 2);
    // Invalid now: asked again, the provider is not called.
    assert_eq!(get(&app, "wrong").await.status, 410);
    assert_eq!(server.token_calls(), 2);
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(status_of(&listed, "wrong"), "invalid");
    assert_eq!(status_of(&listed, "limited"), "invalid");

    let deliveries = app
        .get(
            &format!("/v2/webhooks/{webhook}/deliveries"),
            &app.admin_key,
        )
        .await;
    let invalid = deliveries
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event_type"] == "credential.invalid")
        .count();
    assert_eq!(invalid, 2, "{}", deliveries.body);
}

#[actix_web::test]
async fn a_provider_that_is_down_is_503_with_retry_after_and_a_cooldown() {
    let server = GrantServer::start().await;
    server.client("acme-client", "s3cr:et+1", ClientAuth::Basic);
    server.down(true);
    let app = app_for(&server).await;
    app.store(
        "u1",
        &body("acme", "acme", "client_credentials", acme_client()),
    )
    .await;
    let down = get(&app, "acme").await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.error(), "refresh_unavailable");
    let wait: u64 = down
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0);
    // In the cooldown the provider is left alone.
    assert_eq!(get(&app, "acme").await.status, 503);
    assert_eq!(server.token_calls(), 1);

    server.down(false);
    app.advance(Duration::from_secs(wait));
    let back = get(&app, "acme").await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.body["token_data"]["access_token"], "cc-2");
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(status_of(&listed, "acme"), "active");
}

#[actix_web::test]
async fn five_hundred_gets_on_two_instances_cause_one_mint() {
    let server = GrantServer::start().await;
    server.client("acme-client", "s3cr:et+1", ClientAuth::Basic);
    server.delay(Duration::from_millis(200));
    let first = app_for(&server).await;
    first
        .store(
            "u1",
            &body("acme", "acme", "client_credentials", acme_client()),
        )
        .await;
    let second = first.second_instance().await;

    let on_first = (0..250).map(|_| get(&first, "acme"));
    let on_second = (0..250).map(|_| get(&second, "acme"));
    let (a, b) = futures_util::future::join(
        futures_util::future::join_all(on_first),
        futures_util::future::join_all(on_second),
    )
    .await;
    assert_eq!(server.token_calls(), 1);
    for r in a.iter().chain(b.iter()) {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["token_data"]["access_token"], "cc-1");
    }
}

#[actix_web::test]
async fn the_background_refresher_mints_before_anyone_asks() {
    let server = GrantServer::start().await;
    server.client("acme-client", "s3cr:et+1", ClientAuth::Basic);
    let app = app_for(&server).await;
    app.store(
        "u1",
        &body("acme", "acme", "client_credentials", acme_client()),
    )
    .await;
    let refresher = Refresher::new(
        app.state.db.clone(),
        app.state.credentials.clone(),
        RefresherSettings {
            ahead: Duration::from_secs(600),
            scan: Duration::from_secs(1),
            concurrency: 4,
        },
    );
    let report = refresher.scan_once().await.unwrap();
    assert_eq!(report.refreshed, 1, "{report:?}");
    let got = get(&app, "acme").await;
    assert_eq!(got.body["token_data"]["access_token"], "cc-1");
    assert_eq!(got.body["refreshed"], false);
    // Next due inside the ahead window of its hour.
    refresher.scan_once().await.unwrap();
    assert_eq!(server.token_calls(), 1);
    app.advance(Duration::from_secs(3600 - 590));
    refresher.scan_once().await.unwrap();
    assert_eq!(server.token_calls(), 2);
}

#[actix_web::test]
async fn a_google_service_account_signs_an_rs256_assertion_with_scope_in_the_claims() {
    let server = GrantServer::start().await;
    let key = fixture_key("test-rsa-pkcs8.pem");
    server.trust(&key);
    let app = app_for(&server).await;
    let data = json!({"private_key": key, "issuer": "svc@proj.iam.gserviceaccount.com",
                      "key_id": "kid-1", "subject": "ada@example.com",
                      "scope": "https://www.googleapis.com/auth/drive.readonly"});
    app.store("u1", &body("drive", "google", "service_account", data))
        .await;

    let got = get(&app, "drive").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["token_data"],
        json!({"access_token": "sa-1", "token_type": "Bearer"})
    );
    assert!(!got.body.to_string().contains("PRIVATE KEY"));
    let seen = &server.seen()[0];
    assert_eq!(seen["header"]["alg"], "RS256");
    assert_eq!(seen["header"]["kid"], "kid-1");
    let claims = &seen["claims"];
    assert_eq!(claims["iss"], "svc@proj.iam.gserviceaccount.com");
    assert_eq!(claims["sub"], "ada@example.com");
    assert_eq!(claims["aud"], server.token_url());
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/drive.readonly"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(seen["form"]["scope"].is_null());
    assert_eq!(server.problems(), Vec::<String>::new());

    // Minted anew inside the window: a new assertion (a new jti, which the server insists on).
    app.advance(Duration::from_secs(3600));
    let later = get(&app, "drive").await;
    assert_eq!(later.body["token_data"]["access_token"], "sa-2");
    assert_eq!(server.problems(), Vec::<String>::new());
}

#[actix_web::test]
async fn an_es256_assertion_with_scope_beside_it_and_a_lifetime_from_the_registry() {
    let server = GrantServer::start().await;
    let key = fixture_key("test-ec-p256-pkcs8.pem");
    server.trust(&key);
    server.expires_in(None);
    let app = app_for(&server).await;
    let data = json!({"private_key": key, "issuer": "agent-7", "scope": "read",
                      "audience": "https://api.example.test"});
    app.store("u1", &body("ec", "acmebody", "service_account", data))
        .await;

    let got = get(&app, "ec").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"]["access_token"], "sa-1");
    // No expires_in in the reply: the registry's default_expires_in (2 h).
    assert!((7190..=7200).contains(&expires_in(&app, &got)));
    let seen = &server.seen()[0];
    assert_eq!(seen["header"]["alg"], "ES256");
    assert!(seen["header"]["kid"].is_null());
    assert_eq!(seen["claims"]["aud"], "https://api.example.test");
    assert!(seen["claims"]["scope"].is_null());
    // RFC 7523 §3: sub is required; acting for no one, it is the issuer.
    assert_eq!(seen["claims"]["sub"], "agent-7");
    assert_eq!(seen["form"]["scope"], "read");
    assert_eq!(server.problems(), Vec::<String>::new());
}

#[actix_web::test]
async fn a_rejected_assertion_is_410_and_invalid() {
    let server = GrantServer::start().await;
    server.trust(&fixture_key("test-ec-p256-pkcs8.pem"));
    let app = app_for(&server).await;
    // Signed with a key the server does not trust.
    let data = json!({"private_key": fixture_key("test-rsa-pkcs8.pem"),
                      "issuer": "svc@proj.iam.gserviceaccount.com"});
    app.store("u1", &body("drive", "google", "service_account", data))
        .await;
    let refused = get(&app, "drive").await;
    assert_eq!(refused.status, 410, "{}", refused.body);
    assert_eq!(refused.error(), "connection_error");
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(status_of(&listed, "drive"), "invalid");
}

#[actix_web::test]
async fn private_keys_that_cannot_sign_are_refused_at_store_without_being_echoed() {
    let server = GrantServer::start().await;
    let app = app_for(&server).await;
    let path = "/v2/users/u1/tokens";
    let app = &app;
    let store = |data: Value| {
        let body = body("k", "google", "service_account", data);
        async move { app.post(path, &app.admin_key, &body).await }
    };
    let garbage = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----";
    let refused = store(json!({"private_key": garbage, "issuer": "i"})).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.message().contains("private_key"),
        "{}",
        refused.body
    );
    assert!(!refused.body.to_string().contains("TOPSECRET"));

    let sec1 = fixture_key("test-ec-p256-sec1.pem");
    let refused = store(json!({"private_key": sec1, "issuer": "i"})).await;
    assert_eq!(refused.status, 400);
    assert!(refused.message().contains("PKCS#8"), "{}", refused.body);

    let key = fixture_key("test-rsa-pkcs8.pem");
    for (data, says) in [
        (json!({"private_key": key}), "needs"),
        (json!({"private_key": key, "app_id": 1}), "needs"),
        (
            json!({"private_key": key, "issuer": "i", "app_id": 1, "installation_id": 2}),
            "not both",
        ),
        (
            json!({"private_key": key, "issuer": "i", "extra": 1}),
            "unknown field",
        ),
        (json!({"private_key": key, "issuer": " "}), "blank"),
        // Google has no app installations.
        (
            json!({"private_key": key, "app_id": 1, "installation_id": 2}),
            "no app installations",
        ),
    ] {
        let refused = store(data).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.message().contains(says), "{}", refused.body);
        assert!(!refused.body.to_string().contains("MII"));
    }
    // GitHub takes no assertions, signs app JWTs with RSA only, and an id goes into a URL.
    let ec = fixture_key("test-ec-p256-pkcs8.pem");
    for (data, says) in [
        (json!({"private_key": key, "issuer": "i"}), "no JWT-bearer"),
        (
            json!({"private_key": ec, "app_id": 1, "installation_id": 2}),
            "RSA",
        ),
        (
            json!({"private_key": key, "app_id": 1, "installation_id": "../../x"}),
            "installation_id",
        ),
    ] {
        let body = body("k", "github", "service_account", data);
        let refused = app.post(path, &app.admin_key, &body).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.message().contains(says), "{}", refused.body);
    }
}

#[actix_web::test]
async fn a_github_app_installation_token_and_a_removed_installation() {
    let server = GrantServer::start().await;
    let key = fixture_key("test-rsa-pkcs1.pem");
    server.trust(&key);
    server.app("123456", "7890123");
    let app = app_for(&server).await;
    let data = json!({"private_key": key, "app_id": 123456, "installation_id": "7890123"});
    app.store("u1", &body("gh-app", "github", "service_account", data))
        .await;

    let got = get(&app, "gh-app").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.body["token_data"],
        json!({"access_token": "ghs_INSTALL1", "token_type": "token"})
    );
    assert!((3500..=3600).contains(&expires_in(&app, &got)));
    let claims = &server.seen()[0]["claims"];
    assert_eq!(claims["iss"], "123456");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600);
    assert_eq!(server.problems(), Vec::<String>::new());

    server.uninstall("7890123");
    app.advance(Duration::from_secs(3600));
    let gone = get(&app, "gh-app").await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert_eq!(gone.error(), "connection_error");
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(status_of(&listed, "gh-app"), "invalid");
    assert_eq!(server.install_calls(), 2);
}

#[actix_web::test]
async fn a_refresh_token_without_expiry_is_refreshed_at_the_registrys_lifetime_else_daily() {
    let mock = MockProvider::start().await;
    let toml = mock
        .providers_toml()
        .replace("[zoom]\n", "[zoom]\ndefault_expires_in = 7200\n");
    let app = spawn_with_providers(toml, |_| {}).await;
    let data = json!({"access_token": "a-1", "refresh_token": "r-1", "client_id": "c",
                      "client_secret": "s"});
    app.store("u1", &body("zoom", "zoom", "oauth2", data.clone()))
        .await;
    app.store("u1", &body("google", "google", "oauth2", data))
        .await;

    let zoom = get(&app, "zoom").await;
    assert_eq!(zoom.body["refreshed"], false);
    assert!((7190..=7200).contains(&expires_in(&app, &zoom)));
    let google = get(&app, "google").await;
    assert!((86390..=86400).contains(&expires_in(&app, &google)));
    assert_eq!(mock.token_calls(), 0);

    app.advance(Duration::from_secs(7200 - 200));
    mock.reply(Reply::Success {
        rotate: false,
        expires_in: None,
    });
    let refreshed = get(&app, "zoom").await;
    assert_eq!(refreshed.body["refreshed"], true, "{}", refreshed.body);
    assert_eq!(mock.token_calls(), 1);
    // The reply named no lifetime either: the registry's again.
    assert!((7190..=7200).contains(&expires_in(&app, &refreshed)));
}

#[actix_web::test]
async fn the_cli_prints_each_kinds_usable_secret() {
    let server = GrantServer::start().await;
    server.client("acme-client", "s3cr:et+1", ClientAuth::Basic);
    let app = app_for(&server).await;
    app.store(
        "u1",
        &body("acme", "acme", "client_credentials", acme_client()),
    )
    .await;
    let data = json!({"username": "api-user", "password": "pw-1"});
    app.store("u1", &body("acme-basic", "acme", "basic", data))
        .await;
    let url = app.listen().await;
    let key = app.admin_key.clone();

    let minted = common::tv(&url, &key, &["get", "acme", "--user", "u1"]).await;
    assert_eq!(minted.code, 0, "{}", minted.stderr);
    assert_eq!(minted.stdout.trim(), "cc-1");
    assert!(!minted.stdout.contains("s3cr") && !minted.stderr.contains("s3cr"));
    let basic = common::tv(&url, &key, &["get", "acme-basic", "--user", "u1"]).await;
    assert_eq!(basic.stdout.trim(), "pw-1", "{}", basic.stderr);
    let header = common::tv(
        &url,
        &key,
        &[
            "get",
            "acme-basic",
            "--user",
            "u1",
            "--field",
            "authorization",
        ],
    )
    .await;
    assert!(header.stdout.starts_with("Basic "), "{}", header.stdout);
}
