//! Database faults injected for real, through a TCP proxy the test breaks (black hole, refusal,
//! reset as in a restart, a row lock held elsewhere), plus the refresh paths that must not lose
//! a provider's answer. The proxy needs PostgreSQL; on SQLite those tests say so and skip.
//! Timings are printed for the record; the bounds asserted are the promises (≤ 2 s, ≤ 1 s).

mod common;

use std::time::{Duration, Instant};

use common::fault_proxy::{FaultProxy, through};
use common::oauth_mock::{MockProvider, Reply};
use common::{TestApp, TestDb, api_key_body, expiring_body};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;
use tokenvault::db::DatabaseUrl;
use tokenvault::db::schema::tokens;

/// The app on PostgreSQL through a fault proxy (None on SQLite).
async fn behind_proxy(mock: Option<&MockProvider>) -> Option<(TestApp, FaultProxy)> {
    let db = TestDb::new();
    let DatabaseUrl::Postgres(direct) = db.url.clone() else {
        eprintln!("skipped: needs TEST_DATABASE_URL=postgres://…");
        return None;
    };
    let proxy = FaultProxy::postgres().await;
    let proxied = through(&direct, proxy.addr);
    let mut builder = TestApp::new().backend(db).config(move |c| {
        c.database = DatabaseUrl::Postgres(proxied);
        c.refresh_cooldown = Duration::ZERO;
    });
    if let Some(mock) = mock {
        builder = builder.with_provider(mock);
    }
    Some((builder.start().await, proxy))
}

