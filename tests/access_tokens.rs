//! Access tokens minted from API keys: expiry parsing, bearer authentication with the key's
//! tenant, scopes and binding, every 401/403 case, destroy, and listing without secrets.

mod common;

use actix_web::test::TestRequest;
use common::{api_key_body, spawn_with};
use diesel::prelude::*;
use serde_json::{Value, json};
use tokenvault::auth::issue::KeySpec;

fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

#[actix_web::test]
async fn mint_returns_the_resource_once_and_the_token_works_as_bearer() {
    let app = common::spawn().await;
    app.store("u1", &api_key_body("openai")).await;
    let key = app.create_key("default", "tokens:read", None);

    let minted = app
        .post("/v2/access-tokens", &key, &json!({"expires_in": "15m"}))
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let body = &minted.body;
    let token = body["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("agat_") && token.len() > 40);
    assert!(body["id"].as_str().unwrap().starts_with("at_"));
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["account_id"], "default");
    assert_eq!(body["tenant"], "default");
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!((895..=900).contains(&expires_in), "{expires_in}");
    let keys = app.with_conn(|c| Ok(tokenvault::db::api_keys::ApiKeyRow::list(c, None)?));
    let key_id = &keys
        .iter()
        .find(|k| k.key_hash == tokenvault::secret::hash_secret(&key))
        .unwrap()
        .id;
    assert_eq!(&body["api_key_id"], key_id.as_str());

    let got = app
        .call(
            TestRequest::get()
                .uri("/v2/users/u1/tokens/openai")
                .insert_header(bearer(&token)),
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"]["api_key"], "sk-OPENAI-SECRET");
    // The key's scopes come along: no write.
    let write = app
        .call(
            TestRequest::post()
                .uri("/v2/users/u1/tokens")
                .insert_header(bearer(&token))
                .set_json(api_key_body("openai")),
        )
        .await;
    assert_eq!(write.status, 403);

    // Stored hashed only.
    let stored: Vec<(String, String)> = {
        use tokenvault::db::schema::access_tokens::dsl::*;
        access_tokens
            .select((id, token_hash))
            .load(&mut app.db.connect())
            .unwrap()
    };
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, tokenvault::secret::hash_secret(&token));
    assert!(!format!("{stored:?}").contains(&token[5..]));
}

#[actix_web::test]
async fn expiry_is_parsed_bounded_and_exclusive() {
    let app = common::spawn().await;
    let key = app.admin_key.clone();
    for (input, secs) in [
        (json!({}), 3600),
        (json!({"expires_in": "90s"}), 90),
        (json!({"expires_in": "15m"}), 900),
        (json!({"expires_in": "1h"}), 3600),
        (json!({"expires_in": "30d"}), 30 * 86400),
        (json!({"expires_in": "1w"}), 7 * 86400),
        (json!({"expires_in": "1M"}), 30 * 86400),
        (
            json!({"expires_at": (chrono::Utc::now() + chrono::Duration::hours(5)).to_rfc3339()}),
            5 * 3600,
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": null, "expires_at": null, "expires_in": "2h"}),
            7200,
        ),
        (json!({"grant_type": ""}), 3600),
    ] {
        let r = app.post("/v2/access-tokens", &key, &input).await;
        assert_eq!(r.status, 201, "{input}: {}", r.body);
        let got = r.body["expires_in"].as_i64().unwrap();
        assert!((secs - 5..=secs).contains(&got), "{input}: {got} != {secs}");
    }
    for bad in [
        json!({"expires_in": "30s"}),
        json!({"expires_in": "5w"}),
        json!({"expires_in": "2M"}),
        json!({"expires_in": "soon"}),
        json!({"expires_in": "10"}),
        json!({"expires_in": "1h", "expires_at": "2030-01-01T00:00:00Z"}),
        json!({"expires_at": "yesterday"}),
        json!({"expires_at": "2001-01-01T00:00:00Z"}),
        json!({"grant_type": "password"}),
        json!({"surprise": 1}),
    ] {
        let r = app.post("/v2/access-tokens", &key, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.error(), "invalid_request");
    }
    // An empty body mints with the defaults.
    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/access-tokens")
                .insert_header(("X-API-Key", key.as_str())),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[actix_web::test]
async fn client_secret_in_the_body_authenticates() {
    let app = common::spawn().await;
    let key = app.create_key("acme", "tokens:read", None);
    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/access-tokens")
                .set_json(json!({"client_secret": key, "expires_in": "1h"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["tenant"], "acme");
    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/access-tokens")
                .set_json(json!({"client_secret": "agk_wrong0000000000000000000000"})),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = app.call(TestRequest::post().uri("/v2/access-tokens")).await;
    assert_eq!(r.status, 401);
}

#[actix_web::test]
async fn bearer_failures_are_401_and_minting_with_a_token_is_403() {
    let app = spawn_with(|c| c.auth_cache_ttl = std::time::Duration::ZERO).await;
    let created = app.create_key_with(KeySpec {
        tenant: "acme".into(),
        name: "minter".into(),
        scopes: tokenvault::model::KeyScopes::parse_list("tokens:read").unwrap(),
        user_id: None,
        expires_at: None,
    });
    let empty = json!({});
    let mint = || app.post("/v2/access-tokens", created.key.as_str(), &empty);
    let token = mint().await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |token: String| {
        app.call(
            TestRequest::get()
                .uri("/v2/users/u1/tokens")
                .insert_header(bearer(&token)),
        )
    };
    assert_eq!(get(token.clone()).await.status, 200);

    // An access token cannot mint another.
    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/access-tokens")
                .insert_header(bearer(&token))
                .set_json(json!({})),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "forbidden");

    // Unknown, malformed, wrong scheme.
    for header in [
        "Bearer agat_unknown000000000000000000000000000",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
    ] {
        let r = app
            .call(
                TestRequest::get()
                    .uri("/v2/users/u1/tokens")
                    .insert_header(("Authorization", header)),
            )
            .await;
        assert_eq!(r.status, 401, "{header}");
        assert_eq!(r.error(), "unauthorized");
    }

    // Expired.
    let expired = mint().await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // It lives an hour: an hour and a second pass.
    app.advance(std::time::Duration::from_secs(3601));
    let r = get(expired).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.message(), "This access token has expired");

    // Destroyed.
    let doomed = mint().await.body;
    let id = doomed["id"].as_str().unwrap();
    let r = app
        .delete(&format!("/v2/access-tokens/{id}"), created.key.as_str())
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["access_token"], Value::Null);
    assert_eq!(r.body["id"], id);
    let r = get(doomed["access_token"].as_str().unwrap().to_string()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.message(), "This access token has been destroyed");

    // Minted from a since-revoked key (after the hour above: a live token).
    let token = mint().await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(token.clone()).await.status, 200);
    let key_id = created.row.id.clone();
    app.with_conn(|c| {
        Ok(tokenvault::db::api_keys::ApiKeyRow::revoke(
            c,
            &key_id,
            tokenvault::db::now(),
        )?)
    });
    let r = get(token).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.message(),
        "The API key this access token was minted from has been revoked"
    );
}

