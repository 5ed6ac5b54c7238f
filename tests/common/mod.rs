//! Test harness: a fresh database per test (a SQLite file, or a PostgreSQL schema when
//! `TEST_DATABASE_URL` names a PostgreSQL database), the real app over it, and HTTP helpers.
#![allow(dead_code)]

pub mod auth_server;
pub mod emulator;
pub mod fault_proxy;
pub mod grant_server;
pub mod oauth_mock;
pub mod oauth_server;
pub mod receiver;
pub mod upstream;

use std::rc::Rc;

use actix_http::Request;
use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{App, test, web};
use diesel::connection::SimpleConnection;
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};
use tokenvault::AppState;
use tokenvault::auth::issue::{self, Issued, KeySpec};
use tokenvault::config::Config;
use tokenvault::db::DatabaseUrl;
use tokenvault::db::{self, DbConnection, DbError};
use tokenvault::model::{Clock, KeyScopes};
use tokenvault::secret::{Secret, random_base62};

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> TestDb {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(base) if base.starts_with("postgres") => {
                let schema = format!("t_{}", random_base62(16).unwrap().to_ascii_lowercase());
                let base_url = DatabaseUrl::parse(&base).unwrap();
                let mut conn =
                    db::establish(&base_url, None).expect("connect to TEST_DATABASE_URL");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                TestDb {
                    url: DatabaseUrl::parse(&url).unwrap(),
                    _dir: None,
                    pg_schema: Some((base, schema)),
                }
            }
            Some(other) => panic!("TEST_DATABASE_URL must be a postgres:// URL, got {other:?}"),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("tokenvault.db");
                TestDb {
                    url: DatabaseUrl::Sqlite(path),
                    _dir: Some(dir),
                    pg_schema: None,
                }
            }
        }
    }

    /// The `DATABASE_URL` a `tokenvault` process needs for this database.
    pub fn database_url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg_schema.is_some()
    }

    /// A direct connection to this test's database, bypassing the app.
    pub fn connect(&self) -> DbConnection {
        db::establish(&self.url, None).unwrap()
    }

    /// The folder of the SQLite file (None on PostgreSQL).
    pub fn dir(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(|d| d.path())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg_schema
            && let Ok(mut conn) = db::establish(&DatabaseUrl::parse(base).unwrap(), None)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A test config over `db`: a fresh encryption key and a known admin key.
pub fn test_config(db: &TestDb) -> (Config, String) {
    let admin_key = format!("agk_{}", random_base62(43).unwrap());
    let mut config = Config::for_database(db.url.clone());
    config.encryption_keys = Some(Secret::new(tokenvault::crypto::generate_key()));
    config.bootstrap_api_key = Some(Secret::new(admin_key.clone()));
    // Tests force refreshes back to back; the interval has tests of its own.
    config.force_refresh_min = std::time::Duration::ZERO;
    // Background work runs only where a test starts it (`start_background`).
    config.health.background_refresh = false;
    (config, admin_key)
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `error` code of a JSON error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

/// The app as a service the tests call: one type for every app, whatever its configuration.
pub type AppService = Rc<
    dyn Fn(Request) -> LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, actix_web::Error>>,
>;

/// A running app over a test database.
pub struct TestApp {
    pub svc: AppService,
    pub state: web::Data<AppState>,
    pub admin_key: String,
    pub db: std::sync::Arc<TestDb>,
    /// Files the config names (a providers file), kept while any instance may read them.
    pub files: Vec<std::sync::Arc<tempfile::NamedTempFile>>,
}

type Adjust<'a> = Box<dyn FnOnce(&mut Config) + 'a>;

/// Builds a `TestApp`: `TestApp::new().backend(db).with_provider(&mock).config(|c| …).start()`.
pub struct TestAppBuilder<'a> {
    db: Option<TestDb>,
    providers_toml: Option<String>,
    adjust: Vec<Adjust<'a>>,
}

impl<'a> TestAppBuilder<'a> {
    /// Over this database (default: a fresh one of the backend `TEST_DATABASE_URL` names).
    pub fn backend(mut self, db: TestDb) -> Self {
        self.db = Some(db);
        self
    }

    /// With the mock's endpoints as `PROVIDERS_FILE`.
    pub fn with_provider(self, mock: &oauth_mock::MockProvider) -> Self {
        self.with_providers_toml(mock.providers_toml())
    }

    /// With `providers_toml` as `PROVIDERS_FILE`.
    pub fn with_providers_toml(mut self, providers_toml: String) -> Self {
        self.providers_toml = Some(providers_toml);
        self
    }

    /// With the config adjusted.
    pub fn config(mut self, adjust: impl FnOnce(&mut Config) + 'a) -> Self {
        self.adjust.push(Box::new(adjust));
        self
    }

    pub async fn start(self) -> TestApp {
        let db = self.db.unwrap_or_else(TestDb::new);
        let (mut config, admin_key) = test_config(&db);
        let mut files = Vec::new();
        if let Some(toml) = self.providers_toml {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), toml).unwrap();
            config.providers_file = Some(file.path().to_path_buf());
            files.push(std::sync::Arc::new(file));
        }
        for adjust in self.adjust {
            adjust(&mut config);
        }
        let (svc, state) = start_instance(config, Clock::system()).await;
        TestApp {
            svc,
            state,
            admin_key,
            db: std::sync::Arc::new(db),
            files,
        }
    }
}

