//! The catalogue, end to end: every entry of the embedded `providers.toml` played by a local
//! emulator configured from that entry's own fields (`common::emulator`), through the real HTTP
//! API over a real database. For each OAuth entry: connect (authorize parameters, PKCE, the
//! callback's `iss` and metadata) → code exchange (client auth, body format, reply path) →
//! account → two refreshes (rotation) → a proxied call (`api_auth`) → delete with revocation.
//! Client-credentials entries mint; API-key and basic entries are proxied with the credential
//! where `api_auth` puts it, and keys without the documented prefix are refused. This proves
//! the entries consistent with what tokenvault does; whether each entry is true to its
//! provider is the documentation's word (docs/CATALOGUE.md says which parts were checked).

mod common;

use common::TestApp;
use common::emulator::{
    APP, CLIENT_ID, CLIENT_SECRET, Emulator, Spec, browse, connect, deployed, ensure, expect,
    oauth, placed, proxied,
};
use serde_json::{Value, json};
const CATALOGUE: &str = include_str!("../src/providers/providers.toml");

fn specs() -> Vec<Spec> {
    let root: toml::Table = CATALOGUE.parse().unwrap();
    root.iter()
        .map(|(key, table)| {
            Spec::of(key, table.as_table().unwrap()).unwrap_or_else(|e| panic!("[{key}]: {e}"))
        })
        .collect()
}

async fn app_for(emulator: &Emulator, specs: &[Spec]) -> TestApp {
    let toml: String = specs.iter().map(|s| s.overrides(&emulator.url)).collect();
    let connectable: Vec<String> = specs
        .iter()
        .filter(|s| s.connectable)
        .map(|s| s.key.clone())
        .collect();
    TestApp::new()
        .with_providers_toml(toml)
        .config(move |c| deployed(c, connectable))
        .start()
        .await
}

async fn minted(app: &TestApp, emulator: &Emulator, spec: &Spec) -> Result<(), String> {
    let user = format!("cc-{}", spec.key);
    let body = json!({"integration_key": spec.key, "provider": spec.key,
        "token_type": "client_credentials",
        "token_data": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "tenant": "contoso"}});
    let stored = app
        .post(&format!("/v2/users/{user}/tokens"), &app.admin_key, &body)
        .await;
    expect(&stored, 201, "store client credentials")?;
    let got = app
        .get(
            &format!("/v2/users/{user}/tokens/{}", spec.key),
            &app.admin_key,
        )
        .await;
    expect(&got, 200, "mint")?;
    let played = emulator.played(&spec.key).access;
    ensure(
        got.body["token_data"]["access_token"] == json!(played),
        || format!("minted: {}", got.body),
    )
}

/// A key with the entry's documented prefix (the pattern's first alternatives), or any key.
fn key_for(pattern: Option<&str>) -> String {
    let mut prefix = String::new();
    let mut chars = pattern
        .unwrap_or("^")
        .trim_start_matches('^')
        .chars()
        .peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ')').collect();
                prefix.push_str(inner.split('|').next().unwrap_or_default());
            }
            '[' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                prefix.extend(inner.chars().next());
            }
            '\\' => prefix.extend(chars.next()),
            '$' => break,
            c => prefix.push(c),
        }
    }
    format!("{prefix}CONFORMANCE-KEY-0123456789")
}

async fn keyed(app: &TestApp, emulator: &Emulator, spec: &Spec) -> Result<(), String> {
    let user = format!("k-{}", spec.key);
    let key = key_for(spec.key_pattern.as_deref());
    let store = |token_data: Value, kind: &str| json!({"integration_key": spec.key, "provider": spec.key, "token_type": kind, "token_data": token_data});
    if spec.key_pattern.is_some() {
        let wrong = "zz-NOT-THIS-PROVIDERS-KEY";
        let refused = app
            .post(
                &format!("/v2/users/{user}/tokens"),
                &app.admin_key,
                &store(json!({"api_key": wrong}), "api_key"),
            )
            .await;
        expect(&refused, 422, "a key without the prefix")?;
        ensure(!refused.body.to_string().contains(wrong), || {
            "the refused key was echoed".into()
        })?;
    }
    if spec.token_types.iter().any(|t| t == "api_key") {
        let stored = app
            .post(
                &format!("/v2/users/{user}/tokens"),
                &app.admin_key,
                &store(
                    json!({"api_key": key, "api_secret": "conformance-secret"}),
                    "api_key",
                ),
            )
            .await;
        expect(&stored, 201, "store api key")?;
        if spec.has_api() {
            let secret = Some((key.as_str(), "conformance-secret"));
            placed(
                &spec.api_auth,
                &key,
                secret,
                &proxied(app, emulator, spec, &user).await?,
            )?;
        }
    }
    if spec.token_types.iter().any(|t| t == "basic") {
        let user = format!("b-{}", spec.key);
        let data = json!({"username": "ACconformance", "password": "basic-secret"});
        let stored = app
            .post(
                &format!("/v2/users/{user}/tokens"),
                &app.admin_key,
                &store(data, "basic"),
            )
            .await;
        expect(&stored, 201, "store basic")?;
        if spec.has_api() {
            let call = proxied(app, emulator, spec, &user).await?;
            placed("basic", "", Some(("ACconformance", "basic-secret")), &call)?;
        }
    }
    Ok(())
}

