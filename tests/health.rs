//! Connection health through the real app on both backends: credentials refreshed ahead of
//! expiry by two instances (each exactly once), webhooks delivered through a receiver that is
//! down, fails, rate-limits and then accepts (signatures checked with an independent HMAC), a
//! killed instance's undelivered events delivered by a restarted one, and retention.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use actix_web::test;
use common::oauth_mock::{MockProvider, Reply};
use common::receiver::{Receiver, verifies};
use common::{TestApp, TestDb, serve_on_free_port, tokenvault_command};
use serde_json::{Value, json};
use tokenvault::health::refresher::{Refresher, RefresherSettings};

/// An OAuth2 body whose refresh token names it, expiring in `secs`.
fn credential(integration_key: &str, refresh_token: &str, secs: i64) -> Value {
    let mut body = common::expiring_body(integration_key, "google", secs);
    body["token_data"]["refresh_token"] = json!(refresh_token);
    body
}

/// Polls `check` every 50 ms until it holds, failing after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An app whose background refresher scans every second, its provider the mock.
async fn refreshing_app(mock: &MockProvider) -> TestApp {
    TestApp::new()
        .with_provider(mock)
        .config(|c| {
            c.health.background_refresh = true;
            c.health.refresh_scan = Duration::from_secs(1);
        })
        .start()
        .await
}

/// The app's `/metrics` text.
async fn metrics_text(app: &TestApp) -> String {
    let metrics = (app.svc)(test::TestRequest::get().uri("/metrics").to_request());
    let text = test::read_body(metrics.await.unwrap()).await;
    String::from_utf8_lossy(&text).into_owned()
}

/// Seconds until the stored expiry of every credential of `user`, smallest first.
async fn seconds_left(app: &TestApp, user: &str) -> Vec<i64> {
    let listed = app
        .get(&format!("/v2/users/{user}/tokens"), &app.admin_key)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let now = app.state.clock.now();
    let mut left: Vec<i64> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let at =
                chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap()).unwrap();
            (at.with_timezone(&chrono::Utc) - now).num_seconds()
        })
        .collect();
    left.sort_unstable();
    left
}

#[actix_web::test]
async fn two_instances_refresh_every_credential_ahead_exactly_once() {
    const COUNT: usize = 40;
    let mock = MockProvider::start().await;
    mock.delay(Duration::from_millis(30));
    let adjust = |c: &mut tokenvault::config::Config| {
        c.health.background_refresh = true;
        c.health.refresh_scan = Duration::from_secs(1);
        c.health.refresh_concurrency = 4;
    };
    let a = TestApp::new()
        .with_provider(&mock)
        .config(adjust)
        .start()
        .await;
    let b = a.second_instance().await;
    for i in 0..COUNT {
        // Expiring in 5 to 9 minutes: inside the ten-minute ahead window, so each is looked at
        // halfway through its life (at 2.5 to 4.5 minutes).
        let body = credential(
            &format!("g{i:02}"),
            &format!("1//REFRESH-{i:02}"),
            300 + 6 * i as i64,
        );
        assert_eq!(a.store("u1", &body).await.status, 201);
    }
    // One credential far from expiry and one without a refresh token: never refreshed.
    assert_eq!(
        a.store("u2", &credential("later", "1//LATER", 7200))
            .await
            .status,
        201
    );
    let mut no_refresh = credential("norefresh", "x", 60);
    no_refresh["token_data"]
        .as_object_mut()
        .unwrap()
        .remove("refresh_token");
    assert_eq!(a.store("u3", &no_refresh).await.status, 201);

    // 4.5 minutes pass: every one is past halfway, none has expired.
    a.advance(Duration::from_secs(270));
    let started = Instant::now();
    let workers = [a.start_background(), b.start_background()];
    eventually(
        Duration::from_secs(30),
        "every credential refreshed",
        || async { seconds_left(&a, "u1").await[0] > 3000 },
    )
    .await;
    let took = started.elapsed();
    // Two more scans of each instance: nothing is refreshed twice.
    actix_web::rt::time::sleep(Duration::from_millis(2200)).await;
    workers.iter().for_each(tokenvault::health::Workers::stop);

    let bodies: Vec<String> = mock.requests().into_iter().map(|r| r.body).collect();
    let mut per_token: BTreeMap<String, usize> = BTreeMap::new();
    for body in &bodies {
        let form: BTreeMap<String, String> = serde_urlencoded::from_str(body).unwrap();
        *per_token.entry(form["refresh_token"].clone()).or_default() += 1;
    }
    assert_eq!(per_token.len(), COUNT, "{per_token:?}");
    assert!(per_token.values().all(|&n| n == 1), "{per_token:?}");
    assert_eq!(mock.token_calls(), COUNT);
    for i in 0..COUNT {
        let events = a
            .get(&format!("/v2/users/u1/tokens/g{i:02}/events"), &a.admin_key)
            .await;
        let refreshes = events
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "refresh");
        assert_eq!(refreshes.count(), 1, "g{i:02}: {}", events.body);
    }
    // Two hours minus the 4.5 minutes that passed: untouched.
    assert!(seconds_left(&a, "u2").await[0] > 6900);
    eprintln!(
        "refreshed {COUNT} credentials ahead in {took:?} ({:.1}/s, scan 1 s, concurrency 4 per instance, provider 30 ms)",
        COUNT as f64 / took.as_secs_f64()
    );

    let text = metrics_text(&a).await;
    for family in [
        "tokenvault_background_scan_duration_seconds",
        "tokenvault_background_refresh_total{outcome=\"refreshed\"}",
        "tokenvault_background_refresh_backlog",
        "tokenvault_webhook_outbox_depth",
    ] {
        assert!(text.contains(family), "{family} missing");
    }
}

