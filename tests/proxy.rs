//! The proxy, end to end: a real app over a real database, a local provider API that checks
//! what arrives, a local token endpoint for renewals.

mod common;

use actix_web::test;
use base64::Engine;
use common::oauth_mock::{MockProvider, Reply};
use common::upstream::Upstream;
use common::{TestApp, TestResponse, oauth2_body};
use serde_json::{Value, json};

const PROXY: &str = "/v2/users/u1/proxy";

/// The providers of these tests: google (OAuth2, renewed at the mock) and four API-key
/// providers, one per `api_auth`, all with their API at `upstream`.
fn providers(mock: &MockProvider, upstream: &Upstream) -> String {
    let api = &upstream.url;
    let mut toml = mock.providers_toml().replacen(
        "[google]\n",
        &format!("[google]\napi_base_url = \"{api}\"\n"),
        1,
    );
    for (key, auth) in [
        ("acme", "header:X-Acme-Key:Token"),
        ("acmeq", "query:key"),
        ("acmeb", "basic"),
        ("acmebearer", "bearer"),
    ] {
        toml.push_str(&format!(
            "[{key}]\ndocs_url = \"https://acme.example/docs\"\ndisplay_name = \"Acme\"\ntoken_types = [\"api_key\", \"basic\", \"jwt\"]\n\
             env_var = \"ACME_KEY\"\napi_base_url = \"{api}\"\napi_auth = \"{auth}\"\n"
        ));
    }
    toml.push_str(
        "[nobase]\ndocs_url = \"https://acme.example/docs\"\ndisplay_name = \"No API\"\ntoken_types = [\"api_key\"]\nenv_var = \"NO_KEY\"\n",
    );
    toml
}

async fn app_with(mock: &MockProvider, upstream: &Upstream) -> TestApp {
    TestApp::new()
        .with_providers_toml(providers(mock, upstream))
        .config(|c| c.proxy.allow_private = true)
        .start()
        .await
}

fn api_key(integration: &str, provider: &str, data: Value) -> Value {
    json!({"integration_key": integration, "provider": provider, "token_type": "api_key",
           "token_data": data})
}

async fn call(app: &TestApp, req: test::TestRequest, key: &str) -> TestResponse {
    app.call(req.insert_header(("X-API-Key", key))).await
}

fn tokenvault_made(response: &TestResponse) -> bool {
    response
        .headers
        .get("x-tokenvault-error")
        .is_some_and(|v| v == "true")
}

