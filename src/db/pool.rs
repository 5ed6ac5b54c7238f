//! `Db`: the connection pool, and the one way work reaches the database. Every job runs on the
//! blocking thread pool under a deadline: when the database is silent the request answers when
//! the deadline passes, and the connection is discarded when the stuck thread comes back. A
//! saturated pool (`Busy`) is told apart from a database that fails (`Unavailable`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use tokio::sync::Semaphore;

use super::{DbConnection, DbError, establish};
use crate::config::DatabaseUrl;

/// A failure this recent makes a checkout timeout an outage rather than a busy pool.
const OUTAGE_MEMORY: Duration = Duration::from_secs(10);

/// Time bounds of database work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbSettings {
    /// Deadline of one request's database job, waiting for a connection included.
    pub deadline: Duration,
    /// PostgreSQL `statement_timeout`, and the TCP bound on unacknowledged data.
    pub statement_timeout: Duration,
    /// PostgreSQL `lock_timeout`; SQLite `busy_timeout`.
    pub lock_timeout: Duration,
}

impl Default for DbSettings {
    fn default() -> Self {
        DbSettings {
            deadline: Duration::from_millis(1500),
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(1),
        }
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

/// What the pool shares with its connection manager and error handler.
#[derive(Debug, Default)]
struct Health {
    /// Bumped whenever a connection is seen to fail. Idle connections from before the last
    /// failure are checked once before use.
    outages: AtomicU64,
    /// Unix milliseconds of the last failure seen (connect, broken connection, deadline).
    last_failure_ms: AtomicI64,
}

impl Health {
    fn failed(&self) {
        self.outages.fetch_add(1, Ordering::AcqRel);
        let now = chrono::Utc::now().timestamp_millis();
        self.last_failure_ms.store(now, Ordering::Release);
    }

    fn failed_recently(&self) -> bool {
        let last = self.last_failure_ms.load(Ordering::Acquire);
        let since = chrono::Utc::now().timestamp_millis().saturating_sub(last);
        u128::try_from(since).is_ok_and(|ms| ms < OUTAGE_MEMORY.as_millis())
    }
}

struct Manager {
    url: DatabaseUrl,
    settings: DbSettings,
    health: Arc<Health>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PooledDb;
    type Error = ConnectError;

    fn connect(&self) -> Result<PooledDb, ConnectError> {
        establish(&self.url, Some(&self.settings))
            .map(|conn| PooledDb {
                conn,
                broken: false,
                epoch: self.health.outages.load(Ordering::Acquire),
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
struct ConnectFailures(Arc<Health>);

impl r2d2::HandleError<ConnectError> for ConnectFailures {
    fn handle_error(&self, error: ConnectError) {
        self.0.failed();
        tracing::warn!(error = %error, "database connection failed");
    }
}

/// The connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    /// One permit per pooled connection: requests queue here, in async land and in order,
    /// rather than as blocked threads inside the pool.
    permits: Arc<Semaphore>,
    settings: DbSettings,
    health: Arc<Health>,
}

impl Db {
    /// Builds the pool without connecting; the first use (migrations, a request) connects.
    pub fn new(url: &DatabaseUrl, max_connections: u32) -> Db {
        Db::with_settings(url, max_connections, DbSettings::default())
    }

    pub fn with_settings(url: &DatabaseUrl, max_connections: u32, settings: DbSettings) -> Db {
        let health = Arc::new(Health::default());
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(0))
            .connection_timeout(settings.deadline)
            // A checkout costs no extra round trip; a connection that fails is dropped instead.
            .test_on_check_out(false)
            .error_handler(Box::new(ConnectFailures(Arc::clone(&health))))
            .build_unchecked(Manager {
                url: url.clone(),
                settings,
                health: Arc::clone(&health),
            });
        Db {
            pool,
            permits: Arc::new(Semaphore::new(max_connections as usize)),
            settings,
            health,
        }
    }

    pub fn settings(&self) -> &DbSettings {
        &self.settings
    }

    /// (open connections, idle connections) of the pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Checks out a connection known to work since the last outage, waiting until `until`.
    fn checkout(&self, until: Instant) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        loop {
            let remaining = until.saturating_duration_since(Instant::now());
            let mut pooled = self
                .pool
                .get_timeout(remaining.max(Duration::from_millis(1)))
                .map_err(|e| self.no_connection(&e.to_string()))?;
            let epoch = self.health.outages.load(Ordering::Acquire);
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

    /// No connection in time: an outage when connections failed lately, else a busy pool.
    fn no_connection(&self, why: &str) -> DbError {
        if self.health.failed_recently() {
            DbError::Unavailable(format!("no connection: {why}"))
        } else {
            DbError::Busy(format!("no connection: {why}"))
        }
    }

    /// One attempt of `work` on a checked-out connection; a connection that failed (or whose
    /// job was abandoned at its deadline) is discarded.
    fn attempt<T>(
        &self,
        until: Instant,
        abandoned: &AtomicBool,
        work: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut pooled = self.checkout(until)?;
        let result = work(&mut pooled.conn);
        if matches!(result, Err(DbError::Unavailable(_))) {
            pooled.broken = true;
            self.health.failed();
        }
        if abandoned.load(Ordering::Acquire) {
            pooled.broken = true;
        }
        result
    }

    /// Runs `work` on a pooled connection on the current thread (CLI commands, start-up),
    /// bounded by the statement timeout rather than the request deadline.
    pub fn run_blocking<T>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let until = Instant::now() + self.settings.statement_timeout;
        self.attempt(until, &AtomicBool::new(false), work)
    }

    /// Runs `work` on the blocking thread pool under the request deadline.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.run_within(self.settings.deadline, move |db, until, abandoned| {
            db.attempt(until, abandoned, work)
        })
        .await
    }

    /// A read, retried once on a fresh connection when the first one turns out broken (a
    /// database restart leaves every idle connection dead; the first request still succeeds).
    pub async fn read<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.run_within(self.settings.deadline, move |db, until, abandoned| match db
            .attempt(until, abandoned, &work)
        {
            Err(DbError::Unavailable(_)) if !abandoned.load(Ordering::Acquire) => {
                db.attempt(until, abandoned, &work)
            }
            other => other,
        })
        .await
    }

