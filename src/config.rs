//! Settings read from the environment (and `.env`), with the defaults of DESIGN.md.
//!
//! `Config` is plain data: `main.rs` builds it from the environment, tests build their own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::db::{DatabaseUrl, DbSettings};
use crate::providers::OAuthClient;
use crate::secret::Secret;

/// The one place the default address is written.
macro_rules! default_bind {
    () => {
        "127.0.0.1:8000"
    };
}

/// Where the server listens unless `TOKENVAULT_BIND` says otherwise.
pub const DEFAULT_BIND: &str = default_bind!();
/// Where the client commands find the server unless `TOKENVAULT_URL` says otherwise.
pub const DEFAULT_URL: &str = concat!("http://", default_bind!());

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Reads every `TOKENVAULT_<PROVIDER>_CLIENT_ID` (and its `_CLIENT_SECRET`) from `vars`, keyed
/// by the lower-case provider name.
pub fn oauth_clients_from(
    vars: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, OAuthClient> {
    let vars: BTreeMap<String, String> = vars
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    vars.iter()
        .filter_map(|(name, value)| {
            let provider = name
                .strip_prefix("TOKENVAULT_")?
                .strip_suffix("_CLIENT_ID")?;
            let secret = vars.get(&format!("TOKENVAULT_{provider}_CLIENT_SECRET"));
            Some((
                provider.to_ascii_lowercase(),
                OAuthClient {
                    client_id: Secret::new(value.trim().to_string()),
                    client_secret: secret.map(|s| Secret::new(s.trim().to_string())),
                },
            ))
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database: DatabaseUrl,
    /// `SECRET_TOKEN_ENC_KEY` as given (comma-separated keys); `None` when unset.
    pub encryption_keys: Option<Secret<String>>,
    pub bootstrap_api_key: Option<Secret<String>>,
    pub providers_file: Option<PathBuf>,
    pub refresh_window: Duration,
    pub refresh_timeout: Duration,
    /// After a transient refresh failure, how long a credential waits before the next attempt.
    pub refresh_cooldown: Duration,
    /// OAuth clients per provider, from `TOKENVAULT_<PROVIDER>_CLIENT_ID/_SECRET`.
    pub oauth_clients: BTreeMap<String, OAuthClient>,
    /// How long an authenticated API key is trusted without asking the database again.
    pub auth_cache_ttl: Duration,
    /// The GET path's cache of sealed rows.
    pub read_cache: ReadCacheConfig,
    /// Time bounds of database work.
    pub db: DbSettings,
    /// How long a provider's refresh answer is retried into a failing database.
    pub refresh_persist: Duration,
    /// At most one forced refresh per credential in this interval.
    pub force_refresh_min: Duration,
    /// Failed authentications per client address and minute before 429.
    pub auth_failures_per_min: u32,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Whether unbound ciphertexts of the original service are served (`accept`) or not.
    pub accept_legacy_ciphertext: bool,
    /// How long a client may take to send its request head, and its body.
    pub client_timeout: Duration,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// Serve `GET /metrics` (`TOKENVAULT_METRICS`).
    pub metrics: bool,
    /// Where browsers reach this service (`TOKENVAULT_PUBLIC_URL`; default: the bind address
    /// over http): the connect flow's callback is this + `/v2/oauth/callback`.
    pub public_url: String,
    /// URL prefixes an app's connect `redirect_uri` must start with
    /// (`TOKENVAULT_REDIRECT_ALLOWLIST`, comma-separated).
    pub redirect_allowlist: Vec<String>,
    /// Background refresh, webhooks and retention.
    pub health: HealthConfig,
    /// The proxy to provider APIs.
    pub proxy: ProxyConfig,
}

/// The proxy's settings (DESIGN.md "Proxy").
#[derive(Debug, Clone, Copy)]
pub struct ProxyConfig {
    /// `TOKENVAULT_PROXY_MAX_BODY` (10 MiB): larger request bodies are refused with 413.
    pub max_body: u64,
    /// `TOKENVAULT_PROXY_TIMEOUT_SECS` (30): until the upstream's answer starts (504 after), and
    /// the longest silence while its body streams.
    pub timeout: Duration,
    /// `TOKENVAULT_OUTBOUND_ALLOW_PRIVATE` (false): upstreams on loopback, private and
    /// link-local addresses are allowed.
    pub allow_private: bool,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            max_body: 10 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            allow_private: false,
        }
    }
}

/// The proxy's settings, checked.
fn proxy_from(
    var: &dyn Fn(&str) -> Option<String>,
    number: &dyn Fn(&str, u64, &str) -> Result<u64, String>,
) -> Result<ProxyConfig, String> {
    let d = ProxyConfig::default();
    let timeout = number(
        "TOKENVAULT_PROXY_TIMEOUT_SECS",
        d.timeout.as_secs(),
        "seconds",
    )?;
    if timeout == 0 {
        return Err("TOKENVAULT_PROXY_TIMEOUT_SECS must be above zero".into());
    }
    let name = "TOKENVAULT_OUTBOUND_ALLOW_PRIVATE";
    Ok(ProxyConfig {
        max_body: number("TOKENVAULT_PROXY_MAX_BODY", d.max_body, "bytes")?,
        timeout: Duration::from_secs(timeout),
        allow_private: choice(name, var(name), ("true", "false"), d.allow_private)?,
    })
}

/// Connection health: `TOKENVAULT_BACKGROUND_REFRESH`, `TOKENVAULT_REFRESH_*`,
/// `TOKENVAULT_WEBHOOK_*`, retention.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Whether this instance scans for credentials to refresh ahead of expiry.
    pub background_refresh: bool,
    /// Credentials expiring within this are refreshed ahead.
    pub refresh_ahead: Duration,
    /// How often the background refresher scans.
    pub refresh_scan: Duration,
    /// At most this many background provider calls at once.
    pub refresh_concurrency: usize,
    /// Webhook targets on loopback and private ranges are allowed.
    pub webhook_allow_private: bool,
    /// The first pause before a failed webhook delivery is retried (doubles per attempt).
    pub webhook_retry_base: Duration,
    /// Audit events older than this many days are purged.
    pub events_retention_days: u64,
    /// Credentials left `invalid` this many days are deleted (`None`: never).
    pub reap_invalid_days: Option<u64>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            background_refresh: true,
            refresh_ahead: Duration::from_secs(600),
            refresh_scan: Duration::from_secs(30),
            refresh_concurrency: 8,
            webhook_allow_private: false,
            webhook_retry_base: Duration::from_secs(5),
            events_retention_days: 90,
            reap_invalid_days: None,
        }
    }
}

