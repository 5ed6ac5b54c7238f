//! tokenvault: a credential vault for backend applications.
//!
//! The composition root: `prepare` turns a `Config` into an `AppState` (database, migrations,
//! keys, registry, services); `build_app` turns that state into the actix `App`. `main.rs` and
//! the tests both use them. See docs/ARCHITECTURE.md for the module map.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod connect;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod error;
pub mod expiry;
pub mod health;
pub mod metrics;
pub mod providers;
pub mod secret;
pub mod state;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::cache::AuthCache;
use crate::auth::issue::{self, KeySpec};
use crate::auth::revocations;
use crate::auth::scope::{KeyScopes, Scope};
use crate::auth::throttle::Throttle;
use crate::config::{Config, DatabaseUrl};
use crate::connect::{ConnectService, ConnectSettings};
use crate::credentials::service::RefreshSettings;
use crate::credentials::{CredentialService, key_check};
use crate::crypto::Vault;
use crate::db::api_keys::ApiKeyRow;
use crate::db::{Db, DbConnection, DbError};
use crate::providers::Registry;
use crate::providers::client::ProviderClient;
use crate::secret::{Secret, hash_secret};
use diesel::Connection;
use diesel::connection::SimpleConnection;

pub use crate::state::AppState;

/// Tenant of the first admin key and of `TOKENVAULT_BOOTSTRAP_API_KEY`.
pub const DEFAULT_TENANT: &str = "default";

/// What `prepare` did that the operator should hear about.
#[derive(Debug, Default)]
pub struct Startup {
    /// Migrations applied now.
    pub migrations: Vec<String>,
    /// The first admin key, created because the database had none. Shown once.
    pub first_admin_key: Option<Secret<String>>,
    /// Where the generated encryption key lives, when one was generated or loaded from file.
    pub key_file: Option<(std::path::PathBuf, bool)>,
}

/// Pool size for the backend: PostgreSQL serves several workers; SQLite has one writer anyway.
fn pool_size(url: &DatabaseUrl) -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    match url {
        DatabaseUrl::Postgres(_) => (cores * 4).clamp(8, 32),
        DatabaseUrl::Sqlite(_) => (cores * 2).clamp(4, 8),
    }
}

/// Loads the encryption keys: configured, or the key file next to the SQLite database
/// (generated only while the database holds nothing encrypted).
pub fn load_vault(
    config: &Config,
    db: &Db,
) -> Result<(Vault, Option<(std::path::PathBuf, bool)>), String> {
    if let Some(spec) = &config.encryption_keys {
        return Ok((Vault::from_secrets(spec.as_str())?, None));
    }
    match &config.database {
        DatabaseUrl::Postgres(_) => Err(
            "SECRET_TOKEN_ENC_KEY is not set. With PostgreSQL it is required, so that every \
             instance can read the same data: generate one with `tokenvault gen-key` and set it"
                .into(),
        ),
        DatabaseUrl::Sqlite(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| std::path::Path::new("."));
            let holds_data = key_check::holds_encrypted_data(db)
                .map_err(|e| format!("cannot read the database: {e}"))?;
            let (key, file, created) = crypto::load_or_create_key_file(dir, !holds_data)?;
            Ok((Vault::from_secrets(&key)?, Some((file, created))))
        }
    }
}

/// Opens the configured database (pool of `max_connections`) and applies pending migrations.
pub fn open_database(config: &Config, max_connections: u32) -> Result<(Db, Vec<String>), String> {
    let db = Db::with_settings(&config.database, max_connections, config.db);
    let migrations = db.migrate(&config.database)?;
    Ok((db, migrations))
}

/// Connects, migrates, loads keys and the registry, and makes sure an admin key exists.
pub fn prepare(config: Config) -> Result<(AppState, Startup), String> {
    let registry = Arc::new(Registry::load(config.providers_file.as_deref())?);
    let (db, migrations) = open_database(&config, pool_size(&config.database))?;
    let (vault, key_file) = load_vault(&config, &db)?;
    key_check::verify_or_seal(&db, &vault)?;
    let first_admin_key = ensure_admin_key(&db, config.bootstrap_api_key.as_ref())?;
    let settings = RefreshSettings {
        window: config.refresh_window,
        timeout: config.refresh_timeout,
        cooldown: config.refresh_cooldown,
        oauth_clients: config.oauth_clients.clone(),
        persist: config.refresh_persist,
        force_min: config.force_refresh_min,
        accept_legacy: config.accept_legacy_ciphertext,
        ahead: config.health.refresh_ahead,
    };
    let vault = Arc::new(vault);
    key_check::report_unbound(db.clone(), Arc::clone(&vault));
    let webhook_vault = Arc::clone(&vault);
    let credentials = CredentialService::new(
        db.clone(),
        Arc::clone(&vault),
        Arc::clone(&registry),
        ProviderClient::new()?,
        settings,
    )
    .map_err(|e| e.to_string())?;
    let connect = ConnectService::new(
        db.clone(),
        vault,
        Arc::clone(&registry),
        credentials.clone(),
        ConnectSettings {
            public_url: config.public_url.clone(),
            redirect_allowlist: config.redirect_allowlist.clone(),
            oauth_clients: config.oauth_clients.clone(),
            timeout: config.refresh_timeout,
        },
    )?;
    warn_if_public_url_is_plain_http(&config.public_url);
    let auth = Arc::new(AuthCache::new(config.auth_cache_ttl));
    revocations::listen(&config.database, Arc::downgrade(&auth));
    let webhooks = health::webhooks::WebhookService::new(
        db.clone(),
        webhook_vault,
        config.health.webhook_allow_private,
    );
    let state = AppState {
        webhooks,
        auth,
        throttle: Throttle::new(config.auth_failures_per_min),
        credentials,
        connect,
        config,
        db,
        registry,
    };
    Ok((
        state,
        Startup {
            migrations,
            first_admin_key,
            key_file,
        },
    ))
}

