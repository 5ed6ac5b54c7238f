//! The app-facing client commands as a script runs them: the real binary against a real server
//! on a random port — each command's output and exit code, quoting of hostile values checked by
//! `sh`, `run` passing the exit code and environment, and failures mapped to exit codes.

mod common;

use std::process::Command;

use common::oauth_mock::{MockProvider, Reply};
use common::{TestApp, api_key_body, expiring_body, oauth2_body, tv};
use serde_json::{Value, json};

async fn sh(script: String) -> (i32, String) {
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new("sh").arg("-c").arg(script).output()
    })
    .await
    .unwrap()
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn one_line(outcome: &common::CliRun) {
    assert_eq!(
        outcome.stderr.trim().lines().count(),
        1,
        "{}",
        outcome.stderr
    );
}

#[actix_web::test]
async fn get_prints_the_usable_secret_alone_or_the_field_asked_for() {
    let app = TestApp::new().start().await;
    let url = app.listen().await;
    let key = app.admin_key.clone();
    app.store("u1", &oauth2_body("google")).await;
    app.store("u1", &api_key_body("openai")).await;

    let got = tv(&url, &key, &["get", "google", "--user", "u1"]).await;
    assert_eq!(
        (got.code, got.stdout.as_str()),
        (0, "ya29.ACCESS-SECRET-1\n"),
        "{}",
        got.stderr
    );
    let got = tv(&url, &key, &["get", "openai", "--user", "u1"]).await;
    assert_eq!(got.stdout, "sk-OPENAI-SECRET\n");
    for (field, expected) in [
        ("status", "active"),
        ("scopes", "calendar,email"),
        ("refresh_token", "1//REFRESH-SECRET-1"),
        ("token_type", "oauth2"),
    ] {
        let got = tv(
            &url,
            &key,
            &["get", "google", "--user", "u1", "--field", field],
        )
        .await;
        assert_eq!(got.stdout.trim_end(), expected, "{field}");
    }
    let at = tv(
        &url,
        &key,
        &["get", "google", "--user", "u1", "--field", "expires_at"],
    )
    .await;
    assert!(
        chrono::DateTime::parse_from_rfc3339(at.stdout.trim()).is_ok(),
        "{}",
        at.stdout
    );
    let whole = tv(&url, &key, &["get", "google", "--user", "u1", "--json"]).await;
    let whole: Value = serde_json::from_str(&whole.stdout).unwrap();
    assert_eq!(whole["token_data"]["access_token"], "ya29.ACCESS-SECRET-1");
    let missing = tv(
        &url,
        &key,
        &["get", "google", "--user", "u1", "--field", "nope"],
    )
    .await;
    assert_eq!(missing.code, 1);
    one_line(&missing);

    // --verbose shows the requests, never the key.
    let verbose = tv(&url, &key, &["get", "google", "--user", "u1", "--verbose"]).await;
    assert_eq!(verbose.stdout, "ya29.ACCESS-SECRET-1\n");
    assert!(
        verbose.stderr.contains("> GET ") && verbose.stderr.contains("< 200"),
        "{}",
        verbose.stderr
    );
    assert!(!verbose.stderr.contains(&key), "{}", verbose.stderr);
    // An access token works as the credential too.
    let access = app.mint_access_token(&key).await;
    let got = tv(&url, &access, &["get", "openai", "--user", "u1"]).await;
    assert_eq!(got.stdout, "sk-OPENAI-SECRET\n", "{}", got.stderr);
}

/// A value no naive quoting survives.
const HOSTILE: &str = "sk-it's $HOME `id` \"q\" \\n\nsecond line; rm -rf /tmp/x";

