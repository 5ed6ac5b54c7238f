//! PostgreSQL change notifications: `notify` sends one inside the caller's transaction (so it
//! reaches the other instances at commit, or never), and `listen` keeps one connection per
//! instance that hands every notification to the caches subscribed to its channel.
//!
//! A subscriber is told `missed` whenever notifications may have been lost — at every
//! (re)connection — and must then forget everything it holds. The listener also proves itself
//! once a second: it notifies its own heartbeat channel and waits for that notification to come
//! back. PostgreSQL delivers notifications in commit order, so once it is back, every
//! notification committed before it was sent has arrived, end to end (a pooler that dropped
//! LISTEN would never bring it back). A subscriber may stop trusting what it holds when that
//! proof is late (`Liveness`), which bounds staleness when the connection hangs or lags.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;

use super::{DatabaseUrl, DbConnection, DbSettings, establish};

/// How often the listener looks for notifications: the typical lag of an invalidation.
const POLL: Duration = Duration::from_millis(10);
/// How often the listener proves its connection alive.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Pause before reconnecting a dropped listener.
const RECONNECT: Duration = Duration::from_secs(1);
/// A heartbeat not back after this long: the connection is given up and made again.
const HEARTBEAT_LOST: Duration = Duration::from_secs(10);
/// The channel every listener sends its heartbeats on (each recognises its own).
const HEARTBEAT_CHANNEL: &str = "tokenvault_heartbeat";
/// Listeners started by this process: part of each one's heartbeat id.
static LISTENERS: AtomicU64 = AtomicU64::new(0);
/// How late the listener's proof of life may be before what the caches hold is not trusted.
/// A change committed more than this long ago has reached every cache that trusts itself now.
pub const LIVENESS: Duration = Duration::from_secs(3);

/// One cache that follows a channel.
pub trait Subscriber: Send + Sync {
    /// The channel it follows.
    fn channel(&self) -> &'static str;
    /// A notification on that channel arrived.
    fn notified(&self, payload: &str);
    /// Notifications may have been missed: forget everything.
    fn missed(&self);
}

/// Sends `payload` on `channel` at commit (inside a transaction). A no-op on SQLite.
pub fn notify(conn: &mut DbConnection, channel: &str, payload: &str) -> diesel::QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(channel)
            .bind::<Text, _>(payload)
            .execute(pg)?;
    }
    Ok(())
}

/// When the listener last proved its connection alive: shared with the caches that rely on it.
#[derive(Debug)]
pub struct Liveness {
    started: Instant,
    /// Milliseconds after `started` of the last proof; 0 while never proven.
    proven_at_ms: AtomicU64,
}

