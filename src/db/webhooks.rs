//! The webhook tables: `webhooks` (a tenant's endpoints), `webhook_messages` (the outbox: one
//! message per event and endpoint, claimed by a lease, retried until delivered or given up) and
//! `webhook_attempts` (every delivery attempt of a message).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::Error as DieselError;

use super::DbConnection;
use super::notify::notify;
use super::schema::{webhook_attempts, webhook_messages, webhooks};
use super::subscriptions;
use crate::model::{CredentialKey, TokenStatus, WebhookEvent};
use crate::secret::random_base62;

/// A webhook endpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct WebhookRow {
    pub id: String,
    pub tenant: String,
    pub url: String,
    /// JSON array of the event types it receives.
    pub events: String,
    /// The signing secret, sealed.
    pub secret_ciphertext: String,
    pub created_at: NaiveDateTime,
}

impl WebhookRow {
    /// The event types it receives (an unreadable list: none).
    pub fn event_types(&self) -> Vec<WebhookEvent> {
        serde_json::from_str::<Vec<String>>(&self.events)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.parse().ok())
            .collect()
    }

    /// Inserts an endpoint; every instance forgets the tenant's cached subscriptions at commit.
    pub fn insert(conn: &mut DbConnection, row: &WebhookRow) -> QueryResult<()> {
        diesel::insert_into(webhooks::table)
            .values(row)
            .execute(conn)?;
        notify(conn, subscriptions::CHANNEL, &row.tenant)
    }

    pub fn list(conn: &mut DbConnection, tenant: &str) -> QueryResult<Vec<WebhookRow>> {
        webhooks::table
            .filter(webhooks::tenant.eq(tenant))
            .order(webhooks::created_at.asc())
            .select(WebhookRow::as_select())
            .load(conn)
    }

    pub fn find(conn: &mut DbConnection, tenant: &str, id: &str) -> QueryResult<Option<Self>> {
        webhooks::table
            .filter(webhooks::tenant.eq(tenant))
            .filter(webhooks::id.eq(id))
            .select(WebhookRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Self>> {
        webhooks::table
            .find(id)
            .select(WebhookRow::as_select())
            .first(conn)
            .optional()
    }

    /// Every endpoint of every tenant (key rotation).
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<WebhookRow>> {
        webhooks::table
            .order(webhooks::id.asc())
            .select(WebhookRow::as_select())
            .load(conn)
    }

    /// Swaps the sealed secret if it is still `old`. True when swapped.
    pub fn swap_secret(
        conn: &mut DbConnection,
        id: &str,
        old: &str,
        new: &str,
    ) -> QueryResult<bool> {
        let swapped = diesel::update(
            webhooks::table
                .find(id)
                .filter(webhooks::secret_ciphertext.eq(old)),
        )
        .set(webhooks::secret_ciphertext.eq(new))
        .execute(conn)?;
        Ok(swapped > 0)
    }

    /// Deletes an endpoint with its messages and their attempts; false when there was none.
    pub fn delete(conn: &mut DbConnection, tenant: &str, id: &str) -> QueryResult<bool> {
        let deleted = diesel::delete(
            webhooks::table
                .filter(webhooks::tenant.eq(tenant))
                .filter(webhooks::id.eq(id)),
        )
        .execute(conn)?;
        if deleted == 0 {
            return Ok(false);
        }
        notify(conn, subscriptions::CHANNEL, tenant)?;
        let messages: Vec<String> = webhook_messages::table
            .filter(webhook_messages::webhook_id.eq(id))
            .select(webhook_messages::id)
            .load(conn)?;
        diesel::delete(
            webhook_attempts::table.filter(webhook_attempts::message_id.eq_any(messages)),
        )
        .execute(conn)?;
        diesel::delete(webhook_messages::table.filter(webhook_messages::webhook_id.eq(id)))
            .execute(conn)?;
        Ok(true)
    }
}

/// Something that happened to a credential, for the tenant's webhooks. Never holds a secret.
#[derive(Debug)]
pub struct Notice<'a> {
    pub event: WebhookEvent,
    pub key: &'a CredentialKey,
    pub provider: &'a str,
    /// The credential's status after the change; `None` once deleted (the payload says
    /// `deleted`).
    pub status: Option<TokenStatus>,
    pub reason: Option<&'a str>,
    pub at: NaiveDateTime,
}