#[actix_web::test]
async fn access_token_keeps_the_user_binding_and_tenant() {
    let app = common::spawn().await;
    app.store("alice", &api_key_body("openai")).await;
    app.store("bob", &api_key_body("openai")).await;
    let alice_key = app.create_key("default", "tokens:read", Some("alice"));
    let token = app.mint_access_token(&alice_key).await;
    let get =
        |path: &'static str| app.call(TestRequest::get().uri(path).insert_header(bearer(&token)));
    assert_eq!(get("/v2/users/alice/tokens/openai").await.status, 200);
    assert_eq!(get("/v2/users/bob/tokens/openai").await.status, 403);

    let other_tenant = app.create_key("other", "tokens:read", None);
    let other_token = app.mint_access_token(&other_tenant).await;
    let r = app
        .call(
            TestRequest::get()
                .uri("/v2/users/alice/tokens/openai")
                .insert_header(bearer(&other_token)),
        )
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn destroy_needs_the_same_key_or_an_admin_of_the_tenant_and_listing_hides_secrets() {
    let app = common::spawn().await;
    let first = app.create_key("default", "tokens:read", None);
    let second = app.create_key("default", "tokens:read", None);
    let outsider = app.create_key("other", "admin", None);
    let minted = app.post("/v2/access-tokens", &first, &json!({})).await.body;
    let id = minted["id"].as_str().unwrap().to_string();
    app.post("/v2/access-tokens", &second, &json!({})).await;

    let listed = app.get("/v2/access-tokens", &first).await;
    assert_eq!(listed.status, 200);
    let items = listed.body.as_array().unwrap();
    assert_eq!(items.len(), 1, "a key sees only its own tokens");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["access_token"], Value::Null);
    let all = app.get("/v2/access-tokens", &app.admin_key).await;
    assert_eq!(
        all.body.as_array().unwrap().len(),
        2,
        "an admin sees the tenant's"
    );
    assert!(!all.body.to_string().contains("agat_"));

    let path = format!("/v2/access-tokens/{id}");
    assert_eq!(app.delete(&path, &second).await.status, 403);
    assert_eq!(app.delete(&path, &outsider).await.status, 404);
    assert_eq!(
        app.delete("/v2/access-tokens/at_nothing", &first)
            .await
            .status,
        404
    );
    let r = app.delete(&path, &app.admin_key).await;
    assert_eq!(r.status, 200);
    assert_eq!(app.get("/v2/access-tokens", &first).await.body, json!([]));
}
