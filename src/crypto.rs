//! Fernet encryption of stored credentials: key parsing and stretching, rotation lists, and the
//! binding of every ciphertext to its row.
//!
//! The plaintext inside a ciphertext is a small JSON envelope naming its row
//! (tenant, user_id, integration_key) next to the token data, so a ciphertext copied onto another
//! row is refused instead of served. Ciphertexts written by the original Python service hold the
//! bare token data; they are read as such (`Opened::bound` is false) and `rotate-key` re-seals
//! them into bound envelopes.

use std::path::{Path, PathBuf};

use fernet::Fernet;
use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use crate::model::CredentialKey;

/// Salt and iteration count the original Python service used to stretch a non-Fernet secret.
const STRETCH_SALT: &[u8] = b"agent_api_salt";
const STRETCH_ITERATIONS: u32 = 100_000;
/// Length of a url-safe base64 Fernet key (32 bytes).
const FERNET_KEY_LEN: usize = 44;
/// File name of the generated key next to the SQLite database.
pub const KEY_FILE_NAME: &str = "secret.key";

/// What a ciphertext is bound to: opened anywhere else, it is refused.
#[derive(Debug, Clone, Copy)]
pub enum SealedTo<'a> {
    /// A credential's token data.
    Credential(&'a CredentialKey),
    /// A webhook endpoint's signing secret.
    WebhookSecret {
        tenant: &'a str,
        webhook_id: &'a str,
    },
    /// The key check value (`credentials::key_check`).
    KeyCheck,
    /// A tenant provider's OAuth client secret.
    ProviderClient { tenant: &'a str, provider: &'a str },
}

impl<'a> From<&'a CredentialKey> for SealedTo<'a> {
    fn from(key: &'a CredentialKey) -> Self {
        SealedTo::Credential(key)
    }
}

impl SealedTo<'_> {
    /// The binding as written inside the envelope. The three-field form predates the other
    /// kinds: a webhook secret is `(tenant, "\0webhook", id)` and the key check
    /// `("tokenvault", "key-check", "key-check")`, names no credential can have.
    fn wire(&self) -> WireBinding<'_> {
        let (tenant, user_id, integration_key) = match *self {
            SealedTo::Credential(key) => (
                key.tenant.as_str(),
                key.user_id.as_str(),
                key.integration_key.as_str(),
            ),
            SealedTo::WebhookSecret { tenant, webhook_id } => (tenant, "\u{0}webhook", webhook_id),
            SealedTo::KeyCheck => ("tokenvault", "key-check", "key-check"),
            SealedTo::ProviderClient { tenant, provider } => (tenant, "\u{0}provider", provider),
        };
        WireBinding {
            tenant: Cow::Borrowed(tenant),
            user_id: Cow::Borrowed(user_id),
            integration_key: Cow::Borrowed(integration_key),
        }
    }
}

impl std::fmt::Display for SealedTo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealedTo::Credential(key) => key.fmt(f),
            SealedTo::WebhookSecret { tenant, webhook_id } => {
                write!(f, "tenant={tenant} webhook={webhook_id}")
            }
            SealedTo::KeyCheck => f.write_str("the key check value"),
            SealedTo::ProviderClient { tenant, provider } => {
                write!(f, "tenant={tenant} provider={provider}")
            }
        }
    }
}

/// The binding's fields inside the envelope.
#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct WireBinding<'a> {
    tenant: Cow<'a, str>,
    user_id: Cow<'a, str>,
    integration_key: Cow<'a, str>,
}

impl std::fmt::Display for WireBinding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tenant={} user_id={} integration_key={}",
            self.tenant, self.user_id, self.integration_key
        )
    }
}

#[derive(Serialize)]
struct SealedEnvelope<'a> {
    #[serde(flatten)]
    row: WireBinding<'a>,
    data: &'a serde_json::Value,
}

/// What a decrypted plaintext holds.
#[derive(Deserialize)]
#[serde(untagged)]
enum Plaintext {
    /// tokenvault's row-bound envelope.
    Bound(OpenedEnvelope),
    /// The bare token data, as the original Python service wrote it.
    Legacy(serde_json::Map<String, serde_json::Value>),
}

