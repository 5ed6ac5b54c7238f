//! The `tokens` table: one encrypted credential per (tenant, user_id, integration_key).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::DbConnection;
use super::schema::tokens;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TokenRow {
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
    pub provider: String,
    pub token_type: String,
    /// Fernet ciphertext of the bound envelope; never leaves the service.
    pub ciphertext: String,
    /// JSON array of scope strings.
    pub scopes: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub status: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Everything a store request writes.
#[derive(Debug, Insertable)]
#[diesel(table_name = tokens)]
pub struct NewToken<'a> {
    pub tenant: &'a str,
    pub user_id: &'a str,
    pub integration_key: &'a str,
    pub provider: &'a str,
    pub token_type: &'a str,
    pub ciphertext: &'a str,
    pub scopes: Option<&'a str>,
    pub expires_at: Option<NaiveDateTime>,
    pub status: &'a str,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Whether a store created the row or replaced an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    Replaced,
}

impl TokenRow {
    pub fn find(
        conn: &mut DbConnection,
        tenant: &str,
        user_id: &str,
        integration_key: &str,
    ) -> QueryResult<Option<TokenRow>> {
        tokens::table
            .find((tenant, user_id, integration_key))
            .select(TokenRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn list_for_user(
        conn: &mut DbConnection,
        tenant: &str,
        user_id: &str,
    ) -> QueryResult<Vec<TokenRow>> {
        tokens::table
            .filter(tokens::tenant.eq(tenant))
            .filter(tokens::user_id.eq(user_id))
            .order(tokens::integration_key.asc())
            .select(TokenRow::as_select())
            .load(conn)
    }

    /// Inserts or replaces a credential. Portable (no `ON CONFLICT`): update first; insert when
    /// nothing was there; if a concurrent store inserted in between, the unique key refuses our
    /// insert and we update its row instead.
    pub fn upsert(conn: &mut DbConnection, new: &NewToken<'_>) -> QueryResult<Stored> {
        if Self::replace(conn, new)? {
            return Ok(Stored::Replaced);
        }
        match diesel::insert_into(tokens::table).values(new).execute(conn) {
            Ok(_) => Ok(Stored::Created),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                Self::replace(conn, new)?;
                Ok(Stored::Replaced)
            }
            Err(e) => Err(e),
        }
    }

    fn replace(conn: &mut DbConnection, new: &NewToken<'_>) -> QueryResult<bool> {
        let updated =
            diesel::update(tokens::table.find((new.tenant, new.user_id, new.integration_key)))
                .set((
                    tokens::provider.eq(new.provider),
                    tokens::token_type.eq(new.token_type),
                    tokens::ciphertext.eq(new.ciphertext),
                    tokens::scopes.eq(new.scopes),
                    tokens::expires_at.eq(new.expires_at),
                    tokens::status.eq(new.status),
                    tokens::version.eq(tokens::version + 1),
                    tokens::updated_at.eq(new.updated_at),
                ))
                .execute(conn)?;
        Ok(updated > 0)
    }

    /// Deletes a credential; false when there was none.
    pub fn delete(
        conn: &mut DbConnection,
        tenant: &str,
        user_id: &str,
        integration_key: &str,
    ) -> QueryResult<bool> {
        let deleted =
            diesel::delete(tokens::table.find((tenant, user_id, integration_key))).execute(conn)?;
        Ok(deleted > 0)
    }

    /// The decoded scope list.
    pub fn scope_list(&self) -> Option<Vec<String>> {
        self.scopes
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }
}