/// A refresher over the app's services, scanning when the test says (no timer).
fn manual_refresher(app: &TestApp) -> Refresher {
    Refresher::new(
        app.state.db.clone(),
        app.state.credentials.clone(),
        RefresherSettings {
            ahead: Duration::from_secs(600),
            scan: Duration::from_secs(1),
            concurrency: 4,
        },
    )
}

#[actix_web::test]
async fn a_freshly_stored_short_lived_token_is_first_refreshed_halfway_through_its_life() {
    let mock = MockProvider::start().await;
    let app = refreshing_app(&mock).await;
    let refresher = manual_refresher(&app);
    assert_eq!(
        app.store("u1", &credential("short", "1//SHORT", 60))
            .await
            .status,
        201
    );
    // Scans right after the store, and until just before the halfway point, leave it alone:
    // the refresh token the app just stored is not rotated away.
    for _ in 0..3 {
        refresher.scan_once().await.unwrap();
        app.advance(Duration::from_secs(9));
    }
    assert_eq!(mock.token_calls(), 0, "refreshed before halfway");
    // Halfway (30 s) is past: one refresh.
    app.advance(Duration::from_secs(4));
    let report = refresher.scan_once().await.unwrap();
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(mock.token_calls(), 1);
    refresher.scan_once().await.unwrap();
    assert_eq!(mock.token_calls(), 1, "refreshed twice");
}

#[actix_web::test]
async fn a_failing_provider_is_backed_off_and_an_invalid_credential_left_alone() {
    let mock = MockProvider::start().await;
    mock.reply(Reply::Status(500));
    let app = refreshing_app(&mock).await;
    assert_eq!(
        app.store("u1", &credential("flaky", "1//FLAKY", 60))
            .await
            .status,
        201
    );
    assert_eq!(
        app.store("u1", &credential("dead", "1//DEAD", 60))
            .await
            .status,
        201
    );
    // Scans are run here one by one; time moves through the app's clock.
    let refresher = manual_refresher(&app);
    app.advance(Duration::from_secs(31));
    let first = refresher.scan_once().await.unwrap();
    assert_eq!((first.due, first.failed), (2, 2), "{first:?}");
    assert_eq!(mock.token_calls(), 2);
    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    // After one failure: no attempt before the 30-second cooldown (the backoff, 15 to 30 s,
    // never ends before it), however often the refresher scans meanwhile.
    for _ in 0..3 {
        app.advance(Duration::from_secs(4));
        refresher.scan_once().await.unwrap();
        assert_eq!(mock.token_calls(), 2, "retried inside the backoff");
    }
    // Once the backoff is over, the provider rejects both; invalid credentials are then never
    // tried again.
    app.advance(Duration::from_secs(3600));
    let after = refresher.scan_once().await.unwrap();
    assert_eq!(after.failed, 2, "{after:?}");
    assert_eq!(mock.token_calls(), 4);
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    let statuses: Vec<_> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(statuses, ["invalid", "invalid"], "{}", listed.body);
    for _ in 0..3 {
        app.advance(Duration::from_secs(7200));
        refresher.scan_once().await.unwrap();
    }
    assert_eq!(
        mock.token_calls(),
        4,
        "an invalid credential was tried again"
    );
}

