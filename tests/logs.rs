//! No secret reaches a log line: a full store / get / list / refresh / delete run, plus the
//! error paths, with every log event of the process captured at TRACE level.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::oauth_mock::{MockProvider, Reply};
use common::{oauth2_body, spawn_with_providers};
use diesel::prelude::*;
use serde_json::json;
use tokenvault::db::schema::tokens;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        capture
    })
}

const SECRETS: [&str; 8] = [
    "ACCESS-SECRET",
    "REFRESH-SECRET",
    "GOCSPX",
    "apps.googleusercontent",
    "sk-LOGGED",
    "eyJ.JWT-SECRET",
    "ya29.NEW",
    "1//ROTATED",
];

#[actix_web::test]
async fn full_run_logs_no_secret() {
    let logs = captured_logs();
    let mock = MockProvider::start().await;
    mock.reply(Reply::Success {
        rotate: true,
        expires_in: Some(3600),
    });
    let upstream = common::upstream::Upstream::start();
    let providers = mock.providers_toml().replacen(
        "[google]\n",
        &format!("[google]\napi_base_url = \"{}\"\n", upstream.url),
        1,
    );
    let app = spawn_with_providers(providers, |c| {
        c.refresh_cooldown = std::time::Duration::ZERO;
        c.proxy.allow_private = true;
    })
    .await;
    let user_key = app.create_key("default", "tokens:read", Some("user-42"));

    app.store("user-42", &oauth2_body("google")).await;
    app.store("user-42", &oauth2_body("google")).await;
    app.store(
        "user-42",
        &json!({"integration_key": "openai", "provider": "openai", "token_type": "api_key",
                "token_data": {"api_key": "sk-LOGGED-1", "api_secret": "sk-LOGGED-2"}}),
    )
    .await;
    app.store(
        "user-42",
        &json!({"integration_key": "gh", "provider": "github", "token_type": "jwt",
                "token_data": {"token": "eyJ.JWT-SECRET.sig"}}),
    )
    .await;
    for path in [
        "/v2/users/user-42/tokens",
        "/v2/users/user-42/tokens/google",
        "/v2/users/user-42/tokens/openai",
        "/v2/users/user-42/tokens/gh",
    ] {
        assert_eq!(app.get(path, &app.admin_key).await.status, 200);
        assert_eq!(app.get(path, &user_key).await.status, 200);
    }
    // The proxy: the API refuses the token, the credential is renewed, the request sent again.
    upstream.accept("Bearer ya29.NEW-1");
    let proxied = app
        .get("/v2/users/user-42/proxy/google/guarded?q=1", &user_key)
        .await;
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    // Refresh: success with rotation, then each failure class.
    let refresh = "/v2/users/user-42/tokens/google/refresh";
    assert_eq!(
        app.post(refresh, &app.admin_key, &json!({})).await.status,
        200
    );
    for reply in [
        Reply::Status(500),
        Reply::Malformed,
        Reply::OAuthError(401, "invalid_client"),
        Reply::OAuthError(400, "invalid_grant"),
    ] {
        mock.reply(reply);
        app.post(refresh, &app.admin_key, &json!({})).await;
    }
    app.store("user-42", &oauth2_body("google")).await;
    app.post(
        "/v2/users/user-42/tokens/openai/refresh",
        &app.admin_key,
        &json!({}),
    )
    .await;
    // Error paths that echo input: bad type, unknown field, wrong key.
    let mut bad = oauth2_body("google");
    bad["token_data"]["expires_in"] = json!("sk-LOGGED-3");
    app.post("/v2/users/user-42/tokens", &app.admin_key, &bad)
        .await;
    bad = oauth2_body("google");
    bad["token_data"]["sk-LOGGED-4"] = json!("x");
    app.post("/v2/users/user-42/tokens", &app.admin_key, &bad)
        .await;
    app.get("/v2/users/user-42/tokens", "agk_sk-LOGGED-5").await;
    app.get(
        "/v2/users/user-42/tokens",
        &user_key.replace("agk_", "agk_X"),
    )
    .await;

    // A ciphertext swap is logged naming the row, not the secret.
    let mut conn = app.db.connect();
    let google: String = tokens::table
        .filter(tokens::integration_key.eq("google"))
        .select(tokens::ciphertext)
        .first(&mut conn)
        .unwrap();
    diesel::update(tokens::table.filter(tokens::integration_key.eq("openai")))
        .set(tokens::ciphertext.eq(google))
        .execute(&mut conn)
        .unwrap();
    app.until_uncached("user-42", "openai").await;
    assert_eq!(
        app.get("/v2/users/user-42/tokens/openai", &app.admin_key)
            .await
            .status,
        500
    );

    for path in [
        "/v2/users/user-42/tokens/google",
        "/v2/users/user-42/tokens/gh",
    ] {
        assert_eq!(app.delete(path, &app.admin_key).await.status, 200);
    }

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The capture works: requests and the refused swap are in it.
    assert!(text.contains("/v2/users/user-42/tokens/google"), "{text}");
    assert!(
        text.contains("tenant=default user_id=user-42 integration_key=openai")
            && text.contains("bound to another row"),
        "{text}"
    );
    assert!(
        text.contains("renewed credential") && text.contains("refresh failed"),
        "{text}"
    );
    assert!(text.contains("invalid_grant"), "{text}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in logs:\n{text}");
    }
    assert!(!text.contains(&app.admin_key), "admin key in logs");
    assert!(!text.contains(&user_key[4..]), "user key in logs");
}