/// Prepares the app for `config` (off this thread: the test's own tasks, such as mock servers
/// and proxies, run on it) and wraps it as an `AppService`.
async fn start_instance(config: Config, clock: Clock) -> (AppService, web::Data<AppState>) {
    let (state, _startup) = web::block(move || tokenvault::prepare_with_clock(config, clock))
        .await
        .unwrap()
        .expect("prepare app");
    let state = web::Data::new(state);
    let svc = Rc::new(test::init_service(tokenvault::build_app(state.clone())).await);
    let call: AppService = Rc::new(move |req| {
        let svc = Rc::clone(&svc);
        Box::pin(async move { svc.call(req).await.map(|r| r.map_into_boxed_body()) })
    });
    (call, state)
}

/// The app on a fresh database, with `adjust` applied to the config.
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::new().config(adjust).start().await
}

/// The app over an existing test database.
pub async fn spawn_on(db: TestDb, adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::new().backend(db).config(adjust).start().await
}

/// The app with `providers_toml` as its `PROVIDERS_FILE` (e.g. a mock's endpoints).
pub async fn spawn_with_providers(
    providers_toml: String,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    TestApp::new()
        .with_providers_toml(providers_toml)
        .config(adjust)
        .start()
        .await
}

pub async fn spawn() -> TestApp {
    TestApp::new().start().await
}