/// Starts the instance's background work (refresh ahead, webhook delivery, retention) on the
/// current runtime.
pub fn start_background(state: &AppState) -> Result<health::Workers, String> {
    health::spawn(
        &state.db,
        &state.credentials,
        &state.webhooks,
        &state.config.health,
    )
}

/// Browsers come back to the public URL with authorization codes: over plain http that is only
/// safe on this machine.
fn warn_if_public_url_is_plain_http(public_url: &str) {
    let Some(rest) = public_url.strip_prefix("http://") else {
        return;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        tracing::warn!(
            public_url,
            "TOKENVAULT_PUBLIC_URL is plain http on a non-loopback address: the connect flow's \
             authorization codes would cross the network unencrypted; serve it over https"
        );
    }
}

/// Arbitrary key of the PostgreSQL advisory lock that serialises admin-key bootstrap.
const BOOTSTRAP_LOCK_KEY: i64 = 0x746f_6b65_6e77;

/// Registers `TOKENVAULT_BOOTSTRAP_API_KEY` as an admin key of tenant `default`, or, with no
/// key in the database at all, creates one and returns it (to be shown once).
fn ensure_admin_key(
    db: &Db,
    bootstrap: Option<&Secret<String>>,
) -> Result<Option<Secret<String>>, String> {
    let admin = |name: &str| KeySpec {
        tenant: DEFAULT_TENANT.into(),
        name: name.into(),
        scopes: KeyScopes::only(Scope::Admin),
        user_id: None,
        expires_at: None,
    };
    let reason = |e: &dyn std::error::Error| format!("cannot set up the admin API key: {e}");
    let bootstrap = bootstrap.map(Secret::as_str);
    if let Some(key) = bootstrap {
        let random_part = key.strip_prefix(issue::API_KEY_PREFIX).unwrap_or("");
        if random_part.len() < 20 || !random_part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(
                "TOKENVAULT_BOOTSTRAP_API_KEY must be agk_ followed by at least 20 letters or digits"
                    .into(),
            );
        }
    }
    let issued = issue::Issued::api_key(bootstrap).map_err(|e| reason(&e))?;
    // Instances starting together on one PostgreSQL: one creates the key, the others then see it.
    db.run_blocking(|conn| {
        conn.transaction(|conn| {
            if let DbConnection::Postgresql(pg) = conn {
                pg.batch_execute(&format!(
                    "SELECT pg_advisory_xact_lock({BOOTSTRAP_LOCK_KEY})"
                ))?;
            }
            if let Some(key) = bootstrap {
                if ApiKeyRow::find_by_hash(conn, &hash_secret(key))?.is_none() {
                    issue::create_api_key(conn, &admin("bootstrap"), issued)?;
                }
                return Ok(None);
            }
            if ApiKeyRow::count(conn)? > 0 {
                return Ok(None);
            }
            let created = issue::create_api_key(conn, &admin("admin (first start)"), issued)?;
            Ok(Some(created.key))
        })
    })
    .map_err(|e: DbError| reason(&e))
}

/// The documented routes and their OpenAPI document.
fn routes() -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    App::new()
        .into_utoipa_app()
        .openapi(api::openapi::ApiDoc::openapi())
        .configure(api::configure)
        .split_for_parts()
}

/// The OpenAPI document with the embedded providers, as checked in at `openapi/openapi.json`
/// (what `tokenvault openapi` prints).
pub fn openapi_json() -> String {
    let derived = routes().1;
    match providers::Registry::embedded() {
        Ok(registry) => api::openapi::refine(&derived, &registry),
        Err(_) => String::new(),
    }
}

/// The whole application over `state`.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, api) = routes();
    let metrics_on = state.config.metrics;
    let document = web::Bytes::from(api::openapi::refine(&api, &state.registry));
    let known_routes = web::Data::from(Arc::new(api::KnownRoutes::from_openapi(&api)));
    app.app_data(state)
        .app_data(known_routes)
        .app_data(api::json_config())
        .app_data(api::path_config())
        .app_data(api::query_config())
        .route(
            "/openapi.json",
            web::get().to(move || {
                let document = document.clone();
                async move {
                    actix_web::HttpResponse::Ok()
                        .content_type("application/json")
                        .body(document)
                }
            }),
        )
        .configure(|cfg| {
            if metrics_on {
                cfg.route("/metrics", web::get().to(api::health::metrics));
            }
        })
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").config(SwaggerConfig::from("/openapi.json")))
        .default_service(web::to(api::fallback))
        .wrap(from_fn(api::bound_body))
        .wrap(from_fn(api::swagger_not_found))
        .wrap(from_fn(api::observe::observe))
        .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
}

/// Installs the tracing subscriber of the config (text or JSON lines, on stderr; colour only
/// when stderr is a terminal). The filter was checked by `Config::from_env`.
pub fn init_logging(config: &Config) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::builder()
        .parse(&config.log_filter)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        config::LogFormat::Json => builder.json().try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
}
