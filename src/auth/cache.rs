//! Authenticated secrets by hash, each trusted for a short TTL, so a request costs no extra
//! database round trip. A revocation takes effect on this instance at once when revoked here,
//! and within the TTL when revoked elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::access_tokens::AccessTokenRow;
use crate::db::api_keys::ApiKeyRow;

/// `last_used_at` is written at most this often per key and instance.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// How long a hash that matched nothing is remembered (secrets are random: a key created later
/// will not have it).
const UNKNOWN_TTL: Duration = Duration::from_secs(60);
/// Above this many entries, stale ones are swept on insert.
const CACHE_SWEEP_AT: usize = 10_000;

/// What a presented secret authenticated as: an API key, or an access token and its key.
#[derive(Debug)]
pub struct Authenticated {
    pub key: ApiKeyRow,
    pub access: Option<AccessTokenRow>,
}

pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<Authenticated>)>>,
    /// Hashes no key or access token has, with when they were looked up: a repeated wrong
    /// secret costs no query.
    unknown: Mutex<HashMap<String, Instant>>,
    /// When this instance last wrote `last_used_at` of each key.
    touched: Mutex<HashMap<String, Instant>>,
}

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            unknown: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, secret_hash: &str) -> Option<Arc<Authenticated>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(secret_hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, found)| Arc::clone(found))
    }

    pub fn put(&self, secret_hash: String, found: Arc<Authenticated>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_SWEEP_AT {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
            }
            entries.insert(secret_hash, (Instant::now(), found));
        }
    }

    /// Whether `secret_hash` was looked up lately and matched nothing.
    pub fn is_unknown(&self, secret_hash: &str) -> bool {
        let Ok(unknown) = self.unknown.lock() else {
            return false;
        };
        unknown
            .get(secret_hash)
            .is_some_and(|at| at.elapsed() < UNKNOWN_TTL)
    }

    /// Remembers that `secret_hash` matched nothing.
    pub fn remember_unknown(&self, secret_hash: String) {
        if let Ok(mut unknown) = self.unknown.lock() {
            if unknown.len() >= CACHE_SWEEP_AT {
                unknown.retain(|_, at| at.elapsed() < UNKNOWN_TTL);
            }
            unknown.insert(secret_hash, Instant::now());
        }
    }

    /// Forgets everything (after notifications may have been missed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Forgets a key and every access token minted from it (after revoking it here).
    pub fn forget_key(&self, key_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, found)| found.key.id != key_id);
        }
    }

    /// Forgets one access token (after destroying it here).
    pub fn forget_access_token(&self, token_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, found)| found.access.as_ref().is_none_or(|t| t.id != token_id));
        }
    }

    /// Whether `last_used_at` of this key is due for a write (and, if so, marks it written).
    pub fn due_for_touch(&self, key_id: &str) -> bool {
        let Ok(mut touched) = self.touched.lock() else {
            return false;
        };
        match touched.get(key_id) {
            Some(at) if at.elapsed() < TOUCH_EVERY => false,
            _ => {
                touched.insert(key_id.to_string(), Instant::now());
                true
            }
        }
    }
}
