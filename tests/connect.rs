//! The connect flow end to end: the app starts it over HTTP, a browser (played by the test)
//! visits a local authorization server that checks client, redirect URI, PKCE S256 and
//! single-use codes, comes back to the callback, and the credential is stored — or the app hears
//! why not. Both backends; two instances share one database.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix_web::test::TestRequest;
use common::auth_server::{AuthServer, CLIENT_ID, CLIENT_SECRET, Consent};
use common::{TestApp, TestResponse};
use serde_json::{Value, json};
use tokenvault::providers::OAuthClient;
use tokenvault::secret::Secret;

const APP: &str = "https://app.example.com/oauth/done";
const PUBLIC_URL: &str = "https://vault.example.com";

async fn app_with(auth: &AuthServer) -> TestApp {
    TestApp::new()
        .with_providers_toml(auth.providers_toml())
        .config(|c| {
            c.public_url = PUBLIC_URL.into();
            c.redirect_allowlist = vec!["https://app.example.com/oauth/".into()];
            c.refresh_timeout = Duration::from_secs(1);
            c.oauth_clients.insert(
                "google".into(),
                OAuthClient {
                    client_id: Secret::new(CLIENT_ID.into()),
                    client_secret: Some(Secret::new(CLIENT_SECRET.into())),
                },
            );
        })
        .start()
        .await
}

async fn start(app: &TestApp, user: &str, key: &str, body: Value) -> TestResponse {
    app.post(&format!("/v2/users/{user}/connect"), key, &body)
        .await
}

/// `POST /v2/users/u1/connect` with the admin key.
async fn start_u1(app: &TestApp, body: Value) -> TestResponse {
    start(app, "u1", &app.admin_key, body).await
}

/// Starts a connect for u1 with `body` and plays the browser at the consent screen: where the
/// provider sends the browser back.
async fn consent(app: &TestApp, auth: &AuthServer, body: Value) -> String {
    let started = start_u1(app, body).await;
    assert_eq!(started.status, 201, "{}", started.body);
    auth.visit(started.body["authorization_url"].as_str().unwrap())
        .await
}

fn query_of(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The browser arrives at tokenvault's callback (the path and query of `location`).
async fn callback(app: &TestApp, location: &str) -> TestResponse {
    let url = reqwest::Url::parse(location).unwrap();
    assert_eq!(url.path(), "/v2/oauth/callback");
    let uri = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    app.call(TestRequest::get().uri(&uri)).await
}

fn location(response: &TestResponse) -> String {
    response
        .headers
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

async fn events(app: &TestApp, user: &str, key: &str) -> Vec<(String, String)> {
    let reply = app
        .get(
            &format!("/v2/users/{user}/tokens/{key}/events"),
            &app.admin_key,
        )
        .await;
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_user_connects_and_the_credential_is_stored_with_its_account() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    let started = start_u1(&app, json!({"provider": "google", "redirect_uri": APP})).await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.headers.get("cache-control").unwrap(), "no-store");
    let url = started.body["authorization_url"]
        .as_str()
        .unwrap()
        .to_string();
    let state = started.body["state"].as_str().unwrap().to_string();
    assert!(state.len() >= 43, "state too short: {state}");
    assert!(url.starts_with(&format!("{}/authorize?", auth.url)));
    let q = query_of(&url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], format!("{PUBLIC_URL}/v2/oauth/callback"));
    assert_eq!(q["state"], state);
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(
        (q["access_type"].as_str(), q["prompt"].as_str()),
        ("offline", "consent")
    );
    assert!(!url.contains(CLIENT_SECRET));

    let back = auth.visit(&url).await;
    let landed = callback(&app, &back).await;
    assert_eq!(landed.status, 302, "{}", landed.body);
    let to = location(&landed);
    assert!(to.starts_with(APP), "{to}");
    let q = query_of(&to);
    assert_eq!(
        (q["status"].as_str(), q["integration_key"].as_str()),
        ("connected", "google")
    );
    assert!(
        !to.contains("CODE-") && !to.contains("CONNECTED"),
        "the redirect echoes a secret: {to}"
    );
    assert!(auth.refused().is_empty(), "{:?}", auth.refused());

    let got = app.get("/v2/users/u1/tokens/google", &app.admin_key).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["token_data"]["access_token"], "ya29.CONNECTED-1");
    assert_eq!(
        got.body["token_data"]["refresh_token"],
        "1//CONNECTED-REFRESH-1"
    );
    assert_eq!(got.body["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(
        got.body["account"],
        json!({"id": "g-1234567890", "email": "ada@example.com", "name": "Ada Lovelace"})
    );
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(listed.body[0]["account"]["email"], "ada@example.com");
    assert_eq!(
        events(&app, "u1", "google").await,
        [("connected".into(), "created".into())]
    );

    // The state is single use: the same callback again changes nothing.
    let again = callback(&app, &back).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error(), "invalid_request");
    assert!(
        again.message().contains("already used"),
        "{}",
        again.message()
    );
    assert_eq!(auth.exchanges(), 1);
}