#[actix_web::test]
async fn export_names_variables_by_provider_and_quotes_hostile_values() {
    let app = TestApp::new().start().await;
    let url = app.listen().await;
    let key = app.admin_key.clone();
    app.store("u1", &oauth2_body("google")).await;
    app.store(
        "u1",
        &json!({"integration_key": "openai", "provider": "openai", "token_type": "api_key",
                "token_data": {"api_key": HOSTILE}}),
    )
    .await;
    for gh in ["gh-work", "gh-home"] {
        app.store(
            "u1",
            &json!({"integration_key": gh, "provider": "github", "token_type": "api_key",
                    "token_data": {"api_key": format!("ghp_{gh}")}}),
        )
        .await;
    }
    let exported = tv(&url, &key, &["export", "--user", "u1"]).await;
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let script = format!(
        "{}\nprintf '%s|%s|%s|%s' \"$GOG_ACCESS_TOKEN\" \"$OPENAI_API_KEY\" \"$GH_WORK\" \"$GH_HOME\"",
        exported.stdout
    );
    let (code, seen) = sh(script).await;
    assert_eq!(code, 0);
    assert_eq!(
        seen,
        format!("ya29.ACCESS-SECRET-1|{HOSTILE}|ghp_gh-work|ghp_gh-home")
    );

    let only = tv(
        &url,
        &key,
        &[
            "export", "--user", "u1", "--only", "openai", "--format", "json",
        ],
    )
    .await;
    let only: Value = serde_json::from_str(&only.stdout).unwrap();
    assert_eq!(only, json!({"OPENAI_API_KEY": HOSTILE}));
    let dotenv = tv(
        &url,
        &key,
        &[
            "export", "--user", "u1", "--only", "google", "--format", "dotenv",
        ],
    )
    .await;
    assert_eq!(dotenv.stdout, "GOG_ACCESS_TOKEN='ya29.ACCESS-SECRET-1'\n");
    let unknown = tv(&url, &key, &["export", "--user", "u1", "--only", "dropbox"]).await;
    assert_eq!(unknown.code, 5);
    assert!(
        unknown.stdout.is_empty(),
        "partial output: {}",
        unknown.stdout
    );
    one_line(&unknown);
}

