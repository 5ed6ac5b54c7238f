//! The refresh engine through HTTP against a local mock provider: when GET refreshes, every
//! outcome class, rotation, cooldown, single flight in one and across two instances, lease
//! takeover, revocation on delete, and the audit log.

mod common;

use std::time::{Duration, Instant};

use common::oauth_mock::{MockProvider, Reply};
use common::{expiring_body, spawn_with_providers};
use diesel::prelude::*;
use serde_json::{Value, json};
use tokenvault::db::schema::tokens;

const GOOGLE: &str = "/v2/users/u1/tokens/google";

fn form(body: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(body).unwrap()
}

fn field(body: &str, name: &str) -> Option<String> {
    form(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[actix_web::test]
async fn get_refreshes_inside_the_window_only() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;

    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    let fresh = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["refreshed"], false);
    assert_eq!(mock.token_calls(), 0);

    app.store("u1", &expiring_body("google", "google", 120))
        .await;
    let refreshed = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.body["refreshed"], true);
    assert_eq!(refreshed.body["token_data"]["access_token"], "ya29.NEW-1");
    assert_eq!(
        refreshed.body["token_data"]["refresh_token"],
        "1//REFRESH-SECRET-1"
    );
    assert_eq!(refreshed.body["status"], "active");
    assert_eq!(
        refreshed.body["scopes"],
        json!(["https://www.googleapis.com/auth/calendar", "email"])
    );
    let expires_at: chrono::DateTime<chrono::Utc> = refreshed.body["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((expires_at - chrono::Utc::now()).num_seconds() > 3500);
    assert_eq!(mock.token_calls(), 1);

    let request = mock.last_request();
    assert_eq!(
        field(&request.body, "grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        field(&request.body, "refresh_token").as_deref(),
        Some("1//REFRESH-SECRET-1")
    );
    assert_eq!(
        field(&request.body, "client_id").as_deref(),
        Some("client-id-1")
    );
    assert_eq!(
        field(&request.body, "client_secret").as_deref(),
        Some("CLIENT-SECRET-1")
    );
    assert_eq!(request.accept.as_deref(), Some("application/json"));

    // Now fresh: served from the database without calling the provider.
    let again = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(again.body["refreshed"], false);
    assert_eq!(again.body["token_data"]["access_token"], "ya29.NEW-1");
    assert_eq!(mock.token_calls(), 1);
}

#[actix_web::test]
async fn force_refresh_and_refresh_endpoint_call_the_provider() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    app.store("u1", &expiring_body("google", "google", 3600))
        .await;

    let forced = app
        .get(&format!("{GOOGLE}?force_refresh=true"), &app.admin_key)
        .await;
    assert_eq!(forced.body["refreshed"], true);
    assert_eq!(forced.body["token_data"]["access_token"], "ya29.NEW-1");

    let refreshed = app
        .post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.body["integration_key"], "google");
    assert_eq!(refreshed.body["success"], true);
    assert_eq!(refreshed.body["message"], "Token refreshed successfully");
    assert!(
        refreshed.body["refreshed_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(mock.token_calls(), 2);
    let got = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(got.body["token_data"]["access_token"], "ya29.NEW-2");

    let bad = app
        .get(&format!("{GOOGLE}?force_refresh=maybe"), &app.admin_key)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error(), "invalid_request");
}

#[actix_web::test]
async fn rotated_refresh_token_replaces_the_old_and_absent_keeps_it() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    app.store("u1", &expiring_body("google", "google", 60))
        .await;

    mock.reply(Reply::Success {
        rotate: true,
        expires_in: Some(60),
    });
    let first = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(first.body["token_data"]["refresh_token"], "1//ROTATED-1");
    // The next refresh sends the rotated token.
    mock.reply(Reply::Success {
        rotate: false,
        expires_in: Some(60),
    });
    let second = app
        .post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(
        field(&mock.last_request().body, "refresh_token").as_deref(),
        Some("1//ROTATED-1")
    );
    let got = app
        .get(&format!("{GOOGLE}?force_refresh=true"), &app.admin_key)
        .await;
    assert_eq!(got.body["token_data"]["refresh_token"], "1//ROTATED-1");
    assert_eq!(got.body["token_data"]["access_token"], "ya29.NEW-3");
    assert_eq!(
        field(&mock.last_request().body, "refresh_token").as_deref(),
        Some("1//ROTATED-1")
    );
}

