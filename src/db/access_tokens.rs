//! The `access_tokens` table: short-lived bearer tokens minted from API keys, stored hashed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::api_keys::ApiKeyRow;
use super::schema::{access_tokens, api_keys};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AccessTokenRow {
    pub id: String,
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    pub api_key_id: String,
    pub tenant: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub destroyed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct NewAccessToken<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub api_key_id: &'a str,
    pub tenant: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl AccessTokenRow {
    pub fn insert(conn: &mut DbConnection, new: &NewAccessToken<'_>) -> QueryResult<()> {
        diesel::insert_into(access_tokens::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }

    /// The token with this hash and the API key it was minted from, in one round trip.
    pub fn find_by_hash_with_key(
        conn: &mut DbConnection,
        token_hash: &str,
    ) -> QueryResult<Option<(AccessTokenRow, ApiKeyRow)>> {
        access_tokens::table
            .inner_join(api_keys::table)
            .filter(access_tokens::token_hash.eq(token_hash))
            .select((AccessTokenRow::as_select(), ApiKeyRow::as_select()))
            .first(conn)
            .optional()
    }

    pub fn find(
        conn: &mut DbConnection,
        tenant: &str,
        id: &str,
    ) -> QueryResult<Option<AccessTokenRow>> {
        access_tokens::table
            .filter(access_tokens::tenant.eq(tenant))
            .filter(access_tokens::id.eq(id))
            .select(AccessTokenRow::as_select())
            .first(conn)
            .optional()
    }

    /// Live (not destroyed, not expired) tokens of a tenant, or of one API key, newest first.
    pub fn list_live(
        conn: &mut DbConnection,
        tenant: &str,
        api_key_id: Option<&str>,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<AccessTokenRow>> {
        let mut query = access_tokens::table
            .filter(access_tokens::tenant.eq(tenant))
            .filter(access_tokens::destroyed_at.is_null())
            .filter(access_tokens::expires_at.gt(now))
            .order((access_tokens::created_at.desc(), access_tokens::id.desc()))
            .select(AccessTokenRow::as_select())
            .into_boxed();
        if let Some(key_id) = api_key_id {
            query = query.filter(access_tokens::api_key_id.eq(key_id));
        }
        query.load(conn)
    }

    /// Marks a token destroyed; false when it already was (or does not exist).
    pub fn destroy(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
        let updated = diesel::update(
            access_tokens::table
                .find(id)
                .filter(access_tokens::destroyed_at.is_null()),
        )
        .set(access_tokens::destroyed_at.eq(Some(at)))
        .execute(conn)?;
        Ok(updated > 0)
    }

    /// Deletes up to `limit` tokens that expired before `before` (retention): how many.
    pub fn purge_expired(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        let ids: Vec<String> = access_tokens::table
            .filter(access_tokens::expires_at.lt(before))
            .select(access_tokens::id)
            .limit(limit)
            .load(conn)?;
        diesel::delete(access_tokens::table.filter(access_tokens::id.eq_any(&ids))).execute(conn)
    }
}
