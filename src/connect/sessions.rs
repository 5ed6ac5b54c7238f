//! Connect sessions: a link an app hands to its end user (`TOKENVAULT_PUBLIC_URL/connect/<token>`)
//! that opens tokenvault's own connect page for one user and a set of providers. The token is
//! random and only its hash is stored, so any instance serves the link. What the page connects
//! (by OAuth, the device flow or a form) is a connect naming the session.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::json;

use super::{ConnectService, StartRequest, device};
use crate::credentials::Error;
use crate::credentials::service::{AlsoInTransaction, NewCredential};
use crate::db::connects::ConnectRow;
use crate::db::web::ConnectSessionRow;
use crate::model::{ConnectFlow, ConnectStatus, CredentialKey, EventKind, TokenType};
use crate::providers::Provider;
use crate::providers::config::ConnectionConfig;
use crate::secret::{Secret, hash_secret, random_base62};

/// How long a link lives unless asked otherwise.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 60);

/// The longest a link may live.
pub const MAX_SESSION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What an app asks for.
#[derive(Debug, Clone, Default)]
pub struct SessionRequest {
    pub user_id: String,
    /// The providers the page offers; `None`: every provider the tenant can connect.
    pub providers: Option<Vec<String>>,
    /// Where the browser goes afterwards (allow-listed).
    pub redirect_uri: Option<String>,
    /// The page was opened by `tokenvault.connect()`: it posts the result to its opener.
    pub popup: bool,
    /// Seconds the link lives (default 30 min, at most 24 h).
    pub expires_in: Option<u64>,
}

/// A made link: hand `url` to the user.
#[derive(Debug)]
pub struct CreatedSession {
    pub id: String,
    pub url: Secret<String>,
    pub expires_at: NaiveDateTime,
}

/// A session with what was connected through it.
#[derive(Debug)]
pub struct SessionView {
    pub session: ConnectSessionRow,
    pub connects: Vec<ConnectRow>,
}

/// A link opened by a browser.
#[derive(Debug, Clone)]
pub enum Hosted {
    Live(Box<ConnectSessionRow>),
    Expired,
    Unknown,
}

/// How a page starts connecting `provider`.
#[derive(Debug)]
pub enum HostedStart {
    /// Send the browser here.
    Redirect(String),
    /// Show the user this code and where to enter it.
    Device(device::DeviceStarted),
}

/// Where the last connect of a session stands.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: ConnectStatus,
    pub integration_key: String,
    pub provider: String,
    pub error: Option<String>,
}

/// The secret half of a form: an API key, or a username and password.
#[derive(Debug)]
pub enum FormSecret {
    ApiKey(Secret<String>),
    Basic {
        username: String,
        password: Secret<String>,
    },
}

impl ConnectService {
    /// Makes a connect link for `tenant`'s user.
    pub async fn create_session(
        &self,
        tenant: &str,
        request: SessionRequest,
    ) -> Result<CreatedSession, Error> {
        CredentialKey::parse(tenant, &request.user_id, "x").map_err(Error::Invalid)?;
        let providers = match &request.providers {
            Some(list) => Some(self.allowed_list(tenant, list)?),
            None => None,
        };
        let redirect_uri = match (&request.redirect_uri, request.popup) {
            (Some(_), true) => {
                return Err(Error::Invalid(
                    "give redirect_uri or popup: true, not both".into(),
                ));
            }
            (Some(uri), false) => Some(self.check_redirect(uri)?),
            (None, true) if self.inner.settings.redirect_allowlist.is_empty() => {
                return Err(Error::Unprocessable(
                    "popup needs TOKENVAULT_REDIRECT_ALLOWLIST: the page hands its result only \
                     to the origins listed there"
                        .into(),
                ));
            }
            (None, _) => None,
        };
        let ttl = request
            .expires_in
            .map_or(DEFAULT_SESSION_TTL, Duration::from_secs);
        if ttl < Duration::from_secs(60) || ttl > MAX_SESSION_TTL {
            return Err(Error::Invalid(
                "expires_in must be between 60 and 86400 seconds".into(),
            ));
        }
        let token = random_base62(43).map_err(Error::internal)?;
        let now = self.inner.credentials.clock().now_naive();
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        let row = ConnectSessionRow {
            id: format!("cs_{}", random_base62(24).map_err(Error::internal)?),
            tenant: tenant.to_string(),
            user_id: request.user_id,
            token_hash: hash_secret(&token),
            providers: providers.map(|p| json!(p).to_string()),
            redirect_uri,
            popup: request.popup,
            created_at: now,
            expires_at,
        };
        let id = row.id.clone();
        self.inner
            .db
            .run(move |conn| Ok(ConnectSessionRow::insert(conn, &row)?))
            .await?;
        let url = format!("{}/connect/{token}", self.inner.settings.public_url);
        Ok(CreatedSession {
            id,
            url: Secret::new(url),
            expires_at,
        })
    }