/// Creates a webhook for every event type; its id and secret.
async fn create_webhook(app: &TestApp, url: &str) -> (String, String) {
    let created = app
        .post("/v2/webhooks", &app.admin_key, &json!({ "url": url }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers.get("cache-control").unwrap(), "no-store");
    let secret = created.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    (created.body["id"].as_str().unwrap().to_string(), secret)
}

async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let listed = app
        .get(
            &format!("/v2/webhooks/{webhook}/deliveries?limit=500"),
            &app.admin_key,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body.as_array().unwrap().clone()
}

#[actix_web::test]
async fn every_event_reaches_a_receiver_that_was_down_failing_and_rate_limiting() {
    let mock = MockProvider::start().await;
    let app = TestApp::new()
        .with_provider(&mock)
        .config(|c| {
            c.health.webhook_allow_private = true;
            c.health.webhook_retry_base = Duration::from_millis(100);
            c.refresh_cooldown = Duration::ZERO;
        })
        .start()
        .await;
    let receiver = Receiver::down();
    let (webhook, secret) = create_webhook(&app, &receiver.url).await;
    let workers = app.start_background();

    // connected → refresh_failed (expired, provider 500) → recovered → invalid → recovered
    // (stored anew) → deleted.
    let path = "/v2/users/u1/tokens/google";
    assert_eq!(
        app.store("u1", &credential("google", "1//R", -10))
            .await
            .status,
        201
    );
    mock.reply(Reply::Status(500));
    assert_eq!(
        app.post(&format!("{path}/refresh"), &app.admin_key, &json!({}))
            .await
            .status,
        503
    );
    mock.reply(Reply::Success {
        rotate: true,
        expires_in: Some(3600),
    });
    assert_eq!(
        app.post(&format!("{path}/refresh"), &app.admin_key, &json!({}))
            .await
            .status,
        200
    );
    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    assert_eq!(
        app.post(&format!("{path}/refresh"), &app.admin_key, &json!({}))
            .await
            .status,
        410
    );
    assert_eq!(
        app.store("u1", &credential("google", "1//R2", 3600))
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&format!("{path}?revoke=false"), &app.admin_key)
            .await
            .status,
        200
    );

    // Down: attempts are refused and recorded (the oldest message's first of all).
    eventually(Duration::from_secs(10), "refused attempts", || async {
        deliveries(&app, &webhook).await.last().is_some_and(|d| {
            d["attempts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["error"].is_string()))
        })
    })
    .await;
    receiver.script(&[(500, None), (429, Some(1)), (503, None)]);
    receiver.up();
    eventually(Duration::from_secs(30), "every event delivered", || async {
        let all = deliveries(&app, &webhook).await;
        all.len() == 6 && all.iter().all(|d| d["state"] == "delivered")
    })
    .await;
    workers.stop();

    let all = deliveries(&app, &webhook).await;
    let mut types: Vec<&str> = all
        .iter()
        .map(|d| d["event_type"].as_str().unwrap())
        .collect();
    types.reverse();
    assert_eq!(
        types,
        [
            "credential.connected",
            "credential.refresh_failed",
            "credential.recovered",
            "credential.invalid",
            "credential.recovered",
            "credential.deleted"
        ]
    );
    let received = receiver.received();
    let ids: BTreeSet<&str> = all.iter().map(|d| d["id"].as_str().unwrap()).collect();
    for id in &ids {
        let mine: Vec<_> = received.iter().filter(|r| r.id == *id).collect();
        assert!(
            mine.iter().any(|r| r.answered == 200),
            "{id} never accepted"
        );
        assert!(
            mine.iter().all(|r| r.body == mine[0].body),
            "{id}: body changed between attempts"
        );
        assert!(
            mine.iter().all(|r| verifies(&secret, r)),
            "{id}: signature does not verify"
        );
    }
    // Retried with the same id: the 500, 429 and 503 were each followed by another attempt of
    // the same message, the 429 only after its Retry-After.
    for failed in received.iter().filter(|r| r.answered != 200) {
        let again = received
            .iter()
            .find(|r| r.id == failed.id && r.at > failed.at)
            .unwrap_or_else(|| panic!("{} not retried after {}", failed.id, failed.answered));
        if failed.answered == 429 {
            assert!(
                again.at - failed.at >= Duration::from_millis(950),
                "Retry-After ignored"
            );
        }
    }
    let statuses: BTreeSet<u16> = received.iter().map(|r| r.answered).collect();
    assert_eq!(statuses, BTreeSet::from([200, 429, 500, 503]));
    // The first message's attempts: refused (no status) first, then answered.
    let first = all.last().unwrap();
    let attempts = first["attempts"].as_array().unwrap();
    assert!(attempts[0]["status_code"].is_null() && attempts[0]["error"].is_string());
    assert_eq!(attempts.last().unwrap()["status_code"], 200);
    let text = metrics_text(&app).await;
    for line in [
        "tokenvault_webhook_deliveries_total{outcome=\"delivered\"}",
        "tokenvault_webhook_deliveries_total{outcome=\"retry\"}",
        "tokenvault_webhook_delivery_latency_seconds_count",
    ] {
        assert!(text.contains(line), "{line} missing");
    }
    // Payloads: who and what, never a secret.
    let body: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(body["data"]["user_id"], "u1");
    assert_eq!(body["data"]["integration_key"], "google");
    assert_eq!(body["data"]["provider"], "google");
    for r in &received {
        for secret_part in [
            "ACCESS-SECRET",
            "1//R",
            "CLIENT-SECRET",
            "NEW-",
            "ROTATED",
            "whsec_",
        ] {
            assert!(!r.body.contains(secret_part), "{secret_part} in {}", r.body);
        }
    }
}

#[actix_web::test]
async fn webhook_targets_and_management() {
    let app = common::spawn().await;
    for (url, status) in [
        ("http://127.0.0.1:9/hooks", 422),
        ("http://localhost/hooks", 422),
        ("http://10.0.0.8/hooks", 422),
        ("http://169.254.169.254/latest", 422),
        ("http://[::1]/hooks", 422),
        ("http://[::ffff:192.168.0.1]/hooks", 422),
        // IPv6 forms that carry a non-public IPv4: compatible, NAT64, 6to4, Teredo.
        ("http://[::127.0.0.1]/hooks", 422),
        ("http://[64:ff9b::7f00:1]/hooks", 422),
        ("http://[2002:7f00:1::]/hooks", 422),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hooks", 422),
        ("ftp://example.com/hooks", 400),
        ("https://user:pw@example.com/hooks", 400),
        ("not a url", 400),
    ] {
        let created = app
            .post("/v2/webhooks", &app.admin_key, &json!({ "url": url }))
            .await;
        assert_eq!(created.status, status, "{url}: {}", created.body);
    }
    let bad_event =
        json!({ "url": "https://93.184.216.34/hooks", "events": ["credential.exploded"] });
    let created = app.post("/v2/webhooks", &app.admin_key, &bad_event).await;
    assert_eq!(created.status, 400);
    assert!(
        created.message().contains("credential.invalid"),
        "{}",
        created.body
    );

    let body = json!({ "url": "https://93.184.216.34/hooks", "events": ["credential.invalid"] });
    let created = app.post("/v2/webhooks", &app.admin_key, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let listed = app.get("/v2/webhooks", &app.admin_key).await;
    assert_eq!(listed.body[0]["events"], json!(["credential.invalid"]));
    assert!(listed.body[0].get("secret").is_none());
    assert!(!listed.body.to_string().contains("whsec_"));
    // The secret is stored sealed.
    let stored: Vec<String> = app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::webhooks;
        Ok(webhooks::table
            .select(webhooks::secret_ciphertext)
            .load(conn)?)
    });
    assert!(!stored[0].contains("whsec_"));

    // Admin scope, per tenant.
    let reader = app.create_key("default", "tokens:read,tokens:write", None);
    assert_eq!(app.get("/v2/webhooks", &reader).await.status, 403);
    let other = app.create_key("other", "admin", None);
    assert_eq!(app.get("/v2/webhooks", &other).await.body, json!([]));
    assert_eq!(
        app.delete(&format!("/v2/webhooks/{id}"), &other)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/v2/webhooks/{id}/deliveries"), &other)
            .await
            .status,
        404
    );
    // Only subscribed events are queued.
    assert_eq!(
        app.store("u1", &common::oauth2_body("google")).await.status,
        201
    );
    assert_eq!(deliveries(&app, id).await.len(), 0);
    assert_eq!(
        app.delete(&format!("/v2/webhooks/{id}"), &app.admin_key)
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&format!("/v2/webhooks/{id}"), &app.admin_key)
            .await
            .status,
        404
    );
}

