//! HTTP calls to providers: the refresh-token grant and revocation, with each provider's quirks
//! (client authentication, JSON or form bodies, form-encoded replies, errors inside HTTP 200).
//!
//! Nothing here logs or returns a token in an error: failure reasons are built from HTTP status
//! codes and the provider's OAuth `error` code only.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Map, Value};

use super::OAuthClient;
use super::{
    AccountPaths, BodyFormat, ClientAuth, Provider, RevokeAuth, RevokeMethod, RevokeToken,
    UserinfoMethod,
};
use crate::model::Account;
use crate::secret::Secret;

/// Largest provider reply read; anything bigger is malformed.
const MAX_REPLY_BYTES: usize = 256 * 1024;

/// OAuth `error` codes that mean the grant itself is dead: the user must re-authorize.
/// `invalid_grant` (RFC 6749), GitHub's `bad_refresh_token`, Slack's `invalid_refresh_token`
/// and `token_revoked`, and the expired/revoked-token variants some providers use.
const DEAD_GRANT_ERRORS: &[&str] = &[
    "invalid_grant",
    "bad_refresh_token",
    "invalid_refresh_token",
    "token_revoked",
    "expired_token",
    "token_expired",
    "invalid_token",
    "refresh_token_expired",
];

/// Why a provider call failed, classified for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The provider rejected the grant (`invalid_grant` and kin): status becomes `invalid`.
    Rejected(String),
    /// Anything that may work later: timeout, network, 5xx, 429, malformed reply,
    /// `invalid_client`, missing client configuration.
    Transient {
        reason: String,
        /// Seconds the provider asked us to wait (429 `Retry-After`).
        retry_after: Option<u64>,
    },
}

impl Failure {
    pub fn transient(reason: impl Into<String>) -> Failure {
        Failure::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// Whether the provider refused the client itself (`invalid_client`): a registration it no
    /// longer knows.
    pub fn refused_client(&self) -> bool {
        self.reason()
            .starts_with("provider answered invalid_client ")
    }

    pub fn reason(&self) -> &str {
        match self {
            Failure::Rejected(reason) | Failure::Transient { reason, .. } => reason,
        }
    }
}

/// What a successful refresh returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReply {
    pub access_token: Secret<String>,
    /// A rotated refresh token; `None` keeps the stored one.
    pub refresh_token: Option<Secret<String>>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
    pub token_type: Option<String>,
}

/// What the token endpoint is asked for (RFC 6749 §4.1.3, §6).
pub enum Grant<'a> {
    /// An authorization code to exchange, with what must accompany it.
    AuthorizationCode {
        code: &'a str,
        /// The PKCE verifier, when the authorize request carried a challenge.
        verifier: Option<&'a str>,
        /// The callback URL the authorize request named (the provider compares them).
        redirect_uri: &'a str,
    },
    /// A refresh token to trade for a new access token.
    RefreshToken(&'a Secret<String>),
    /// The client's own access token (RFC 6749 §4.4), with what the credential asks for.
    ClientCredentials {
        scope: Option<&'a str>,
        audience: Option<&'a str>,
        /// RFC 8707.
        resource: Option<&'a str>,
    },
    /// A signed assertion traded for an access token (RFC 7523 §2.1); no client
    /// authentication. `scope` when the provider wants it beside the assertion.
    JwtBearer {
        assertion: &'a str,
        scope: Option<&'a str>,
    },
}

/// The `grant_type` of RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// OAuth `error` codes that reject a minting grant for good: the credential's own client or key
/// is refused, or what it asks for is (RFC 6749 §5.2, RFC 8707 §2).
const DEAD_MINT_ERRORS: &[&str] = &[
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "invalid_target",
];