impl Config {
    /// Reads the environment (after `.env`, if present). Errors name the variable at fault.
    pub fn from_env() -> Result<Self, String> {
        let _ = dotenvy::dotenv();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: u64, unit: &str| -> Result<u64, String> {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name} must be a whole number of {unit}, got {v:?}")),
            }
        };
        let d = Config::defaults(DatabaseUrl::parse(
            var("DATABASE_URL")
                .as_deref()
                .unwrap_or(DatabaseUrl::DEFAULT),
        )?);
        let secs = |name: &str, default: Duration| {
            number(name, default.as_secs(), "seconds").map(Duration::from_secs)
        };
        let db = db_settings(&number, d.db)?;
        let (log_filter, log_format) =
            logging(var("TOKENVAULT_LOG"), var("TOKENVAULT_LOG_FORMAT"))?;
        let bind = var("TOKENVAULT_BIND").unwrap_or(d.bind);
        let failures = number(
            "TOKENVAULT_AUTH_FAILURES_PER_MIN",
            u64::from(d.auth_failures_per_min),
            "failures",
        )?;
        Ok(Config {
            public_url: public_url(var("TOKENVAULT_PUBLIC_URL"), &bind)?,
            bind,
            database: d.database,
            encryption_keys: var("SECRET_TOKEN_ENC_KEY").map(Secret::new),
            bootstrap_api_key: var("TOKENVAULT_BOOTSTRAP_API_KEY").map(Secret::new),
            providers_file: var("PROVIDERS_FILE").map(PathBuf::from),
            refresh_window: secs("REFRESH_WINDOW_SECS", d.refresh_window)?,
            refresh_timeout: secs("REFRESH_TIMEOUT_SECS", d.refresh_timeout)?,
            refresh_cooldown: secs("REFRESH_COOLDOWN_SECS", d.refresh_cooldown)?,
            oauth_clients: oauth_clients_from(std::env::vars()),
            auth_cache_ttl: secs("TOKENVAULT_AUTH_CACHE_SECS", d.auth_cache_ttl)?,
            read_cache: read_cache_from(&var, &number, d.read_cache)?,
            db,
            refresh_persist: secs("TOKENVAULT_REFRESH_PERSIST_SECS", d.refresh_persist)?,
            force_refresh_min: secs("TOKENVAULT_FORCE_REFRESH_MIN_SECS", d.force_refresh_min)?,
            auth_failures_per_min: u32::try_from(failures)
                .map_err(|_| "TOKENVAULT_AUTH_FAILURES_PER_MIN is too large".to_string())?,
            trusted_proxies: parse_proxies(var("TOKENVAULT_TRUSTED_PROXIES").as_deref())?,
            accept_legacy_ciphertext: choice(
                "TOKENVAULT_LEGACY_CIPHERTEXT",
                var("TOKENVAULT_LEGACY_CIPHERTEXT"),
                ("accept", "refuse"),
                d.accept_legacy_ciphertext,
            )?,
            client_timeout: secs("TOKENVAULT_CLIENT_TIMEOUT_SECS", d.client_timeout)?,
            log_filter,
            log_format,
            redirect_allowlist: comma_list(var("TOKENVAULT_REDIRECT_ALLOWLIST")),
            metrics: choice(
                "TOKENVAULT_METRICS",
                var("TOKENVAULT_METRICS"),
                ("true", "false"),
                d.metrics,
            )?,
            health: health_from(&var, &number)?,
            proxy: proxy_from(&var, &number)?,
        })
    }

    /// Every setting at its default (DESIGN.md), for `database`. The one place defaults are
    /// written.
    pub fn defaults(database: DatabaseUrl) -> Self {
        Config {
            bind: DEFAULT_BIND.into(),
            database,
            encryption_keys: None,
            bootstrap_api_key: None,
            providers_file: None,
            refresh_window: Duration::from_secs(300),
            refresh_timeout: Duration::from_secs(10),
            refresh_cooldown: Duration::from_secs(30),
            oauth_clients: BTreeMap::new(),
            auth_cache_ttl: Duration::from_secs(5),
            read_cache: ReadCacheConfig {
                enabled: true,
                ttl: Duration::from_secs(30),
                max_entries: 1_000_000,
                max_mb: 1024,
            },
            db: DbSettings::default(),
            refresh_persist: Duration::from_secs(120),
            force_refresh_min: Duration::from_secs(30),
            auth_failures_per_min: 60,
            trusted_proxies: Vec::new(),
            accept_legacy_ciphertext: true,
            client_timeout: Duration::from_secs(10),
            log_filter: "info".into(),
            log_format: LogFormat::Text,
            metrics: true,
            public_url: DEFAULT_URL.into(),
            redirect_allowlist: Vec::new(),
            health: HealthConfig::default(),
            proxy: ProxyConfig::default(),
        }
    }

    /// Settings for a given database with every other value at its default, listening on a
    /// free port; used by tests.
    pub fn for_database(database: DatabaseUrl) -> Self {
        Config {
            bind: "127.0.0.1:0".into(),
            ..Config::defaults(database)
        }
    }
}

