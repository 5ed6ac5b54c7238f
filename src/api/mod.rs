//! The HTTP surface: route registration, the OpenAPI document, and the JSON error answers for
//! everything actix itself would answer in plain text (bad JSON, bad path, unknown route, 405).

pub mod access_tokens;
pub mod api_keys;
pub mod connect;
pub mod connect_sessions;
pub mod extract;
pub mod health;
pub mod observe;
pub mod openapi;
pub mod pages;
pub mod providers;
pub mod proxy;
pub mod tokens;
pub mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, error, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::state::AppState;
pub use openapi::AuthErrors;

/// `?limit=` of the newest-first lists (a credential's events, a webhook's deliveries).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    /// How many, newest first: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl LimitQuery {
    /// The limit asked for, checked; 50 when none.
    pub fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::InvalidRequest(
                "limit must be between 1 and 500".into(),
            ));
        }
        Ok(limit)
    }
}

/// What a body that did not arrive in time reads as (see `bound_body`).
const BODY_TIMED_OUT: &str = "request body not received in time";

/// Bounds the time a client may take to send its body: after `TOKENVAULT_CLIENT_TIMEOUT_SECS`
/// the body reads as an error that the JSON readers answer with 408 `request_timeout`. A
/// proxied body may be large: the proxy bounds each pause instead (`api::proxy`).
pub async fn bound_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    use futures_util::StreamExt;
    let has_body = (req.headers().contains_key(CONTENT_LENGTH)
        || req.headers().contains_key(TRANSFER_ENCODING))
        && !proxy::is_proxy_path(req.path());
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.config.client_timeout);
    if let (true, Some(limit)) = (has_body, limit) {
        let deadline = tokio::time::Instant::now() + limit;
        let body =
            futures_util::stream::unfold(Some(req.take_payload()), move |payload| async move {
                let mut payload = payload?;
                match tokio::time::timeout_at(deadline, payload.next()).await {
                    Ok(Some(chunk)) => Some((chunk, Some(payload))),
                    Ok(None) => None,
                    Err(_) => {
                        let late =
                            std::io::Error::new(std::io::ErrorKind::TimedOut, BODY_TIMED_OUT);
                        Some((Err(error::PayloadError::Io(late)), None))
                    }
                }
            });
        let body: std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>> = Box::pin(body);
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    next.call(req).await
}

/// Swagger UI answers an unknown file with an empty 404: give it the JSON error shape too.
pub async fn swagger_not_found(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let swagger = req.path().starts_with("/swagger-ui/");
    let response = next.call(req).await?;
    if !(swagger && response.status() == actix_web::http::StatusCode::NOT_FOUND) {
        return Ok(response.map_into_left_body());
    }
    let (req, _) = response.into_parts();
    let path = req.path().to_string();
    let shaped = ApiError::NotFound(format!("No Swagger UI file at {path}")).error_response();
    Ok(ServiceResponse::new(req, shaped).map_into_right_body())
}

