//! What operators see: `/metrics` (parsed, with no tenant, user or secret in any label), request
//! ids on every response and log line, and logs that are plain (no colour) when not on a
//! terminal, JSON throughout in JSON mode, with integer milliseconds.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use actix_web::test::TestRequest;
use common::oauth_mock::{MockProvider, Reply};
use common::{TestApp, TestDb, oauth2_body};
use serde_json::Value;

/// One sample of the metrics text: family name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses OpenMetrics / Prometheus text: `# TYPE` lines and samples.
fn parse_metrics(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').unwrap()),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once("=\"").unwrap();
                (key.to_string(), value.trim_end_matches('"').to_string())
            })
            .collect();
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    (types, samples)
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

#[actix_web::test]
async fn metrics_cover_requests_refreshes_auth_and_the_pool_without_identities() {
    let mock = MockProvider::start().await;
    mock.reply(Reply::Success {
        rotate: false,
        expires_in: Some(3600),
    });
    let app = TestApp::new().with_provider(&mock).start().await;
    app.store("metrics-user-7", &oauth2_body("google")).await;
    let path = "/v2/users/metrics-user-7/tokens/google";
    assert_eq!(app.get(path, &app.admin_key).await.status, 200);
    let forced = app
        .get(&format!("{path}?force_refresh=true"), &app.admin_key)
        .await;
    assert_eq!(forced.body["refreshed"], true);
    let wrong_key = "agk_wrongwrongwrongwrongwrongwrongwrong";
    assert_eq!(app.get(path, wrong_key).await.status, 401);

    let scrape = app.call(TestRequest::get().uri("/metrics")).await;
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = scrape.body.as_str().unwrap().to_string();
    let (types, samples) = parse_metrics(&text);
    for (family, kind) in [
        ("tokenvault_http_requests", "counter"),
        ("tokenvault_http_request_duration_seconds", "histogram"),
        ("tokenvault_refresh", "counter"),
        ("tokenvault_refresh_duration_seconds", "histogram"),
        ("tokenvault_refresh_joined", "counter"),
        ("tokenvault_auth_failures", "counter"),
        ("tokenvault_db_pool_connections", "gauge"),
        ("tokenvault_build_info", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let route = "/v2/users/{user_id}/tokens/{integration_key}";
    let gets = find(
        &samples,
        "tokenvault_http_requests_total",
        &[("route", route), ("method", "GET"), ("status", "200")],
    )
    .expect("GET 200 counted under its route pattern");
    assert!(gets.value >= 2.0);
    assert!(
        find(
            &samples,
            "tokenvault_http_request_duration_seconds_bucket",
            &[("route", route), ("le", "+Inf")]
        )
        .is_some_and(|s| s.value >= 3.0)
    );
    assert!(
        find(
            &samples,
            "tokenvault_refresh_total",
            &[("provider", "google"), ("outcome", "success")]
        )
        .is_some_and(|s| s.value >= 1.0)
    );
    assert!(
        find(
            &samples,
            "tokenvault_refresh_duration_seconds_count",
            &[("provider", "google")]
        )
        .is_some()
    );
    assert!(
        find(
            &samples,
            "tokenvault_auth_failures_total",
            &[("reason", "unknown")]
        )
        .is_some_and(|s| s.value >= 1.0)
    );
    assert!(
        find(
            &samples,
            "tokenvault_db_pool_connections",
            &[("state", "idle")]
        )
        .is_some()
    );
    assert!(
        find(
            &samples,
            "tokenvault_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        )
        .is_some_and(|s| s.value == 1.0)
    );
    for identity in [
        "metrics-user-7",
        "default",
        &app.admin_key,
        wrong_key,
        "ACCESS-SECRET",
        "ya29",
    ] {
        assert!(
            !samples
                .iter()
                .any(|s| s.labels.values().any(|v| v.contains(identity))),
            "{identity} appears in a label"
        );
    }
}

#[actix_web::test]
async fn metrics_can_be_turned_off() {
    let app = TestApp::new().config(|c| c.metrics = false).start().await;
    let scrape = app.call(TestRequest::get().uri("/metrics")).await;
    assert_eq!(scrape.status, 404);
    assert_eq!(scrape.error(), "not_found");
}

#[actix_web::test]
async fn every_response_carries_a_request_id_the_client_may_choose() {
    let app = TestApp::new().start().await;
    let id_of = |r: &common::TestResponse| {
        r.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let chosen = app
        .call(
            TestRequest::get()
                .uri("/v2/providers")
                .insert_header(("X-API-Key", app.admin_key.as_str()))
                .insert_header(("X-Request-Id", "checkout-42.a_b:c")),
        )
        .await;
    assert_eq!(chosen.status, 200);
    assert_eq!(id_of(&chosen), "checkout-42.a_b:c");
    let generated = [
        app.call(TestRequest::get().uri("/v2/providers")).await,
        app.call(TestRequest::get().uri("/nowhere")).await,
        app.call(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "has spaces and ☃")),
        )
        .await,
        app.call(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "x".repeat(200))),
        )
        .await,
    ];
    assert_eq!(generated[0].status, 401);
    assert_eq!(generated[1].status, 404);
    let ids: Vec<String> = generated.iter().map(id_of).collect();
    for id in &ids {
        assert!(
            !id.is_empty() && id.len() <= 64 && !id.contains(' '),
            "{id:?}"
        );
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "generated ids repeat: {ids:?}");
}

