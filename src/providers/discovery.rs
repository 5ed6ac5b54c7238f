//! What an OAuth server or an MCP server says about itself: authorization-server metadata
//! (RFC 8414, else OpenID discovery), protected-resource metadata (RFC 9728), and dynamic client
//! registration (RFC 7591). Every document is fetched with a timeout, read up to a size bound,
//! never through a redirect, and — unless the operator allows it — never from a private,
//! loopback or link-local address.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::outbound::{client_builder, private_refusal};

/// The largest metadata document read.
const MAX_DOCUMENT: usize = 64 * 1024;

/// Why a server could not be discovered or registered with; says what was asked, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DiscoveryError(pub String);

fn fail(message: impl Into<String>) -> DiscoveryError {
    DiscoveryError(message.into())
}

/// An authorization server's endpoints and what it supports (RFC 8414 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

impl ServerMetadata {
    /// The catalogue fields these endpoints make (merged under what a tenant gave).
    pub fn entry_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                fields.insert(name.into(), json!(v));
            }
        };
        put("authorize_url", &self.authorization_endpoint);
        put("token_url", &self.token_endpoint);
        put("userinfo_url", &self.userinfo_endpoint);
        put(
            "device_authorization_url",
            &self.device_authorization_endpoint,
        );
        fields.insert("issuer".into(), json!(self.issuer));
        fields.insert(
            "pkce".into(),
            json!(
                self.code_challenge_methods_supported
                    .iter()
                    .any(|m| m == "S256")
            ),
        );
        let basic_only = self.token_endpoint_auth_methods_supported == ["client_secret_basic"];
        fields.insert(
            "client_auth".into(),
            json!(if basic_only { "basic" } else { "body" }),
        );
        if let Some(url) = &self.revocation_endpoint {
            fields.insert(
                "revoke".into(),
                json!({"url": url, "method": "POST", "auth": "client", "format": "form",
                       "token": "refresh"}),
            );
        }
        fields
    }
}

