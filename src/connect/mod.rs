//! The connect flow (OAuth 2.0 authorization code with PKCE): `start` makes the provider's
//! authorization URL and remembers the request under a random, single-use state; `callback`
//! consumes the state (a compare-and-set, so across instances only one callback wins), exchanges
//! the code, reads the account, and stores the credential through `CredentialService`.
//!
//! The state and the code never reach a log line or a response; only the state's hash is stored
//! and the PKCE verifier is sealed like credentials are.

pub mod device;
pub mod sessions;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::NaiveDateTime;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::credentials::data::OAuth2TokenData;
use crate::credentials::service::{AlsoInTransaction, NewCredential};
use crate::credentials::{CredentialService, Error, Inconsistency};
use crate::crypto::Vault;
use crate::db::Db;
use crate::db::connects::ConnectRow;
use crate::db::events::EventRow;
use crate::db::oauth_states::{Consumed, StateRow};
use crate::model::{Account, ConnectFlow, ConnectStatus, CredentialKey, EventKind, Outcome};
use crate::providers::OAuthClient;
use crate::providers::client::{Exchanged, Grant, ProviderClient, account_of, oauth_error_code};
use crate::providers::config::{self, ConnectionConfig};
use crate::providers::{Provider, Registry};
use crate::secret::{Secret, hash_secret, random_base62};

/// How long a started connect may take to come back.
pub const STATE_TTL: Duration = Duration::from_secs(600);

/// The path of the callback, under the public URL.
pub const CALLBACK_PATH: &str = "/v2/oauth/callback";

/// What the connect flow needs to know of the deployment.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// Where browsers reach this service (no trailing `/`).
    pub public_url: String,
    /// Prefixes an app's `redirect_uri` must start with.
    pub redirect_allowlist: Vec<String>,
    /// Hard timeout of each provider call (exchange, userinfo).
    pub timeout: Duration,
}

/// What an app asks to start.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub provider: String,
    /// Default: the provider key.
    pub integration_key: Option<String>,
    /// Default: the registry's default scopes.
    pub scopes: Option<Vec<String>>,
    /// Where the browser lands afterwards (the authorization-code flow only).
    pub redirect_uri: Option<String>,
    /// Per-account values the provider's URLs need (a Zendesk subdomain).
    pub connection_config: ConnectionConfig,
}

/// A started connect: send the user's browser to `authorization_url`.
#[derive(Debug)]
pub struct Started {
    pub connect_id: String,
    pub authorization_url: String,
    pub state: Secret<String>,
    pub expires_at: NaiveDateTime,
}

/// What the provider sent the browser back with.
#[derive(Debug, Default)]
pub struct CallbackParams {
    pub code: Option<Secret<String>>,
    pub state: Option<Secret<String>>,
    /// The provider's `error` (e.g. `access_denied`).
    pub error: Option<String>,
    /// The issuer the authorization response names (RFC 9207), when the provider sends one.
    pub iss: Option<String>,
    /// Every query parameter, for `token_reply_metadata` read from the callback (QuickBooks'
    /// `realmId`).
    pub query: BTreeMap<String, String>,
}

#[derive(Clone)]
pub struct ConnectService {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    vault: Arc<Vault>,
    registry: Arc<Registry>,
    client: ProviderClient,
    credentials: CredentialService,
    settings: ConnectSettings,
}

impl std::fmt::Debug for ConnectService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectService")
            .field("public_url", &self.inner.settings.public_url)
            .finish_non_exhaustive()
    }
}

