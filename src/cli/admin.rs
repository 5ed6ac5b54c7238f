//! The server-side commands of the `tokenvault` binary: serve, migrate, keys, rotate-key,
//! check-key, reap, openapi, healthcheck. Each reads the environment's configuration, does its
//! work through the library's services, and returns a one-line reason on failure.

use std::io::Write;
use std::time::Duration;

use actix_web::{HttpServer, web};
use clap::Subcommand;

use crate::auth::issue::{self, Issued, KeySpec};
use crate::auth::keys::{ApiKeyInfo, CreatedApiKey};
use crate::auth::revocations;
use crate::config::{Config, DEFAULT_BIND};
use crate::credentials::key_check;
use crate::db::api_keys::ApiKeyRow;
use crate::db::{self, Db};
use crate::model::{DEFAULT_KEY_SCOPES, KeyScopes};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key and print it once.
    Create {
        /// Tenant the key belongs to; it sees only this tenant's credentials.
        #[arg(long)]
        tenant: String,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: tokens:read, tokens:write, tokens:refresh, tokens:delete,
        /// tokens:proxy, admin.
        #[arg(
            long,
            default_value = DEFAULT_KEY_SCOPES
        )]
        scopes: String,
        /// Bind the key to one user_id: it can reach only that user's credentials.
        #[arg(long)]
        user: Option<String>,
        /// Let the key expire after this long, e.g. 90s, 15m, 1h, 30d, 1w, 1M.
        #[arg(long)]
        expires_in: Option<String>,
        /// Print one JSON object with `id` and `key`.
        #[arg(long)]
        json: bool,
    },
    /// List API keys (never the keys themselves).
    List {
        /// Only keys of this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key by id.
    Revoke {
        /// The key id, as shown by `keys list` (key_…).
        id: String,
    },
}

fn load_config() -> Result<Config, String> {
    let config = Config::from_env()?;
    crate::init_logging(&config);
    Ok(config)
}