/// The server as a process, delivering webhooks to loopback with a fast retry.
fn server_process(db: &TestDb, enc_key: &str, admin: &str) -> std::process::Command {
    let mut cmd = tokenvault_command(db, enc_key);
    cmd.env("TOKENVAULT_BOOTSTRAP_API_KEY", admin)
        .env("TOKENVAULT_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("TOKENVAULT_WEBHOOK_RETRY_BASE_MS", "100")
        .env("TOKENVAULT_BACKGROUND_REFRESH", "false");
    cmd
}

async fn http(method: reqwest::Method, url: String, key: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let mut request = client.request(method, url).header("X-API-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

#[actix_web::test]
async fn events_of_a_killed_instance_are_delivered_by_the_restarted_one() {
    const EVENTS: usize = 24;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let db = TestDb::new();
    let enc_key = tokenvault::crypto::generate_key();
    let admin = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
    let receiver = Receiver::down();
    receiver.up();
    receiver.stall(true);
    let (mut first, addr) = serve_on_free_port(server_process(&db, &enc_key, &admin));
    let base = format!("http://{addr}");
    let body = json!({ "url": receiver.url });
    let created = http(
        reqwest::Method::POST,
        format!("{base}/v2/webhooks"),
        &admin,
        Some(body),
    )
    .await;
    let webhook = created["id"].as_str().unwrap().to_string();
    for i in 0..EVENTS {
        let body = json!({"integration_key": format!("k{i}"), "provider": "openai",
                          "token_type": "api_key", "token_data": {"api_key": "sk-SECRET"}});
        let url = format!("{base}/v2/users/u{i}/tokens");
        http(reqwest::Method::POST, url, &admin, Some(body)).await;
    }
    // The first instance has deliveries in flight (the receiver holds them) when it is killed.
    eventually(Duration::from_secs(10), "deliveries in flight", || async {
        receiver.stalled() > 0
    })
    .await;
    first.kill().unwrap();
    first.wait().unwrap();
    receiver.stall(false);

    let started = Instant::now();
    let (mut second, addr) = serve_on_free_port(server_process(&db, &enc_key, &admin));
    let base = format!("http://{addr}");
    let url = format!("{base}/v2/webhooks/{webhook}/deliveries?limit=500");
    eventually(Duration::from_secs(40), "every event delivered", || async {
        let all = http(reqwest::Method::GET, url.clone(), &admin, None).await;
        let all = all.as_array().unwrap().clone();
        all.len() == EVENTS && all.iter().all(|d| d["state"] == "delivered")
    })
    .await;
    let took = started.elapsed();
    second.kill().unwrap();
    second.wait().unwrap();
    let accepted: BTreeSet<String> = receiver
        .received()
        .into_iter()
        .filter(|r| r.answered == 200)
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["data"]["user_id"].to_string())
        .collect();
    assert_eq!(accepted.len(), EVENTS, "lost events");
    eprintln!(
        "killed with {EVENTS} events undelivered; all delivered {took:?} after the restart (leases of the killed instance expire after 15 s)"
    );
}

#[actix_web::test]
async fn retention_purges_old_rows_and_reaps_long_invalid_credentials() {
    let mock = MockProvider::start().await;
    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    let app = TestApp::new().with_provider(&mock).start().await;
    let admin = app.admin_key.clone();
    for key in ["dead", "recent"] {
        assert_eq!(
            app.store("u1", &credential(key, "1//R", -10)).await.status,
            201
        );
        let refreshed = app
            .post(
                &format!("/v2/users/u1/tokens/{key}/refresh"),
                &admin,
                &json!({}),
            )
            .await;
        assert_eq!(refreshed.status, 410);
    }
    assert_eq!(
        app.store("u1", &credential("alive", "1//A", 3600))
            .await
            .status,
        201
    );
    app.mint_access_token(&admin).await;
    app.mint_access_token(&admin).await;
    // Time injected through the rows: "dead" has been invalid for 40 days, one access token
    // expired two days ago, the alive credential's first event is 100 days old.
    let days_ago = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).naive_utc();
    let (forty, two, hundred) = (days_ago(40), days_ago(2), days_ago(100));
    app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::{access_tokens, token_events, tokens};
        diesel::update(tokens::table.filter(tokens::integration_key.eq("dead")))
            .set(tokens::updated_at.eq(forty))
            .execute(conn)?;
        let one: String = access_tokens::table.select(access_tokens::id).first(conn)?;
        diesel::update(access_tokens::table.find(one))
            .set((
                access_tokens::expires_at.eq(two),
                access_tokens::created_at.eq(two),
            ))
            .execute(conn)?;
        diesel::update(token_events::table.filter(token_events::integration_key.eq("alive")))
            .set(token_events::created_at.eq(hundred))
            .execute(conn)?;
        Ok(())
    });

    let run = |args: &'static [&'static str]| {
        let mut cmd = tokenvault_command(
            &app.db,
            app.state.config.encryption_keys.as_ref().unwrap().as_str(),
        );
        cmd.args(args).env("TOKENVAULT_REAP_INVALID_DAYS", "30");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dry = run(&["reap", "--dry-run"]);
    assert!(dry.contains("u1\tdead\tgoogle"), "{dry}");
    assert!(!dry.contains("recent") && !dry.contains("alive"), "{dry}");
    assert!(dry.contains("would delete 1 credential"), "{dry}");
    assert_eq!(
        app.get("/v2/users/u1/tokens/dead", &admin).await.status,
        410
    );

    let done = run(&["reap"]);
    assert!(
        done.contains("deleted 1 invalid credential(s), 1 expired access token(s)"),
        "{done}"
    );
    // Deleted by another process: never served once its notification is here.
    app.until_uncached("u1", "dead").await;
    assert_eq!(
        app.get("/v2/users/u1/tokens/dead", &admin).await.status,
        404
    );
    assert_eq!(
        app.get("/v2/users/u1/tokens/recent", &admin).await.status,
        410
    );
    let events = app.get("/v2/users/u1/tokens/dead/events", &admin).await;
    let last = &events.body[0];
    assert_eq!(last["event"], "deleted");
    let revoke = &events.body[1];
    assert!(
        revoke["reason"]
            .as_str()
            .unwrap()
            .contains("invalid for more than 30 days")
    );
    let alive = app.get("/v2/users/u1/tokens/alive/events", &admin).await;
    assert_eq!(alive.body, json!([]), "100-day-old events kept");
    let left: i64 = app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::access_tokens;
        Ok(access_tokens::table.count().get_result(conn)?)
    });
    assert_eq!(left, 1, "the live access token is kept");
    // A second pass finds nothing more.
    let again = run(&["reap"]);
    assert!(
        again.contains("deleted 0 invalid credential(s), 0 expired access token(s)"),
        "{again}"
    );
}