/// Calls until `path` answers 200; the time it took.
async fn time_to_recovery(app: &TestApp, path: &str) -> Duration {
    let started = Instant::now();
    while app.get(path, &app.admin_key).await.status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never recovered"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[actix_web::test]
async fn black_holed_database_answers_503_in_bounded_time_and_recovers() {
    let Some((app, proxy)) = behind_proxy(None).await else {
        return;
    };
    app.store("u1", &api_key_body("openai")).await;
    app.warm_pool(4).await;
    proxy.black_hole();
    let mut longest = Duration::ZERO;
    for _ in 0..3 {
        for path in [
            "/v2/users/u1/tokens/openai",
            "/v2/users/u1/tokens",
            "/readyz",
        ] {
            let started = Instant::now();
            let r = app.get(path, &app.admin_key).await;
            let took = started.elapsed();
            longest = longest.max(took);
            let bound = if path == "/readyz" { 1 } else { 2 };
            assert!(took <= Duration::from_secs(bound), "{path} took {took:?}");
            assert_eq!(r.status, 503, "{path}: {}", r.body);
            assert_eq!(r.error(), "database_unavailable", "{path}");
            assert!(r.headers.contains_key("retry-after"), "{path}");
        }
        let started = Instant::now();
        let r = app
            .post("/v2/users/u1/tokens", &app.admin_key, &api_key_body("x"))
            .await;
        longest = longest.max(started.elapsed());
        assert_eq!(r.status, 503, "{}", r.body);
    }
    proxy.restore().await;
    let recovery = time_to_recovery(&app, "/v2/users/u1/tokens/openai").await;
    eprintln!("black hole: longest request {longest:?}, recovery {recovery:?}");
    assert!(
        recovery <= Duration::from_secs(1),
        "recovery took {recovery:?}"
    );
}

#[actix_web::test]
async fn first_request_after_a_database_restart_succeeds() {
    let Some((app, proxy)) = behind_proxy(None).await else {
        return;
    };
    app.store("u1", &api_key_body("openai")).await;
    app.warm_pool(4).await;
    let (open, _) = app.state.db.pool_state();
    assert!(open >= 2, "the test needs idle connections to go stale");
    // Every connection dies at once, as when PostgreSQL restarts; the app has not noticed.
    proxy.reset_all();
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    let r = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(r.status, 200, "first request after the restart: {}", r.body);
    assert_eq!(r.body["token_data"]["api_key"], "sk-OPENAI-SECRET");
}

#[actix_web::test]
async fn a_row_locked_elsewhere_answers_server_busy_not_a_hang() {
    let Some((app, _proxy)) = behind_proxy(None).await else {
        return;
    };
    app.store("u1", &api_key_body("openai")).await;
    let mut holder = app.db.connect();
    holder
        .batch_execute(
            "BEGIN; SELECT * FROM tokens WHERE user_id = 'u1' AND integration_key = 'openai' FOR UPDATE",
        )
        .unwrap();
    let started = Instant::now();
    let r = app
        .post(
            "/v2/users/u1/tokens",
            &app.admin_key,
            &api_key_body("openai"),
        )
        .await;
    let took = started.elapsed();
    eprintln!("lock wait: answered {} in {took:?}", r.status);
    assert!(took <= Duration::from_secs(2), "took {took:?}");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.error(), "server_busy");
    assert!(r.headers.contains_key("retry-after"));
    // Reads do not wait for the lock.
    let read = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(read.status, 200);
    holder.batch_execute("ROLLBACK").unwrap();
    let r = app
        .post(
            "/v2/users/u1/tokens",
            &app.admin_key,
            &api_key_body("openai"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[actix_web::test]
async fn rotated_refresh_token_survives_a_database_outage_after_the_provider_answered() {
    let mock = MockProvider::start().await;
    mock.reply(Reply::Success {
        rotate: true,
        expires_in: Some(3600),
    });
    mock.delay(Duration::from_millis(400));
    let Some((app, proxy)) = behind_proxy(Some(&mock)).await else {
        return;
    };
    app.store("u1", &expiring_body("google", "google", 60))
        .await;
    let path = "/v2/users/u1/tokens/google";
    let (get, cut) = tokio::join!(app.get(path, &app.admin_key), async {
        // The database goes away while the provider is answering.
        while mock.token_calls() == 0 {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        proxy.refuse();
    });
    let () = cut;
    assert_eq!(get.status, 200, "{}", get.body);
    assert_eq!(get.body["refreshed"], true);
    assert_eq!(get.body["token_data"]["refresh_token"], "1//ROTATED-1");

    // The database comes back; the result lands without another provider call.
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    proxy.restore().await;
    let direct = &mut app.db.connect();
    let started = Instant::now();
    while tokens::table
        .select(tokens::version)
        .first::<i64>(direct)
        .unwrap()
        < 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "refresh result never written"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "refresh result written {:?} after the database came back",
        started.elapsed()
    );
    let after = app.get(path, &app.admin_key).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.body["refreshed"], false);
    assert_eq!(after.body["token_data"]["refresh_token"], "1//ROTATED-1");
    assert_eq!(after.body["token_data"]["access_token"], "ya29.NEW-1");
    assert_eq!(
        mock.token_calls(),
        1,
        "refresh tokens lost: the provider was asked again"
    );
    let events = app.get(&format!("{path}/events"), &app.admin_key).await;
    assert_eq!(events.body[0]["event"], "refresh");
    assert_eq!(events.body[0]["outcome"], "success");
}

#[actix_web::test]
async fn acknowledged_writes_survive_an_outage_under_load() {
    let Some((app, proxy)) = behind_proxy(None).await else {
        return;
    };
    let writers = 6;
    let write_all = |writer: usize| {
        let app = &app;
        async move {
            let mut acknowledged = None;
            let started = Instant::now();
            let mut seq = 0u32;
            while started.elapsed() < Duration::from_millis(2500) {
                seq += 1;
                let mut body = api_key_body(&format!("k{writer}"));
                body["token_data"]["api_key"] = json!(format!("sk-{writer}-{seq}"));
                let r = app
                    .post(
                        &format!("/v2/users/u{writer}/tokens"),
                        &app.admin_key,
                        &body,
                    )
                    .await;
                if r.status.is_success() {
                    acknowledged = Some(seq);
                } else {
                    assert_eq!(r.status, 503, "{}", r.body);
                    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                }
            }
            (writer, acknowledged, seq)
        }
    };
    let outage = async {
        actix_web::rt::time::sleep(Duration::from_millis(600)).await;
        proxy.refuse();
        actix_web::rt::time::sleep(Duration::from_millis(800)).await;
        proxy.restore().await;
    };
    let (results, ()) = tokio::join!(
        futures_util::future::join_all((0..writers).map(write_all)),
        outage
    );
    let mut checked = 0;
    for (writer, acknowledged, last) in results {
        let acknowledged = acknowledged.expect("some write was acknowledged");
        let r = app
            .get(
                &format!("/v2/users/u{writer}/tokens/k{writer}"),
                &app.admin_key,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let stored = r.body["token_data"]["api_key"]
            .as_str()
            .unwrap()
            .to_string();
        let seq: u32 = stored.rsplit('-').next().unwrap().parse().unwrap();
        // The last acknowledged write, or one sent after it (committed, acknowledgement lost).
        assert!(
            seq >= acknowledged && seq <= last,
            "writer {writer}: stored {seq}, last acknowledged {acknowledged}"
        );
        checked += 1;
    }
    eprintln!("outage under load: {checked} writers checked, 0 acknowledged writes lost");
}

#[actix_web::test]
async fn lease_waiter_with_a_still_valid_token_is_served_within_two_seconds() {
    let mock = MockProvider::start().await;
    let app = TestApp::new().with_provider(&mock).start().await;
    app.store("u1", &expiring_body("google", "google", 120))
        .await;
    // Another instance took the lease and died without releasing it.
    let until = app.state.clock.now_millis() + 60_000;
    diesel::update(tokens::table)
        .set((
            tokens::refresh_lease_owner.eq("inst_dead"),
            tokens::refresh_lease_until.eq(until),
        ))
        .execute(&mut app.db.connect())
        .unwrap();
    let started = Instant::now();
    let r = app.get("/v2/users/u1/tokens/google", &app.admin_key).await;
    let took = started.elapsed();
    eprintln!("lease waiter with a valid token served in {took:?}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refreshed"], false);
    assert_eq!(r.body["token_data"]["access_token"], "ya29.ACCESS-SECRET-1");
    assert!(took <= Duration::from_millis(2500), "took {took:?}");
    assert_eq!(mock.token_calls(), 0);
}

#[actix_web::test]
async fn a_key_that_does_not_open_the_data_refuses_to_start() {
    let app = TestApp::new().start().await;
    app.store("u1", &api_key_body("openai")).await;
    let mut config = app.state.config.clone();
    config.encryption_keys = Some(tokenvault::crypto::generate_key().into());
    let refused = actix_web::web::block(move || tokenvault::prepare(config).map(|_| ()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("does not match the data"), "{refused}");
    assert!(!refused.contains('\n'), "one line: {refused}");
    // The right key, or a list holding it, still starts.
    let mut config = app.state.config.clone();
    let right = config.encryption_keys.clone().unwrap().into_inner();
    config.encryption_keys = Some(format!("{},{right}", tokenvault::crypto::generate_key()).into());
    actix_web::web::block(move || tokenvault::prepare(config).map(|_| ()))
        .await
        .unwrap()
        .unwrap();
}

#[actix_web::test]
async fn a_lost_sqlite_key_file_next_to_data_refuses_to_start() {
    let db = TestDb::new();
    let Some(dir) = db.dir().map(std::path::Path::to_path_buf) else {
        eprintln!("skipped: the key file exists only with SQLite");
        return;
    };
    let app = TestApp::new()
        .backend(db)
        .config(|c| c.encryption_keys = None)
        .start()
        .await;
    app.store("u1", &api_key_body("openai")).await;
    let key_file = dir.join(tokenvault::crypto::KEY_FILE_NAME);
    std::fs::remove_file(&key_file).unwrap();
    let config = app.state.config.clone();
    let refused = actix_web::web::block(move || tokenvault::prepare(config).map(|_| ()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("missing"), "{refused}");
    assert!(
        !key_file.exists(),
        "a new key was generated over existing data"
    );
}

/// Issue 20, item 1: instance A has the provider's answers (rotated refresh tokens) in memory
/// and retries writing them through a 40-second outage; instance B sees the database again
/// first. B must not take over A's leases and send the superseded refresh tokens (the provider
/// would answer `invalid_grant` and the credentials would die): it serves the current tokens
/// until A's writes land.
#[actix_web::test]
async fn an_outage_longer_than_the_provider_timeout_sends_no_superseded_token() {
    const COUNT: usize = 10;
    let mock = MockProvider::start().await;
    mock.reply(Reply::Rotating);
    mock.delay(Duration::from_millis(300));
    let Some((a, proxy)) = behind_proxy(Some(&mock)).await else {
        return;
    };
    let DatabaseUrl::Postgres(direct) = a.db.url.clone() else {
        return;
    };
    let b = a
        .instance_with(|c| c.database = DatabaseUrl::Postgres(direct))
        .await;
    for i in 0..COUNT {
        let mut body = expiring_body(&format!("g{i}"), "google", 120);
        body["token_data"]["refresh_token"] = json!(format!("1//FAMILY-{i}"));
        a.store("u1", &body).await;
    }
    let paths: Vec<String> = (0..COUNT)
        .map(|i| format!("/v2/users/u1/tokens/g{i}"))
        .collect();
    // A refreshes all of them; the database goes away while the provider answers.
    let gets = futures_util::future::join_all(paths.iter().map(|p| a.get(p, &a.admin_key)));
    let (answers, ()) = tokio::join!(gets, async {
        while mock.token_calls() < COUNT {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        proxy.refuse();
    });
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["refreshed"], true, "{}", answer.body);
    }
    // Forty seconds of outage pass (well past the provider timeout and its margin); the
    // database comes back for B first.
    a.advance(Duration::from_secs(40));
    let gets = futures_util::future::join_all(paths.iter().map(|p| b.get(p, &b.admin_key)));
    for answer in gets.await {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["status"], "active", "{}", answer.body);
    }
    assert_eq!(
        mock.superseded_sent(),
        0,
        "a superseded refresh token was sent"
    );
    assert_eq!(mock.token_calls(), COUNT);
    // Then for A: its retried writes land, and every credential holds its rotated token.
    proxy.restore().await;
    let started = Instant::now();
    loop {
        let written: i64 = tokens::table
            .filter(tokens::version.ge(2))
            .count()
            .get_result(&mut a.db.connect())
            .unwrap();
        if written == COUNT as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{written} written"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    for path in &paths {
        let got = b.get(path, &b.admin_key).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.body["status"], "active");
        let refresh = got.body["token_data"]["refresh_token"].as_str().unwrap();
        assert!(refresh.starts_with("1//ROT-"), "{}", got.body);
    }
    assert_eq!(
        mock.superseded_sent(),
        0,
        "a superseded refresh token was sent"
    );
    assert_eq!(mock.token_calls(), COUNT, "refreshed again");
}
