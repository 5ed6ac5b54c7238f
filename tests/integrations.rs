//! Providers tokenvault has never heard of, from a URL alone: an OAuth server by its issuer
//! (RFC 8414 metadata, RFC 7591 registration, PKCE) and an MCP server (RFC 9728 discovery, RFC
//! 8707 resource on authorize, exchange and refresh), connected, refreshed and revoked through
//! the HTTP API, with no platform client configured by hand.

mod common;

use common::TestApp;
use common::emulator::{APP, browse};
use common::oauth_server::OAuthServer;
use serde_json::json;

async fn app(allow_private: bool) -> TestApp {
    TestApp::new()
        .config(move |c| {
            c.public_url = "https://vault.example.com".into();
            c.redirect_allowlist = vec![APP.into()];
            c.proxy.allow_private = allow_private;
        })
        .start()
        .await
}

/// Starts a connect for `user` and plays the browser: the landing URL.
async fn connect(app: &TestApp, provider: &str, user: &str) -> String {
    let body = json!({"provider": provider, "redirect_uri": APP});
    let started = app
        .post(&format!("/v2/users/{user}/connect"), &app.admin_key, &body)
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let url = started.body["authorization_url"].as_str().unwrap();
    browse(app, url).await.unwrap()
}

async fn get_access(app: &TestApp, user: &str, key: &str) -> String {
    let got = app
        .get(&format!("/v2/users/{user}/tokens/{key}"), &app.admin_key)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.body["token_data"]["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[actix_web::test]
async fn a_server_known_only_by_its_issuer_is_connected_refreshed_and_revoked() {
    let server = OAuthServer::start();
    let app = app(true).await;
    let added = app
        .post(
            "/v2/providers",
            &app.admin_key,
            &json!({"key": "acme", "issuer": server.url, "client": "dynamic"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["supports_connect"], true);
    assert_eq!(added.body["supports_revocation"], true);
    assert_eq!(
        added.body["definition"]["token_url"],
        format!("{}/token", server.url)
    );
    assert!(
        !added.body.to_string().contains("dyn-secret"),
        "{}",
        added.body
    );
    let registrations = server.registrations();
    assert_eq!(registrations.len(), 1);
    assert_eq!(
        registrations[0]["redirect_uris"],
        json!(["https://vault.example.com/v2/oauth/callback"])
    );

    let landing = connect(&app, "acme", "u1").await;
    assert!(landing.contains("status=connected"), "{landing}");
    assert_eq!(
        get_access(&app, "u1", "acme").await,
        server.last_access_token().unwrap()
    );
    let refreshed = app
        .post(
            "/v2/users/u1/tokens/acme/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        get_access(&app, "u1", "acme").await,
        server.last_access_token().unwrap()
    );
    // The rotated refresh token was kept: a second refresh works.
    let again = app
        .post(
            "/v2/users/u1/tokens/acme/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let deleted = app.delete("/v2/users/u1/tokens/acme", &app.admin_key).await;
    assert_eq!(deleted.body["revocation"], "revoked", "{}", deleted.body);
    assert_eq!(server.revoked().len(), 1);
    assert_eq!(server.refused(), Vec::<String>::new());
    assert!(
        server.resources_seen().iter().all(String::is_empty),
        "no resource without an MCP server"
    );
}

#[actix_web::test]
async fn an_mcp_server_is_connected_from_its_url_with_the_resource_everywhere() {
    let server = OAuthServer::start();
    server.guard_mcp();
    let app = app(true).await;
    let added = app
        .post(
            "/v2/providers",
            &app.admin_key,
            &json!({"key": "tools", "mcp_server": server.mcp_url(), "client": "dynamic"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["definition"]["resource"], server.mcp_url());
    assert_eq!(added.body["default_scopes"], json!(["mcp:tools"]));

    let landing = connect(&app, "tools", "agent-1").await;
    assert!(landing.contains("status=connected"), "{landing}");
    assert_eq!(
        get_access(&app, "agent-1", "tools").await,
        server.last_access_token().unwrap()
    );
    let refreshed = app
        .post(
            "/v2/users/agent-1/tokens/tools/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        get_access(&app, "agent-1", "tools").await,
        server.last_access_token().unwrap()
    );
    // authorize, exchange, refresh: each named the MCP server.
    assert_eq!(server.resources_seen(), vec![server.mcp_url(); 3]);
    assert_eq!(server.refused(), Vec::<String>::new());
    let deleted = app
        .delete("/v2/users/agent-1/tokens/tools", &app.admin_key)
        .await;
    assert_eq!(deleted.body["revocation"], "revoked", "{}", deleted.body);
}

#[actix_web::test]
async fn a_mismatching_issuer_and_a_private_target_are_refused() {
    let server = OAuthServer::start();
    server.lie_about_issuer("https://elsewhere.example.com");
    let app = app(true).await;
    let refused = app
        .post(
            "/v2/providers",
            &app.admin_key,
            &json!({"key": "acme", "issuer": server.url, "client": "dynamic"}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.message().contains("names the issuer"),
        "{}",
        refused.body
    );
    assert!(server.registrations().is_empty());

    let honest = OAuthServer::start();
    let default = self::app(false).await;
    for body in [
        json!({"key": "acme", "issuer": honest.url, "client": "dynamic"}),
        json!({"key": "tools", "mcp_server": honest.mcp_url(), "client": "dynamic"}),
        json!({"key": "direct", "display_name": "D", "token_types": ["oauth2"], "env_var": "D",
               "token_url": format!("{}/token", honest.url),
               "authorize_url": format!("{}/authorize", honest.url),
               "client": {"client_id": "x", "client_secret": "y"}}),
    ] {
        let refused = default
            .post("/v2/providers", &default.admin_key, &body)
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.message().contains("private targets are refused"),
            "{}",
            refused.body
        );
    }
    assert!(honest.registrations().is_empty());
}

#[actix_web::test]
async fn a_registration_the_server_forgot_is_renewed_once_then_reported() {
    let server = OAuthServer::start();
    let app = app(true).await;
    let added = app
        .post(
            "/v2/providers",
            &app.admin_key,
            &json!({"key": "acme", "issuer": server.url, "client": "dynamic"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["definition"]["client_registration"], "dynamic");
    let landing = connect(&app, "acme", "u1").await;
    assert!(landing.contains("status=connected"), "{landing}");

    // The server drops its clients: the refresh meets invalid_client, tokenvault registers
    // anew and tries again; the refresh token belonged to the old client, so the user is told
    // to reconnect (410), and reconnecting works with the new client.
    server.forget_clients();
    let refreshed = app
        .post(
            "/v2/users/u1/tokens/acme/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(server.registrations().len(), 2, "registered anew once");
    assert!(
        matches!(refreshed.status.as_u16(), 410 | 503),
        "{} {}",
        refreshed.status,
        refreshed.body
    );
    let landing = connect(&app, "acme", "u1").await;
    assert!(landing.contains("status=connected"), "{landing}");
    assert_eq!(
        get_access(&app, "u1", "acme").await,
        server.last_access_token().unwrap()
    );

    // Forgotten again within the hour: not renewed a second time, reported as it is.
    server.forget_clients();
    let refreshed = app
        .post(
            "/v2/users/u1/tokens/acme/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(refreshed.status, 503, "{}", refreshed.body);
    assert_eq!(
        server.registrations().len(),
        2,
        "no second renewal within the hour"
    );
}