#[actix_web::test]
async fn run_passes_the_environment_and_the_exit_code() {
    let app = TestApp::new().start().await;
    let url = app.listen().await;
    let key = app.admin_key.clone();
    app.store("u1", &oauth2_body("google")).await;
    app.store("u1", &api_key_body("openai")).await;
    let ran = tv(
        &url,
        &key,
        &[
            "run", "--user", "u1", "--only", "google", "--", "sh", "-c",
            "test \"$GOG_ACCESS_TOKEN\" = ya29.ACCESS-SECRET-1 && test -z \"$OPENAI_API_KEY\" && echo seen && exit 7",
        ],
    )
    .await;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (7, "seen\n"),
        "{}",
        ran.stderr
    );
    // The command replaces tokenvault (same process id), so signals sent to it reach it.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenvault"));
    cmd.args(["run", "--user", "u1", "--", "sh", "-c", "echo $$"])
        .env("TOKENVAULT_URL", &url)
        .env("TOKENVAULT_API_KEY", &key)
        .stdout(std::process::Stdio::piped());
    let (pid, printed) = actix_web::rt::task::spawn_blocking(move || {
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        (pid, String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
    .await
    .unwrap();
    assert_eq!(printed, pid.to_string());
    let missing = tv(
        &url,
        &key,
        &["run", "--user", "u1", "--", "/no/such/program"],
    )
    .await;
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("cannot run /no/such/program"),
        "{}",
        missing.stderr
    );
}

#[actix_web::test]
async fn ls_providers_refresh_and_log() {
    let mock = MockProvider::start().await;
    let app = TestApp::new().with_provider(&mock).start().await;
    let url = app.listen().await;
    let key = app.admin_key.clone();
    app.store("u1", &oauth2_body("google")).await;
    let listed = tv(&url, &key, &["ls", "--user", "u1"]).await;
    assert!(
        listed
            .stdout
            .starts_with("google\tgoogle\toauth2\tactive\texpires "),
        "{}",
        listed.stdout
    );
    let none = tv(&url, &key, &["ls", "--user", "nobody"]).await;
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));
    let providers = tv(&url, &key, &["providers"]).await;
    assert!(
        providers
            .stdout
            .lines()
            .any(|l| l.starts_with("google\toauth2,service_account\tGOG_ACCESS_TOKEN\t")),
        "{}",
        providers.stdout
    );
    let refreshed = tv(&url, &key, &["refresh", "google", "--user", "u1"]).await;
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert!(
        refreshed
            .stdout
            .starts_with("refreshed google for u1 at 20"),
        "{}",
        refreshed.stdout
    );
    assert_eq!(mock.token_calls(), 1);
    let log = tv(&url, &key, &["log", "google", "--user", "u1", "-n", "1"]).await;
    assert_eq!(log.stdout.lines().count(), 1, "{}", log.stdout);
    assert!(log.stdout.contains("\trefresh\tsuccess"), "{}", log.stdout);
    let log = tv(&url, &key, &["log", "google", "--user", "u1", "--json"]).await;
    let events: Value = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn failures_map_to_exit_codes_with_one_line_that_says_what_to_do() {
    let mock = MockProvider::start().await;
    let app = TestApp::new()
        .with_provider(&mock)
        .config(|c| c.refresh_cooldown = std::time::Duration::ZERO)
        .start()
        .await;
    let url = app.listen().await;
    let key = app.admin_key.clone();

    let missing = tv(&url, &key, &["get", "google", "--user", "u1"]).await;
    assert_eq!(missing.code, 5);
    assert!(
        missing.stderr.contains("tokenvault ls --user u1"),
        "{}",
        missing.stderr
    );
    one_line(&missing);

    app.store("u1", &expiring_body("google", "google", -60))
        .await;
    mock.reply(Reply::Status(500));
    let later = tv(&url, &key, &["get", "google", "--user", "u1"]).await;
    assert_eq!(later.code, 4, "{}", later.stderr);
    assert!(later.stderr.contains("retry in"), "{}", later.stderr);
    one_line(&later);

    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    let dead = tv(&url, &key, &["get", "google", "--user", "u1"]).await;
    assert_eq!(dead.code, 3, "{}", dead.stderr);
    assert!(
        dead.stderr
            .contains("re-authorize google for u1: the provider rejected its refresh token"),
        "{}",
        dead.stderr
    );
    one_line(&dead);
    assert!(dead.stdout.is_empty());

    let refused = tv(
        &url,
        "agk_notavalidkeynotavalidkeynotavalid",
        &["ls", "--user", "u1"],
    )
    .await;
    assert_eq!(refused.code, 6);
    assert!(
        refused.stderr.contains("TOKENVAULT_API_KEY"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("agk_notavalid"),
        "{}",
        refused.stderr
    );
    let no_key = tv(&url, "", &["ls", "--user", "u1"]).await;
    assert_eq!(no_key.code, 6);
    one_line(&no_key);
    let bound = app.create_key("default", "tokens:read", Some("u2"));
    let forbidden = tv(&url, &bound, &["ls", "--user", "u1"]).await;
    assert_eq!(forbidden.code, 6, "{}", forbidden.stderr);

    let down = tv(
        "http://127.0.0.1:9",
        &key,
        &["get", "google", "--user", "u1"],
    )
    .await;
    assert_eq!(down.code, 4, "{}", down.stderr);
    assert!(
        down.stderr
            .contains("cannot reach tokenvault at http://127.0.0.1:9"),
        "{}",
        down.stderr
    );
    one_line(&down);
    let usage = tv(&url, &key, &["get", "google"]).await;
    assert_eq!(usage.code, 2);
}

#[actix_web::test]
async fn the_server_and_key_may_come_from_a_dot_env_file() {
    let app = TestApp::new().start().await;
    let url = app.listen().await;
    app.store("u1", &api_key_body("openai")).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "TOKENVAULT_URL={url}\nTOKENVAULT_API_KEY={}\n",
            app.admin_key
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenvault"));
    cmd.args(["get", "openai", "--user", "u1"])
        .env_remove("TOKENVAULT_URL")
        .env_remove("TOKENVAULT_API_KEY")
        .current_dir(dir.path());
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sk-OPENAI-SECRET\n");
}