#[actix_web::test]
async fn github_form_encoded_reply_and_http_200_error_are_understood() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    app.store("u1", &expiring_body("github", "github", 60))
        .await;

    mock.reply(Reply::FormSuccess);
    let got = app.get("/v2/users/u1/tokens/github", &app.admin_key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"]["access_token"], "ghu_NEW1");
    assert_eq!(got.body["token_data"]["refresh_token"], "ghr_ROTATED1");

    mock.reply(Reply::FormError("bad_refresh_token"));
    let dead = app
        .post(
            "/v2/users/u1/tokens/github/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(dead.status, 410, "{}", dead.body);
    assert_eq!(dead.error(), "connection_error");
}

#[actix_web::test]
async fn rejected_grant_is_410_marks_invalid_and_stops_calling_the_provider() {
    for (provider, reply) in [
        ("google", Reply::OAuthError(400, "invalid_grant")),
        ("slack", Reply::SlackError("invalid_refresh_token")),
    ] {
        let mock = MockProvider::start().await;
        let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
        let path = format!("/v2/users/u1/tokens/{provider}");
        app.store("u1", &expiring_body(provider, provider, 60))
            .await;
        mock.reply(reply);

        let r = app.get(&path, &app.admin_key).await;
        assert_eq!(r.status, 410, "{provider}: {}", r.body);
        assert_eq!(r.error(), "connection_error");
        assert!(r.message().contains("re-authorize"), "{}", r.message());
        assert!(!r.message().contains("SECRET"));
        assert_eq!(mock.token_calls(), 1);

        let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
        assert_eq!(listed.body[0]["status"], "invalid");
        for _ in 0..3 {
            assert_eq!(app.get(&path, &app.admin_key).await.status, 410);
            let r = app
                .post(&format!("{path}/refresh"), &app.admin_key, &json!({}))
                .await;
            assert_eq!(r.status, 410);
        }
        assert_eq!(
            mock.token_calls(),
            1,
            "{provider}: the provider was called again"
        );

        // Storing the credential anew (the user re-authorized) makes it usable again.
        mock.reply(Reply::Success {
            rotate: false,
            expires_in: Some(3600),
        });
        app.store("u1", &expiring_body(provider, provider, 60))
            .await;
        let r = app.get(&path, &app.admin_key).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "active");
        assert_eq!(mock.token_calls(), 2);
    }
}

#[actix_web::test]
async fn transient_failures_are_503_when_expired_and_fall_back_when_still_valid() {
    let cases = [
        Reply::OAuthError(401, "invalid_client"),
        Reply::Status(500),
        Reply::Status(502),
        Reply::RateLimited(7),
        Reply::Malformed,
        Reply::SlackError("internal_error"),
    ];
    for reply in cases {
        let mock = MockProvider::start().await;
        let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
        mock.reply(reply.clone());

        // Past expiry: nothing usable to fall back on.
        app.store("u1", &expiring_body("google", "google", -30))
            .await;
        let r = app.get(GOOGLE, &app.admin_key).await;
        assert_eq!(r.status, 503, "{reply:?}: {}", r.body);
        assert_eq!(r.error(), "refresh_unavailable");
        let retry_after: u64 = r
            .headers
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry_after >= 1, "{reply:?}");
        if let Reply::RateLimited(secs) = reply {
            assert!(
                retry_after >= secs - 1,
                "Retry-After {retry_after} below the provider's {secs}"
            );
        }
        let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
        assert_eq!(listed.body[0]["status"], "expired", "{reply:?}");

        // Still valid (inside the window): the current token is served, not refreshed.
        app.store("u1", &expiring_body("google", "google", 120))
            .await;
        let r = app.get(GOOGLE, &app.admin_key).await;
        assert_eq!(r.status, 200, "{reply:?}: {}", r.body);
        assert_eq!(r.body["refreshed"], false);
        assert_eq!(r.body["token_data"]["access_token"], "ya29.ACCESS-SECRET-1");
        assert_eq!(r.body["status"], "active");
        // …but the explicit refresh says it failed.
        app.store("u1", &expiring_body("google", "google", 120))
            .await;
        let r = app
            .post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
            .await;
        assert_eq!(r.status, 503, "{reply:?}");
        assert_eq!(mock.token_calls(), 3, "{reply:?}");
    }
}

