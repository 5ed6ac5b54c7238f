//! The provider calls that make a usable token, one per renewed kind: the refresh-token grant
//! (`oauth2`), the client-credentials grant (`client_credentials`), and a signed JWT traded for
//! a token (`service_account`: an RFC 7523 assertion, or a GitHub App's installation token).
//! No database connection is held meanwhile.

use crate::credentials::data::{ClientCredentialsTokenData, ServiceAccountTokenData, TokenData};
use crate::credentials::service::CredentialService;
use crate::providers::assertion::{
    APP_JWT_SECS, AppClaims, AssertionClaims, CLOCK_SKEW_SECS, MAX_ASSERTION_SECS, SigningKey,
    random_jti,
};
use crate::providers::client::{Failure, Grant, TokenReply};
use crate::providers::{OAuthClient, Provider, ScopePlace};

impl CredentialService {
    /// The grant of `data`'s kind at the provider.
    pub(super) async fn call_provider(
        &self,
        tenant: &str,
        provider: &Provider,
        data: &TokenData,
    ) -> Result<TokenReply, Failure> {
        match data {
            TokenData::OAuth2(data) => {
                let refresh_token = data
                    .refresh_token()
                    .ok_or_else(|| Failure::transient("no refresh token"))?;
                let platform = self.inner.registry.client(tenant, &provider.key);
                let client = data.client(platform.as_ref());
                let grant = Grant::RefreshToken(refresh_token);
                self.token_grant(provider, grant, client.as_ref()).await
            }
            TokenData::ClientCredentials(data) => self.client_credentials(provider, data).await,
            TokenData::ServiceAccount(data) => match (&data.app_id, &data.installation_id) {
                (Some(app_id), Some(installation)) => {
                    self.installation(provider, data, (app_id, installation))
                        .await
                }
                _ => self.jwt_bearer(provider, data).await,
            },
            _ => Err(Failure::transient("this kind of credential is not renewed")),
        }
    }

    async fn token_grant(
        &self,
        provider: &Provider,
        grant: Grant<'_>,
        client: Option<&OAuthClient>,
    ) -> Result<TokenReply, Failure> {
        let timeout = self.inner.settings.timeout;
        let call = self.inner.client.token(provider, grant, client, timeout);
        call.await.map(|exchanged| exchanged.tokens)
    }

    /// RFC 6749 §4.4 with the credential's own client.
    async fn client_credentials(
        &self,
        provider: &Provider,
        data: &ClientCredentialsTokenData,
    ) -> Result<TokenReply, Failure> {
        let client = OAuthClient {
            client_id: data.client_id.clone(),
            client_secret: Some(data.client_secret.clone()),
        };
        let grant = Grant::ClientCredentials {
            scope: data.scope.as_deref(),
            audience: data.audience.as_deref(),
            resource: data.resource.as_deref(),
        };
        let Some(url) = &provider.client_credentials_url else {
            return self.token_grant(provider, grant, Some(&client)).await;
        };
        let tenant = data.tenant.as_deref().unwrap_or_default();
        let mut at_tenant = provider.clone();
        at_tenant.token_url = Some(url.replace("{tenant}", &url_segment(tenant)));
        self.token_grant(&at_tenant, grant, Some(&client)).await
    }

    /// RFC 7523 §2.1: an assertion signed with the credential's key, `aud` the token URL unless
    /// the credential names another.
    async fn jwt_bearer(
        &self,
        provider: &Provider,
        data: &ServiceAccountTokenData,
    ) -> Result<TokenReply, Failure> {
        let key = signing_key(data)?;
        let issuer = data
            .issuer
            .as_deref()
            .ok_or_else(|| Failure::Rejected("the service account has no issuer".into()))?;
        let audience = data
            .audience
            .as_deref()
            .or(provider.token_url.as_deref())
            .unwrap_or_default();
        // `iat` set back against clocks behind ours; the assertion still lives an hour at most.
        let iat = self
            .now()
            .and_utc()
            .timestamp()
            .saturating_sub(CLOCK_SKEW_SECS);
        let in_claims = provider.assertion_scope == ScopePlace::Claim;
        let jti = random_jti().ok_or_else(|| Failure::transient("no randomness for a jti"))?;
        // RFC 7523 §3 requires `sub`: the subject acted for, else the issuer itself; Google
        // reads `sub` as a user to impersonate, so there it is only sent when given.
        let sub = data
            .subject
            .as_deref()
            .or(Some(issuer).filter(|_| !provider.assertion_sub_optional));
        let claims = AssertionClaims {
            iss: issuer,
            sub,
            aud: audience,
            iat,
            exp: iat.saturating_add(MAX_ASSERTION_SECS),
            jti,
            scope: data.scope.as_deref().filter(|_| in_claims),
        };
        let assertion = key
            .sign(&claims, data.key_id.as_deref())
            .map_err(|e| Failure::Rejected(format!("the private key {e}")))?;
        let grant = Grant::JwtBearer {
            assertion: &assertion,
            scope: data.scope.as_deref().filter(|_| !in_claims),
        };
        self.token_grant(provider, grant, None).await
    }

    /// A GitHub App: a short app JWT (`iss` = the app) traded at the installation's endpoint.
    async fn installation(
        &self,
        provider: &Provider,
        data: &ServiceAccountTokenData,
        (app_id, installation): (&str, &str),
    ) -> Result<TokenReply, Failure> {
        let key = signing_key(data)?;
        let url = provider.installation_token_url.as_deref().ok_or_else(|| {
            Failure::transient(format!(
                "provider {} has no installation_token_url",
                provider.key
            ))
        })?;
        let url = url.replace("{installation_id}", &url_segment(installation));
        let now = self.now().and_utc().timestamp();
        let claims = AppClaims {
            iss: app_id,
            iat: now.saturating_sub(CLOCK_SKEW_SECS),
            exp: now.saturating_add(APP_JWT_SECS),
        };
        let app_jwt = key
            .sign(&claims, None)
            .map_err(|e| Failure::Rejected(format!("the private key {e}")))?;
        let timeout = self.inner.settings.timeout;
        let now = self.inner.clock.now();
        let call = self
            .inner
            .client
            .installation_token(&url, &app_jwt, (now, timeout));
        call.await
    }
}

/// The credential's key; checked at store, so a failure here is a corrupt row.
fn signing_key(data: &ServiceAccountTokenData) -> Result<SigningKey, Failure> {
    SigningKey::from_pem(data.private_key.as_str())
        .map_err(|e| Failure::Rejected(format!("the private key {e}")))
}

/// An identifier as one URL path segment.
fn url_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