#[actix_web::test]
async fn rotate_key_re_encrypts_webhook_secrets() {
    let old = tokenvault::crypto::generate_key();
    let new = tokenvault::crypto::generate_key();
    let old_key = old.clone();
    let app = TestApp::new()
        .config(move |c| {
            c.encryption_keys = Some(old_key.into());
            c.health.webhook_allow_private = true;
        })
        .start()
        .await;
    let receiver = Receiver::down();
    receiver.up();
    let (webhook, secret) = create_webhook(&app, &receiver.url).await;
    let out = tokenvault_command(&app.db, &format!("{new},{old}"))
        .arg("rotate-key")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 webhook secret(s) re-encrypted"),
        "{stderr}"
    );
    // Served with the new key alone, the secret still signs.
    let new_key = new.clone();
    let rotated = app
        .instance_with(move |c| c.encryption_keys = Some(new_key.into()))
        .await;
    let workers = rotated.start_background();
    assert_eq!(
        rotated
            .store("u1", &common::api_key_body("openai"))
            .await
            .status,
        201
    );
    eventually(Duration::from_secs(10), "the delivery", || async {
        deliveries(&rotated, &webhook)
            .await
            .iter()
            .any(|d| d["state"] == "delivered")
    })
    .await;
    workers.stop();
    let received = receiver.received();
    assert!(verifies(&secret, &received[0]));
}