#[actix_web::test]
async fn a_denial_reaches_the_app_and_stores_nothing() {
    let auth = AuthServer::start().await;
    auth.consent(Consent::Deny);
    let app = app_with(&auth).await;
    let body = json!({"provider": "google", "redirect_uri": APP, "integration_key": "work-google"});
    let back = consent(&app, &auth, body).await;
    let landed = callback(&app, &back).await;
    assert_eq!(landed.status, 302);
    let q = query_of(&location(&landed));
    assert_eq!(
        (q["status"].as_str(), q["error"].as_str()),
        ("error", "access_denied")
    );
    assert_eq!(
        app.get("/v2/users/u1/tokens/work-google", &app.admin_key)
            .await
            .status,
        404
    );
    assert_eq!(
        events(&app, "u1", "work-google").await,
        [("connected".into(), "denied".into())]
    );
    assert_eq!(auth.exchanges(), 0);
}

#[actix_web::test]
async fn a_response_naming_another_issuer_is_refused_as_a_mix_up() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    auth.answer_as_issuer("https://evil.example.net");
    let back = consent(
        &app,
        &auth,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    assert!(back.contains("iss="), "{back}");
    let landed = callback(&app, &back).await;
    assert_eq!(landed.status, 302);
    let q = query_of(&location(&landed));
    assert_eq!(
        (q["status"].as_str(), q["error"].as_str()),
        ("error", "issuer_mismatch")
    );
    // The code was never sent anywhere.
    assert_eq!(auth.exchanges(), 0);
    assert_eq!(
        app.get("/v2/users/u1/tokens/google", &app.admin_key)
            .await
            .status,
        404
    );
    assert_eq!(
        events(&app, "u1", "google").await,
        [("connected".into(), "failed".into())]
    );
}

#[actix_web::test]
async fn unknown_and_expired_states_are_refused() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    let unknown = app
        .call(TestRequest::get().uri("/v2/oauth/callback?code=x&state=nope"))
        .await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.error()),
        (400, "invalid_request")
    );
    let missing = app
        .call(TestRequest::get().uri("/v2/oauth/callback?code=x"))
        .await;
    assert_eq!(missing.status, 400);

    let back = consent(
        &app,
        &auth,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    // Ten minutes (and a second) pass.
    app.advance(std::time::Duration::from_secs(601));
    let late = callback(&app, &back).await;
    assert_eq!(late.status, 400);
    assert!(late.message().contains("expired"), "{}", late.message());
    assert_eq!(
        app.get("/v2/users/u1/tokens/google", &app.admin_key)
            .await
            .status,
        404
    );
    assert_eq!(auth.exchanges(), 0);
}

#[actix_web::test]
async fn a_failed_exchange_tells_the_app_and_stores_nothing() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    // The verifier does not match the challenge.
    auth.corrupt_challenges();
    let back = consent(
        &app,
        &auth,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    let landed = callback(&app, &back).await;
    let q = query_of(&location(&landed));
    assert_eq!(
        (q["status"].as_str(), q["error"].as_str()),
        ("error", "exchange_failed")
    );
    assert_eq!(auth.refused(), ["PKCE verifier does not match"]);
    assert_eq!(
        app.get("/v2/users/u1/tokens/google", &app.admin_key)
            .await
            .status,
        404
    );
    assert_eq!(
        events(&app, "u1", "google").await,
        [("connected".into(), "failed".into())]
    );
}

