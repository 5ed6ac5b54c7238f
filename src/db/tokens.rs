//! The `tokens` table: one encrypted credential per `CredentialKey` (tenant, user_id,
//! integration_key), with its refresh lease and cooldown.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::DbConnection;
use super::schema::tokens;
use crate::model::{CredentialKey, Scopes, TokenStatus, TokenType, UnknownValue};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct TokenRow {
    pub tenant: String,
    pub user_id: String,
    pub integration_key: String,
    pub provider: String,
    #[diesel(deserialize_as = String)]
    pub token_type: TokenType,
    /// Fernet ciphertext of the bound envelope; never leaves the service.
    pub ciphertext: String,
    /// JSON array of scope strings (see `Scopes`).
    pub scopes: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = String)]
    pub status: TokenStatus,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The instance refreshing this credential right now, if any.
    pub refresh_lease_owner: Option<String>,
    /// Until when (unix milliseconds) that lease holds; after it, another instance may take over.
    pub refresh_lease_until: Option<i64>,
    /// No refresh attempt before this time (unix milliseconds), after a transient failure.
    pub cooldown_until: Option<i64>,
    /// When (unix milliseconds) the provider was last asked to refresh it, by any instance.
    pub last_refresh_at: Option<i64>,
    /// Who it belongs to at the provider, as JSON `{"id","email","name"}` (connect flow).
    pub account: Option<String>,
    /// Failed refreshes since the last success or store.
    pub refresh_failures: i32,
    /// When the background refresher looks at it next (unix milliseconds); `None` until a
    /// store or the refresher sets it.
    pub background_at: Option<i64>,
    /// The status the credential had before the last store replaced it (see `replaced`).
    pub replaced_status: Option<String>,
    /// Per-account values (`{"subdomain": "acme"}`), JSON; `None` when there are none.
    pub connection_config: Option<String>,
}

impl TokenRow {
    /// What the last store replaced: the status the credential had then; `None` when the
    /// store created it.
    pub fn replaced(&self) -> Option<TokenStatus> {
        self.replaced_status.as_deref().and_then(|s| s.parse().ok())
    }
}

/// A row's key, as `RETURNING` gives it.
#[derive(QueryableByName)]
struct KeyOnly {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tenant: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    user_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    integration_key: String,
}

/// Everything a store request writes.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tokens)]
pub struct NewToken<'a> {
    pub tenant: &'a str,
    pub user_id: &'a str,
    pub integration_key: &'a str,
    pub provider: &'a str,
    #[diesel(serialize_as = String)]
    pub token_type: TokenType,
    pub ciphertext: &'a str,
    pub scopes: Option<&'a str>,
    pub expires_at: Option<NaiveDateTime>,
    #[diesel(serialize_as = String)]
    pub status: TokenStatus,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub account: Option<&'a str>,
    /// When the background refresher first looks at it (unix milliseconds).
    pub background_at: Option<i64>,
    pub connection_config: Option<&'a str>,
}

/// What a successful refresh changes.
#[derive(Debug)]
pub struct RefreshedFields<'a> {
    pub ciphertext: &'a str,
    pub expires_at: Option<NaiveDateTime>,
    pub scopes: Option<&'a str>,
    pub updated_at: NaiveDateTime,
    /// When the provider was asked (unix milliseconds).
    pub asked_at_ms: i64,
    /// When the background refresher may look at it again (unix milliseconds).
    pub background_at: Option<i64>,
}

/// What a failed refresh changes.
#[derive(Debug, Clone, Copy)]
pub struct FailedFields {
    pub status: TokenStatus,
    /// No attempt by anyone before this (unix milliseconds).
    pub cooldown_until: Option<i64>,
    /// No background attempt before this (unix milliseconds): the backoff.
    pub background_at: i64,
    pub at: NaiveDateTime,
    /// When the provider was asked (unix milliseconds).
    pub asked_at_ms: i64,
}

/// Whether a store created the row or replaced an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    Replaced,
}

/// A credential due for a background refresh, and its expiry.
type Due = (String, String, String, Option<NaiveDateTime>);

type ByKey<'a> = diesel::dsl::Find<tokens::table, (&'a str, &'a str, &'a str)>;

/// The row of `key`: the one primary-key lookup every query here starts from.
fn by_key(key: &CredentialKey) -> ByKey<'_> {
    tokens::table.find((
        key.tenant.as_str(),
        key.user_id.as_str(),
        key.integration_key.as_str(),
    ))
}

type ReleaseLease = (
    diesel::dsl::Eq<tokens::refresh_lease_owner, Option<String>>,
    diesel::dsl::Eq<tokens::refresh_lease_until, Option<i64>>,
);

