//! The proxy: an app (or an agent) uses a credential without ever holding it. A request to
//! `/v2/users/{user_id}/proxy/{integration_key}/{path…}` goes to the provider's API base URL +
//! path with the usable credential put where the provider wants it (`api_auth`); the answer
//! comes back as the provider gave it. An expiring token is refreshed first; a 401 from the
//! API renews the credential once and tries again; `X-Tokenvault-Retries` retries 429 and 503.

pub mod headers;
pub mod target;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::credentials::{self, Credential, CredentialService, Want};
use crate::model::{CredentialKey, EventKind, Outcome};
use crate::providers::config;
use crate::providers::outbound::{client_builder, private_refusal, retry_after};
use crate::providers::{Provider, Registry};

/// Request bodies up to this size are buffered, so a 401 or a 429 can be answered by sending
/// them again; larger ones stream through once.
pub const REPLAYABLE: usize = 1024 * 1024;
/// The most retries `X-Tokenvault-Retries` may ask for.
pub const MAX_RETRIES: u8 = 3;
/// The longest `Retry-After` a retry waits; a longer one is handed back to the caller.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// At most one `proxied` audit event per credential in this interval.
const EVENT_EVERY: Duration = Duration::from_secs(60);
/// Credentials remembered by the event sampler before it starts over.
const SAMPLER_CAPACITY: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a path that would leave the provider's API.
    #[error("{0}")]
    BadPath(String),
    /// 400: the request cannot be proxied (no API base URL, a credential that cannot be sent).
    #[error("{0}")]
    NotProxied(String),
    /// 413.
    #[error("Request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// 408: the caller stopped sending its body for `secs`.
    #[error("The request body stopped arriving for {secs}s")]
    ClientTimeout { secs: u64 },
    /// 400: the caller's body could not be read.
    #[error("Could not read the request body")]
    ClientBody,
    /// 504.
    #[error("The provider's API did not answer within {secs}s")]
    Timeout { secs: u64 },
    /// 502: refused, unreachable, a private address, a broken answer.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Credential(#[from] credentials::Error),
}

/// The proxy's settings.
#[derive(Debug, Clone, Copy)]
pub struct ProxySettings {
    pub max_body: u64,
    /// Until the API's answer starts, and the longest silence while it streams.
    pub timeout: Duration,
    pub allow_private: bool,
    /// The longest the caller's body may pause.
    pub client_idle: Duration,
}

/// Why a streamed request body ended early, set by whoever feeds it.
#[derive(Debug, Default)]
pub struct BodyFault(AtomicU8);

impl BodyFault {
    const TOO_LARGE: u8 = 1;
    const TIMEOUT: u8 = 2;
    const BROKEN: u8 = 3;

    pub fn too_large(&self) {
        self.0.store(Self::TOO_LARGE, Ordering::Relaxed);
    }
    pub fn timed_out(&self) {
        self.0.store(Self::TIMEOUT, Ordering::Relaxed);
    }
    pub fn broken(&self) {
        self.0.store(Self::BROKEN, Ordering::Relaxed);
    }

    fn error(&self, settings: &ProxySettings) -> Option<Error> {
        match self.0.load(Ordering::Relaxed) {
            Self::TOO_LARGE => Some(Error::TooLarge {
                limit: settings.max_body,
            }),
            Self::TIMEOUT => Some(Error::ClientTimeout {
                secs: settings.client_idle.as_secs(),
            }),
            Self::BROKEN => Some(Error::ClientBody),
            _ => None,
        }
    }
}

/// A request body: whole (and so replayable), or a stream that can be sent once.
pub enum Body {
    Whole(Bytes),
    Stream {
        body: reqwest::Body,
        length: Option<u64>,
        fault: Arc<BodyFault>,
    },
}

/// A caller's request to pass on.
pub struct Outgoing {
    pub method: reqwest::Method,
    /// The path after `/proxy/{integration_key}/`, raw (percent-encoded as received).
    pub tail: String,
    /// The raw query string.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Body,
    /// 429 and 503 answers retried at most this often (≤ `MAX_RETRIES`).
    pub retries: u8,
}

/// The provider's answer, headers filtered; its body streams from `response`.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub length: Option<u64>,
    pub response: reqwest::Response,
}

#[derive(Clone)]
pub struct ProxyService {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: CredentialService,
    registry: Arc<Registry>,
    /// Tells this service's clients apart in each thread's `CLIENTS`.
    id: u64,
    settings: ProxySettings,
    /// When each credential's last `proxied` event was recorded here.
    sampled: Mutex<HashMap<CredentialKey, Instant>>,
}