#[actix_web::test]
async fn a_get_during_a_background_refresh_joins_it() {
    let mock = MockProvider::start().await;
    mock.delay(Duration::from_millis(1500));
    let app = refreshing_app(&mock).await;
    // Inside the GET's refresh window too (100 s left < 300 s).
    assert_eq!(
        app.store("u1", &credential("google", "1//J", 100))
            .await
            .status,
        201
    );
    // Past halfway (50 s): the background refresher takes it.
    app.advance(Duration::from_secs(51));
    let workers = app.start_background();
    eventually(
        Duration::from_secs(5),
        "the background refresh under way",
        || async { mock.token_calls() == 1 },
    )
    .await;
    let got = app.get("/v2/users/u1/tokens/google", &app.admin_key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"]["access_token"], "ya29.NEW-1");
    assert_eq!(got.body["refreshed"], true);
    assert_eq!(mock.token_calls(), 1);
    workers.stop();
}

#[actix_web::test]
async fn a_receiver_that_never_answers_is_abandoned_after_ten_seconds_and_retried() {
    let app = TestApp::new()
        .config(|c| c.health.webhook_allow_private = true)
        .start()
        .await;
    let receiver = Receiver::down();
    receiver.up();
    receiver.stall(true);
    let (webhook, _) = create_webhook(&app, &receiver.url).await;
    let workers = app.start_background();
    assert_eq!(
        app.store("u1", &common::api_key_body("openai"))
            .await
            .status,
        201
    );
    eventually(Duration::from_secs(20), "a timed-out attempt", || async {
        deliveries(&app, &webhook)
            .await
            .iter()
            .any(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
    })
    .await;
    workers.stop();
    let all = deliveries(&app, &webhook).await;
    let attempt = &all[0]["attempts"][0];
    assert!(attempt["status_code"].is_null(), "{attempt}");
    assert!(
        attempt["error"].as_str().unwrap().contains("timed out"),
        "{attempt}"
    );
    let took = attempt["duration_ms"].as_i64().unwrap();
    assert!((9_900..15_000).contains(&took), "{took} ms");
    assert_eq!(all[0]["state"], "pending");
    assert!(all[0]["next_attempt_at"].is_string());
}

#[actix_web::test]
async fn a_tenant_has_at_most_fifty_webhooks() {
    let app = common::spawn().await;
    let body = json!({ "url": "https://93.184.216.34/hooks" });
    // At once: on PostgreSQL each registration waits ~3 s for the other instances' caches.
    let creating = (0..50).map(|_| app.post("/v2/webhooks", &app.admin_key, &body));
    for created in futures_util::future::join_all(creating).await {
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let refused = app.post("/v2/webhooks", &app.admin_key, &body).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.message().contains("at most 50"), "{}", refused.body);
    let listed = app.get("/v2/webhooks", &app.admin_key).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 50);
}