/// An outbox message.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_messages)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MessageRow {
    /// The `webhook-id` of every delivery attempt.
    pub id: String,
    pub webhook_id: String,
    pub tenant: String,
    pub event_type: String,
    /// The JSON body sent.
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    /// Unix milliseconds.
    pub next_attempt_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub delivered_at: Option<NaiveDateTime>,
    /// When retrying was given up.
    pub failed_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AttemptRow {
    pub id: i64,
    pub message_id: String,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What one delivery attempt found, and what happens next.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub next: Next,
}

/// After an attempt.
#[derive(Debug, Clone, Copy)]
pub enum Next {
    Delivered,
    /// Try again at (unix milliseconds).
    RetryAt(i64),
    GiveUp,
}

impl MessageRow {
    /// Writes `notice` to the outbox once for each of `endpoints` (the tenant's, as read in
    /// the caller's transaction) that receives its event type. The number of messages written.
    /// Through `Subscriptions::enqueue`, which knows when there is nothing to read.
    pub(super) fn enqueue(
        conn: &mut DbConnection,
        endpoints: &[WebhookRow],
        notice: &Notice<'_>,
    ) -> QueryResult<usize> {
        let subscribed: Vec<_> = endpoints
            .iter()
            .filter(|w| w.event_types().contains(&notice.event))
            .collect();
        if subscribed.is_empty() {
            return Ok(0);
        }
        let payload = serde_json::json!({
            "type": notice.event.as_str(),
            "timestamp": notice.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": {
                "user_id": notice.key.user_id,
                "integration_key": notice.key.integration_key,
                "provider": notice.provider,
                "status": notice.status.map_or("deleted", TokenStatus::as_str),
                "reason": notice.reason,
            },
        })
        .to_string();
        let now_ms = notice.at.and_utc().timestamp_millis();
        for endpoint in &subscribed {
            let id = random_base62(24).map_err(|e| DieselError::QueryBuilderError(Box::new(e)))?;
            let row = MessageRow {
                id: format!("msg_{id}"),
                webhook_id: endpoint.id.clone(),
                tenant: endpoint.tenant.clone(),
                event_type: notice.event.as_str().to_string(),
                payload: payload.clone(),
                created_at: notice.at,
                attempts: 0,
                next_attempt_at: now_ms,
                lease_owner: None,
                lease_until: None,
                delivered_at: None,
                failed_at: None,
                last_status: None,
                last_error: None,
            };
            diesel::insert_into(webhook_messages::table)
                .values(&row)
                .execute(conn)?;
        }
        Ok(subscribed.len())
    }

    /// Makes an undelivered message of endpoint `webhook_id` due at `now_ms` again, given up or
    /// not ("retry now"): whether there was one.
    pub fn retry_now(
        conn: &mut DbConnection,
        webhook_id: &str,
        id: &str,
        now_ms: i64,
    ) -> QueryResult<bool> {
        let changed = diesel::update(
            webhook_messages::table
                .find(id)
                .filter(webhook_messages::webhook_id.eq(webhook_id))
                .filter(webhook_messages::delivered_at.is_null()),
        )
        .set((
            webhook_messages::next_attempt_at.eq(now_ms),
            webhook_messages::failed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Up to `limit` ids of messages due at `now_ms` that nobody holds.
    pub fn due(conn: &mut DbConnection, now_ms: i64, limit: i64) -> QueryResult<Vec<String>> {
        webhook_messages::table
            .filter(webhook_messages::delivered_at.is_null())
            .filter(webhook_messages::failed_at.is_null())
            .filter(webhook_messages::next_attempt_at.le(now_ms))
            .filter(
                webhook_messages::lease_until
                    .is_null()
                    .or(webhook_messages::lease_until.lt(now_ms)),
            )
            .order(webhook_messages::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_messages::id)
            .load(conn)
    }

    /// Takes the message for `owner` until `until_ms` by compare-and-set: only if it is still
    /// undelivered and no other lease is live. The message when taken.
    pub fn claim(
        conn: &mut DbConnection,
        id: &str,
        owner: &str,
        (now_ms, until_ms): (i64, i64),
    ) -> QueryResult<Option<MessageRow>> {
        let taken = diesel::update(
            webhook_messages::table
                .find(id)
                .filter(webhook_messages::delivered_at.is_null())
                .filter(webhook_messages::failed_at.is_null())
                .filter(
                    webhook_messages::lease_until
                        .is_null()
                        .or(webhook_messages::lease_until.lt(now_ms)),
                ),
        )
        .set((
            webhook_messages::lease_owner.eq(owner),
            webhook_messages::lease_until.eq(until_ms),
        ))
        .execute(conn)?;
        if taken == 0 {
            return Ok(None);
        }
        webhook_messages::table
            .find(id)
            .select(MessageRow::as_select())
            .first(conn)
            .optional()
    }

    /// Records an attempt and its consequence, releasing the lease `owner` holds.
    pub fn record_attempt(
        conn: &mut DbConnection,
        id: &str,
        owner: &str,
        result: &AttemptResult,
    ) -> QueryResult<bool> {
        let mine = webhook_messages::table
            .find(id)
            .filter(webhook_messages::lease_owner.eq(owner));
        let (delivered_at, failed_at, next_attempt_at) = match result.next {
            Next::Delivered => (Some(result.attempted_at), None, None),
            Next::GiveUp => (None, Some(result.attempted_at), None),
            Next::RetryAt(at) => (None, None, Some(at)),
        };
        let updated = diesel::update(mine)
            .set((
                webhook_messages::attempts.eq(webhook_messages::attempts + 1),
                webhook_messages::lease_owner.eq(None::<String>),
                webhook_messages::lease_until.eq(None::<i64>),
                webhook_messages::delivered_at.eq(delivered_at),
                webhook_messages::failed_at.eq(failed_at),
                webhook_messages::last_status.eq(result.status_code),
                webhook_messages::last_error.eq(result.error.as_deref()),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Ok(false);
        }
        if let Some(at) = next_attempt_at {
            diesel::update(webhook_messages::table.find(id))
                .set(webhook_messages::next_attempt_at.eq(at))
                .execute(conn)?;
        }
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::message_id.eq(id),
                webhook_attempts::attempted_at.eq(result.attempted_at),
                webhook_attempts::status_code.eq(result.status_code),
                webhook_attempts::error.eq(result.error.as_deref()),
                webhook_attempts::duration_ms.eq(result.duration_ms),
            ))
            .execute(conn)?;
        Ok(true)
    }

    /// A webhook's newest `limit` messages, newest first.
    pub fn list(
        conn: &mut DbConnection,
        webhook_id: &str,
        limit: i64,
    ) -> QueryResult<Vec<MessageRow>> {
        webhook_messages::table
            .filter(webhook_messages::webhook_id.eq(webhook_id))
            .order((
                webhook_messages::created_at.desc(),
                webhook_messages::id.desc(),
            ))
            .limit(limit)
            .select(MessageRow::as_select())
            .load(conn)
    }

    /// The attempts of these messages, oldest first.
    pub fn attempts(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<AttemptRow>> {
        webhook_attempts::table
            .filter(webhook_attempts::message_id.eq_any(ids))
            .order(webhook_attempts::id.asc())
            .select(AttemptRow::as_select())
            .load(conn)
    }

    /// Messages not yet delivered nor given up.
    pub fn pending(conn: &mut DbConnection) -> QueryResult<i64> {
        webhook_messages::table
            .filter(webhook_messages::delivered_at.is_null())
            .filter(webhook_messages::failed_at.is_null())
            .count()
            .get_result(conn)
    }

    /// Deletes up to `limit` messages delivered or given up before `before`, with their
    /// attempts: how many.
    pub fn purge_finished(
        conn: &mut DbConnection,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        let finished = webhook_messages::delivered_at
            .lt(before)
            .or(webhook_messages::failed_at.lt(before));
        let ids: Vec<String> = webhook_messages::table
            .filter(finished)
            .select(webhook_messages::id)
            .limit(limit)
            .load(conn)?;
        diesel::delete(webhook_attempts::table.filter(webhook_attempts::message_id.eq_any(&ids)))
            .execute(conn)?;
        diesel::delete(webhook_messages::table.filter(webhook_messages::id.eq_any(&ids)))
            .execute(conn)
    }
}
