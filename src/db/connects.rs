//! The `connects` table: every started connect and its status; for the device flow also the
//! sealed device code and the polling schedule, claimed under a lease so that one instance
//! polls at a time and another takes over when it dies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::connects;

/// A connect as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connects)]
pub struct ConnectRow {
    pub connect_id: String,
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
    pub provider: String,
    pub flow: String,
    pub status: String,
    /// An OAuth error code or one of ours; never a secret.
    pub error: Option<String>,
    /// The scopes asked for, as a JSON list.
    pub scopes: Option<String>,
    /// Device flow: the device code, sealed (bound to the credential key).
    pub device_ciphertext: Option<String>,
    pub interval_secs: i32,
    /// Unix milliseconds of the next poll; `None` once finished (or for the browser flow).
    pub next_poll_at: Option<i64>,
    pub poll_failures: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    /// The hosted connect session it was started through.
    pub session_id: Option<String>,
}

/// How a poll leaves a pending connect: polled again later, or finished.
#[derive(Debug, Clone)]
pub enum Polled {
    /// Still pending: the next poll at `next_poll_at`, with this interval and failure count.
    Again {
        interval_secs: i32,
        next_poll_at: i64,
        poll_failures: i32,
    },
    /// Finished with this status (and error code).
    Finished {
        status: String,
        error: Option<String>,
        at: NaiveDateTime,
    },
}

impl ConnectRow {
    pub fn insert(conn: &mut DbConnection, row: &ConnectRow) -> QueryResult<()> {
        diesel::insert_into(connects::table)
            .values(row)
            .execute(conn)
            .map(|_| ())
    }

    /// Names the connect session a connect was started through.
    pub fn name_session(
        conn: &mut DbConnection,
        connect_id: &str,
        session_id: &str,
    ) -> QueryResult<usize> {
        diesel::update(connects::table.find(connect_id))
            .set(connects::session_id.eq(session_id))
            .execute(conn)
    }

    /// A connect of (tenant, user).
    pub fn find(
        conn: &mut DbConnection,
        tenant: &str,
        user_id: &str,
        connect_id: &str,
    ) -> QueryResult<Option<ConnectRow>> {
        connects::table
            .find(connect_id)
            .filter(connects::tenant.eq(tenant))
            .filter(connects::user_id.eq(user_id))
            .select(ConnectRow::as_select())
            .first(conn)
            .optional()
    }

    /// Up to `limit` connects due for a poll at `now_ms` that nobody holds, soonest first.
    pub fn due(conn: &mut DbConnection, now_ms: i64, limit: i64) -> QueryResult<Vec<String>> {
        connects::table
            .filter(connects::next_poll_at.is_not_null())
            .filter(connects::next_poll_at.le(now_ms))
            .filter(
                connects::lease_until
                    .is_null()
                    .or(connects::lease_until.lt(now_ms)),
            )
            .order(connects::next_poll_at.asc())
            .limit(limit)
            .select(connects::connect_id)
            .load(conn)
    }

    /// Takes the lease of a due connect for `owner` until `until_ms` (a compare-and-set: of
    /// several instances, one gets the row).
    pub fn claim(
        conn: &mut DbConnection,
        connect_id: &str,
        (owner, now_ms, until_ms): (&str, i64, i64),
    ) -> QueryResult<Option<ConnectRow>> {
        let taken = diesel::update(
            connects::table
                .find(connect_id)
                .filter(connects::next_poll_at.le(now_ms))
                .filter(
                    connects::lease_until
                        .is_null()
                        .or(connects::lease_until.lt(now_ms)),
                ),
        )
        .set((
            connects::lease_owner.eq(owner),
            connects::lease_until.eq(until_ms),
        ))
        .execute(conn)?;
        if taken == 0 {
            return Ok(None);
        }
        connects::table
            .find(connect_id)
            .select(ConnectRow::as_select())
            .first(conn)
            .optional()
    }

    /// Writes a poll's outcome and releases the lease, if `owner` still holds it.
    pub fn polled(
        conn: &mut DbConnection,
        connect_id: &str,
        owner: &str,
        polled: &Polled,
    ) -> QueryResult<bool> {
        let held = connects::table
            .find(connect_id)
            .filter(connects::lease_owner.eq(owner));
        let release = (
            connects::lease_owner.eq(None::<String>),
            connects::lease_until.eq(None::<i64>),
        );
        let written = match polled {
            Polled::Again {
                interval_secs,
                next_poll_at,
                poll_failures,
            } => diesel::update(held)
                .set((
                    connects::interval_secs.eq(interval_secs),
                    connects::next_poll_at.eq(next_poll_at),
                    connects::poll_failures.eq(poll_failures),
                    release,
                ))
                .execute(conn)?,
            Polled::Finished { status, error, at } => diesel::update(held)
                .set((finish(status, error.as_deref(), *at), release))
                .execute(conn)?,
        };
        Ok(written > 0)
    }

    /// Finishes a connect if it is still pending, whoever holds it: whether it did.
    pub fn finish(
        conn: &mut DbConnection,
        connect_id: &str,
        status: &str,
        error: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<bool> {
        let release = (
            connects::lease_owner.eq(None::<String>),
            connects::lease_until.eq(None::<i64>),
        );
        let finished = diesel::update(
            connects::table
                .find(connect_id)
                .filter(connects::status.eq("pending")),
        )
        .set((finish(status, error, at), release))
        .execute(conn)?;
        Ok(finished > 0)
    }

    /// Keeps the lease of `owner` until `until_ms` (an approval being stored).
    pub fn extend(
        conn: &mut DbConnection,
        connect_id: &str,
        owner: &str,
        until_ms: i64,
    ) -> QueryResult<bool> {
        let held = connects::table
            .find(connect_id)
            .filter(connects::lease_owner.eq(owner));
        let kept = diesel::update(held)
            .set(connects::lease_until.eq(until_ms))
            .execute(conn)?;
        Ok(kept > 0)
    }

    /// Deletes up to `limit` connects that expired before `before` (retention): how many.
    pub fn purge_expired(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        let ids: Vec<String> = connects::table
            .filter(connects::expires_at.lt(before))
            .select(connects::connect_id)
            .limit(limit)
            .load(conn)?;
        diesel::delete(connects::table.filter(connects::connect_id.eq_any(&ids))).execute(conn)
    }
}

/// The columns a finished connect gets.
#[allow(clippy::type_complexity)]
fn finish<'a>(
    status: &'a str,
    error: Option<&'a str>,
    at: NaiveDateTime,
) -> (
    diesel::dsl::Eq<connects::status, &'a str>,
    diesel::dsl::Eq<connects::error, Option<&'a str>>,
    diesel::dsl::Eq<connects::finished_at, Option<NaiveDateTime>>,
    diesel::dsl::Eq<connects::next_poll_at, Option<i64>>,
) {
    (
        connects::status.eq(status),
        connects::error.eq(error),
        connects::finished_at.eq(Some(at)),
        connects::next_poll_at.eq(None::<i64>),
    )
}
