//! The `tokenvault` command: the server and its administration commands.

use std::io::Write;
use std::process::ExitCode;

use actix_web::{HttpServer, web};
use clap::{Parser, Subcommand};
use tokenvault::auth::{self, KeySpec, Scope};
use tokenvault::config::Config;
use tokenvault::db::api_keys::ApiKeyRow;
use tokenvault::db::{self, Db};

/// A credential vault for backend applications: stores OAuth2 tokens, API keys and JWTs
/// encrypted, and hands back a usable credential on request.
///
/// Settings come from the environment (and `.env`): DATABASE_URL (default
/// sqlite://./data/tokenvault.db), SECRET_TOKEN_ENC_KEY, TOKENVAULT_BIND (default
/// 127.0.0.1:8000), TOKENVAULT_BOOTSTRAP_API_KEY, PROVIDERS_FILE, TOKENVAULT_LOG,
/// TOKENVAULT_LOG_FORMAT. See README.md.
#[derive(Parser)]
#[command(name = "tokenvault", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a new random Fernet key for SECRET_TOKEN_ENC_KEY.
    GenKey,
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key and print it once.
    Create {
        /// Tenant the key belongs to; it sees only this tenant's credentials.
        #[arg(long)]
        tenant: String,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: tokens:read, tokens:write, tokens:refresh, tokens:delete, admin.
        #[arg(
            long,
            default_value = "tokens:read,tokens:write,tokens:refresh,tokens:delete"
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::GenKey => {
            println!("{}", tokenvault::crypto::generate_key());
            Ok(())
        }
        Command::Keys(command) => keys(command),
        Command::Openapi { output } => write_openapi(output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("tokenvault: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn load_config() -> Result<Config, String> {
    let config = Config::from_env()?;
    tokenvault::init_logging(&config);
    Ok(config)
}

fn serve() -> Result<(), String> {
    let config = load_config()?;
    let bind = config.bind.clone();
    let database = config.database.redacted();
    let (state, startup) = tokenvault::prepare(config)?;
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
        // Shown on standard output, once: it exists nowhere else.
        println!(
            "\nCreated the first admin API key (tenant \"{}\"). It is shown only this once:\n\n    {key}\n\n\
             Use it as the X-API-Key header; create narrower keys with `tokenvault keys create`.\n",
            tokenvault::DEFAULT_TENANT
        );
    }
    let state = web::Data::new(state);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || tokenvault::build_app(state.clone()))
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let url = server
            .addrs()
            .first()
            .map_or_else(|| bind.clone(), |a| format!("http://{a}"));
        println!("tokenvault listening on {url} (database {database})");
        println!("Swagger UI: {url}/swagger-ui/");
        let _ = std::io::stdout().flush();
        server
            .run()
            .await
            .map_err(|e| format!("server stopped: {e}"))
    })
}

fn migrate() -> Result<(), String> {
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

fn write_openapi(output: Option<std::path::PathBuf>) -> Result<(), String> {
    let json = tokenvault::openapi_json();
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
fn admin_db() -> Result<Db, String> {
    let config = load_config()?;
    let db = Db::new(&config.database, 1);
    db.migrate(&config.database)?;
    Ok(db)
}

fn keys(command: KeysCommand) -> Result<(), String> {
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
            let created = db
                .run_blocking(|conn| auth::create_api_key(conn, &spec, None))
                .map_err(|e| format!("cannot create the key: {e}"))?;
            if json {
                let out = serde_json::json!({
                    "id": created.row.id,
                    "key": created.key,
                    "tenant": created.row.tenant,
                    "name": created.row.name,
                    "scopes": created.row.scopes.split(',').collect::<Vec<_>>(),
                    "user_id": created.row.user_id,
                    "expires_at": created.row.expires_at.map(tokenvault::api::timestamp),
                });
                println!("{out}");
            } else {
                println!(
                    "Created API key {} (tenant {}, scopes {}).",
                    created.row.id, created.row.tenant, created.row.scopes
                );
                println!("It is shown only this once:\n\n    {}\n", created.key);
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
                .run_blocking(|conn| Ok(ApiKeyRow::revoke(conn, &id, db::now())?))
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
    let check = |what: &str, value: &str| {
        if value.trim().is_empty() || value.len() > 128 {
            Err(format!("--{what} must be 1 to 128 characters"))
        } else {
            Ok(())
        }
    };
    check("tenant", &tenant)?;
    check("name", &name)?;
    if let Some(user) = &user {
        tokenvault::token_data::check_user_id(user).map_err(|e| format!("--user: {e}"))?;
    }
    let scopes = Scope::parse_list(scopes).map_err(|e| format!("--scopes: {e}"))?;
    let expires_at = expires_in
        .map(|text| tokenvault::expiry::parse_duration(text).map(|d| db::now() + d))
        .transpose()
        .map_err(|e| format!("--expires-in: {e}"))?;
    Ok(KeySpec {
        tenant,
        name,
        scopes,
        user_id: user,
        expires_at,
    })
}

fn print_keys(rows: &[ApiKeyRow], json: bool) {
    let now = db::now();
    let state = |row: &ApiKeyRow| {
        if row.revoked_at.is_some() {
            "revoked"
        } else if row.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        }
    };
    if json {
        let items: Vec<_> = rows
            .iter()
            .map(|row| {
                serde_json::json!({
                    "id": row.id,
                    "tenant": row.tenant,
                    "name": row.name,
                    "prefix": row.prefix,
                    "scopes": row.scope_names().collect::<Vec<_>>(),
                    "user_id": row.user_id,
                    "state": state(row),
                    "expires_at": row.expires_at.map(tokenvault::api::timestamp),
                    "created_at": tokenvault::api::timestamp(row.created_at),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return;
    }
    if rows.is_empty() {
        println!("no API keys");
        return;
    }
    println!(
        "{:<22} {:<12} {:<8} {:<14} {:<20} NAME",
        "ID", "TENANT", "STATE", "PREFIX", "SCOPES"
    );
    for row in rows {
        println!(
            "{:<22} {:<12} {:<8} {:<14} {:<20} {}",
            row.id,
            row.tenant,
            state(row),
            row.prefix,
            row.scopes,
            row.name
        );
    }
}