#[actix_web::test]
async fn reply_slower_than_the_timeout_is_503() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.refresh_timeout = Duration::from_millis(300);
    })
    .await;
    mock.delay(Duration::from_secs(5));
    app.store("u1", &expiring_body("google", "google", -1))
        .await;
    let started = Instant::now();
    let r = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.message().contains("did not answer"), "{}", r.message());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the timeout was not applied"
    );
}

#[actix_web::test]
async fn cooldown_stops_hammering_a_failing_provider() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.refresh_cooldown = Duration::from_secs(1);
    })
    .await;
    mock.reply(Reply::Status(503));
    app.store("u1", &expiring_body("google", "google", -1))
        .await;
    assert_eq!(app.get(GOOGLE, &app.admin_key).await.status, 503);
    for _ in 0..10 {
        let r = app.get(GOOGLE, &app.admin_key).await;
        assert_eq!(r.status, 503);
        assert!(r.headers.contains_key("retry-after"));
        let r = app
            .post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
            .await;
        assert_eq!(r.status, 503);
    }
    assert_eq!(
        mock.token_calls(),
        1,
        "attempts during the cooldown reached the provider"
    );

    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    mock.reply(Reply::Success {
        rotate: false,
        expires_in: Some(3600),
    });
    let r = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(mock.token_calls(), 2);
}

#[actix_web::test]
async fn client_credentials_travel_as_each_provider_wants() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.oauth_clients = tokenvault::config::oauth_clients_from(
            [
                ("TOKENVAULT_ZOOM_CLIENT_ID", "zoom-id"),
                ("TOKENVAULT_ZOOM_CLIENT_SECRET", "zoom-secret"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
    })
    .await;

    // Zoom: HTTP Basic with the platform's client from the environment.
    let mut zoom = expiring_body("zoom", "zoom", 60);
    let data = zoom["token_data"].as_object_mut().unwrap();
    data.remove("client_id");
    data.remove("client_secret");
    app.store("u1", &zoom).await;
    assert_eq!(
        app.get("/v2/users/u1/tokens/zoom", &app.admin_key)
            .await
            .status,
        200
    );
    let request = mock.last_request();
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("zoom-id:zoom-secret");
    assert_eq!(request.authorization, Some(format!("Basic {basic}")));
    assert_eq!(field(&request.body, "client_secret"), None);

    // Notion: HTTP Basic and a JSON body.
    app.store("u1", &expiring_body("notion", "notion", 60))
        .await;
    assert_eq!(
        app.get("/v2/users/u1/tokens/notion", &app.admin_key)
            .await
            .status,
        200
    );
    let request = mock.last_request();
    assert!(
        request
            .content_type
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["grant_type"], "refresh_token");
    assert!(request.authorization.unwrap().starts_with("Basic "));

    // No client anywhere: 503 without calling the provider.
    let calls = mock.token_calls();
    let mut dropbox = expiring_body("dropbox", "dropbox", -1);
    let data = dropbox["token_data"].as_object_mut().unwrap();
    data.remove("client_id");
    data.remove("client_secret");
    app.store("u1", &dropbox).await;
    let r = app.get("/v2/users/u1/tokens/dropbox", &app.admin_key).await;
    assert_eq!(r.status, 503);
    assert!(
        r.message().contains("TOKENVAULT_DROPBOX_CLIENT_ID"),
        "{}",
        r.message()
    );
    assert_eq!(mock.token_calls(), calls);
}

#[actix_web::test]
async fn credentials_that_cannot_refresh_say_why() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    let mut body = expiring_body("google", "google", -10);
    body["token_data"]
        .as_object_mut()
        .unwrap()
        .remove("refresh_token");
    app.store("u1", &body).await;
    let got = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["is_expired"], true);
    assert_eq!(got.body["refreshed"], false);
    let r = app
        .post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("no refresh token"), "{}", r.message());
    assert_eq!(mock.token_calls(), 0);
}

#[actix_web::test]
async fn concurrent_gets_cause_one_provider_call() {
    let mock = MockProvider::start().await;
    mock.delay(Duration::from_millis(200));
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    app.store("u1", &expiring_body("google", "google", 60))
        .await;

    let gets = (0..200).map(|_| app.get(GOOGLE, &app.admin_key));
    let responses = futures_util::future::join_all(gets).await;
    assert_eq!(mock.token_calls(), 1);
    for r in &responses {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["token_data"]["access_token"], "ya29.NEW-1");
        assert_eq!(r.body["refreshed"], true);
    }
}

