//! The `token_events` table: the audit log of a credential (stores, deletes, revocations,
//! refresh attempts). Reasons are written by our code and never hold a secret.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::token_events;
use crate::model::{CredentialKey, EventKind, Outcome};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = token_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EventRow {
    pub id: i64,
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
    #[diesel(deserialize_as = String)]
    pub event: EventKind,
    #[diesel(deserialize_as = String)]
    pub outcome: Outcome,
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

impl EventRow {
    /// Appends an event; `reason` is a sentence without secrets.
    pub fn record(
        conn: &mut DbConnection,
        key: &CredentialKey,
        (event, outcome): (EventKind, Outcome),
        reason: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(token_events::table)
            .values(NewEvent {
                tenant: &key.tenant,
                user_id: &key.user_id,
                integration_key: &key.integration_key,
                event: event.as_str(),
                outcome: outcome.as_str(),
                reason,
                created_at: at,
            })
            .execute(conn)
            .map(|_| ())
    }

    /// The newest `limit` events of a credential, newest first.
    pub fn list(
        conn: &mut DbConnection,
        key: &CredentialKey,
        limit: i64,
    ) -> QueryResult<Vec<EventRow>> {
        token_events::table
            .filter(token_events::tenant.eq(key.tenant.as_str()))
            .filter(token_events::user_id.eq(key.user_id.as_str()))
            .filter(token_events::integration_key.eq(key.integration_key.as_str()))
            .order(token_events::id.desc())
            .limit(limit)
            .select(EventRow::as_select())
            .load(conn)
    }

    /// Deletes up to `limit` events older than `before` (retention): how many.
    pub fn purge_before(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        let ids: Vec<i64> = token_events::table
            .filter(token_events::created_at.lt(before))
            .select(token_events::id)
            .limit(limit)
            .load(conn)?;
        diesel::delete(token_events::table.filter(token_events::id.eq_any(&ids))).execute(conn)
    }
}