impl TestApp {
    #[allow(clippy::new_ret_no_self)]
    pub fn new<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder {
            db: None,
            providers_toml: None,
            adjust: Vec::new(),
        }
    }

    pub async fn call(&self, req: test::TestRequest) -> TestResponse {
        let response = (self.svc)(req.to_request()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> TestResponse {
        self.call(
            test::TestRequest::get()
                .uri(path)
                .insert_header(("X-API-Key", key)),
        )
        .await
    }

    pub async fn delete(&self, path: &str, key: &str) -> TestResponse {
        self.call(
            test::TestRequest::delete()
                .uri(path)
                .insert_header(("X-API-Key", key)),
        )
        .await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> TestResponse {
        self.call(
            test::TestRequest::post()
                .uri(path)
                .insert_header(("X-API-Key", key))
                .set_json(body),
        )
        .await
    }

    /// Stores `body` for `user` with the admin key; asserts success.
    pub async fn store(&self, user: &str, body: &Value) -> TestResponse {
        let response = self
            .post(&format!("/v2/users/{user}/tokens"), &self.admin_key, body)
            .await;
        assert!(
            response.status.is_success(),
            "store failed: {} {}",
            response.status,
            response.body
        );
        response
    }

    /// Moves this app's clock (and every instance's sharing it) forward: time passes for the
    /// service without the test waiting.
    pub fn advance(&self, by: std::time::Duration) {
        self.state.clock.advance(by);
    }

    /// Waits (at most 2 s) until this instance's read cache no longer holds the credential of
    /// the default tenant: after a write the app did not make (another process, a direct
    /// UPDATE), on PostgreSQL its NOTIFY has to arrive first. Returns how long it took.
    pub async fn until_uncached(&self, user: &str, integration: &str) -> std::time::Duration {
        let bound = std::time::Duration::from_secs(2);
        self.until_uncached_within(user, integration, bound).await
    }

    /// `until_uncached` with another bound.
    pub async fn until_uncached_within(
        &self,
        user: &str,
        integration: &str,
        bound: std::time::Duration,
    ) -> std::time::Duration {
        let key =
            tokenvault::model::CredentialKey::stored(tokenvault::DEFAULT_TENANT, user, integration);
        let started = std::time::Instant::now();
        let Some(cache) = self.state.credentials.cache() else {
            return started.elapsed();
        };
        while cache.holds(&key) {
            assert!(
                started.elapsed() < bound,
                "{key} still cached {bound:?} after a write"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        started.elapsed()
    }

    /// Waits (at most 5 s) until this instance's read cache is trusted: on PostgreSQL its
    /// listener has to be connected first.
    pub async fn until_cache_live(&self) {
        let started = std::time::Instant::now();
        let Some(cache) = self.state.credentials.cache() else {
            return;
        };
        while !cache.trusted() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "the read cache's listener is not up after 5 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Another instance of the app on the same database: its own pool, single-flight map and
    /// lease name, as a second process would have (and the same clock).
    pub async fn second_instance(&self) -> TestApp {
        self.instance_with(|_| {}).await
    }

    /// Another instance on the same database, its config adjusted (e.g. other keys).
    pub async fn instance_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.state.config.clone();
        adjust(&mut config);
        let (svc, state) = start_instance(config, self.state.clock.clone()).await;
        TestApp {
            svc,
            state,
            admin_key: self.admin_key.clone(),
            db: self.db.clone(),
            files: self.files.clone(),
        }
    }

    /// Leaves `count` idle connections in the pool, as earlier concurrent traffic would
    /// (PostgreSQL).
    pub async fn warm_pool(&self, count: usize) {
        let db = self.state.db.clone();
        web::block(move || {
            std::thread::scope(|scope| {
                for _ in 0..count {
                    scope.spawn(|| {
                        db.run_blocking(|conn| Ok(conn.batch_execute("SELECT pg_sleep(0.2)")?))
                            .unwrap()
                    });
                }
            })
        })
        .await
        .unwrap();
    }

    /// Mints an access token from `key` with default settings; asserts success.
    /// Serves this app over real HTTP on a free loopback port (for tests that run the client
    /// commands as processes); its base URL. Runs until the test's runtime ends.
    pub async fn listen(&self) -> String {
        let state = self.state.clone();
        let server = actix_web::HttpServer::new(move || tokenvault::build_app(state.clone()))
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
        let addr = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        format!("http://{addr}")
    }

    pub async fn mint_access_token(&self, key: &str) -> String {
        let minted = self.post("/v2/access-tokens", key, &json!({})).await;
        assert_eq!(minted.status, 201, "{}", minted.body);
        minted.body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates an API key directly (as `tokenvault keys create` does) and returns it.
    pub fn create_key(&self, tenant: &str, scopes: &str, user: Option<&str>) -> String {
        self.create_key_with(KeySpec {
            tenant: tenant.into(),
            name: "test".into(),
            scopes: KeyScopes::parse_list(scopes).unwrap(),
            user_id: user.map(String::from),
            expires_at: None,
        })
        .key
        .into_inner()
    }

    pub fn create_key_with(&self, spec: KeySpec) -> issue::CreatedKey {
        let issued = Issued::api_key(None).unwrap();
        self.state
            .db
            .run_blocking(|conn| issue::create_api_key(conn, &spec, issued))
            .unwrap()
    }

    /// Starts this instance's background work (refresh ahead if its config says so, webhook
    /// delivery, retention); `stop()` ends it as a killed process would.
    pub fn start_background(&self) -> tokenvault::health::Workers {
        tokenvault::start_background(&self.state).unwrap()
    }

    /// Runs `work` on a direct connection to the test database.
    pub fn with_conn<T>(&self, work: impl FnOnce(&mut DbConnection) -> Result<T, DbError>) -> T {
        self.state.db.run_blocking(work).unwrap()
    }
}

/// Serves a local test server (a provider, an authorization server, a webhook receiver) on
/// `addr` (port 0: a free one) with `workers` workers and the routes `routes` adds; its address
/// and handle. Runs until the test's runtime ends.
pub fn local_server(
    addr: impl std::net::ToSocketAddrs,
    workers: usize,
    routes: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    let server = actix_web::HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(0)
        .bind(addr)
        .unwrap();
    let bound = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (bound, handle)
}

/// A typical OAuth2 store body.
pub fn oauth2_body(integration_key: &str) -> Value {
    json!({
        "integration_key": integration_key,
        "provider": "google",
        "token_type": "oauth2",
        "token_data": {
            "access_token": "ya29.ACCESS-SECRET-1",
            "refresh_token": "1//REFRESH-SECRET-1",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "https://www.googleapis.com/auth/calendar",
            "client_id": "123456.apps.googleusercontent.com",
            "client_secret": "GOCSPX-CLIENT-SECRET"
        },
        "scopes": ["calendar", "email"]
    })
}

/// An OAuth2 store body for `provider` whose token expires in `expires_in_secs` (negative: past).
pub fn expiring_body(integration_key: &str, provider: &str, expires_in_secs: i64) -> Value {
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(expires_in_secs);
    json!({
        "integration_key": integration_key,
        "provider": provider,
        "token_type": "oauth2",
        "token_data": {
            "access_token": "ya29.ACCESS-SECRET-1",
            "refresh_token": "1//REFRESH-SECRET-1",
            "token_type": "Bearer",
            "client_id": "client-id-1",
            "client_secret": "CLIENT-SECRET-1"
        },
        "expires_at": expires_at.to_rfc3339(),
    })
}

/// Inserts `count` api_key credentials (users `u00000`…, integration key `openai`, api_key
/// `sk-old-<i>`) sealed with `vault`, straight into the table.
pub fn seed_credentials(db: &tokenvault::db::Db, vault: &tokenvault::crypto::Vault, count: usize) {
    use diesel::prelude::*;
    use tokenvault::db::schema::tokens;
    use tokenvault::db::tokens::NewToken;
    use tokenvault::model::CredentialKey;
    let now = tokenvault::db::now();
    let rows: Vec<(String, String)> = (0..count)
        .map(|i| {
            let user = format!("u{i:05}");
            let key = CredentialKey::parse(tokenvault::DEFAULT_TENANT, &user, "openai").unwrap();
            let ciphertext = vault.seal(&key, &json!({"api_key": format!("sk-old-{i}")}));
            (user, ciphertext)
        })
        .collect();
    // In batches: a statement per thousand rows.
    for batch in rows.chunks(1000) {
        let values: Vec<NewToken<'_>> = batch
            .iter()
            .map(|(user, ciphertext)| NewToken {
                tenant: tokenvault::DEFAULT_TENANT,
                user_id: user,
                integration_key: "openai",
                provider: "openai",
                token_type: tokenvault::model::TokenType::ApiKey,
                ciphertext,
                scopes: None,
                expires_at: None,
                status: tokenvault::model::TokenStatus::Active,
                version: 1,
                created_at: now,
                updated_at: now,
                account: None,
                background_at: None,
                connection_config: None,
            })
            .collect();
        db.run_blocking(|conn| {
            let insert = diesel::insert_into(tokens::table).values(values);
            match conn {
                // Without the change trigger: tests share one database (a schema each) and so
                // its notification channel, and a flood of notifications would keep every
                // other test's read cache from keeping rows. New rows are in no cache anyway.
                DbConnection::Postgresql(pg) => pg.transaction(|pg| {
                    diesel::sql_query("SET LOCAL session_replication_role = replica")
                        .execute(pg)?;
                    insert.execute(pg)
                })?,
                DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
            };
            Ok::<_, DbError>(())
        })
        .unwrap();
    }
}

/// A typical API key store body.
pub fn api_key_body(integration_key: &str) -> Value {
    json!({
        "integration_key": integration_key,
        "provider": "openai",
        "token_type": "api_key",
        "token_data": {"api_key": "sk-OPENAI-SECRET", "organization_id": "org-1"}
    })
}

/// Opens every stored row with `vault`: each row's key and data (`Null` when it cannot be opened).
pub fn open_all(
    db: &tokenvault::db::Db,
    vault: &tokenvault::crypto::Vault,
) -> Vec<(tokenvault::model::CredentialKey, Value)> {
    use tokenvault::db::tokens::TokenRow;
    let rows = db
        .run_blocking(|conn| Ok(TokenRow::page_after(conn, None, i64::MAX)?))
        .unwrap();
    rows.iter()
        .map(|row| {
            let key = row.key();
            let data = vault.open(&key, &row.ciphertext).map(|o| o.data);
            (key, data.unwrap_or(Value::Null))
        })
        .collect()
}

/// What a run of the `tokenvault` binary left.
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `tokenvault ARGS` as a client of `url` with `key`, off the runtime thread (the server
/// under test runs on it).
pub async fn tv(url: &str, key: &str, args: &[&str]) -> CliRun {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tokenvault"));
    cmd.args(args)
        .env("TOKENVAULT_URL", url)
        .env("TOKENVAULT_API_KEY", key)
        .current_dir(std::env::temp_dir());
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `tokenvault` binary over the test database, with this encryption key.
pub fn tokenvault_command(db: &TestDb, enc_key: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tokenvault"));
    let url = db.database_url();
    for var in [
        "TOKENVAULT_BOOTSTRAP_API_KEY",
        "PROVIDERS_FILE",
        "TOKENVAULT_LOG_FORMAT",
        "TOKENVAULT_BIND",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("DATABASE_URL", url)
        .env("SECRET_TOKEN_ENC_KEY", enc_key)
        .env("TOKENVAULT_LOG", "warn")
        .current_dir(std::env::temp_dir());
    cmd
}

/// Starts `serve` on a free port; the child and its address.
pub fn serve_on_free_port(mut cmd: std::process::Command) -> (std::process::Child, String) {
    let mut child = cmd
        .env("TOKENVAULT_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok);
    let addr = lines
        .find_map(|line| {
            line.strip_prefix("tokenvault listening on http://")
                .map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        })
        .expect("serve did not start");
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}
