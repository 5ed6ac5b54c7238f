//! The database: one connection type over PostgreSQL and SQLite, the pool, migrations, `Db`,
//! which runs blocking diesel work off the async workers, and `DbError`, which tells a lost or
//! unreachable database from a failed query. Nothing here knows about HTTP.

pub mod access_tokens;
pub mod api_keys;
pub mod connects;
pub mod events;
pub mod key_check;
pub mod notify;
pub mod oauth_states;
mod pool;
pub mod schema;
pub mod subscriptions;
pub mod tenant_providers;
pub mod tokens;
mod url;
pub mod web;
pub mod webhooks;

pub use pool::{Db, DbSettings};
pub use url::DatabaseUrl;

use std::sync::Arc;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

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
/// With `settings`, every wait on it is bounded: PostgreSQL gets `statement_timeout`,
/// `lock_timeout`, TCP keepalives and `tcp_user_timeout`; SQLite a `busy_timeout`. Without,
/// only the connect timeout applies (migrations, which may wait for another instance's lock).
pub fn establish(url: &DatabaseUrl, settings: Option<&DbSettings>) -> Result<DbConnection, String> {
    match url {
        DatabaseUrl::Sqlite(path) => establish_sqlite(path, settings),
        DatabaseUrl::Postgres(raw) => {
            let tcp_ms = settings.map_or(0, |s| s.statement_timeout.as_millis());
            let mut url_with = raw.clone();
            for (name, value) in [
                ("connect_timeout", "2".to_string()),
                ("keepalives", "1".to_string()),
                ("keepalives_idle", "5".to_string()),
                ("keepalives_interval", "2".to_string()),
                ("keepalives_count", "2".to_string()),
                ("tcp_user_timeout", tcp_ms.to_string()),
            ] {
                if !raw.contains(&format!("{name}=")) {
                    let sep = if url_with.contains('?') { '&' } else { '?' };
                    url_with = format!("{url_with}{sep}{name}={value}");
                }
            }
            let mut conn = diesel::PgConnection::establish(&url_with)
                .map_err(|e| format!("cannot connect to PostgreSQL at {}: {e}", url.redacted()))?;
            if let Some(s) = settings {
                conn.batch_execute(&format!(
                    "SET statement_timeout = {}; SET lock_timeout = {}",
                    s.statement_timeout.as_millis(),
                    s.lock_timeout.as_millis()
                ))
                .map_err(|e| format!("cannot configure the PostgreSQL session: {e}"))?;
            }
            Ok(DbConnection::Postgresql(conn))
        }
    }
}

fn establish_sqlite(
    path: &std::path::Path,
    settings: Option<&DbSettings>,
) -> Result<DbConnection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    let path_str = path
        .to_str()
        .ok_or_else(|| format!("SQLite path {} is not valid UTF-8", path.display()))?;
    let mut conn = diesel::SqliteConnection::establish(path_str)
        .map_err(|e| format!("cannot open SQLite database {}: {e}", path.display()))?;
    // Concurrent writers wait for each other (a bounded time) instead of failing at once with
    // "database is locked".
    let busy_ms = settings.map_or(5000, |s| s.lock_timeout.as_millis());
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {busy_ms}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
    ))
    .map_err(|e| format!("cannot configure SQLite database {}: {e}", path.display()))?;
    Ok(DbConnection::Sqlite(conn))
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
    /// The database cannot be reached, or a connection broke under a query, or it did not
    /// answer within the deadline: retry later.
    #[error("the database is unavailable ({0})")]
    Unavailable(String),
    /// The database works but cannot take this now: every pooled connection is in use past the
    /// wait bound, or a row stayed locked past `lock_timeout`.
    #[error("the database is busy ({0})")]
    Busy(String),
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
        } else if is_busy_error(&error) {
            DbError::Busy(error.to_string())
        } else {
            DbError::Query(Arc::new(error))
        }
    }
}

impl DbError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DbError::Unavailable(_) | DbError::Busy(_) | DbError::Task(_)
        )
    }
}

/// A lock wait or statement that ran out of its bound (PostgreSQL `lock_timeout`,
/// `statement_timeout`), or SQLite's busy timeout.
fn is_busy_error(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            message.contains("lock timeout")
                || message.contains("statement timeout")
                || message.contains("database is locked")
        }
        _ => false,
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
