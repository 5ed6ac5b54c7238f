//! The service's metrics, in one process-wide registry, served as OpenMetrics text at
//! `GET /metrics`. Labels are bounded sets — route patterns, methods, statuses, provider keys,
//! outcomes, reasons — never a tenant, a user, a key id or a secret.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    provider: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProxyLabels {
    provider: String,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Request durations: 0.5 ms to about 8 s.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Provider calls: 5 ms to about 40 s.
fn refresh_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    refresh: Family<RefreshLabels, Counter>,
    refresh_duration: Histograms<ProviderLabels>,
    refresh_joined: Counter,
    auth_failures: Family<ReasonLabels, Counter>,
    db_connections: Family<StateLabels, Gauge>,
    background_scan: Histogram,
    background_refresh: Family<OutcomeLabels, Counter>,
    background_backlog: Gauge,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_delivery_latency: Histogram,
    outbox_depth: Gauge,
    retention_deleted: Family<KindLabels, Counter>,
    read_cache_lookups: Family<LookupLabels, Counter>,
    subscription_lookups: Family<LookupLabels, Counter>,
    read_cache_entries: Gauge,
    read_cache_bytes: Gauge,
    proxy_requests: Family<ProxyLabels, Counter>,
    proxy_duration: Histograms<ProviderLabels>,
}

/// The known label values of each family, exported at zero before their first event.
pub const AUTH_FAILURE_REASONS: [&str; 5] =
    ["missing", "malformed", "unknown", "not_live", "throttled"];
pub const BACKGROUND_OUTCOMES: [&str; 3] = ["refreshed", "failed", "skipped"];
pub const DELIVERY_OUTCOMES: [&str; 3] = ["delivered", "retry", "given_up"];
pub const RETENTION_KINDS: [&str; 5] = [
    "access_tokens",
    "oauth_states",
    "events",
    "webhook_messages",
    "invalid_credentials",
];
pub const REFRESH_OUTCOMES: [&str; 3] = ["success", "invalid", "transient"];
pub const LOOKUP_RESULTS: [&str; 3] = ["hit", "miss", "bypassed"];
const POOL_STATES: [&str; 2] = ["idle", "in_use"];

/// Creates every known series of the fixed label sets, at zero.
fn declare_known(metrics: &Metrics) {
    for reason in AUTH_FAILURE_REASONS {
        let _ = metrics
            .auth_failures
            .get_or_create(&ReasonLabels { reason });
    }
    for outcome in BACKGROUND_OUTCOMES {
        let _ = metrics
            .background_refresh
            .get_or_create(&OutcomeLabels { outcome });
    }
    for outcome in DELIVERY_OUTCOMES {
        let _ = metrics
            .webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome });
    }
    for kind in RETENTION_KINDS {
        let _ = metrics
            .retention_deleted
            .get_or_create(&KindLabels { kind });
    }
    for result in LOOKUP_RESULTS {
        let _ = metrics
            .read_cache_lookups
            .get_or_create(&LookupLabels { result });
        let _ = metrics
            .subscription_lookups
            .get_or_create(&LookupLabels { result });
    }
    for state in POOL_STATES {
        let _ = metrics.db_connections.get_or_create(&StateLabels { state });
    }
}