#[test]
fn debug_output_of_state_and_config_holds_no_key() {
    let db = common::TestDb::new();
    let (config, admin_key) = common::test_config(&db);
    let encryption_key = config.encryption_keys.clone().unwrap().into_inner();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(&encryption_key) && !debug.contains(&admin_key),
        "{debug}"
    );
    let (state, _) = tokenvault::prepare(config).unwrap();
    let debug = format!("{state:?}");
    assert!(
        !debug.contains(&encryption_key) && !debug.contains(&admin_key),
        "{debug}"
    );
}

#[actix_web::test]
async fn a_provider_echoing_the_token_in_its_error_reaches_no_log_message_or_event() {
    const ECHOED: &str = "1//ECHOED-REFRESH-7";
    let logs = captured_logs();
    let mock = MockProvider::start().await;
    let app = spawn_with_providers(mock.providers_toml(), |c| {
        c.refresh_cooldown = std::time::Duration::ZERO;
        c.force_refresh_min = std::time::Duration::ZERO;
    })
    .await;
    let mut body = oauth2_body("google");
    body["token_data"]["refresh_token"] = json!(ECHOED);
    body["token_data"]["expires_in"] = json!(30);
    app.store("echo", &body).await;
    let refresh = "/v2/users/echo/tokens/google/refresh";
    for reply in [
        Reply::OAuthError(400, ECHOED),
        Reply::OAuthError(401, ECHOED),
        Reply::SlackError(ECHOED),
        Reply::FormError(ECHOED),
    ] {
        mock.reply(reply.clone());
        let r = app.post(refresh, &app.admin_key, &json!({})).await;
        assert_eq!(r.status, 503, "{reply:?}: {}", r.body);
        assert!(
            r.message().contains("unknown_error"),
            "{reply:?}: {}",
            r.body
        );
        assert!(
            !r.body.to_string().contains("ECHOED"),
            "{reply:?}: {}",
            r.body
        );
    }
    let events = app
        .get("/v2/users/echo/tokens/google/events", &app.admin_key)
        .await;
    assert_eq!(events.status, 200);
    assert!(
        events.body.to_string().contains("unknown_error"),
        "{}",
        events.body
    );
    assert!(
        !events.body.to_string().contains("ECHOED"),
        "{}",
        events.body
    );
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("unknown_error"), "{text}");
    assert!(!text.contains("ECHOED"), "echoed token in logs:\n{text}");
}