/// The PKCE S256 challenge of a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `uri` as a browser will follow it: parsed, dot segments (`..`, `%2e%2e`) resolved,
/// backslashes read as slashes, the host lower-cased. `None` unless it is an absolute http(s)
/// URL, or when its path holds an encoded slash or backslash (servers differ on whether that
/// separates segments).
pub fn normalized_url(uri: &str) -> Option<String> {
    let url = reqwest::Url::parse(uri.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let path = url.path().to_ascii_lowercase();
    if path.contains("%2f") || path.contains("%5c") {
        return None;
    }
    Some(url.into())
}

/// The normalised `uri` (`normalized_url`) when it is under one of the allowed prefixes (each
/// normalised too): a prefix must end at a path boundary, so `https://app.example.com` does not
/// admit `https://app.example.com.evil.net`, and `…/cb/` does not admit `…/cb/../admin`.
pub fn allowed_redirect(uri: &str, allowlist: &[String]) -> Option<String> {
    let uri = normalized_url(uri)?;
    let under = |prefix: &String| {
        let prefix = normalized_url(prefix).unwrap_or_else(|| prefix.clone());
        match uri.strip_prefix(prefix.as_str()) {
            Some(rest) => {
                prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '?', '#'])
            }
            None => false,
        }
    };
    allowlist.iter().any(under).then_some(uri)
}

impl ConnectService {
    pub fn new(
        db: Db,
        vault: Arc<Vault>,
        registry: Arc<Registry>,
        credentials: CredentialService,
        settings: ConnectSettings,
    ) -> Result<ConnectService, String> {
        warn_if_public_url_is_plain_http(&settings.public_url);
        let inner = Inner {
            db,
            vault,
            registry,
            client: ProviderClient::new()?,
            credentials,
            settings,
        };
        Ok(ConnectService {
            inner: Arc::new(inner),
        })
    }

    /// The callback URL providers send browsers to.
    pub fn callback_url(&self) -> String {
        callback_url(&self.inner.settings.public_url)
    }

    /// Why an authorization response naming `iss` cannot come from `provider` (RFC 9207: a
    /// mix-up, the browser brought back from another authorization server), if it cannot.
    fn mix_up(&self, tenant: &str, provider: &str, iss: Option<&str>) -> Option<String> {
        let iss = iss?;
        let entry = self.inner.registry.lookup(tenant, provider)?;
        let expected = entry.issuer.as_deref()?;
        (iss != expected).then(|| {
            format!("the authorization response names another issuer than {provider}'s (mix-up)")
        })
    }

    /// The provider and the platform client a connect to `provider` by `flow` uses, or why it
    /// cannot.
    fn connectable(
        &self,
        tenant: &str,
        provider: &str,
        flow: ConnectFlow,
    ) -> Result<(Provider, OAuthClient), Error> {
        let registry = &self.inner.registry;
        let provider = registry
            .lookup(tenant, provider.trim())
            .ok_or_else(|| Error::Unprocessable("Invalid provider".into()))?;
        let missing = match flow {
            ConnectFlow::AuthorizationCode if !provider.supports_connect() => {
                Some("it has no OAuth authorization endpoint")
            }
            ConnectFlow::Device if !provider.supports_device() => {
                Some("it has no device authorization endpoint (flow \"device\")")
            }
            _ => None,
        };
        if let Some(missing) = missing {
            return Err(Error::Unprocessable(format!(
                "{} cannot be connected: {missing}",
                provider.key
            )));
        }
        let client = registry.client(tenant, &provider.key).ok_or_else(|| {
            let upper = provider.key.to_ascii_uppercase();
            Error::Unprocessable(format!(
                "No OAuth client for {}: set TOKENVAULT_{upper}_CLIENT_ID and \
                 TOKENVAULT_{upper}_CLIENT_SECRET, or add the tenant's own app",
                provider.key
            ))
        })?;
        Ok((Provider::clone(&provider), client))
    }

    fn check_redirect(&self, redirect_uri: &str) -> Result<String, Error> {
        let allowlist = &self.inner.settings.redirect_allowlist;
        if allowlist.is_empty() {
            return Err(Error::Unprocessable(
                "redirect_uri is not allowed: TOKENVAULT_REDIRECT_ALLOWLIST is empty; set it to \
                 your app's URL prefixes"
                    .into(),
            ));
        }
        allowed_redirect(redirect_uri, allowlist).ok_or_else(|| {
            Error::Unprocessable(
                "redirect_uri must start with one of the prefixes in TOKENVAULT_REDIRECT_ALLOWLIST"
                    .into(),
            )
        })
    }

