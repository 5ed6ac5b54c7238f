//! Encryption at rest, read straight from the table: no plaintext stored, ciphertexts bound to
//! their row, and data written by the original Python service readable.

mod common;

use common::{api_key_body, oauth2_body, spawn, spawn_with};
use diesel::prelude::*;
use serde_json::{Value, json};
use tokenvault::db::schema::tokens;

type RawRow = (String, String, String, String, Option<String>, String);

fn raw_rows(conn: &mut tokenvault::db::DbConnection) -> Vec<RawRow> {
    tokens::table
        .select((
            tokens::user_id,
            tokens::integration_key,
            tokens::provider,
            tokens::ciphertext,
            tokens::scopes,
            tokens::status,
        ))
        .order((tokens::user_id, tokens::integration_key))
        .load(conn)
        .unwrap()
}

#[actix_web::test]
async fn stored_rows_hold_no_plaintext_secret() {
    let app = spawn().await;
    app.store("user-42", &oauth2_body("google")).await;
    app.store("user-42", &api_key_body("openai")).await;
    let rows = raw_rows(&mut app.db.connect());
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let text = format!("{row:?}");
        for secret in [
            "ACCESS-SECRET",
            "REFRESH-SECRET",
            "GOCSPX",
            "apps.googleusercontent",
            "sk-OPENAI",
        ] {
            assert!(!text.contains(secret), "{secret} stored in clear: {text}");
        }
        assert!(row.3.starts_with("gAAAAA"), "not a Fernet token: {}", row.3);
    }
}

#[actix_web::test]
async fn ciphertext_copied_to_another_row_is_refused_with_500() {
    let app = spawn().await;
    app.store("alice", &oauth2_body("google")).await;
    let mut bob = oauth2_body("google");
    bob["token_data"]["access_token"] = json!("ya29.BOB");
    app.store("bob", &bob).await;

    let mut conn = app.db.connect();
    let alice_ciphertext: String = tokens::table
        .filter(tokens::user_id.eq("alice"))
        .select(tokens::ciphertext)
        .first(&mut conn)
        .unwrap();
    diesel::update(tokens::table.filter(tokens::user_id.eq("bob")))
        .set(tokens::ciphertext.eq(&alice_ciphertext))
        .execute(&mut conn)
        .unwrap();

    let swapped = app.get("/v2/users/bob/tokens/google", &app.admin_key).await;
    assert_eq!(swapped.status, 500);
    assert_eq!(
        swapped.body,
        json!({"error": "internal_error", "message": "Internal error"})
    );
    // Alice's own row is untouched and still served.
    let alice = app
        .get("/v2/users/alice/tokens/google", &app.admin_key)
        .await;
    assert_eq!(alice.status, 200);
    assert_eq!(
        alice.body["token_data"]["access_token"],
        "ya29.ACCESS-SECRET-1"
    );
}

#[actix_web::test]
async fn ciphertext_written_by_the_python_service_decrypts() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/python_fernet.json")).unwrap();
    let secret = fixture["secret"].as_str().unwrap().to_string();
    let app = spawn_with(|config| config.encryption_keys = Some(secret.into())).await;
    let row = &fixture["row"];
    let (user, key) = (
        row["user_id"].as_str().unwrap(),
        row["integration_key"].as_str().unwrap(),
    );
    assert_eq!(row["tenant"], tokenvault::DEFAULT_TENANT);
    app.store(user, &api_key_body(key)).await;
    diesel::update(tokens::table.filter(tokens::integration_key.eq(key)))
        .set(tokens::ciphertext.eq(fixture["ciphertext"].as_str().unwrap()))
        .execute(&mut app.db.connect())
        .unwrap();

    let got = app
        .get(&format!("/v2/users/{user}/tokens/{key}"), &app.admin_key)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"], fixture["data"]);
}

