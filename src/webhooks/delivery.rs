//! Webhook delivery: any instance polls the outbox, claims due messages with a lease, POSTs them
//! signed, and records each attempt. 2xx is delivered; anything else is retried with
//! exponential backoff and jitter (a `Retry-After` on 429 and 503 is honoured) for up to a day,
//! always with the same `webhook-id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{WebhookService, sign};
use crate::credentials::ErrorChain;
use crate::credentials::refresh::policy::{backoff, jitter};
use crate::db::webhooks::{AttemptResult, MessageRow, Next, WebhookRow};
use crate::db::{Db, DbError};
use crate::model::Clock;
use crate::providers::outbound::{client_builder, internal_literal, retry_after};

/// How long a receiver has to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A claimed message is another instance's to take after this (the delivery timeout, and a
/// margin).
const LEASE: Duration = Duration::from_secs(15);
/// How often an idle instance looks at the outbox.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries in flight per instance at most.
const CONCURRENCY: usize = 16;
/// Retrying stops this long after the event.
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Delivers the outbox.
#[derive(Clone)]
pub struct Deliverer {
    db: Db,
    webhooks: WebhookService,
    http: reqwest::Client,
    /// This instance's name in lease columns.
    owner: String,
    retry_base: Duration,
    allow_private: bool,
    clock: Clock,
}

impl Deliverer {
    pub fn new(
        db: Db,
        webhooks: WebhookService,
        (retry_base, allow_private): (Duration, bool),
        owner: String,
        clock: Clock,
    ) -> Result<Deliverer, String> {
        let http = client_builder(!allow_private)
            .timeout(DELIVERY_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Deliverer {
            db,
            webhooks,
            http,
            owner,
            retry_base,
            allow_private,
            clock,
        })
    }