impl Grant<'_> {
    /// The grant's own parameters (client authentication is added separately).
    fn params(&self) -> Vec<(&str, &str)> {
        match self {
            Grant::AuthorizationCode {
                code,
                verifier,
                redirect_uri,
            } => {
                let mut params = vec![
                    ("grant_type", "authorization_code"),
                    ("code", *code),
                    ("redirect_uri", *redirect_uri),
                ];
                if let Some(verifier) = verifier {
                    params.push(("code_verifier", *verifier));
                }
                params
            }
            Grant::RefreshToken(token) => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ],
            Grant::ClientCredentials {
                scope,
                audience,
                resource,
            } => {
                let mut params = vec![("grant_type", "client_credentials")];
                let asked = [
                    ("scope", scope),
                    ("audience", audience),
                    ("resource", resource),
                ];
                params.extend(asked.into_iter().filter_map(|(k, v)| Some((k, (*v)?))));
                params
            }
            Grant::JwtBearer { assertion, scope } => {
                let mut params = vec![("grant_type", JWT_BEARER), ("assertion", *assertion)];
                if let Some(scope) = scope {
                    params.push(("scope", *scope));
                }
                params
            }
        }
    }

    /// Whether the grant is for a user's tokens (a code exchange or a refresh).
    fn is_users(&self) -> bool {
        matches!(
            self,
            Grant::AuthorizationCode { .. } | Grant::RefreshToken(_)
        )
    }

    /// Whether the client authenticates on this grant (the assertion is the proof of a
    /// JWT-bearer grant).
    fn authenticates_client(&self) -> bool {
        !matches!(self, Grant::JwtBearer { .. })
    }

    /// OAuth errors that reject this grant for good besides the dead-grant ones: a minting
    /// grant's client or key is the credential itself.
    fn dead_errors(&self) -> &'static [&'static str] {
        match self {
            Grant::ClientCredentials { .. } | Grant::JwtBearer { .. } => DEAD_MINT_ERRORS,
            _ => &[],
        }
    }

    /// Where the tokens sit in the reply: the provider's `token_reply_path` for a code exchange
    /// (Slack's user tokens under `authed_user`), the top level otherwise.
    fn reply_path<'p>(&self, provider: &'p Provider) -> Option<&'p str> {
        match self {
            Grant::AuthorizationCode { .. } => provider.token_reply_path.as_deref(),
            _ => None,
        }
    }
}

/// What a token request returned.
pub struct Exchanged {
    pub tokens: TokenReply,
    /// The whole reply: Slack's `authed_user` and Notion's `owner` carry the account. It holds
    /// the tokens too: never in `Debug`.
    pub reply: Value,
}

impl std::fmt::Debug for Exchanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchanged")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// The value at a dotted `path` of `value` (`owner.user.id`); a number indexes an array
/// (`data.0.id`).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |value, part| match value {
        Value::Array(items) => items.get(part.parse::<usize>().ok()?),
        _ => value.get(part),
    })
}