#[actix_web::test]
async fn a_request_reaches_the_api_with_the_credential_and_nothing_of_the_callers() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    let response = call(
        &app,
        test::TestRequest::post()
            .uri(&format!("{PROXY}/google/v1/things/a%20b?q=1&page=2"))
            .insert_header(("Authorization", "Bearer agat_not_for_upstream"))
            .insert_header(("Cookie", "tv_session=secret"))
            .insert_header(("X-Tokenvault-Retries", "1"))
            .insert_header(("Accept", "application/json"))
            .insert_header(("X-Custom", "kept"))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(r#"{"title":"hello"}"#),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["path"], "/api/v1/things/a%20b");
    assert_eq!(response.body["query"], "q=1&page=2");
    assert_eq!(response.body["body_len"], 17);
    let arrived = upstream.last();
    assert_eq!(arrived.method, "POST");
    assert_eq!(
        arrived.all("authorization"),
        ["Bearer ya29.ACCESS-SECRET-1"]
    );
    assert_eq!(arrived.body, br#"{"title":"hello"}"#);
    assert_eq!(arrived.header("x-custom"), Some("kept"));
    assert_eq!(arrived.header("content-type"), Some("application/json"));
    for gone in [
        "x-api-key",
        "cookie",
        "x-tokenvault-retries",
        "x-request-id",
    ] {
        assert_eq!(arrived.header(gone), None, "{gone} reached the API");
    }
    let tokenvault_headers: Vec<_> = arrived
        .headers
        .iter()
        .filter(|(n, _)| n.contains("tokenvault") && n != "user-agent")
        .collect();
    assert!(tokenvault_headers.is_empty(), "{tokenvault_headers:?}");
    // The API's answer comes back as it was, minus its cookie and a forged tokenvault header.
    assert_eq!(response.headers.get("x-ratelimit-remaining").unwrap(), "41");
    assert!(response.headers.get("set-cookie").is_none());
    assert!(!tokenvault_made(&response));
}

#[actix_web::test]
async fn every_api_auth_puts_the_secret_where_the_provider_wants_it() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    let stores = [
        api_key("acme", "acme", json!({"api_key": "k-header"})),
        api_key("acmeq", "acmeq", json!({"api_key": "k-query"})),
        api_key("acmeb", "acmeb", json!({"api_key": "sk_stripe"})),
        api_key(
            "acmeb2",
            "acmeb",
            json!({"api_key": "AC123", "api_secret": "twilio-secret"}),
        ),
        json!({"integration_key": "acmebasic", "provider": "acmebearer", "token_type": "basic",
               "token_data": {"username": "api-user", "password": "pw"}}),
        json!({"integration_key": "acmejwt", "provider": "acmebearer", "token_type": "jwt",
               "token_data": {"token": "eyJ.jwt.sig"}}),
    ];
    for body in &stores {
        app.store("u1", body).await;
    }
    let basic = |pair: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    let get = |integration: &str, query: &str| {
        test::TestRequest::get().uri(&format!("{PROXY}/{integration}/me{query}"))
    };
    let response = call(&app, get("acme", ""), &app.admin_key).await;
    assert_eq!(response.status, 200);
    let arrived = upstream.last();
    assert_eq!(arrived.all("x-acme-key"), ["Token k-header"]);
    assert_eq!(arrived.header("authorization"), None);

    // The caller's own `key` parameter is replaced, never sent beside the credential.
    call(&app, get("acmeq", "?key=mine&x=1"), &app.admin_key).await;
    assert_eq!(upstream.last().query, "x=1&key=k-query");

    call(&app, get("acmeb", ""), &app.admin_key).await;
    assert_eq!(upstream.last().all("authorization"), [basic("sk_stripe:")]);
    call(&app, get("acmeb2", ""), &app.admin_key).await;
    assert_eq!(
        upstream.last().all("authorization"),
        [basic("AC123:twilio-secret")]
    );
    call(&app, get("acmebasic", ""), &app.admin_key).await;
    assert_eq!(upstream.last().all("authorization"), [basic("api-user:pw")]);
    call(&app, get("acmejwt", ""), &app.admin_key).await;
    assert_eq!(upstream.last().all("authorization"), ["Bearer eyJ.jwt.sig"]);

    // A username and password travel as HTTP Basic whatever the provider's single-token
    // place: never as a query parameter.
    let body = json!({"integration_key": "qbasic", "provider": "acmeq", "token_type": "basic",
                      "token_data": {"username": "u", "password": "p"}});
    app.store("u1", &body).await;
    let response = call(&app, get("qbasic", "?x=1"), &app.admin_key).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let arrived = upstream.last();
    assert_eq!(arrived.all("authorization"), [basic("u:p")]);
    assert_eq!(arrived.query, "x=1");
}

#[actix_web::test]
async fn a_401_renews_the_token_once_and_sends_again() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    upstream.accept("Bearer ya29.NEW-1");
    let guarded = || {
        test::TestRequest::post()
            .uri(&format!("{PROXY}/google/guarded"))
            .set_payload("replayable body")
    };
    let response = call(&app, guarded(), &app.admin_key).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["body_len"], 15);
    assert_eq!(mock.token_calls(), 1);
    let tries: Vec<_> = upstream
        .arrived()
        .iter()
        .map(|a| a.header("authorization").unwrap_or_default().to_string())
        .collect();
    assert_eq!(tries, ["Bearer ya29.ACCESS-SECRET-1", "Bearer ya29.NEW-1"]);
    // The renewed token is what the next request uses: no second renewal.
    let response = call(&app, guarded(), &app.admin_key).await;
    assert_eq!(response.status, 200);
    assert_eq!(mock.token_calls(), 1);

    // A 401 that survives the renewal comes back as the API gave it, after one renewal only.
    upstream.state_reset_accepted();
    let response = call(&app, guarded(), &app.admin_key).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.body["message"], "Bad credentials");
    assert!(!tokenvault_made(&response));
    assert_eq!(mock.token_calls(), 2);
}

