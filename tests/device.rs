//! The device flow (RFC 8628) end to end: the app starts it over HTTP, the user (played by the
//! test) decides at a local authorization server with each provider's quirks, tokenvault polls
//! it at its interval (+5 s per `slow_down`, counted by the server) and the app asks how the
//! connect stands. Time is injected: each poller pass runs when the test says. A connect
//! outlives the instance that started it. The CLI waits for it with `--device`. Both backends.

mod common;

use std::time::Duration;

use common::grant_server::{ClientAuth, Decision, DeviceStyle, GrantServer};
use common::{TestApp, TestResponse, tv};
use serde_json::{Value, json};
use tokenvault::connect::device::DevicePoller;
use tokenvault::providers::OAuthClient;
use tokenvault::secret::Secret;

const CLIENT_ID: &str = "Iv1.device-client";
const CLIENT_SECRET: &str = "device-client-SECRET";

/// `provider`'s device endpoints pointed at `server`, the platform client configured.
async fn app_for(server: &GrantServer, provider: &str, public: bool) -> TestApp {
    server.client(CLIENT_ID, CLIENT_SECRET, ClientAuth::Body);
    let toml = format!(
        "[{provider}]\ntoken_url = \"{0}/token\"\ndevice_authorization_url = \"{0}/device/code\"\n\
         userinfo_url = \"{0}/none\"\ndevice_client_secret = {1}\n",
        server.url, !public
    );
    let provider = provider.to_string();
    TestApp::new()
        .with_providers_toml(toml)
        .config(move |c| {
            c.health.webhook_allow_private = true;
            c.oauth_clients.insert(
                provider,
                OAuthClient {
                    client_id: Secret::new(CLIENT_ID.into()),
                    client_secret: Some(Secret::new(CLIENT_SECRET.into())),
                },
            );
        })
        .start()
        .await
}

fn poller(app: &TestApp, owner: &str) -> DevicePoller {
    DevicePoller::new(app.state.connect.clone(), owner.into())
}

async fn start(app: &TestApp, provider: &str) -> TestResponse {
    let body = json!({"provider": provider, "flow": "device", "integration_key": "agent"});
    app.post("/v2/users/u1/connect", &app.admin_key, &body)
        .await
}

async fn status(app: &TestApp, started: &TestResponse) -> Value {
    let id = started.body["connect_id"].as_str().unwrap();
    let got = app
        .get(&format!("/v2/users/u1/connect/{id}"), &app.admin_key)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.body
}

/// Moves time on by `secs` and runs one poller pass: how many connects it polled.
async fn after(app: &TestApp, poller: &DevicePoller, secs: u64) -> usize {
    app.advance(Duration::from_secs(secs));
    poller.poll_once().await.unwrap()
}