/// Declares the refresh series of each provider the registry knows, at zero.
pub fn declare_providers<'a>(providers: impl IntoIterator<Item = &'a str>) {
    let metrics = &*METRICS;
    for provider in providers {
        for outcome in REFRESH_OUTCOMES {
            let provider = provider.to_string();
            let _ = metrics
                .refresh
                .get_or_create(&RefreshLabels { provider, outcome });
        }
        let provider = provider.to_string();
        let _ = metrics
            .refresh_duration
            .get_or_create(&ProviderLabels { provider });
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::default();
    let metrics = Metrics {
        http_requests: Family::default(),
        http_duration: Family::new_with_constructor(request_histogram),
        refresh: Family::default(),
        refresh_duration: Family::new_with_constructor(refresh_histogram),
        refresh_joined: Counter::default(),
        auth_failures: Family::default(),
        db_connections: Family::default(),
        background_scan: refresh_histogram(),
        background_refresh: Family::default(),
        background_backlog: Gauge::default(),
        webhook_deliveries: Family::default(),
        webhook_delivery_latency: refresh_histogram(),
        outbox_depth: Gauge::default(),
        retention_deleted: Family::default(),
        read_cache_lookups: Family::default(),
        subscription_lookups: Family::default(),
        read_cache_entries: Gauge::default(),
        read_cache_bytes: Gauge::default(),
        proxy_requests: Family::default(),
        proxy_duration: Family::new_with_constructor(refresh_histogram),
        registry: Registry::default(),
    };
    declare_known(&metrics);
    register_health(&mut registry, &metrics);
    registry.register(
        "tokenvault_http_requests",
        "HTTP requests answered, by route pattern, method and status",
        metrics.http_requests.clone(),
    );
    registry.register(
        "tokenvault_http_request_duration_seconds",
        "Time from request head to response, by route pattern and method",
        metrics.http_duration.clone(),
    );
    registry.register(
        "tokenvault_refresh",
        "Provider refresh calls by provider and outcome (success, invalid, transient)",
        metrics.refresh.clone(),
    );
    registry.register(
        "tokenvault_refresh_duration_seconds",
        "Duration of provider refresh calls",
        metrics.refresh_duration.clone(),
    );
    registry.register(
        "tokenvault_proxy_requests",
        "Proxied API requests by provider and status class of the answer (2xx … 5xx, or error: \
         answered by tokenvault)",
        metrics.proxy_requests.clone(),
    );
    registry.register(
        "tokenvault_proxy_duration_seconds",
        "Time from a proxied request to the start of the provider's answer, renewal and retries \
         included",
        metrics.proxy_duration.clone(),
    );
    registry.register(
        "tokenvault_refresh_joined",
        "Refreshes that joined one already in flight in this instance instead of calling the provider",
        metrics.refresh_joined.clone(),
    );
    registry.register(
        "tokenvault_auth_failures",
        "Refused authentications by reason (missing, malformed, unknown, not_live, throttled)",
        metrics.auth_failures.clone(),
    );
    registry.register(
        "tokenvault_db_pool_connections",
        "Database pool connections by state (idle, in_use) at scrape time",
        metrics.db_connections.clone(),
    );
    let build: Family<BuildLabels, Gauge> = Family::default();
    build
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
    registry.register("tokenvault_build_info", "The running version", build);
    Metrics {
        registry,
        ..metrics
    }
});

/// The connection-health families: background refresh, webhooks, retention.
fn register_health(registry: &mut Registry, metrics: &Metrics) {
    registry.register(
        "tokenvault_background_scan_duration_seconds",
        "Duration of a background refresh scan, its refreshes included",
        metrics.background_scan.clone(),
    );
    registry.register(
        "tokenvault_background_refresh",
        "Credentials the background refresher handled, by outcome (refreshed, failed, skipped)",
        metrics.background_refresh.clone(),
    );
    registry.register(
        "tokenvault_background_refresh_backlog",
        "Credentials due for a background refresh at the last scan",
        metrics.background_backlog.clone(),
    );
    registry.register(
        "tokenvault_webhook_deliveries",
        "Webhook delivery attempts by outcome (delivered, retry, given_up)",
        metrics.webhook_deliveries.clone(),
    );
    registry.register(
        "tokenvault_webhook_delivery_latency_seconds",
        "Time from the event to its successful delivery",
        metrics.webhook_delivery_latency.clone(),
    );
    registry.register(
        "tokenvault_webhook_outbox_depth",
        "Webhook messages neither delivered nor given up, at the last delivery poll",
        metrics.outbox_depth.clone(),
    );
    registry.register(
        "tokenvault_retention_deleted",
        "Rows deleted by retention, by kind",
        metrics.retention_deleted.clone(),
    );
    registry.register(
        "tokenvault_read_cache_lookups",
        "GET reads by where they were answered (hit: the read cache, miss: the database, then kept; bypassed: the database, cache not trusted or off)",
        metrics.read_cache_lookups.clone(),
    );
    registry.register(
        "tokenvault_webhook_subscription_lookups",
        "Credential writes by where their tenant's webhook subscriptions came from (hit: the cache knew no endpoint receives the event, nothing read; miss: the endpoints were read; bypassed: read, the cache not trusted). PostgreSQL with the read cache on only",
        metrics.subscription_lookups.clone(),
    );
    registry.register(
        "tokenvault_read_cache_entries",
        "Sealed credential rows held by the read cache",
        metrics.read_cache_entries.clone(),
    );
    registry.register(
        "tokenvault_read_cache_bytes",
        "Approximate memory held by the read cache's rows",
        metrics.read_cache_bytes.clone(),
    );
}

