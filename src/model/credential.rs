//! The key that names a credential, its parts as types that cannot be mixed up, and the checks
//! of request values.

use serde::{Deserialize, Serialize};

/// A text identifier as its own type: a tenant cannot be passed where a user id is expected.
/// Built from checked request values (`CredentialKey::parse`) or from stored rows.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_string())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type! {
    /// Whose data it is: every API key belongs to one tenant, and sees only its credentials.
    Tenant
}

id_type! {
    /// The app's id of one of its users.
    UserId
}

id_type! {
    /// The app's name for one credential of a user (often the provider key).
    IntegrationKey
}

/// Names one credential: (tenant, user_id, integration_key), the primary key of the `tokens`
/// table, the binding inside every ciphertext, and the unit of single flight. Not secret: it may
/// be logged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CredentialKey {
    pub tenant: Tenant,
    pub user_id: UserId,
    pub integration_key: IntegrationKey,
}

pub const MAX_USER_ID_LEN: usize = 128;
pub const MAX_INTEGRATION_KEY_LEN: usize = 64;

impl CredentialKey {
    /// A key from request values, checking the user id and integration key.
    pub fn parse(tenant: &str, user_id: &str, integration_key: &str) -> Result<Self, String> {
        check_user_id(user_id)?;
        check_integration_key(integration_key)?;
        Ok(CredentialKey {
            tenant: tenant.into(),
            user_id: user_id.into(),
            integration_key: integration_key.into(),
        })
    }

    /// The key of a stored row (its parts were checked when it was stored).
    pub fn stored(tenant: &str, user_id: &str, integration_key: &str) -> Self {
        CredentialKey {
            tenant: tenant.into(),
            user_id: user_id.into(),
            integration_key: integration_key.into(),
        }
    }
}

impl CredentialKey {
    /// The key's name in change notifications and the read cache: the first 16 bytes of
    /// SHA-256 over tenant, user id and integration key joined by U+001F — the digest the
    /// PostgreSQL trigger on `tokens` (migration 000009) computes and sends, as 32 hex digits.
    pub fn digest(&self) -> u128 {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(self.tenant.as_bytes());
        hash.update([0x1f]);
        hash.update(self.user_id.as_bytes());
        hash.update([0x1f]);
        hash.update(self.integration_key.as_bytes());
        let full = hash.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&full[..16]);
        u128::from_be_bytes(first)
    }
}

impl std::fmt::Display for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tenant={} user_id={} integration_key={}",
            self.tenant, self.user_id, self.integration_key
        )
    }
}

/// The JSON Schema pattern of what `check_identifier` accepts, for the OpenAPI document.
pub fn identifier_pattern(max: usize) -> String {
    format!("^[A-Za-z0-9._@:+-]{{1,{max}}}$")
}

/// Checks a path or body identifier: 1..=`max` characters of letters, digits and `._-@:+`.
fn check_identifier(what: &str, value: &str, max: usize) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@:+".contains(c);
    if value.is_empty() || value.len() > max || !value.chars().all(allowed) {
        return Err(format!(
            "{what} must be 1 to {max} characters of letters, digits and . _ - @ : +"
        ));
    }
    Ok(())
}

pub fn check_user_id(value: &str) -> Result<(), String> {
    check_identifier("user_id", value, MAX_USER_ID_LEN)
}

pub fn check_integration_key(value: &str) -> Result<(), String> {
    check_identifier("integration_key", value, MAX_INTEGRATION_KEY_LEN)
}
