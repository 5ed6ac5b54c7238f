//! Webhook endpoints of a tenant (create, list, delete, their deliveries), the Standard Webhooks
//! signature, and which targets may be called at all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::Error;
use crate::credentials::model::{CredentialKey, WebhookEvent};
use crate::crypto::Vault;
use crate::db::webhooks::{AttemptRow, MessageRow, WebhookRow};
use crate::db::{self, Db, DbError};
use crate::secret::{Secret, random_base62, random_bytes};

/// The prefix of a signing secret; base64 of the key bytes follows.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a signing secret.
const SECRET_BYTES: usize = 32;
/// Endpoints per tenant.
const MAX_WEBHOOKS: usize = 50;
/// How long registering waits for a target's name to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// A tenant's webhook endpoints.
#[derive(Clone)]
pub struct WebhookService {
    db: Db,
    vault: Arc<Vault>,
    allow_private: bool,
}

/// A message and its attempts.
pub type Delivery = (MessageRow, Vec<AttemptRow>);

impl WebhookService {
    pub fn new(db: Db, vault: Arc<Vault>, allow_private: bool) -> WebhookService {
        WebhookService {
            db,
            vault,
            allow_private,
        }
    }

    /// Registers an endpoint for `events` (default: all): the row and its secret, shown once.
    pub async fn create(
        &self,
        tenant: &str,
        url: &str,
        events: Option<Vec<String>>,
    ) -> Result<(WebhookRow, Secret<String>), Error> {
        let url = check_url(url)?;
        check_target(&url, self.allow_private).await?;
        let events = parse_events(events)?;
        let id = format!("wh_{}", random_base62(20).map_err(Error::internal)?);
        let secret = new_secret()?;
        let row = WebhookRow {
            secret_ciphertext: self.vault.seal(
                &secret_binding(tenant, &id),
                &json!({ "secret": secret.as_str() }),
            ),
            id,
            tenant: tenant.to_string(),
            url: url.to_string(),
            events: serde_json::to_string(&events.iter().map(|e| e.as_str()).collect::<Vec<_>>())
                .map_err(Error::internal)?,
            created_at: db::now(),
        };
        let inserted = row.clone();
        let tenant = tenant.to_string();
        let created = self
            .db
            .transaction(move |conn| {
                // Write first: on SQLite a transaction that reads and then writes fails at once
                // when another connection wrote in between (an API key's last_used_at, say).
                WebhookRow::insert(conn, &inserted)?;
                if WebhookRow::list(conn, &tenant)?.len() > MAX_WEBHOOKS {
                    WebhookRow::delete(conn, &tenant, &inserted.id)?;
                    return Ok(false);
                }
                Ok(true)
            })
            .await?;
        if !created {
            return Err(Error::Unprocessable(format!(
                "A tenant can have at most {MAX_WEBHOOKS} webhooks; delete one first"
            )));
        }
        Ok((row, secret))
    }

    pub async fn list(&self, tenant: &str) -> Result<Vec<WebhookRow>, Error> {
        let tenant = tenant.to_string();
        Ok(self
            .db
            .read(move |conn| Ok(WebhookRow::list(conn, &tenant)?))
            .await?)
    }

    /// Deletes an endpoint with its messages: what it was.
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<WebhookRow, Error> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        // Read, then delete in a transaction that starts with its write (see `create`); an
        // endpoint never changes after creation, so what was read is what is deleted.
        let (t, i) = (tenant.clone(), id.clone());
        let row = self
            .db
            .read(move |conn| Ok(WebhookRow::find(conn, &t, &i)?))
            .await?
            .ok_or(Error::NotFound)?;
        let deleted = self
            .db
            .transaction(move |conn| Ok(WebhookRow::delete(conn, &tenant, &id)?))
            .await?;
        deleted.then_some(row).ok_or(Error::NotFound)
    }

    /// The newest `limit` messages of an endpoint with their attempts.
    pub async fn deliveries(
        &self,
        tenant: &str,
        id: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>, Error> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let found = self
            .db
            .read(move |conn| {
                if WebhookRow::find(conn, &tenant, &id)?.is_none() {
                    return Ok(None);
                }
                let messages = MessageRow::list(conn, &id, limit)?;
                let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
                let attempts = MessageRow::attempts(conn, &ids)?;
                Ok(Some((messages, attempts)))
            })
            .await?;
        let (messages, attempts) = found.ok_or(Error::NotFound)?;
        let mut by_message: HashMap<String, Vec<AttemptRow>> = HashMap::new();
        for attempt in attempts {
            by_message
                .entry(attempt.message_id.clone())
                .or_default()
                .push(attempt);
        }
        Ok(messages
            .into_iter()
            .map(|message| {
                let mine = by_message.remove(&message.id).unwrap_or_default();
                (message, mine)
            })
            .collect())
    }

    /// The signing secret of an endpoint.
    pub fn secret_of(&self, row: &WebhookRow) -> Result<Secret<String>, Error> {
        let opened = self
            .vault
            .open(
                &secret_binding(&row.tenant, &row.id),
                &row.secret_ciphertext,
            )
            .map_err(Error::internal)?;
        opened
            .data
            .get("secret")
            .and_then(|s| s.as_str())
            .map(|s| Secret::new(s.to_string()))
            .ok_or_else(|| Error::internal(DbError::Missing("webhook secret")))
    }
}