/// One credential write's look at its tenant's webhook subscriptions.
pub fn webhook_subscriptions(result: &'static str) {
    METRICS
        .subscription_lookups
        .get_or_create(&LookupLabels { result })
        .inc();
}

/// One GET read through the read cache.
pub fn read_cache(result: &'static str) {
    METRICS
        .read_cache_lookups
        .get_or_create(&LookupLabels { result })
        .inc();
}

/// One background scan: its duration and the number of credentials due.
pub fn background_scan(took: Duration, backlog: usize) {
    METRICS.background_scan.observe(took.as_secs_f64());
    let backlog = i64::try_from(backlog).unwrap_or(i64::MAX);
    METRICS.background_backlog.set(backlog);
}

/// One credential handled by the background refresher.
pub fn background_refresh(outcome: &'static str) {
    METRICS
        .background_refresh
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
}

/// One webhook delivery attempt; `latency` from the event, when delivered.
pub fn webhook_delivery(outcome: &'static str, latency: Option<Duration>) {
    METRICS
        .webhook_deliveries
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
    if let Some(latency) = latency {
        METRICS
            .webhook_delivery_latency
            .observe(latency.as_secs_f64());
    }
}

/// Undelivered webhook messages.
pub fn outbox_depth(depth: i64) {
    METRICS.outbox_depth.set(depth);
}

/// Rows deleted by retention.
pub fn retention_deleted(kind: &'static str, count: usize) {
    METRICS
        .retention_deleted
        .get_or_create(&KindLabels { kind })
        .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
}

/// A bounded method label.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// One answered request. `route` is the matched pattern (`/v2/users/{user_id}/tokens`), or
/// `None` for a path no route matched.
pub fn http_request(route: Option<String>, method: &str, status: u16, took: Duration) {
    let route = route.unwrap_or_else(|| "unmatched".into());
    let method = method_label(method);
    let metrics = &*METRICS;
    let labels = RouteLabels { route, method };
    metrics
        .http_duration
        .get_or_create(&labels)
        .observe(took.as_secs_f64());
    let labels = HttpLabels {
        route: labels.route,
        method,
        status,
    };
    metrics.http_requests.get_or_create(&labels).inc();
}

/// One provider refresh call and how it ended.
pub fn refresh(provider: &str, outcome: &'static str, took: Duration) {
    let metrics = &*METRICS;
    let provider = provider.to_string();
    metrics
        .refresh_duration
        .get_or_create(&ProviderLabels {
            provider: provider.clone(),
        })
        .observe(took.as_secs_f64());
    metrics
        .refresh
        .get_or_create(&RefreshLabels { provider, outcome })
        .inc();
}

/// One proxied request: the provider, the answer's status class, how long until it started.
pub fn proxied(provider: &str, status_class: &'static str, took: Duration) {
    let metrics = &*METRICS;
    let provider = provider.to_string();
    metrics
        .proxy_duration
        .get_or_create(&ProviderLabels {
            provider: provider.clone(),
        })
        .observe(took.as_secs_f64());
    metrics
        .proxy_requests
        .get_or_create(&ProxyLabels {
            provider,
            status_class,
        })
        .inc();
}