/// A protected resource's metadata (RFC 9728 §2): which authorization servers it trusts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// A client a registration endpoint issued (RFC 7591 §3.2.1).
#[derive(Clone, Deserialize)]
pub struct Registered {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The HTTP side of discovery and registration.
#[derive(Clone)]
pub struct Discovery {
    http: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

/// `base` with `/.well-known/{suffix}` inserted between the host and the path (RFC 8414 §3.1,
/// RFC 9728 §3.1).
fn well_known_inserted(base: &url::Url, suffix: &str) -> String {
    let path = base.path().trim_end_matches('/');
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.set_path(&format!("/.well-known/{suffix}{path}"));
    url.to_string()
}

/// `base` with `/.well-known/{suffix}` appended to its path (OpenID Connect Discovery §4).
fn well_known_appended(base: &url::Url, suffix: &str) -> String {
    let path = base.path().trim_end_matches('/');
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.set_path(&format!("{path}/.well-known/{suffix}"));
    url.to_string()
}

/// The `resource_metadata` parameter of a `WWW-Authenticate: Bearer …` challenge.
pub fn resource_metadata_of(challenge: &str) -> Option<String> {
    let at = challenge.find("resource_metadata=")?;
    let rest = &challenge[at + "resource_metadata=".len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    (!value.is_empty()).then(|| value.to_string())
}

impl Discovery {
    pub fn new(allow_private: bool, timeout: Duration) -> Result<Discovery, String> {
        let http = client_builder(!allow_private)
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the discovery client: {e}"))?;
        Ok(Discovery {
            http,
            allow_private,
            timeout,
        })
    }

    /// Whether private, loopback and link-local targets are allowed (the operator's choice).
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// An https URL (http only where private targets are allowed: tests, a lab) on a host
    /// tokenvault may call.
    fn target(&self, text: &str, what: &str) -> Result<url::Url, DiscoveryError> {
        let url =
            url::Url::parse(text).map_err(|_| fail(format!("{what} {text:?} is not a URL")))?;
        let refusal = private_refusal(&format!("{what} is"), &url);
        if let Some(refusal) = refusal.filter(|_| !self.allow_private) {
            return Err(fail(refusal));
        }
        let scheme_ok = url.scheme() == "https" || (self.allow_private && url.scheme() == "http");
        if !scheme_ok || url.host().is_none() || !url.username().is_empty() {
            return Err(fail(format!("{what} {text:?} must be an https URL")));
        }
        Ok(url)
    }

    /// Sends and reads the answer: its status, headers and body (bounded). Redirects are not
    /// followed (a 3xx is an answer like any other).
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>), DiscoveryError> {
        let mut response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| fail(format!("unreachable: {}", e.without_url())))?;
        let (status, headers) = (response.status(), response.headers().clone());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(format!("broken answer: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(fail(format!("answer over {MAX_DOCUMENT} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    async fn document<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, DiscoveryError> {
        let target = self.target(url, "metadata URL")?;
        let (status, _, body) = self
            .exchange(self.http.get(target).header("Accept", "application/json"))
            .await
            .map_err(|e| fail(format!("{url}: {e}")))?;
        if !status.is_success() {
            return Err(fail(format!("{url} answered HTTP {}", status.as_u16())));
        }
        serde_json::from_slice(&body).map_err(|e| fail(format!("{url}: not metadata: {e}")))
    }

    /// The authorization server `issuer` describes: RFC 8414 metadata, else OpenID discovery.
    /// A document naming another issuer is refused (RFC 8414 §3.3).
    pub async fn server(&self, issuer: &str) -> Result<ServerMetadata, DiscoveryError> {
        let base = self.target(issuer, "issuer")?;
        let mut last = fail("no metadata");
        for url in [
            well_known_inserted(&base, "oauth-authorization-server"),
            well_known_appended(&base, "openid-configuration"),
        ] {
            match self.document::<ServerMetadata>(&url).await {
                Ok(metadata) if same_issuer(&metadata.issuer, issuer) => return Ok(metadata),
                Ok(metadata) => {
                    return Err(fail(format!(
                        "the metadata at {url} names the issuer {:?}, not {issuer:?}",
                        metadata.issuer
                    )));
                }
                Err(e) => last = e,
            }
        }
        Err(fail(format!(
            "no authorization server metadata for {issuer}: {last}"
        )))
    }

    /// The protected resource at `resource_url` (an MCP server): the `resource_metadata` its
    /// 401 names, else its well-known document (RFC 9728 §3, §5.1).
    pub async fn resource(&self, resource_url: &str) -> Result<ResourceMetadata, DiscoveryError> {
        let base = self.target(resource_url, "mcp_server")?;
        let (status, headers, _) = self
            .exchange(self.http.get(base.clone()))
            .await
            .map_err(|e| fail(format!("{resource_url}: {e}")))?;
        let named = (status == reqwest::StatusCode::UNAUTHORIZED)
            .then(|| headers.get_all("www-authenticate"))
            .into_iter()
            .flatten()
            .filter_map(|v| v.to_str().ok())
            .find_map(resource_metadata_of);
        let url = named.unwrap_or_else(|| well_known_inserted(&base, "oauth-protected-resource"));
        let metadata: ResourceMetadata = self.document(&url).await?;
        if metadata.authorization_servers.is_empty() {
            return Err(fail(format!("{url} names no authorization server")));
        }
        Ok(metadata)
    }

    /// Registers tokenvault as a client (RFC 7591): its callback, the code and refresh grants.
    pub async fn register(
        &self,
        endpoint: &str,
        redirect_uri: &str,
        client_name: &str,
    ) -> Result<Registered, DiscoveryError> {
        let target = self.target(endpoint, "registration_endpoint")?;
        let body = json!({
            "client_name": client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
        });
        let (status, _, answer) = self
            .exchange(self.http.post(target).json(&body))
            .await
            .map_err(|e| fail(format!("registration: {e}")))?;
        if !status.is_success() {
            let error: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
            let code = error["error"].as_str().unwrap_or("no error code");
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect();
            return Err(fail(format!(
                "registration refused: HTTP {} {code}",
                status.as_u16()
            )));
        }
        serde_json::from_slice(&answer).map_err(|_| fail("registration answered no client_id"))
    }
}

/// Issuers compare as strings, a trailing `/` aside.
fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_each_rfc() {
        let issuer = url::Url::parse("https://auth.example.com/tenant1").unwrap();
        assert_eq!(
            well_known_inserted(&issuer, "oauth-authorization-server"),
            "https://auth.example.com/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            well_known_appended(&issuer, "openid-configuration"),
            "https://auth.example.com/tenant1/.well-known/openid-configuration"
        );
        let root = url::Url::parse("https://auth.example.com/").unwrap();
        assert_eq!(
            well_known_inserted(&root, "oauth-authorization-server"),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn resource_metadata_is_read_from_a_challenge() {
        let challenge = r#"Bearer error="invalid_token", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#;
        assert_eq!(
            resource_metadata_of(challenge).as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(resource_metadata_of("Bearer realm=\"x\""), None);
        assert_eq!(
            resource_metadata_of("Bearer resource_metadata=https://a.example/m, scope=x")
                .as_deref(),
            Some("https://a.example/m")
        );
    }
}