/// The account a reply describes, by the provider's paths; numbers (GitHub's id) become text.
pub fn account_of(reply: &Value, paths: &AccountPaths) -> Account {
    let text = |path: &str| {
        lookup(reply, path).and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.chars().take(256).collect()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    Account {
        id: text(&paths.id),
        email: text(&paths.email),
        name: text(&paths.name),
    }
}

/// The HTTP client for provider calls. Cheap to clone.
#[derive(Clone)]
pub struct ProviderClient {
    http: reqwest::Client,
    /// For a tenant's endpoints where private targets are refused: public addresses only.
    public: reqwest::Client,
}

impl ProviderClient {
    pub fn new() -> Result<ProviderClient, String> {
        // The catalogue's endpoints are the operator's configuration: any address.
        let build = |public_only: bool| {
            super::outbound::client_builder(public_only)
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        };
        Ok(ProviderClient {
            http: build(false)?,
            public: build(true)?,
        })
    }

    /// One token request: `grant` at the provider's token endpoint, the client authenticated as
    /// the registry says. The tokens, and the whole reply (some providers put the account in
    /// it).
    pub async fn token(
        &self,
        provider: &Provider,
        grant: Grant<'_>,
        client: Option<&OAuthClient>,
        timeout: Duration,
    ) -> Result<Exchanged, Failure> {
        let token_url = provider.token_url.as_deref().ok_or_else(|| {
            Failure::transient(format!("provider {} has no token endpoint", provider.key))
        })?;
        let mut params = grant.params();
        // RFC 8707: the resource the user's tokens are for, on the exchange and every refresh.
        if let (Some(resource), true) = (&provider.resource, grant.is_users()) {
            params.push(("resource", resource.as_str()));
        }
        // GitHub answers form-encoded unless asked for JSON.
        let mut request = self.request(provider, (reqwest::Method::POST, token_url), timeout)?;
        if grant.authenticates_client() {
            let client = client.ok_or_else(|| {
                Failure::transient(format!(
                    "no OAuth client configured for {}: store client_id/client_secret in \
                     token_data or set TOKENVAULT_{}_CLIENT_ID and _CLIENT_SECRET",
                    provider.key,
                    provider.key.to_ascii_uppercase()
                ))
            })?;
            let basic = provider.client_auth == ClientAuth::Basic;
            request = authenticate_client(request, &mut params, client, basic);
        }
        let request = with_body(request, provider.request_format, &params);
        let (status, retry_after, reply) = send(request, timeout).await?;
        let checked = check_reply(status, retry_after, &reply, grant.dead_errors())?;
        let whole = json_reply(checked)?;
        let tokens = match grant.reply_path(provider) {
            Some(path) => lookup(&Value::Object(whole.clone()), path)
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| Failure::transient("malformed provider reply: not JSON"))?,
            None => whole.clone(),
        };
        Ok(Exchanged {
            tokens: parse_token_reply(tokens)?,
            reply: Value::Object(whole),
        })
    }

    /// The provider's userinfo reply for `access_token`.
    pub async fn userinfo(
        &self,
        provider: &Provider,
        access_token: &Secret<String>,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        let url = provider.userinfo_url.as_deref().ok_or_else(|| {
            Failure::transient(format!(
                "provider {} has no userinfo endpoint",
                provider.key
            ))
        })?;
        let method = match provider.userinfo_method {
            UserinfoMethod::Get => reqwest::Method::GET,
            UserinfoMethod::Post => reqwest::Method::POST,
        };
        let request = self
            .request(provider, (method, url), timeout)?
            .bearer_auth(access_token.as_str());
        let (status, _, body) = send(request, timeout).await?;
        if !status.is_success() {
            return Err(Failure::transient(format!(
                "userinfo answered HTTP {}",
                status.as_u16()
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|_| Failure::transient("malformed userinfo reply: not JSON"))
    }

    /// Revokes a credential at the provider, as its registry entry describes: its refresh token
    /// (a usable one, when the provider revokes by refresh token) or its access token.
    pub async fn revoke(
        &self,
        provider: &Provider,
        access_token: &Secret<String>,
        refresh_token: Option<&Secret<String>>,
        client: Option<&OAuthClient>,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let spec = provider.revoke.as_ref().ok_or_else(|| {
            Failure::transient(format!(
                "provider {} has no revocation endpoint",
                provider.key
            ))
        })?;
        let token = match spec.token {
            RevokeToken::Refresh => refresh_token.unwrap_or(access_token),
            RevokeToken::Access => access_token,
        };
        if token.as_str().is_empty() {
            return Err(Failure::transient("no token to revoke"));
        }
        let needs_client = spec.auth == RevokeAuth::Client || spec.url.contains("{client_id}");
        if needs_client && client.is_none() {
            return Err(Failure::transient(format!(
                "no OAuth client configured for {} to revoke with",
                provider.key
            )));
        }
        let url = match client {
            Some(client) => spec.url.replace("{client_id}", client.client_id.as_str()),
            None => spec.url.clone(),
        };
        let method = match spec.method {
            RevokeMethod::Post => reqwest::Method::POST,
            RevokeMethod::Delete => reqwest::Method::DELETE,
        };
        let mut request = self.request(provider, (method, &url), timeout)?;
        let mut params: Vec<(&str, &str)> = Vec::new();
        match (spec.auth, client) {
            (RevokeAuth::Bearer, _) => request = request.bearer_auth(token.as_str()),
            (RevokeAuth::Client, Some(client)) => {
                // GitHub's DELETE /applications/{client_id}/token takes Basic only.
                let basic = provider.client_auth == ClientAuth::Basic
                    || spec.method == RevokeMethod::Delete;
                request = authenticate_client(request, &mut params, client, basic);
            }
            _ => {}
        }
        if spec.auth != RevokeAuth::Bearer {
            params.push((spec.token_field.as_str(), token.as_str()));
        }
        let request = with_body(request, spec.format, &params);
        let (status, retry_after, reply) = send(request, timeout).await?;
        check_reply(status, retry_after, &reply, &[]).map(|_| ())
    }

    /// A GitHub App installation's access token, asked for with the app's JWT: `POST
    /// {url}` → 201 `{"token", "expires_at"}`. A refused JWT (401) or a gone installation
    /// (404) rejects the credential; anything else may pass.
    pub async fn installation_token(
        &self,
        url: &str,
        app_jwt: &str,
        (now, timeout): (chrono::DateTime<chrono::Utc>, Duration),
    ) -> Result<TokenReply, Failure> {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .bearer_auth(app_jwt)
            .timeout(timeout);
        let (status, retry_after, body) = send(request, timeout).await?;
        match status {
            StatusCode::UNAUTHORIZED => {
                return Err(Failure::Rejected(
                    "the provider refused the app's JWT (HTTP 401): check app_id and private_key"
                        .into(),
                ));
            }
            StatusCode::NOT_FOUND => {
                return Err(Failure::Rejected(
                    "the installation is gone (HTTP 404)".into(),
                ));
            }
            // A suspended installation or app, permissions it lacks, repositories it cannot see.
            StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY => {
                return Err(Failure::Rejected(format!(
                    "the provider refused the installation token (HTTP {})",
                    status.as_u16()
                )));
            }
            _ => {}
        }
        let checked = check_reply(status, retry_after, &body, &[])?;
        let mut reply = json_reply(checked)?;
        // GitHub names it `token` and gives an absolute `expires_at`.
        if let Some(token) = reply.remove("token") {
            reply.insert("access_token".into(), token);
        }
        let expires_at = reply
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .ok_or_else(|| Failure::transient("malformed provider reply: no expires_at"))?;
        let left = expires_at.timestamp().saturating_sub(now.timestamp());
        let mut tokens = parse_token_reply(reply)?;
        tokens.expires_in = Some(u64::try_from(left).unwrap_or(0));
        tokens.token_type.get_or_insert_with(|| "token".into());
        Ok(tokens)
    }

    /// A request to a provider: JSON asked for, bounded by `timeout`.
    /// A request to one of `provider`'s endpoints; a guarded (tenant) entry's only to a public
    /// address.
    pub(super) fn request(
        &self,
        provider: &Provider,
        (method, url): (reqwest::Method, &str),
        timeout: Duration,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let http = match provider.outbound_guarded {
            true => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|_| Failure::transient("a provider endpoint is not a URL"))?;
                let refusal =
                    super::outbound::private_refusal("the provider's endpoint is", &parsed);
                if let Some(refusal) = refusal {
                    return Err(Failure::transient(refusal));
                }
                &self.public
            }
            false => &self.http,
        };
        Ok(http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(timeout))
    }
}

/// The OAuth client's credentials on a request: HTTP Basic, or `client_id`/`client_secret`
/// among the body parameters.
pub(super) fn authenticate_client<'a>(
    request: reqwest::RequestBuilder,
    params: &mut Vec<(&'a str, &'a str)>,
    client: &'a OAuthClient,
    basic: bool,
) -> reqwest::RequestBuilder {
    let secret = client.client_secret.as_ref().map(Secret::as_str);
    if basic {
        // RFC 6749 §2.3.1: both are form-urlencoded before they are joined with `:`, so a
        // `:`, `+` or `%` in either reaches a spec-following server intact.
        let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        let id: String = encode(client.client_id.as_str());
        return request.basic_auth(id, Some(encode(secret.unwrap_or_default())));
    }
    params.push(("client_id", client.client_id.as_str()));
    if let Some(secret) = secret {
        params.push(("client_secret", secret));
    }
    request
}