#[actix_web::test]
async fn legacy_ciphertext_of_the_python_service_is_served_then_bound_by_rotation() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/python_fernet.json")).unwrap();
    let secret = fixture["secret"].as_str().unwrap().to_string();
    let app = spawn_with(|config| config.encryption_keys = Some(secret.clone().into())).await;
    let (user, key) = ("py-user", "legacy-openai");
    app.store(user, &api_key_body(key)).await;
    app.store("someone-else", &api_key_body(key)).await;
    let legacy = fixture["legacy_ciphertext"].as_str().unwrap();
    diesel::update(tokens::table.filter(tokens::user_id.eq(user)))
        .set(tokens::ciphertext.eq(legacy))
        .execute(&mut app.db.connect())
        .unwrap();

    // Written by the original service with the same SECRET_TOKEN_ENC_KEY: readable as is.
    let path = format!("/v2/users/{user}/tokens/{key}");
    let got = app.get(&path, &app.admin_key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["token_data"], fixture["data"]);

    // rotate-key binds it to its row even though the key did not change…
    let vault = tokenvault::crypto::Vault::from_secrets(&secret).unwrap();
    let summary = tokenvault::credentials::rotation::rotate(
        &app.state.db,
        &vault,
        tokenvault::credentials::rotation::Options {
            batch_size: 10,
            limit: None,
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((summary.reencrypted, summary.already_current), (1, 1));
    assert_eq!(
        app.get(&path, &app.admin_key).await.body["token_data"],
        fixture["data"]
    );
    // …so that, copied onto another row, it is now refused.
    let mut conn = app.db.connect();
    let bound: String = tokens::table
        .filter(tokens::user_id.eq(user))
        .select(tokens::ciphertext)
        .first(&mut conn)
        .unwrap();
    diesel::update(tokens::table.filter(tokens::user_id.eq("someone-else")))
        .set(tokens::ciphertext.eq(bound))
        .execute(&mut conn)
        .unwrap();
    let copied = app
        .get(
            &format!("/v2/users/someone-else/tokens/{key}"),
            &app.admin_key,
        )
        .await;
    assert_eq!(copied.status, 500);
}

#[actix_web::test]
async fn data_written_with_another_key_is_not_served() {
    let app = spawn().await;
    app.store("u1", &api_key_body("openai")).await;
    let foreign = tokenvault::crypto::Vault::from_secrets(&tokenvault::crypto::generate_key())
        .unwrap()
        .seal(
            &tokenvault::model::CredentialKey::parse(tokenvault::DEFAULT_TENANT, "u1", "openai")
                .unwrap(),
            &json!({"api_key": "sk-OTHER"}),
        );
    diesel::update(tokens::table)
        .set(tokens::ciphertext.eq(foreign))
        .execute(&mut app.db.connect())
        .unwrap();
    let got = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(got.status, 500);
    assert_eq!(got.error(), "internal_error");
}

#[actix_web::test]
async fn a_credential_that_cannot_be_decrypted_can_still_be_deleted() {
    let app = spawn().await;
    for user in ["u1", "u2"] {
        app.store(user, &oauth2_body("google")).await;
    }
    let foreign = tokenvault::crypto::Vault::from_secrets(&tokenvault::crypto::generate_key())
        .unwrap()
        .seal(
            &tokenvault::model::CredentialKey::parse("default", "u1", "google").unwrap(),
            &json!({"access_token": "ya29.OTHER"}),
        );
    // Both rows now hold a ciphertext sealed with a key nobody configured.
    diesel::update(tokens::table)
        .set(tokens::ciphertext.eq(foreign))
        .execute(&mut app.db.connect())
        .unwrap();
    assert_eq!(
        app.get("/v2/users/u1/tokens/google", &app.admin_key)
            .await
            .status,
        500
    );
    let deleted = app
        .delete("/v2/users/u1/tokens/google", &app.admin_key)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["revocation"], "failed");
    let reason = deleted.body["revocation_error"].as_str().unwrap();
    assert!(reason.contains("could not be decrypted"), "{reason}");
    let skipped = app
        .delete("/v2/users/u2/tokens/google?revoke=false", &app.admin_key)
        .await;
    assert_eq!(skipped.status, 200, "{}", skipped.body);
    assert_eq!(skipped.body["revocation"], "skipped");
    for user in ["u1", "u2"] {
        let gone = app
            .get(&format!("/v2/users/{user}/tokens/google"), &app.admin_key)
            .await;
        assert_eq!(gone.status, 404);
    }
}

#[actix_web::test]
async fn legacy_ciphertext_is_refused_when_so_configured() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/python_fernet.json")).unwrap();
    let secret = fixture["secret"].as_str().unwrap().to_string();
    let app = spawn_with(move |config| {
        config.encryption_keys = Some(secret.into());
        config.accept_legacy_ciphertext = false;
    })
    .await;
    let (user, key) = ("py-user", "legacy-openai");
    app.store(user, &api_key_body(key)).await;
    diesel::update(tokens::table.filter(tokens::user_id.eq(user)))
        .set(tokens::ciphertext.eq(fixture["legacy_ciphertext"].as_str().unwrap()))
        .execute(&mut app.db.connect())
        .unwrap();
    let got = app
        .get(&format!("/v2/users/{user}/tokens/{key}"), &app.admin_key)
        .await;
    assert_eq!(got.status, 500, "{}", got.body);
    assert_eq!(got.error(), "internal_error");
    // Bound credentials are served as ever.
    app.store("u2", &api_key_body(key)).await;
    let bound = app
        .get(&format!("/v2/users/u2/tokens/{key}"), &app.admin_key)
        .await;
    assert_eq!(bound.status, 200);
}

#[actix_web::test]
async fn concurrent_first_stores_of_one_credential_answer_one_201_and_the_rest_200() {
    const CLIENTS: usize = 8;
    const ROUNDS: usize = 40;
    let app = spawn().await;
    if app.db.is_postgres() {
        app.warm_pool(CLIENTS).await;
    }
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    for round in 0..ROUNDS {
        let user = format!("racer-{round}");
        let body = api_key_body("openai");
        let stores = (0..CLIENTS).map(|_| app.store(&user, &body));
        let answers = futures_util::future::join_all(stores).await;
        let created = answers.iter().filter(|r| r.status == 201).count();
        for answer in &answers {
            *statuses.entry(answer.status.as_u16()).or_default() += 1;
            assert!(
                answer.status == 201 || answer.status == 200,
                "round {round}: {} {}",
                answer.status,
                answer.body
            );
        }
        assert_eq!(created, 1, "round {round}: {created} stores said created");
    }
    eprintln!("{CLIENTS} concurrent first stores x {ROUNDS}: {statuses:?}");
}
