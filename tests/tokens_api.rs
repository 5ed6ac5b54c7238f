//! The success paths of the tokens API, through HTTP, on the configured backend.

mod common;

use common::{api_key_body, oauth2_body, spawn};
use serde_json::json;

#[actix_web::test]
async fn store_creates_with_201_and_replaces_with_200() {
    let app = spawn().await;
    let created = app.store("user-42", &oauth2_body("google")).await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.body["message"],
        "Token stored successfully for google"
    );
    assert_eq!(created.body["integration_key"], "google");
    assert_eq!(created.body["provider"], "google");
    assert_eq!(created.body["token_type"], "oauth2");
    let created_at = created.body["created_at"].as_str().unwrap().to_string();
    assert!(created_at.ends_with('Z'), "{created_at}");

    let mut replacement = oauth2_body("google");
    replacement["token_data"]["access_token"] = json!("ya29.REPLACED");
    let replaced = app.store("user-42", &replacement).await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.body["created_at"], created_at.as_str());

    let got = app
        .get("/v2/users/user-42/tokens/google", &app.admin_key)
        .await;
    assert_eq!(got.body["token_data"]["access_token"], "ya29.REPLACED");
}

#[actix_web::test]
async fn get_returns_the_usable_credential_without_client_credentials() {
    let app = spawn().await;
    let mut body = oauth2_body("google");
    body["expires_at"] = json!("2099-01-16T10:00:00Z");
    app.store("user-42", &body).await;

    let got = app
        .get("/v2/users/user-42/tokens/google", &app.admin_key)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body,
        json!({
            "integration_key": "google",
            "provider": "google",
            "connection_config": {},
            "token_type": "oauth2",
            "token_data": {
                "access_token": "ya29.ACCESS-SECRET-1",
                "refresh_token": "1//REFRESH-SECRET-1",
                "token_type": "Bearer"
            },
            "scopes": ["calendar", "email"],
            "expires_at": "2099-01-16T10:00:00Z",
            "is_expired": false,
            "refreshed": false,
            "account": null,
            "status": "active"
        })
    );
}

#[actix_web::test]
async fn expires_in_sets_expires_at_when_absent() {
    let app = spawn().await;
    let before = chrono::Utc::now();
    app.store("u1", &oauth2_body("google")).await;
    let got = app.get("/v2/users/u1/tokens/google", &app.admin_key).await;
    let expires_at: chrono::DateTime<chrono::Utc> =
        got.body["expires_at"].as_str().unwrap().parse().unwrap();
    let delta = (expires_at - before).num_seconds();
    assert!(
        (3598..=3602).contains(&delta),
        "expires_at {delta}s from now"
    );
}

#[actix_web::test]
async fn expired_credential_is_reported_as_expired() {
    let app = spawn().await;
    let mut body = api_key_body("openai");
    body["expires_at"] = json!("2020-01-01T00:00:00Z");
    app.store("u1", &body).await;
    let got = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["is_expired"], true);
    assert_eq!(got.body["token_data"]["api_key"], "sk-OPENAI-SECRET");
}

#[actix_web::test]
async fn list_returns_metadata_only_sorted_by_integration_key() {
    let app = spawn().await;
    app.store("user-42", &oauth2_body("google")).await;
    app.store("user-42", &api_key_body("openai")).await;
    app.store("someone-else", &api_key_body("openai")).await;

    let listed = app.get("/v2/users/user-42/tokens", &app.admin_key).await;
    assert_eq!(listed.status, 200);
    let items = listed.body.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["integration_key"], "google");
    assert_eq!(items[0]["scopes"], json!(["calendar", "email"]));
    assert_eq!(items[0]["status"], "active");
    assert_eq!(items[1]["integration_key"], "openai");
    assert_eq!(items[1]["scopes"], json!(null));
    assert_eq!(items[1]["expires_at"], json!(null));
    assert_eq!(items[1]["is_expired"], false);
    let keys: Vec<&String> = items[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "account",
            "connection_config",
            "created_at",
            "expires_at",
            "integration_key",
            "is_expired",
            "provider",
            "scopes",
            "status",
            "token_type",
            "updated_at"
        ]
    );
    let text = listed.body.to_string();
    assert!(!text.contains("SECRET"), "{text}");

    let empty = app.get("/v2/users/nobody/tokens", &app.admin_key).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body, json!([]));
}

#[actix_web::test]
async fn delete_removes_the_credential() {
    let app = spawn().await;
    app.store("user-42", &oauth2_body("google")).await;
    // Revocation at the provider is covered with a mock provider in tests/refresh.rs.
    let deleted = app
        .delete(
            "/v2/users/user-42/tokens/google?revoke=false",
            &app.admin_key,
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"integration_key": "google", "message": "Token for google deleted successfully",
               "revocation": "skipped", "revocation_error": null})
    );
    let gone = app
        .get("/v2/users/user-42/tokens/google", &app.admin_key)
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.error(), "not_found");
    assert_eq!(gone.message(), "Token not found");
    let again = app
        .delete("/v2/users/user-42/tokens/google", &app.admin_key)
        .await;
    assert_eq!(again.status, 404);
}

