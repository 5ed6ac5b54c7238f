//! The `oauth_states` table: started connects, each usable once until it expires.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::oauth_states;

/// A started connect, as stored (the state itself only as its hash).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_states)]
pub struct StateRow {
    pub state_hash: String,
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
    pub provider: String,
    /// The requested scopes, joined by the provider's separator as sent.
    pub scopes: Option<String>,
    pub redirect_uri: String,
    /// The PKCE verifier, sealed (bound to the credential key).
    pub verifier_ciphertext: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    /// The connect this state belongs to (null for states written before connects existed).
    pub connect_id: Option<String>,
    /// The caller's connection config (JSON), for the exchange's URLs.
    pub connection_config: Option<String>,
}

/// What consuming a state found.
#[derive(Debug)]
pub enum Consumed {
    /// It was live and is now used: the connect it started.
    Live(Box<StateRow>),
    /// It exists but expired or was used already.
    Spent,
    /// No such state.
    Unknown,
}

impl StateRow {
    pub fn insert(conn: &mut DbConnection, row: &StateRow) -> QueryResult<()> {
        diesel::insert_into(oauth_states::table)
            .values(row)
            .execute(conn)
            .map(|_| ())
    }

    /// Marks the state used if it is live at `now` (a compare-and-set: of two callbacks with one
    /// state, on any instances, exactly one gets `Live`).
    pub fn consume(
        conn: &mut DbConnection,
        state_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Consumed> {
        let taken = diesel::update(
            oauth_states::table
                .find(state_hash)
                .filter(oauth_states::used_at.is_null())
                .filter(oauth_states::expires_at.gt(now)),
        )
        .set(oauth_states::used_at.eq(now))
        .execute(conn)?;
        let row: Option<StateRow> = oauth_states::table
            .find(state_hash)
            .select(StateRow::as_select())
            .first(conn)
            .optional()?;
        Ok(match (taken, row) {
            (1, Some(row)) => Consumed::Live(Box::new(row)),
            (_, Some(_)) => Consumed::Spent,
            (_, None) => Consumed::Unknown,
        })
    }

    /// Deletes up to `limit` states that expired before `before` (retention): how many.
    pub fn purge_expired(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        let ids: Vec<String> = oauth_states::table
            .filter(oauth_states::expires_at.lt(before))
            .select(oauth_states::state_hash)
            .limit(limit)
            .load(conn)?;
        diesel::delete(oauth_states::table.filter(oauth_states::state_hash.eq_any(&ids)))
            .execute(conn)
    }
}
