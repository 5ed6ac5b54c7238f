//! The tables behind the pages for people: `connect_sessions` (hosted connect links; only the
//! token's hash is kept) and `console_sessions` (console sign-ins; only the cookie's hash is
//! kept).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{connect_sessions, connects, console_sessions};
use crate::db::connects::ConnectRow;

/// A connect session as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connect_sessions)]
pub struct ConnectSessionRow {
    pub id: String,
    pub tenant: String,
    pub user_id: String,
    pub token_hash: String,
    /// The allowed providers, a JSON list; `None`: all the tenant can connect.
    pub providers: Option<String>,
    pub redirect_uri: Option<String>,
    pub popup: bool,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl ConnectSessionRow {
    pub fn insert(conn: &mut DbConnection, row: &ConnectSessionRow) -> QueryResult<()> {
        diesel::insert_into(connect_sessions::table)
            .values(row)
            .execute(conn)
            .map(|_| ())
    }

    /// A session of `tenant` by id.
    pub fn find(
        conn: &mut DbConnection,
        tenant: &str,
        id: &str,
    ) -> QueryResult<Option<ConnectSessionRow>> {
        connect_sessions::table
            .find(id)
            .filter(connect_sessions::tenant.eq(tenant))
            .select(ConnectSessionRow::as_select())
            .first(conn)
            .optional()
    }

    /// A session by id, whatever its tenant (the end of a hosted connect).
    pub fn by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ConnectSessionRow>> {
        connect_sessions::table
            .find(id)
            .select(ConnectSessionRow::as_select())
            .first(conn)
            .optional()
    }

    /// The session a link's token hash names (expired or not: the caller tells).
    pub fn by_token(
        conn: &mut DbConnection,
        token_hash: &str,
    ) -> QueryResult<Option<ConnectSessionRow>> {
        connect_sessions::table
            .filter(connect_sessions::token_hash.eq(token_hash))
            .select(ConnectSessionRow::as_select())
            .first(conn)
            .optional()
    }

    /// The connects started through session `id`, oldest first.
    pub fn connects(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<ConnectRow>> {
        connects::table
            .filter(connects::session_id.eq(id))
            .order(connects::created_at.asc())
            .select(ConnectRow::as_select())
            .load(conn)
    }

    /// Deletes up to `limit` sessions that expired before `before` (retention): how many.
    pub fn purge_expired(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        let ids: Vec<String> = connect_sessions::table
            .filter(connect_sessions::expires_at.lt(before))
            .select(connect_sessions::id)
            .limit(limit)
            .load(conn)?;
        diesel::delete(connect_sessions::table.filter(connect_sessions::id.eq_any(&ids)))
            .execute(conn)
    }
}

/// A console sign-in as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
pub struct ConsoleSessionRow {
    pub id_hash: String,
    pub tenant: String,
    /// The admin API key signed in with: revoking it ends the session.
    pub key_id: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    /// The absolute end (sign-in + 12 h).
    pub expires_at: NaiveDateTime,
}

impl ConsoleSessionRow {
    pub fn insert(conn: &mut DbConnection, row: &ConsoleSessionRow) -> QueryResult<()> {
        diesel::insert_into(console_sessions::table)
            .values(row)
            .execute(conn)
            .map(|_| ())
    }

    /// The live session with this hash at `now` (seen after `idle_since`), marked seen now.
    pub fn touch(
        conn: &mut DbConnection,
        id_hash: &str,
        now: NaiveDateTime,
        idle_since: NaiveDateTime,
    ) -> QueryResult<Option<ConsoleSessionRow>> {
        let live = diesel::update(
            console_sessions::table
                .find(id_hash)
                .filter(console_sessions::expires_at.gt(now))
                .filter(console_sessions::last_seen_at.gt(idle_since)),
        )
        .set(console_sessions::last_seen_at.eq(now))
        .execute(conn)?;
        if live == 0 {
            return Ok(None);
        }
        console_sessions::table
            .find(id_hash)
            .select(ConsoleSessionRow::as_select())
            .first(conn)
            .optional()
    }

    /// Signs out: the session is gone.
    pub fn delete(conn: &mut DbConnection, id_hash: &str) -> QueryResult<usize> {
        diesel::delete(console_sessions::table.find(id_hash)).execute(conn)
    }

    /// Deletes sessions that ended before `before`, whether by age or by idleness.
    pub fn purge_expired(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        idle_before: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::delete(
            console_sessions::table.filter(
                console_sessions::expires_at
                    .lt(before)
                    .or(console_sessions::last_seen_at.lt(idle_before)),
            ),
        )
        .execute(conn)
    }
}
