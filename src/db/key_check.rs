//! The `key_check` table: one sealed check value proving which encryption key the data was
//! written with.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::DbConnection;
use super::schema::key_check;

/// The id of the one row.
const ROW: i32 = 1;

pub struct KeyCheck;

impl KeyCheck {
    pub fn find(conn: &mut DbConnection) -> QueryResult<Option<String>> {
        key_check::table
            .find(ROW)
            .select(key_check::ciphertext)
            .first(conn)
            .optional()
    }

    /// Stores the first check value; false when another instance stored one first.
    pub fn insert(
        conn: &mut DbConnection,
        ciphertext: &str,
        at: NaiveDateTime,
    ) -> QueryResult<bool> {
        let inserted = diesel::insert_into(key_check::table)
            .values((
                key_check::id.eq(ROW),
                key_check::ciphertext.eq(ciphertext),
                key_check::updated_at.eq(at),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => Ok(true),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replaces the check value (after `rotate-key`).
    pub fn replace(
        conn: &mut DbConnection,
        ciphertext: &str,
        at: NaiveDateTime,
    ) -> QueryResult<()> {
        let updated = diesel::update(key_check::table.find(ROW))
            .set((
                key_check::ciphertext.eq(ciphertext),
                key_check::updated_at.eq(at),
            ))
            .execute(conn)?;
        if updated == 0 {
            Self::insert(conn, ciphertext, at)?;
        }
        Ok(())
    }
}