fn server(db: &TestDb, admin: &str, envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenvault"));
    let url = db.database_url();
    cmd.env("DATABASE_URL", url)
        .env("SECRET_TOKEN_ENC_KEY", tokenvault::crypto::generate_key())
        .env("TOKENVAULT_BOOTSTRAP_API_KEY", admin)
        .env("TOKENVAULT_BIND", "127.0.0.1:0")
        .env_remove("PROVIDERS_FILE")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in envs {
        cmd.env(name, value);
    }
    cmd
}

/// Reads JSON log lines from `stderr` until one satisfies `until`; all lines read.
fn json_lines_until(
    lines: &mut impl Iterator<Item = String>,
    until: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    for line in lines {
        assert!(
            !line.contains('\u{1b}'),
            "ANSI escape in a piped log: {line:?}"
        );
        let value: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line:?}"));
        let done = until(&value);
        seen.push(value);
        if done {
            return seen;
        }
    }
    panic!("the server stopped before the awaited line: {seen:?}");
}

#[test]
fn json_logs_cover_the_banner_and_carry_request_and_key_ids() {
    let db = TestDb::new();
    let admin = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
    let mut child = server(
        &db,
        &admin,
        &[
            ("TOKENVAULT_LOG_FORMAT", "json"),
            ("TOKENVAULT_LOG", "info"),
        ],
    )
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let start = json_lines_until(&mut stderr, |v| {
        v["fields"]["message"] == "tokenvault listening"
    });
    let banner = &start[start.len() - 1];
    let url = banner["fields"]["url"].as_str().unwrap().to_string();
    let addr = url.trim_start_matches("http://").to_string();

    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /v2/users/u1/tokens HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {admin}\r\n\
         X-Request-Id: trace-me-77\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("x-request-id: trace-me-77"),
        "{reply}"
    );

    let logged = json_lines_until(&mut stderr, |v| v["fields"]["message"] == "request");
    let line = &logged[logged.len() - 1];
    assert_eq!(line["span"]["request_id"], "trace-me-77", "{line}");
    assert!(
        line["span"]["key_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("key_")),
        "{line}"
    );
    assert!(
        line["fields"]["elapsed_ms"].is_u64(),
        "integer milliseconds: {line}"
    );
    assert!(
        !line.to_string().contains(&admin),
        "the key itself is logged: {line}"
    );
    let _ = child.kill();
    let _ = child.wait();
    // Standard output held no plain-text banner in JSON mode.
    let out: Vec<String> = stdout.by_ref().map_while(Result::ok).collect();
    assert!(out.iter().all(|l| !l.contains("listening")), "{out:?}");
}

