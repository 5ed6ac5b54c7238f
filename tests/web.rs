//! Connect sessions and the pages for people over HTTP, both backends: the API's checks, the
//! hosted page's form (CSRF, a refused key never rendered back, expiry by the injected clock),
//! the console's sign-in, sessions (cookie flags, idle expiry, a revoked key, sign-out) and CSRF.
//! The same pages in a real browser: `tests/browser/run.mjs`.

mod common;

use std::time::Duration;

use actix_web::test::TestRequest;
use common::{TestApp, TestResponse};
use serde_json::json;

const PUBLIC_URL: &str = "https://vault.example.com";

async fn app() -> TestApp {
    TestApp::new()
        .config(|c| {
            c.public_url = PUBLIC_URL.into();
            c.redirect_allowlist = vec!["https://app.example.com/".into()];
        })
        .start()
        .await
}

fn page(response: &TestResponse) -> &str {
    response.body.as_str().unwrap_or_default()
}

/// The value of `name="_csrf"` on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..at + 64].to_string()
}

/// The value a response's `Set-Cookie` gives `name`, with the whole header.
fn set_cookie(response: &TestResponse, name: &str) -> Option<(String, String)> {
    response
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_string();
            (value, v.to_string())
        })
}

fn location(response: &TestResponse) -> &str {
    response
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> TestResponse {
    let mut req = TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(serde_urlencoded::to_string(fields).unwrap());
    if let Some(cookie) = cookie {
        req = req.insert_header(("Cookie", cookie.to_string()));
    }
    app.call(req).await
}

async fn browse(app: &TestApp, path: &str, cookie: Option<&str>) -> TestResponse {
    let mut req = TestRequest::get().uri(path);
    if let Some(cookie) = cookie {
        req = req.insert_header(("Cookie", cookie.to_string()));
    }
    app.call(req).await
}

/// Opens a link as a browser does: the page, its CSRF token, and the cookie it set.
async fn open_link(app: &TestApp, path: &str) -> (TestResponse, String, String) {
    let shown = browse(app, path, None).await;
    let (value, header) = set_cookie(&shown, "tv_connect").expect("a browser cookie");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"));
    let csrf = csrf_of(page(&shown));
    (shown, csrf, format!("tv_connect={value}"))
}

#[actix_web::test]
async fn connect_sessions_refuse_bad_requests() {
    let app = app().await;
    let admin = app.admin_key.clone();
    let make = |body: serde_json::Value| {
        let app = &app;
        let admin = admin.clone();
        async move { app.post("/v2/connect-sessions", &admin, &body).await }
    };
    let both =
        make(json!({"user_id": "u1", "popup": true, "redirect_uri": "https://app.example.com/x"}))
            .await;
    assert_eq!(both.status, 400, "{}", both.body);
    let short = make(json!({"user_id": "u1", "expires_in": 10})).await;
    assert_eq!(short.status, 400);
    let long = make(json!({"user_id": "u1", "expires_in": 86_401})).await;
    assert_eq!(long.status, 400);
    let unknown = make(json!({"user_id": "u1", "providers": ["no-such-provider"]})).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.message().contains("no-such-provider"));
    let none = make(json!({"user_id": "u1", "providers": []})).await;
    assert_eq!(none.status, 400);
    let outside = make(json!({"user_id": "u1", "redirect_uri": "https://evil.example.net/"})).await;
    assert_eq!(outside.status, 422);
    let bare = TestApp::new().start().await;
    let popup = bare
        .post(
            "/v2/connect-sessions",
            &bare.admin_key,
            &json!({"user_id": "u1", "popup": true}),
        )
        .await;
    assert_eq!(popup.status, 422, "a popup with nowhere to hand its result");
    assert!(popup.message().contains("TOKENVAULT_REDIRECT_ALLOWLIST"));
    let bad_user = make(json!({"user_id": "a/b"})).await;
    assert_eq!(bad_user.status, 400);
    let bound = app.create_key("default", "tokens:read,tokens:write", Some("u1"));
    let other = app
        .post("/v2/connect-sessions", &bound, &json!({"user_id": "u2"}))
        .await;
    assert_eq!(other.status, 403);
    let own = app
        .post("/v2/connect-sessions", &bound, &json!({"user_id": "u1"}))
        .await;
    assert_eq!(own.status, 201);
    let missing = app.get("/v2/connect-sessions/cs_nope", &admin).await;
    assert_eq!(missing.status, 404);
    let made = make(json!({"user_id": "u2"})).await;
    let id = made.body["id"].as_str().unwrap();
    let hidden = app.get(&format!("/v2/connect-sessions/{id}"), &bound).await;
    assert_eq!(
        hidden.status, 404,
        "a key bound to u1 does not see u2's session"
    );
    let reader = app.create_key("other", "tokens:read", None);
    let foreign = app
        .get(&format!("/v2/connect-sessions/{id}"), &reader)
        .await;
    assert_eq!(foreign.status, 404, "another tenant does not see it");
}