#[actix_web::test]
async fn concurrent_401s_renew_once() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    upstream.accept("Bearer ya29.NEW-1");
    mock.delay(std::time::Duration::from_millis(200));
    let requests = (0..6).map(|_| {
        call(
            &app,
            test::TestRequest::get().uri(&format!("{PROXY}/google/guarded")),
            &app.admin_key,
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    for response in &responses {
        assert_eq!(response.status, 200, "{}", response.body);
    }
    assert_eq!(mock.token_calls(), 1);
}

#[actix_web::test]
async fn a_rejected_renewal_answers_410_connection_error() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/guarded")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 410, "{}", response.body);
    assert_eq!(response.error(), "connection_error");
    assert!(tokenvault_made(&response));
    let get = app.get("/v2/users/u1/tokens/google", &app.admin_key).await;
    assert_eq!(get.status, 410);
}

#[actix_web::test]
async fn an_expiring_token_is_refreshed_before_the_request() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &common::expiring_body("google", "google", 30))
        .await;
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/anything")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(mock.token_calls(), 1);
    assert_eq!(upstream.last().all("authorization"), ["Bearer ya29.NEW-1"]);
}

#[actix_web::test]
async fn retries_honour_retry_after_and_give_back_long_waits() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &api_key("acme", "acme", json!({"api_key": "k"})))
        .await;
    let busy = |retries: Option<&str>| {
        let req = test::TestRequest::get().uri(&format!("{PROXY}/acme/busy"));
        match retries {
            Some(n) => req.insert_header(("X-Tokenvault-Retries", n)),
            None => req,
        }
    };
    upstream.busy(&[(429, Some("0")), (503, Some("0"))]);
    let response = call(&app, busy(Some("3")), &app.admin_key).await;
    assert_eq!(response.status, 200);
    assert_eq!(upstream.arrived().len(), 3);

    // Without the header the 429 comes back with its Retry-After.
    upstream.busy(&[(429, Some("7"))]);
    let response = call(&app, busy(None), &app.admin_key).await;
    assert_eq!(response.status, 429);
    assert_eq!(response.headers.get("retry-after").unwrap(), "7");
    assert!(!tokenvault_made(&response));

    // A wait beyond the cap is the caller's to decide: no retry.
    upstream.busy(&[(429, Some("120"))]);
    let before = upstream.arrived().len();
    let response = call(&app, busy(Some("3")), &app.admin_key).await;
    assert_eq!(response.status, 429);
    assert_eq!(upstream.arrived().len(), before + 1);

    // Retries stop at the number asked for.
    upstream.busy(&[(503, Some("0")), (503, Some("0")), (503, Some("0"))]);
    let response = call(&app, busy(Some("1")), &app.admin_key).await;
    assert_eq!(response.status, 503);
    assert!(!tokenvault_made(&response));

    for bad in ["4", "-1", "many"] {
        let response = call(&app, busy(Some(bad)), &app.admin_key).await;
        assert_eq!(response.status, 400, "{bad}");
        assert!(tokenvault_made(&response));
    }
}

#[actix_web::test]
async fn hostile_paths_are_refused_before_anything_is_sent() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    for tail in [
        "../admin",
        "a/../../admin",
        "%2e%2e/admin",
        "%2E%2e/%2e%2E/admin",
        "a//b",
        "/evil.example/x",
        "@evil.example/x",
        "a%2fb",
        "a%5cb",
        "a%40evil.example",
        "http:%2f%2fevil.example",
        "javascript:alert(1)",
        "a%00b",
    ] {
        let response = call(
            &app,
            test::TestRequest::get().uri(&format!("{PROXY}/google/{tail}")),
            &app.admin_key,
        )
        .await;
        assert_eq!(response.status, 400, "{tail}: {}", response.body);
        assert_eq!(response.error(), "invalid_request");
        assert!(tokenvault_made(&response));
    }
    assert!(upstream.arrived().is_empty());
    assert_eq!(mock.token_calls(), 0);
}

#[actix_web::test]
async fn redirects_come_back_unfollowed_and_private_targets_are_refused_by_default() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/redirect")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 302);
    assert_eq!(
        response.headers.get("location").unwrap(),
        "http://elsewhere.invalid/steal"
    );
    assert_eq!(upstream.arrived().len(), 1);

    let strict = TestApp::new()
        .with_providers_toml(providers(&mock, &upstream))
        .start()
        .await;
    strict.store("u1", &oauth2_body("google")).await;
    let response = call(
        &strict,
        test::TestRequest::get().uri(&format!("{PROXY}/google/x")),
        &strict.admin_key,
    )
    .await;
    assert_eq!(response.status, 502, "{}", response.body);
    assert_eq!(response.error(), "upstream_unavailable");
    assert!(
        response
            .message()
            .contains("TOKENVAULT_OUTBOUND_ALLOW_PRIVATE")
    );
    assert_eq!(upstream.arrived().len(), 1);
}

