//! API keys and tenancy: 401 for bad keys, 403 for missing scopes and other users' paths, and
//! tenants that never see each other's credentials.

mod common;

use actix_web::test::TestRequest;
use common::{api_key_body, oauth2_body, spawn_with};
use serde_json::json;
use tokenvault::auth::issue::KeySpec;

#[actix_web::test]
async fn missing_unknown_and_malformed_keys_are_401() {
    let app = common::spawn().await;
    let missing = app
        .call(TestRequest::get().uri("/v2/users/u1/tokens"))
        .await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.error(), "unauthorized");
    assert!(missing.message().contains("X-API-Key"));
    assert!(missing.headers.contains_key("www-authenticate"));

    for key in [
        "agk_doesnotexist0000000000000000000000000000",
        "not-a-key",
        "",
    ] {
        let r = app.get("/v2/users/u1/tokens", key).await;
        assert_eq!(r.status, 401, "{key:?}");
        assert_eq!(r.error(), "unauthorized");
    }
    let r = app.get("/v2/providers", "agk_nope").await;
    assert_eq!(r.status, 401);
}

#[actix_web::test]
async fn revoked_key_is_401() {
    let app = spawn_with(|c| c.auth_cache_ttl = std::time::Duration::ZERO).await;
    let created = app.create_key_with(KeySpec {
        tenant: "acme".into(),
        name: "to revoke".into(),
        scopes: tokenvault::model::KeyScopes::parse_list("tokens:read").unwrap(),
        user_id: None,
        expires_at: None,
    });
    assert_eq!(
        app.get("/v2/users/u1/tokens", created.key.as_str())
            .await
            .status,
        200
    );
    let id = created.row.id.clone();
    app.with_conn(|conn| {
        Ok(tokenvault::db::api_keys::ApiKeyRow::revoke(
            conn,
            &id,
            tokenvault::db::now(),
        )?)
    });
    let r = app.get("/v2/users/u1/tokens", created.key.as_str()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.message(), "This API key has been revoked");
}

#[actix_web::test]
async fn expired_key_is_401() {
    let app = common::spawn().await;
    let created = app.create_key_with(KeySpec {
        tenant: "acme".into(),
        name: "expired".into(),
        scopes: tokenvault::model::KeyScopes::parse_list("tokens:read").unwrap(),
        user_id: None,
        expires_at: Some(tokenvault::db::now() - chrono::Duration::seconds(1)),
    });
    let r = app.get("/v2/users/u1/tokens", created.key.as_str()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.message(), "This API key has expired");
}

