//! The database: one connection type over PostgreSQL and SQLite, the pool, migrations, `Db`,
//! which runs blocking diesel work off the async workers, and `DbError`, which tells a lost or
//! unreachable database from a failed query. Nothing here knows about HTTP.

pub mod access_tokens;
pub mod api_keys;
pub mod events;
pub mod schema;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a request waits for a pooled connection before answering 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_millis(800);
/// Arbitrary key of the PostgreSQL advisory lock that serialises migrations between instances.
const MIGRATION_LOCK_KEY: i64 = 0x746f_6b65_6e76;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Current time as stored: UTC, microsecond precision (what PostgreSQL keeps), so values read
/// back compare equal to values written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Opens one connection of the backend the URL names, reporting the real cause on failure.
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, String> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
            }
            let path_str = path
                .to_str()
                .ok_or_else(|| format!("SQLite path {} is not valid UTF-8", path.display()))?;
            let mut conn = diesel::SqliteConnection::establish(path_str)
                .map_err(|e| format!("cannot open SQLite database {}: {e}", path.display()))?;
            // Concurrent writers wait for each other instead of failing with "database is locked".
            conn.batch_execute(
                "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| format!("cannot configure SQLite database {}: {e}", path.display()))?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(raw) => {
            let with_timeout = if raw.contains("connect_timeout=") {
                raw.clone()
            } else if raw.contains('?') {
                format!("{raw}&connect_timeout=2")
            } else {
                format!("{raw}?connect_timeout=2")
            };
            diesel::PgConnection::establish(&with_timeout)
                .map(DbConnection::Postgresql)
                .map_err(|e| format!("cannot connect to PostgreSQL at {}: {e}", url.redacted()))
        }
    }
}

/// Applies pending migrations of the connection's backend; returns the names applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let applied = match conn {
        DbConnection::Postgresql(pg) => {
            // Several instances may start at once: one migrates, the others wait and find nothing.
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .map_err(|e| format!("cannot take the migration lock: {e}"))?;
            let result = pg
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect());
            let _ = pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
            result
        }
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect()),
    };
    applied.map_err(|e| format!("migration failed: {e}"))
}

/// What went wrong with the database. Cheap to clone (a refresh result reaches every waiter).
/// Causes are kept for the log line; none of them holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached, or a connection broke under a query: retry later.
    #[error("the database is unavailable ({0})")]
    Unavailable(String),
    /// A query failed for another reason: a bug, a constraint, a value this version cannot read.
    #[error("database query failed")]
    Query(#[source] Arc<DieselError>),
    /// A row the same job had just written or found is gone.
    #[error("{0}")]
    Missing(&'static str),
    /// The blocking task running the job died.
    #[error("database task failed: {0}")]
    Task(String),
}

impl From<DieselError> for DbError {
    fn from(error: DieselError) -> Self {
        if is_connection_error(&error) {
            DbError::Unavailable(error.to_string())
        } else {
            DbError::Query(Arc::new(error))
        }
    }
}

/// Whether a diesel error means the connection itself is gone (as opposed to a bad query).
pub fn is_connection_error(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => true,
            DatabaseErrorKind::Unknown => {
                let message = info.message().to_ascii_lowercase();
                message.contains("connection") || message.contains("terminating")
            }
            _ => false,
        },
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

/// A pooled connection, whether it was seen to break (then the pool drops it), and the outage
/// epoch it was last known good in.
pub struct PooledDb {
    conn: DbConnection,
    broken: bool,
    epoch: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(String);

struct Manager {
    url: DatabaseUrl,
    outages: Arc<AtomicU64>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PooledDb;
    type Error = ConnectError;

    fn connect(&self) -> Result<PooledDb, ConnectError> {
        establish(&self.url)
            .map(|conn| PooledDb {
                conn,
                broken: false,
                epoch: self.outages.load(Ordering::Acquire),
            })
            .map_err(ConnectError)
    }

    fn is_valid(&self, pooled: &mut PooledDb) -> Result<(), ConnectError> {
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(|e| ConnectError(e.to_string()))
    }

    fn has_broken(&self, pooled: &mut PooledDb) -> bool {
        pooled.broken
    }
}

#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<ConnectError> for TracingErrorHandler {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(error = %error, "database connection failed");
    }
}

/// The connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    /// Bumped whenever a connection is seen to fail. Idle connections from before the last
    /// failure are checked once before use, so the first request after the database comes back
    /// succeeds instead of drawing a dead connection.
    outages: Arc<AtomicU64>,
}

impl Db {
    /// Builds the pool without connecting; the first use (migrations, a request) connects.
    pub fn new(url: &DatabaseUrl, max_connections: u32) -> Db {
        let outages = Arc::new(AtomicU64::new(0));
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A checkout costs no extra round trip; a connection that fails is dropped instead.
            .test_on_check_out(false)
            .error_handler(Box::new(TracingErrorHandler))
            .build_unchecked(Manager {
                url: url.clone(),
                outages: outages.clone(),
            });
        Db { pool, outages }
    }

    /// (open connections, idle connections) of the pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Checks out a connection known to work since the last outage, within the checkout timeout.
    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let mut pooled = self
                .pool
                .get_timeout(remaining.max(Duration::from_millis(1)))
                .map_err(|e| DbError::Unavailable(format!("no connection: {e}")))?;
            let epoch = self.outages.load(Ordering::Acquire);
            if pooled.epoch == epoch {
                return Ok(pooled);
            }
            if pooled.conn.batch_execute("SELECT 1").is_ok() {
                pooled.epoch = epoch;
                return Ok(pooled);
            }
            pooled.broken = true;
        }
    }

    /// Runs `work` on a pooled connection on the current thread (CLI commands, start-up).
    pub fn run_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut pooled = self.checkout()?;
        let result = work(&mut pooled.conn);
        if matches!(result, Err(DbError::Unavailable(_))) {
            pooled.broken = true;
            self.outages.fetch_add(1, Ordering::AcqRel);
        }
        result
    }

    /// Runs `work` on a pooled connection on the blocking thread pool, so the async workers
    /// never wait on the database.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.run_blocking(work))
            .await
            .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// `run` inside one transaction.
    pub async fn transaction<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.run(move |conn| conn.transaction(work)).await
    }

    /// Applies pending migrations; fails with the real cause when the database is unreachable.
    pub fn migrate(&self, url: &DatabaseUrl) -> Result<Vec<String>, String> {
        // A dedicated connection, so the real connection error reaches the user.
        let mut conn = establish(url)?;
        run_migrations(&mut conn)
    }
}