pub(super) fn with_body(
    request: reqwest::RequestBuilder,
    format: BodyFormat,
    params: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    match format {
        BodyFormat::Form => request.form(params),
        BodyFormat::Json => {
            let body: Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect();
            request.json(&body)
        }
        BodyFormat::None => request,
    }
}

/// Sends a request; network trouble and timeouts are transient failures.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(StatusCode, Option<u64>, Vec<u8>), Failure> {
    let network = |e: reqwest::Error| {
        if e.is_timeout() {
            Failure::transient(format!(
                "provider did not answer within {}s",
                timeout.as_secs_f32()
            ))
        } else if e.is_connect() {
            Failure::transient("cannot connect to the provider")
        } else {
            Failure::transient("network error talking to the provider")
        }
    };
    let mut response = request.send().await.map_err(network)?;
    let status = response.status();
    let retry_after = super::outbound::retry_after(response.headers(), chrono::Utc::now())
        .map(|wait| wait.as_secs());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(Failure::transient("provider reply is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, retry_after, body))
}

/// A reply body as key/values: a JSON object, or a form-encoded body (GitHub without `Accept`).
pub(super) fn parse_body(body: &[u8]) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        return Some(map);
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() || text.starts_with('{') || text.starts_with('<') || !text.contains('=') {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).ok()?;
    Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// An OAuth `error` code reduced to safe characters, for reasons and logs.
fn error_code(value: &Value) -> String {
    oauth_error_code(value.as_str().unwrap_or_default())
}

/// The OAuth `error` codes a reply may carry that are passed on: RFC 6749 §4.1.2.1 and §5.2,
/// RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 8628 §3.5, and the providers' own (`DEAD_GRANT_ERRORS`,
/// Slack's). Anything else is not echoed: a hostile or broken provider could put a token there.
const KNOWN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "insufficient_scope",
    "unsupported_token_type",
    "authorization_pending",
    "slow_down",
    "invalid_auth",
    "invalid_client_id",
    "bad_client_secret",
    "bad_redirect_uri",
    "invalid_code",
    "ratelimited",
    "rate_limited",
    "invalid_target",
    "authorization_declined",
    "device_flow_disabled",
];