    /// Starts a connect for (tenant, user): the authorization URL and the state.
    pub async fn start(
        &self,
        tenant: &str,
        user_id: &str,
        request: StartRequest,
    ) -> Result<Started, Error> {
        self.start_for(tenant, user_id, request, None).await
    }

    /// `start`; `hosted`: a connect session's (id, page the browser comes back to) instead of
    /// the app's `redirect_uri`.
    async fn start_for(
        &self,
        tenant: &str,
        user_id: &str,
        request: StartRequest,
        hosted: Option<(String, String)>,
    ) -> Result<Started, Error> {
        let (provider, client) =
            self.connectable(tenant, &request.provider, ConnectFlow::AuthorizationCode)?;
        let (session_id, redirect_uri) = match hosted {
            Some((session, done)) => (Some(session), done),
            None => {
                let redirect_uri = request.redirect_uri.as_deref().ok_or_else(|| {
                    Error::Invalid("redirect_uri is required for flow authorization_code".into())
                })?;
                (None, self.check_redirect(redirect_uri)?)
            }
        };
        let integration_key = request.integration_key.as_deref().unwrap_or(&provider.key);
        let key = CredentialKey::parse(tenant, user_id, integration_key).map_err(Error::Invalid)?;
        let scopes = request
            .scopes
            .unwrap_or_else(|| provider.default_scopes.clone());
        check_scopes(&provider, &scopes)?;
        let config = &request.connection_config;
        provider
            .check_config(config)
            .map_err(|e| Error::Unprocessable(e.to_string()))?;
        let state = random_base62(43).map_err(Error::internal)?;
        let verifier = random_base62(64).map_err(Error::internal)?;
        let resolved = provider.resolved(config);
        let url = self.authorization_url(&resolved, &client, &scopes, &state, &verifier)?;
        let now = self.inner.credentials.clock().now_naive();
        let expires_at = now + chrono::Duration::from_std(STATE_TTL).unwrap_or_default();
        let flow = ConnectFlow::AuthorizationCode;
        let connect = ConnectRow {
            expires_at,
            session_id,
            ..device::new_connect(&key, &provider, flow, &scopes, now)?
        };
        let connect_id = connect.connect_id.clone();
        let row = StateRow {
            connect_id: Some(connect_id.clone()),
            state_hash: hash_secret(&state),
            tenant: key.tenant.to_string(),
            user_id: key.user_id.to_string(),
            integration_key: key.integration_key.to_string(),
            provider: provider.key.clone(),
            scopes: Some(serde_json::to_string(&scopes).unwrap_or_default()),
            redirect_uri,
            verifier_ciphertext: self
                .inner
                .vault
                .seal(&key, &json!({ "verifier": verifier })),
            created_at: now,
            expires_at,
            used_at: None,
            connection_config: config::to_column(config),
        };
        self.inner
            .db
            .transaction(move |conn| {
                ConnectRow::insert(conn, &connect)?;
                Ok(StateRow::insert(conn, &row)?)
            })
            .await?;
        Ok(Started {
            connect_id,
            authorization_url: url,
            state: Secret::new(state),
            expires_at,
        })
    }