    /// A round trip to the database, answered within `within` whatever the database does.
    pub async fn ping(&self, within: Duration) -> Result<(), DbError> {
        self.run_within(within, |db, until, abandoned| {
            db.attempt(until, abandoned, |conn| Ok(conn.batch_execute("SELECT 1")?))
        })
        .await
    }

    /// `run` inside one transaction.
    pub async fn transaction<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        use diesel::Connection;
        self.run(move |conn| conn.transaction(work)).await
    }

    /// Runs `job` off the async workers and answers by `deadline` whatever the job does; a job
    /// still running then is abandoned (its connection is discarded when it returns).
    pub async fn run_within<T, J>(&self, deadline: Duration, job: J) -> Result<T, DbError>
    where
        T: Send + 'static,
        J: FnOnce(&Db, Instant, &AtomicBool) -> Result<T, DbError> + Send + 'static,
    {
        let started = Instant::now();
        // Waiting for a connection may use two thirds of the deadline, so a saturated pool
        // answers `Busy` before the deadline answers `Unavailable`.
        let until = started + deadline * 2 / 3;
        let wait = until.saturating_duration_since(Instant::now());
        let permit =
            match tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return Err(self.no_connection("every connection is in use")),
            };
        let abandoned = Arc::new(AtomicBool::new(false));
        let (db, flag) = (self.clone(), Arc::clone(&abandoned));
        let task = tokio::task::spawn_blocking(move || {
            let result = job(&db, until, &flag);
            drop(permit);
            result
        });
        let left = (started + deadline).saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, task).await {
            Ok(joined) => joined.map_err(|e| DbError::Task(e.to_string()))?,
            Err(_) => {
                abandoned.store(true, Ordering::Release);
                self.health.failed();
                Err(DbError::Unavailable(format!(
                    "no answer within {} ms",
                    deadline.as_millis()
                )))
            }
        }
    }

    /// Applies pending migrations; fails with the real cause when the database is unreachable.
    pub fn migrate(&self, url: &DatabaseUrl) -> Result<Vec<String>, String> {
        // A dedicated connection, so the real connection error reaches the user.
        let mut conn = establish(url, None)?;
        super::run_migrations(&mut conn)
    }
}