/// Re-seals every webhook signing secret under the vault's first key (`rotate-key`): how many
/// were re-sealed, and the ids of those no configured key opens.
pub fn reseal_secrets(db: &Db, vault: &Vault) -> Result<(usize, Vec<String>), DbError> {
    let rows = db.run_blocking(|conn| Ok(WebhookRow::all(conn)?))?;
    let (mut resealed, mut failed) = (0, Vec::new());
    for row in rows {
        let binding = secret_binding(&row.tenant, &row.id);
        match vault.open(&binding, &row.secret_ciphertext) {
            Ok(opened) if opened.key_index == 0 => {}
            Ok(opened) => {
                let new = vault.seal(&binding, &opened.data);
                let old = row.secret_ciphertext.clone();
                // Secrets never change after creation; a lost swap means the row was deleted.
                if db
                    .run_blocking(|conn| Ok(WebhookRow::swap_secret(conn, &row.id, &old, &new)?))?
                {
                    resealed += 1;
                }
            }
            Err(_) => failed.push(row.id.clone()),
        }
    }
    Ok((resealed, failed))
}

/// What a webhook secret is sealed to: its tenant and id, so it cannot be moved to another row.
fn secret_binding(tenant: &str, id: &str) -> CredentialKey {
    CredentialKey {
        tenant: tenant.to_string(),
        user_id: "\u{0}webhook".to_string(),
        integration_key: id.to_string(),
    }
}

/// `whsec_` and the base64 of 32 random bytes.
fn new_secret() -> Result<Secret<String>, Error> {
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

/// The event types asked for; none given: every type.
fn parse_events(events: Option<Vec<String>>) -> Result<Vec<WebhookEvent>, Error> {
    let Some(events) = events else {
        return Ok(WebhookEvent::ALL.to_vec());
    };
    if events.is_empty() {
        return Err(Error::Invalid(
            "events must name at least one event type (or be left out for all)".into(),
        ));
    }
    let mut parsed = Vec::new();
    for name in &events {
        let event = name.parse::<WebhookEvent>().map_err(|_| {
            let known: Vec<_> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            Error::Invalid(format!(
                "unknown event type {name:?}; known: {}",
                known.join(", ")
            ))
        })?;
        if !parsed.contains(&event) {
            parsed.push(event);
        }
    }
    Ok(parsed)
}

/// An absolute http(s) URL with a host and no credentials in it.
fn check_url(url: &str) -> Result<reqwest::Url, Error> {
    let bad = |why: &str| Error::Invalid(format!("url {why}"));
    if url.chars().count() > MAX_URL_LEN {
        return Err(bad(&format!("is longer than {MAX_URL_LEN} characters")));
    }
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|_| bad("must be an absolute http(s) URL, e.g. https://app.example.com/hooks"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad(
            "must be an absolute http(s) URL, e.g. https://app.example.com/hooks",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not contain a user name or password"));
    }
    Ok(parsed)
}

/// Refuses a target on loopback, private, link-local or otherwise internal addresses (by the
/// literal address, or every address its name resolves to), unless allowed.
pub async fn check_target(url: &reqwest::Url, allow_private: bool) -> Result<(), Error> {
    if allow_private {
        return Ok(());
    }
    if let Some(what) = internal_literal(url) {
        return Err(refused(&what));
    }
    let Some(url::Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    // A name that does not resolve in time is checked again at every delivery (the delivery
    // client's resolver connects to public addresses only).
    let addresses = tokio::time::timeout(RESOLVE_TIMEOUT, resolve(name, port))
        .await
        .unwrap_or_default();
    match addresses.iter().find(|ip| is_internal(**ip)) {
        Some(ip) => Err(refused(&format!("the internal address {ip}"))),
        None => Ok(()),
    }
}

/// What is internal about a URL's host without resolving it: an internal literal address, or
/// `localhost`.
pub fn internal_literal(url: &reqwest::Url) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local = name == "localhost" || name.ends_with(".localhost");
            return local.then(|| "localhost".to_string());
        }
    };
    is_internal(ip).then(|| format!("the internal address {ip}"))
}

fn refused(what: &str) -> Error {
    Error::Unprocessable(format!(
        "url points to {what}; webhook targets must be public addresses \
         (TOKENVAULT_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"
    ))
}

/// The addresses `name` resolves to (none if it does not resolve: the delivery will fail and
/// be retried, and checked again).
pub async fn resolve(name: &str, port: u16) -> Vec<IpAddr> {
    use std::net::ToSocketAddrs;
    let target = format!("{name}:{port}");
    tokio::task::spawn_blocking(move || {
        target
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// Loopback, private, link-local, shared, unspecified, multicast and documentation addresses.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn signature_follows_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference tests.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signed = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