/// The assignments that end a refresh lease.
fn release_lease() -> ReleaseLease {
    (
        tokens::refresh_lease_owner.eq(None),
        tokens::refresh_lease_until.eq(None),
    )
}

impl TokenRow {
    pub fn find(conn: &mut DbConnection, key: &CredentialKey) -> QueryResult<Option<TokenRow>> {
        // The hot read of every GET. On the backend's own connection the prepared statement is
        // found in diesel's cache by the query's type; through the MultiConnection wrapper the SQL
        // would be rebuilt as the cache key on every call (measured: about half of a GET's
        // instructions, see docs/PERFORMANCE.md). By primary key: at most one row, so no LIMIT.
        // The select clause is typed by backend, so the query is built once per arm.
        match conn {
            DbConnection::Postgresql(pg) => by_key(key)
                .select(TokenRow::as_select())
                .get_result(pg)
                .optional(),
            DbConnection::Sqlite(sqlite) => by_key(key)
                .select(TokenRow::as_select())
                .get_result(sqlite)
                .optional(),
        }
    }

    /// The users of `tenant` whose id starts with `prefix`, with how many credentials each
    /// has, in id order: `limit` of them from `offset`.
    pub fn users(
        conn: &mut DbConnection,
        tenant: &str,
        prefix: &str,
        (offset, limit): (i64, i64),
    ) -> QueryResult<Vec<(String, i64)>> {
        let escaped: String = prefix
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        tokens::table
            .filter(tokens::tenant.eq(tenant))
            .filter(tokens::user_id.like(format!("{escaped}%")).escape('\\'))
            .group_by(tokens::user_id)
            .select((tokens::user_id, diesel::dsl::count_star()))
            .order(tokens::user_id.asc())
            .offset(offset)
            .limit(limit)
            .load(conn)
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
        // In a savepoint: on PostgreSQL a failed statement aborts the whole transaction, so
        // the insert that loses a race must be rolled back alone before the update is retried.
        let insert = conn.transaction(|conn| {
            diesel::insert_into(tokens::table)
                .values(new.clone())
                .execute(conn)
        });
        match insert {
            Ok(_) => Ok(Stored::Created),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                Self::replace(conn, new)?;
                Ok(Stored::Replaced)
            }
            Err(e) => Err(e),
        }
    }

    fn replace(conn: &mut DbConnection, new: &NewToken<'_>) -> QueryResult<bool> {
        let row = tokens::table.find((new.tenant, new.user_id, new.integration_key));
        let updated = diesel::update(row)
            .set((
                tokens::provider.eq(new.provider),
                tokens::token_type.eq(new.token_type.as_str()),
                tokens::ciphertext.eq(new.ciphertext),
                tokens::scopes.eq(new.scopes),
                tokens::expires_at.eq(new.expires_at),
                tokens::status.eq(new.status.as_str()),
                tokens::account.eq(new.account),
                tokens::connection_config.eq(new.connection_config),
                tokens::version.eq(tokens::version + 1),
                tokens::updated_at.eq(new.updated_at),
                // A new credential ends any refresh of the old one: its result must not land.
                release_lease(),
                tokens::cooldown_until.eq(None::<i64>),
                tokens::last_refresh_at.eq(None::<i64>),
                tokens::refresh_failures.eq(0),
                tokens::background_at.eq(new.background_at),
                // The right-hand side reads the row as it was before this update.
                tokens::replaced_status.eq(tokens::status.nullable()),
            ))
            .execute(conn)?;
        Ok(updated > 0)
    }

    /// Takes the refresh lease for `owner` until `until_ms`, by compare-and-set: only if the row is
    /// still at `version` and no other lease is live at `now_ms`. True when taken.
    pub fn try_lease(
        conn: &mut DbConnection,
        key: &CredentialKey,
        version: i64,
        owner: &str,
        (now_ms, until_ms): (i64, i64),
    ) -> QueryResult<bool> {
        let taken = diesel::update(
            by_key(key).filter(tokens::version.eq(version)).filter(
                tokens::refresh_lease_until
                    .is_null()
                    .or(tokens::refresh_lease_until.lt(now_ms))
                    .or(tokens::refresh_lease_owner.eq(owner)),
            ),
        )
        .set((
            tokens::refresh_lease_owner.eq(owner),
            tokens::refresh_lease_until.eq(until_ms),
        ))
        .execute(conn)?;
        Ok(taken > 0)
    }

    /// Writes a successful refresh and releases the lease, by compare-and-set on the version
    /// the refresh started from: it lands unless another refresh or a new store landed first
    /// (an expired lease alone does not discard it). True when written.
    pub fn complete_refresh(
        conn: &mut DbConnection,
        key: &CredentialKey,
        version: i64,
        update: &RefreshedFields<'_>,
    ) -> QueryResult<bool> {
        let written = diesel::update(by_key(key).filter(tokens::version.eq(version)))
            .set((
                tokens::ciphertext.eq(update.ciphertext),
                tokens::expires_at.eq(update.expires_at),
                tokens::scopes.eq(update.scopes),
                tokens::status.eq(TokenStatus::Active.as_str()),
                tokens::version.eq(version + 1),
                tokens::updated_at.eq(update.updated_at),
                release_lease(),
                tokens::cooldown_until.eq(None::<i64>),
                tokens::last_refresh_at.eq(update.asked_at_ms),
                tokens::refresh_failures.eq(0),
                tokens::background_at.eq(update.background_at),
            ))
            .execute(conn)?;
        Ok(written > 0)
    }

    /// Records a failed refresh (new status, cooldown, backoff) and releases the lease, only
    /// while `owner` still holds it. True when written.
    pub fn fail_refresh(
        conn: &mut DbConnection,
        key: &CredentialKey,
        owner: &str,
        failed: FailedFields,
    ) -> QueryResult<bool> {
        let written = diesel::update(by_key(key).filter(tokens::refresh_lease_owner.eq(owner)))
            .set((
                tokens::status.eq(failed.status.as_str()),
                tokens::cooldown_until.eq(failed.cooldown_until),
                tokens::version.eq(tokens::version + 1),
                tokens::updated_at.eq(failed.at),
                release_lease(),
                tokens::last_refresh_at.eq(failed.asked_at_ms),
                tokens::refresh_failures.eq(tokens::refresh_failures + 1),
                tokens::background_at.eq(failed.background_at),
            ))
            .execute(conn)?;
        Ok(written > 0)
    }

    /// Up to `limit` renewed credentials (`TokenType::RENEWED`), not invalid, expiring before `horizon`, that the
    /// background refresher should look at by `now_ms` and nobody is refreshing: soonest expiry
    /// first. Two index ranges: those it has not seen (`tokens_refresh_unseen`, by expiry) and
    /// those whose next look is due (`tokens_refresh_next`).
    pub fn due_ahead(
        conn: &mut DbConnection,
        horizon: NaiveDateTime,
        now_ms: i64,
        limit: i64,
    ) -> QueryResult<Vec<CredentialKey>> {
        let not_leased = tokens::refresh_lease_until
            .is_null()
            .or(tokens::refresh_lease_until.lt(now_ms));
        let renewed: Vec<&str> = TokenType::RENEWED.iter().map(|t| t.as_str()).collect();
        let refreshable = tokens::token_type
            .eq_any(renewed)
            .and(tokens::status.ne(TokenStatus::Invalid.as_str()))
            .and(tokens::expires_at.is_not_null())
            .and(tokens::expires_at.le(horizon));
        let columns = (
            tokens::tenant,
            tokens::user_id,
            tokens::integration_key,
            tokens::expires_at,
        );
        let unseen: Vec<Due> = tokens::table
            .filter(
                refreshable
                    .clone()
                    .and(tokens::background_at.is_null())
                    .and(not_leased),
            )
            .order(tokens::expires_at.asc())
            .limit(limit)
            .select(columns)
            .load(conn)?;
        let next: Vec<Due> = tokens::table
            .filter(tokens::background_at.is_not_null())
            .filter(
                refreshable
                    .and(tokens::background_at.le(now_ms))
                    .and(not_leased),
            )
            .order(tokens::background_at.asc())
            .limit(limit)
            .select(columns)
            .load(conn)?;
        let mut due: Vec<Due> = unseen.into_iter().chain(next).collect();
        due.sort_by_key(|(.., expires_at)| *expires_at);
        due.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(due
            .into_iter()
            .map(|(tenant, user_id, integration_key, _)| {
                CredentialKey::stored(&tenant, &user_id, &integration_key)
            })
            .collect())
    }

    /// Keeps the background refresher away from `key` until `until_ms` (a credential it cannot
    /// refresh), unless the row moved past `version`.
    pub fn hold_background(
        conn: &mut DbConnection,
        key: &CredentialKey,
        version: i64,
        until_ms: i64,
    ) -> QueryResult<()> {
        diesel::update(by_key(key).filter(tokens::version.eq(version)))
            .set(tokens::background_at.eq(until_ms))
            .execute(conn)
            .map(|_| ())
    }

    /// Credentials left `invalid` since before `before` (retention), oldest first.
    pub fn invalid_since(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<TokenRow>> {
        tokens::table
            .filter(tokens::status.eq(TokenStatus::Invalid.as_str()))
            .filter(tokens::updated_at.lt(before))
            .order(tokens::updated_at.asc())
            .limit(limit)
            .select(TokenRow::as_select())
            .load(conn)
    }

    /// Up to `limit` rows after `after` in primary-key order (keyset pagination).
    pub fn page_after(
        conn: &mut DbConnection,
        after: Option<&CredentialKey>,
        limit: i64,
    ) -> QueryResult<Vec<TokenRow>> {
        let mut query = tokens::table
            .select(TokenRow::as_select())
            .order((
                tokens::tenant.asc(),
                tokens::user_id.asc(),
                tokens::integration_key.asc(),
            ))
            .limit(limit)
            .into_boxed();
        if let Some(k) = after {
            query = query.filter(
                tokens::tenant
                    .gt(k.tenant.as_str())
                    .or(tokens::tenant.eq(k.tenant.as_str()).and(
                        tokens::user_id.gt(k.user_id.as_str()).or(tokens::user_id
                            .eq(k.user_id.as_str())
                            .and(tokens::integration_key.gt(k.integration_key.as_str()))),
                    )),
            );
        }
        query.load(conn)
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        tokens::table.count().get_result(conn)
    }

    /// Swaps a row's ciphertext for one of the same data under another key, only if the row
    /// still holds `old` (a concurrent write wins). Leaves the version alone: the data did not
    /// change. True when swapped.
    pub fn swap_ciphertext(
        conn: &mut DbConnection,
        key: &CredentialKey,
        old: &str,
        new: &str,
    ) -> QueryResult<bool> {
        let updated = diesel::update(by_key(key).filter(tokens::ciphertext.eq(old)))
            .set(tokens::ciphertext.eq(new))
            .execute(conn)?;
        Ok(updated > 0)
    }

    /// `swap_ciphertext` for many rows at once: on PostgreSQL one statement for the batch (a
    /// join against the arrays of keys, old and new ciphertexts); on SQLite one statement per
    /// row, in the caller's transaction. Returns the keys swapped; any other row changed
    /// meanwhile.
    pub fn swap_ciphertexts(
        conn: &mut DbConnection,
        swaps: &[(CredentialKey, &str, &str)],
    ) -> QueryResult<Vec<CredentialKey>> {
        let DbConnection::Postgresql(pg) = conn else {
            let mut swapped = Vec::new();
            for (key, old, new) in swaps {
                if TokenRow::swap_ciphertext(conn, key, old, new)? {
                    swapped.push(key.clone());
                }
            }
            return Ok(swapped);
        };
        use diesel::sql_types::{Array, Text};
        let column = |pick: fn(&(CredentialKey, &str, &str)) -> String| -> Vec<String> {
            swaps.iter().map(pick).collect()
        };
        let rows: Vec<KeyOnly> = diesel::sql_query(
            "UPDATE tokens AS t SET ciphertext = v.new \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                  AS v(tenant, user_id, integration_key, old, new) \
             WHERE t.tenant = v.tenant AND t.user_id = v.user_id \
               AND t.integration_key = v.integration_key AND t.ciphertext = v.old \
             RETURNING t.tenant, t.user_id, t.integration_key",
        )
        .bind::<Array<Text>, _>(column(|s| s.0.tenant.to_string()))
        .bind::<Array<Text>, _>(column(|s| s.0.user_id.to_string()))
        .bind::<Array<Text>, _>(column(|s| s.0.integration_key.to_string()))
        .bind::<Array<Text>, _>(column(|s| s.1.to_string()))
        .bind::<Array<Text>, _>(column(|s| s.2.to_string()))
        .load(pg)?;
        Ok(rows
            .iter()
            .map(|r| CredentialKey::stored(&r.tenant, &r.user_id, &r.integration_key))
            .collect())
    }

    /// Deletes a credential; false when there was none.
    pub fn delete(conn: &mut DbConnection, key: &CredentialKey) -> QueryResult<bool> {
        let deleted = diesel::delete(by_key(key)).execute(conn)?;
        Ok(deleted > 0)
    }

    /// The key naming this row.
    pub fn key(&self) -> CredentialKey {
        CredentialKey::stored(&self.tenant, &self.user_id, &self.integration_key)
    }

    /// The decoded scope list.
    pub fn scopes(&self) -> Result<Option<Scopes>, UnknownValue> {
        self.scopes.as_deref().map(Scopes::from_column).transpose()
    }
}
