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
pub mod model;
pub mod providers;
pub mod proxy;
pub mod secret;
pub mod state;
pub mod web;
pub mod webhooks;

use std::sync::{Arc, Weak};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, web as aweb};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::bootstrap;
use crate::auth::cache::AuthCache;
use crate::auth::keys::KeyService;
use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::connect::{ConnectService, ConnectSettings};
use crate::credentials::cache::{CacheSettings, ReadCache};
use crate::credentials::service::RefreshSettings;
use crate::credentials::{CredentialService, key_check};
use crate::db::DatabaseUrl;
use crate::db::Db;
use crate::db::notify::{self, Liveness, Subscriber};
use crate::db::subscriptions::Subscriptions;
use crate::model::Clock;
use crate::providers::Registry;
use crate::providers::client::ProviderClient;
use crate::providers::discovery::Discovery;
use crate::providers::tenant_store::TenantProviders;
use crate::secret::Secret;

pub use crate::state::AppState;

pub use crate::auth::bootstrap::DEFAULT_TENANT;

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

pub use crate::credentials::key_check::load_vault;

/// Opens the configured database (pool of `max_connections`) and applies pending migrations.
pub fn open_database(config: &Config, max_connections: u32) -> Result<(Db, Vec<String>), String> {
    let db = Db::with_settings(&config.database, max_connections, config.db);
    let migrations = db.migrate(&config.database)?;
    Ok((db, migrations))
}

/// Connects, migrates, loads keys and the registry, and makes sure an admin key exists.
pub fn prepare(config: Config) -> Result<(AppState, Startup), String> {
    prepare_with_clock(config, Clock::system())
}

