//! The `tokenvault` binary: key management, migrations, start-up bootstrap and refusals, each
//! run as a real process against the test database.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestDb, serve_on_free_port, tokenvault_command as tokenvault};
use serde_json::Value;

fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn keys_create_list_revoke() {
    let db = TestDb::new();
    let enc = tokenvault::crypto::generate_key();
    let (ok, out, err) = run(tokenvault(&db, &enc).args([
        "keys",
        "create",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--scopes",
        "tokens:read",
        "--user",
        "u1",
        "--expires-in",
        "30d",
        "--json",
    ]));
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    assert!(key.starts_with("agk_") && key.len() >= 36, "{key}");
    assert_eq!(created["scopes"], serde_json::json!(["tokens:read"]));
    assert_eq!(created["user_id"], "u1");

    let (ok, out, _) = run(tokenvault(&db, &enc).args(["keys", "list", "--json"]));
    assert!(ok);
    assert!(!out.contains(key), "key shown by list");
    let listed: Value = serde_json::from_str(out.trim()).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap();
    assert_eq!(entry["state"], "active");
    assert_eq!(entry["prefix"], &key[..10]);

    let (ok, out, _) = run(tokenvault(&db, &enc).args(["keys", "revoke", id]));
    assert!(ok);
    assert!(out.contains("revoked"));
    let (_, out, _) = run(tokenvault(&db, &enc).args(["keys", "list"]));
    assert!(out.contains("revoked"), "{out}");

    let (ok, _, err) = run(tokenvault(&db, &enc).args(["keys", "revoke", id]));
    assert!(!ok);
    assert!(err.contains("no active API key"), "{err}");
}

#[test]
fn keys_create_refuses_bad_input_with_one_line() {
    let db = TestDb::new();
    let enc = tokenvault::crypto::generate_key();
    for args in [
        vec![
            "keys",
            "create",
            "--tenant",
            "t",
            "--name",
            "n",
            "--scopes",
            "tokens:all",
        ],
        vec![
            "keys",
            "create",
            "--tenant",
            "t",
            "--name",
            "n",
            "--expires-in",
            "soon",
        ],
        vec!["keys", "create", "--tenant", "", "--name", "n"],
        vec![
            "keys", "create", "--tenant", "t", "--name", "n", "--user", "a b",
        ],
    ] {
        let (ok, _, err) = run(tokenvault(&db, &enc).args(&args));
        assert!(!ok, "{args:?}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("tokenvault: "), "{err}");
    }
}

#[test]
fn key_created_by_the_cli_authenticates_over_http() {
    let db = TestDb::new();
    let enc = tokenvault::crypto::generate_key();
    let (ok, out, err) = run(tokenvault(&db, &enc).args([
        "keys",
        "create",
        "--tenant",
        "default",
        "--name",
        "reader",
        "--scopes",
        "tokens:read",
        "--json",
    ]));
    assert!(ok, "{err}");
    let key = serde_json::from_str::<Value>(out.trim()).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    actix_web::rt::System::new().block_on(async move {
        let app = common::spawn_on(db, |c| c.encryption_keys = Some(enc.into())).await;
        let r = app.get("/v2/users/u1/tokens", &key).await;
        assert_eq!(r.status, 200);
        let r = app
            .post("/v2/users/u1/tokens", &key, &common::api_key_body("openai"))
            .await;
        assert_eq!(r.status, 403);
    });
}

#[test]
fn migrate_applies_once_then_reports_up_to_date() {
    let db = TestDb::new();
    let enc = tokenvault::crypto::generate_key();
    let (ok, out, err) = run(tokenvault(&db, &enc).arg("migrate"));
    assert!(ok, "{err}");
    assert!(out.contains("applied"), "{out}");
    let (ok, out, _) = run(tokenvault(&db, &enc).arg("migrate"));
    assert!(ok);
    assert!(out.contains("up to date"), "{out}");
}

#[test]
fn bad_database_urls_fail_with_the_real_reason() {
    let db = TestDb::new();
    let enc = tokenvault::crypto::generate_key();
    let (ok, _, err) = run(tokenvault(&db, &enc)
        .env("DATABASE_URL", "postgress://postgres@127.0.0.1/x")
        .arg("migrate"));
    assert!(!ok);
    assert!(err.contains("unsupported scheme"), "{err}");

    let (ok, _, err) = run(tokenvault(&db, &enc)
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
        .arg("migrate"));
    assert!(!ok);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");

    let (ok, _, err) = run(tokenvault(&db, &enc)
        .env(
            "DATABASE_URL",
            "postgres://postgres:hunter2@127.0.0.1:1/nothing",
        )
        .args(["keys", "list"]));
    assert!(!ok);
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn gen_key_prints_a_fernet_key() {
    let db = TestDb::new();
    let (ok, out, _) = run(tokenvault(&db, "").arg("gen-key"));
    assert!(ok);
    let key = out.trim();
    assert_eq!(key.len(), 44);
    assert!(tokenvault::crypto::Vault::from_secrets(key).is_ok());
}

#[test]
fn serve_refuses_postgres_without_an_encryption_key() {
    let db = TestDb::new();
    let (ok, _, err) = run(tokenvault(&db, "")
        .env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )
        .env_remove("SECRET_TOKEN_ENC_KEY")
        .arg("serve"));
    assert!(!ok);
    assert!(
        err.contains("SECRET_TOKEN_ENC_KEY") && err.contains("gen-key"),
        "{err}"
    );
}

/// Starts `serve` on a free port, returns what it printed up to the Swagger UI line.
fn start_and_stop(mut cmd: Command) -> String {
    let mut child = cmd
        .env("TOKENVAULT_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut printed = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("Swagger UI") {
                break;
            }
        }
        let _ = tx.send(printed);
    });
    let started = Instant::now();
    let printed = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "serve did not start"
    );
    printed
}