impl std::fmt::Debug for ProxyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyService")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl ProxyService {
    pub fn new(
        credentials: CredentialService,
        registry: Arc<Registry>,
        settings: ProxySettings,
    ) -> Result<ProxyService, String> {
        // Checked once here; each worker thread builds its own the same way.
        http_client(&settings).map_err(|e| format!("cannot build the proxy's HTTP client: {e}"))?;
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(ProxyService {
            inner: Arc::new(Inner {
                credentials,
                registry,
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                settings,
                sampled: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn settings(&self) -> &ProxySettings {
        &self.inner.settings
    }

    /// This thread's HTTP client of this service. Each worker keeps its own connection pool, so
    /// a request and its upstream connection are served by the same thread (no hand-off between
    /// workers on every request).
    fn http(&self) -> Result<reqwest::Client, Error> {
        thread_local! {
            static CLIENTS: std::cell::RefCell<HashMap<u64, reqwest::Client>> =
                std::cell::RefCell::new(HashMap::new());
        }
        let (id, settings) = (self.inner.id, &self.inner.settings);
        CLIENTS.with(|clients| {
            let mut clients = clients.borrow_mut();
            if let Some(client) = clients.get(&id) {
                return Ok(client.clone());
            }
            let client = http_client(settings)
                .map_err(|_| Error::Unavailable("cannot build an HTTP client".into()))?;
            clients.insert(id, client.clone());
            Ok(client)
        })
    }

    /// Sends `outgoing` to the API of `key`'s provider with the credential, and returns the
    /// answer (after the renewal and retries the request allows).
    pub async fn forward(&self, key: &CredentialKey, outgoing: Outgoing) -> Result<Answer, Error> {
        let started = Instant::now();
        let credential = self
            .inner
            .credentials
            .usable(key, Want::default())
            .await?
            .credential;
        let provider = self.provider_of(&credential)?;
        let answer = self.exchange(&provider, credential, outgoing).await;
        let class = match &answer {
            Ok(answer) => status_class(answer.status.as_u16()),
            Err(_) => "error",
        };
        crate::metrics::proxied(&provider.key, class, started.elapsed());
        answer
    }

    /// The credential's provider, its connection config filled into the API's base URL
    /// (Salesforce's `{instance_url}`).
    fn provider_of(&self, credential: &Credential) -> Result<Arc<Provider>, Error> {
        let (tenant, name) = (credential.row.tenant.as_str(), &credential.row.provider);
        let provider = self.inner.registry.lookup(tenant, name).ok_or_else(|| {
            Error::Credential(credentials::Error::internal(credentials::Inconsistency(
                format!("unknown provider {name}"),
            )))
        })?;
        if provider.api_base_url.is_none() {
            return Err(Error::NotProxied(format!(
                "The provider {name} has no api_base_url: the proxy cannot reach its API"
            )));
        }
        if !provider.has_connection_config() {
            return Ok(provider);
        }
        let config = config::from_column(credential.row.connection_config.as_deref());
        let resolved = provider.resolved(&config);
        if resolved.api_base_url.is_none() {
            let fields: Vec<&str> = provider
                .connection_config
                .keys()
                .map(String::as_str)
                .collect();
            return Err(Error::NotProxied(format!(
                "The credential's connection_config lacks what {name}'s API URL needs ({}): store \
                 it again with connection_config",
                fields.join(", ")
            )));
        }
        Ok(Arc::new(resolved.into_owned()))
    }

    /// Sends, renews once after a 401 and retries 429/503 as allowed.
    async fn exchange(
        &self,
        provider: &Provider,
        mut credential: Credential,
        outgoing: Outgoing,
    ) -> Result<Answer, Error> {
        let base = provider.api_base_url.as_deref().unwrap_or_default();
        let url = target::upstream_url(base, &outgoing.tail, outgoing.query.as_deref())?;
        let refusal = private_refusal("The provider's API is at", &url);
        if let Some(refusal) = refusal.filter(|_| !self.inner.settings.allow_private) {
            return Err(Error::Unavailable(refusal));
        }
        let forwarded = headers::outgoing(&outgoing.headers);
        let (mut body, mut renewed, mut retries) = (Some(outgoing.body), false, outgoing.retries);
        let mut attempt = 0u32;
        loop {
            let replayable = matches!(body, Some(Body::Whole(_)));
            let sending = match &body {
                Some(Body::Whole(bytes)) => Body::Whole(bytes.clone()),
                _ => body.take().ok_or_else(|| {
                    Error::Unavailable("the request body was already sent".into())
                })?,
            };
            let request = (&outgoing.method, &url, &forwarded);
            let response = self.send(provider, &credential, request, sending).await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                let fresh = self.inner.credentials.renewed_after_refusal(&credential);
                if let Some(fresh) = fresh.await? {
                    credential = fresh;
                    if replayable {
                        continue;
                    }
                }
            }
            let busy = matches!(status.as_u16(), 429 | 503);
            if busy && replayable && retries > 0 {
                let wait = retry_after(response.headers(), chrono::Utc::now())
                    .unwrap_or_else(|| backoff(attempt));
                if wait <= MAX_RETRY_WAIT {
                    retries -= 1;
                    attempt = attempt.saturating_add(1);
                    drop(response);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            self.sample(&credential, &outgoing.method, &url, status);
            return Ok(Answer {
                status,
                headers: headers::incoming(response.headers()),
                length: response.content_length(),
                response,
            });
        }
    }

    /// One request to the API, up to the start of its answer.
    async fn send(
        &self,
        provider: &Provider,
        credential: &Credential,
        (method, url, forwarded): (&reqwest::Method, &url::Url, &HeaderMap),
        body: Body,
    ) -> Result<reqwest::Response, Error> {
        let injection = headers::injection(&provider.api_auth, &credential.data)?;
        let (mut url, mut headers) = (url.clone(), forwarded.clone());
        headers::inject(&injection, &mut headers, &mut url);
        let mut request = self.http()?.request(method.clone(), url);
        let fault = match body {
            Body::Whole(bytes) if bytes.is_empty() && !method_has_body(method) => None,
            Body::Whole(bytes) => {
                request = request.body(bytes);
                None
            }
            Body::Stream {
                body,
                length,
                fault,
            } => {
                if let Some(length) = length {
                    headers.insert(reqwest::header::CONTENT_LENGTH, length.into());
                }
                request = request.body(body);
                Some(fault)
            }
        };
        let settings = &self.inner.settings;
        let sent = tokio::time::timeout(settings.timeout, request.headers(headers).send()).await;
        match sent {
            Err(_) => Err(Error::Timeout {
                secs: settings.timeout.as_secs(),
            }),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                if let Some(fault) = fault.and_then(|f| f.error(settings)) {
                    return Err(fault);
                }
                Err(unavailable(&e, settings.timeout))
            }
        }
    }

    /// Records a `proxied` event for the credential, at most once a minute per credential on
    /// this instance, off the request. Method, path and status only: never the query or a
    /// body.
    fn sample(
        &self,
        credential: &Credential,
        method: &reqwest::Method,
        url: &url::Url,
        status: StatusCode,
    ) {
        let key = credential.row.key();
        let now = Instant::now();
        {
            let Ok(mut sampled) = self.inner.sampled.lock() else {
                return;
            };
            if let Some(last) = sampled.get(&key)
                && now.duration_since(*last) < EVENT_EVERY
            {
                return;
            }
            if sampled.len() >= SAMPLER_CAPACITY {
                sampled.clear();
            }
            sampled.insert(key.clone(), now);
        }
        let outcome = match status.as_u16() {
            0..400 => Outcome::Success,
            _ => Outcome::Failed,
        };
        let reason = format!("{method} {} → {}", url.path(), status.as_u16());
        let credentials = self.inner.credentials.clone();
        tokio::spawn(async move {
            let event = (EventKind::Proxied, outcome);
            if let Err(e) = credentials.record(&key, event, Some(reason)).await {
                tracing::debug!(%key, error = %credentials::ErrorChain(&e), "proxied event not recorded");
            }
        });
    }
}

/// The proxy's HTTP client: no redirects followed, bounded connect and read pauses, public
/// addresses only unless private ones are allowed.
fn http_client(settings: &ProxySettings) -> Result<reqwest::Client, reqwest::Error> {
    client_builder(!settings.allow_private)
        .connect_timeout(settings.timeout)
        .read_timeout(settings.timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

/// Whether an empty body is still sent as one (`Content-Length: 0`).
fn method_has_body(method: &reqwest::Method) -> bool {
    matches!(
        *method,
        reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
    )
}

/// The pause before retry `attempt` when the API named none: 0.5 s, 1 s, 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1u64 << attempt.min(4)))
}

/// A send that failed without an answer, for the caller (never the URL: its query may carry
/// the credential).
fn unavailable(error: &reqwest::Error, timeout: Duration) -> Error {
    if error.is_timeout() {
        return Error::Timeout {
            secs: timeout.as_secs(),
        };
    }
    let why = if error.is_connect() {
        "cannot connect to the provider's API"
    } else {
        "the provider's API broke off the exchange"
    };
    Error::Unavailable(why.into())
}

/// `2xx`, `4xx`, … for metrics.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..200 => "1xx",
        200..300 => "2xx",
        300..400 => "3xx",
        400..500 => "4xx",
        _ => "5xx",
    }
}