/// A refresh that joined one in flight.
pub fn refresh_joined() {
    METRICS.refresh_joined.inc();
}

/// A refused authentication.
pub fn auth_failure(reason: &'static str) {
    METRICS
        .auth_failures
        .get_or_create(&ReasonLabels { reason })
        .inc();
}

/// The OpenMetrics text of every metric, with the pool's `(open, idle)` connections and the
/// read cache's `(entries, bytes)`.
pub fn render((open, idle): (u32, u32), read_cache: Option<(u64, u64)>) -> String {
    let metrics = &*METRICS;
    let (entries, bytes) = read_cache.unwrap_or_default();
    let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    metrics.read_cache_entries.set(gauge(entries));
    metrics.read_cache_bytes.set(gauge(bytes));
    let in_use = open.saturating_sub(idle);
    for (state, value) in [("idle", idle), ("in_use", in_use)] {
        metrics
            .db_connections
            .get_or_create(&StateLabels { state })
            .set(i64::from(value));
    }
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &metrics.registry);
    text
}

/// The content type of `render`'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of the classic Prometheus text format (`classic`).
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether a scraper's `Accept` header asks for the classic text format: it names `text/plain`
/// and not OpenMetrics.
pub fn wants_classic(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        let accept = accept.to_ascii_lowercase();
        accept.contains("text/plain") && !accept.contains("application/openmetrics-text")
    })
}

/// OpenMetrics text rewritten in the classic Prometheus text format (0.0.4): counter families
/// are named by their `_total` samples and info families by their `_info` samples (as gauges),
/// `unknown` becomes `untyped`, and `# UNIT` and `# EOF` are dropped.
pub fn classic(openmetrics: &str) -> String {
    let typed = |kind: &'static str| -> std::collections::HashSet<&str> {
        openmetrics
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.strip_suffix(kind))
            .collect()
    };
    let (counters, infos) = (typed(" counter"), typed(" info"));
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = line
            .strip_prefix("# HELP ")
            .map(|rest| ("HELP", rest))
            .or_else(|| line.strip_prefix("# TYPE ").map(|rest| ("TYPE", rest)));
        match meta {
            Some((kind, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let tail = match (kind, tail) {
                    ("TYPE", "unknown") => "untyped",
                    ("TYPE", "info") => "gauge",
                    _ => tail,
                };
                let suffix = match (counters.contains(name), infos.contains(name)) {
                    (true, _) => "_total",
                    (_, true) => "_info",
                    _ => "",
                };
                out.push_str(&format!("# {kind} {name}{suffix} {tail}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_format_names_families_by_their_samples() {
        let openmetrics = "# HELP a_requests Requests.\n# TYPE a_requests counter\n\
             a_requests_total{route=\"/x\"} 3\n# HELP a_build Build.\n# TYPE a_build info\n\
             a_build_info{version=\"1\"} 1\n# HELP a_seconds Time.\n# TYPE a_seconds histogram\n\
             # UNIT a_seconds seconds\na_seconds_bucket{le=\"+Inf\"} 1\na_seconds_sum 0.5\n\
             a_seconds_count 1\n# HELP a_odd Odd.\n# TYPE a_odd unknown\na_odd 2\n# EOF\n";
        let expected = "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\n\
             a_requests_total{route=\"/x\"} 3\n# HELP a_build_info Build.\n\
             # TYPE a_build_info gauge\na_build_info{version=\"1\"} 1\n# HELP a_seconds Time.\n\
             # TYPE a_seconds histogram\na_seconds_bucket{le=\"+Inf\"} 1\na_seconds_sum 0.5\n\
             a_seconds_count 1\n# HELP a_odd Odd.\n# TYPE a_odd untyped\na_odd 2\n";
        assert_eq!(classic(openmetrics), expected);
        assert!(wants_classic(Some("text/plain;version=0.0.4")));
        assert!(!wants_classic(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
        )));
        assert!(!wants_classic(None));
    }
}