#[actix_web::test]
async fn every_catalogue_entry_plays_its_provider_as_its_fields_say() {
    let specs = specs();
    assert!(specs.len() >= 60, "{} entries", specs.len());
    let emulator = Emulator::start(specs.clone());
    let app = app_for(&emulator, &specs).await;
    let mut failures = Vec::new();
    let (mut oauth_checked, mut keys_checked, mut minting_checked) = (0, 0, 0);
    for spec in &specs {
        let kinds = |kind: &str| spec.token_types.iter().any(|t| t == kind);
        let mut results = Vec::new();
        if spec.connectable {
            results.push(oauth(&app, &emulator, spec).await);
            oauth_checked += 1;
        }
        if kinds("client_credentials") {
            results.push(minted(&app, &emulator, spec).await);
            minting_checked += 1;
        }
        if kinds("api_key") || kinds("basic") {
            results.push(keyed(&app, &emulator, spec).await);
            keys_checked += 1;
        }
        failures.extend(
            results
                .into_iter()
                .filter_map(Result::err)
                .map(|e| format!("{}: {e}", spec.key)),
        );
    }
    failures.extend(emulator.refused());
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(oauth_checked >= 40, "{oauth_checked} OAuth entries checked");
    assert!(
        keys_checked >= 15 && minting_checked >= 2,
        "{keys_checked} keyed, {minting_checked} minting"
    );
}

/// The embedded catalogue with platform clients for `keys`.
async fn catalogue_app(keys: &[&str]) -> TestApp {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    TestApp::new()
        .config(move |c| deployed(c, keys))
        .start()
        .await
}

#[actix_web::test]
async fn per_account_hosts_take_only_values_matching_their_pattern() {
    let app = catalogue_app(&["zendesk", "google"]).await;
    let connect = |config: Value| json!({"provider": "zendesk", "redirect_uri": APP, "connection_config": config});
    let started = app
        .post(
            "/v2/users/u1/connect",
            &app.admin_key,
            &connect(json!({"subdomain": "acme"})),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let url = started.body["authorization_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://acme.zendesk.com/oauth/authorizations/new?"),
        "{url}"
    );
    let store = |config: Value| {
        json!({"integration_key": "zendesk", "provider": "zendesk", "token_type": "oauth2",
               "token_data": {"access_token": "at", "refresh_token": "rt"}, "connection_config": config})
    };
    for hostile in [
        "evil.com/",
        "a.b",
        "127.0.0.1",
        "acme%2eevil",
        "acme.zendesk.com@evil.com",
        "evil.com#",
        "",
        "ACME",
        "acme:8080",
    ] {
        let refused = app
            .post(
                "/v2/users/u1/connect",
                &app.admin_key,
                &connect(json!({"subdomain": hostile})),
            )
            .await;
        assert_eq!(refused.status, 422, "{hostile}: {}", refused.body);
        assert!(
            refused.message().contains("connection_config.subdomain"),
            "{}",
            refused.body
        );
        let refused = app
            .post(
                "/v2/users/u1/tokens",
                &app.admin_key,
                &store(json!({"subdomain": hostile})),
            )
            .await;
        assert_eq!(refused.status, 422, "{hostile}: {}", refused.body);
    }
    let missing = app
        .post("/v2/users/u1/connect", &app.admin_key, &connect(json!({})))
        .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing
            .message()
            .contains("needs connection_config.subdomain"),
        "{}",
        missing.body
    );
    let unknown = app
        .post(
            "/v2/users/u1/connect",
            &app.admin_key,
            &connect(json!({"subdomain": "acme", "host": "evil.com"})),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(
        listed.body,
        json!([]),
        "nothing was stored by a refused request"
    );
    let stored = app.store("u1", &store(json!({"subdomain": "acme"}))).await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let got = app.get("/v2/users/u1/tokens/zendesk", &app.admin_key).await;
    assert_eq!(got.body["connection_config"], json!({"subdomain": "acme"}));
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(
        listed.body[0]["connection_config"],
        json!({"subdomain": "acme"})
    );
    let google = json!({"integration_key": "g", "provider": "google", "token_type": "oauth2",
        "token_data": {"access_token": "at"}, "connection_config": {"subdomain": "acme"}});
    let refused = app
        .post("/v2/users/u1/tokens", &app.admin_key, &google)
        .await;
    assert_eq!(
        refused.status, 422,
        "google has no connection_config: {}",
        refused.body
    );
}

