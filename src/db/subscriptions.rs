//! Which events each tenant's webhooks receive, cached, so a credential write whose tenant has
//! no webhook for its event reads nothing from `webhooks` (the statement every store, refresh
//! outcome and delete paid when webhooks arrived).
//!
//! Only a "nobody receives this" answer is served from the cache: when some endpoint receives
//! the event, the endpoints are read inside the writing transaction as before, so a deleted
//! endpoint is never written to. What keeps the cache true, on PostgreSQL only (SQLite reads
//! every time; it is one process and the read costs microseconds):
//! - every insert or delete of an endpoint notifies [`CHANNEL`] with its tenant in the same
//!   transaction, and every instance's listener forgets that tenant;
//! - the cache is trusted only while the listener proves itself alive within [`LIVENESS`], and
//!   after any gap in listening it is dropped whole;
//! - registering an endpoint answers only after [`Subscriptions::settle`] (on PostgreSQL,
//!   whether or not this instance caches): by then every instance that still trusts its cache
//!   has heard of the endpoint, so a write on any instance that starts after the answer
//!   delivers to it. Instances of a version before this cache neither notify nor wait: upgrade
//!   them all before relying on it;
//! - a fill whose read began before an invalidation is dropped (a generation), and every entry
//!   lives at most the read cache's TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::QueryResult;

use super::DbConnection;
use super::notify::{LIVENESS, Liveness, Subscriber};
use super::webhooks::{MessageRow, Notice, WebhookRow};
use crate::model::WebhookEvent;

/// The channel an endpoint's insert or delete notifies, with its tenant as payload.
pub const CHANNEL: &str = "tokenvault_webhooks";
/// Tenants remembered at most; beyond, the cache starts over.
const MAX_TENANTS: usize = 100_000;
/// Added to [`LIVENESS`] before a registration answers: the clock's granularity and a poll.
const SETTLE_MARGIN: Duration = Duration::from_millis(250);

/// The tenants' webhook subscriptions, cached or not.
#[derive(Default)]
pub struct Subscriptions {
    cache: Option<Cache>,
    /// Registrations wait for the other instances (PostgreSQL): another instance may cache
    /// even when this one does not.
    settles: bool,
}

struct Cache {
    liveness: Arc<Liveness>,
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The events some endpoint of the tenant receives, and when that was read.
    tenants: HashMap<String, (Vec<WebhookEvent>, Instant)>,
    /// Bumped by every invalidation: a fill whose read began before it is dropped.
    generation: u64,
}

/// What the cache knows of a tenant for one event.
enum Known {
    /// No endpoint receives it: nothing to write.
    Nobody,
    /// Read the endpoints (some receive it, or the cache does not know); keep what is read
    /// under this generation, if any.
    Read(Option<u64>),
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions")
            .field("cached", &self.cache.is_some())
            .finish()
    }
}

impl Subscriptions {
    /// A cache that trusts itself while `liveness` (the PostgreSQL listener's) is fresh.
    pub fn cached(liveness: Arc<Liveness>, ttl: Duration) -> Subscriptions {
        Subscriptions {
            cache: Some(Cache {
                liveness,
                ttl,
                state: Mutex::new(State::default()),
            }),
            settles: true,
        }
    }

    /// Not cached here, but other instances of the database may cache (PostgreSQL).
    pub fn uncached_settling() -> Subscriptions {
        Subscriptions {
            cache: None,
            settles: true,
        }
    }

    /// Writes `notice` to the outbox of every endpoint of its tenant that receives its event,
    /// in the caller's transaction. The number of messages written.
    pub fn enqueue(&self, conn: &mut DbConnection, notice: &Notice<'_>) -> QueryResult<usize> {
        let tenant = notice.key.tenant.as_str();
        let generation = match self.known(tenant, notice.event, true) {
            Known::Nobody => return Ok(0),
            Known::Read(generation) => generation,
        };
        let endpoints = WebhookRow::list(conn, tenant)?;
        if let Some(generation) = generation {
            self.fill(tenant, generation, &endpoints);
        }
        MessageRow::enqueue(conn, &endpoints, notice)
    }

    /// How long a registration waits before it answers, so every instance has heard of it.
    pub fn settle(&self) -> Option<Duration> {
        self.settles.then_some(LIVENESS + SETTLE_MARGIN)
    }

    /// Whether a write for `tenant` and `event` would skip reading the endpoints now.
    pub fn skips(&self, tenant: &str, event: WebhookEvent) -> bool {
        matches!(self.known(tenant, event, false), Known::Nobody)
    }

    /// Forgets `tenant` (after this instance changed its endpoints).
    pub fn forget(&self, tenant: &str) {
        if let Some(mut state) = self.state() {
            state.generation = state.generation.wrapping_add(1);
            state.tenants.remove(tenant);
        }
    }

    fn state(&self) -> Option<std::sync::MutexGuard<'_, State>> {
        self.cache.as_ref()?.state.lock().ok()
    }

    /// What the cache knows of `tenant` for `event`; `counted` in the lookup metric.
    fn known(&self, tenant: &str, event: WebhookEvent, counted: bool) -> Known {
        let count = |result| {
            if counted {
                crate::metrics::webhook_subscriptions(result);
            }
        };
        let Some(cache) = &self.cache else {
            return Known::Read(None);
        };
        if !cache.liveness.is_fresh(LIVENESS) {
            count("bypassed");
            return Known::Read(None);
        }
        let Ok(state) = cache.state.lock() else {
            return Known::Read(None);
        };
        match state.tenants.get(tenant) {
            Some((events, at)) if at.elapsed() < cache.ttl => {
                if events.contains(&event) {
                    count("miss");
                    Known::Read(None)
                } else {
                    count("hit");
                    Known::Nobody
                }
            }
            _ => {
                count("miss");
                Known::Read(Some(state.generation))
            }
        }
    }

    fn fill(&self, tenant: &str, generation: u64, endpoints: &[WebhookRow]) {
        let Some(mut state) = self.state() else {
            return;
        };
        if state.generation != generation {
            return;
        }
        if state.tenants.len() >= MAX_TENANTS {
            state.tenants.clear();
        }
        let mut events: Vec<WebhookEvent> =
            endpoints.iter().flat_map(WebhookRow::event_types).collect();
        events.sort_unstable_by_key(|e| e.as_str());
        events.dedup();
        state
            .tenants
            .insert(tenant.to_string(), (events, Instant::now()));
    }

    fn clear(&self) {
        if let Some(mut state) = self.state() {
            state.generation = state.generation.wrapping_add(1);
            state.tenants.clear();
        }
    }
}

impl Subscriber for Subscriptions {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn notified(&self, tenant: &str) {
        self.forget(tenant);
    }

    fn missed(&self) {
        self.clear();
    }
}
