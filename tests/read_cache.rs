//! The read cache (DESIGN.md "Read path at memory speed"): GETs are answered from sealed rows in
//! memory, and no instance serves a replaced, refreshed, invalid or deleted credential once the
//! writing transaction's notification reached it (PostgreSQL), or at all after another
//! connection's commit (SQLite, `PRAGMA data_version`).

mod common;

use std::time::Duration;

use common::fault_proxy::{FaultProxy, through};
use common::oauth_mock::{MockProvider, Reply};
use common::{TestApp, TestDb, api_key_body, expiring_body};
use serde_json::json;
use tokenvault::credentials::cache::Cached;

const GOOGLE: &str = "/v2/users/u1/tokens/google";

fn key(user: &str, integration: &str) -> tokenvault::model::CredentialKey {
    tokenvault::model::CredentialKey::stored(tokenvault::DEFAULT_TENANT, user, integration)
}

/// Reads `path` on `app` until its cache answers it; the body served.
async fn warm(app: &TestApp, path: &str, user: &str, integration: &str) -> serde_json::Value {
    let cache = app.state.credentials.cache().expect("the read cache is on");
    app.until_cache_live().await;
    let first = app.get(path, &app.admin_key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // On SQLite the first request's own write (the key's last use) empties the cache once.
    let mut reads = 1;
    while !cache.holds(&key(user, integration)) {
        assert!(reads < 3, "{reads} GETs and the row is still not kept");
        let again = app.get(path, &app.admin_key).await;
        assert_eq!(again.body["token_data"], first.body["token_data"]);
        reads += 1;
    }
    first.body
}

/// On PostgreSQL: instance A, and instance B reaching the database through a fault proxy, with
/// u1's openai API key stored by A and held in B's cache.
async fn behind_a_proxy() -> Option<(FaultProxy, TestApp, TestApp)> {
    let db = TestDb::new();
    let tokenvault::db::DatabaseUrl::Postgres(direct_url) = db.url.clone() else {
        return None;
    };
    let proxy = FaultProxy::postgres().await;
    let proxied = through(&direct_url, proxy.addr);
    // Webhooks to a local address are allowed (the subscription tests register one).
    let a = TestApp::new()
        .backend(db)
        .config(|c| c.health.webhook_allow_private = true)
        .start()
        .await;
    let b = a
        .instance_with(move |config| {
            config.database = tokenvault::db::DatabaseUrl::Postgres(proxied);
        })
        .await;
    a.store("u1", &api_key_body("openai")).await;
    warm(&b, "/v2/users/u1/tokens/openai", "u1", "openai").await;
    Some((proxy, a, b))
}

/// Stores a new version of u1's openai key on `app`: `sk-REPLACED`.
async fn replace_openai(app: &TestApp) {
    let mut replaced = api_key_body("openai");
    replaced["token_data"]["api_key"] = json!("sk-REPLACED");
    assert_eq!(app.store("u1", &replaced).await.status, 200);
}

fn percentile(lags: &mut [Duration], p: usize) -> Duration {
    lags.sort();
    let at = (lags.len().saturating_sub(1) * p) / 100;
    lags.get(at).copied().unwrap_or_default()
}

#[actix_web::test]
async fn a_write_on_one_instance_is_never_served_old_by_another_after_its_notification() {
    let mock = MockProvider::start().await;
    let a = TestApp::new().with_provider(&mock).start().await;
    let b = a.second_instance().await;
    let mut lags = Vec::new();

    // Store-replace.
    a.store("u1", &expiring_body("google", "google", 3600))
        .await;
    warm(&b, GOOGLE, "u1", "google").await;
    let mut replaced = expiring_body("google", "google", 3600);
    replaced["token_data"]["access_token"] = json!("ya29.REPLACED");
    assert_eq!(a.store("u1", &replaced).await.status, 200);
    lags.push(b.until_uncached("u1", "google").await);
    let read = b.get(GOOGLE, &b.admin_key).await;
    assert_eq!(read.body["token_data"]["access_token"], "ya29.REPLACED");

    // Refresh on A.
    warm(&b, GOOGLE, "u1", "google").await;
    let refresh = format!("{GOOGLE}/refresh");
    let refreshed = a.post(&refresh, &a.admin_key, &json!({})).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    lags.push(b.until_uncached("u1", "google").await);
    let read = b.get(GOOGLE, &b.admin_key).await;
    assert_eq!(read.body["token_data"]["access_token"], "ya29.NEW-1");
    assert_eq!(read.body["refreshed"], false);

    // The provider rejects the grant on A: B answers 410 from then on.
    warm(&b, GOOGLE, "u1", "google").await;
    a.advance(Duration::from_secs(60)); // past the forced-refresh interval
    mock.reply(Reply::OAuthError(400, "invalid_grant"));
    assert_eq!(a.post(&refresh, &a.admin_key, &json!({})).await.status, 410);
    lags.push(b.until_uncached("u1", "google").await);
    assert_eq!(b.get(GOOGLE, &b.admin_key).await.status, 410);

    // Stored again, then deleted on A: B answers 404.
    a.store("u1", &expiring_body("google", "google", 3600))
        .await;
    lags.push(b.until_uncached("u1", "google").await);
    warm(&b, GOOGLE, "u1", "google").await;
    let deleted = a
        .delete(&format!("{GOOGLE}?revoke=false"), &a.admin_key)
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    lags.push(b.until_uncached("u1", "google").await);
    assert_eq!(b.get(GOOGLE, &b.admin_key).await.status, 404);

    let max = lags.iter().max().copied().unwrap_or_default();
    let p50 = percentile(&mut lags, 50);
    eprintln!("invalidation lag on the other instance: p50 {p50:?}, max {max:?}");
    assert!(
        max < Duration::from_secs(1),
        "the promise is ≤ 1 s: {max:?}"
    );
}

#[actix_web::test]
async fn sqlite_serves_nothing_another_connection_changed_not_even_for_a_moment() {
    let app = common::spawn().await;
    if app.db.is_postgres() {
        eprintln!("skipped: PostgreSQL's bound is the notification (the test above)");
        return;
    }
    app.store("u1", &api_key_body("openai")).await;
    let path = "/v2/users/u1/tokens/openai";
    warm(&app, path, "u1", "openai").await;
    // Another connection, as `tokenvault reap` or `rotate-key` in another process would be.
    app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::tokens;
        diesel::update(tokens::table.filter(tokens::integration_key.eq("openai")))
            .set(tokens::scopes.eq(r#"["changed"]"#))
            .execute(conn)?;
        Ok(())
    });
    // No wait at all: the next read sees the change.
    let read = app.get(path, &app.admin_key).await;
    assert_eq!(read.body["scopes"], json!(["changed"]), "{}", read.body);
    app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::tokens;
        diesel::delete(tokens::table).execute(conn)?;
        Ok(())
    });
    assert_eq!(app.get(path, &app.admin_key).await.status, 404);
}