pub fn serve() -> Result<(), String> {
    let config = load_config()?;
    let bind = config.bind.clone();
    let client_timeout = config.client_timeout;
    let database = config.database.redacted();
    let json_logs = matches!(config.log_format, crate::config::LogFormat::Json);
    let (state, startup) = crate::prepare(config)?;
    if !startup.migrations.is_empty() {
        tracing::info!(
            count = startup.migrations.len(),
            "applied database migrations"
        );
    }
    if let Some((path, created)) = &startup.key_file {
        let what = if *created {
            "generated a new"
        } else {
            "using the"
        };
        tracing::warn!(
            key_file = %path.display(),
            "SECRET_TOKEN_ENC_KEY is not set: {what} encryption key file; back it up, the stored \
             credentials cannot be decrypted without it"
        );
    }
    if let Some(key) = &startup.first_admin_key {
        let key = key.as_str();
        // Shown on standard output, once: it exists nowhere else (never in a log line).
        if json_logs {
            let shown = serde_json::json!({
                "first_admin_key": key,
                "tenant": crate::DEFAULT_TENANT,
                "message": "Created the first admin API key; it is shown only this once",
            });
            println!("{shown}");
        } else {
            println!(
                "\nCreated the first admin API key (tenant \"{}\"). It is shown only this once:\n\n    {key}\n\n\
             Use it as the X-API-Key header; create narrower keys with `tokenvault keys create`.\n",
                crate::DEFAULT_TENANT
            );
        }
    }
    let state = web::Data::new(state);
    actix_web::rt::System::new().block_on(async move {
        let _workers = crate::start_background(&state)?;
        let server = HttpServer::new(move || crate::build_app(state.clone()))
            .client_request_timeout(client_timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .keep_alive(Duration::from_secs(5))
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let url = server
            .addrs()
            .first()
            .map_or_else(|| bind.clone(), |a| format!("http://{a}"));
        if json_logs {
            let swagger_ui = format!("{url}/swagger-ui/");
            tracing::info!(%url, %database, %swagger_ui, "tokenvault listening");
        } else {
            println!("tokenvault listening on {url} (database {database})");
            println!("Swagger UI: {url}/swagger-ui/");
        }
        let _ = std::io::stdout().flush();
        server
            .run()
            .await
            .map_err(|e| format!("server stopped: {e}"))
    })
}

pub fn reap(dry_run: bool, invalid_days: Option<u64>) -> Result<(), String> {
    use crate::health::retention::{self, RetentionSettings};
    let config = load_config()?;
    let (db, _) = crate::open_database(&config, 2)?;
    let settings = RetentionSettings {
        events_days: config.health.events_retention_days,
        reap_invalid_days: invalid_days.or(config.health.reap_invalid_days),
    };
    let now = db::now();
    actix_web::rt::System::new().block_on(async move {
        if dry_run {
            let Some(days) = settings.reap_invalid_days else {
                println!(
                    "no credential would be deleted: TOKENVAULT_REAP_INVALID_DAYS is not set \
                     (or pass --invalid-days N)"
                );
                return Ok(());
            };
            let rows = retention::invalid_for(&db, days, now)
                .await
                .map_err(|e| format!("cannot list invalid credentials: {e}"))?;
            for row in &rows {
                println!(
                    "{}\t{}\t{}\t{}\tinvalid since {}",
                    row.tenant,
                    row.user_id,
                    row.integration_key,
                    row.provider,
                    row.updated_at.and_utc().format("%Y-%m-%dT%H:%M:%SZ")
                );
            }
            println!(
                "would delete {} credential(s) invalid for more than {days} days (dry run: nothing deleted)",
                rows.len()
            );
            return Ok(());
        }
        eprintln!("reap: running retention…");
        let purged = retention::purge(&db, settings, now)
            .await
            .map_err(|e| format!("retention stopped: {e}"))?;
        for key in &purged.reaped {
            println!("deleted {key}");
        }
        println!(
            "deleted {} invalid credential(s), {} expired access token(s), {} connect state(s), \
             {} audit event(s), {} webhook message(s)",
            purged.reaped.len(),
            purged.access_tokens,
            purged.oauth_states,
            purged.events,
            purged.webhook_messages
        );
        Ok(())
    })
}

pub fn migrate() -> Result<(), String> {
    let config = load_config()?;
    let db = Db::new(&config.database, 1);
    let applied = db.migrate(&config.database)?;
    if applied.is_empty() {
        println!("database {} is up to date", config.database.redacted());
    } else {
        for name in &applied {
            println!("applied {name}");
        }
        println!(
            "database {} migrated ({} migration(s))",
            config.database.redacted(),
            applied.len()
        );
    }
    Ok(())
}

/// `rotate-key`'s second part: the webhook signing secrets.
fn reseal_webhook_secrets(db: &Db, vault: &crate::crypto::Vault) -> Result<(), String> {
    let (resealed, unreadable) = crate::webhooks::reseal_secrets(db, vault)
        .map_err(|e| format!("rotation stopped at the webhook secrets: {e}"))?;
    eprintln!("rotate-key: {resealed} webhook secret(s) re-encrypted");
    if !unreadable.is_empty() {
        eprintln!(
            "rotate-key: no configured key opens the secret of webhook(s) {}; delete and create them again",
            unreadable.join(", ")
        );
    }
    Ok(())
}

/// `rotate-key`'s third part: the client secrets of tenant providers.
fn reseal_provider_secrets(db: &Db, vault: &crate::crypto::Vault) -> Result<(), String> {
    let (resealed, unreadable) = crate::providers::tenant_store::reseal_secrets(db, vault)
        .map_err(|e| format!("rotation stopped at the tenant providers' client secrets: {e}"))?;
    eprintln!("rotate-key: {resealed} tenant provider client secret(s) re-encrypted");
    if !unreadable.is_empty() {
        eprintln!(
            "rotate-key: no configured key opens the client secret of tenant provider(s) {}; \
             set the client again with PATCH /v2/providers/KEY",
            unreadable.join(", ")
        );
    }
    Ok(())
}

pub fn check_key() -> Result<(), String> {
    let config = load_config()?;
    let (db, _) = crate::open_database(&config, 1)?;
    let (vault, _) = crate::load_vault(&config, &db)?;
    let count = vault.key_count();
    match key_check::which_key(&db, &vault)? {
        None => println!("the database holds no encrypted data yet; key 1 of {count} will seal it"),
        Some(0) => println!("key 1 of {count} (the encryption key) opens the data"),
        Some(i) => println!(
            "key {} of {count} opens the data; run `tokenvault rotate-key` to re-encrypt it with key 1",
            i + 1
        ),
    }
    Ok(())
}

pub fn rotate_key(batch_size: i64, limit: Option<u64>) -> Result<(), String> {
    use indicatif::{ProgressBar, ProgressStyle};
    let config = load_config()?;
    let (db, _) = crate::open_database(&config, 2)?;
    let (vault, _) = crate::load_vault(&config, &db)?;
    if vault.key_count() == 1 {
        eprintln!(
            "note: SECRET_TOKEN_ENC_KEY holds one key; rows under another key cannot be read. \
             To rotate, set it to \"NEW,OLD\"."
        );
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} rows  {msg}  [{elapsed_precise}, eta {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let describe = |s: &crate::credentials::rotation::Summary| {
        format!(
            "{} re-encrypted, {} already current, {} failed",
            s.reencrypted,
            s.already_current,
            s.failed.len()
        )
    };
    let options = crate::credentials::rotation::Options { batch_size, limit };
    let summary = crate::credentials::rotation::rotate(&db, &vault, options, &mut |s| {
        bar.set_length(s.total.max(s.visited()));
        bar.set_position(s.visited());
        bar.set_message(describe(s));
        if bar.is_hidden() {
            eprintln!(
                "rotate-key: {}/{} rows: {}",
                s.visited(),
                s.total,
                describe(s)
            );
        }
    })
    .map_err(|e| format!("rotation stopped: {e}"))?;
    reseal_webhook_secrets(&db, &vault)?;
    reseal_provider_secrets(&db, &vault)?;
    bar.finish_and_clear();
    println!(
        "rotate-key: {} of {} rows visited: {} re-encrypted, {} already current, {} failed{}",
        summary.visited(),
        summary.total,
        summary.reencrypted,
        summary.already_current,
        summary.failed.len(),
        if summary.vanished > 0 {
            format!(", {} deleted meanwhile", summary.vanished)
        } else {
            String::new()
        }
    );
    for (id, why) in &summary.failed {
        println!(
            "  failed: tenant={} user_id={} integration_key={}: {why}",
            id.tenant, id.user_id, id.integration_key
        );
    }
    if summary.interrupted {
        println!("stopped at --limit; run rotate-key again to continue");
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} row(s) could not be re-encrypted (listed above)",
            summary.failed.len()
        ))
    }
}