#[actix_web::test]
async fn refresh_of_api_key_or_jwt_is_refused_as_unsupported() {
    let app = spawn().await;
    app.store("u1", &api_key_body("openai")).await;
    app.store(
        "u1",
        &json!({"integration_key": "gh-app", "provider": "github", "token_type": "jwt",
                "token_data": {"token": "eyJ.SECRET.x", "algorithm": "RS256"}}),
    )
    .await;
    for (key, kind) in [("openai", "api_key"), ("gh-app", "jwt")] {
        let refused = app
            .post(
                &format!("/v2/users/u1/tokens/{key}/refresh"),
                &app.admin_key,
                &json!({}),
            )
            .await;
        assert_eq!(refused.status, 400);
        assert_eq!(refused.error(), "invalid_request");
        assert_eq!(
            refused.message(),
            format!("Token type {kind} does not support refresh")
        );
    }
    let missing = app
        .post(
            "/v2/users/u1/tokens/nothing/refresh",
            &app.admin_key,
            &json!({}),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[actix_web::test]
async fn jwt_and_api_key_fields_come_back() {
    let app = spawn().await;
    app.store(
        "u1",
        &json!({"integration_key": "gh-app", "provider": "GitHub", "token_type": "JWT",
                "token_data": {"token": "eyJ.x.y", "algorithm": "RS256", "issuer": "me"}}),
    )
    .await;
    let got = app.get("/v2/users/u1/tokens/gh-app", &app.admin_key).await;
    assert_eq!(got.body["provider"], "github");
    assert_eq!(got.body["token_type"], "jwt");
    assert_eq!(
        got.body["token_data"],
        json!({"token": "eyJ.x.y", "algorithm": "RS256", "issuer": "me"})
    );
}

#[actix_web::test]
async fn providers_lists_the_whitelist_with_cache_header_and_no_urls() {
    let app = spawn().await;
    let listed = app.get("/v2/providers", &app.admin_key).await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.headers.get("cache-control").unwrap(),
        "private, max-age=300"
    );
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    for key in [
        "anthropic",
        "dropbox",
        "github",
        "google",
        "microsoft",
        "notion",
        "openai",
        "slack",
        "zoom",
        "spotify",
    ] {
        assert!(names.contains(&key), "{key} is not listed");
    }
    assert!(names.len() >= 60, "{} providers", names.len());
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let all = listed.body.as_array().unwrap();
    for entry in all {
        let docs = entry["docs_url"].as_str().unwrap_or_default();
        assert!(docs.starts_with("https://"), "{entry}");
    }
    let google = all.iter().find(|p| p["provider"] == "google").unwrap();
    assert_eq!(google["account_env_var"], "GOG_ACCOUNT");
    assert_eq!(google["scopes_strict"], true);
    let github = all.iter().find(|p| p["provider"] == "github").unwrap();
    assert_eq!(github["tool"]["name"], "gh");
    let openai = all.iter().find(|p| p["provider"] == "openai").unwrap();
    assert_eq!(openai["key_pattern"], "^sk-");
    let zendesk = all.iter().find(|p| p["provider"] == "zendesk").unwrap();
    assert_eq!(zendesk["connection_config"][0]["name"], "subdomain");
    assert_eq!(zendesk["connection_config"][0]["required"], true);
    assert_eq!(google["env_var"], "GOG_ACCESS_TOKEN");
    assert_eq!(
        google["scope_labels"]["https://www.googleapis.com/auth/calendar"],
        "Google Calendar"
    );
    let text = listed.body.to_string();
    assert!(!text.contains("https://oauth2.googleapis.com"), "{text}");
    assert!(!text.contains("token_url"), "{text}");
}

#[actix_web::test]
async fn health_and_readiness_answer() {
    let app = spawn().await;
    let health = app
        .call(actix_web::test::TestRequest::get().uri("/healthz"))
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, json!({"status": "ok"}));
    let ready = app
        .call(actix_web::test::TestRequest::get().uri("/readyz"))
        .await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body, json!({"status": "ready"}));
}

#[actix_web::test]
async fn swagger_ui_and_openapi_are_served() {
    let app = spawn().await;
    let spec = app
        .call(actix_web::test::TestRequest::get().uri("/openapi.json"))
        .await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.body["openapi"], "3.1.0");
    let checked_in: serde_json::Value = serde_json::from_str(&tokenvault::openapi_json()).unwrap();
    assert_eq!(
        spec.body, checked_in,
        "the served document is the checked-in one"
    );
    let config = app
        .call(actix_web::test::TestRequest::get().uri("/swagger-ui/swagger-initializer.js"))
        .await;
    assert!(
        config.body.as_str().unwrap_or("").contains("/openapi.json"),
        "Swagger UI loads the served document: {}",
        config.body
    );
    let ui = app
        .call(actix_web::test::TestRequest::get().uri("/swagger-ui/"))
        .await;
    assert_eq!(ui.status, 200);
    assert!(
        ui.body.as_str().unwrap_or("").contains("swagger"),
        "{}",
        ui.body
    );
}

#[actix_web::test]
async fn secret_bearing_responses_are_not_cacheable_and_nothing_is_sniffed() {
    let app = spawn().await;
    app.store("u1", &api_key_body("openai")).await;
    let header = |r: &common::TestResponse, name: &str| {
        r.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    };
    let get = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    let minted = app
        .post("/v2/access-tokens", &app.admin_key, &json!({}))
        .await;
    let key = app
        .post("/v2/api-keys", &app.admin_key, &json!({"name": "n"}))
        .await;
    for r in [&get, &minted, &key] {
        assert!(r.status.is_success(), "{}", r.body);
        assert_eq!(header(r, "cache-control").as_deref(), Some("no-store"));
    }
    let list = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    let missing = app.get("/v2/nowhere", &app.admin_key).await;
    let health = app.get("/healthz", &app.admin_key).await;
    for r in [&get, &minted, &key, &list, &missing, &health] {
        assert_eq!(
            header(r, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
    assert_eq!(missing.status, 404);
}

#[actix_web::test]
async fn an_unknown_swagger_ui_file_is_a_json_404() {
    let app = spawn().await;
    let r = app.get("/swagger-ui/no-such-file.js", &app.admin_key).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found", "{}", r.body);
    let index = app.get("/swagger-ui/", &app.admin_key).await;
    assert_eq!(index.status, 200);
}
