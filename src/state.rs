//! `AppState`: what the HTTP layer holds, built once and shared by all workers. Only `api/` (and
//! the `Caller` extractor) read it; the domain takes the parts it uses.

use std::sync::Arc;

use crate::auth::cache::AuthCache;
use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::connect::ConnectService;
use crate::credentials::CredentialService;
use crate::db::Db;
use crate::health::webhooks::WebhookService;
use crate::providers::Registry;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub registry: Arc<Registry>,
    pub auth: Arc<AuthCache>,
    pub throttle: Throttle,
    pub credentials: CredentialService,
    pub connect: ConnectService,
    pub webhooks: WebhookService,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}