#[derive(Deserialize)]
struct OpenedEnvelope {
    #[serde(flatten)]
    row: WireBinding<'static>,
    data: serde_json::Value,
}

/// Why a ciphertext could not be opened. Never carries plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ciphertext of {0} cannot be decrypted with any configured key")]
    UnknownKey(String),
    #[error("ciphertext of {0} decrypts but is not a credential envelope")]
    Malformed(String),
    #[error("ciphertext of {row} is bound to another row ({bound_to}); refusing to serve it")]
    WrongRow { row: String, bound_to: String },
}

/// What a successful decryption yields: the token data, and whether the primary key was used.
pub struct Opened {
    pub data: serde_json::Value,
    /// Index in the key list of the key that decrypted it (0 = current encryption key).
    pub key_index: usize,
    /// False for a legacy ciphertext (bare token data, no row binding): re-seal it.
    pub bound: bool,
}

/// The configured keys: the first encrypts, all decrypt. Has no `Debug` output of its keys.
pub struct Vault {
    keys: Vec<Fernet>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({} key(s))", self.keys.len())
    }
}

impl Vault {
    /// Parses `SECRET_TOKEN_ENC_KEY`: one or more comma-separated keys or secrets. Errors say
    /// which entry is at fault, never what it contains.
    pub fn from_secrets(spec: &str) -> Result<Vault, String> {
        let keys = spec
            .split(',')
            .map(str::trim)
            .enumerate()
            .map(|(i, secret)| {
                if secret.is_empty() {
                    return Err(format!("SECRET_TOKEN_ENC_KEY entry {} is empty", i + 1));
                }
                fernet_from_secret(secret).ok_or_else(|| {
                    format!(
                        "SECRET_TOKEN_ENC_KEY entry {} is {FERNET_KEY_LEN} characters but not a valid \
                         Fernet key (url-safe base64 of 32 bytes); generate one with `tokenvault gen-key`",
                        i + 1
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Vault { keys })
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Encrypts `data` with the first key, bound to `to`.
    pub fn seal<'a>(&self, to: impl Into<SealedTo<'a>>, data: &serde_json::Value) -> String {
        let to = to.into();
        let envelope = SealedEnvelope {
            row: to.wire(),
            data,
        };
        // Serialising a struct of strings and a `Value` cannot fail.
        let plaintext = serde_json::to_vec(&envelope).unwrap_or_default();
        self.keys[0].encrypt(&plaintext)
    }

    /// Decrypts a ciphertext stored on `row`, refusing one that names another row.
    pub fn open<'a>(
        &self,
        row: impl Into<SealedTo<'a>>,
        ciphertext: &str,
    ) -> Result<Opened, CryptoError> {
        let row = row.into();
        let (key_index, plaintext) = self
            .keys
            .iter()
            .enumerate()
            .find_map(|(i, key)| key.decrypt(ciphertext).ok().map(|p| (i, p)))
            .ok_or_else(|| CryptoError::UnknownKey(row.to_string()))?;
        let envelope = match serde_json::from_slice(&plaintext) {
            Ok(Plaintext::Bound(envelope)) => envelope,
            Ok(Plaintext::Legacy(data)) => {
                return Ok(Opened {
                    data: serde_json::Value::Object(data),
                    key_index,
                    bound: false,
                });
            }
            Err(_) => return Err(CryptoError::Malformed(row.to_string())),
        };
        if envelope.row != row.wire() {
            return Err(CryptoError::WrongRow {
                row: row.to_string(),
                bound_to: envelope.row.to_string(),
            });
        }
        Ok(Opened {
            data: envelope.data,
            key_index,
            bound: true,
        })
    }
}

impl Vault {
    /// A check value sealed with the first key: proves later which key the data was written with.
    pub fn seal_check(&self) -> String {
        self.seal(
            SealedTo::KeyCheck,
            &serde_json::json!({"check": "tokenvault"}),
        )
    }

    /// Which configured key opens a check value.
    pub fn open_check(&self, ciphertext: &str) -> Result<usize, CryptoError> {
        self.open(SealedTo::KeyCheck, ciphertext)
            .map(|opened| opened.key_index)
    }
}

/// A 44-character value is used as a Fernet key; anything else is stretched with PBKDF2 exactly as
/// the original Python service did, so its data stays readable with the same setting.
fn fernet_from_secret(secret: &str) -> Option<Fernet> {
    if secret.len() == FERNET_KEY_LEN {
        return Fernet::new(secret);
    }
    Fernet::new(&stretch_secret(secret))
}

/// PBKDF2-HMAC-SHA256(secret, "agent_api_salt", 100 000 iterations, 32 bytes), url-safe base64.
pub fn stretch_secret(secret: &str) -> String {
    use base64::Engine;
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        secret.as_bytes(),
        STRETCH_SALT,
        STRETCH_ITERATIONS,
        &mut derived,
    );
    base64::engine::general_purpose::URL_SAFE.encode(derived)
}

/// A new random Fernet key.
pub fn generate_key() -> String {
    Fernet::generate_key()
}

/// Reads the generated key file in `dir`, creating it (mode 0600) when absent and `may_create`
/// (never over existing data). Returns the key and whether it was just created.
pub fn load_or_create_key_file(
    dir: &Path,
    may_create: bool,
) -> Result<(String, PathBuf, bool), String> {
    let path = dir.join(KEY_FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(key) => return Ok((key.trim().to_string(), path, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read key file {}: {e}", path.display())),
    }
    if !may_create {
        return Err(format!(
            "the key file {} is missing but the database holds encrypted data: restore the key \
             file, or set SECRET_TOKEN_ENC_KEY to the key the data was written with",
            path.display()
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    let key = generate_key();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(format!("{key}\n").as_bytes())
                .map_err(|e| format!("cannot write key file {}: {e}", path.display()))?;
            Ok((key, path, true))
        }
        // Another process created it between our read and our create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let key = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
            Ok((key.trim().to_string(), path, false))
        }
        Err(e) => Err(format!("cannot create key file {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> CredentialKey {
        CredentialKey::parse("acme", "user-42", "google").unwrap()
    }

    #[test]
    fn sealed_data_opens_on_its_own_row_only() {
        let vault = Vault::from_secrets(&generate_key()).unwrap();
        let data = serde_json::json!({"access_token": "ya29.secret"});
        let sealed = vault.seal(&row(), &data);
        assert!(!sealed.contains("ya29"));
        assert_eq!(vault.open(&row(), &sealed).unwrap().data, data);
        let other = CredentialKey {
            user_id: "user-43".into(),
            ..row()
        };
        let err = vault.open(&other, &sealed).err().unwrap();
        assert!(matches!(err, CryptoError::WrongRow { .. }));
        assert!(!err.to_string().contains("ya29"));
    }

    #[test]
    fn rotation_list_encrypts_with_first_and_decrypts_with_any() {
        let (new, old) = (generate_key(), generate_key());
        let data = serde_json::json!({"api_key": "sk-1"});
        let sealed_old = Vault::from_secrets(&old).unwrap().seal(&row(), &data);
        let both = Vault::from_secrets(&format!("{new},{old}")).unwrap();
        assert_eq!(both.open(&row(), &sealed_old).unwrap().key_index, 1);
        let sealed_new = both.seal(&row(), &data);
        assert_eq!(both.open(&row(), &sealed_new).unwrap().key_index, 0);
        assert!(
            Vault::from_secrets(&new)
                .unwrap()
                .open(&row(), &sealed_old)
                .is_err()
        );
    }

    #[test]
    fn short_secret_is_stretched_like_the_python_service() {
        // Reference value computed with Python's hashlib.pbkdf2_hmac("sha256", b"correct horse",
        // b"agent_api_salt", 100000, 32), url-safe base64.
        assert_eq!(
            stretch_secret("correct horse"),
            "emMyKgTcIf2V7M-1WEmxN8YDuA1h6yl1w0YPbwOjhUw="
        );
        assert!(Vault::from_secrets("correct horse").is_ok());
    }

    #[test]
    fn invalid_key_of_fernet_length_is_refused_without_echoing_it() {
        let bad = "!".repeat(44);
        let err = Vault::from_secrets(&bad).err().unwrap();
        assert!(!err.contains(&bad));
        assert!(Vault::from_secrets("a,,b").is_err());
    }
}