/// `TOKENVAULT_DB_*_MS`: the time bounds of database work, each above zero.
fn db_settings(
    number: &dyn Fn(&str, u64, &str) -> Result<u64, String>,
    d: DbSettings,
) -> Result<DbSettings, String> {
    let millis = |name: &str, default: Duration| {
        let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        number(name, default, "milliseconds").map(Duration::from_millis)
    };
    let db = DbSettings {
        deadline: millis("TOKENVAULT_DB_DEADLINE_MS", d.deadline)?,
        statement_timeout: millis("TOKENVAULT_DB_STATEMENT_TIMEOUT_MS", d.statement_timeout)?,
        lock_timeout: millis("TOKENVAULT_DB_LOCK_TIMEOUT_MS", d.lock_timeout)?,
    };
    if db.deadline.is_zero() || db.statement_timeout.is_zero() || db.lock_timeout.is_zero() {
        return Err("TOKENVAULT_DB_*_MS settings must be above zero".into());
    }
    Ok(db)
}

/// The read cache's settings (DESIGN.md "Read path at memory speed").
#[derive(Debug, Clone, Copy)]
pub struct ReadCacheConfig {
    /// `TOKENVAULT_READ_CACHE` (true).
    pub enabled: bool,
    /// `TOKENVAULT_READ_CACHE_SECS` (30): the longest an entry is trusted, notifications or not.
    pub ttl: Duration,
    /// `TOKENVAULT_READ_CACHE_ENTRIES` (1 000 000).
    pub max_entries: usize,
    /// `TOKENVAULT_READ_CACHE_MB` (1024): rows are about 1 KB, so a million fit.
    pub max_mb: usize,
}