    fn authorization_url(
        &self,
        provider: &Provider,
        client: &OAuthClient,
        scopes: &[String],
        state: &str,
        verifier: &str,
    ) -> Result<String, Error> {
        let base = provider.authorize_url.as_deref().unwrap_or_default();
        let mut url = reqwest::Url::parse(base).map_err(|e| {
            Error::internal(Inconsistency(format!(
                "authorize_url of {}: {e}",
                provider.key
            )))
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client.client_id.as_str())
                .append_pair("redirect_uri", &self.callback_url())
                .append_pair("state", state);
            if !scopes.is_empty() {
                query.append_pair(
                    &provider.scope_param,
                    &scopes.join(&provider.scope_separator),
                );
            }
            if provider.pkce {
                query
                    .append_pair("code_challenge", &pkce_challenge(verifier))
                    .append_pair("code_challenge_method", "S256");
            }
            for (name, value) in &provider.authorize_params {
                query.append_pair(name, value);
            }
            if let Some(resource) = &provider.resource {
                query.append_pair("resource", resource);
            }
        }
        Ok(url.into())
    }

    /// Finishes a connect: where to send the browser (the app's `redirect_uri` with
    /// `status=connected` or `status=error`). An unknown, expired or used state is `Invalid`.
    pub async fn callback(&self, params: CallbackParams) -> Result<String, Error> {
        let state = params
            .state
            .as_ref()
            .map(|s| s.as_str().trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::Invalid("state is missing: start the connect again".into()))?;
        let (hash, now) = (
            hash_secret(&state),
            self.inner.credentials.clock().now_naive(),
        );
        let consumed = self
            .inner
            .db
            .run(move |conn| Ok(StateRow::consume(conn, &hash, now)?))
            .await?;
        let row = match consumed {
            Consumed::Live(row) => *row,
            Consumed::Spent => {
                return Err(Error::Invalid(
                    "This connect link expired or was already used: start the connect again".into(),
                ));
            }
            Consumed::Unknown => {
                return Err(Error::Invalid(
                    "Unknown state: start the connect again".into(),
                ));
            }
        };
        let key = CredentialKey::stored(&row.tenant, &row.user_id, &row.integration_key);
        if let Some(reason) = self.mix_up(&row.tenant, &row.provider, params.iss.as_deref()) {
            return self
                .failed(&key, &row, Outcome::Failed, &reason, "issuer_mismatch")
                .await;
        }
        if let Some(error) = &params.error {
            let code = oauth_error_code(error);
            let reason = format!("the provider answered error={code}");
            let outcome = match code.as_str() {
                "access_denied" => Outcome::Denied,
                _ => Outcome::Failed,
            };
            return self.failed(&key, &row, outcome, &reason, &code).await;
        }
        let Some(code) = params.code.filter(|c| !c.as_str().trim().is_empty()) else {
            let reason = "the provider sent neither a code nor an error";
            return self
                .failed(&key, &row, Outcome::Failed, reason, "missing_code")
                .await;
        };
        match self.complete(&key, &row, &code, &params.query).await {
            Ok(location) => Ok(location),
            Err(Completion::Exchange(reason)) => {
                self.failed(&key, &row, Outcome::Failed, &reason, "exchange_failed")
                    .await
            }
            Err(Completion::Other(error)) => Err(error),
        }
    }

    /// Records a failed connect and answers the app's redirect with `status=error`.
    async fn failed(
        &self,
        key: &CredentialKey,
        row: &StateRow,
        outcome: Outcome,
        reason: &str,
        code: &str,
    ) -> Result<String, Error> {
        tracing::info!(%key, provider = %row.provider, outcome = %outcome, reason, "connect failed");
        let (key_owned, reason_owned, now) = (
            key.clone(),
            reason.to_string(),
            self.inner.credentials.clock().now_naive(),
        );
        let (connect_id, status, code_owned) = (
            row.connect_id.clone(),
            connect_status(outcome),
            code.to_string(),
        );
        self.inner
            .db
            .transaction(move |conn| {
                let event = (EventKind::Connected, outcome);
                EventRow::record(conn, &key_owned, event, Some(&reason_owned), now)?;
                if let Some(id) = &connect_id {
                    ConnectRow::finish(conn, id, status.as_str(), Some(&code_owned), now)?;
                }
                Ok(())
            })
            .await?;
        Ok(landing(
            &row.redirect_uri,
            &[("status", "error"), ("error", code)],
        ))
    }