#[test]
fn first_start_prints_an_admin_key_once() {
    let db = TestDb::new();
    let enc = tokenvault::crypto::generate_key();
    let first = start_and_stop(tokenvault(&db, &enc));
    assert!(first.contains("Swagger UI: http://127.0.0.1:"), "{first}");
    assert!(first.contains("shown only this once"), "{first}");
    let key = first
        .split_whitespace()
        .find(|w| w.starts_with("agk_"))
        .unwrap()
        .to_string();
    let second = start_and_stop(tokenvault(&db, &enc));
    assert!(second.contains("Swagger UI"), "{second}");
    assert!(!second.contains("agk_"), "{second}");
    let (_, out, _) = run(tokenvault(&db, &enc).args(["keys", "list", "--json"]));
    let keys: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["scopes"], serde_json::json!(["admin"]));
    assert_eq!(keys[0]["prefix"], &key[..10]);
}

#[test]
fn sqlite_without_key_generates_a_private_key_file_and_reuses_it() {
    let db = TestDb::new();
    let Some(dir) = db.dir().map(|d| d.to_path_buf()) else {
        return; // The generated key file exists only on the embedded SQLite backend.
    };
    let mut cmd = tokenvault(&db, "");
    cmd.env_remove("SECRET_TOKEN_ENC_KEY");
    start_and_stop(cmd);
    let key_file = dir.join("secret.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 44);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut cmd = tokenvault(&db, "");
    cmd.env_remove("SECRET_TOKEN_ENC_KEY");
    start_and_stop(cmd);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
}

#[test]
fn rotate_key_reencrypts_with_a_summary_and_is_safe_to_rerun() {
    let db = TestDb::new();
    let (old, new) = (
        tokenvault::crypto::generate_key(),
        tokenvault::crypto::generate_key(),
    );
    let (ok, _, err) = run(tokenvault(&db, &old).arg("migrate"));
    assert!(ok, "{err}");
    let pool = tokenvault::db::Db::new(&db.url, 2);
    common::seed_credentials(
        &pool,
        &tokenvault::crypto::Vault::from_secrets(&old).unwrap(),
        50,
    );

    let both = format!("{new},{old}");
    let (ok, out, err) = run(tokenvault(&db, &both).args(["rotate-key", "--batch-size", "20"]));
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("50 of 50 rows visited: 50 re-encrypted, 0 already current, 0 failed"),
        "{out}"
    );
    // Without a terminal, progress is printed as lines with counts.
    assert!(err.contains("rotate-key: 20/50 rows"), "{err}");
    assert!(!out.contains("sk-old") && !err.contains("sk-old"));

    let (ok, out, _) = run(tokenvault(&db, &both).arg("rotate-key"));
    assert!(ok);
    assert!(out.contains("0 re-encrypted, 50 already current"), "{out}");

    let readable = common::open_all(
        &pool,
        &tokenvault::crypto::Vault::from_secrets(&new).unwrap(),
    );
    assert_eq!(readable.len(), 50);
    assert!(readable.iter().all(|(_, data)| !data.is_null()));

    // With only the old key configured, the rows cannot be read: failures, by identity.
    let (ok, out, err) = run(tokenvault(&db, &old).arg("rotate-key"));
    assert!(!ok);
    assert!(
        out.contains("50 failed") && out.contains("user_id=u00000"),
        "{out}"
    );
    assert!(err.contains("could not be re-encrypted"), "{err}");
}