#[actix_web::test]
async fn strict_scopes_refuse_what_the_catalogue_leaves_out() {
    let app = catalogue_app(&["google"]).await;
    let connect =
        |scopes: Value| json!({"provider": "google", "redirect_uri": APP, "scopes": scopes});
    for broad in [
        "https://www.googleapis.com/auth/drive",
        "https://www.googleapis.com/auth/drive.readonly",
    ] {
        let refused = app
            .post(
                "/v2/users/u1/connect",
                &app.admin_key,
                &connect(json!(["openid", broad])),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.message().contains(broad), "{}", refused.body);
        assert!(
            !refused.message().contains("openid,"),
            "only the refused scope is named"
        );
    }
    // The device flow is held to the same list.
    let device = json!({"provider": "google", "flow": "device",
                        "scopes": ["https://www.googleapis.com/auth/drive"]});
    let refused = app
        .post("/v2/users/u1/connect", &app.admin_key, &device)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let narrow = connect(json!([
        "openid",
        "https://www.googleapis.com/auth/drive.file"
    ]));
    let started = app
        .post("/v2/users/u1/connect", &app.admin_key, &narrow)
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
}

/// The Salesforce entry as written (its `{instance_url}` API base and its reply metadata), with
/// the instance URL's pattern widened to this machine so the reply can name the local API.
async fn salesforce_with_instance(
    instance: impl FnOnce(&str) -> String,
) -> (Emulator, TestApp, Spec) {
    let mut spec = specs().into_iter().find(|s| s.key == "salesforce").unwrap();
    let emulator = Emulator::start(vec![spec.clone()]);
    spec.config
        .insert("instance_url".into(), instance(&emulator.url));
    emulator.adjust("salesforce", |s| *s = spec.clone());
    let rewritten = format!("api_base_url = \"{}/salesforce/api/o\"\n", emulator.url);
    let toml = spec.overrides(&emulator.url).replace(&rewritten, "")
        + "[salesforce.connection_config]\ninstance_url = '^http://127\\.0\\.0\\.1:[0-9]+/salesforce/api/inst$'\n";
    let app = TestApp::new()
        .with_providers_toml(toml)
        .config(|c| deployed(c, vec!["salesforce".into()]))
        .start()
        .await;
    (emulator, app, spec)
}