#[actix_web::test]
async fn each_route_requires_its_scope() {
    let app = common::spawn().await;
    app.store("u1", &api_key_body("openai")).await;
    let read_only = app.create_key("default", "tokens:read", None);
    let write_only = app.create_key("default", "tokens:write", None);

    assert_eq!(
        app.get("/v2/users/u1/tokens/openai", &read_only)
            .await
            .status,
        200
    );
    let r = app
        .post("/v2/users/u1/tokens", &read_only, &api_key_body("openai"))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "forbidden");
    assert!(r.message().contains("tokens:write"), "{}", r.message());
    assert_eq!(
        app.delete("/v2/users/u1/tokens/openai", &read_only)
            .await
            .status,
        403
    );
    assert_eq!(
        app.post("/v2/users/u1/tokens/openai/refresh", &read_only, &json!({}))
            .await
            .status,
        403
    );

    assert_eq!(
        app.get("/v2/users/u1/tokens/openai", &write_only)
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/v2/users/u1/tokens", &write_only).await.status,
        403
    );
    assert_eq!(
        app.post("/v2/users/u1/tokens", &write_only, &api_key_body("openai"))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn user_bound_key_reaches_only_its_user() {
    let app = common::spawn().await;
    app.store("alice", &oauth2_body("google")).await;
    app.store("bob", &oauth2_body("google")).await;
    let alice_key = app.create_key(
        "default",
        "tokens:read,tokens:write,tokens:delete",
        Some("alice"),
    );
    assert_eq!(
        app.get("/v2/users/alice/tokens/google", &alice_key)
            .await
            .status,
        200
    );
    for r in [
        app.get("/v2/users/bob/tokens/google", &alice_key).await,
        app.get("/v2/users/bob/tokens", &alice_key).await,
        app.delete("/v2/users/bob/tokens/google", &alice_key).await,
        app.post("/v2/users/bob/tokens", &alice_key, &oauth2_body("x"))
            .await,
    ] {
        assert_eq!(r.status, 403);
        assert_eq!(r.message(), "This API key is bound to another user");
    }
    assert_eq!(
        app.get("/v2/users/bob/tokens/google", &app.admin_key)
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn tenants_never_see_each_other() {
    let app = common::spawn().await;
    let tenant_a = app.create_key("tenant-a", "admin", None);
    let tenant_b = app.create_key("tenant-b", "admin", None);
    let r = app
        .post(
            "/v2/users/shared-user/tokens",
            &tenant_a,
            &oauth2_body("google"),
        )
        .await;
    assert_eq!(r.status, 201);

    let r = app
        .get("/v2/users/shared-user/tokens/google", &tenant_b)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "Token not found");
    assert_eq!(
        app.get("/v2/users/shared-user/tokens", &tenant_b)
            .await
            .body,
        json!([])
    );
    assert_eq!(
        app.delete("/v2/users/shared-user/tokens/google", &tenant_b)
            .await
            .status,
        404
    );
    // The same user and integration key under tenant B is a separate credential.
    let r = app
        .post(
            "/v2/users/shared-user/tokens",
            &tenant_b,
            &api_key_body("google-like"),
        )
        .await;
    assert_eq!(r.status, 201);
    let a = app
        .get("/v2/users/shared-user/tokens/google", &tenant_a)
        .await;
    assert_eq!(a.body["token_data"]["access_token"], "ya29.ACCESS-SECRET-1");
    assert_eq!(
        app.get("/v2/users/shared-user/tokens", &tenant_a)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn bootstrap_key_is_an_admin_key_of_the_default_tenant() {
    let app = common::spawn().await;
    let keys = app.with_conn(|conn| Ok(tokenvault::db::api_keys::ApiKeyRow::list(conn, None)?));
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].tenant, "default");
    assert_eq!(keys[0].scopes.to_column(), "admin");
    assert_eq!(
        keys[0].key_hash,
        tokenvault::secret::hash_secret(&app.admin_key)
    );
    assert!(!format!("{:?}", keys[0]).contains(&app.admin_key));
}

#[test]
fn instances_starting_together_create_one_admin_key() {
    let db = common::TestDb::new();
    if !db.is_postgres() {
        eprintln!("skipped: several instances share a database only on PostgreSQL");
        return;
    }
    let (mut config, _) = common::test_config(&db);
    config.bootstrap_api_key = None;
    tokenvault::db::Db::new(&db.url, 1)
        .migrate(&db.url)
        .unwrap();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || tokenvault::prepare(config).map(|(_, s)| s.first_admin_key))
        })
        .collect();
    let printed: Vec<String> = starts
        .into_iter()
        .filter_map(|start| start.join().unwrap().unwrap().map(|k| k.into_inner()))
        .collect();
    assert_eq!(
        printed.len(),
        1,
        "{} instances created a first admin key",
        printed.len()
    );
    let pool = tokenvault::db::Db::new(&db.url, 1);
    let keys = pool
        .run_blocking(|conn| Ok(tokenvault::db::api_keys::ApiKeyRow::list(conn, None)?))
        .unwrap();
    assert_eq!(keys.len(), 1);
}