#[actix_web::test]
async fn two_instances_on_one_database_cause_one_provider_call() {
    let mock = MockProvider::start().await;
    mock.delay(Duration::from_millis(200));
    let first = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    first
        .store("u1", &expiring_body("google", "google", 60))
        .await;
    // A second instance: its own state (pool, single-flight map, lease name) on the same database.
    let second = first.second_instance().await;

    let from_first = (0..100).map(|_| first.get(GOOGLE, &first.admin_key));
    let from_second = (0..100).map(|_| second.get(GOOGLE, &first.admin_key));
    let (a, b) = futures_util::future::join(
        futures_util::future::join_all(from_first),
        futures_util::future::join_all(from_second),
    )
    .await;
    assert_eq!(mock.token_calls(), 1);
    for r in a.iter().chain(b.iter()) {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["token_data"]["access_token"], "ya29.NEW-1");
    }
    let events = first
        .get(&format!("{GOOGLE}/events"), &first.admin_key)
        .await;
    let refreshes = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "refresh")
        .count();
    assert_eq!(refreshes, 1);
}

#[actix_web::test]
async fn lease_of_a_crashed_instance_is_taken_over_after_it_expires() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    app.store("u1", &expiring_body("google", "google", 60))
        .await;
    // A winner that died mid-refresh left its lease for another minute.
    let until = app.state.clock.now_millis() + 60_000;
    diesel::update(tokens::table)
        .set((
            tokens::refresh_lease_owner.eq("inst_crashed"),
            tokens::refresh_lease_until.eq(until),
        ))
        .execute(&mut app.db.connect())
        .unwrap();

    // While the lease holds, nobody else calls the provider: the still-valid token is served.
    let r = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refreshed"], false, "took over a live lease");
    assert_eq!(mock.token_calls(), 0);
    // The lease runs out (and the token with it): the next GET takes over.
    app.advance(Duration::from_secs(61));
    let r = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refreshed"], true);
    assert_eq!(mock.token_calls(), 1);
    assert!(app.state.clock.now_millis() >= until);
    let (owner, lease): (Option<String>, Option<i64>) = tokens::table
        .select((tokens::refresh_lease_owner, tokens::refresh_lease_until))
        .first(&mut app.db.connect())
        .unwrap();
    assert_eq!((owner, lease), (None, None), "the lease was not released");
}

#[actix_web::test]
async fn delete_revokes_at_the_provider_unless_skipped_and_deletes_even_if_it_fails() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;

    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    let r = app.delete(GOOGLE, &app.admin_key).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["revocation"], "revoked");
    assert_eq!(r.body["message"], "Token for google deleted successfully");
    assert_eq!(mock.revoke_calls(), 1);
    // Google: the refresh token, form-encoded, revokes the whole grant.
    assert_eq!(
        field(&mock.last_request().body, "token").as_deref(),
        Some("1//REFRESH-SECRET-1")
    );

    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    mock.revoke_status(500);
    let r = app.delete(GOOGLE, &app.admin_key).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["revocation"], "failed");
    assert!(r.body["revocation_error"].as_str().unwrap().contains("500"));
    assert!(r.message().contains("revoking it at the provider failed"));
    assert_eq!(app.get(GOOGLE, &app.admin_key).await.status, 404);

    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    let r = app
        .delete(&format!("{GOOGLE}?revoke=false"), &app.admin_key)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["revocation"], "skipped");
    assert_eq!(mock.revoke_calls(), 2);

    // Slack and Dropbox revoke with the access token as a bearer token.
    mock.revoke_status(200);
    app.store("u1", &expiring_body("slack", "slack", 3600))
        .await;
    let r = app
        .delete("/v2/users/u1/tokens/slack", &app.admin_key)
        .await;
    assert_eq!(r.body["revocation"], "revoked");
    assert_eq!(
        mock.last_request().authorization.as_deref(),
        Some("Bearer ya29.ACCESS-SECRET-1")
    );

    // Microsoft has no revocation endpoint; API keys are never revoked.
    app.store("u1", &expiring_body("ms", "microsoft", 3600))
        .await;
    let r = app.delete("/v2/users/u1/tokens/ms", &app.admin_key).await;
    assert_eq!(r.body["revocation"], "not_supported");
    app.store("u1", &common::api_key_body("openai")).await;
    let r = app
        .delete("/v2/users/u1/tokens/openai", &app.admin_key)
        .await;
    assert_eq!(r.body["revocation"], "not_supported");
    assert_eq!(mock.revoke_calls(), 3);
}

