//! Connection health: an instance's background workers — the refresher (`refresher`), the
//! device-flow poller (`connect::device`), webhook delivery (started from `webhooks::delivery`)
//! and retention (`retention`). `spawn` starts them; nothing here knows about HTTP.

pub mod refresher;
pub mod retention;

use std::time::Duration;

use crate::config::HealthConfig;
use crate::connect::ConnectService;
use crate::connect::device::DevicePoller;
use crate::credentials::{CredentialService, ErrorChain};
use crate::db::Db;
use crate::model::Clock;
use crate::secret::random_base62;
use crate::webhooks::WebhookService;
use crate::webhooks::delivery::{self, Deliverer};
use refresher::{Refresher, RefresherSettings};
use retention::RetentionSettings;

/// How often the worker runs retention (and once at start).
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// An instance's background work, running until stopped (or the process ends).
pub struct Workers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Stops every task at once, as a killed process would: held leases stay until they expire.
    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The services the workers run on.
pub struct Services<'a> {
    pub db: &'a Db,
    pub credentials: &'a CredentialService,
    pub webhooks: &'a WebhookService,
    pub connect: &'a ConnectService,
}

/// Starts the background refresher (unless turned off), the device-flow poller, webhook
/// delivery and retention. Must be called inside the runtime.
pub fn spawn(services: Services<'_>, config: &HealthConfig) -> Result<Workers, String> {
    let Services {
        db,
        credentials,
        webhooks,
        connect,
    } = services;
    let mut tasks = Vec::new();
    if config.background_refresh {
        let settings = RefresherSettings {
            ahead: config.refresh_ahead,
            scan: config.refresh_scan,
            concurrency: config.refresh_concurrency,
        };
        let refresher = Refresher::new(db.clone(), credentials.clone(), settings);
        tasks.push(tokio::spawn(refresher.run()));
    }
    let owner = format!("inst_{}", random_base62(12).map_err(|e| e.to_string())?);
    let poller = DevicePoller::new(connect.clone(), owner.clone());
    tasks.push(tokio::spawn(poller.run()));
    let retry = (config.webhook_retry_base, config.webhook_allow_private);
    let clock = credentials.clock().clone();
    let deliverer = Deliverer::new(db.clone(), webhooks.clone(), retry, owner, clock.clone())?;
    tasks.push(delivery::spawn(deliverer));
    let settings = RetentionSettings {
        events_days: config.events_retention_days,
        reap_invalid_days: config.reap_invalid_days,
    };
    tasks.push(tokio::spawn(run_retention(db.clone(), settings, clock)));
    Ok(Workers { tasks })
}

/// Retention at start, then every `RETENTION_EVERY`.
async fn run_retention(db: Db, settings: RetentionSettings, clock: Clock) {
    let mut tick = tokio::time::interval(RETENTION_EVERY);
    loop {
        tick.tick().await;
        match retention::purge(&db, settings, clock.now_naive()).await {
            Ok(purged) => tracing::info!(
                access_tokens = purged.access_tokens,
                oauth_states = purged.oauth_states,
                events = purged.events,
                webhook_messages = purged.webhook_messages,
                invalid_credentials = purged.reaped.len(),
                "retention pass"
            ),
            Err(e) => {
                tracing::warn!(error = %ErrorChain(&e), "retention pass failed; next one in an hour")
            }
        }
    }
}