/// An OAuth `error` code as it may travel on (a reason, a log line, an audit event, an app's
/// redirect): a known code as it is, anything else `unknown_error`.
pub fn oauth_error_code(error: &str) -> String {
    let error = error.trim();
    KNOWN_ERRORS
        .iter()
        .chain(DEAD_GRANT_ERRORS)
        .find(|known| **known == error)
        .map_or("unknown_error", |known| known)
        .to_string()
}

/// The failure a reply describes, if any: 5xx, 429, an OAuth `error` (even inside HTTP 200, as
/// GitHub does), or Slack's `"ok": false`.
fn reply_failure(
    status: StatusCode,
    retry_after: Option<u64>,
    parsed: Option<&Map<String, Value>>,
    dead: &[&str],
) -> Option<Failure> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(Failure::Transient {
            reason: "provider rate limit (HTTP 429)".into(),
            retry_after,
        });
    }
    if status.is_server_error() {
        return Some(Failure::transient(format!(
            "provider answered HTTP {}",
            status.as_u16()
        )));
    }
    let parsed = parsed?;
    let error = parsed.get("error").filter(|e| !e.is_null());
    let not_ok = parsed.get("ok").and_then(Value::as_bool) == Some(false);
    if error.is_none() && !not_ok {
        return None;
    }
    let code = error.map_or_else(|| "ok_false".to_string(), error_code);
    let reason = format!("provider answered {code} (HTTP {})", status.as_u16());
    if DEAD_GRANT_ERRORS.contains(&code.as_str()) || dead.contains(&code.as_str()) {
        Some(Failure::Rejected(reason))
    } else {
        Some(Failure::transient(reason))
    }
}