#[actix_web::test]
async fn a_hanging_api_is_a_504_and_a_closed_one_a_502() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut toml = providers(&mock, &upstream);
    toml.push_str(&format!(
        "[closed]\ndocs_url = \"https://acme.example/docs\"\ndisplay_name = \"Closed\"\ntoken_types = [\"api_key\"]\nenv_var = \"C\"\n\
         api_base_url = \"http://{closed}\"\n"
    ));
    let app = TestApp::new()
        .with_providers_toml(toml)
        .config(|c| {
            c.proxy.allow_private = true;
            c.proxy.timeout = std::time::Duration::from_secs(1);
        })
        .start()
        .await;
    app.store("u1", &api_key("acme", "acme", json!({"api_key": "k"})))
        .await;
    app.store("u1", &api_key("closed", "closed", json!({"api_key": "k"})))
        .await;
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/acme/hang")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 504, "{}", response.body);
    assert_eq!(response.error(), "upstream_timeout");
    assert!(tokenvault_made(&response));
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/closed/x")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 502, "{}", response.body);
    assert_eq!(response.error(), "upstream_unavailable");
    assert!(
        !response.message().contains("127.0.0.1"),
        "{}",
        response.message()
    );
}

#[actix_web::test]
async fn a_proxy_only_key_uses_credentials_it_can_never_read() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &oauth2_body("google")).await;
    app.store("u2", &oauth2_body("google")).await;
    let proxy_only = app.create_key(tokenvault::DEFAULT_TENANT, "tokens:proxy", None);
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/me")),
        &proxy_only,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let get = app.get("/v2/users/u1/tokens/google", &proxy_only).await;
    assert_eq!(get.status, 403);
    // An access token minted from it proxies too.
    let token = app.mint_access_token(&proxy_only).await;
    let response = app
        .call(
            test::TestRequest::get()
                .uri(&format!("{PROXY}/google/me"))
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        upstream.last().all("authorization"),
        ["Bearer ya29.ACCESS-SECRET-1"]
    );
    // Bound to u2: only u2's credentials.
    let bound = app.create_key(tokenvault::DEFAULT_TENANT, "tokens:proxy", Some("u2"));
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/me")),
        &bound,
    )
    .await;
    assert_eq!(response.status, 403);
    let response = call(
        &app,
        test::TestRequest::get().uri("/v2/users/u2/proxy/google/me"),
        &bound,
    )
    .await;
    assert_eq!(response.status, 200);
    // Without proxy or read scope: refused; another tenant: not found.
    let writer = app.create_key(tokenvault::DEFAULT_TENANT, "tokens:write", None);
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/me")),
        &writer,
    )
    .await;
    assert_eq!(response.status, 403);
    let other = app.create_key("other", "tokens:proxy", None);
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/google/me")),
        &other,
    )
    .await;
    assert_eq!(response.status, 404);
    assert!(tokenvault_made(&response));
}

#[actix_web::test]
async fn bodies_over_the_limit_are_413_and_large_ones_stream_through() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = TestApp::new()
        .with_providers_toml(providers(&mock, &upstream))
        .config(|c| {
            c.proxy.allow_private = true;
            c.proxy.max_body = 3 * 1024 * 1024;
        })
        .start()
        .await;
    app.store("u1", &api_key("acme", "acme", json!({"api_key": "k"})))
        .await;
    let response = call(
        &app,
        test::TestRequest::put()
            .uri(&format!("{PROXY}/acme/upload"))
            .set_payload(vec![b'y'; 4 * 1024 * 1024]),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(tokenvault_made(&response));
    assert!(upstream.arrived().is_empty());

    // Over the replay buffer, under the limit: streamed through, over real HTTP, chunked.
    let base = app.listen().await;
    let client = reqwest::Client::new();
    let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b'z'; 64 * 1024]));
    let response = client
        .put(format!("{base}{PROXY}/acme/upload"))
        .header("X-API-Key", &app.admin_key)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(upstream.last().body_len, 40 * 64 * 1024);

    // Chunked and over the limit: refused mid-stream.
    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'z'; 64 * 1024]));
    let response = client
        .put(format!("{base}{PROXY}/acme/upload"))
        .header("X-API-Key", &app.admin_key)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // An answer streams: its first chunk arrives while the API still holds back the rest.
    let response = client
        .get(format!("{base}{PROXY}/acme/gated"))
        .header("X-API-Key", &app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    use futures_util::StreamExt;
    let first = stream.next().await.unwrap().unwrap();
    assert!(!first.is_empty() && first.len() <= 64 * 1024);
    upstream.open_gate();
    let mut total = first.len();
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 1024 * 1024);

    // A large answer streams back whole.
    let response = client
        .get(format!("{base}{PROXY}/acme/big?mb=20"))
        .header("X-API-Key", &app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(20 * 1024 * 1024));
    let mut total = 0usize;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 20 * 1024 * 1024);
}