#[test]
fn text_logs_have_no_colour_when_piped_and_a_bad_filter_is_refused() {
    let db = TestDb::new();
    let admin = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
    for (filter, fragment) in [
        ("inf0", "\"inf0\" is not a level"),
        ("info,x=nope", "not a log filter"),
    ] {
        let out = server(&db, &admin, &[("TOKENVAULT_LOG", filter)])
            .arg("serve")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{filter} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(fragment), "{filter}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let mut child = server(&db, &admin, &[("TOKENVAULT_LOG", "debug")])
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let first: Vec<String> = stderr.by_ref().take(3).collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!first.is_empty());
    for line in first {
        assert!(
            !line.contains('\u{1b}'),
            "ANSI escape in a piped log: {line:?}"
        );
    }
}

#[actix_web::test]
async fn known_series_start_at_zero_and_text_plain_gets_the_classic_format() {
    let app = TestApp::new().start().await;
    app.store("u1", &oauth2_body("google")).await;
    let path = "/v2/users/u1/tokens/google";
    app.until_cache_live().await;
    for _ in 0..3 {
        assert_eq!(app.get(path, &app.admin_key).await.status, 200);
    }

    // OpenMetrics unless the scraper asks for text/plain alone.
    let prometheus_accept =
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let scrape = app
        .call(
            TestRequest::get()
                .uri("/metrics")
                .insert_header(("accept", prometheus_accept)),
        )
        .await;
    let content_type = scrape
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = scrape.body.as_str().unwrap().to_string();
    let (_, samples) = parse_metrics(&text);
    // Families that saw no event are exported, at zero, with their known label sets.
    for (name, label, value) in [
        ("tokenvault_webhook_deliveries_total", "outcome", "given_up"),
        ("tokenvault_background_refresh_total", "outcome", "failed"),
        (
            "tokenvault_retention_deleted_total",
            "kind",
            "invalid_credentials",
        ),
        ("tokenvault_auth_failures_total", "reason", "throttled"),
        ("tokenvault_refresh_total", "outcome", "invalid"),
    ] {
        let sample = find(&samples, name, &[(label, value)]);
        assert!(
            sample.is_some(),
            "{name}{{{label}={value}}} missing:\n{text}"
        );
    }
    let hits = find(
        &samples,
        "tokenvault_read_cache_lookups_total",
        &[("result", "hit")],
    )
    .expect("read cache hits are counted");
    assert!(hits.value >= 1.0, "{text}");
    for result in ["hit", "miss", "bypassed"] {
        let labels = [("result", result)];
        let lookups = find(
            &samples,
            "tokenvault_webhook_subscription_lookups_total",
            &labels,
        );
        assert!(lookups.is_some(), "subscription lookups {result}:\n{text}");
    }
    let entries = find(&samples, "tokenvault_read_cache_entries", &[]).expect("cache size");
    assert!(entries.value >= 1.0);

    let classic = app
        .call(
            TestRequest::get()
                .uri("/metrics")
                .insert_header(("accept", "text/plain")),
        )
        .await;
    let content_type = classic
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = classic.body.as_str().unwrap();
    assert!(
        !text.contains("# EOF") && !text.contains("# UNIT"),
        "{text}"
    );
    // A counter family is named by its samples, as the classic format wants.
    assert!(
        text.contains("# TYPE tokenvault_http_requests_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP tokenvault_http_requests_total "),
        "{text}"
    );
    assert!(
        text.contains("# TYPE tokenvault_db_pool_connections gauge\n"),
        "{text}"
    );
    // Every sample line belongs to a family declared before it.
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_string());
        } else if !line.starts_with('#') && !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = declared.last().unwrap();
            let suffixes = ["", "_bucket", "_sum", "_count"];
            assert!(
                suffixes.iter().any(|s| name == format!("{family}{s}")),
                "{name} under {family}"
            );
        }
    }
}