#[actix_web::test]
async fn an_exchange_that_times_out_fails_within_the_refresh_timeout() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    auth.token_delay(Duration::from_secs(5));
    let back = consent(
        &app,
        &auth,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    let began = std::time::Instant::now();
    let landed = callback(&app, &back).await;
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    let q = query_of(&location(&landed));
    assert_eq!(q["error"], "exchange_failed");
}

#[actix_web::test]
async fn a_failing_userinfo_loses_only_the_account() {
    let auth = AuthServer::start().await;
    auth.userinfo_fails();
    let app = app_with(&auth).await;
    let back = consent(
        &app,
        &auth,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    let landed = callback(&app, &back).await;
    assert_eq!(query_of(&location(&landed))["status"], "connected");
    let got = app.get("/v2/users/u1/tokens/google", &app.admin_key).await;
    assert_eq!(got.body["token_data"]["access_token"], "ya29.CONNECTED-1");
    assert_eq!(got.body["account"], Value::Null);
}

#[actix_web::test]
async fn start_refuses_other_users_foreign_redirects_and_unconfigured_providers() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    let bound = app.create_key("default", "tokens:write", Some("u2"));
    let other = start(
        &app,
        "u1",
        &bound,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    assert_eq!(other.status, 403);
    let reader = app.create_key("default", "tokens:read", None);
    assert_eq!(
        start(
            &app,
            "u1",
            &reader,
            json!({"provider": "google", "redirect_uri": APP})
        )
        .await
        .status,
        403
    );
    for redirect in [
        "https://app.example.com.evil.net/x",
        "https://evil.net/",
        "javascript:alert(1)",
        // Out of the allowed prefix by dot segments, plain or encoded (the browser resolves
        // them), or by an encoded slash.
        "https://app.example.com/oauth/../admin",
        "https://app.example.com/oauth/%2e%2e/admin",
        "https://app.example.com/oauth/.%2E/admin",
        "https://app.example.com/oauth/..%2fadmin",
    ] {
        let refused = start_u1(
            &app,
            json!({"provider": "google", "redirect_uri": redirect}),
        )
        .await;
        assert_eq!(refused.status, 422, "{redirect}");
        assert!(
            refused.message().contains("TOKENVAULT_REDIRECT_ALLOWLIST"),
            "{}",
            refused.message()
        );
    }
    let slack = start_u1(&app, json!({"provider": "slack", "redirect_uri": APP})).await;
    assert_eq!(slack.status, 422);
    assert!(
        slack.message().contains("TOKENVAULT_SLACK_CLIENT_ID")
            && slack.message().contains("TOKENVAULT_SLACK_CLIENT_SECRET"),
        "{}",
        slack.message()
    );
    let openai = start_u1(&app, json!({"provider": "openai", "redirect_uri": APP})).await;
    assert_eq!(openai.status, 422);
    let providers = app.get("/v2/providers", &app.admin_key).await;
    let connectable = |key: &str| {
        providers
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["provider"] == key)
            .unwrap()["supports_connect"]
            .clone()
    };
    assert_eq!(
        (
            connectable("google"),
            connectable("slack"),
            connectable("openai")
        ),
        (json!(true), json!(false), json!(false))
    );
    assert!(!providers.body.to_string().contains(CLIENT_ID));
}

#[actix_web::test]
async fn a_connect_started_on_one_instance_finishes_on_another_once() {
    let auth = AuthServer::start().await;
    let first = app_with(&auth).await;
    let second = first.second_instance().await;
    let back = consent(
        &first,
        &auth,
        json!({"provider": "google", "redirect_uri": APP}),
    )
    .await;
    let landed = callback(&second, &back).await;
    assert_eq!(query_of(&location(&landed))["status"], "connected");
    let replay = callback(&first, &back).await;
    assert_eq!(replay.status, 400);
    let got = first
        .get("/v2/users/u1/tokens/google", &first.admin_key)
        .await;
    assert_eq!(got.body["token_data"]["access_token"], "ya29.CONNECTED-1");
    assert_eq!(auth.exchanges(), 1);
}

