//! PostgreSQL going away: requests answer 503 `database_unavailable` promptly (never a hang), and
//! the service recovers by itself when the database is back. The database is reached through a
//! local TCP proxy the test can cut and restore.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{TestDb, api_key_body, spawn_on};
use diesel::connection::SimpleConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards connections on `listen` to `target` until stopped; stopping drops every connection.
struct Proxy {
    tasks: std::sync::Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    async fn start(listener: TcpListener, target: SocketAddr) -> Proxy {
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let registry = tasks.clone();
        let acceptor = actix_web::rt::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = actix_web::rt::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(task);
            }
        });
        Proxy { tasks, acceptor }
    }

    fn stop(self) {
        self.acceptor.abort();
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[actix_web::test]
async fn database_outage_answers_503_fast_and_recovers() {
    let db = TestDb::new();
    let tokenvault::config::DatabaseUrl::Postgres(direct_url) = db.url.clone() else {
        eprintln!("skipped: the outage test needs TEST_DATABASE_URL=postgres://…");
        return;
    };
    let target: SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let proxy = Proxy::start(listener, target).await;
    let proxied = direct_url
        .replacen("127.0.0.1:5432", &proxy_addr.to_string(), 1)
        .replacen("localhost:5432", &proxy_addr.to_string(), 1);
    assert_ne!(
        proxied, direct_url,
        "TEST_DATABASE_URL must name 127.0.0.1:5432 or localhost:5432"
    );

    let app = spawn_on(db, |config| {
        config.database = tokenvault::config::DatabaseUrl::Postgres(proxied.clone());
    })
    .await;
    app.store("u1", &api_key_body("openai")).await;
    // Earlier load leaves several idle pooled connections, all of which the outage kills.
    let db = app.state.db.clone();
    actix_web::web::block(move || {
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    db.run_blocking(|conn| Ok(conn.batch_execute("SELECT pg_sleep(0.2)")?))
                        .unwrap()
                });
            }
        })
    })
    .await
    .unwrap();
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

    let listener = TcpListener::bind(proxy_addr).await.unwrap();
    let proxy = Proxy::start(listener, target).await;
    let r = app.get("/v2/users/u1/tokens/openai", &app.admin_key).await;
    assert_eq!(r.status, 200, "first request after recovery: {}", r.body);
    assert_eq!(r.body["token_data"]["api_key"], "sk-OPENAI-SECRET");
    assert_eq!(app.get("/readyz", &app.admin_key).await.status, 200);
    proxy.stop();
}
