//! The HTTP side of the client commands: one reqwest client with a timeout, the credential as
//! `X-API-Key` (agk_…) or `Authorization: Bearer` (agat_…), JSON in and out, and every failure
//! turned into what the caller should do next.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CliError, Connection, exit};
use crate::secret::Secret;

/// A failed call: the server's answer, or no answer at all.
#[derive(Debug)]
pub enum Failure {
    /// No HTTP answer: refused, timed out, not HTTP.
    Unreachable(String),
    /// An error answer (`{"error", "message"}` when the server shaped it).
    Status {
        status: u16,
        error: String,
        message: String,
        retry_after: Option<u64>,
    },
}

impl Failure {
    /// No answer, or one that says to come back later (502, 503, 504, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::Unreachable(_) => true,
            Failure::Status { status, .. } => matches!(status, 429 | 502 | 503 | 504),
        }
    }

    /// The generic mapping; commands give the cases they know a better message first.
    pub fn into_cli(self, url: &str) -> CliError {
        match self {
            Failure::Unreachable(why) => CliError::new(
                exit::RETRY_LATER,
                format!(
                    "cannot reach tokenvault at {url} ({why}); is it running? set --url or TOKENVAULT_URL"
                ),
            ),
            Failure::Status {
                status,
                error,
                message,
                retry_after,
            } => {
                let said = format!("{error}: {message}");
                match status {
                    401 => CliError::new(
                        exit::UNAUTHORIZED,
                        format!(
                            "the server refused the credential ({said}); set --api-key or TOKENVAULT_API_KEY to a valid agk_… key or agat_… token"
                        ),
                    ),
                    403 => CliError::new(exit::UNAUTHORIZED, format!("not allowed ({said})")),
                    404 => CliError::new(exit::NOT_FOUND, format!("not found ({said})")),
                    410 => CliError::new(exit::REAUTHORIZE, format!("re-authorize ({said})")),
                    429 | 503 => CliError::new(
                        exit::RETRY_LATER,
                        format!("{said}; retry in {} s", retry_after.unwrap_or(1)),
                    ),
                    _ => CliError::new(
                        exit::OTHER,
                        format!("the server answered {status} ({said})"),
                    ),
                }
            }
        }
    }
}

/// One request to make.
struct Call<'a> {
    method: reqwest::Method,
    path: &'a str,
    credential: Option<(&'static str, String)>,
    body: Option<Value>,
}

/// A connection to one tokenvault server.
pub struct Client {
    http: reqwest::Client,
    base: String,
    secret: Option<Secret<String>>,
    verbose: bool,
}

