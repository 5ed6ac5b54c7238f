//! Revocation reaches every instance within a second: revoking an API key or destroying an
//! access token sends a PostgreSQL `NOTIFY`, and each instance listens on a connection of its
//! own (`db::notify`) and forgets the revoked entry from its authentication cache. When the listener's
//! connection drops, the cache's TTL is the fallback until it is back (and on reconnect the
//! whole cache is forgotten, as notifications may have been missed). SQLite serves one instance:
//! the instance that revokes forgets at once.

use chrono::NaiveDateTime;

use super::cache::AuthCache;
use crate::db::access_tokens::AccessTokenRow;
use crate::db::api_keys::ApiKeyRow;
use crate::db::notify::{Subscriber, notify};
use crate::db::{DbConnection, DbError};

const CHANNEL: &str = "tokenvault_revoked";

/// What was revoked: an API key (and every access token minted from it) or one access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    ApiKey(String),
    AccessToken(String),
}

impl Revoked {
    fn payload(&self) -> String {
        match self {
            Revoked::ApiKey(id) => format!("key:{id}"),
            Revoked::AccessToken(id) => format!("at:{id}"),
        }
    }

    fn parse(payload: &str) -> Option<Revoked> {
        match payload.split_once(':')? {
            ("key", id) => Some(Revoked::ApiKey(id.to_string())),
            ("at", id) => Some(Revoked::AccessToken(id.to_string())),
            _ => None,
        }
    }

    /// Forgets the revoked entry in `cache`.
    pub fn forget_in(&self, cache: &AuthCache) {
        match self {
            Revoked::ApiKey(id) => cache.forget_key(id),
            Revoked::AccessToken(id) => cache.forget_access_token(id),
        }
    }
}

/// Tells every instance (at commit, when inside a transaction). A no-op on SQLite.
fn announce(conn: &mut DbConnection, revoked: &Revoked) -> diesel::QueryResult<()> {
    notify(conn, CHANNEL, &revoked.payload())
}

/// Revokes an API key and tells every instance; false when it was not active.
pub fn revoke_api_key(
    conn: &mut DbConnection,
    id: &str,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let revoked = ApiKeyRow::revoke(conn, id, at)?;
    if revoked {
        announce(conn, &Revoked::ApiKey(id.to_string()))?;
    }
    Ok(revoked)
}

/// Destroys an access token and tells every instance; false when it already was.
pub fn destroy_access_token(
    conn: &mut DbConnection,
    id: &str,
    at: NaiveDateTime,
) -> Result<bool, DbError> {
    let destroyed = AccessTokenRow::destroy(conn, id, at)?;
    if destroyed {
        announce(conn, &Revoked::AccessToken(id.to_string()))?;
    }
    Ok(destroyed)
}

impl Subscriber for AuthCache {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn notified(&self, payload: &str) {
        if let Some(revoked) = Revoked::parse(payload) {
            revoked.forget_in(self);
        }
    }

    fn missed(&self) {
        self.clear();
    }
}