    /// Polls forever, with at most `CONCURRENCY` deliveries in flight: a slow receiver holds
    /// its own messages, not everyone's.
    pub async fn run(self) {
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        loop {
            let free = permits.available_permits();
            if free == 0 {
                tokio::time::sleep(POLL).await;
                continue;
            }
            match self.claim(free).await {
                Ok(claimed) if claimed.is_empty() => tokio::time::sleep(POLL).await,
                Ok(claimed) => {
                    for message in claimed {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                            return;
                        };
                        let deliverer = self.clone();
                        tokio::spawn(async move {
                            deliverer.deliver(message).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %ErrorChain(&e), "webhook delivery poll failed; retrying");
                    tokio::time::sleep(POLL * 4).await;
                }
            }
        }
    }

    /// Claims up to `limit` messages due now (a lease each).
    async fn claim(&self, limit: usize) -> Result<Vec<MessageRow>, DbError> {
        let (owner, lease_ms) = (self.owner.clone(), millis(LEASE));
        let limit = i64::try_from(limit).unwrap_or(1);
        let now_ms = self.clock.now_millis();
        self.db
            .run(move |conn| {
                let due = MessageRow::due(conn, now_ms, limit)?;
                let mut claimed = Vec::new();
                for id in due {
                    let span = (now_ms, now_ms.saturating_add(lease_ms));
                    if let Some(message) = MessageRow::claim(conn, &id, &owner, span)? {
                        claimed.push(message);
                    }
                }
                crate::metrics::outbox_depth(MessageRow::pending(conn)?);
                Ok(claimed)
            })
            .await
    }

    /// One attempt at one claimed message, recorded.
    async fn deliver(&self, message: MessageRow) {
        let started = Instant::now();
        let attempted_at = self.clock.now_naive();
        let answer = self.attempt(&message).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let next = self.next_step(&message, &answer);
        let (status_code, error) = match answer {
            Answer::Status { code, .. } => (Some(i32::from(code)), None),
            Answer::Failed(why) => (None, Some(why)),
        };
        let outcome = match next {
            Next::Delivered => "delivered",
            Next::RetryAt(_) => "retry",
            Next::GiveUp => "given_up",
        };
        let latency = matches!(next, Next::Delivered)
            .then(|| (attempted_at - message.created_at).to_std().ok())
            .flatten()
            .map(|waited| waited + started.elapsed());
        crate::metrics::webhook_delivery(outcome, latency);
        tracing::info!(
            message_id = %message.id, webhook_id = %message.webhook_id,
            event = %message.event_type, status = ?status_code, error = ?error,
            attempt = message.attempts.saturating_add(1), outcome, "webhook delivery attempt"
        );
        let result = AttemptResult {
            attempted_at,
            status_code,
            error,
            duration_ms,
            next,
        };
        let (id, owner) = (message.id.clone(), self.owner.clone());
        let recorded = self
            .db
            .transaction(move |conn| Ok(MessageRow::record_attempt(conn, &id, &owner, &result)?))
            .await;
        if let Err(e) = recorded {
            // The lease runs out and the message is attempted again: at least once.
            tracing::warn!(message_id = %message.id, error = %ErrorChain(&e), "could not record a webhook attempt");
        }
    }

    /// POSTs the message to its endpoint.
    async fn attempt(&self, message: &MessageRow) -> Answer {
        let id = message.webhook_id.clone();
        let endpoint = match self
            .db
            .read(move |conn| Ok(WebhookRow::by_id(conn, &id)?))
            .await
        {
            Ok(Some(endpoint)) => endpoint,
            Ok(None) => return Answer::Failed("the webhook was deleted".into()),
            Err(e) => return Answer::Failed(format!("database: {e}")),
        };
        let url = match reqwest::Url::parse(&endpoint.url) {
            Ok(url) => url,
            Err(_) => return Answer::Failed("the webhook URL does not parse".into()),
        };
        // Names are checked by the client's resolver, on every connection.
        if let Some(what) = internal_literal(&url).filter(|_| !self.allow_private) {
            return Answer::Failed(format!("refused: the target is {what}"));
        }
        let secret = match self.webhooks.secret_of(&endpoint) {
            Ok(secret) => secret,
            Err(e) => return Answer::Failed(format!("the signing secret cannot be read: {e}")),
        };
        let timestamp = chrono::Utc::now().timestamp();
        let Some(signature) = sign(secret.as_str(), &message.id, timestamp, &message.payload)
        else {
            return Answer::Failed("the signing secret is malformed".into());
        };
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) => Answer::Status {
                code: response.status().as_u16(),
                retry_after: retry_after(response.headers(), self.clock.now()),
            },
            // Without the URL: it may carry a token of the receiver's.
            Err(e) => Answer::Failed(ErrorChain(&e.without_url()).to_string()),
        }
    }

    /// Delivered, or when to try again, or give up (a day after the event).
    fn next_step(&self, message: &MessageRow, answer: &Answer) -> Next {
        let asked = match answer {
            Answer::Status { code, .. } if (200..300).contains(code) => return Next::Delivered,
            Answer::Status {
                code: 429 | 503,
                retry_after,
            } => *retry_after,
            _ => None,
        };
        let backoff = backoff(self.retry_base, message.attempts, MAX_BACKOFF, jitter());
        let pause = asked.map_or(backoff, |asked| asked.max(backoff).min(MAX_AGE));
        let next_ms = self.clock.now_millis().saturating_add(millis(pause));
        let give_up_ms = message
            .created_at
            .and_utc()
            .timestamp_millis()
            .saturating_add(millis(MAX_AGE));
        match next_ms > give_up_ms {
            true => Next::GiveUp,
            false => Next::RetryAt(next_ms),
        }
    }
}

/// What the receiver did.
enum Answer {
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// No HTTP answer (refused, timed out, TLS) or not sent; why.
    Failed(String),
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// This instance's deliverer, polling in the background.
pub fn spawn(deliverer: Deliverer) -> tokio::task::JoinHandle<()> {
    tokio::spawn(deliverer.run())
}
