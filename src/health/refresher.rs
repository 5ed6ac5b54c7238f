//! The background refresher: every scan interval, OAuth2 credentials expiring within the ahead
//! window, soonest first, in bounded batches, at most `concurrency` provider calls at once,
//! each through the credential service's single flight and lease (so a GET arriving meanwhile
//! joins it, and two instances never refresh one credential twice).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::credentials::refresh::Ahead;
use crate::credentials::{CredentialService, ErrorChain};
use crate::db::tokens::TokenRow;
use crate::db::{Db, DbError};

/// Credentials read per scan query.
const BATCH: i64 = 256;
/// Batches per scan at most; the rest waits for the next scan.
const MAX_BATCHES: usize = 40;

/// Settings of the background refresher.
#[derive(Debug, Clone, Copy)]
pub struct RefresherSettings {
    pub ahead: Duration,
    pub scan: Duration,
    pub concurrency: usize,
}

/// What one scan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanReport {
    /// Credentials found due.
    pub due: usize,
    pub refreshed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Refreshes credentials before anyone waits for them.
#[derive(Clone)]
pub struct Refresher {
    db: Db,
    credentials: CredentialService,
    settings: RefresherSettings,
}

impl Refresher {
    pub fn new(db: Db, credentials: CredentialService, settings: RefresherSettings) -> Self {
        Refresher {
            db,
            credentials,
            settings,
        }
    }

    /// Scans forever, every scan interval (a scan longer than that delays the next).
    pub async fn run(self) {
        let mut tick = tokio::time::interval(self.settings.scan);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.scan_once().await {
                Ok(report) if report.due > 0 => {
                    tracing::info!(
                        due = report.due,
                        refreshed = report.refreshed,
                        failed = report.failed,
                        skipped = report.skipped,
                        "background refresh scan"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %ErrorChain(&e), "background refresh scan failed; next scan as usual");
                }
            }
        }
    }

    /// One scan: every due credential (up to the batch bound), refreshed.
    pub async fn scan_once(&self) -> Result<ScanReport, DbError> {
        let started = Instant::now();
        let permits = Arc::new(Semaphore::new(self.settings.concurrency));
        let mut seen = HashSet::new();
        let mut report = ScanReport::default();
        for _ in 0..MAX_BATCHES {
            let clock = self.credentials.clock();
            let horizon = chrono::Duration::from_std(self.settings.ahead)
                .ok()
                .and_then(|ahead| clock.now_naive().checked_add_signed(ahead))
                .unwrap_or(chrono::NaiveDateTime::MAX);
            let now_ms = clock.now_millis();
            let keys = self
                .db
                .read(move |conn| Ok(TokenRow::due_ahead(conn, horizon, now_ms, BATCH)?))
                .await?;
            let full = keys.len() as i64 == BATCH;
            let fresh: Vec<_> = keys
                .into_iter()
                .filter(|k| seen.insert(k.clone()))
                .collect();
            if fresh.is_empty() {
                break;
            }
            report.due += fresh.len();
            let mut tasks = JoinSet::new();
            for key in fresh {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    break;
                };
                let (credentials, ahead) = (self.credentials.clone(), self.settings.ahead);
                tasks.spawn(async move {
                    let result = credentials.refresh_ahead(&key, ahead).await;
                    drop(permit);
                    (key, result)
                });
            }
            while let Some(joined) = tasks.join_next().await {
                let outcome = match joined {
                    Ok((_, Ok(Ahead::Refreshed))) => "refreshed",
                    Ok((_, Ok(Ahead::Skipped))) => "skipped",
                    Ok((key, Err(e))) => {
                        tracing::debug!(%key, error = %ErrorChain(&e), "background refresh failed");
                        "failed"
                    }
                    Err(_) => "failed",
                };
                match outcome {
                    "refreshed" => report.refreshed += 1,
                    "skipped" => report.skipped += 1,
                    _ => report.failed += 1,
                }
                crate::metrics::background_refresh(outcome);
            }
            if !full {
                break;
            }
        }
        crate::metrics::background_scan(started.elapsed(), report.due);
        Ok(report)
    }
}