#[actix_web::test]
async fn a_device_connect_polls_at_the_interval_slows_down_and_connects() {
    let server = GrantServer::start().await;
    server.device(DeviceStyle::GitHub, 5, 900);
    let app = app_for(&server, "github", true).await;
    let created = app
        .post(
            "/v2/webhooks",
            &app.admin_key,
            &json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let webhook = created.body["id"].as_str().unwrap().to_string();

    let started = start(&app, "github").await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.body["flow"], "device");
    assert_eq!(started.body["user_code"], "WDJB-MJH1");
    assert_eq!(
        started.body["verification_uri"],
        format!("{}/device", server.url)
    );
    assert_eq!(started.body["interval"], 5);
    assert!(
        started.body["connect_id"]
            .as_str()
            .unwrap()
            .starts_with("con_")
    );
    assert!(!started.body.to_string().contains("DEVICE-CODE-SECRET"));
    assert_eq!(status(&app, &started).await["status"], "pending");

    let poller = poller(&app, "inst_a");
    // Not before the interval.
    assert_eq!(after(&app, &poller, 4).await, 0);
    assert_eq!(after(&app, &poller, 1).await, 1);
    assert_eq!(server.device_polls(), 1);
    // slow_down: the interval grows by 5 s (GitHub names 10) for this and every later poll.
    server.slow_down(1);
    assert_eq!(after(&app, &poller, 5).await, 1);
    assert_eq!(after(&app, &poller, 9).await, 0);
    assert_eq!(after(&app, &poller, 1).await, 1);
    assert_eq!(after(&app, &poller, 5).await, 0);
    assert_eq!(server.device_polls(), 3);
    assert_eq!(status(&app, &started).await["status"], "pending");

    server.decide(Decision::Approved);
    assert_eq!(after(&app, &poller, 5).await, 1);
    let connected = status(&app, &started).await;
    assert_eq!(connected["status"], "connected", "{connected}");
    assert_eq!(connected["integration_key"], "agent");
    assert!(connected["error"].is_null());
    // Nothing more to poll.
    assert_eq!(after(&app, &poller, 60).await, 0);
    assert_eq!(server.device_polls(), 4);

    let got = app.get("/v2/users/u1/tokens/agent", &app.admin_key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"]["access_token"], "gho_DEVICE-ACCESS");
    assert_eq!(
        got.body["token_data"]["refresh_token"],
        "ghr_DEVICE-REFRESH"
    );
    let events = app
        .get("/v2/users/u1/tokens/agent/events", &app.admin_key)
        .await;
    assert_eq!(events.body[0]["event"], "connected");
    let deliveries = app
        .get(
            &format!("/v2/webhooks/{webhook}/deliveries"),
            &app.admin_key,
        )
        .await;
    assert_eq!(deliveries.body[0]["event_type"], "credential.connected");
    assert_eq!(server.problems(), Vec::<String>::new());
}

#[actix_web::test]
async fn google_style_polls_carry_the_secret_and_a_denial_ends_the_connect() {
    let server = GrantServer::start().await;
    server.device(DeviceStyle::Google, 5, 1800);
    let app = app_for(&server, "google", false).await;
    let started = start(&app, "google").await;
    assert_eq!(started.status, 201, "{}", started.body);
    // Google names it verification_url; the app always reads verification_uri.
    assert_eq!(
        started.body["verification_uri"],
        format!("{}/device", server.url)
    );
    let poller = poller(&app, "inst_a");
    assert_eq!(after(&app, &poller, 5).await, 1);
    assert_eq!(status(&app, &started).await["status"], "pending");
    server.decide(Decision::Denied);
    assert_eq!(after(&app, &poller, 5).await, 1);
    let denied = status(&app, &started).await;
    assert_eq!(denied["status"], "denied");
    assert_eq!(denied["error"], "access_denied");
    assert_eq!(after(&app, &poller, 60).await, 0);
    let missing = app.get("/v2/users/u1/tokens/agent", &app.admin_key).await;
    assert_eq!(missing.status, 404);
    assert_eq!(server.problems(), Vec::<String>::new());
}

#[actix_web::test]
async fn microsoft_declined_and_expired_codes_end_as_denied_and_expired() {
    let server = GrantServer::start().await;
    server.device(DeviceStyle::Microsoft, 5, 900);
    let app = app_for(&server, "microsoft", true).await;
    let poller = poller(&app, "inst_a");

    let declined = start(&app, "microsoft").await;
    server.decide(Decision::Denied);
    assert_eq!(after(&app, &poller, 5).await, 1);
    assert_eq!(status(&app, &declined).await["status"], "denied");

    // The provider says the code expired.
    let expired = start(&app, "microsoft").await;
    server.decide(Decision::Expired);
    assert_eq!(after(&app, &poller, 5).await, 1);
    let said = status(&app, &expired).await;
    assert_eq!(
        (said["status"].as_str(), said["error"].as_str()),
        (Some("expired"), Some("expired_token"))
    );

    // Past its expiry the code is not polled at all.
    let stale = start(&app, "microsoft").await;
    let polls = server.device_polls();
    app.advance(Duration::from_secs(901));
    assert_eq!(status(&app, &stale).await["status"], "expired");
    poller.poll_once().await.unwrap();
    assert_eq!(server.device_polls(), polls);
    assert_eq!(status(&app, &stale).await["status"], "expired");
    assert_eq!(server.problems(), Vec::<String>::new());
}

#[actix_web::test]
async fn an_unreachable_provider_is_polled_again_with_backoff() {
    let server = GrantServer::start().await;
    server.device(DeviceStyle::GitHub, 5, 900);
    let app = app_for(&server, "github", true).await;
    let started = start(&app, "github").await;
    let poller = poller(&app, "inst_a");
    server.device_down(true);
    assert_eq!(after(&app, &poller, 5).await, 1);
    // Backed off: twice the interval.
    assert_eq!(after(&app, &poller, 5).await, 0);
    assert_eq!(after(&app, &poller, 5).await, 1);
    assert_eq!(status(&app, &started).await["status"], "pending");
    server.device_down(false);
    server.decide(Decision::Approved);
    assert_eq!(after(&app, &poller, 20).await, 1);
    assert_eq!(status(&app, &started).await["status"], "connected");
}

#[actix_web::test]
async fn a_connect_started_on_a_killed_instance_is_finished_by_another() {
    let server = GrantServer::start().await;
    server.device(DeviceStyle::GitHub, 5, 900);
    let first = app_for(&server, "github", true).await;
    let started = start(&first, "github").await;
    assert_eq!(started.status, 201, "{}", started.body);

    // The first instance claims the connect and dies while its poll is in flight.
    server.delay(Duration::from_secs(30));
    first.advance(Duration::from_secs(5));
    let dying = poller(&first, "inst_a");
    let in_flight = actix_web::rt::spawn(async move { dying.poll_once().await });
    for _ in 0..200 {
        if server.token_calls() > 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.token_calls(), 1, "the first instance never polled");
    in_flight.abort();
    server.delay(Duration::ZERO);

    // Another instance (the restart) leaves it alone while the lease lasts, then takes over.
    let second = first.second_instance().await;
    let other = poller(&second, "inst_b");
    assert_eq!(other.poll_once().await.unwrap(), 0);
    server.decide(Decision::Approved);
    assert_eq!(after(&second, &other, 60).await, 1);
    assert_eq!(status(&second, &started).await["status"], "connected");
    let got = second
        .get("/v2/users/u1/tokens/agent", &second.admin_key)
        .await;
    assert_eq!(got.body["token_data"]["access_token"], "gho_DEVICE-ACCESS");
}

#[actix_web::test]
async fn providers_without_a_device_endpoint_and_unknown_connects_are_refused() {
    let server = GrantServer::start().await;
    let app = app_for(&server, "github", true).await;
    let slack = json!({"provider": "slack", "flow": "device"});
    let refused = app
        .post("/v2/users/u1/connect", &app.admin_key, &slack)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.message().contains("device"), "{}", refused.body);
    let no_redirect = json!({"provider": "github"});
    let refused = app
        .post("/v2/users/u1/connect", &app.admin_key, &no_redirect)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.message().contains("redirect_uri"));
    // A client the provider does not allow the device flow: 422 naming its answer, not 503.
    let other = GrantServer::start().await;
    let refusing = app_for(&other, "github", true).await;
    other.state_clients_clear();
    let refused = start(&refusing, "github").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.message().contains("invalid_client"),
        "{}",
        refused.body
    );
    let unknown = app
        .get("/v2/users/u1/connect/con_nope", &app.admin_key)
        .await;
    assert_eq!(unknown.status, 404);
    // Another user's connect is not visible.
    server.device(DeviceStyle::GitHub, 5, 900);
    let started = start(&app, "github").await;
    let id = started.body["connect_id"].as_str().unwrap().to_string();
    let theirs = app
        .get(&format!("/v2/users/u2/connect/{id}"), &app.admin_key)
        .await;
    assert_eq!(theirs.status, 404);
}

