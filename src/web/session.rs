//! The console's sign-ins and the pages' CSRF tokens.
//!
//! Signing in with an admin API key of a whole tenant makes a session: a random id in a cookie
//! (HttpOnly, SameSite=Strict, Secure over https), only its hash in the database so that any
//! instance serves it. It ends after 30 minutes unused, 12 hours after sign-in, at sign-out, or
//! when its key is revoked or expires. A form's CSRF token is derived from the secret the page
//! was opened with (the session's cookie, a connect link's token), so it is never stored and
//! cannot be made without that secret.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::auth::{self, Attempt, AuthError, Caller};
use crate::db::api_keys::ApiKeyRow;
use crate::db::web::ConsoleSessionRow;
use crate::db::{Db, DbError};
use crate::model::Clock;
use crate::secret::{Secret, hash_secret, random_base62};

/// The session cookie.
pub const COOKIE: &str = "tv_console";

/// The cookie of the sign-in form's CSRF token (before there is a session).
pub const SIGNIN_COOKIE: &str = "tv_signin";

/// A session unused this long has ended.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);

/// The CSRF token of forms on a page opened with `secret`.
pub fn csrf_token(secret: &str) -> String {
    hash_secret(&format!("tokenvault-csrf:{secret}"))
}

/// Whether `sent` is the CSRF token of `secret` (compared in constant time).
pub fn csrf_ok(secret: &str, sent: Option<&str>) -> bool {
    let Some(sent) = sent else { return false };
    let expected = csrf_token(secret);
    sent.len() == expected.len()
        && sent
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Why signing in or a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The key is not an admin key of a whole tenant.
    #[error("Sign in with an admin API key of a whole tenant (scope admin, bound to no user)")]
    NotAdmin,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// A signed-in console: who, and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub caller: Caller,
    pub csrf: String,
}

/// The console's sessions, over the database.
#[derive(Clone)]
pub struct Sessions {
    db: Db,
    clock: Clock,
}

fn after(now: NaiveDateTime, span: Duration) -> NaiveDateTime {
    now + chrono::Duration::from_std(span).unwrap_or_default()
}

fn before(now: NaiveDateTime, span: Duration) -> NaiveDateTime {
    now - chrono::Duration::from_std(span).unwrap_or_default()
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    pub fn new(db: Db, clock: Clock) -> Sessions {
        Sessions { db, clock }
    }

    /// Signs in with `presented` (checked, throttled, like any API key): the cookie's value.
    pub async fn sign_in(
        &self,
        attempt: &Attempt<'_>,
        presented: &str,
    ) -> Result<Secret<String>, SessionError> {
        let caller = auth::authenticate(&self.db, attempt, presented.trim()).await?;
        if !caller.is_tenant_admin() || caller.access_token_id.is_some() {
            return Err(SessionError::NotAdmin);
        }
        let id = random_base62(43).map_err(AuthError::from)?;
        let now = self.clock.now_naive();
        let row = ConsoleSessionRow {
            id_hash: hash_secret(&id),
            tenant: caller.tenant.clone(),
            key_id: caller.key_id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: after(now, ABSOLUTE),
        };
        self.db
            .run(move |conn| Ok(ConsoleSessionRow::insert(conn, &row)?))
            .await?;
        tracing::info!(key_id = %caller.key_id, tenant = %caller.tenant, "console sign-in");
        Ok(Secret::new(id))
    }

    /// The signed-in console of cookie `id`, if its session and key are live (and it is marked
    /// used now); `None` otherwise.
    pub async fn check(&self, id: &str) -> Result<Option<SignedIn>, DbError> {
        if id.is_empty() || id.len() > 64 {
            return Ok(None);
        }
        let (hash, now) = (hash_secret(id), self.clock.now_naive());
        let idle_since = before(now, IDLE);
        let found = self
            .db
            .run(move |conn| {
                let Some(session) = ConsoleSessionRow::touch(conn, &hash, now, idle_since)? else {
                    return Ok(None);
                };
                let key = ApiKeyRow::find(conn, &session.key_id)?;
                let live = key.filter(|k| {
                    k.revoked_at.is_none()
                        && k.expires_at.is_none_or(|at| at > now)
                        && k.tenant == session.tenant
                });
                if live.is_none() {
                    ConsoleSessionRow::delete(conn, &hash)?;
                }
                Ok(live)
            })
            .await?;
        Ok(found
            .map(|key| SignedIn {
                caller: Caller::from_row(&key, None),
                csrf: csrf_token(id),
            })
            .filter(|signed| signed.caller.is_tenant_admin()))
    }

    /// Signs out: the session of cookie `id` is gone.
    pub async fn sign_out(&self, id: &str) -> Result<(), DbError> {
        let hash = hash_secret(id);
        self.db
            .run(move |conn| Ok(ConsoleSessionRow::delete(conn, &hash)?))
            .await?;
        Ok(())
    }
}
