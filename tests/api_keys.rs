//! API key management over HTTP (admin scope): create, list, revoke, confined to the caller's
//! tenant; and the CLI reading what HTTP wrote.

mod common;

use actix_web::test::TestRequest;
use common::spawn_with;
use serde_json::{Value, json};

#[actix_web::test]
async fn admin_creates_lists_and_revokes_keys_of_its_tenant() {
    let app = spawn_with(|c| c.auth_cache_ttl = std::time::Duration::from_secs(60)).await;
    let created = app
        .post(
            "/v2/api-keys",
            &app.admin_key,
            &json!({"name": "billing", "scopes": ["tokens:read"], "user_id": "u1", "expires_in": "90d"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.body["key"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("agk_"));
    assert_eq!(created.body["tenant"], "default");
    assert_eq!(created.body["scopes"], json!(["tokens:read"]));
    assert_eq!(created.body["user_id"], "u1");
    assert_eq!(created.body["state"], "active");
    assert_eq!(created.body["prefix"], &key[..10]);
    assert!(created.body["expires_at"].is_string());

    // It works, within its scope and binding, and is used.
    assert_eq!(app.get("/v2/users/u1/tokens", &key).await.status, 200);
    assert_eq!(app.get("/v2/users/u2/tokens", &key).await.status, 403);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;

    let listed = app.get("/v2/api-keys", &app.admin_key).await;
    assert_eq!(listed.status, 200);
    let items = listed.body.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let mine = items.iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert!(mine["last_used_at"].is_string(), "{mine}");
    assert!(
        !listed.body.to_string().contains(&key[10..]),
        "a key is listed"
    );

    // Revoked here: refused at once, even though the cache TTL is a minute.
    let revoked = app
        .delete(&format!("/v2/api-keys/{id}"), &app.admin_key)
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.body["state"], "revoked");
    let r = app.get("/v2/users/u1/tokens", &key).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.message(), "This API key has been revoked");
}

#[actix_web::test]
async fn default_scopes_and_bad_input() {
    let app = common::spawn().await;
    let r = app
        .post("/v2/api-keys", &app.admin_key, &json!({"name": "svc"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.body["scopes"],
        json!([
            "tokens:read",
            "tokens:write",
            "tokens:refresh",
            "tokens:delete"
        ])
    );
    assert_eq!(r.body["expires_at"], Value::Null);
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "scopes": ["tokens:everything"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "user_id": "not ok"}),
        json!({"name": "x", "expires_in": "forever"}),
        json!({"name": "x", "expires_in": "1d", "expires_at": "2030-01-01T00:00:00Z"}),
        json!({"name": "x", "tenant": "someone-else"}),
        json!({"scopes": ["admin"]}),
    ] {
        let r = app.post("/v2/api-keys", &app.admin_key, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.error(), "invalid_request");
    }
}

#[actix_web::test]
async fn non_admins_access_tokens_and_other_tenants_are_refused() {
    let app = common::spawn().await;
    let reader = app.create_key("default", "tokens:read,tokens:write", None);
    for r in [
        app.get("/v2/api-keys", &reader).await,
        app.post("/v2/api-keys", &reader, &json!({"name": "x"}))
            .await,
    ] {
        assert_eq!(r.status, 403);
        assert!(r.message().contains("admin"), "{}", r.message());
    }

    // An admin's access token cannot create long-lived keys.
    let token = app.mint_access_token(&app.admin_key).await;
    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/api-keys")
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(json!({"name": "escalate"})),
        )
        .await;
    assert_eq!(r.status, 403);

    // Tenant B's admin cannot see, revoke or create in tenant A.
    let admin_b = app.create_key("tenant-b", "admin", None);
    let listed = app.get("/v2/api-keys", &admin_b).await;
    let ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tenant-b"]);
    let keys_a = app.get("/v2/api-keys", &app.admin_key).await;
    let id_a = keys_a.body[0]["id"].as_str().unwrap();
    let r = app.delete(&format!("/v2/api-keys/{id_a}"), &admin_b).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.get("/v2/users/u/tokens", &app.admin_key).await.status,
        200
    );
    let created = app
        .post("/v2/api-keys", &admin_b, &json!({"name": "b2"}))
        .await;
    assert_eq!(created.body["tenant"], "tenant-b");
}

#[actix_web::test]
async fn a_key_never_reaches_wider_than_itself() {
    let app = common::spawn().await;
    app.store("bob", &common::oauth2_body("google")).await;
    // `admin` is tenant-wide: it cannot be bound to a user.
    let bound_admin = app
        .post(
            "/v2/api-keys",
            &app.admin_key,
            &json!({"name": "alice-admin", "scopes": ["admin"], "user_id": "alice"}),
        )
        .await;
    assert_eq!(bound_admin.status, 400, "{}", bound_admin.body);
    assert!(
        bound_admin.message().contains("admin"),
        "{}",
        bound_admin.body
    );

    // A bound admin key from before this rule, and a bound tokens key: neither manages the
    // tenant (keys, webhooks, other keys' access tokens).
    let legacy = app.create_key("default", "admin", Some("alice"));
    let bound = app.create_key("default", "tokens:read,tokens:write", Some("alice"));
    let admin_token = app.mint_access_token(&app.admin_key).await;
    let admin_token_id = {
        let listed = app.get("/v2/access-tokens", &app.admin_key).await;
        listed.body[0]["id"].as_str().unwrap().to_string()
    };
    for key in [&legacy, &bound] {
        let wider = app
            .post(
                "/v2/api-keys",
                key,
                &json!({"name": "escalate", "scopes": ["admin"]}),
            )
            .await;
        assert_eq!(wider.status, 403, "{}", wider.body);
        let hook = app
            .post(
                "/v2/webhooks",
                key,
                &json!({"url": "https://93.184.216.34/hooks"}),
            )
            .await;
        assert_eq!(hook.status, 403, "{}", hook.body);
        assert_eq!(app.get("/v2/webhooks", key).await.status, 403);
        assert_eq!(app.get("/v2/api-keys", key).await.status, 403);
        let destroy = app
            .delete(&format!("/v2/access-tokens/{admin_token_id}"), key)
            .await;
        assert_eq!(destroy.status, 403, "{}", destroy.body);
        // Its own user only, whatever its scopes.
        assert_eq!(
            app.get("/v2/users/bob/tokens/google", key).await.status,
            403
        );
    }
    assert_eq!(
        app.get("/v2/users/u1/tokens", &admin_token).await.status,
        200,
        "the admin's access token still works"
    );

    // An admin's access token uses credentials, but cannot create keys or webhooks: nothing
    // may outlive it.
    let bearer = ("Authorization", format!("Bearer {admin_token}"));
    for (uri, body) in [
        ("/v2/api-keys", json!({"name": "from-token"})),
        (
            "/v2/webhooks",
            json!({"url": "https://93.184.216.34/hooks"}),
        ),
    ] {
        let r = app
            .call(
                TestRequest::post()
                    .uri(uri)
                    .insert_header(bearer.clone())
                    .set_json(&body),
            )
            .await;
        assert_eq!(r.status, 403, "{uri}: {}", r.body);
        assert!(r.message().contains("access token"), "{}", r.body);
    }

    // A tenant-wide admin creates narrower keys as before.
    let narrow = app
        .post(
            "/v2/api-keys",
            &app.admin_key,
            &json!({"name": "reader", "scopes": ["tokens:read"], "user_id": "alice"}),
        )
        .await;
    assert_eq!(narrow.status, 201, "{}", narrow.body);
}
