//! `AppState`: what the HTTP layer holds, built once and shared by all workers. Only `api/` (and
//! the `Caller` extractor) read it; the domain takes the parts it uses.

use std::sync::Arc;

use crate::auth::cache::AuthCache;
use crate::auth::keys::KeyService;
use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::connect::ConnectService;
use crate::credentials::CredentialService;
use crate::db::Db;
use crate::model::Clock;
use crate::providers::Registry;
use crate::providers::tenant_store::TenantProviders;
use crate::proxy::ProxyService;
use crate::webhooks::WebhookService;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub registry: Arc<Registry>,
    /// The tenants' own providers (held here: the change listener holds it weakly).
    pub tenant_providers: Arc<TenantProviders>,
    pub auth: Arc<AuthCache>,
    pub keys: KeyService,
    pub throttle: Throttle,
    pub credentials: CredentialService,
    pub connect: ConnectService,
    pub webhooks: WebhookService,
    pub proxy: ProxyService,
    /// What time it is: the system clock, or a test's.
    pub clock: Clock,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}