#[actix_web::test]
async fn a_link_takes_an_api_key_once_checked_and_expires() {
    let app = app().await;
    let admin = app.admin_key.clone();
    let made = app
        .post(
            "/v2/connect-sessions",
            &admin,
            &json!({"user_id": "ada", "providers": ["openai"], "redirect_uri": "https://app.example.com/done"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let url = made.body["url"].as_str().unwrap();
    let path = url.strip_prefix(PUBLIC_URL).unwrap().to_string();
    let token = path.strip_prefix("/connect/").unwrap().to_string();
    let stored: i64 = app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::connect_sessions::dsl::*;
        Ok(connect_sessions
            .filter(token_hash.eq(&token))
            .count()
            .get_result(conn)?)
    });
    assert_eq!(stored, 0, "only the token's hash is stored");

    let (shown, csrf, browser) = open_link(&app, &path).await;
    assert_eq!(shown.status, 200);
    let csp = shown
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'self'"));
    assert_eq!(shown.headers.get("x-frame-options").unwrap(), "DENY");
    assert!(page(&shown).contains("OpenAI API keys start with sk-"));

    let forged = form(
        &app,
        &path,
        Some(&browser),
        &[("provider", "openai"), ("api_key", "sk-forged")],
    )
    .await;
    assert_eq!(forged.status, 403, "a form without its CSRF token");
    let fields = [
        ("_csrf", csrf.as_str()),
        ("provider", "openai"),
        ("api_key", "sk-forged"),
    ];
    let elsewhere = form(&app, &path, None, &fields).await;
    assert_eq!(
        elsewhere.status, 403,
        "the token without the browser that opened the link"
    );
    let (_, _, other) = open_link(&app, &path).await;
    let swapped = form(&app, &path, Some(&other), &fields).await;
    assert_eq!(swapped.status, 403, "another browser's cookie");
    assert_eq!(
        app.get("/v2/users/ada/tokens/openai", &admin).await.status,
        404
    );
    let wrong = form(
        &app,
        &path,
        Some(&browser),
        &[
            ("_csrf", &csrf),
            ("provider", "openai"),
            ("api_key", "wrong-key-123"),
        ],
    )
    .await;
    assert_eq!(wrong.status, 422);
    assert!(
        !page(&wrong).contains("wrong-key-123"),
        "a refused key is not rendered back"
    );
    let key = "sk-proj-0123456789abcdef";
    let right = form(
        &app,
        &path,
        Some(&browser),
        &[("_csrf", &csrf), ("provider", "openai"), ("api_key", key)],
    )
    .await;
    assert_eq!(right.status, 303);
    assert_eq!(location(&right), format!("/connect/{token}/done"));
    let done = browse(&app, location(&right), None).await;
    assert_eq!(done.status, 303, "redirect mode ends at the app");
    assert_eq!(
        location(&done),
        "https://app.example.com/done?status=connected&integration_key=openai"
    );

    let credential = app.get("/v2/users/ada/tokens/openai", &admin).await;
    assert_eq!(credential.body["token_data"]["api_key"], key);
    let id = made.body["id"].as_str().unwrap();
    let session = app.get(&format!("/v2/connect-sessions/{id}"), &admin).await;
    assert_eq!(session.status, 200);
    assert_eq!(session.body["connects"][0]["flow"], "form");
    assert_eq!(session.body["connects"][0]["status"], "connected");
    assert_eq!(session.body["providers"], json!(["openai"]));

    app.advance(Duration::from_secs(31 * 60));
    let expired = browse(&app, &path, None).await;
    assert_eq!(expired.status, 410);
    assert!(page(&expired).contains("This link has expired"));
    let late = form(
        &app,
        &path,
        Some(&browser),
        &[("_csrf", &csrf), ("provider", "openai"), ("api_key", key)],
    )
    .await;
    assert_eq!(late.status, 410, "an expired link takes nothing");
    assert_eq!(browse(&app, "/connect/nosuchtoken", None).await.status, 404);
}

#[actix_web::test]
async fn a_link_offers_only_what_the_tenant_can_connect() {
    let app = app().await;
    let made = app
        .post(
            "/v2/connect-sessions",
            &app.admin_key,
            &json!({"user_id": "ada", "providers": ["github", "openai"]}),
        )
        .await;
    let path = made.body["url"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_string();
    let (shown, csrf, browser) = open_link(&app, &path).await;
    // No GitHub OAuth client here: GitHub is offered by its API key (a personal access token).
    assert!(page(&shown).contains("Connect GitHub"));
    let refused = form(
        &app,
        &path,
        Some(&browser),
        &[
            ("_csrf", &csrf),
            ("provider", "stripe"),
            ("api_key", "sk_test_1"),
        ],
    )
    .await;
    assert_eq!(
        refused.status, 422,
        "a provider outside the allow-list is refused"
    );
    assert_eq!(
        app.get("/v2/users/ada/tokens/stripe", &app.admin_key)
            .await
            .status,
        404
    );
}

/// Signs in with `key`: the session cookie (`tv_console=…`), or the refusal.
async fn sign_in(app: &TestApp, key: &str) -> Result<String, TestResponse> {
    let shown = browse(app, "/console/signin", None).await;
    let (pre, _) = set_cookie(&shown, "tv_signin").expect("a sign-in cookie");
    let csrf = csrf_of(page(&shown));
    let cookie = format!("tv_signin={pre}");
    let response = form(
        app,
        "/console/signin",
        Some(&cookie),
        &[("_csrf", &csrf), ("api_key", key)],
    )
    .await;
    match set_cookie(&response, "tv_console") {
        Some((value, _)) if response.status == 303 => Ok(format!("tv_console={value}")),
        _ => Err(response),
    }
}

#[actix_web::test]
async fn the_console_signs_in_admins_only_and_checks_every_form() {
    let app = app().await;
    let unsigned = browse(&app, "/console/users", None).await;
    assert_eq!(unsigned.status, 303);
    assert_eq!(location(&unsigned), "/console/signin");

    let shown = browse(&app, "/console/signin", None).await;
    let no_csrf = form(
        &app,
        "/console/signin",
        None,
        &[("api_key", &app.admin_key)],
    )
    .await;
    assert_eq!(no_csrf.status, 403, "sign-in without its CSRF token");
    assert!(set_cookie(&no_csrf, "tv_console").is_none());
    assert!(
        set_cookie(&shown, "tv_signin")
            .unwrap()
            .1
            .contains("HttpOnly")
    );

    let reader = app.create_key("default", "tokens:read", None);
    let refused = sign_in(&app, &reader).await.unwrap_err();
    assert_eq!(refused.status, 403);
    let bound_admin = app.create_key("default", "admin", Some("u1"));
    assert_eq!(sign_in(&app, &bound_admin).await.unwrap_err().status, 403);
    assert_eq!(
        sign_in(&app, "agk_notakeyatallnotakey")
            .await
            .unwrap_err()
            .status,
        401
    );

    let shown = browse(&app, "/console/signin", None).await;
    let (pre, _) = set_cookie(&shown, "tv_signin").unwrap();
    let response = form(
        &app,
        "/console/signin",
        Some(&format!("tv_signin={pre}")),
        &[
            ("_csrf", &csrf_of(page(&shown))),
            ("api_key", &app.admin_key),
        ],
    )
    .await;
    let (_, header) = set_cookie(&response, "tv_console").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Secure"] {
        assert!(header.contains(flag), "{header} lacks {flag}");
    }

    let cookie = sign_in(&app, &app.admin_key).await.unwrap();
    app.store("ada", &common::oauth2_body("google")).await;
    let users = browse(&app, "/console/users?q=ad", Some(&cookie)).await;
    assert_eq!(users.status, 200);
    assert!(page(&users).contains("/console/users/ada"));
    let connections = browse(&app, "/console/users/ada", Some(&cookie)).await;
    assert!(page(&connections).contains("google"));
    let secret = common::oauth2_body("google")["token_data"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !page(&connections).contains(&secret),
        "no token on the page"
    );

    let forged = form(
        &app,
        "/console/keys",
        Some(&cookie),
        &[("name", "forged"), ("scope", "admin")],
    )
    .await;
    assert_eq!(forged.status, 403, "a form without its CSRF token");
    let csrf = csrf_of(page(&connections));
    let wrong = form(
        &app,
        "/console/keys",
        Some(&cookie),
        &[("_csrf", &"0".repeat(64)), ("name", "x")],
    )
    .await;
    assert_eq!(wrong.status, 403, "a form with another token");
    let created = form(
        &app,
        "/console/keys",
        Some(&cookie),
        &[("_csrf", &csrf), ("name", "made"), ("scope", "tokens:read")],
    )
    .await;
    assert_eq!(created.status, 200);
    assert!(page(&created).contains("id=\"new-key\">agk_"));
    let deleted = form(
        &app,
        "/console/users/ada/connections/google/delete",
        Some(&cookie),
        &[("_csrf", &csrf)],
    )
    .await;
    assert!(page(&deleted).contains("Deleted google"));
    assert_eq!(
        app.get("/v2/users/ada/tokens/google", &app.admin_key)
            .await
            .status,
        404
    );

    app.advance(Duration::from_secs(31 * 60));
    let idle = browse(&app, "/console/users", Some(&cookie)).await;
    assert_eq!(idle.status, 303, "30 minutes unused end a session");

    let second = app.create_key("default", "admin", None);
    let cookie = sign_in(&app, &second).await.unwrap();
    assert_eq!(
        browse(&app, "/console/keys", Some(&cookie)).await.status,
        200
    );
    let id = app
        .get("/v2/api-keys", &app.admin_key)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| second.starts_with(k["prefix"].as_str().unwrap()))
        .map(|k| k["id"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(
        app.delete(&format!("/v2/api-keys/{id}"), &app.admin_key)
            .await
            .status,
        200
    );
    assert_eq!(
        browse(&app, "/console/keys", Some(&cookie)).await.status,
        303,
        "a revoked key's session ends"
    );

    let cookie = sign_in(&app, &app.admin_key).await.unwrap();
    let keys = browse(&app, "/console/keys", Some(&cookie)).await;
    let out = form(
        &app,
        "/console/signout",
        Some(&cookie),
        &[("_csrf", &csrf_of(page(&keys)))],
    )
    .await;
    assert_eq!(out.status, 303);
    assert_eq!(
        browse(&app, "/console/users", Some(&cookie)).await.status,
        303,
        "signed out"
    );

    let cookie = sign_in(&app, &app.admin_key).await.unwrap();
    for _ in 0..35 {
        app.advance(Duration::from_secs(20 * 60));
        assert_eq!(
            browse(&app, "/console/users", Some(&cookie)).await.status,
            200
        );
    }
    app.advance(Duration::from_secs(20 * 60));
    let late = browse(&app, "/console/users", Some(&cookie)).await;
    assert_eq!(
        late.status, 303,
        "12 hours after sign-in a session ends, used or not"
    );
}

#[actix_web::test]
async fn a_link_takes_a_username_and_password_for_basic_providers() {
    let app = app().await;
    let made = app
        .post(
            "/v2/connect-sessions",
            &app.admin_key,
            &json!({"user_id": "ada", "providers": ["twilio"]}),
        )
        .await;
    let path = made.body["url"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_string();
    let (shown, csrf, browser) = open_link(&app, &path).await;
    assert!(page(&shown).contains("id=\"twilio-username\""));
    assert!(page(&shown).contains("id=\"twilio-password\""));
    let half = form(
        &app,
        &path,
        Some(&browser),
        &[
            ("_csrf", &csrf),
            ("provider", "twilio"),
            ("username", "AC123"),
        ],
    )
    .await;
    assert_eq!(half.status, 422, "a password is needed");
    assert!(
        !page(&half).contains("AC123\""),
        "nothing typed is rendered back"
    );
    let password = "twilio-auth-token-0001";
    let stored = form(
        &app,
        &path,
        Some(&browser),
        &[
            ("_csrf", &csrf),
            ("provider", "twilio"),
            ("username", "AC123"),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(stored.status, 303);
    let done = browse(&app, location(&stored), None).await;
    assert_eq!(
        done.status, 200,
        "with neither redirect_uri nor popup, the page of its own"
    );
    assert!(page(&done).contains("twilio is connected"));
    let credential = app.get("/v2/users/ada/tokens/twilio", &app.admin_key).await;
    assert_eq!(credential.body["token_data"]["username"], "AC123");
    assert_eq!(credential.body["token_data"]["password"], password);
}