    /// The providers of an allow-list, each known to the tenant; at least one.
    fn allowed_list(&self, tenant: &str, list: &[String]) -> Result<Vec<String>, Error> {
        if list.is_empty() || list.len() > 100 {
            return Err(Error::Invalid(
                "providers must list 1 to 100 providers".into(),
            ));
        }
        let mut keys = Vec::with_capacity(list.len());
        for name in list {
            let provider = self.inner.registry.lookup(tenant, name.trim());
            match provider {
                Some(p) => keys.push(p.key.clone()),
                None => {
                    return Err(Error::Unprocessable(format!(
                        "Invalid provider in providers: {}",
                        name.chars().take(64).collect::<String>()
                    )));
                }
            }
        }
        keys.dedup();
        Ok(keys)
    }

    /// A session of `tenant` with its connects.
    pub async fn session(&self, tenant: &str, id: &str) -> Result<SessionView, Error> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        let found = self
            .inner
            .db
            .read(move |conn| {
                let Some(session) = ConnectSessionRow::find(conn, &tenant, &id)? else {
                    return Ok(None);
                };
                let connects = ConnectSessionRow::connects(conn, &session.id)?;
                Ok(Some(SessionView { session, connects }))
            })
            .await?;
        found.ok_or(Error::NotFound)
    }

    /// The session a link's token opens.
    pub async fn hosted(&self, token: &str) -> Result<Hosted, Error> {
        if token.is_empty() || token.len() > 64 {
            return Ok(Hosted::Unknown);
        }
        let hash = hash_secret(token);
        let row = self
            .inner
            .db
            .read(move |conn| Ok(ConnectSessionRow::by_token(conn, &hash)?))
            .await?;
        Ok(self.live(row, Duration::ZERO))
    }

    /// The session `id`, where a provider's consent sends the browser back (by id: the link's
    /// token is never stored, not even in a connect's redirect).
    pub async fn hosted_by_id(&self, id: &str) -> Result<Hosted, Error> {
        if !id.starts_with("cs_") || id.len() > 64 {
            return Ok(Hosted::Unknown);
        }
        let id = id.to_string();
        let row = self
            .inner
            .db
            .read(move |conn| Ok(ConnectSessionRow::by_id(conn, &id)?))
            .await?;
        // A consent started just before the link expired still comes back to its end.
        Ok(self.live(row, super::STATE_TTL))
    }

    /// Whether a session found is still live (`grace` past its expiry).
    fn live(&self, row: Option<ConnectSessionRow>, grace: Duration) -> Hosted {
        let now = self.inner.credentials.clock().now_naive();
        let grace = chrono::Duration::from_std(grace).unwrap_or_default();
        match row {
            Some(row) if row.expires_at + grace > now => Hosted::Live(Box::new(row)),
            Some(_) => Hosted::Expired,
            None => Hosted::Unknown,
        }
    }

    /// Where the browser comes back to after the provider's consent.
    pub fn done_url(&self, session: &ConnectSessionRow) -> String {
        let public = &self.inner.settings.public_url;
        format!("{public}/connect/sessions/{}/done", session.id)
    }

    /// The providers the page offers: the session's allow-list (or every provider of the
    /// tenant), those that can be connected here: by OAuth with a client, or by a form.
    pub fn offered(&self, session: &ConnectSessionRow) -> Vec<(Arc<Provider>, bool)> {
        let allowed: Option<Vec<String>> = session
            .providers
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        self.inner
            .registry
            .listing(&session.tenant)
            .into_iter()
            .filter(|(p, _, _)| allowed.as_ref().is_none_or(|a| a.contains(&p.key)))
            .filter(|(p, _, client)| {
                ((p.supports_connect() || p.supports_device()) && *client) || by_form(p).is_some()
            })
            .map(|(p, _, client)| (p, client))
            .collect()
    }

    /// The provider `key` if the session offers it.
    fn offered_one(&self, session: &ConnectSessionRow, key: &str) -> Result<Arc<Provider>, Error> {
        self.offered(session)
            .into_iter()
            .map(|(p, _)| p)
            .find(|p| p.key == key)
            .ok_or_else(|| Error::Unprocessable("This link does not offer that provider".into()))
    }

    /// Starts connecting `provider` for the session's user by OAuth: the authorization code flow
    /// when the provider has one, else the device flow. The browser comes back to `done_url`.
    pub async fn start_hosted(
        &self,
        session: &ConnectSessionRow,
        provider: &str,
        connection_config: ConnectionConfig,
    ) -> Result<HostedStart, Error> {
        let entry = self.offered_one(session, provider)?;
        let request = StartRequest {
            provider: entry.key.clone(),
            integration_key: None,
            scopes: None,
            redirect_uri: None,
            connection_config,
        };
        let (tenant, user) = (session.tenant.as_str(), session.user_id.as_str());
        let hosted = Some((session.id.clone(), self.done_url(session)));
        if entry.supports_connect() {
            let started = self.start_for(tenant, user, request, hosted).await?;
            return Ok(HostedStart::Redirect(started.authorization_url));
        }
        let started = self.start_device(tenant, user, request).await?;
        let id = (started.connect_id.clone(), session.id.clone());
        self.inner
            .db
            .run(move |conn| Ok(ConnectRow::name_session(conn, &id.0, &id.1)?))
            .await?;
        Ok(HostedStart::Device(started))
    }

    /// Stores what the page's form for `provider` sent: an API key or basic credential.
    pub async fn store_hosted(
        &self,
        session: &ConnectSessionRow,
        provider: &str,
        secret: FormSecret,
        connection_config: ConnectionConfig,
    ) -> Result<(), Error> {
        let entry = self.offered_one(session, provider)?;
        let (token_type, token_data) = match secret {
            FormSecret::ApiKey(key) => (TokenType::ApiKey, json!({"api_key": key.as_str()})),
            FormSecret::Basic { username, password } => (
                TokenType::Basic,
                json!({"username": username, "password": password.as_str()}),
            ),
        };
        if !entry.supports(token_type) {
            return Err(Error::Unprocessable(format!(
                "{} does not take this kind of credential",
                entry.key
            )));
        }
        let key = CredentialKey::parse(&session.tenant, &session.user_id, &entry.key)
            .map_err(Error::Invalid)?;
        let now = self.inner.credentials.clock().now_naive();
        let mut row = device::new_connect(&key, &entry, ConnectFlow::Form, &[], now)?;
        (row.status, row.finished_at) = (ConnectStatus::Connected.as_str().into(), Some(now));
        (row.scopes, row.session_id) = (None, Some(session.id.clone()));
        let record: AlsoInTransaction = Box::new(move |conn| Ok(ConnectRow::insert(conn, &row)?));
        let new = NewCredential {
            provider: entry.key.clone(),
            token_type: token_type.as_str().into(),
            token_data,
            scopes: None,
            expires_at: None,
            account: None,
            arrived: EventKind::Stored,
            connection_config,
        };
        self.inner
            .credentials
            .store_with(key, new, Some(record))
            .await?;
        Ok(())
    }

    /// Where the session's newest connect stands (a pending one past its expiry: expired).
    pub async fn outcome(&self, session: &ConnectSessionRow) -> Result<Option<Outcome>, Error> {
        let id = session.id.clone();
        let connects = self
            .inner
            .db
            .read(move |conn| Ok(ConnectSessionRow::connects(conn, &id)?))
            .await?;
        let now = self.inner.credentials.clock().now_naive();
        Ok(connects.into_iter().last().map(|row| {
            let mut status = row.status.parse().unwrap_or(ConnectStatus::Failed);
            if status == ConnectStatus::Pending && row.expires_at <= now {
                status = ConnectStatus::Expired;
            }
            Outcome {
                status,
                integration_key: row.integration_key,
                provider: row.provider,
                error: row.error,
            }
        }))
    }
}

/// The kind of credential a form for `provider` takes, if any: an API key first.
pub fn by_form(provider: &Provider) -> Option<TokenType> {
    [TokenType::ApiKey, TokenType::Basic]
        .into_iter()
        .find(|t| provider.supports(*t))
}