/// The reply's key/values when it is a success: no failure described (`reply_failure`; `dead`:
/// the OAuth errors that reject besides the dead-grant ones) and a 2xx status.
pub(super) fn check_reply(
    status: StatusCode,
    retry_after: Option<u64>,
    body: &[u8],
    dead: &[&str],
) -> Result<Option<Map<String, Value>>, Failure> {
    let parsed = parse_body(body);
    if let Some(failure) = reply_failure(status, retry_after, parsed.as_ref(), dead) {
        return Err(failure);
    }
    if !status.is_success() {
        return Err(Failure::transient(format!(
            "provider answered HTTP {} without an OAuth error",
            status.as_u16()
        )));
    }
    Ok(parsed)
}

/// A reply that must be key/values (JSON or form-encoded).
pub(super) fn json_reply(
    parsed: Option<Map<String, Value>>,
) -> Result<Map<String, Value>, Failure> {
    parsed.ok_or_else(|| Failure::transient("malformed provider reply: not JSON"))
}

/// A whole number of seconds in a reply: a JSON number, or text (form-encoded replies carry
/// numbers as text).
pub(super) fn seconds(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The tokens of a successful reply; an empty or missing `access_token` is malformed.
pub(super) fn parse_token_reply(map: Map<String, Value>) -> Result<TokenReply, Failure> {
    let text = |field: &str| {
        map.get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let access_token = text("access_token")
        .ok_or_else(|| Failure::transient("malformed provider reply: no access_token"))?;
    // Form-encoded replies carry numbers as text.
    let expires_in = seconds(map.get("expires_in"));
    Ok(TokenReply {
        access_token: Secret::new(access_token),
        refresh_token: text("refresh_token").map(Secret::new),
        expires_in,
        // Twitch answers the scopes as a JSON array, Bitbucket names the field `scopes`.
        scope: text("scope")
            .or_else(|| listed(map.get("scope")))
            .or_else(|| text("scopes")),
        token_type: text("token_type"),
    })
}

/// A JSON array of strings as one space-separated text.
fn listed(value: Option<&Value>) -> Option<String> {
    let items: Vec<&str> = value?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    (!items.is_empty()).then(|| items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_read_by_each_providers_paths() {
        let notion = serde_json::json!({"access_token": "secret_x", "owner": {"type": "user",
            "user": {"id": "u-1", "name": "Ada", "person": {"email": "ada@example.com"}}}});
        let paths = AccountPaths {
            id: "owner.user.id".into(),
            email: "owner.user.person.email".into(),
            name: "owner.user.name".into(),
        };
        let account = account_of(&notion, &paths);
        assert_eq!(account.id.as_deref(), Some("u-1"));
        assert_eq!(account.email.as_deref(), Some("ada@example.com"));
        let github = serde_json::json!({"id": 583231, "login": "octocat", "email": null});
        let paths = AccountPaths {
            id: "id".into(),
            email: "email".into(),
            name: "login".into(),
        };
        let account = account_of(&github, &paths);
        assert_eq!(
            (
                account.id.as_deref(),
                account.email,
                account.name.as_deref()
            ),
            (Some("583231"), None, Some("octocat"))
        );
        let slack =
            serde_json::json!({"ok": true, "authed_user": {"id": "U1", "access_token": "xoxp-1"}});
        assert_eq!(
            lookup(&slack, "authed_user.access_token").and_then(Value::as_str),
            Some("xoxp-1")
        );
    }

    fn parse(status: u16, body: &str) -> Result<TokenReply, Failure> {
        let status = StatusCode::from_u16(status).unwrap();
        parse_token_reply(json_reply(check_reply(
            status,
            None,
            body.as_bytes(),
            &[],
        )?)?)
    }

    #[test]
    fn json_and_form_encoded_replies_parse() {
        let json = parse(
            200,
            r#"{"access_token":"a1","expires_in":3600,"refresh_token":"r2"}"#,
        )
        .unwrap();
        assert_eq!(json.access_token.as_str(), "a1");
        assert_eq!(json.expires_in, Some(3600));
        assert_eq!(
            json.refresh_token.map(Secret::into_inner).as_deref(),
            Some("r2")
        );
        let form = parse(
            200,
            "access_token=ghu_1&expires_in=28800&refresh_token=ghr_2&token_type=bearer",
        )
        .unwrap();
        assert_eq!(form.access_token.as_str(), "ghu_1");
        assert_eq!(form.expires_in, Some(28800));
    }

    #[test]
    fn errors_are_classified() {
        assert!(matches!(
            parse(400, r#"{"error":"invalid_grant"}"#),
            Err(Failure::Rejected(_))
        ));
        assert!(matches!(
            parse(200, "error=bad_refresh_token&error_description=x"),
            Err(Failure::Rejected(_))
        ));
        assert!(matches!(
            parse(200, r#"{"ok":false,"error":"invalid_refresh_token"}"#),
            Err(Failure::Rejected(_))
        ));
        for transient in [
            (401, r#"{"error":"invalid_client"}"#),
            (200, r#"{"ok":false,"error":"ratelimited"}"#),
            (500, "oops"),
            (429, ""),
            (200, "{not json"),
            (200, r#"{"token_type":"bearer"}"#),
            (400, "<html>bad</html>"),
        ] {
            assert!(
                matches!(
                    parse(transient.0, transient.1),
                    Err(Failure::Transient { .. })
                ),
                "{transient:?}"
            );
        }
    }

    #[test]
    fn reasons_never_echo_the_reply() {
        let failure = parse(
            400,
            r#"{"error":"invalid_grant","error_description":"token 1//SECRET is revoked"}"#,
        )
        .unwrap_err();
        assert!(!failure.reason().contains("SECRET"));
        let failure = parse(200, r#"{"access_token":""}"#).unwrap_err();
        assert!(failure.reason().contains("no access_token"));
    }

    mod properties {
        use super::*;
        use crate::credentials::data::{OAuth2TokenData, TokenData};
        use crate::credentials::refresh::policy;
        use crate::model::TokenType;
        use proptest::prelude::*;

        fn any_number() -> impl Strategy<Value = Value> {
            prop_oneof![
                any::<u64>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(
                    |f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                ),
                any::<String>().prop_map(Value::from),
                "[0-9]{1,40}".prop_map(Value::from),
            ]
        }

        fn stored() -> OAuth2TokenData {
            let data = serde_json::json!({"access_token": "a", "refresh_token": "r"});
            match TokenData::validate(TokenType::OAuth2, &data) {
                Ok(TokenData::OAuth2(data)) => data,
                _ => unreachable!("a valid oauth2 token_data"),
            }
        }

        proptest! {
            #[test]
            fn any_reply_body_parses_or_fails_without_panicking(
                status in 100u16..600,
                retry_after in proptest::option::of(any::<u64>()),
                body in proptest::collection::vec(any::<u8>(), 0..512),
            ) {
                let status = StatusCode::from_u16(status).unwrap();
                if let Ok(reply) = check_reply(status, retry_after, &body, &[]).and_then(json_reply).and_then(parse_token_reply) {
                    prop_assert!(!reply.access_token.as_str().is_empty());
                }
            }

            #[test]
            fn numbers_of_any_range_never_panic_the_refresh(
                expires_in in any_number(),
                scope in proptest::option::of(".{0,64}"),
                retry_after in proptest::option::of(any::<u64>()),
                now_ms in any::<i64>(),
                cooldown_secs in any::<u32>(),
            ) {
                let mut reply = serde_json::json!({"access_token": "ya29.x", "expires_in": expires_in});
                if let Some(scope) = scope {
                    reply["scope"] = Value::from(scope);
                }
                let body = serde_json::to_vec(&reply).unwrap();
                let parsed = check_reply(StatusCode::OK, retry_after, &body, &[]).and_then(json_reply).and_then(parse_token_reply);
                let reply = parsed.map_err(|f| TestCaseError::fail(f.reason().to_string()))?;
                let merged = stored().merge_reply(&reply);
                prop_assert_eq!(merged.expires_in, reply.expires_in);
                let now = crate::db::now();
                if let Some(secs) = reply.expires_in {
                    prop_assert!(policy::expires_at_after(now, secs).is_some());
                }
                let cooldown = std::time::Duration::from_secs(u64::from(cooldown_secs));
                policy::cooldown_until(now_ms, cooldown, retry_after);
                policy::seconds_until(now_ms, i64::MIN);
            }
        }
    }
}