#[actix_web::test]
async fn the_instance_url_of_the_reply_is_kept_and_is_the_proxys_base() {
    let (emulator, app, spec) =
        salesforce_with_instance(|url| format!("{url}/salesforce/api/inst")).await;
    oauth(&app, &emulator, &spec).await.unwrap();
    let call = emulator
        .played("salesforce")
        .api_calls
        .last()
        .cloned()
        .unwrap();
    assert_eq!(call.path, "/salesforce/api/inst/services/data/ping");

    // A reply naming another host is refused: the connect fails, nothing is stored.
    let (_emulator, app, _) = salesforce_with_instance(|_| "https://evil.example.com".into()).await;
    let started = app
        .post(
            "/v2/users/u1/connect",
            &app.admin_key,
            &json!({"provider": "salesforce", "redirect_uri": APP}),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let landing = browse(&app, started.body["authorization_url"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        landing.contains("status=error&error=exchange_failed"),
        "{landing}"
    );
    let listed = app.get("/v2/users/u1/tokens", &app.admin_key).await;
    assert_eq!(listed.body, json!([]));
    let events = app
        .get("/v2/users/u1/tokens/salesforce/events", &app.admin_key)
        .await;
    assert!(
        events.body.to_string().contains("instance_url"),
        "{}",
        events.body
    );
}

#[actix_web::test]
async fn export_names_the_account_in_the_providers_account_env_var() {
    let spec = specs().into_iter().find(|s| s.key == "google").unwrap();
    let emulator = Emulator::start(vec![spec.clone()]);
    let app = app_for(&emulator, std::slice::from_ref(&spec)).await;
    connect(&app, &spec, "u1").await.unwrap();
    let url = app.listen().await;
    let exported = common::tv(&url, &app.admin_key, &["export", "--user", "u1"]).await;
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let access = emulator.played("google").access;
    assert!(
        exported
            .stdout
            .contains(&format!("GOG_ACCESS_TOKEN='{access}'")),
        "{}",
        exported.stdout
    );
    assert!(
        exported
            .stdout
            .contains("GOG_ACCOUNT='user@google.example'"),
        "{}",
        exported.stdout
    );
    let listed = common::tv(&url, &app.admin_key, &["providers"]).await;
    assert!(
        listed.stdout.lines().any(|l| l.starts_with("spotify\t")
            && l.ends_with(
                "\thttps://developer.spotify.com/documentation/web-api/tutorials/code-pkce-flow"
            )),
        "{}",
        listed.stdout
    );
}

fn run_binary(args: &[&str], env: &[(&str, &str)]) -> common::CliRun {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tokenvault"));
    cmd.args(args)
        .env_remove("PROVIDERS_FILE")
        .current_dir(std::env::temp_dir());
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    common::CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const BROKEN: &str = r#"
[acme]
display_name = "Acme"
token_types = ["oauth2"]
env_var = "ACME_TOKEN"
token_url = "https://{region}.acme.example/token"
authorize_url = "not a url"
colour = "blue"

[shop]
docs_url = "https://shop.example/docs"
display_name = "Shop"
token_types = ["oauth2"]
env_var = "SHOP_TOKEN"
token_url = "https://{shop}.shop.example/token"
[shop.connection_config]
shop = "[a-z]+"

[google]
token_url = "ftp://oauth2.googleapis.com/token"
"#;

#[actix_web::test]
async fn providers_check_names_every_problem_and_serve_refuses_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, BROKEN).unwrap();
    let path = broken.to_str().unwrap();
    let checked = run_binary(&["providers", "check", path], &[]);
    assert_eq!(checked.code, 2, "{}{}", checked.stdout, checked.stderr);
    for problem in [
        "provider [acme]: unknown field `colour`",
        "provider [shop]: connection_config.shop: pattern \"[a-z]+\" must be anchored",
        "provider [google]: token_url \"ftp://oauth2.googleapis.com/token\" is not an absolute http(s) URL",
    ] {
        assert!(
            checked.stdout.contains(problem),
            "{problem}:\n{}",
            checked.stdout
        );
    }
    assert!(
        checked.stdout.lines().all(|l| l.starts_with(path)),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stderr.contains("serve would refuse it"),
        "{}",
        checked.stderr
    );

    // Without the unknown field, the rest of acme's problems show.
    std::fs::write(&broken, BROKEN.replace("colour = \"blue\"\n", "")).unwrap();
    let checked = run_binary(&["providers", "check", path], &[]);
    assert_eq!(checked.code, 2);
    for problem in [
        "provider [acme]: docs_url is missing",
        "provider [acme]: token_url uses {region}, which connection_config does not declare",
        "provider [acme]: authorize_url \"not a url\" is not an absolute http(s) URL",
    ] {
        assert!(
            checked.stdout.contains(problem),
            "{problem}:\n{}",
            checked.stdout
        );
    }

    let db = common::TestDb::new();
    let key = tokenvault::crypto::generate_key();
    let served = common::tokenvault_command(&db, &key)
        .arg("serve")
        .env("PROVIDERS_FILE", path)
        .env("TOKENVAULT_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!served.status.success());
    let stderr = String::from_utf8_lossy(&served.stderr);
    assert!(
        stderr.contains("docs_url is missing") && stderr.contains("must be anchored"),
        "{stderr}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[acme]\ndocs_url = \"https://acme.example/docs\"\ndisplay_name = \"Acme\"\n\
        token_types = [\"api_key\"]\nenv_var = \"ACME_KEY\"\nkey_pattern = \"^acme_\"\nkey_hint = \"Keys start with acme_\"\n").unwrap();
    let checked = run_binary(&["providers", "check", good.to_str().unwrap()], &[]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(checked.stdout.contains("ok ("), "{}", checked.stdout);
}