#[actix_web::test]
async fn events_record_every_change_newest_first_without_secrets() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.refresh_cooldown = Duration::ZERO;
    })
    .await;
    app.store("u1", &expiring_body("google", "google", 60))
        .await;
    app.get(GOOGLE, &app.admin_key).await; // refresh: success
    let before = app.get(&format!("{GOOGLE}/events"), &app.admin_key).await;
    for _ in 0..5 {
        app.get(GOOGLE, &app.admin_key).await; // plain reads
    }
    let after = app.get(&format!("{GOOGLE}/events"), &app.admin_key).await;
    assert_eq!(before.body, after.body, "plain reads wrote events");

    mock.reply(Reply::Status(500));
    app.post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
        .await;
    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    app.post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
        .await;
    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    mock.revoke_status(200);
    app.delete(GOOGLE, &app.admin_key).await;

    let events = app.get(&format!("{GOOGLE}/events"), &app.admin_key).await;
    assert_eq!(events.status, 200);
    let list: Vec<(String, String)> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("deleted", "success"),
        ("revoke", "revoked"),
        ("stored", "replaced"),
        ("refresh", "invalid"),
        ("refresh", "transient"),
        ("refresh", "success"),
        ("stored", "created"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(list, expected);
    let text = events.body.to_string();
    for secret in [
        "ACCESS-SECRET",
        "REFRESH-SECRET",
        "CLIENT-SECRET",
        "ya29.NEW",
        "ROTATED",
    ] {
        assert!(!text.contains(secret), "{secret} in events: {text}");
    }
    assert!(
        events.body[3]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );
    assert!(events.body[4]["reason"].as_str().unwrap().contains("500"));

    let limited = app
        .get(&format!("{GOOGLE}/events?limit=2"), &app.admin_key)
        .await;
    assert_eq!(limited.body.as_array().unwrap().len(), 2);
    let bad = app
        .get(&format!("{GOOGLE}/events?limit=0"), &app.admin_key)
        .await;
    assert_eq!(bad.status, 400);
    let other_tenant = app.create_key("other", "admin", None);
    let hidden = app.get(&format!("{GOOGLE}/events"), &other_tenant).await;
    assert_eq!(hidden.body, json!([]));
}

#[actix_web::test]
async fn forcing_a_refresh_needs_the_refresh_scope() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    let reader = app.create_key("default", "tokens:read", None);
    assert_eq!(app.get(GOOGLE, &reader).await.status, 200);
    let forced = app
        .get(&format!("{GOOGLE}?force_refresh=true"), &reader)
        .await;
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(
        forced.message().contains("tokens:refresh"),
        "{}",
        forced.body
    );
    let posted = app
        .post(&format!("{GOOGLE}/refresh"), &reader, &json!({}))
        .await;
    assert_eq!(posted.status, 403);
    assert_eq!(mock.token_calls(), 0);
}

