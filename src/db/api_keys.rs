//! The `api_keys` table: tenant-scoped keys, stored as SHA-256 hashes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::api_keys;
use crate::model::KeyScopes;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant: String,
    pub name: String,
    /// Hex SHA-256 of the key; the key itself is never stored.
    pub key_hash: String,
    /// The first characters of the key, for recognising it in a list.
    pub prefix: String,
    /// Comma-separated scopes.
    #[diesel(deserialize_as = String)]
    pub scopes: KeyScopes,
    pub user_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub tenant: &'a str,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub prefix: &'a str,
    pub scopes: &'a str,
    pub user_id: Option<&'a str>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl ApiKeyRow {
    pub fn insert(conn: &mut DbConnection, new: &NewApiKey<'_>) -> QueryResult<()> {
        diesel::insert_into(api_keys::table)
            .values(new)
            .execute(conn)
            .map(|_| ())
    }

    pub fn find_by_hash(conn: &mut DbConnection, key_hash: &str) -> QueryResult<Option<ApiKeyRow>> {
        api_keys::table
            .filter(api_keys::key_hash.eq(key_hash))
            .select(ApiKeyRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiKeyRow>> {
        api_keys::table
            .find(id)
            .select(ApiKeyRow::as_select())
            .first(conn)
            .optional()
    }

    /// All keys, or those of one tenant, oldest first.
    pub fn list(conn: &mut DbConnection, tenant: Option<&str>) -> QueryResult<Vec<ApiKeyRow>> {
        let mut query = api_keys::table
            .select(ApiKeyRow::as_select())
            .order((api_keys::created_at.asc(), api_keys::id.asc()))
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(api_keys::tenant.eq(tenant));
        }
        query.load(conn)
    }

    /// Inside a transaction on PostgreSQL: waits until no other instance is bootstrapping the
    /// first admin key (a transaction-scoped advisory lock). SQLite serialises writers anyway.
    pub fn lock_bootstrap(conn: &mut DbConnection) -> QueryResult<()> {
        use diesel::connection::SimpleConnection;
        /// Arbitrary key of the advisory lock that serialises admin-key bootstrap.
        const BOOTSTRAP_LOCK_KEY: i64 = 0x746f_6b65_6e77;
        if let DbConnection::Postgresql(pg) = conn {
            pg.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({BOOTSTRAP_LOCK_KEY})"
            ))?;
        }
        Ok(())
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        api_keys::table.count().get_result(conn)
    }

    /// Marks a key revoked; false when no such (unrevoked) key exists.
    pub fn revoke(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
        let updated = diesel::update(
            api_keys::table
                .find(id)
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(Some(at)))
        .execute(conn)?;
        Ok(updated > 0)
    }

    /// Records use, at most once a minute (the caller decides when).
    pub fn touch(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::last_used_at.eq(Some(at)))
            .execute(conn)
            .map(|_| ())
    }
}
