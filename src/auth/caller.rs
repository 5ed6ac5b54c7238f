//! The authenticated caller of a request and the checks a route makes on it. The HTTP
//! extractor that produces one lives in `api::extract`.

use super::AuthError;
use crate::db::api_keys::ApiKeyRow;
use crate::model::{KeyScopes, Scope};

/// An API key, used directly or through an access token minted from it (same tenant, scopes
/// and user binding).
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub tenant: String,
    scopes: KeyScopes,
    pub bound_user: Option<String>,
    /// The access token used, when the request came with one.
    pub access_token_id: Option<String>,
}

impl Caller {
    pub fn from_row(row: &ApiKeyRow, access_token_id: Option<String>) -> Caller {
        Caller {
            key_id: row.id.clone(),
            tenant: row.tenant.clone(),
            scopes: row.scopes.clone(),
            bound_user: row.user_id.clone(),
            access_token_id,
        }
    }

    /// Forbidden when the request came with an access token: some things need the API key.
    pub fn require_api_key(&self, what: &str) -> Result<(), AuthError> {
        match self.access_token_id {
            Some(_) => Err(AuthError::Forbidden(format!(
                "An access token cannot {what}; use the API key"
            ))),
            None => Ok(()),
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.allows(scope)
    }

    /// Forbidden unless the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(format!(
                "This API key lacks the {scope} scope"
            )))
        }
    }

    /// Forbidden when the key is bound to a user other than `user_id`.
    pub fn require_user(&self, user_id: &str) -> Result<(), AuthError> {
        match &self.bound_user {
            Some(bound) if bound != user_id => Err(AuthError::Forbidden(
                "This API key is bound to another user".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Whether this caller administers the whole tenant: `admin`, and bound to no user.
    pub fn is_tenant_admin(&self) -> bool {
        self.has(Scope::Admin) && self.bound_user.is_none()
    }

    /// What tenant-wide management (API keys, webhooks, other keys' access tokens) needs: an
    /// admin of the whole tenant, presenting the API key itself — an access token cannot
    /// create anything that outlives it.
    pub fn require_tenant_admin(&self, what: &str) -> Result<(), AuthError> {
        self.require(Scope::Admin)?;
        if self.bound_user.is_some() {
            return Err(AuthError::Forbidden(format!(
                "A key bound to a user cannot {what}; use an admin key of the whole tenant"
            )));
        }
        self.require_api_key(what)
    }

    /// Forbidden unless a key with `scopes` and `bound_user` would be no wider than this caller:
    /// its scopes among the caller's, and bound to the caller's user when the caller is bound.
    pub fn require_covers(
        &self,
        scopes: &KeyScopes,
        bound_user: Option<&str>,
    ) -> Result<(), AuthError> {
        if let Some(scope) = scopes.iter().find(|scope| !self.has(*scope)) {
            return Err(AuthError::Forbidden(format!(
                "A key cannot create a key wider than itself: it lacks the {scope} scope"
            )));
        }
        match (&self.bound_user, bound_user) {
            (Some(own), Some(asked)) if own == asked => Ok(()),
            (Some(_), _) => Err(AuthError::Forbidden(
                "A key bound to a user can only create keys bound to the same user".into(),
            )),
            (None, _) => Ok(()),
        }
    }

    /// Both checks a `/v2/users/{user_id}/…` route needs.
    pub fn require_for_user(&self, scope: Scope, user_id: &str) -> Result<(), AuthError> {
        self.require(scope)?;
        self.require_user(user_id)
    }
}