/// `prepare` with a given clock (tests move it forward).
pub fn prepare_with_clock(config: Config, clock: Clock) -> Result<(AppState, Startup), String> {
    let registry = Registry::load(config.providers_file.as_deref())?;
    let registry = Arc::new(registry.with_platform_clients(config.oauth_clients.clone()));
    let (db, migrations) = open_database(&config, pool_size(&config.database))?;
    let liveness = Liveness::new();
    let db = cache_subscriptions(db, &config, &liveness);
    let (vault, key_file) = load_vault(&config, &db)?;
    key_check::verify_or_seal(&db, &vault)?;
    let first_admin_key = bootstrap::ensure_admin_key(&db, config.bootstrap_api_key.as_ref())?;
    let settings = refresh_settings(&config);
    let vault = Arc::new(vault);
    key_check::report_unbound(db.clone(), Arc::clone(&vault));
    metrics::declare_providers(registry.iter().map(|p| p.key.as_str()));
    let read_cache = read_cache(&config, &clock, &liveness)?;
    let webhook_vault = Arc::clone(&vault);
    let tenant_providers = tenant_providers(&config, &db, &vault, &registry)?;
    let credentials = CredentialService::new(
        db.clone(),
        Arc::clone(&vault),
        Arc::clone(&registry),
        ProviderClient::new()?,
        settings,
        (clock.clone(), read_cache.clone()),
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
            timeout: config.refresh_timeout,
        },
    )?;
    let auth = Arc::new(AuthCache::new(config.auth_cache_ttl));
    listen(
        &config,
        (&auth, read_cache.as_ref(), db.subscriptions()),
        &tenant_providers,
        liveness,
    );
    let webhooks = webhooks::WebhookService::new(
        db.clone(),
        webhook_vault,
        config.health.webhook_allow_private,
    );
    let keys = KeyService::new(db.clone(), Arc::clone(&auth), clock.clone());
    let state = AppState {
        proxy: proxy_service(&config, &credentials, &registry)?,
        webhooks,
        keys,
        clock,
        auth,
        throttle: Throttle::new(config.auth_failures_per_min),
        credentials,
        connect,
        config,
        db,
        registry,
        tenant_providers,
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

/// The tenants' own providers, loaded into the registry.
fn tenant_providers(
    config: &Config,
    db: &Db,
    vault: &Arc<crate::crypto::Vault>,
    registry: &Arc<Registry>,
) -> Result<Arc<TenantProviders>, String> {
    let providers = TenantProviders::new(
        (db.clone(), Arc::clone(vault), Arc::clone(registry)),
        Discovery::new(config.proxy.allow_private, config.refresh_timeout)?,
        connect::callback_url(&config.public_url),
    );
    providers
        .reload_all()
        .map_err(|e| format!("cannot load the tenant providers: {e}"))?;
    let providers = Arc::new(providers);
    let renewal: Arc<dyn crate::providers::tenant::ClientRenewal> = providers.clone();
    registry.set_client_renewal(Arc::downgrade(&renewal));
    Ok(providers)
}

/// The proxy to provider APIs, from the configuration.
fn proxy_service(
    config: &Config,
    credentials: &CredentialService,
    registry: &Arc<Registry>,
) -> Result<proxy::ProxyService, String> {
    let settings = proxy::ProxySettings {
        max_body: config.proxy.max_body,
        timeout: config.proxy.timeout,
        allow_private: config.proxy.allow_private,
        client_idle: config.client_timeout,
    };
    proxy::ProxyService::new(credentials.clone(), Arc::clone(registry), settings)
}

/// How credentials are refreshed, from the configuration.
fn refresh_settings(config: &Config) -> RefreshSettings {
    RefreshSettings {
        window: config.refresh_window,
        timeout: config.refresh_timeout,
        cooldown: config.refresh_cooldown,
        persist: config.refresh_persist,
        force_min: config.force_refresh_min,
        accept_legacy: config.accept_legacy_ciphertext,
        ahead: config.health.refresh_ahead,
    }
}

/// Starts the listener that keeps the authentication and read caches true (PostgreSQL).
fn listen(
    config: &Config,
    (auth, read_cache, subscriptions): (
        &Arc<AuthCache>,
        Option<&Arc<ReadCache>>,
        &Arc<Subscriptions>,
    ),
    tenant_providers: &Arc<TenantProviders>,
    liveness: Arc<Liveness>,
) {
    let auth: Arc<dyn Subscriber> = auth.clone();
    let subscriptions: Arc<dyn Subscriber> = subscriptions.clone();
    let providers: Arc<dyn Subscriber> = tenant_providers.clone();
    let mut subscribers: Vec<Weak<dyn Subscriber>> = vec![
        Arc::downgrade(&auth),
        Arc::downgrade(&subscriptions),
        Arc::downgrade(&providers),
    ];
    if let Some(cache) = read_cache {
        let cache: Arc<dyn Subscriber> = cache.clone();
        subscribers.push(Arc::downgrade(&cache));
    }
    notify::listen(&config.database, subscribers, liveness);
}

/// On PostgreSQL with the read cache on, the tenants' webhook subscriptions are cached too
/// (`db::subscriptions`); SQLite reads them in every writing transaction.
fn cache_subscriptions(db: Db, config: &Config, liveness: &Arc<Liveness>) -> Db {
    match (&config.database, config.read_cache.enabled) {
        (DatabaseUrl::Postgres(_), true) => db.with_subscriptions(Subscriptions::cached(
            Arc::clone(liveness),
            config.read_cache.ttl,
        )),
        (DatabaseUrl::Postgres(_), false) => {
            db.with_subscriptions(Subscriptions::uncached_settling())
        }
        _ => db,
    }
}

/// The read cache the configuration asks for, if any.
fn read_cache(
    config: &Config,
    clock: &Clock,
    liveness: &Arc<Liveness>,
) -> Result<Option<Arc<ReadCache>>, String> {
    let wanted = config.read_cache;
    if !wanted.enabled {
        return Ok(None);
    }
    let settings = CacheSettings {
        ttl: wanted.ttl,
        max_entries: wanted.max_entries,
        max_bytes: wanted.max_mb.saturating_mul(1024 * 1024),
    };
    let settings = (settings, clock.clone());
    let cache = ReadCache::new(&config.database, settings, Arc::clone(liveness))?;
    Ok(Some(Arc::new(cache)))
}

/// Starts the instance's background work (refresh ahead, device-flow polling, webhook delivery,
/// retention) on the current runtime.
pub fn start_background(state: &AppState) -> Result<health::Workers, String> {
    let services = health::Services {
        db: &state.db,
        credentials: &state.credentials,
        webhooks: &state.webhooks,
        connect: &state.connect,
    };
    health::spawn(services, &state.config.health)
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
    state: aweb::Data<AppState>,
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
    let document = aweb::Bytes::from(api::openapi::refine(&api, &state.registry));
    let known_routes = aweb::Data::from(Arc::new(api::KnownRoutes::from_openapi(&api)));
    app.app_data(state)
        .app_data(known_routes)
        .app_data(api::json_config())
        .app_data(api::path_config())
        .app_data(api::query_config())
        .route(
            "/openapi.json",
            aweb::get().to(move || {
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
                cfg.route("/metrics", aweb::get().to(api::health::metrics));
            }
        })
        .configure(api::pages::configure)
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").config(SwaggerConfig::from("/openapi.json")))
        .default_service(aweb::to(api::fallback))
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
