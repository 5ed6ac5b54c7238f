//! The text enums of credentials: token type, status, audit event kind and outcome, webhook
//! event types, revocation outcome.

use serde::{Deserialize, Serialize};

use super::text_enum;

text_enum! {
    /// The kind of credential.
    #[derive(Serialize, Deserialize)]
    pub enum TokenType {
        #[serde(rename = "oauth2")]
        OAuth2 = "oauth2",
        #[serde(rename = "api_key")]
        ApiKey = "api_key",
        #[serde(rename = "jwt")]
        Jwt = "jwt",
        /// A username and password (HTTP Basic).
        #[serde(rename = "basic")]
        Basic = "basic",
        /// An OAuth client that mints its own access tokens (RFC 6749 §4.4).
        #[serde(rename = "client_credentials")]
        ClientCredentials = "client_credentials",
        /// A private key that mints access tokens: a JWT-bearer assertion (RFC 7523) or a GitHub
        /// App's installation token.
        #[serde(rename = "service_account")]
        ServiceAccount = "service_account",
    }
}

impl TokenType {
    /// The kinds tokenvault keeps usable by calling the provider: refreshing (`oauth2`) or
    /// minting (`client_credentials`, `service_account`).
    pub const RENEWED: &'static [TokenType] = &[
        TokenType::OAuth2,
        TokenType::ClientCredentials,
        TokenType::ServiceAccount,
    ];

    /// Whether tokenvault renews this kind at the provider (see `RENEWED`).
    pub fn renewed(self) -> bool {
        TokenType::RENEWED.contains(&self)
    }

    /// Whether this kind's usable token is minted from a secret the app never gets back.
    pub fn minted(self) -> bool {
        matches!(
            self,
            TokenType::ClientCredentials | TokenType::ServiceAccount
        )
    }

    /// Case-insensitive parse of a request value.
    pub fn parse_request(value: &str) -> Option<TokenType> {
        value.trim().to_ascii_lowercase().parse().ok()
    }
}

text_enum! {
    /// Whether a credential works.
    pub enum TokenStatus {
        /// It works (or can be refreshed).
        Active = "active",
        /// A transient refresh failure left it past its expiry.
        Expired = "expired",
        /// The provider rejected the refresh token: the user must re-authorize.
        Invalid = "invalid",
    }
}

text_enum! {
    /// How a connect obtains the user's consent.
    #[derive(Serialize, Deserialize, Default)]
    pub enum ConnectFlow {
        /// The user's browser goes to the provider and comes back (authorization code + PKCE).
        #[default]
        #[serde(rename = "authorization_code")]
        AuthorizationCode = "authorization_code",
        /// The user enters a code on another device (RFC 8628); tokenvault polls.
        #[serde(rename = "device")]
        Device = "device",
        /// An API key or a username and password entered on the hosted connect page (a
        /// connect session's connects only; it cannot be started here).
        #[serde(rename = "form")]
        Form = "form",
    }
}

text_enum! {
    /// Where a connect stands.
    #[derive(Serialize, Deserialize)]
    pub enum ConnectStatus {
        #[serde(rename = "pending")]
        Pending = "pending",
        #[serde(rename = "connected")]
        Connected = "connected",
        #[serde(rename = "denied")]
        Denied = "denied",
        #[serde(rename = "expired")]
        Expired = "expired",
        #[serde(rename = "failed")]
        Failed = "failed",
    }
}

text_enum! {
    /// What happened to a credential (the `event` of an audit event).
    pub enum EventKind {
        Stored = "stored",
        Refresh = "refresh",
        Revoke = "revoke",
        Deleted = "deleted",
        /// Stored by the connect flow (or a connect that failed: denied, exchange failed).
        Connected = "connected",
        /// Used through the proxy (sampled: at most one event per credential a minute).
        Proxied = "proxied",
    }
}

text_enum! {
    /// How it went (the `outcome` of an audit event).
    pub enum Outcome {
        Created = "created",
        Replaced = "replaced",
        Success = "success",
        /// The provider rejected the grant.
        Invalid = "invalid",
        /// A failure that may pass.
        Transient = "transient",
        Revoked = "revoked",
        Failed = "failed",
        Skipped = "skipped",
        NotSupported = "not_supported",
        /// The user (or the provider) refused the authorization.
        Denied = "denied",
    }
}

text_enum! {
    /// What a webhook is told about (the `type` of a delivery).
    pub enum WebhookEvent {
        /// Stored (POST or the connect flow).
        Connected = "credential.connected",
        /// The provider rejected the refresh token: the user must re-authorize.
        Invalid = "credential.invalid",
        /// A transient refresh failure left the token expired.
        RefreshFailed = "credential.refresh_failed",
        /// The first success after a failure, or stored anew after `invalid`.
        Recovered = "credential.recovered",
        Deleted = "credential.deleted",
    }
}

text_enum! {
    /// What deleting a credential did at its provider.
    pub enum Revocation {
        Revoked = "revoked",
        /// Revocation failed; the credential was deleted here anyway.
        Failed = "failed",
        /// `?revoke=false`.
        Skipped = "skipped",
        /// No revocation endpoint, or not an OAuth2 credential.
        NotSupported = "not_supported",
    }
}

impl From<Revocation> for Outcome {
    fn from(revocation: Revocation) -> Outcome {
        match revocation {
            Revocation::Revoked => Outcome::Revoked,
            Revocation::Failed => Outcome::Failed,
            Revocation::Skipped => Outcome::Skipped,
            Revocation::NotSupported => Outcome::NotSupported,
        }
    }
}