fn read_cache_from(
    var: &dyn Fn(&str) -> Option<String>,
    number: &dyn Fn(&str, u64, &str) -> Result<u64, String>,
    d: ReadCacheConfig,
) -> Result<ReadCacheConfig, String> {
    let size = |name: &str, default: usize, unit: &str| {
        let value = number(name, u64::try_from(default).unwrap_or(u64::MAX), unit)?;
        usize::try_from(value).map_err(|_| format!("{name} is too large"))
    };
    let ttl = number("TOKENVAULT_READ_CACHE_SECS", d.ttl.as_secs(), "seconds")?;
    let name = "TOKENVAULT_READ_CACHE";
    let enabled = choice(name, var(name), ("true", "false"), d.enabled)?;
    Ok(ReadCacheConfig {
        enabled: enabled && ttl > 0,
        ttl: Duration::from_secs(ttl),
        max_entries: size("TOKENVAULT_READ_CACHE_ENTRIES", d.max_entries, "entries")?,
        max_mb: size("TOKENVAULT_READ_CACHE_MB", d.max_mb, "megabytes")?,
    })
}

/// The connection-health settings, checked.
fn health_from(
    var: &dyn Fn(&str) -> Option<String>,
    number: &dyn Fn(&str, u64, &str) -> Result<u64, String>,
) -> Result<HealthConfig, String> {
    let d = HealthConfig::default();
    let secs = |name: &str, default: Duration| number(name, default.as_secs(), "seconds");
    let scan = secs("TOKENVAULT_REFRESH_SCAN_SECS", d.refresh_scan)?;
    let concurrency = number(
        "TOKENVAULT_REFRESH_CONCURRENCY",
        d.refresh_concurrency as u64,
        "calls",
    )?;
    if scan == 0 || concurrency == 0 {
        return Err(
            "TOKENVAULT_REFRESH_SCAN_SECS and TOKENVAULT_REFRESH_CONCURRENCY must be above zero"
                .into(),
        );
    }
    let retry_ms = number(
        "TOKENVAULT_WEBHOOK_RETRY_BASE_MS",
        u64::try_from(d.webhook_retry_base.as_millis()).unwrap_or(u64::MAX),
        "milliseconds",
    )?;
    let reap = match var("TOKENVAULT_REAP_INVALID_DAYS") {
        None => None,
        Some(_) => Some(number("TOKENVAULT_REAP_INVALID_DAYS", 0, "days")?),
    };
    let flag = |name: &str, default| choice(name, var(name), ("true", "false"), default);
    Ok(HealthConfig {
        background_refresh: flag("TOKENVAULT_BACKGROUND_REFRESH", d.background_refresh)?,
        refresh_ahead: Duration::from_secs(secs("TOKENVAULT_REFRESH_AHEAD_SECS", d.refresh_ahead)?),
        refresh_scan: Duration::from_secs(scan),
        refresh_concurrency: usize::try_from(concurrency.min(1024)).unwrap_or(1024),
        webhook_allow_private: flag("TOKENVAULT_WEBHOOK_ALLOW_PRIVATE", d.webhook_allow_private)?,
        webhook_retry_base: Duration::from_millis(retry_ms.max(1)),
        events_retention_days: number(
            "TOKENVAULT_EVENTS_RETENTION_DAYS",
            d.events_retention_days,
            "days",
        )?,
        reap_invalid_days: reap,
    })
}

