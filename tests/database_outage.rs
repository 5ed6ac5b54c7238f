//! PostgreSQL going away: requests answer 503 `database_unavailable` promptly (never a hang), and
//! the service recovers by itself when the database is back. The database is reached through a
//! local TCP proxy the test can cut and restore.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::fault_proxy::{FaultProxy, through};
use common::{TestApp, TestDb, api_key_body};

#[actix_web::test]
async fn database_outage_answers_503_fast_and_recovers() {
    let db = TestDb::new();
    let tokenvault::db::DatabaseUrl::Postgres(direct_url) = db.url.clone() else {
        eprintln!("skipped: the outage test needs TEST_DATABASE_URL=postgres://…");
        return;
    };
    let target: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), target).await;
    let proxy_addr = proxy.addr;
    let proxied = through(&direct_url, proxy_addr);

    let app = TestApp::new()
        .backend(db)
        .config(move |config| {
            config.database = tokenvault::db::DatabaseUrl::Postgres(proxied);
            // The database path itself is under test (tests/read_cache.rs: the cache's).
            config.read_cache.enabled = false;
        })
        .start()
        .await;
    app.store("u1", &api_key_body("openai")).await;
    // Earlier load leaves several idle pooled connections, all of which the outage kills.
    app.warm_pool(6).await;
    assert_eq!(
        app.get("/v2/users/u1/tokens/openai", &app.admin_key)
            .await
            .status,
        200
    );
    let (open, _) = app.state.db.pool_state();
    assert!(
        open >= 4,
        "only {open} pooled connections: the test needs several to be stale"
    );

    proxy.stop();
    for path in [
        "/v2/users/u1/tokens/openai",
        "/v2/users/u1/tokens/openai",
        "/readyz",
    ] {
        let started = Instant::now();
        let r = app.get(path, &app.admin_key).await;
        // A generous bound: this checks "never a hang", not speed.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path} took {:?}",
            started.elapsed()
        );
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert_eq!(r.error(), "database_unavailable");
    }

    let proxy = FaultProxy::start(proxy_addr, target).await;
    let r = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(r.status, 200, "first request after recovery: {}", r.body);
    assert_eq!(r.body["token_data"]["api_key"], "sk-OPENAI-SECRET");
    assert_eq!(app.get("/readyz", &app.admin_key).await.status, 200);
    proxy.stop();
}