#[actix_web::test]
async fn forced_refreshes_are_limited_to_one_per_interval_on_every_instance() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.force_refresh_min = Duration::from_secs(30);
    })
    .await;
    app.store("u1", &expiring_body("google", "google", 3600))
        .await;
    let forced = format!("{GOOGLE}?force_refresh=true");
    let gets = (0..100).map(|_| app.get(&forced, &app.admin_key));
    let responses = futures_util::future::join_all(gets).await;
    assert!(responses.iter().all(|r| r.status == 200));
    let refreshed = responses
        .iter()
        .filter(|r| r.body["refreshed"] == true)
        .count();
    eprintln!("100 forced GETs: {} provider call(s)", mock.token_calls());
    assert_eq!(mock.token_calls(), 1);
    assert!(refreshed >= 1);
    // Inside the interval a forced GET serves the current token.
    let again = app.get(&forced, &app.admin_key).await;
    assert_eq!(again.body["refreshed"], false);
    assert_eq!(again.body["token_data"]["access_token"], "ya29.NEW-1");
    // POST …/refresh says when to come back, here and on another instance.
    let second = app.second_instance().await;
    for instance in [&app, &second] {
        let r = instance
            .post(&format!("{GOOGLE}/refresh"), &app.admin_key, &json!({}))
            .await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert_eq!(r.error(), "rate_limited");
        let retry: u64 = r
            .headers
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&retry), "Retry-After {retry}");
    }
    assert_eq!(mock.token_calls(), 1);
    // Refresh near expiry is not limited.
    let soon = chrono::Utc::now().naive_utc() + chrono::Duration::seconds(60);
    diesel::update(tokens::table)
        .set(tokens::expires_at.eq(soon))
        .execute(&mut app.db.connect())
        .unwrap();
    app.until_uncached("u1", "google").await;
    let due = app.get(GOOGLE, &app.admin_key).await;
    assert_eq!(due.body["refreshed"], true, "{}", due.body);
    assert_eq!(mock.token_calls(), 2);
}

/// What a spec-following server makes of `Authorization: Basic …` (RFC 6749 §2.3.1): base64,
/// split at the first `:`, each part form-urldecoded.
fn basic_client(authorization: &str) -> (String, String) {
    use base64::Engine;
    let encoded = authorization.strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let text = String::from_utf8(decoded).unwrap();
    let (id, secret) = text.split_once(':').unwrap();
    let parts: Vec<(String, String)> =
        serde_urlencoded::from_str(&format!("id={id}&secret={secret}")).unwrap();
    (parts[0].1.clone(), parts[1].1.clone())
}

#[actix_web::test]
async fn basic_client_authentication_is_form_encoded_as_rfc_6749_says() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |_| {}).await;
    let (id, secret) = ("app+id/with=odd:chars", "s3cr%t:+/= x&y");
    let mut zoom = expiring_body("zoom", "zoom", 60);
    zoom["token_data"]["client_id"] = json!(id);
    zoom["token_data"]["client_secret"] = json!(secret);
    app.store("u1", &zoom).await;
    let got = app.get("/v2/users/u1/tokens/zoom", &app.admin_key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["refreshed"], true);
    let request = mock.last_request();
    let authorization = request.authorization.unwrap();
    assert_eq!(basic_client(&authorization), (id.into(), secret.into()));
    assert_eq!(field(&request.body, "client_secret"), None);
}

#[actix_web::test]
async fn min_validity_refreshes_a_token_expiring_sooner_than_asked() {
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.force_refresh_min = Duration::from_secs(60);
    })
    .await;
    app.store("u1", &expiring_body("google", "google", 1800))
        .await;
    // A read-only key: asking for validity is not forcing a refresh (no `tokens:refresh`).
    let reader = app.create_key(tokenvault::DEFAULT_TENANT, "tokens:read", None);
    let with = |secs: &str| format!("{GOOGLE}?min_validity={secs}");

    // Half an hour left covers twenty minutes.
    let enough = app.get(&with("1200"), &reader).await;
    assert_eq!(enough.status, 200, "{}", enough.body);
    assert_eq!(enough.body["refreshed"], false);
    assert_eq!(mock.token_calls(), 0);

    // An hour asked: refreshed first.
    let longer = app.get(&with("3600"), &reader).await;
    assert_eq!(longer.status, 200, "{}", longer.body);
    assert_eq!(longer.body["refreshed"], true);
    assert_eq!(longer.body["token_data"]["access_token"], "ya29.NEW-1");
    assert_eq!(mock.token_calls(), 1);

    // The provider's tokens live an hour; asking for two refreshes at most once per forced
    // interval, not on every call.
    for _ in 0..3 {
        let more = app.get(&with("7200"), &reader).await;
        assert_eq!(more.status, 200, "{}", more.body);
        assert_eq!(more.body["refreshed"], false);
    }
    assert_eq!(mock.token_calls(), 1);
    app.advance(Duration::from_secs(61));
    let later = app.get(&with("86400"), &reader).await;
    assert_eq!(later.body["refreshed"], true, "{}", later.body);
    assert_eq!(mock.token_calls(), 2);

    for bad in ["86401", "-1", "soon", "1.5"] {
        let refused = app.get(&with(bad), &reader).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(refused.error(), "invalid_request");
    }
}
