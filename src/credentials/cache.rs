//! The read cache: sealed token rows (ciphertext, never plaintext) by credential key, so a GET
//! costs no database round trip. Bounded in entries and bytes; every entry lives at most the
//! TTL. What keeps it true:
//! - a write on this instance evicts its key once committed (`evict`);
//! - on PostgreSQL a trigger on `tokens` sends the key's digest at every commit that changes
//!   what a reader sees, and the instance's listener evicts it (`Subscriber`); while the
//!   listener has not proven its connection alive lately the cache is bypassed, and after any
//!   gap it is dropped whole;
//! - on SQLite any commit by another connection (this pool, `rotate-key`, `reap`) empties it
//!   before the next read (`DataVersion`);
//! - a row read from the database is kept only if no eviction of its shard happened since the
//!   read began (`Ticket`), so a read racing a write never re-inserts the old row.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::db::DatabaseUrl;
use crate::db::notify::{DataVersion, LIVENESS, Liveness, Subscriber};
use crate::db::tokens::TokenRow;
use crate::model::{Clock, CredentialKey};

/// The channel the `tokens` trigger (migration 000009) notifies on.
pub const TOKENS_CHANNEL: &str = "tokenvault_tokens";
/// Shards: a lookup locks one.
const SHARDS: usize = 64;
/// What an entry costs beyond its strings (the row's fixed fields, the map slot).
const ENTRY_OVERHEAD: usize = 256;
/// Background renewals in flight at most: entries filled together (a cold start) come due
/// together, and a burst of re-reads must not crowd out the requests.
const RENEWALS_IN_FLIGHT: usize = 8;

/// The cache's bounds, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    pub ttl: Duration,
    pub max_entries: usize,
    pub max_bytes: usize,
}

struct Entry {
    row: Arc<TokenRow>,
    /// When its read began (`Clock::ticks_ms`).
    at_ms: i64,
    bytes: usize,
    /// A background read to renew it has been handed out.
    renewing: bool,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<u128, Entry>,
    bytes: usize,
    /// Bumped by every eviction and clear: a fill whose read began before it is dropped.
    generation: u64,
}

impl Shard {
    /// Drops the entry of `digest`, if any, and its bytes.
    fn remove(&mut self, digest: u128) {
        if let Some(old) = self.entries.remove(&digest) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
    }

    /// Keeps `row`, read from `at_ms`, as the entry of `digest` (none may be there) and counts
    /// its bytes.
    fn put(&mut self, digest: u128, row: Arc<TokenRow>, at_ms: i64, bytes: usize) {
        let entry = Entry {
            row,
            at_ms,
            bytes,
            renewing: false,
        };
        self.entries.insert(digest, entry);
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// Taken before a database read; the row read may be kept only while it is still valid.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    digest: u128,
    generation: u64,
    /// When it was handed out, before the read: an entry ages from then.
    at_ms: i64,
}

/// What the cache has for a key.
#[derive(Debug)]
pub enum Cached {
    /// The row, served from memory; with a ticket when the entry is past its renewal age and
    /// this caller should read it again in the background and hand it to `renewed`.
    Hit {
        row: Arc<TokenRow>,
        renew: Option<Ticket>,
    },
    /// Read the database; keep what is read under the ticket, if any.
    Miss(Option<Ticket>),
}

/// Where a read came from, for the hit-ratio metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
    Bypassed,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Bypassed => "bypassed",
        }
    }
}

/// How the cache learns of other writers.
enum Freshness {
    /// PostgreSQL: the listener's notifications, while it proves itself alive.
    Listener(Arc<Liveness>),
    /// SQLite: `PRAGMA data_version` before every read.
    DataVersion(DataVersion),
}

pub struct ReadCache {
    shards: Vec<Mutex<Shard>>,
    settings: CacheSettings,
    freshness: Freshness,
    clock: Clock,
    /// Background renewals handed out and not yet back.
    renewals: AtomicUsize,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("settings", &self.settings)
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

impl ReadCache {
    /// A cache for the database at `url`; on PostgreSQL `liveness` is the listener's. Entries
    /// age by `clock`.
    pub fn new(
        url: &DatabaseUrl,
        (settings, clock): (CacheSettings, Clock),
        liveness: Arc<Liveness>,
    ) -> Result<ReadCache, String> {
        let freshness = match DataVersion::open(url)? {
            Some(watch) => Freshness::DataVersion(watch),
            None => Freshness::Listener(liveness),
        };
        Ok(ReadCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            settings,
            freshness,
            clock,
            renewals: AtomicUsize::new(0),
        })
    }