/// `TOKENVAULT_LOG` (a tracing filter: levels, `target=level` directives) and
/// `TOKENVAULT_LOG_FORMAT`, checked: a filter that does not parse, or a bare word that is not a
/// level (a typo such as `inf0` would otherwise silence every log line), is an error.
fn logging(filter: Option<String>, format: Option<String>) -> Result<(String, LogFormat), String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let filter = filter.unwrap_or_else(|| "info".into());
    let bad = |why: String| {
        format!(
            "TOKENVAULT_LOG={filter:?} is not a log filter ({why}); use a level (error, warn, \
             info, debug, trace) or directives like info,tokenvault=debug"
        )
    };
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if !directive.contains(['=', '[', ':'])
            && !LEVELS.contains(&directive.to_ascii_lowercase().as_str())
        {
            return Err(bad(format!("{directive:?} is not a level")));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(&filter)
        .map_err(|e| bad(e.to_string()))?;
    let format = match format.as_deref().map(str::trim) {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(format!(
                "TOKENVAULT_LOG_FORMAT must be text or json, got {other:?}"
            ));
        }
    };
    Ok((filter, format))
}

/// A two-way setting: `yes` (the first word) → true, `no` → false, unset → `default`.
fn choice(
    name: &str,
    value: Option<String>,
    (yes, no): (&str, &str),
    default: bool,
) -> Result<bool, String> {
    match value.as_deref().map(str::trim) {
        None => Ok(default),
        Some(word) if word == yes => Ok(true),
        Some(word) if word == no => Ok(false),
        Some(other) => Err(format!("{name} must be {yes} or {no}, got {other:?}")),
    }
}

/// A comma-separated list, trimmed, without empty entries.
fn comma_list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `TOKENVAULT_PUBLIC_URL` without a trailing `/`, checked; default `http://<bind>`.
fn public_url(value: Option<String>, bind: &str) -> Result<String, String> {
    let url = value.unwrap_or_else(|| format!("http://{bind}"));
    let url = url.trim().trim_end_matches('/').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(['?', '#']) {
        return Err(format!(
            "TOKENVAULT_PUBLIC_URL must be an http(s) URL without query, e.g. https://vault.example.com, got {url:?}"
        ));
    }
    Ok(url)
}

/// `TOKENVAULT_TRUSTED_PROXIES`: comma-separated IP addresses.
fn parse_proxies(list: Option<&str>) -> Result<Vec<std::net::IpAddr>, String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| {
                format!("TOKENVAULT_TRUSTED_PROXIES must list IP addresses, got {s:?}")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_clients_are_read_per_provider() {
        let vars = [
            ("TOKENVAULT_GOOGLE_CLIENT_ID", "gid"),
            ("TOKENVAULT_GOOGLE_CLIENT_SECRET", "gsecret"),
            ("TOKENVAULT_GITHUB_CLIENT_ID", "hid"),
            ("TOKENVAULT_BIND", "x"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let clients = oauth_clients_from(vars);
        assert_eq!(clients.len(), 2);
        assert_eq!(
            clients["google"].client_secret.as_ref().map(Secret::as_str),
            Some("gsecret")
        );
        assert_eq!(clients["github"].client_secret, None);
        assert!(!format!("{clients:?}").contains("gsecret"));
    }
}
