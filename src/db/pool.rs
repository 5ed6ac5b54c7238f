//! `Db`: the connection pool, and the one way work reaches the database. Every job runs on the
//! blocking thread pool under a deadline: when the database is silent the request answers when
//! the deadline passes, and the connection is discarded when the stuck thread comes back. A
//! saturated pool (`Busy`) is told apart from a database that fails (`Unavailable`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DatabaseUrl;
use super::subscriptions::Subscriptions;
use super::{DbConnection, DbError, establish};

/// Blocking jobs in flight per pooled connection (see `Db::permits`).
const JOBS_PER_CONNECTION: usize = 4;
/// Longest wait for a place in line while the database is healthy; then `Busy`.
const QUEUE_WAIT: Duration = Duration::from_secs(5);
/// How often a waiting request looks at the database's health.
const QUEUE_CHECK: Duration = Duration::from_millis(100);
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

/// Where a job is, seen from the request waiting for it.
#[derive(Debug, Default)]
pub struct Job {
    /// The request gave up on it at its deadline: discard its connection when it comes back.
    abandoned: AtomicBool,
    /// It is talking to the database (rather than waiting for a thread or a connection): a
    /// deadline passing now means the database is silent, not that the server is busy.
    in_database: AtomicBool,
}

impl Job {
    fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    fn talking(&self, yes: bool) {
        self.in_database.store(yes, Ordering::Release);
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
    /// Jobs allowed onto blocking threads at once: a few per pooled connection, so a freed
    /// connection goes straight to a thread already waiting for it, while a burst beyond that
    /// queues here, in async land and in order, rather than as hundreds of blocked threads.
    permits: Arc<Semaphore>,
    settings: DbSettings,
    health: Arc<Health>,
    subscriptions: Arc<Subscriptions>,
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
            permits: Arc::new(Semaphore::new(
                (max_connections as usize).saturating_mul(JOBS_PER_CONNECTION),
            )),
            settings,
            health,
            subscriptions: Arc::default(),
        }
    }

    /// The same pool with the tenants' webhook subscriptions cached (`Subscriptions::cached`).
    pub fn with_subscriptions(self, subscriptions: Subscriptions) -> Db {
        Db {
            subscriptions: Arc::new(subscriptions),
            ..self
        }
    }

    /// The tenants' webhook subscriptions: what a write that notifies webhooks enqueues through.
    pub fn subscriptions(&self) -> &Arc<Subscriptions> {
        &self.subscriptions
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
    fn checkout(
        &self,
        until: Instant,
        job: &Job,
    ) -> Result<r2d2::PooledConnection<Manager>, DbError> {
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
            job.talking(true);
            let alive = pooled.conn.batch_execute("SELECT 1").is_ok();
            job.talking(false);
            if alive {
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
        job: &Job,
        work: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut pooled = self.checkout(until, job)?;
        job.talking(true);
        let result = work(&mut pooled.conn);
        job.talking(false);
        if let Err(DbError::Unavailable(cause)) = &result {
            tracing::debug!(cause = %cause, "a pooled connection failed; discarding it");
            pooled.broken = true;
            self.health.failed();
        }
        if job.abandoned() {
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
        self.attempt(until, &Job::default(), work)
    }

    /// Runs `work` on the blocking thread pool under the request deadline.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let bounds = (self.settings.deadline, QUEUE_WAIT);
        self.run_within(bounds, move |db, until, job| db.attempt(until, job, work))
            .await
    }

    /// A read, retried once on a fresh connection when the first one turns out broken (a
    /// database restart leaves every idle connection dead; the first request still succeeds).
    pub async fn read<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T, DbError> + Send + 'static,
    {
        let bounds = (self.settings.deadline, QUEUE_WAIT);
        self.run_within(bounds, move |db, until, job| {
            match db.attempt(until, job, &work) {
                Err(DbError::Unavailable(_)) if !job.abandoned() => db.attempt(until, job, &work),
                other => other,
            }
        })
        .await
    }

    /// A round trip to the database, answered within `within` whatever the database does.
    pub async fn ping(&self, within: Duration) -> Result<(), DbError> {
        self.run_within((within * 2 / 3, within / 3), |db, until, job| {
            db.attempt(until, job, |conn| Ok(conn.batch_execute("SELECT 1")?))
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

    /// Waits for a place on the blocking threads: up to `patience` while the database is healthy
    /// (a burst of clients is not an outage), a third of `deadline` while connections fail (so
    /// the request still answers within the deadline and a bit).
    async fn queue(
        &self,
        deadline: Duration,
        patience: Duration,
    ) -> Result<OwnedSemaphorePermit, DbError> {
        let acquire = Arc::clone(&self.permits).acquire_owned();
        tokio::pin!(acquire);
        let started = Instant::now();
        loop {
            match tokio::time::timeout(QUEUE_CHECK, acquire.as_mut()).await {
                Ok(Ok(permit)) => return Ok(permit),
                Ok(Err(closed)) => return Err(DbError::Task(closed.to_string())),
                Err(_) => {
                    let waited = started.elapsed();
                    let failing = self.health.failed_recently();
                    if (failing && waited >= deadline / 3) || waited >= patience {
                        return Err(self.no_connection("every connection is in use"));
                    }
                }
            }
        }
    }

    /// Runs `job` off the async workers, after waiting at most `patience` for a place, and
    /// answers by `deadline` (from then) whatever the job does; a job still running then is
    /// abandoned (its connection is discarded when it returns).
    pub async fn run_within<T, J>(
        &self,
        (deadline, patience): (Duration, Duration),
        job: J,
    ) -> Result<T, DbError>
    where
        T: Send + 'static,
        J: FnOnce(&Db, Instant, &Job) -> Result<T, DbError> + Send + 'static,
    {
        let permit = self.queue(deadline, patience).await?;
        let started = Instant::now();
        // Waiting for a connection may use two thirds of the deadline, so a saturated pool
        // answers `Busy` before the deadline answers `Unavailable`.
        let until = started + deadline * 2 / 3;
        let state = Arc::new(Job::default());
        let (db, job_state) = (self.clone(), Arc::clone(&state));
        let task = tokio::task::spawn_blocking(move || {
            let result = job(&db, until, &job_state);
            drop(permit);
            result
        });
        let left = (started + deadline).saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, task).await {
            Ok(joined) => joined.map_err(|e| DbError::Task(e.to_string()))?,
            Err(_) => {
                state.abandoned.store(true, Ordering::Release);
                if state.in_database.load(Ordering::Acquire) {
                    self.health.failed();
                    return Err(DbError::Unavailable(format!(
                        "no answer within {} ms",
                        deadline.as_millis()
                    )));
                }
                Err(self.no_connection("the server is too busy to reach the database in time"))
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
