//! A tenant's webhook endpoints: create, list, delete, their deliveries, and re-sealing their
//! signing secrets under a new key.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use super::Error;
use super::signing::new_secret;
use super::target::{check_target, check_url};
use crate::crypto::{SealedTo, Vault};
use crate::db::webhooks::{AttemptRow, MessageRow, WebhookRow};
use crate::db::{self, Db, DbError};
use crate::model::WebhookEvent;
use crate::secret::{Secret, random_base62};

/// Endpoints per tenant.
const MAX_WEBHOOKS: usize = 50;

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
                secret_binding(tenant, &id),
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
        let tenant_owned = tenant.to_string();
        let created = self
            .db
            .transaction(move |conn| {
                // Write first: on SQLite a transaction that reads and then writes fails at once
                // when another connection wrote in between (an API key's last_used_at, say).
                WebhookRow::insert(conn, &inserted)?;
                if WebhookRow::list(conn, &tenant_owned)?.len() > MAX_WEBHOOKS {
                    WebhookRow::delete(conn, &tenant_owned, &inserted.id)?;
                    return Ok(false);
                }
                Ok(true)
            })
            .await?;
        if !created {
            return Err(Error::TooManyWebhooks(MAX_WEBHOOKS));
        }
        self.settle(tenant).await;
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
        // Only "nobody receives this" is served from the cache: a stale entry naming this
        // endpoint costs a read, never a message to it, so no instance needs to be waited for.
        self.db.subscriptions().forget(&row.tenant);
        deleted.then_some(row).ok_or(Error::NotFound)
    }

    /// After a new endpoint committed: this instance forgets the tenant's cached
    /// subscriptions at once, and the answer waits until every other instance either has heard
    /// of the endpoint or stopped trusting its cache, so a credential write on any instance
    /// after the answer notifies the endpoint.
    async fn settle(&self, tenant: &str) {
        let subscriptions = self.db.subscriptions();
        subscriptions.forget(tenant);
        if let Some(wait) = subscriptions.settle() {
            tokio::time::sleep(wait).await;
        }
    }

    /// "Retry now": an undelivered message of the tenant's endpoint `id` is due at once (the
    /// next delivery pass sends it), given up or not.
    pub async fn retry(
        &self,
        tenant: &str,
        (id, message_id): (&str, &str),
        now_ms: i64,
    ) -> Result<(), Error> {
        let (tenant, id, message) = (tenant.to_string(), id.to_string(), message_id.to_string());
        let retried = self
            .db
            .run(move |conn| {
                if WebhookRow::find(conn, &tenant, &id)?.is_none() {
                    return Ok(false);
                }
                Ok(MessageRow::retry_now(conn, &id, &message, now_ms)?)
            })
            .await?;
        if retried {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// The tenant's endpoint `id`.
    pub async fn find(&self, tenant: &str, id: &str) -> Result<WebhookRow, Error> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.db
            .read(move |conn| Ok(WebhookRow::find(conn, &tenant, &id)?))
            .await?
            .ok_or(Error::NotFound)
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
            .open(secret_binding(&row.tenant, &row.id), &row.secret_ciphertext)
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
        match vault.open(binding, &row.secret_ciphertext) {
            Ok(opened) if opened.key_index == 0 => {}
            Ok(opened) => {
                let new = vault.seal(binding, &opened.data);
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
fn secret_binding<'a>(tenant: &'a str, webhook_id: &'a str) -> SealedTo<'a> {
    SealedTo::WebhookSecret { tenant, webhook_id }
}

/// The event types asked for; none given: every type.
fn parse_events(events: Option<Vec<String>>) -> Result<Vec<WebhookEvent>, Error> {
    let Some(events) = events else {
        return Ok(WebhookEvent::ALL.to_vec());
    };
    if events.is_empty() {
        return Err(Error::BadEvents(
            "events must name at least one event type (or be left out for all)".into(),
        ));
    }
    let mut parsed = Vec::new();
    for name in &events {
        let event = name.parse::<WebhookEvent>().map_err(|_| {
            let known: Vec<_> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
            Error::BadEvents(format!(
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
