//! The `tenant_providers` table: a tenant's own provider entries (its definition as JSON, its
//! OAuth client with the secret sealed). Every write notifies [`CHANNEL`] with the tenant, so
//! each instance reloads that tenant's entries at commit (PostgreSQL).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::DbConnection;
use super::notify::notify;
use super::schema::{tenant_providers, tokens};

/// The channel a change of a tenant's providers is announced on (payload: the tenant).
pub const CHANNEL: &str = "tokenvault_providers";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenant_providers)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TenantProviderRow {
    pub tenant: String,
    pub provider_key: String,
    /// The entry's fields (the catalogue's format) as a JSON object; never a secret.
    pub definition: String,
    pub client_id: Option<String>,
    /// The client secret, sealed to (tenant, provider key).
    pub client_secret_ciphertext: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl TenantProviderRow {
    /// Inserts a new entry: false when the tenant has one under that key already. One
    /// statement, outside any transaction (a unique violation would end a PostgreSQL one).
    pub fn insert(conn: &mut DbConnection, row: &TenantProviderRow) -> QueryResult<bool> {
        let inserted = diesel::insert_into(tenant_providers::table)
            .values(row)
            .execute(conn);
        match inserted {
            Ok(_) => {
                notify(conn, CHANNEL, &row.tenant)?;
                Ok(true)
            }
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replaces an entry's definition and client: false when there is none.
    pub fn update(conn: &mut DbConnection, row: &TenantProviderRow) -> QueryResult<bool> {
        let target = tenant_providers::table.find((&row.tenant, &row.provider_key));
        let updated = diesel::update(target)
            .set((
                tenant_providers::definition.eq(&row.definition),
                tenant_providers::client_id.eq(&row.client_id),
                tenant_providers::client_secret_ciphertext.eq(&row.client_secret_ciphertext),
                tenant_providers::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
        notify(conn, CHANNEL, &row.tenant)?;
        Ok(updated > 0)
    }

    pub fn delete(conn: &mut DbConnection, tenant: &str, key: &str) -> QueryResult<bool> {
        let deleted = diesel::delete(tenant_providers::table.find((tenant, key))).execute(conn)?;
        notify(conn, CHANNEL, tenant)?;
        Ok(deleted > 0)
    }

    pub fn find(conn: &mut DbConnection, tenant: &str, key: &str) -> QueryResult<Option<Self>> {
        tenant_providers::table
            .find((tenant, key))
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    pub fn list(conn: &mut DbConnection, tenant: &str) -> QueryResult<Vec<Self>> {
        tenant_providers::table
            .filter(tenant_providers::tenant.eq(tenant))
            .order(tenant_providers::provider_key.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Every tenant's entries (start-up, a missed notification, key rotation).
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Self>> {
        tenant_providers::table
            .order((
                tenant_providers::tenant.asc(),
                tenant_providers::provider_key.asc(),
            ))
            .select(Self::as_select())
            .load(conn)
    }

    /// How many of the tenant's credentials name this provider.
    pub fn credentials_using(conn: &mut DbConnection, tenant: &str, key: &str) -> QueryResult<i64> {
        tokens::table
            .filter(tokens::tenant.eq(tenant))
            .filter(tokens::provider.eq(key))
            .count()
            .get_result(conn)
    }
}