    /// The exchange, the account and the store.
    async fn complete(
        &self,
        key: &CredentialKey,
        row: &StateRow,
        code: &Secret<String>,
        query: &BTreeMap<String, String>,
    ) -> Result<String, Completion> {
        let (entry, client) = self
            .connectable(&row.tenant, &row.provider, ConnectFlow::AuthorizationCode)
            .map_err(Completion::Other)?;
        let mut config = config::from_column(row.connection_config.as_deref());
        let provider = entry.resolved(&config).into_owned();
        let exchanged = self.exchange(key, row, (&provider, &client), code).await?;
        let learned = entry
            .reply_metadata(&exchanged.reply, query)
            .map_err(|e| Completion::Exchange(e.to_string()))?;
        config.extend(learned);
        let account = self.account(&entry.resolved(&config), &exchanged).await;
        let scopes: Option<Vec<String>> = row
            .scopes
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok());
        let data = OAuth2TokenData::from_reply(&exchanged.tokens);
        let new = NewCredential::connected(&provider.key, data, scopes, account, config);
        let (connect_id, now) = (
            row.connect_id.clone(),
            self.inner.credentials.clock().now_naive(),
        );
        let finish: AlsoInTransaction = Box::new(move |conn| {
            if let Some(id) = &connect_id {
                ConnectRow::finish(conn, id, ConnectStatus::Connected.as_str(), None, now)?;
            }
            Ok(())
        });
        let (_, saved) = self
            .inner
            .credentials
            .store_with(key.clone(), new, Some(finish))
            .await
            .map_err(Completion::Other)?;
        tracing::info!(%key, provider = %provider.key, "connected credential");
        let integration_key = saved.integration_key;
        Ok(landing(
            &row.redirect_uri,
            &[
                ("status", "connected"),
                ("integration_key", &integration_key),
            ],
        ))
    }

    /// The code exchange, with the verifier kept for this state.
    async fn exchange(
        &self,
        key: &CredentialKey,
        row: &StateRow,
        (provider, client): (&Provider, &OAuthClient),
        code: &Secret<String>,
    ) -> Result<Exchanged, Completion> {
        let opened = self
            .inner
            .vault
            .open(key, &row.verifier_ciphertext)
            .map_err(|e| Completion::Other(Error::internal(e)))?;
        let verifier = opened.data["verifier"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let callback = self.callback_url();
        let grant = Grant::AuthorizationCode {
            code: code.as_str(),
            verifier: provider.pkce.then_some(verifier.as_str()),
            redirect_uri: &callback,
        };
        let timeout = self.inner.settings.timeout;
        let call = self
            .inner
            .client
            .token(provider, grant, Some(client), timeout);
        match call.await {
            Ok(exchanged) => Ok(exchanged),
            Err(failure) => {
                // The code was for the refused client: this connect fails, the next one uses
                // a client registered anew.
                if failure.refused_client() {
                    let registry = &self.inner.registry;
                    registry.renew_client(&row.tenant, &row.provider).await;
                }
                Err(Completion::Exchange(failure.reason().to_string()))
            }
        }
    }

    /// Who the new tokens belong to: from the userinfo endpoint, or the exchange reply. A failing
    /// userinfo call loses only the account, never the tokens.
    async fn account(&self, provider: &Provider, exchanged: &Exchanged) -> Option<Account> {
        let reply = match &provider.userinfo_url {
            None => exchanged.reply.clone(),
            Some(_) => {
                let timeout = self.inner.settings.timeout;
                let token = &exchanged.tokens.access_token;
                match self.inner.client.userinfo(provider, token, timeout).await {
                    Ok(reply) => reply,
                    Err(failure) => {
                        tracing::warn!(provider = %provider.key, reason = failure.reason(), "userinfo failed; the account stays unknown");
                        return None;
                    }
                }
            }
        };
        let account = account_of(&reply, &provider.account);
        account.to_column().map(|_| account)
    }
}

