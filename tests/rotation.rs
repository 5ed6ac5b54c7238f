//! Encryption-key rotation: thousands of rows re-encrypted while a server writes, nothing lost,
//! everything readable with the new key alone; an interrupted run resumes; unreadable rows are
//! reported by identity.

mod common;

use common::{open_all, seed_credentials, spawn_with};
use serde_json::json;
use tokenvault::credentials::rotation::{Options, rotate};
use tokenvault::crypto::{Vault, generate_key};

fn vault(spec: &str) -> Vault {
    Vault::from_secrets(spec).unwrap()
}

#[actix_web::test]
async fn rotation_with_a_concurrent_writer_loses_nothing() {
    const ROWS: usize = 3000;
    let (old, new) = (generate_key(), generate_key());
    let app = spawn_with(|c| c.encryption_keys = Some(old.clone().into())).await;
    seed_credentials(&app.state.db, &vault(&old), ROWS);
    // The servers are redeployed with "new,old" first, then the rotation runs beside them.
    let both = format!("{new},{old}");
    let server = app
        .instance_with(|c| c.encryption_keys = Some(both.clone().into()))
        .await;

    let (db, rotating_vault) = (app.state.db.clone(), vault(&both));
    let rotation = actix_web::web::block(move || {
        rotate(
            &db,
            &rotating_vault,
            Options {
                batch_size: 100,
                limit: None,
            },
            &mut |_| {},
        )
    });
    let writer = async {
        for i in (0..ROWS).step_by(10) {
            let body = json!({"integration_key": "openai", "provider": "openai", "token_type": "api_key",
                              "token_data": {"api_key": format!("sk-new-{i}")}});
            let r = server
                .post(
                    &format!("/v2/users/u{i:05}/tokens"),
                    &server.admin_key,
                    &body,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    let (summary, ()) = futures_util::future::join(rotation, writer).await;
    let summary = summary.unwrap().unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    assert_eq!(summary.total, ROWS as u64);
    assert_eq!(summary.visited(), ROWS as u64);
    assert!(summary.reencrypted > 0);

    // Drop the old key: every row is readable, with its latest content.
    let rows = open_all(&app.state.db, &vault(&new));
    assert_eq!(rows.len(), ROWS);
    for (id, data) in rows {
        let i: usize = id.user_id[1..].parse().unwrap();
        let expected = if i.is_multiple_of(10) {
            format!("sk-new-{i}")
        } else {
            format!("sk-old-{i}")
        };
        assert_eq!(data, json!({"api_key": expected}), "{}", id.user_id);
    }
    // And the server, restarted with the new key only, serves them.
    let restarted = app
        .instance_with(|c| c.encryption_keys = Some(new.clone().into()))
        .await;
    let r = restarted
        .get("/v2/users/u00007/tokens/openai", &restarted.admin_key)
        .await;
    assert_eq!(r.body["token_data"]["api_key"], "sk-old-7");
}

#[actix_web::test]
async fn interrupted_rotation_resumes_where_it_stopped() {
    let (old, new) = (generate_key(), generate_key());
    let app = spawn_with(|c| c.encryption_keys = Some(old.clone().into())).await;
    seed_credentials(&app.state.db, &vault(&old), 1000);
    let both = vault(&format!("{new},{old}"));

    let mut reports = 0;
    let first = rotate(
        &app.state.db,
        &both,
        Options {
            batch_size: 150,
            limit: Some(400),
        },
        &mut |_| reports += 1,
    )
    .unwrap();
    assert!(first.interrupted);
    assert_eq!(first.reencrypted, 400);
    assert!(reports >= 3, "progress reported {reports} times");
    let readable = open_all(&app.state.db, &vault(&new));
    assert_eq!(readable.iter().filter(|(_, d)| !d.is_null()).count(), 400);

    let second = rotate(
        &app.state.db,
        &both,
        Options {
            batch_size: 150,
            limit: None,
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(!second.interrupted);
    assert_eq!((second.already_current, second.reencrypted), (400, 600));
    let readable = open_all(&app.state.db, &vault(&new));
    assert!(readable.iter().all(|(_, d)| !d.is_null()));
}

#[actix_web::test]
async fn unreadable_rows_are_reported_by_identity_without_contents() {
    let (old, new, foreign) = (generate_key(), generate_key(), generate_key());
    let app = spawn_with(|c| c.encryption_keys = Some(old.clone().into())).await;
    seed_credentials(&app.state.db, &vault(&old), 20);
    // One row under a key nobody configured.
    use diesel::prelude::*;
    use tokenvault::db::schema::tokens;
    let sealed = vault(&foreign).seal(
        &tokenvault::model::CredentialKey::parse(tokenvault::DEFAULT_TENANT, "u00003", "openai")
            .unwrap(),
        &json!({"api_key": "sk-FOREIGN-SECRET"}),
    );
    diesel::update(tokens::table.filter(tokens::user_id.eq("u00003")))
        .set(tokens::ciphertext.eq(sealed))
        .execute(&mut app.db.connect())
        .unwrap();

    let summary = rotate(
        &app.state.db,
        &vault(&format!("{new},{old}")),
        Options {
            batch_size: 7,
            limit: None,
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.reencrypted, 19);
    assert_eq!(summary.failed.len(), 1);
    let (id, why) = &summary.failed[0];
    assert_eq!(id.user_id, "u00003");
    assert!(why.contains("u00003") && !why.contains("SECRET"), "{why}");
}
