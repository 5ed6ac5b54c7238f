//! Standard Webhooks signing: the `whsec_` secret and the `webhook-signature` value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Error;
use crate::secret::{Secret, random_bytes};

/// The prefix of a signing secret; base64 of the key bytes follows.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a signing secret.
const SECRET_BYTES: usize = 32;

/// `whsec_` and the base64 of 32 random bytes.
pub(super) fn new_secret() -> Result<Secret<String>, Error> {
    let key = random_bytes::<SECRET_BYTES>().map_err(Error::internal)?;
    Ok(Secret::new(format!(
        "{SECRET_PREFIX}{}",
        STANDARD.encode(key)
    )))
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256, keyed with the secret's
/// decoded bytes, of `id.timestamp.body` (Standard Webhooks).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_follows_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference tests.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signed = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