/// Whether a body read failed because the client was too slow.
fn timed_out(error: &error::PayloadError) -> bool {
    matches!(error, error::PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Registers every documented route. The router tries routes in this order: the hot path
/// (GET of a credential) comes first.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(tokens::get)
        .service(tokens::store)
        .service(tokens::list)
        .service(tokens::delete)
        .service(tokens::refresh)
        .service(tokens::events)
        .service(connect::start)
        .service(connect::status)
        .service(connect::callback)
        .service(connect_sessions::create)
        .service(connect_sessions::get)
        .service(providers::list)
        .service(providers::create)
        .service(providers::get)
        .service(providers::update)
        .service(providers::remove)
        .service(proxy::forward)
        .service(access_tokens::create)
        .service(access_tokens::list)
        .service(access_tokens::destroy)
        .service(api_keys::create)
        .service(api_keys::list)
        .service(api_keys::revoke)
        .service(webhooks::create)
        .service(webhooks::list)
        .service(webhooks::remove)
        .service(webhooks::deliveries)
        .service(health::healthz)
        .service(health::readyz);
}

/// The client timeout in seconds, for the 408 message.
fn req_timeout_secs(req: &HttpRequest) -> u64 {
    req.app_data::<web::Data<AppState>>()
        .map_or(10, |state| state.config.client_timeout.as_secs())
}

/// JSON bodies: size limit and JSON errors.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|err, req| {
            let api_error = match &err {
                error::JsonPayloadError::Overflow { .. }
                | error::JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError::PayloadTooLarge { limit: BODY_LIMIT }
                }
                error::JsonPayloadError::Payload(e) if timed_out(e) => {
                    let secs = req_timeout_secs(req);
                    ApiError::RequestTimeout { secs }
                }
                error::JsonPayloadError::ContentType => {
                    ApiError::InvalidRequest("Content-Type must be application/json".into())
                }
                error::JsonPayloadError::Deserialize(e) if e.is_data() => {
                    ApiError::InvalidRequest(format!("Invalid request body: {e}"))
                }
                error::JsonPayloadError::Deserialize(e) => {
                    ApiError::InvalidRequest(format!("Malformed JSON body: {e}"))
                }
                _ => ApiError::InvalidRequest("Could not read the request body".into()),
            };
            error::InternalError::from_response(err, api_error.error_response()).into()
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let response = ApiError::InvalidRequest(format!("Invalid path: {err}")).error_response();
        error::InternalError::from_response(err, response).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let response =
            ApiError::InvalidRequest(format!("Invalid query string: {err}")).error_response();
        error::InternalError::from_response(err, response).into()
    })
}

/// Reads an optional JSON body: empty (or `null`) means `T::default()`. Same limits and errors as JSON
/// bodies elsewhere.
pub async fn read_optional_json<T>(
    state: &AppState,
    mut payload: web::Payload,
) -> Result<T, ApiError>
where
    T: serde::de::DeserializeOwned + Default,
{
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match timed_out(&e) {
            true => ApiError::RequestTimeout {
                secs: state.config.client_timeout.as_secs(),
            },
            false => ApiError::InvalidRequest("Could not read the request body".into()),
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
        }
        body.extend_from_slice(&chunk);
    }
    if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            ApiError::InvalidRequest(format!("Invalid request body: {e}"))
        } else {
            ApiError::InvalidRequest(format!("Malformed JSON body: {e}"))
        }
    })
}

/// The documented routes as (path segments, methods), to tell 405 from 404.
pub struct KnownRoutes {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

impl KnownRoutes {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> KnownRoutes {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.split('/').map(String::from).collect();
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (segments, methods)
            })
            .collect();
        KnownRoutes { routes }
    }

    /// The methods a path accepts, if it is a known path at all.
    fn methods_for(&self, path: &str) -> Option<Vec<Method>> {
        let wanted: Vec<&str> = path.split('/').collect();
        let mut found: Option<Vec<Method>> = None;
        for (segments, methods) in &self.routes {
            let matches = segments.len() == wanted.len()
                && segments.iter().zip(&wanted).all(|(pattern, actual)| {
                    (pattern.starts_with('{') && !actual.is_empty()) || pattern == actual
                });
            if matches {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(methods.iter().cloned());
            }
        }
        found
    }
}

/// Answers what no route took: 405 with `Allow` for a known path, else 404.
pub async fn fallback(req: HttpRequest, routes: web::Data<KnownRoutes>) -> HttpResponse {
    match routes.methods_for(req.path()) {
        Some(methods) => {
            let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
            let mut response = ApiError::MethodNotAllowed.error_response();
            if let Ok(value) = allow.join(", ").parse() {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
        None => ApiError::NotFound(format!("No route for {} {}", req.method(), req.path()))
            .error_response(),
    }
}

/// `Cache-Control` of every response that carries a secret: no cache may keep it.
pub const NO_STORE: (&str, &str) = ("Cache-Control", "no-store");

/// Timestamps in responses (and the CLI): RFC 3339, UTC, with `Z`.
pub use crate::model::timestamp;
