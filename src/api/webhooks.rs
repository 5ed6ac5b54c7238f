//! `/v2/webhooks`: a tenant's webhook endpoints (admin scope) and their deliveries.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{AuthErrors, LimitQuery, NO_STORE, timestamp};
use crate::auth::Caller;
use crate::db::webhooks::{AttemptRow, MessageRow, WebhookRow};
use crate::error::{ApiError, ErrorBody};
use crate::model::WebhookEvent;
use crate::secret::Secret;
use crate::state::AppState;

/// Body of `POST /v2/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where events are POSTed: an absolute http(s) URL on a public address.
    #[schema(
        example = "https://app.example.com/hooks/tokenvault",
        max_length = 2048
    )]
    pub url: String,
    /// The event types to receive. Default: all of them.
    #[schema(value_type = Option<Vec<WebhookEvent>>, example = json!(["credential.invalid", "credential.recovered"]))]
    pub events: Option<Vec<String>>,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    #[schema(example = "wh_3kTMd9Qw2xYz8aBcD1eF")]
    pub id: String,
    pub url: String,
    #[schema(value_type = Vec<WebhookEvent>)]
    pub events: Vec<&'static str>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl Webhook {
    fn new(row: &WebhookRow) -> Webhook {
        Webhook {
            id: row.id.clone(),
            url: row.url.clone(),
            events: row.event_types().iter().map(|e| e.as_str()).collect(),
            created_at: timestamp(row.created_at),
        }
    }
}

/// A created endpoint and its signing secret, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The Standard Webhooks signing secret (`whsec_` + base64). Shown once: store it now.
    #[schema(value_type = String, example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Secret<String>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    #[schema(format = DateTime)]
    pub attempted_at: String,
    /// The receiver's HTTP status; null when there was no answer.
    pub status_code: Option<i32>,
    /// Why there was no answer (refused, timed out, refused target).
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One event sent (or being sent) to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    /// The `webhook-id` header of every attempt.
    #[schema(example = "msg_2Lx8mPq4rT6vW9yB1dF3hJ5k")]
    pub id: String,
    #[schema(value_type = WebhookEvent)]
    pub event_type: String,
    /// `pending` (retrying), `delivered` or `failed` (retries given up after a day).
    #[schema(example = "delivered")]
    pub state: &'static str,
    /// The body sent.
    pub payload: serde_json::Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// When the next attempt is due, while pending.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<DeliveryAttempt>,
}

impl WebhookDelivery {
    fn new(message: MessageRow, attempts: Vec<AttemptRow>) -> WebhookDelivery {
        let state = match (message.delivered_at, message.failed_at) {
            (Some(_), _) => "delivered",
            (None, Some(_)) => "failed",
            (None, None) => "pending",
        };
        let next_attempt_at = (state == "pending")
            .then(|| chrono::DateTime::from_timestamp_millis(message.next_attempt_at))
            .flatten()
            .map(|at| timestamp(at.naive_utc()));
        WebhookDelivery {
            payload: serde_json::from_str(&message.payload).unwrap_or_default(),
            id: message.id,
            event_type: message.event_type,
            state,
            created_at: timestamp(message.created_at),
            delivered_at: message.delivered_at.map(timestamp),
            next_attempt_at,
            attempts: attempts
                .into_iter()
                .map(|a| DeliveryAttempt {
                    attempted_at: timestamp(a.attempted_at),
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

/// Register a webhook endpoint; its signing secret is returned once.
///
/// Deliveries follow Standard Webhooks: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's
/// base64-decoded bytes. Loopback and private targets are refused unless the server allows them.
/// On PostgreSQL with the read cache on, the answer comes about 3 s after the endpoint is
/// saved: from then on, a change of a credential on any instance notifies it.
#[utoipa::path(
    operation_id = "createWebhook",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown only here", body = CreatedWebhook),
        (status = 400, description = "Invalid URL or event type; unknown field", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "The URL points to a loopback or private address, or the tenant has 50 webhooks", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[post("/v2/webhooks")]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("manage webhooks")?;
    let request = body.into_inner();
    let (row, secret) = state
        .webhooks
        .create(&caller.tenant, &request.url, request.events)
        .await?;
    tracing::info!(webhook_id = %row.id, "webhook created");
    Ok(HttpResponse::Created()
        .insert_header(NO_STORE)
        .json(CreatedWebhook {
            webhook: Webhook::new(&row),
            secret,
        }))
}

/// List the tenant's webhook endpoints (never their secrets).
#[utoipa::path(
    operation_id = "listWebhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Endpoints, oldest first", body = Vec<Webhook>),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[get("/v2/webhooks")]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("manage webhooks")?;
    let rows = state.webhooks.list(&caller.tenant).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(Webhook::new).collect::<Vec<_>>()))
}

/// Delete a webhook endpoint; its pending deliveries are dropped.
#[utoipa::path(
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id (wh_…)")),
    responses(
        (status = 200, description = "Deleted", body = Webhook),
        (status = 404, description = "No such webhook in this tenant", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[delete("/v2/webhooks/{id}")]
pub async fn remove(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("manage webhooks")?;
    let id = path.into_inner();
    let row = state.webhooks.delete(&caller.tenant, &id).await?;
    tracing::info!(webhook_id = %id, "webhook deleted");
    Ok(HttpResponse::Ok().json(Webhook::new(&row)))
}

/// List an endpoint's deliveries, newest first, each with its attempts.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id (wh_…)"), LimitQuery),
    responses(
        (status = 200, description = "Deliveries, newest first", body = Vec<WebhookDelivery>),
        (status = 400, description = "Invalid limit", body = ErrorBody),
        (status = 404, description = "No such webhook in this tenant", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []), ("access_token" = []))
)]
#[get("/v2/webhooks/{id}/deliveries")]
pub async fn deliveries(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("manage webhooks")?;
    let limit = query.limit()?;
    let found = state
        .webhooks
        .deliveries(&caller.tenant, &path.into_inner(), limit)
        .await?;
    let deliveries: Vec<_> = found
        .into_iter()
        .map(|(message, attempts)| WebhookDelivery::new(message, attempts))
        .collect();
    Ok(HttpResponse::Ok().json(deliveries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_webhook_shows_its_secret_in_json_only() {
        let created = CreatedWebhook {
            webhook: Webhook {
                id: "wh_1".into(),
                url: "https://app.example.com/hooks".into(),
                events: vec!["credential.invalid"],
                created_at: "2026-11-24T00:00:00Z".into(),
            },
            secret: Secret::new("whsec_c2VjcmV0".into()),
        };
        assert!(!format!("{created:?}").contains("whsec_c2VjcmV0"));
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["secret"], "whsec_c2VjcmV0");
        assert_eq!(json["id"], "wh_1");
    }
}
