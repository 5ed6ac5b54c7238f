//! Liveness and readiness probes, and the metrics.

use actix_web::{HttpResponse, get, web};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// `/readyz` answers within this, whatever the database does.
const READY_WITHIN: Duration = Duration::from_millis(900);

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(
    operation_id = "checkLiveness",
    tag = "health",
    responses((status = 200, description = "The process answers", body = HealthStatus))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// Readiness: the database answers a round trip.
#[utoipa::path(
    operation_id = "checkReadiness",
    tag = "health",
    responses(
        (status = 200, description = "The database answers a round trip", body = HealthStatus),
        (status = 503, description = "The database is unreachable or did not answer within 0.9 s (`database_unavailable`, with `Retry-After`)", body = ErrorBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ping(READY_WITHIN).await?;
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ready" }))
}

/// `GET /metrics`: every metric, as OpenMetrics text (not in the OpenAPI document: it is for
/// Prometheus, not for clients; `TOKENVAULT_METRICS=false` removes it).
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let accept = req.headers().get(actix_web::http::header::ACCEPT);
    let cache = state.credentials.cache().map(|cache| cache.size());
    let text = crate::metrics::render(state.db.pool_state(), cache);
    match crate::metrics::wants_classic(accept.and_then(|v| v.to_str().ok())) {
        true => HttpResponse::Ok()
            .content_type(crate::metrics::CLASSIC_CONTENT_TYPE)
            .body(crate::metrics::classic(&text)),
        false => HttpResponse::Ok()
            .content_type(crate::metrics::CONTENT_TYPE)
            .body(text),
    }
}