#[actix_web::test]
async fn revocation_reaches_another_instance_within_a_second() {
    let first = spawn_with(|c| c.auth_cache_ttl = std::time::Duration::from_secs(60)).await;
    if !first.db.is_postgres() {
        eprintln!("skipped: several instances share a database only on PostgreSQL");
        return;
    }
    let second = first.second_instance().await;
    let key = first.create_key("default", "tokens:read", None);
    let token = first.mint_access_token(&key).await;
    let other_key = first.create_key("default", "tokens:read", None);
    let other_token = first.mint_access_token(&other_key).await;
    // The second instance has both cached (TTL 60 s: only a notification can end that early).
    for secret in [&key, &other_token] {
        assert_eq!(second.get("/v2/users/u1/tokens", secret).await.status, 200);
    }
    let keys = first.get("/v2/api-keys", &first.admin_key).await;
    let key_id = keys
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| key.starts_with(k["prefix"].as_str().unwrap()) && k["name"] == "test")
        .map(|k| k["id"].as_str().unwrap().to_string())
        .unwrap();
    let tokens = first.get("/v2/access-tokens", &other_key).await;
    let token_id = tokens.body[0]["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    assert_eq!(
        first
            .delete(&format!("/v2/api-keys/{key_id}"), &first.admin_key)
            .await
            .status,
        200
    );
    assert_eq!(
        first
            .delete(&format!("/v2/access-tokens/{token_id}"), &other_key)
            .await
            .status,
        200
    );
    let mut delay = None;
    while started.elapsed() < std::time::Duration::from_secs(3) {
        let statuses = [
            second.get("/v2/users/u1/tokens", &key).await.status,
            second.get("/v2/users/u1/tokens", &token).await.status,
            second.get("/v2/users/u1/tokens", &other_token).await.status,
        ];
        if statuses.iter().all(|s| *s == 401) {
            delay = Some(started.elapsed());
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let delay = delay.expect("the second instance still accepts revoked secrets after 3 s");
    eprintln!("revocation reached the second instance in {delay:?}");
    assert!(delay <= std::time::Duration::from_secs(1), "{delay:?}");
    // Keys that were not revoked keep working there.
    assert_eq!(
        second.get("/v2/users/u1/tokens", &other_key).await.status,
        200
    );
}

fn from(addr: &str, path: &str, key: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .peer_addr(format!("{addr}:40000").parse().unwrap())
        .insert_header(("X-API-Key", key))
}

#[actix_web::test]
async fn failed_authentication_is_throttled_per_address_and_valid_keys_keep_working() {
    let app = spawn_with(|c| c.auth_failures_per_min = 5).await;
    let path = "/v2/users/u1/tokens";
    let mut accepted = 0;
    loop {
        let wrong = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
        let r = app.call(from("203.0.113.7", path, &wrong)).await;
        if r.status == 429 {
            assert_eq!(r.error(), "rate_limited");
            let retry = r.headers.get("retry-after").unwrap().to_str().unwrap();
            assert!(retry.parse::<u64>().unwrap() > 0);
            break;
        }
        assert_eq!(r.status, 401);
        accepted += 1;
        assert!(accepted <= 5, "more than 5 wrong keys answered before 429");
    }
    eprintln!("wrong keys answered 401 before 429: {accepted}");
    assert_eq!(accepted, 5);
    // The same address with a valid key, and another address, are not held back.
    let valid = app.call(from("203.0.113.7", path, &app.admin_key)).await;
    assert_eq!(valid.status, 200, "{}", valid.body);
    let other = app.call(from("198.51.100.1", path, "agk_wrong")).await;
    assert_eq!(other.status, 401);
}

#[actix_web::test]
async fn a_repeated_wrong_key_costs_no_query() {
    use diesel::connection::SimpleConnection;
    let app = spawn_with(|_| {}).await;
    let path = "/v2/users/u1/tokens";
    let wrong = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
    assert_eq!(app.get(path, &wrong).await.status, 401);
    assert_eq!(app.get(path, &app.admin_key).await.status, 200);
    // With the key tables gone, any lookup fails: a repeated wrong key must not look.
    app.db
        .connect()
        .batch_execute("DROP TABLE access_tokens; DROP TABLE api_keys;")
        .unwrap();
    assert_eq!(app.get(path, &wrong).await.status, 401);
    let fresh = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
    assert_eq!(
        app.get(path, &fresh).await.status,
        500,
        "the lookup did run"
    );
}