#[actix_web::test]
async fn providers_without_an_api_and_missing_credentials_are_tokenvault_errors() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &api_key("nobase", "nobase", json!({"api_key": "k"})))
        .await;
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/nobase/x")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(response.message().contains("api_base_url"));
    let response = call(
        &app,
        test::TestRequest::get().uri(&format!("{PROXY}/missing/x")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 404);
    assert!(tokenvault_made(&response));
    // An upstream 5xx is the API's, not tokenvault's.
    app.store("u1", &api_key("acme", "acme", json!({"api_key": "k"})))
        .await;
    let response = call(
        &app,
        test::TestRequest::get()
            .uri(&format!("{PROXY}/acme/x"))
            .insert_header(("X-Answer-Status", "500")),
        &app.admin_key,
    )
    .await;
    assert_eq!(response.status, 500);
    assert!(!tokenvault_made(&response));
}

#[actix_web::test]
async fn use_is_audited_at_most_once_a_minute_without_the_query_and_counted() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &api_key("acme", "acme", json!({"api_key": "k"})))
        .await;
    for _ in 0..3 {
        let response = call(
            &app,
            test::TestRequest::get().uri(&format!("{PROXY}/acme/repos?secret_query=1")),
            &app.admin_key,
        )
        .await;
        assert_eq!(response.status, 200);
    }
    let events_path = "/v2/users/u1/tokens/acme/events";
    let mut proxied = Vec::new();
    for _ in 0..100 {
        let events = app.get(events_path, &app.admin_key).await;
        proxied = events
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "proxied")
            .cloned()
            .collect::<Vec<_>>();
        if !proxied.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(proxied.len(), 1, "{proxied:?}");
    assert_eq!(proxied[0]["outcome"], "success");
    assert_eq!(proxied[0]["reason"], "GET /api/repos → 200");
    let metrics = app.get("/metrics", &app.admin_key).await;
    let text = metrics.body.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("tokenvault_proxy_requests_total{provider=\"acme\",status_class=\"2xx\"}"),
        "{text}"
    );
}

#[actix_web::test]
async fn the_cli_proxies_and_exits_by_status_class() {
    let (mock, upstream) = (MockProvider::start().await, Upstream::start());
    let app = app_with(&mock, &upstream).await;
    app.store("u1", &api_key("acme", "acme", json!({"api_key": "k"})))
        .await;
    let url = app.listen().await;
    let body_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body_file.path(), r#"{"a":1}"#).unwrap();
    let data = format!("@{}", body_file.path().display());
    let run = common::tv(
        &url,
        &app.admin_key,
        &[
            "proxy",
            "acme",
            "POST",
            "/things?x=1",
            "--user",
            "u1",
            "-d",
            &data,
            "-H",
            "Content-Type: application/json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echoed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(echoed["path"], "/api/things");
    assert_eq!(echoed["query"], "x=1");
    assert_eq!(echoed["body_len"], 7);
    assert_eq!(
        upstream.last().header("content-type"),
        Some("application/json")
    );
    let run = common::tv(
        &url,
        &app.admin_key,
        &[
            "proxy",
            "acme",
            "GET",
            "x",
            "--user",
            "u1",
            "-H",
            "X-Answer-Status: 404",
        ],
    )
    .await;
    assert_eq!(run.code, 14, "{}", run.stderr);
    let run = common::tv(
        &url,
        &app.admin_key,
        &[
            "proxy",
            "acme",
            "GET",
            "x",
            "--user",
            "u1",
            "-H",
            "X-Answer-Status: 503",
        ],
    )
    .await;
    assert_eq!(run.code, 15, "{}", run.stderr);
    let run = common::tv(
        &url,
        &app.admin_key,
        &["proxy", "acme", "GET", "a//x", "--user", "u1"],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("Invalid proxy path"), "{}", run.stderr);
    let run = common::tv(
        &url,
        &app.admin_key,
        &["proxy", "acme", "GET", "../x", "--user", "u1"],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(upstream.arrived().len() == 3);
}