pub fn write_openapi(output: Option<std::path::PathBuf>) -> Result<(), String> {
    let json = crate::openapi_json();
    match output {
        None => print!("{json}"),
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(&path, json)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// Opens the configured database, migrated, for an administration command.
/// Opens the configured database, migrated, for an administration command; a configured key
/// that does not open the data stops it too.
fn admin_db() -> Result<Db, String> {
    let config = load_config()?;
    let (db, _) = crate::open_database(&config, 1)?;
    if let Some(keys) = &config.encryption_keys {
        let vault = crate::crypto::Vault::from_secrets(keys.as_str())?;
        key_check::which_key(&db, &vault)?;
    }
    Ok(db)
}

pub fn keys(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Create {
            tenant,
            name,
            scopes,
            user,
            expires_in,
            json,
        } => {
            let spec = key_spec(tenant, name, &scopes, user, expires_in.as_deref())?;
            let db = admin_db()?;
            let issued = Issued::api_key(None).map_err(|e| e.to_string())?;
            let created = db
                .run_blocking(|conn| issue::create_api_key(conn, &spec, issued))
                .map_err(|e| format!("cannot create the key: {e}"))?;
            if json {
                let out = CreatedApiKey {
                    info: ApiKeyInfo::new(&created.row, db::now()),
                    key: created.key.into_inner(),
                };
                println!("{}", serde_json::to_string(&out).unwrap_or_default());
            } else {
                println!(
                    "Created API key {} (tenant {}, scopes {}).",
                    created.row.id, created.row.tenant, created.row.scopes
                );
                println!(
                    "It is shown only this once:\n\n    {}\n",
                    created.key.as_str()
                );
            }
            Ok(())
        }
        KeysCommand::List { tenant, json } => {
            let db = admin_db()?;
            let rows = db
                .run_blocking(|conn| Ok(ApiKeyRow::list(conn, tenant.as_deref())?))
                .map_err(|e| format!("cannot list keys: {e}"))?;
            print_keys(&rows, json);
            Ok(())
        }
        KeysCommand::Revoke { id } => {
            let db = admin_db()?;
            let revoked = db
                .run_blocking(|conn| revocations::revoke_api_key(conn, &id, db::now()))
                .map_err(|e| format!("cannot revoke: {e}"))?;
            if revoked {
                println!("revoked {id}");
                Ok(())
            } else {
                Err(format!("no active API key with id {id}"))
            }
        }
    }
}

fn key_spec(
    tenant: String,
    name: String,
    scopes: &str,
    user: Option<String>,
    expires_in: Option<&str>,
) -> Result<KeySpec, String> {
    let expires_at = expires_in
        .map(|text| crate::expiry::parse_duration(text).map(|d| db::now() + d))
        .transpose()
        .map_err(|e| format!("--expires-in: {e}"))?;
    let scopes = KeyScopes::parse_list(scopes)?;
    KeySpec::parse(&tenant, &name, scopes, user.as_deref(), expires_at)
}

fn print_keys(rows: &[ApiKeyRow], json: bool) {
    let now = db::now();
    let keys: Vec<ApiKeyInfo> = rows.iter().map(|row| ApiKeyInfo::new(row, now)).collect();
    if json {
        println!("{}", serde_json::to_string(&keys).unwrap_or_default());
        return;
    }
    if keys.is_empty() {
        println!("no API keys");
        return;
    }
    println!(
        "{:<22} {:<12} {:<8} {:<12} {:<20} NAME",
        "ID", "TENANT", "STATE", "PREFIX", "SCOPES"
    );
    for key in keys {
        println!(
            "{:<22} {:<12} {:<8} {:<12} {:<20} {}",
            key.id,
            key.tenant,
            key.state,
            key.prefix,
            key.scopes.join(","),
            key.name
        );
    }
}

/// Where the running server of this environment answers.
fn local_server_url() -> String {
    if let Ok(url) = std::env::var("TOKENVAULT_URL") {
        return url;
    }
    let bind = std::env::var("TOKENVAULT_BIND").unwrap_or_else(|_| DEFAULT_BIND.into());
    let (host, port) = bind.rsplit_once(':').unwrap_or((bind.as_str(), "8000"));
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "[::]" => "[::1]",
        other => other,
    };
    format!("http://{host}:{port}")
}

pub fn healthcheck(url: Option<String>) -> Result<(), String> {
    let connection = super::Connection {
        url: url.unwrap_or_else(local_server_url),
        api_key: None,
        verbose: false,
        timeout: 3,
    };
    let client = super::client::Client::new(&connection).map_err(|e| e.message)?;
    let target = format!("{}/readyz", client.url());
    let probe = actix_web::rt::System::new().block_on(client.get_public("/readyz"));
    match probe {
        Ok(_) => {
            println!("ready");
            Ok(())
        }
        Err(super::client::Failure::Unreachable(why)) => {
            Err(format!("{target} is unreachable: {why}"))
        }
        Err(super::client::Failure::Status { status, .. }) => {
            Err(format!("{target} answered {status}: not ready"))
        }
    }
}