#[actix_web::test]
async fn a_listener_reset_drops_the_cache_and_nothing_old_is_served_after_it() {
    let Some((proxy, a, b)) = behind_a_proxy().await else {
        eprintln!("skipped: the listener exists on PostgreSQL only");
        return;
    };
    let path = "/v2/users/u1/tokens/openai";

    // Every connection of B, its listener's among them, is reset; A writes meanwhile, so its
    // notification is lost to B.
    proxy.reset_all();
    replace_openai(&a).await;
    let dropped = b.until_uncached("u1", "openai").await;
    eprintln!("cache dropped {dropped:?} after the listener's reset");
    // From here on, B answers the new version (or 503 while it reconnects), never the old.
    for _ in 0..20 {
        let read = b.get(path, &b.admin_key).await;
        match read.status.as_u16() {
            200 => assert_eq!(read.body["token_data"]["api_key"], "sk-REPLACED"),
            503 => {}
            other => panic!("unexpected {other}: {}", read.body),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let read = b.get(path, &b.admin_key).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["token_data"]["api_key"], "sk-REPLACED");
}

#[actix_web::test]
async fn a_black_holed_listener_stops_the_cache_being_trusted_within_its_bound() {
    let Some((proxy, a, b)) = behind_a_proxy().await else {
        eprintln!("skipped: the listener exists on PostgreSQL only");
        return;
    };
    let path = "/v2/users/u1/tokens/openai";

    proxy.black_hole();
    replace_openai(&a).await;
    // A silent listener is trusted at most 3 s past its last proof of life (a second apart).
    let bypassed = b
        .until_uncached_within("u1", "openai", Duration::from_secs(6))
        .await;
    eprintln!("cache bypassed {bypassed:?} after the listener went silent");
    // The database is unreachable for B: 503, never the old token.
    let read = b.get(path, &b.admin_key).await;
    assert_eq!(read.status, 503, "{}", read.body);
    proxy.restore().await;
}

#[actix_web::test]
async fn the_cache_stays_within_its_entry_and_byte_bounds() {
    let app = common::spawn_with(|config| {
        config.read_cache.max_entries = 64;
        config.read_cache.max_mb = 1;
    })
    .await;
    app.until_cache_live().await;
    for n in 0..300 {
        app.store(&format!("u{n}"), &api_key_body("openai")).await;
    }
    // Twice: a store's own notification may still evict what the first round kept.
    for _ in 0..2 {
        for n in 0..300 {
            let path = format!("/v2/users/u{n}/tokens/openai");
            assert_eq!(app.get(&path, &app.admin_key).await.status, 200);
        }
    }
    let cache = app.state.credentials.cache().expect("the read cache is on");
    let (entries, bytes) = cache.size();
    eprintln!("300 credentials read: {entries} entries, {bytes} bytes held");
    assert!((32..=64).contains(&entries), "{entries} entries");
    assert!(bytes <= 1024 * 1024, "{bytes} bytes");
}

#[actix_web::test]
async fn turned_off_it_holds_nothing_and_every_read_goes_to_the_database() {
    let app = common::spawn_with(|config| config.read_cache.enabled = false).await;
    app.store("u1", &api_key_body("openai")).await;
    let read = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(read.status, 200);
    assert!(app.state.credentials.cache().is_none());
}

/// Whether a `credential.connected` write on `app` would skip reading the default tenant's
/// webhooks: its subscription cache knows that no endpoint receives it.
fn skips_connected(app: &TestApp) -> bool {
    let event = tokenvault::model::WebhookEvent::Connected;
    app.state
        .db
        .subscriptions()
        .skips(tokenvault::DEFAULT_TENANT, event)
}

/// Registers a webhook on `app` for every event (nothing listens there: only the outbox is
/// looked at); its id and how long the registration took to answer.
async fn register_webhook(app: &TestApp) -> (String, Duration) {
    let started = std::time::Instant::now();
    let url = json!({ "url": "http://127.0.0.1:9/hook" });
    let created = app.post("/v2/webhooks", &app.admin_key, &url).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    (id, started.elapsed())
}

/// The users whose `credential.connected` messages wait in a webhook's outbox.
async fn connected_users(app: &TestApp, webhook: &str) -> Vec<String> {
    let path = format!("/v2/webhooks/{webhook}/deliveries?limit=100");
    let listed = app.get(&path, &app.admin_key).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mut users: Vec<String> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event_type"] == "credential.connected")
        .map(|d| {
            d["payload"]["data"]["user_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    users.sort();
    users
}

/// Stores u's openai key on `app`, again while the database answers 503 (its connections were
/// just reset): at most 5 s.
async fn store_retrying(app: &TestApp, user: &str) {
    let path = format!("/v2/users/{user}/tokens");
    for _ in 0..50 {
        let stored = app
            .post(&path, &app.admin_key, &api_key_body("openai"))
            .await;
        if stored.status != 503 {
            assert_eq!(stored.status, 201, "{}", stored.body);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store still answers 503 after 5 s");
}

#[actix_web::test]
async fn a_webhook_registered_on_one_instance_is_never_missed_by_another() {
    let Some((proxy, a, b)) = behind_a_proxy().await else {
        eprintln!("skipped: subscriptions are cached on PostgreSQL only");
        return;
    };
    // B has learned that the tenant has no webhook: its stores read nothing about them.
    assert_eq!(b.store("u2", &api_key_body("openai")).await.status, 201);
    assert!(skips_connected(&b), "B's subscription cache is not in use");

    // The worst case: B's notification of the new endpoint is lost on the way (its database
    // link black-holed while A registers), and B stores right after A's answer.
    proxy.black_hole();
    let (webhook, took) = register_webhook(&a).await;
    eprintln!("registration answered after {took:?}");
    // By the answer, B has stopped trusting what it cached (its listener unproven too long),
    // before anything else (the restore below resets its connections) tells it.
    assert!(
        !skips_connected(&b),
        "B still trusts a cache that may not know the endpoint"
    );
    proxy.restore().await;
    store_retrying(&b, "u3").await;
    assert_eq!(connected_users(&a, &webhook).await, ["u3"]);

    // The usual case: B hears of changes within milliseconds and keeps caching.
    a.delete(&format!("/v2/webhooks/{webhook}"), &a.admin_key)
        .await;
    let started = std::time::Instant::now();
    for n in 0.. {
        // Writes with no webhook left teach B that nobody listens again.
        b.store(&format!("quiet{n}"), &api_key_body("openai")).await;
        if skips_connected(&b) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B never caches again"
        );
    }
    let (webhook, _) = register_webhook(&a).await;
    assert_eq!(b.store("u4", &api_key_body("openai")).await.status, 201);
    assert_eq!(connected_users(&a, &webhook).await, ["u4"]);
}

#[actix_web::test]
async fn a_webhook_deleted_on_one_instance_gets_no_message_from_another() {
    let Some((_proxy, a, b)) = behind_a_proxy().await else {
        eprintln!("skipped: subscriptions are cached on PostgreSQL only");
        return;
    };
    let (webhook, _) = register_webhook(&a).await;
    assert_eq!(b.store("u2", &api_key_body("openai")).await.status, 201);
    assert_eq!(connected_users(&a, &webhook).await, ["u2"]);
    let deleted = a
        .delete(&format!("/v2/webhooks/{webhook}"), &a.admin_key)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    // At once, before B may have heard: B's cache knows some endpoint receives the event, so
    // it reads the endpoints in its transaction and finds none.
    assert_eq!(b.store("u3", &api_key_body("openai")).await.status, 201);
    let orphans: i64 = a.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::webhook_messages::dsl;
        Ok(dsl::webhook_messages
            .filter(dsl::webhook_id.eq(&webhook))
            .count()
            .get_result(conn)?)
    });
    assert_eq!(orphans, 0, "a message was written for a deleted endpoint");
}

/// Keys of `app`'s cache holding a row whose ciphertext is not the database's now.
fn stale_in_cache(app: &TestApp, users: &[String]) -> Vec<String> {
    let cache = app.state.credentials.cache().expect("the read cache is on");
    assert!(cache.trusted(), "the cache is not in use: nothing to check");
    let stored: std::collections::HashMap<String, String> = app.with_conn(|conn| {
        use diesel::prelude::*;
        use tokenvault::db::schema::tokens;
        Ok(tokens::table
            .select((tokens::user_id, tokens::ciphertext))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect())
    });
    users
        .iter()
        .filter(|user| match cache.get(&key(user, "openai")).0 {
            Cached::Hit { row, .. } => stored.get(user.as_str()) != Some(&row.ciphertext),
            Cached::Miss(_) => false,
        })
        .cloned()
        .collect()
}

/// Reads every user's openai key on `app`: 200 and `sk-<n>` each.
async fn read_all(app: &TestApp, users: &[String]) {
    for (n, user) in users.iter().enumerate() {
        let path = format!("/v2/users/{user}/tokens/openai");
        let read = app.get(&path, &app.admin_key).await;
        assert_eq!(read.status, 200, "{}", read.body);
        assert_eq!(read.body["token_data"]["api_key"], format!("sk-{n}"));
    }
}

#[actix_web::test]
async fn rotate_key_in_another_process_while_reads_are_served() {
    let (old, new) = (
        tokenvault::crypto::generate_key(),
        tokenvault::crypto::generate_key(),
    );
    // The servers seal with the old key and open both, as during a rotation.
    let both_old_first = format!("{old},{new}");
    let a = common::spawn_with(|c| c.encryption_keys = Some(both_old_first.into())).await;
    // The reads go to another instance than the one that stored.
    let b = a.second_instance().await;
    let users: Vec<String> = (0..40).map(|n| format!("u{n:02}")).collect();
    for (n, user) in users.iter().enumerate() {
        let mut body = api_key_body("openai");
        body["token_data"]["api_key"] = json!(format!("sk-{n}"));
        a.store(user, &body).await;
    }
    b.until_cache_live().await;
    read_all(&b, &users).await;
    for user in &users[..5] {
        let path = format!("/v2/users/{user}/tokens/openai");
        warm(&b, &path, user, "openai").await;
    }

    let mut rotation = common::tokenvault_command(&a.db, &format!("{new},{old}"));
    rotation.args(["rotate-key", "--batch-size", "7"]);
    let running = actix_web::rt::task::spawn_blocking(move || rotation.output());
    let mut rounds = 0;
    while !running.is_finished() {
        read_all(&b, &users).await;
        rounds += 1;
    }
    let out = running.await.unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{rounds} rounds of reads during the rotation");

    // Once the rotation's notifications are in (SQLite: at once), nothing cached is older than
    // the database.
    let started = std::time::Instant::now();
    loop {
        let stale = stale_in_cache(&b, &users);
        if stale.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still cached with the old ciphertext after 1 s: {stale:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("cache true {:?} after rotate-key exited", started.elapsed());
    read_all(&b, &users).await;
}

/// This process's resident memory, in bytes (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[actix_web::test]
async fn two_hundred_thousand_credentials_read_once_stay_within_the_memory_cap() {
    const CREDENTIALS: usize = 200_000;
    const CAP_MB: usize = 8;
    let app = common::spawn_with(|c| c.read_cache.max_mb = CAP_MB).await;
    let vault = tokenvault::crypto::Vault::from_secrets(
        app.state.config.encryption_keys.as_ref().unwrap().as_str(),
    )
    .unwrap();
    common::seed_credentials(&app.state.db, &vault, CREDENTIALS);
    app.until_cache_live().await;
    let cache = app.state.credentials.cache().expect("the read cache is on");
    let before = resident_bytes();
    let mut peak = before;
    let users: Vec<usize> = (0..CREDENTIALS).collect();
    let app = &app;
    for chunk in users.chunks(2_000) {
        let reads = chunk.iter().map(|i| {
            let path = format!("/v2/users/u{i:05}/tokens/openai");
            async move { (app.get(&path, &app.admin_key).await, *i) }
        });
        for (read, i) in futures_util::future::join_all(reads).await {
            assert_eq!(read.status, 200, "{}", read.body);
            assert_eq!(read.body["token_data"]["api_key"], format!("sk-old-{i}"));
        }
        peak = peak.max(resident_bytes());
    }
    let (entries, bytes) = cache.size();
    let grown_mb = peak.saturating_sub(before) / (1024 * 1024);
    eprintln!(
        "{CREDENTIALS} credentials read once: cache {entries} entries, {bytes} bytes; \
         resident {} MB before, peak {} MB (+{grown_mb} MB) with a {CAP_MB} MB cap",
        before / (1024 * 1024),
        peak / (1024 * 1024),
    );
    assert!(
        bytes <= (CAP_MB * 1024 * 1024) as u64,
        "{bytes} bytes cached"
    );
    assert!(entries > 1_000, "the cache kept next to nothing: {entries}");
    // Unbounded, the rows alone would take ~100 MB; the process may grow by the cap and the
    // allocator's slack, no more. Only where the test has its process to itself (nextest).
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("resident memory not asserted: other tests share this process");
        return;
    }
    assert!(
        grown_mb <= (CAP_MB as u64) + 24,
        "resident memory grew by {grown_mb} MB with a {CAP_MB} MB cap"
    );
}

#[actix_web::test]
async fn a_credential_read_often_is_renewed_in_the_background_before_its_ttl() {
    let app = common::spawn().await;
    // SQLite renews nothing: a miss there is an in-process read (checked below).
    let renews = app.db.is_postgres();
    // A user of its own: on PostgreSQL, tests share the notification channel.
    let path = "/v2/users/renewal-u1/tokens/openai";
    app.store("renewal-u1", &api_key_body("openai")).await;
    let cache = app.state.credentials.cache().expect("the read cache is on");
    // Warm, until the store's own notification (PostgreSQL) has come and gone.
    for round in 0.. {
        warm(&app, path, "renewal-u1", "openai").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        if cache.holds(&key("renewal-u1", "openai")) {
            break;
        }
        assert!(round < 20, "the entry never stays");
    }

    // Past three quarters of the 30 s TTL: served from memory, and read again off the request.
    app.advance(Duration::from_secs(23));
    assert!(cache.holds(&key("renewal-u1", "openai")));
    let read = app.get(path, &app.admin_key).await;
    assert_eq!(read.status, 200, "{}", read.body);
    // Past the first read's TTL: only a renewed entry is still held.
    app.advance(Duration::from_secs(10));
    if !renews {
        assert!(!cache.holds(&key("renewal-u1", "openai")));
        return;
    }
    let started = std::time::Instant::now();
    while !cache.holds(&key("renewal-u1", "openai")) {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the entry was not renewed before its TTL (cache trusted: {})",
            cache.trusted()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Not read since: it expires at its own TTL.
    app.advance(Duration::from_secs(31));
    assert!(!cache.holds(&key("renewal-u1", "openai")));
}
