//! Signed JWTs a credential presents to mint an access token: the RFC 7523 JWT-bearer assertion
//! (Google service accounts and any authorization server that accepts them) and a GitHub App's
//! JWT. `jsonwebtoken` assembles and encodes them; the signatures are `ring`'s (already the TLS
//! provider here), plugged in as `jsonwebtoken`'s crypto provider. RS256 and ES256 only.
//!
//! Keys come as PEM: RSA (PKCS#8 `PRIVATE KEY`, or PKCS#1 `RSA PRIVATE KEY` as GitHub hands
//! them out) or EC P-256 (PKCS#8). Nothing here puts key material in an error or `Debug`.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::signature::{self, Signer};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;

use crate::secret::Secret;

/// The longest life of an RFC 7523 assertion (Google refuses more than an hour).
pub const MAX_ASSERTION_SECS: i64 = 3600;
/// The life of a GitHub App JWT: GitHub refuses more than ten minutes; nine leaves room for a
/// clock ahead of GitHub's.
pub const APP_JWT_SECS: i64 = 540;
/// How far `iat` is set back against clocks behind ours (GitHub's advice).
pub const CLOCK_SKEW_SECS: i64 = 60;

/// Why a private key cannot sign. Names the problem, never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("is not a PEM private key")]
    NotPem,
    #[error(
        "is a SEC1 EC key (BEGIN EC PRIVATE KEY); convert it to PKCS#8 with \
         `openssl pkcs8 -topk8 -nocrypt`"
    )]
    Sec1,
    #[error("is neither an RSA key nor an EC P-256 key")]
    Unsupported,
    #[error("could not sign with it")]
    Signing,
}

/// A parsed private key: which algorithm it signs with, and its DER (PKCS#8, or PKCS#1 for RSA).
pub struct SigningKey {
    algorithm: Algorithm,
    der: Secret<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PEM private key and checks that `ring` can sign with it.
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let der =
            PrivateKeyDer::from_pem_slice(pem.trim().as_bytes()).map_err(|_| KeyError::NotPem)?;
        let (algorithm, bytes) = match &der {
            PrivateKeyDer::Pkcs1(key) => (Algorithm::RS256, key.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(_) => return Err(KeyError::Sec1),
            PrivateKeyDer::Pkcs8(key) => {
                let bytes = key.secret_pkcs8_der();
                let algorithm = match RsaKeyPair::from_pkcs8(bytes) {
                    Ok(_) => Algorithm::RS256,
                    Err(_) => Algorithm::ES256,
                };
                (algorithm, bytes)
            }
            _ => return Err(KeyError::Unsupported),
        };
        let key = SigningKey {
            algorithm,
            der: Secret::new(bytes.to_vec()),
        };
        signer(algorithm, key.der.expose()).map_err(|_| KeyError::Unsupported)?;
        Ok(key)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A compact JWS of `claims`, with `kid` in the header when given.
    pub fn sign<C: Serialize>(&self, claims: &C, kid: Option<&str>) -> Result<String, KeyError> {
        install();
        let mut header = Header::new(self.algorithm);
        header.kid = kid.map(String::from);
        let key = match self.algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_der(self.der.expose()),
            _ => EncodingKey::from_rsa_der(self.der.expose()),
        };
        jsonwebtoken::encode(&header, claims, &key).map_err(|_| KeyError::Signing)
    }
}

/// The claims of an RFC 7523 §3 assertion (Google puts `scope` among them).
#[derive(Debug, Serialize)]
pub struct AssertionClaims<'a> {
    pub iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<&'a str>,
    pub aud: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a str>,
}

/// The claims of a GitHub App JWT.
#[derive(Debug, Serialize)]
pub struct AppClaims<'a> {
    pub iss: &'a str,
    pub iat: i64,
    pub exp: i64,
}

/// A random `jti`: 128 bits, hex; `None` when the system generator fails (a fixed one would
/// be refused as a replay).
pub fn random_jti() -> Option<String> {
    let bytes = crate::secret::random_bytes::<16>().ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A ring signer for one algorithm and DER key.
enum RingSigner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

fn signer(algorithm: Algorithm, der: &[u8]) -> Result<RingSigner, KeyError> {
    match algorithm {
        Algorithm::RS256 => RsaKeyPair::from_pkcs8(der)
            .or_else(|_| RsaKeyPair::from_der(der))
            .map(RingSigner::Rsa)
            .map_err(|_| KeyError::Unsupported),
        Algorithm::ES256 => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map(RingSigner::Ec)
                .map_err(|_| KeyError::Unsupported)
        }
        _ => Err(KeyError::Unsupported),
    }
}

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let rng = SystemRandom::new();
        match self {
            RingSigner::Rsa(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(|_| signature::Error::new())?;
                Ok(out)
            }
            RingSigner::Ec(pair) => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        match self {
            RingSigner::Rsa(_) => Algorithm::RS256,
            RingSigner::Ec(_) => Algorithm::ES256,
        }
    }
}

fn signer_factory(
    algorithm: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    match signer(*algorithm, key.as_bytes()) {
        Ok(signer) => Ok(Box::new(signer)),
        Err(_) => Err(ErrorKind::InvalidKeyFormat.into()),
    }
}

/// tokenvault signs and never verifies.
fn verifier_factory(
    _: &Algorithm,
    _: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

static RING: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes ring `jsonwebtoken`'s provider for this process (a second call is harmless).
fn install() {
    let _ = RING.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_cannot_sign_are_named_without_their_content() {
        assert_eq!(
            SigningKey::from_pem("not a key").unwrap_err(),
            KeyError::NotPem
        );
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\nAwEHoUQDQgAEPR3tU2Fta9ktY+6P9G0cWO+0kETA6SFs38GecTyfWxr4aZ+8GVZ3\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(sec1).unwrap_err(), KeyError::Sec1);
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            SigningKey::from_pem(garbage).unwrap_err(),
            KeyError::Unsupported
        );
    }

    #[test]
    fn an_ec_key_signs_es256_and_debug_shows_no_key() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pem = pem_of("PRIVATE KEY", pkcs8.as_ref());
        let key = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(key.algorithm(), Algorithm::ES256);
        let claims = AppClaims {
            iss: "1",
            iat: 0,
            exp: 1,
        };
        let jwt = key.sign(&claims, Some("k1")).unwrap();
        assert_eq!(jwt.split('.').count(), 3);
        assert!(!format!("{key:?}").contains(&pem[30..60]));
    }

    fn pem_of(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }
}