impl Liveness {
    pub fn new() -> Arc<Liveness> {
        Arc::new(Liveness {
            started: Instant::now(),
            proven_at_ms: AtomicU64::new(0),
        })
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Every notification committed before `sent` has been handed to the subscribers.
    fn prove(&self, sent: Instant) {
        let at = sent.saturating_duration_since(self.started).as_millis();
        let at = u64::try_from(at).unwrap_or(u64::MAX).max(1);
        self.proven_at_ms.store(at, Ordering::Release);
    }

    fn lose(&self) {
        self.proven_at_ms.store(0, Ordering::Release);
    }

    /// Whether notifications are known to be arriving: proven within `within`.
    pub fn is_fresh(&self, within: Duration) -> bool {
        let proven = self.proven_at_ms.load(Ordering::Acquire);
        let within = u64::try_from(within.as_millis()).unwrap_or(u64::MAX);
        proven != 0 && self.elapsed_ms().saturating_sub(proven) <= within
    }
}

/// Starts this instance's listener thread (PostgreSQL only; SQLite has no other instance). It
/// ends when every subscriber is dropped.
pub fn listen(url: &DatabaseUrl, subscribers: Vec<Weak<dyn Subscriber>>, liveness: Arc<Liveness>) {
    if !matches!(url, DatabaseUrl::Postgres(_)) {
        return;
    }
    let url = url.clone();
    let spawned = std::thread::Builder::new()
        .name("tokenvault-listener".into())
        .spawn(move || {
            while subscribers.iter().any(|s| s.strong_count() > 0) {
                if let Err(e) = listen_once(&url, &subscribers, &liveness) {
                    liveness.lose();
                    for_each(&subscribers, |s| s.missed());
                    tracing::warn!(error = %e, "the change listener lost its connection; caches are bypassed or dropped until it is back");
                }
                std::thread::sleep(RECONNECT);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the change listener; caches fall back to their TTL");
    }
}

fn for_each(subscribers: &[Weak<dyn Subscriber>], mut each: impl FnMut(&dyn Subscriber)) {
    for subscriber in subscribers.iter().filter_map(Weak::upgrade) {
        each(subscriber.as_ref());
    }
}

/// One listening connection: returns when it fails, or `Ok` when every subscriber is gone.
fn listen_once(
    url: &DatabaseUrl,
    subscribers: &[Weak<dyn Subscriber>],
    liveness: &Liveness,
) -> Result<(), String> {
    // Bounded waits (tcp_user_timeout): a heartbeat into a dead network fails within seconds
    // instead of when the kernel gives up retransmitting.
    let mut conn = establish(url, Some(&DbSettings::default()))?;
    let DbConnection::Postgresql(pg) = &mut conn else {
        return Ok(());
    };
    let mut channels: Vec<&'static str> = vec![HEARTBEAT_CHANNEL];
    for_each(subscribers, |s| channels.push(s.channel()));
    channels.sort_unstable();
    channels.dedup();
    let listen: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
    pg.batch_execute(&listen).map_err(|e| e.to_string())?;
    // Anything changed while no one listened is forgotten now.
    let listening = Instant::now();
    for_each(subscribers, |s| s.missed());
    liveness.prove(listening);
    let id = format!(
        "{}.{}",
        std::process::id(),
        LISTENERS.fetch_add(1, Ordering::Relaxed)
    );
    let mut heartbeat = Heartbeat {
        id,
        seq: 0,
        pending: None,
        last_proof: listening,
    };
    loop {
        if subscribers.iter().all(|s| s.strong_count() == 0) {
            return Ok(());
        }
        heartbeat.send_when_due(pg)?;
        for notification in pg.notifications_iter() {
            let notification = notification.map_err(|e| e.to_string())?;
            if notification.channel == HEARTBEAT_CHANNEL {
                if let Some(sent) = heartbeat.came_back(&notification.payload) {
                    if !liveness.is_fresh(HEARTBEAT * 2) {
                        // Late enough for caches to have stopped trusting: start over.
                        for_each(subscribers, |s| s.missed());
                    }
                    liveness.prove(sent);
                }
                continue;
            }
            for_each(subscribers, |s| {
                if s.channel() == notification.channel {
                    s.notified(&notification.payload);
                }
            });
        }
        std::thread::sleep(POLL);
    }
}

/// One listener's heartbeats: at most one out at a time.
struct Heartbeat {
    /// This listener's id among all instances' (process id and a counter).
    id: String,
    seq: u64,
    /// The one out: its number and when it was sent.
    pending: Option<(u64, Instant)>,
    last_proof: Instant,
}

impl Heartbeat {
    /// Sends the next heartbeat when one is due; fails when one is lost.
    fn send_when_due(&mut self, pg: &mut diesel::PgConnection) -> Result<(), String> {
        if let Some((_, sent)) = self.pending {
            if sent.elapsed() > HEARTBEAT_LOST {
                return Err("a heartbeat did not come back".into());
            }
            return Ok(());
        }
        if self.last_proof.elapsed() < HEARTBEAT {
            return Ok(());
        }
        self.seq = self.seq.wrapping_add(1);
        let sent = Instant::now();
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(HEARTBEAT_CHANNEL)
            .bind::<Text, _>(format!("{}:{}", self.id, self.seq))
            .execute(pg)
            .map_err(|e| e.to_string())?;
        self.pending = Some((self.seq, sent));
        Ok(())
    }

    /// When `payload` is this listener's heartbeat out: when it was sent.
    fn came_back(&mut self, payload: &str) -> Option<Instant> {
        let (seq, sent) = self.pending?;
        let (id, number) = payload.rsplit_once(':')?;
        if id != self.id || number.parse::<u64>().ok()? != seq {
            return None;
        }
        self.pending = None;
        self.last_proof = sent;
        Some(sent)
    }
}

/// SQLite's change signal: on a connection of its own, `PRAGMA data_version` changes whenever
/// another connection — this instance's pool, or another process (`rotate-key`, `reap`) — has
/// committed since the last look.
pub struct DataVersion {
    conn: std::sync::Mutex<(DbConnection, i64)>,
}

#[derive(diesel::QueryableByName)]
struct DataVersionRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    data_version: i64,
}

fn data_version(conn: &mut DbConnection) -> diesel::QueryResult<i64> {
    diesel::sql_query("PRAGMA data_version")
        .get_result::<DataVersionRow>(conn)
        .map(|row| row.data_version)
}

impl DataVersion {
    /// The watcher of a SQLite database; `None` for PostgreSQL.
    pub fn open(url: &DatabaseUrl) -> Result<Option<DataVersion>, String> {
        if !matches!(url, DatabaseUrl::Sqlite(_)) {
            return Ok(None);
        }
        let mut conn = establish(url, None)?;
        let seen = data_version(&mut conn).map_err(|e| e.to_string())?;
        Ok(Some(DataVersion {
            conn: std::sync::Mutex::new((conn, seen)),
        }))
    }

    /// Runs `forget` when anything was committed since the last look (or when it cannot
    /// tell), before anyone else may look: a concurrent reader waits until it is done, so no
    /// reader trusts what `forget` is about to drop.
    pub fn on_change(&self, forget: impl FnOnce()) {
        let Ok(mut guard) = self.conn.lock() else {
            forget();
            return;
        };
        let (conn, seen) = &mut *guard;
        match data_version(conn) {
            Ok(now) if now == *seen => {}
            Ok(now) => {
                forget();
                *seen = now;
            }
            Err(_) => forget(),
        }
    }
}

impl std::fmt::Debug for DataVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataVersion").finish_non_exhaustive()
    }
}