/// Where browsers come back from providers, under `public_url`.
pub fn callback_url(public_url: &str) -> String {
    format!("{public_url}{CALLBACK_PATH}")
}

/// Scopes a strict catalogue entry does not offer (Google's broad Drive scopes) are refused.
fn check_scopes(provider: &Provider, scopes: &[String]) -> Result<(), Error> {
    let outside = provider.scopes_outside(scopes);
    if outside.is_empty() {
        return Ok(());
    }
    Err(Error::Unprocessable(format!(
        "{} does not offer the scope(s) {}: only the scopes GET /v2/providers lists for it",
        provider.key,
        outside.join(", ")
    )))
}

/// Why completing a connect failed: the provider's exchange (the app hears `exchange_failed`),
/// or something on our side (an error answer).
enum Completion {
    Exchange(String),
    Other(Error),
}

/// The status a failed browser connect ends in.
fn connect_status(outcome: Outcome) -> ConnectStatus {
    match outcome {
        Outcome::Denied => ConnectStatus::Denied,
        _ => ConnectStatus::Failed,
    }
}

/// The app's redirect URI with `params` added to its query.
pub fn landing(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match reqwest::Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.into()
        }
        Err(_) => redirect_uri.to_string(),
    }
}

/// Browsers come back to the public URL with authorization codes: over plain http that is only
/// safe on this machine.
fn warn_if_public_url_is_plain_http(public_url: &str) {
    let Some(rest) = public_url.strip_prefix("http://") else {
        return;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        tracing::warn!(
            public_url,
            "TOKENVAULT_PUBLIC_URL is plain http on a non-loopback address: the connect flow's \
             authorization codes would cross the network unencrypted; serve it over https"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636() {
        // Appendix B of RFC 7636.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn redirects_must_sit_under_an_allowed_prefix() {
        let allow = vec![
            "https://app.example.com".to_string(),
            "http://localhost:3000/cb".into(),
            "http://localhost:4000/cb/".into(),
        ];
        let allowed = |uri: &str| allowed_redirect(uri, &allow).is_some();
        assert!(allowed("https://app.example.com/oauth/done?x=1"));
        assert!(allowed("https://app.example.com"));
        assert!(allowed("https://APP.example.com/oauth"));
        assert!(allowed("http://localhost:3000/cb?next=/"));
        assert!(allowed("http://localhost:4000/cb/done"));
        assert!(!allowed("https://app.example.com.evil.net/"));
        assert!(!allowed("https://app.example.comx/"));
        assert!(!allowed("http://localhost:3000/cbx"));
        assert!(!allowed("https://evil.net/https://app.example.com"));
        // Dot segments, plain or encoded, may not climb out of the prefix.
        assert!(!allowed("http://localhost:4000/cb/../admin"));
        assert!(!allowed("http://localhost:4000/cb/%2e%2e/admin"));
        assert!(!allowed("http://localhost:4000/cb/.%2E/admin"));
        assert!(!allowed("http://localhost:3000/cb/..%2fadmin"));
        assert!(!allowed("http://localhost:4000/cb\\..\\admin"));
        assert!(!allowed("javascript:alert(1)"));
        assert_eq!(
            allowed_redirect("http://localhost:4000/cb/x/../done", &allow).as_deref(),
            Some("http://localhost:4000/cb/done")
        );
    }

    #[test]
    fn provider_error_codes_are_sanitized() {
        assert_eq!(oauth_error_code("access_denied"), "access_denied");
        assert_eq!(oauth_error_code("<script>&x=1"), "unknown_error");
        assert_eq!(oauth_error_code("1//0dx-REFRESH.TOKEN"), "unknown_error");
        assert_eq!(oauth_error_code(" invalid_grant "), "invalid_grant");
        assert_eq!(oauth_error_code(""), "unknown_error");
    }
}