/// Percent-encodes one path segment (user ids and integration keys are sent as they are given;
/// the server judges them).
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Client {
    pub fn new(connection: &Connection) -> Result<Client, CliError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(connection.timeout))
            .connect_timeout(Duration::from_secs(connection.timeout.min(5)))
            .build()
            .map_err(|e| CliError::new(exit::OTHER, format!("cannot build an HTTP client: {e}")))?;
        let base = connection.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::new(
                exit::USAGE,
                format!("--url must start with http:// or https://, got {base:?}"),
            ));
        }
        Ok(Client {
            http,
            base,
            secret: connection.api_key.clone().map(Secret::new),
            verbose: connection.verbose,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The credential every `/v2` call needs.
    fn credential(&self) -> Result<(&'static str, String), CliError> {
        let secret = self
            .secret
            .as_ref()
            .map(|s| s.expose().trim())
            .unwrap_or_default();
        if secret.starts_with("agat_") {
            return Ok(("Authorization", format!("Bearer {secret}")));
        }
        if secret.starts_with("agk_") {
            return Ok(("X-API-Key", secret.to_string()));
        }
        let problem = match secret.is_empty() {
            true => "no API key",
            false => "the API key is neither an agk_… key nor an agat_… access token",
        };
        Err(CliError::new(
            exit::UNAUTHORIZED,
            format!("{problem}: set --api-key or TOKENVAULT_API_KEY (also read from .env)"),
        ))
    }

    pub async fn get(&self, path: &str) -> Result<Result<Value, Failure>, CliError> {
        let call = Call {
            method: reqwest::Method::GET,
            path,
            credential: Some(self.credential()?),
            body: None,
        };
        Ok(self.send(call).await)
    }

    pub async fn post(&self, path: &str) -> Result<Result<Value, Failure>, CliError> {
        self.post_json(path, None).await
    }

    /// A POST with a JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        body: Option<Value>,
    ) -> Result<Result<Value, Failure>, CliError> {
        self.call_json(reqwest::Method::POST, path, body).await
    }

    /// A request by `method` with an optional JSON body.
    pub async fn call_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Result<Value, Failure>, CliError> {
        let call = Call {
            method,
            path,
            credential: Some(self.credential()?),
            body,
        };
        Ok(self.send(call).await)
    }

    /// A GET that needs no credential (`/readyz`).
    pub async fn get_public(&self, path: &str) -> Result<Value, Failure> {
        let call = Call {
            method: reqwest::Method::GET,
            path,
            credential: None,
            body: None,
        };
        self.send(call).await
    }

    /// One call: the server's JSON, or the failure.
    async fn send(&self, call: Call<'_>) -> Result<Value, Failure> {
        let body = call.body;
        let reply = self
            .exchange(
                (call.method, call.path),
                call.credential,
                |request| match &body {
                    Some(body) => request.json(body),
                    None => request,
                },
            )
            .await?;
        if !reply.status().is_success() {
            return Err(failure_of(reply).await);
        }
        let body = reply
            .bytes()
            .await
            .map_err(|e| Failure::Unreachable(root_cause(&e)))?;
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A request whose answer the caller reads itself (the proxy's): `headers` and `body` as
    /// given, the credential added.
    pub async fn raw(
        &self,
        (method, path): (reqwest::Method, &str),
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::Response, CliError> {
        let credential = self.credential()?;
        let fill = |mut request: reqwest::RequestBuilder| {
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            match body {
                Some(body) => request.body(body),
                None => request,
            }
        };
        self.exchange((method, path), Some(credential), fill)
            .await
            .map_err(|failure| failure.into_cli(&self.base))
    }

    /// Sends one request (`fill` adds its body and headers) with the credential when given,
    /// and the `--verbose` lines: the answer, whatever its status, or why there was none.
    async fn exchange(
        &self,
        (method, path): (reqwest::Method, &str),
        credential: Option<(&'static str, String)>,
        fill: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let url = format!("{}{}", self.base, path);
        let started = Instant::now();
        if self.verbose {
            eprintln!("> {method} {url}");
        }
        let mut request = self.http.request(method, &url);
        if let Some((header, value)) = credential {
            request = request.header(header, value);
        }
        let reply = fill(request).send().await.map_err(|e| {
            Failure::Unreachable(match e.is_timeout() {
                true => "timed out".to_string(),
                false => root_cause(&e),
            })
        })?;
        if self.verbose {
            let status = reply.status().as_u16();
            eprintln!("< {status} ({} ms)", started.elapsed().as_millis());
        }
        Ok(reply)
    }
}

/// An error answer as a `Failure` (`{"error", "message"}` when the server shaped it).
pub async fn failure_of(reply: reqwest::Response) -> Failure {
    let status = reply.status().as_u16();
    let retry_after = reply
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = match reply.bytes().await {
        Ok(body) => body,
        Err(e) => return Failure::Unreachable(root_cause(&e)),
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |field: &str| json[field].as_str().unwrap_or_default().to_string();
    Failure::Status {
        status,
        error: match text("error") {
            e if e.is_empty() => format!("http_{status}"),
            e => e,
        },
        message: text("message"),
        retry_after,
    }
}

/// The innermost reason of a transport error (e.g. "Connection refused (os error 111)").
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