#[actix_web::test]
async fn the_cli_waits_for_the_user_and_exits_by_the_outcome() {
    let server = GrantServer::start().await;
    server.device(DeviceStyle::GitHub, 1, 900);
    server.approve_at_poll(2);
    let app = app_for(&server, "github", true).await;
    let workers = app.start_background();
    let url = app.listen().await;
    let key = app.admin_key.clone();

    let run = tv(
        &url,
        &key,
        &[
            "connect",
            "github",
            "--user",
            "u1",
            "--device",
            "--integration",
            "cli",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("WDJB-MJH1"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("{}/device", server.url)));
    assert!(
        run.stderr.contains("connected github for u1"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("DEVICE-CODE-SECRET") && !run.stderr.contains("DEVICE-CODE-SECRET")
    );

    server.approve_at_poll(0);
    let denying = actix_web::rt::spawn({
        let (url, key) = (url.clone(), key.clone());
        async move {
            tv(
                &url,
                &key,
                &["connect", "github", "--user", "u1", "--device"],
            )
            .await
        }
    });
    for _ in 0..300 {
        if server.device_codes() == 2 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    server.decide(Decision::Denied);
    let denied = denying.await.unwrap();
    assert_eq!(denied.code, 3, "{}", denied.stderr);
    assert!(denied.stderr.contains("denied"), "{}", denied.stderr);

    let missing = tv(&url, &key, &["connect", "github", "--user", "u1"]).await;
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    workers.stop();
    let unreachable = tv(
        "http://127.0.0.1:9",
        &key,
        &["connect", "github", "--user", "u1", "--device"],
    )
    .await;
    assert_eq!(unreachable.code, 4, "{}", unreachable.stderr);
}