#[test]
fn check_key_says_which_key_opens_the_data_and_commands_refuse_a_wrong_one() {
    let db = TestDb::new();
    let (old, new) = (
        tokenvault::crypto::generate_key(),
        tokenvault::crypto::generate_key(),
    );
    let (ok, out, err) = run(tokenvault(&db, &old).arg("check-key"));
    assert!(ok, "{err}");
    assert!(out.contains("holds no encrypted data yet"), "{out}");
    let pool = tokenvault::db::Db::new(&db.url, 1);
    common::seed_credentials(
        &pool,
        &tokenvault::crypto::Vault::from_secrets(&old).unwrap(),
        3,
    );

    let (ok, out, err) = run(tokenvault(&db, &format!("{new},{old}")).arg("check-key"));
    assert!(ok, "{err}");
    assert!(out.contains("key 2 of 2 opens the data"), "{out}");

    // A key that opens nothing: every command that needs the data refuses, in one line.
    for args in [&["check-key"][..], &["keys", "list"][..]] {
        let (ok, _, err) = run(tokenvault(&db, &new).args(args));
        assert!(!ok, "{args:?} accepted a wrong key");
        assert!(err.contains("does not match the data"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn database_time_bounds_must_be_whole_positive_milliseconds() {
    let db = TestDb::new();
    let key = tokenvault::crypto::generate_key();
    for (value, expected) in [
        (
            "soon",
            "TOKENVAULT_DB_DEADLINE_MS must be a whole number of milliseconds",
        ),
        ("0", "must be above zero"),
    ] {
        let (ok, _, err) = run(tokenvault(&db, &key)
            .env("TOKENVAULT_DB_DEADLINE_MS", value)
            .arg("migrate"));
        assert!(!ok, "{value} accepted");
        assert!(err.contains(expected), "{value}: {err}");
    }
}

#[test]
fn a_client_that_never_sends_its_body_gets_408_in_time() {
    use std::io::{Read, Write};
    let db = TestDb::new();
    let admin = format!("agk_{}", tokenvault::secret::random_base62(43).unwrap());
    let mut cmd = tokenvault(&db, &tokenvault::crypto::generate_key());
    cmd.env("TOKENVAULT_BOOTSTRAP_API_KEY", &admin)
        .env("TOKENVAULT_CLIENT_TIMEOUT_SECS", "1")
        .arg("serve");
    let (mut child, addr) = serve_on_free_port(cmd);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    // A valid key, a body announced and never sent (slow loris).
    write!(
        stream,
        "POST /v2/users/u1/tokens HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"integration_key\""
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let took = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let answer = String::from_utf8_lossy(&answer);
    eprintln!("slow body answered in {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn healthcheck_exits_zero_only_when_the_server_is_ready() {
    let db = TestDb::new();
    let key = tokenvault::crypto::generate_key();
    let mut cmd = tokenvault(&db, &key);
    cmd.arg("serve");
    let (mut child, addr) = serve_on_free_port(cmd);
    let port = addr.rsplit_once(':').unwrap().1.to_string();
    // As the container runs it: the bind address on all interfaces, asked on loopback.
    let (ok, out, err) = run(tokenvault(&db, &key)
        .env("TOKENVAULT_BIND", format!("0.0.0.0:{port}"))
        .env_remove("TOKENVAULT_URL")
        .arg("healthcheck"));
    assert!(ok, "{out} {err}");
    assert_eq!(out.trim(), "ready");
    let _ = child.kill();
    let _ = child.wait();
    let (ok, _, err) = run(tokenvault(&db, &key).env_remove("TOKENVAULT_URL").args([
        "healthcheck",
        "--url",
        &format!("http://{addr}"),
    ]));
    assert!(!ok, "a stopped server is healthy");
    assert!(err.contains("unreachable"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
