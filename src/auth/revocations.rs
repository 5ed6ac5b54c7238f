//! Revocation reaches every instance within a second: revoking an API key or destroying an
//! access token sends a PostgreSQL `NOTIFY`, and each instance listens on a connection of its
//! own and forgets the revoked entry from its authentication cache. When the listener's
//! connection drops, the cache's TTL is the fallback until it is back (and on reconnect the
//! whole cache is forgotten, as notifications may have been missed). SQLite serves one instance:
//! the instance that revokes forgets at once.

use std::sync::Weak;
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;

use chrono::NaiveDateTime;

use super::cache::AuthCache;
use crate::db::DatabaseUrl;
use crate::db::access_tokens::AccessTokenRow;
use crate::db::api_keys::ApiKeyRow;
use crate::db::{DbConnection, DbError, establish};

const CHANNEL: &str = "tokenvault_revoked";
/// How often the listener looks for notifications.
const POLL: Duration = Duration::from_millis(100);
/// Pause before reconnecting a dropped listener.
const RECONNECT: Duration = Duration::from_secs(1);

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
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(revoked.payload())
            .execute(pg)?;
    }
    Ok(())
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

/// Starts the listener of this instance (PostgreSQL only). It ends when `cache` is dropped.
pub fn listen(url: &DatabaseUrl, cache: Weak<AuthCache>) {
    if !matches!(url, DatabaseUrl::Postgres(_)) {
        return;
    }
    let url = url.clone();
    let spawned = std::thread::Builder::new()
        .name("tokenvault-revocations".into())
        .spawn(move || {
            while cache.strong_count() > 0 {
                if let Err(e) = listen_once(&url, &cache) {
                    tracing::warn!(error = %e, "revocation listener lost its connection; the auth cache TTL applies until it is back");
                }
                std::thread::sleep(RECONNECT);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the revocation listener; the auth cache TTL applies");
    }
}

/// One listening connection: returns when it fails, or `Ok` when the cache is gone.
fn listen_once(url: &DatabaseUrl, cache: &Weak<AuthCache>) -> Result<(), String> {
    let mut conn = establish(url, None)?;
    let DbConnection::Postgresql(pg) = &mut conn else {
        return Ok(());
    };
    pg.batch_execute(&format!("LISTEN {CHANNEL}"))
        .map_err(|e| e.to_string())?;
    // Anything revoked while no one listened is forgotten now.
    match cache.upgrade() {
        Some(cache) => cache.clear(),
        None => return Ok(()),
    }
    loop {
        let Some(cache) = cache.upgrade() else {
            return Ok(());
        };
        for notification in pg.notifications_iter() {
            let notification = notification.map_err(|e| e.to_string())?;
            if let Some(revoked) = Revoked::parse(&notification.payload) {
                revoked.forget_in(&cache);
            }
        }
        drop(cache);
        std::thread::sleep(POLL);
    }
}