    fn shard(&self, digest: u128) -> Option<std::sync::MutexGuard<'_, Shard>> {
        let index = usize::try_from(digest % SHARDS as u128).unwrap_or(0);
        self.shards.get(index)?.lock().ok()
    }

    /// Whether entries may be trusted now (on SQLite, after dropping them if another
    /// connection wrote; on PostgreSQL, once the listener is up and while it proves itself).
    pub fn trusted(&self) -> bool {
        match &self.freshness {
            Freshness::Listener(liveness) => liveness.is_fresh(LIVENESS),
            Freshness::DataVersion(watch) => {
                watch.on_change(|| self.clear());
                true
            }
        }
    }

    /// The cached row of `key`, or a ticket to keep the row about to be read. On PostgreSQL an
    /// entry past its renewal age (between half and three quarters of the TTL, spread by key)
    /// is still served, and the first caller to see it while fewer than `RENEWALS_IN_FLIGHT`
    /// are out is told to renew it in the background (and must call `renewed`), so a key read
    /// often never misses on its TTL.
    pub fn get(&self, key: &CredentialKey) -> (Cached, Lookup) {
        self.lookup(key, true)
    }

    /// Whether a GET of `key` would be answered from the cache now (claiming no renewal).
    pub fn holds(&self, key: &CredentialKey) -> bool {
        matches!(self.lookup(key, false), (Cached::Hit { .. }, _))
    }

    fn lookup(&self, key: &CredentialKey, may_renew: bool) -> (Cached, Lookup) {
        if !self.trusted() {
            return (Cached::Miss(None), Lookup::Bypassed);
        }
        let digest = key.digest();
        let Some(mut shard) = self.shard(digest) else {
            return (Cached::Miss(None), Lookup::Bypassed);
        };
        let now_ms = self.clock.ticks_ms();
        let ticket = Ticket {
            digest,
            generation: shard.generation,
            at_ms: now_ms,
        };
        let ttl_ms = i64::try_from(self.settings.ttl.as_millis()).unwrap_or(i64::MAX);
        let aged = shard.entries.get_mut(&digest);
        match aged.map(|entry| (now_ms.saturating_sub(entry.at_ms), entry)) {
            // An entry from the future (the clock went back) is not trusted either.
            Some((age_ms, entry))
                if (0..ttl_ms).contains(&age_ms) && is_row_of(&entry.row, key) =>
            {
                let due = may_renew
                    && self.renews()
                    && !entry.renewing
                    && age_ms >= renewal_age(ttl_ms, digest);
                let renew = due && self.claim_renewal();
                entry.renewing |= renew;
                let row = Arc::clone(&entry.row);
                let renew = renew.then_some(ticket);
                (Cached::Hit { row, renew }, Lookup::Hit)
            }
            _ => (Cached::Miss(Some(ticket)), Lookup::Miss),
        }
    }

    /// Keeps a row read from the database under `ticket`, unless an eviction came between.
    pub fn fill(&self, ticket: Ticket, row: Arc<TokenRow>) {
        let bytes = row_bytes(&row);
        let (max_entries, max_bytes) = self.shard_bounds();
        if bytes > max_bytes {
            return;
        }
        let Some(mut shard) = self.shard(ticket.digest) else {
            return;
        };
        if shard.generation != ticket.generation {
            return;
        }
        shard.remove(ticket.digest);
        while shard.entries.len() >= max_entries || shard.bytes.saturating_add(bytes) > max_bytes {
            let Some(victim) = shard.entries.keys().next().copied() else {
                break;
            };
            shard.remove(victim);
        }
        shard.put(ticket.digest, row, ticket.at_ms, bytes);
    }

    /// Whether entries are renewed in the background: on PostgreSQL, where a miss is a round
    /// trip to the database and makes the tail. On SQLite a miss is an in-process read costing
    /// about what a renewal does, and renewals measured a fifth of the warm throughput there.
    fn renews(&self) -> bool {
        matches!(self.freshness, Freshness::Listener(_))
    }

    fn claim_renewal(&self) -> bool {
        self.renewals
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < RENEWALS_IN_FLIGHT).then_some(n + 1)
            })
            .is_ok()
    }

    /// A renewal handed out by `get` is back: `new` is the row read again (`None`: the read
    /// failed, and the entry expires at its TTL). It replaces the entry `old` was served from
    /// only while that entry is still there unchanged (no eviction, clear or fill came between).
    pub fn renewed(&self, ticket: Ticket, old: &Arc<TokenRow>, new: Option<Arc<TokenRow>>) {
        let _ = self
            .renewals
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        let Some(new) = new else {
            return;
        };
        let bytes = row_bytes(&new);
        let (_, max_bytes) = self.shard_bounds();
        let Some(mut shard) = self.shard(ticket.digest) else {
            return;
        };
        let unchanged = shard
            .entries
            .get(&ticket.digest)
            .is_some_and(|entry| Arc::ptr_eq(&entry.row, old));
        if !unchanged {
            return;
        }
        shard.remove(ticket.digest);
        if shard.bytes.saturating_add(bytes) > max_bytes {
            // Grown past the bound: it goes, and the next read fills it the usual way.
            return;
        }
        shard.put(ticket.digest, new, ticket.at_ms, bytes);
    }

    /// Forgets the entry of the key with this digest.
    pub fn evict_digest(&self, digest: u128) {
        if let Some(mut shard) = self.shard(digest) {
            shard.generation = shard.generation.wrapping_add(1);
            shard.remove(digest);
        }
    }

    /// Forgets `key` (after this instance wrote it).
    pub fn evict(&self, key: &CredentialKey) {
        self.evict_digest(key.digest());
    }

    /// Forgets everything.
    pub fn clear(&self) {
        for shard in &self.shards {
            if let Ok(mut shard) = shard.lock() {
                shard.generation = shard.generation.wrapping_add(1);
                shard.entries.clear();
                shard.bytes = 0;
            }
        }
    }

    /// Entries and bytes held now (summed over the shards: for a scrape, not a request).
    pub fn size(&self) -> (u64, u64) {
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        self.shards
            .iter()
            .filter_map(|shard| shard.lock().ok())
            .fold((0, 0), |(entries, bytes), shard| {
                (
                    entries + as_u64(shard.entries.len()),
                    bytes + as_u64(shard.bytes),
                )
            })
    }

    fn shard_bounds(&self) -> (usize, usize) {
        (
            (self.settings.max_entries / SHARDS).max(1),
            self.settings.max_bytes / SHARDS,
        )
    }
}

