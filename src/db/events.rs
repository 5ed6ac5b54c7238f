//! The `token_events` table: the audit log of a credential (stores, deletes, revocations,
//! refresh attempts). Reasons are written by our code and never hold a secret.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::token_events;
use super::tokens::RowKey;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = token_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EventRow {
    pub id: i64,
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
    pub event: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = token_events)]
struct NewEvent<'a> {
    tenant: &'a str,
    user_id: &'a str,
    integration_key: &'a str,
    event: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
    created_at: NaiveDateTime,
}

/// What happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Stored,
    Deleted,
    Revoke,
    Refresh,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Stored => "stored",
            Event::Deleted => "deleted",
            Event::Revoke => "revoke",
            Event::Refresh => "refresh",
        }
    }
}

impl EventRow {
    /// Appends an event. `outcome` is a short class (`success`, `created`, `invalid`,
    /// `transient`, `failed`, `skipped`, …); `reason` a sentence without secrets.
    pub fn record(
        conn: &mut DbConnection,
        key: RowKey<'_>,
        event: Event,
        outcome: &str,
        reason: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(token_events::table)
            .values(NewEvent {
                tenant: key.tenant,
                user_id: key.user_id,
                integration_key: key.integration_key,
                event: event.as_str(),
                outcome,
                reason,
                created_at: at,
            })
            .execute(conn)
            .map(|_| ())
    }

    /// The newest `limit` events of a credential, newest first.
    pub fn list(
        conn: &mut DbConnection,
        key: RowKey<'_>,
        limit: i64,
    ) -> QueryResult<Vec<EventRow>> {
        token_events::table
            .filter(token_events::tenant.eq(key.tenant))
            .filter(token_events::user_id.eq(key.user_id))
            .filter(token_events::integration_key.eq(key.integration_key))
            .order(token_events::id.desc())
            .limit(limit)
            .select(EventRow::as_select())
            .load(conn)
    }
}