#[actix_web::test]
async fn the_cli_prints_the_authorization_url_and_the_connect_completes() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    let url = app.listen().await;
    let key = app.admin_key.clone();
    let args = [
        "connect",
        "google",
        "--user",
        "u1",
        "--redirect-uri",
        APP,
        "--integration",
        "g2",
        "--scopes",
        "openid,email",
    ];
    let run = common::tv(&url, &key, &args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed = run.stdout.trim().to_string();
    assert!(
        printed.starts_with(&format!("{}/authorize?", auth.url)),
        "{printed}"
    );
    assert_eq!(query_of(&printed)["scope"], "openid email");
    assert!(run.stderr.contains("send u1 there"), "{}", run.stderr);
    let back = auth.visit(&printed).await;
    let landed = callback(&app, &back).await;
    assert_eq!(query_of(&location(&landed))["integration_key"], "g2");
    let got = common::tv(
        &url,
        &key,
        &["get", "g2", "--user", "u1", "--field", "account.email"],
    )
    .await;
    assert_eq!(got.stdout, "ada@example.com\n");

    let refused = common::tv(
        &url,
        &key,
        &[
            "connect",
            "google",
            "--user",
            "u1",
            "--redirect-uri",
            "https://evil.net/",
        ],
    )
    .await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("TOKENVAULT_REDIRECT_ALLOWLIST"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stderr.trim().lines().count(), 1);
}

/// The hosted connect page's OAuth path: the page starts the flow, the consent comes back
/// through the callback to the session's end page (by its id: the link's token is stored
/// nowhere, not even as a connect's redirect), which sends the browser on to the app.
#[actix_web::test]
async fn a_hosted_link_connects_through_the_consent_screen() {
    let auth = AuthServer::start().await;
    let app = app_with(&auth).await;
    let made = app
        .post(
            "/v2/connect-sessions",
            &app.admin_key,
            &json!({"user_id": "u1", "providers": ["google"], "redirect_uri": APP}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let url = made.body["url"].as_str().unwrap();
    let path = url.strip_prefix(PUBLIC_URL).unwrap().to_string();
    let token = path.strip_prefix("/connect/").unwrap().to_string();
    let shown = app.call(TestRequest::get().uri(&path)).await;
    let html = shown.body.as_str().unwrap().to_string();
    let at = html.find("name=\"_csrf\" value=\"").unwrap() + 20;
    let csrf = &html[at..at + 64];
    let browser = shown
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tv_connect="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let form = serde_urlencoded::to_string([("_csrf", csrf), ("provider", "google")]).unwrap();
    let started = app
        .call(
            TestRequest::post()
                .uri(&path)
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .insert_header(("Cookie", format!("tv_connect={browser}")))
                .set_payload(form),
        )
        .await;
    assert_eq!(started.status, 303);
    let redirects: Vec<String> = app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::oauth_states::dsl::*;
        Ok(oauth_states.select(redirect_uri).load(conn)?)
    });
    let id = made.body["id"].as_str().unwrap();
    assert_eq!(
        redirects,
        vec![format!("{PUBLIC_URL}/connect/sessions/{id}/done")]
    );
    assert!(!redirects[0].contains(&token));
    let back = auth.visit(&location(&started)).await;
    let landed = callback(&app, &back).await;
    assert_eq!(landed.status, 302);
    let end = location(&landed);
    assert_eq!(
        end,
        format!("{PUBLIC_URL}/connect/sessions/{id}/done?status=connected&integration_key=google")
    );
    let finished = app
        .call(TestRequest::get().uri(end.strip_prefix(PUBLIC_URL).unwrap()))
        .await;
    assert_eq!(finished.status, 303);
    assert_eq!(
        location(&finished),
        format!("{APP}?status=connected&integration_key=google")
    );
    let session = app
        .get(&format!("/v2/connect-sessions/{id}"), &app.admin_key)
        .await;
    assert_eq!(session.body["connects"][0]["flow"], "authorization_code");
    assert_eq!(session.body["connects"][0]["status"], "connected");
    assert_eq!(
        app.get("/v2/users/u1/tokens/google", &app.admin_key)
            .await
            .status,
        200
    );
}