impl Subscriber for ReadCache {
    fn channel(&self) -> &'static str {
        TOKENS_CHANNEL
    }

    fn notified(&self, payload: &str) {
        match u128::from_str_radix(payload, 16) {
            Ok(digest) => self.evict_digest(digest),
            // Not ours to understand: trust nothing held.
            Err(_) => self.clear(),
        }
    }

    fn missed(&self) {
        self.clear();
    }
}

/// How old an entry of `digest` may get before it is renewed: from half to three quarters of
/// the TTL, spread by the key so entries filled together are not renewed together.
fn renewal_age(ttl_ms: i64, digest: u128) -> i64 {
    let spread = i64::try_from(digest % 1024).unwrap_or(0);
    ttl_ms / 2 + (ttl_ms / 4).saturating_mul(spread) / 1024
}

/// Whether `row` is the credential `key` names (digests could collide).
fn is_row_of(row: &TokenRow, key: &CredentialKey) -> bool {
    row.tenant == key.tenant.as_str()
        && row.user_id == key.user_id.as_str()
        && row.integration_key == key.integration_key.as_str()
}

/// What a row costs in memory, roughly: its strings and a fixed overhead.
fn row_bytes(row: &TokenRow) -> usize {
    let strings = [
        row.tenant.len(),
        row.user_id.len(),
        row.integration_key.len(),
        row.provider.len(),
        row.ciphertext.len(),
        row.scopes.as_ref().map_or(0, String::len),
        row.refresh_lease_owner.as_ref().map_or(0, String::len),
        row.account.as_ref().map_or(0, String::len),
        row.replaced_status.as_ref().map_or(0, String::len),
        row.connection_config.as_ref().map_or(0, String::len),
    ];
    strings
        .iter()
        .fold(ENTRY_OVERHEAD, |sum, n| sum.saturating_add(*n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TokenStatus, TokenType};

    fn row(user: &str, ciphertext: &str) -> TokenRow {
        let at = chrono::DateTime::UNIX_EPOCH.naive_utc();
        TokenRow {
            tenant: "t".into(),
            user_id: user.into(),
            integration_key: "k".into(),
            provider: "openai".into(),
            token_type: TokenType::ApiKey,
            ciphertext: ciphertext.into(),
            scopes: None,
            expires_at: None,
            status: TokenStatus::Active,
            version: 1,
            created_at: at,
            updated_at: at,
            refresh_lease_owner: None,
            refresh_lease_until: None,
            cooldown_until: None,
            last_refresh_at: None,
            account: None,
            refresh_failures: 0,
            background_at: None,
            replaced_status: None,
            connection_config: None,
        }
    }

    fn cache() -> ReadCache {
        let dir = std::env::temp_dir().join(format!("tv-cache-{}.db", std::process::id()));
        let url = DatabaseUrl::Sqlite(dir);
        let settings = CacheSettings {
            ttl: Duration::from_secs(30),
            max_entries: 1000,
            max_bytes: 1 << 20,
        };
        ReadCache::new(&url, (settings, Clock::system()), Liveness::new())
            .expect("a SQLite file in the temp dir")
    }

    #[test]
    fn a_read_racing_an_eviction_is_not_kept() {
        let cache = cache();
        let key = CredentialKey::stored("t", "u", "k");
        let (found, lookup) = cache.get(&key);
        assert_eq!(lookup, Lookup::Miss);
        let Cached::Miss(Some(ticket)) = found else {
            panic!("a miss hands out a ticket")
        };
        // A write lands (and is evicted) while the old row is being read.
        cache.evict(&key);
        cache.fill(ticket, Arc::new(row("u", "old")));
        assert!(!cache.holds(&key));
        // The next read keeps what it read.
        let (Cached::Miss(Some(ticket)), _) = cache.get(&key) else {
            panic!("still a miss")
        };
        cache.fill(ticket, Arc::new(row("u", "new")));
        assert!(matches!(
            cache.get(&key),
            (Cached::Hit { row, renew: None }, Lookup::Hit) if row.ciphertext == "new"
        ));
        assert_eq!(cache.size().0, 1);
        cache.notified(&format!("{:032x}", key.digest()));
        assert!(!cache.holds(&key));
        assert_eq!(cache.size(), (0, 0));
    }
}
