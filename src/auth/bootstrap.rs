//! The first admin key: `TOKENVAULT_BOOTSTRAP_API_KEY` registered as an admin key of tenant
//! `default`, or, on a database without any key, one created at start and shown once.

use diesel::Connection;

use super::issue::{self, KeySpec};
use crate::db::api_keys::ApiKeyRow;
use crate::db::{Db, DbError};
use crate::model::{KeyScopes, Scope};
use crate::secret::{Secret, hash_secret};

/// Tenant of the first admin key and of `TOKENVAULT_BOOTSTRAP_API_KEY`.
pub const DEFAULT_TENANT: &str = "default";

/// Registers `TOKENVAULT_BOOTSTRAP_API_KEY` as an admin key of tenant `default`, or, with no
/// key in the database at all, creates one and returns it (to be shown once).
pub fn ensure_admin_key(
    db: &Db,
    bootstrap: Option<&Secret<String>>,
) -> Result<Option<Secret<String>>, String> {
    let admin = |name: &str| KeySpec {
        tenant: DEFAULT_TENANT.into(),
        name: name.into(),
        scopes: KeyScopes::only(Scope::Admin),
        user_id: None,
        expires_at: None,
    };
    let reason = |e: &dyn std::error::Error| format!("cannot set up the admin API key: {e}");
    let bootstrap = bootstrap.map(Secret::as_str);
    if let Some(key) = bootstrap {
        let random_part = key.strip_prefix(issue::API_KEY_PREFIX).unwrap_or("");
        if random_part.len() < 20 || !random_part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(
                "TOKENVAULT_BOOTSTRAP_API_KEY must be agk_ followed by at least 20 letters or digits"
                    .into(),
            );
        }
    }
    let issued = issue::Issued::api_key(bootstrap).map_err(|e| reason(&e))?;
    // Instances starting together on one PostgreSQL: one creates the key, the others then see it.
    db.run_blocking(|conn| {
        conn.transaction(|conn| {
            ApiKeyRow::lock_bootstrap(conn)?;
            if let Some(key) = bootstrap {
                if ApiKeyRow::find_by_hash(conn, &hash_secret(key))?.is_none() {
                    issue::create_api_key(conn, &admin("bootstrap"), issued)?;
                }
                return Ok(None);
            }
            if ApiKeyRow::count(conn)? > 0 {
                return Ok(None);
            }
            let created = issue::create_api_key(conn, &admin("admin (first start)"), issued)?;
            Ok(Some(created.key))
        })
    })
    .map_err(|e: DbError| reason(&e))
}
