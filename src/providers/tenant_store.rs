//! Tenant providers in the database: create, change, delete and list a tenant's entries, keep
//! their client secrets sealed, and keep every instance's registry in step (`reload` at start,
//! after each write here, and on the change channel's notifications on PostgreSQL).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::discovery::{Discovery, ServerMetadata};
use super::outbound::private_refusal;
use super::tenant::{ClientRenewal, TenantEntry};
use super::{OAuthClient, Provider, Registry};
use crate::crypto::{SealedTo, Vault};
use crate::db::notify::Subscriber;
use crate::db::tenant_providers::{CHANNEL, TenantProviderRow};
use crate::db::{Db, DbError};
use crate::secret::Secret;

/// Why a tenant provider cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The entry cannot serve: one line per problem.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("the tenant already has a provider {0}")]
    Exists(String),
    #[error("no provider {0} of this tenant")]
    NotFound(String),
    #[error(
        "{count} credential(s) of this tenant use provider {key}: delete them first, or pass \
         force=true to delete the provider anyway (they can no longer be refreshed)"
    )]
    InUse { key: String, count: i64 },
    #[error(transparent)]
    Database(#[from] DbError),
}

/// The OAuth app a tenant brings for a provider.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSpec {
    pub client_id: String,
    pub client_secret: Option<Secret<String>>,
}

impl std::fmt::Debug for ClientSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSpec")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Which client a tenant provider uses: one the tenant gives, or one tokenvault registers for
/// itself at the server's registration endpoint (RFC 7591).
#[derive(Debug, Clone)]
pub enum ClientChoice {
    Given(ClientSpec),
    Dynamic,
}

/// How long an authorization server's metadata is trusted.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// A registered client the server refuses is registered anew at most this often per entry;
/// refused again within it, the failure is reported as it is.
const RENEWAL_INTERVAL: Duration = Duration::from_secs(3600);

/// Marks a client the definition's `client_registration` says tokenvault registered itself.
fn mark_registration(definition: &mut Map<String, Value>, client: Option<&ClientChoice>) {
    match client {
        Some(ClientChoice::Dynamic) => {
            definition.insert("client_registration".into(), json!("dynamic"));
        }
        Some(ClientChoice::Given(_)) => {
            definition.remove("client_registration");
        }
        None => {}
    }
}

/// A tenant provider as written: its fields and whether it has its own client.
#[derive(Debug, Clone)]
pub struct Written {
    pub provider: Arc<Provider>,
    pub definition: Map<String, Value>,
    pub client_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Written {
    fn of(row: &TenantProviderRow, provider: Provider, definition: Map<String, Value>) -> Written {
        Written {
            provider: Arc::new(provider),
            definition,
            client_id: row.client_id.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A stored row's definition.
fn definition_of(row: &TenantProviderRow) -> Result<Map<String, Value>, String> {
    serde_json::from_str(&row.definition).map_err(|e| format!("unreadable definition: {e}"))
}

/// The tenant providers of this deployment. Cheap to clone.
#[derive(Clone)]
pub struct TenantProviders {
    db: Db,
    vault: Arc<Vault>,
    registry: Arc<Registry>,
    discovery: Discovery,
    /// Where browsers come back from a provider: what a registered client names.
    callback_url: String,
    metadata: Arc<Mutex<HashMap<String, (ServerMetadata, Instant)>>>,
    /// When each (tenant, key)'s registered client was last renewed.
    renewed: Arc<Mutex<HashMap<(String, String), Instant>>>,
}

fn binding<'a>(tenant: &'a str, provider: &'a str) -> SealedTo<'a> {
    SealedTo::ProviderClient { tenant, provider }
}

impl TenantProviders {
    pub fn new(
        (db, vault, registry): (Db, Arc<Vault>, Arc<Registry>),
        discovery: Discovery,
        callback_url: String,
    ) -> TenantProviders {
        TenantProviders {
            db,
            vault,
            registry,
            discovery,
            callback_url,
            metadata: Arc::default(),
            renewed: Arc::default(),
        }
    }

    /// The provider a tenant's definition makes, held to the outbound rule: unless the operator
    /// allows private targets, no endpoint on an internal literal address, and every call made
    /// on public addresses only.
    fn checked(&self, key: &str, definition: &Map<String, Value>) -> Result<Provider, Vec<String>> {
        let mut provider = self.registry.tenant_provider(key, definition)?;
        // A tenant's own app for a catalogue entry keeps the operator's endpoints.
        let names_endpoints = !self.registry.in_catalogue(key)
            || definition.keys().any(|field| {
                field.ends_with("_url")
                    || matches!(field.as_str(), "revoke" | "issuer" | "mcp_server")
            });
        if self.discovery.allows_private() || !names_endpoints {
            return Ok(provider);
        }
        let internal: Vec<String> = provider
            .url_fields()
            .into_iter()
            .filter_map(|(field, url)| {
                let parsed = reqwest::Url::parse(url).ok()?;
                private_refusal(&format!("{field} is"), &parsed)
            })
            .collect();
        if !internal.is_empty() {
            return Err(internal);
        }
        provider.outbound_guarded = true;
        Ok(provider)
    }

    /// An issuer's metadata, fetched at most once an hour.
    async fn server_metadata(&self, issuer: &str) -> Result<ServerMetadata, Error> {
        let cached = self.metadata.lock().ok().and_then(|cache| {
            let (metadata, at) = cache.get(issuer)?;
            (at.elapsed() < METADATA_TTL).then(|| metadata.clone())
        });
        if let Some(metadata) = cached {
            return Ok(metadata);
        }
        let metadata = self
            .discovery
            .server(issuer)
            .await
            .map_err(|e| Error::Invalid(vec![e.0]))?;
        if let Ok(mut cache) = self.metadata.lock() {
            cache.insert(issuer.to_string(), (metadata.clone(), Instant::now()));
        }
        Ok(metadata)
    }

    /// `definition` completed from what the servers say about themselves: an `mcp_server`'s
    /// protected-resource metadata (its resource, authorization server and scopes), an
    /// `issuer`'s endpoints; and, for a key the catalogue lacks, a name, kind and env var.
    /// With the registration endpoint, when the server has one.
    async fn completed(
        &self,
        key: &str,
        mut definition: Map<String, Value>,
    ) -> Result<(Map<String, Value>, Option<String>), Error> {
        let text =
            |d: &Map<String, Value>, f: &str| d.get(f).and_then(Value::as_str).map(String::from);
        if let Some(mcp) = text(&definition, "mcp_server") {
            let resource = self
                .discovery
                .resource(&mcp)
                .await
                .map_err(|e| Error::Invalid(vec![e.0]))?;
            definition
                .entry("resource")
                .or_insert(json!(resource.resource));
            if let Some(server) = resource.authorization_servers.first() {
                definition.entry("issuer").or_insert(json!(server));
            }
            if !resource.scopes_supported.is_empty() {
                definition
                    .entry("default_scopes")
                    .or_insert(json!(resource.scopes_supported));
            }
        }
        let mut registration = None;
        if let Some(issuer) =
            text(&definition, "issuer").filter(|_| !definition.contains_key("token_url"))
        {
            let metadata = self.server_metadata(&issuer).await?;
            for (name, value) in metadata.entry_fields() {
                definition.entry(name).or_insert(value);
            }
            registration = metadata.registration_endpoint.clone();
        }
        if !self.registry.in_catalogue(key) {
            let upper = key.to_ascii_uppercase().replace('-', "_");
            definition.entry("display_name").or_insert(json!(key));
            definition.entry("token_types").or_insert(json!(["oauth2"]));
            definition
                .entry("env_var")
                .or_insert(json!(format!("{upper}_ACCESS_TOKEN")));
        }
        Ok((definition, registration))
    }

    /// The client to store: the tenant's, or one registered now.
    async fn client_for(
        &self,
        choice: Option<ClientChoice>,
        registration: Option<&str>,
    ) -> Result<Option<ClientSpec>, Error> {
        let endpoint = match choice {
            None => return Ok(None),
            Some(ClientChoice::Given(client)) => return Ok(Some(client)),
            Some(ClientChoice::Dynamic) => registration.ok_or_else(|| {
                Error::Invalid(vec![
                    "client \"dynamic\": the server names no registration_endpoint; give \
                     client_id and client_secret"
                        .into(),
                ])
            })?,
        };
        let registered = self
            .discovery
            .register(endpoint, &self.callback_url, "tokenvault")
            .await
            .map_err(|e| Error::Invalid(vec![e.0]))?;
        Ok(Some(ClientSpec {
            client_id: registered.client_id,
            client_secret: registered.client_secret.map(Secret::new),
        }))
    }

    /// The registry entry a stored row makes, or why it cannot (a row the catalogue no longer
    /// accepts, a secret no configured key opens).
    fn entry_of(&self, row: &TenantProviderRow) -> Result<TenantEntry, String> {
        let definition = definition_of(row)?;
        let provider = self
            .checked(&row.provider_key, &definition)
            .map_err(|problems| problems.join("; "))?;
        let secret = match &row.client_secret_ciphertext {
            None => None,
            Some(sealed) => {
                let opened = self
                    .vault
                    .open(binding(&row.tenant, &row.provider_key), sealed)
                    .map_err(|e| format!("the client secret cannot be opened: {e}"))?;
                opened.data["client_secret"]
                    .as_str()
                    .map(|s| Secret::new(s.to_string()))
            }
        };
        let client = row.client_id.as_ref().map(|id| OAuthClient {
            client_id: Secret::new(id.clone()),
            client_secret: secret,
        });
        Ok(TenantEntry {
            provider: Arc::new(provider),
            client,
        })
    }

    /// The registry entries `rows` make, by tenant; rows that cannot serve are left out, said
    /// once in the log.
    fn entries_by_tenant(
        &self,
        rows: Vec<TenantProviderRow>,
    ) -> HashMap<String, BTreeMap<String, TenantEntry>> {
        let mut tenants: HashMap<String, BTreeMap<String, TenantEntry>> = HashMap::new();
        for row in rows {
            match self.entry_of(&row) {
                Ok(entry) => {
                    tenants
                        .entry(row.tenant.clone())
                        .or_default()
                        .insert(row.provider_key.clone(), entry);
                }
                Err(why) => tracing::warn!(
                    tenant = %row.tenant, provider = %row.provider_key, %why,
                    "a tenant provider is left out"
                ),
            }
        }
        tenants
    }

    /// Loads every tenant's entries (start-up, a missed notification). Blocking.
    pub fn reload_all(&self) -> Result<(), DbError> {
        let rows = self
            .db
            .run_blocking(|conn| Ok(TenantProviderRow::all(conn)?))?;
        self.registry.install_all(self.entries_by_tenant(rows));
        Ok(())
    }

    /// Puts `tenant`'s stored `rows` in the registry, replacing what it held for the tenant.
    fn install_tenant(&self, tenant: &str, rows: Vec<TenantProviderRow>) {
        let mut tenants = self.entries_by_tenant(rows);
        self.registry
            .install(tenant, tenants.remove(tenant).unwrap_or_default());
    }

    /// Loads one tenant's entries. Blocking.
    pub fn reload_blocking(&self, tenant: &str) -> Result<(), DbError> {
        let rows = self
            .db
            .run_blocking(|conn| Ok(TenantProviderRow::list(conn, tenant)?))?;
        self.install_tenant(tenant, rows);
        Ok(())
    }

    async fn reload(&self, tenant: &str) -> Result<(), DbError> {
        let owned = tenant.to_string();
        let rows = self
            .db
            .read(move |conn| Ok(TenantProviderRow::list(conn, &owned)?))
            .await?;
        self.install_tenant(tenant, rows);
        Ok(())
    }

    /// A row for `definition` and `client`, and the provider it makes (checked: it serves).
    fn row(
        &self,
        (tenant, key): (&str, &str),
        definition: &Map<String, Value>,
        client: Option<&ClientSpec>,
        at: (NaiveDateTime, NaiveDateTime),
    ) -> Result<(TenantProviderRow, Provider), Error> {
        let provider = self.checked(key, definition).map_err(Error::Invalid)?;
        let sealed = client.and_then(|c| c.client_secret.as_ref()).map(|s| {
            self.vault
                .seal(binding(tenant, key), &json!({"client_secret": s.expose()}))
        });
        let row = TenantProviderRow {
            tenant: tenant.to_string(),
            provider_key: key.to_string(),
            definition: Value::Object(definition.clone()).to_string(),
            client_id: client.map(|c| c.client_id.clone()),
            client_secret_ciphertext: sealed,
            created_at: at.0,
            updated_at: at.1,
        };
        Ok((row, provider))
    }

    /// Adds a tenant's provider (or its own app for a catalogue key).
    pub async fn create(
        &self,
        tenant: &str,
        key: &str,
        definition: Map<String, Value>,
        client: Option<ClientChoice>,
    ) -> Result<Written, Error> {
        let (mut definition, registration) = self.completed(key, definition).await?;
        mark_registration(&mut definition, client.as_ref());
        let client = self.client_for(client, registration.as_deref()).await?;
        let now = crate::db::now();
        let (row, provider) = self.row((tenant, key), &definition, client.as_ref(), (now, now))?;
        let inserted = row.clone();
        let fresh = self
            .db
            .run(move |conn| Ok(TenantProviderRow::insert(conn, &inserted)?))
            .await?;
        if !fresh {
            return Err(Error::Exists(key.to_string()));
        }
        self.reload(tenant).await?;
        Ok(Written::of(&row, provider, definition))
    }

    /// Changes a tenant provider: `fields` merged over its definition (a null removes one), its
    /// client replaced when `client` is given.
    pub async fn update(
        &self,
        tenant: &str,
        key: &str,
        fields: Map<String, Value>,
        client: Option<ClientChoice>,
    ) -> Result<Written, Error> {
        let old = self.find(tenant, key).await?;
        let mut definition: Map<String, Value> =
            serde_json::from_str(&old.definition).unwrap_or_default();
        for (name, value) in fields {
            match value {
                Value::Null => definition.remove(&name),
                value => definition.insert(name, value),
            };
        }
        let (mut definition, registration) = self.completed(key, definition).await?;
        mark_registration(&mut definition, client.as_ref());
        let client = self.client_for(client, registration.as_deref()).await?;
        let (mut row, provider) = self.row(
            (tenant, key),
            &definition,
            client.as_ref(),
            (old.created_at, crate::db::now()),
        )?;
        if client.is_none() {
            row.client_id = old.client_id;
            row.client_secret_ciphertext = old.client_secret_ciphertext;
        }
        let updated = row.clone();
        let found = self
            .db
            .transaction(move |conn| Ok(TenantProviderRow::update(conn, &updated)?))
            .await?;
        if !found {
            return Err(Error::NotFound(key.to_string()));
        }
        self.reload(tenant).await?;
        Ok(Written::of(&row, provider, definition))
    }

    /// Deletes a tenant provider; refused while credentials use it unless `force`.
    pub async fn delete(&self, tenant: &str, key: &str, force: bool) -> Result<(), Error> {
        let (owned_tenant, owned_key) = (tenant.to_string(), key.to_string());
        // Not one transaction: on SQLite a read that upgrades to a write fails at once when
        // another connection wrote meanwhile. A credential stored between the two is the
        // caller's race, as with any delete.
        let outcome = self
            .db
            .run(move |conn| {
                let using = TenantProviderRow::credentials_using(conn, &owned_tenant, &owned_key)?;
                if using > 0 && !force {
                    return Ok(Err(using));
                }
                Ok(Ok(TenantProviderRow::delete(
                    conn,
                    &owned_tenant,
                    &owned_key,
                )?))
            })
            .await?;
        match outcome {
            Err(count) => Err(Error::InUse {
                key: key.to_string(),
                count,
            }),
            Ok(false) => Err(Error::NotFound(key.to_string())),
            Ok(true) => Ok(self.reload(tenant).await?),
        }
    }

    async fn find(&self, tenant: &str, key: &str) -> Result<TenantProviderRow, Error> {
        let (owned_tenant, owned_key) = (tenant.to_string(), key.to_string());
        self.db
            .read(move |conn| Ok(TenantProviderRow::find(conn, &owned_tenant, &owned_key)?))
            .await?
            .ok_or_else(|| Error::NotFound(key.to_string()))
    }

    /// One of the tenant's own providers.
    pub async fn get(&self, tenant: &str, key: &str) -> Result<Written, Error> {
        let row = self.find(tenant, key).await?;
        self.written(&row)
    }

    fn written(&self, row: &TenantProviderRow) -> Result<Written, Error> {
        let definition = definition_of(row).map_err(|e| Error::Invalid(vec![e]))?;
        let provider = self
            .checked(&row.provider_key, &definition)
            .map_err(Error::Invalid)?;
        Ok(Written::of(row, provider, definition))
    }
}

/// Re-seals every client secret under the vault's first key (`rotate-key`): how many were
/// re-sealed, and the tenant/key of those no configured key opens.
pub fn reseal_secrets(db: &Db, vault: &Vault) -> Result<(usize, Vec<String>), DbError> {
    let rows = db.run_blocking(|conn| Ok(TenantProviderRow::all(conn)?))?;
    let (mut resealed, mut failed) = (0, Vec::new());
    for mut row in rows {
        let Some(sealed) = row.client_secret_ciphertext.clone() else {
            continue;
        };
        let to = binding(&row.tenant, &row.provider_key);
        match vault.open(to, &sealed) {
            Ok(opened) if opened.key_index == 0 => {}
            Ok(opened) => {
                row.client_secret_ciphertext = Some(vault.seal(to, &opened.data));
                if db.run_blocking(|conn| Ok(TenantProviderRow::update(conn, &row)?))? {
                    resealed += 1;
                }
            }
            Err(_) => failed.push(format!("{}/{}", row.tenant, row.provider_key)),
        }
    }
    Ok((resealed, failed))
}

impl TenantProviders {
    /// Registers anew the client tokenvault registered for (tenant, key), once an hour at most:
    /// whether there is a new one.
    async fn reregister(&self, tenant: &str, key: &str) -> Result<bool, Error> {
        let entry = (tenant.to_string(), key.to_string());
        let due = match self.renewed.lock() {
            Ok(mut renewed) => {
                let recent = renewed
                    .get(&entry)
                    .is_some_and(|at| at.elapsed() < RENEWAL_INTERVAL);
                if !recent {
                    renewed.insert(entry, Instant::now());
                }
                !recent
            }
            Err(_) => false,
        };
        if !due {
            return Ok(false);
        }
        let old = self.find(tenant, key).await?;
        let definition: Map<String, Value> =
            serde_json::from_str(&old.definition).unwrap_or_default();
        let dynamic = definition
            .get("client_registration")
            .and_then(Value::as_str)
            == Some("dynamic");
        let issuer = definition
            .get("issuer")
            .and_then(Value::as_str)
            .map(String::from);
        let (true, Some(issuer)) = (dynamic, issuer) else {
            return Ok(false);
        };
        let registration = self.server_metadata(&issuer).await?.registration_endpoint;
        let client = self
            .client_for(Some(ClientChoice::Dynamic), registration.as_deref())
            .await?;
        let (row, _) = self.row(
            (tenant, key),
            &definition,
            client.as_ref(),
            (old.created_at, crate::db::now()),
        )?;
        self.db
            .transaction(move |conn| Ok(TenantProviderRow::update(conn, &row)?))
            .await?;
        self.reload(tenant).await?;
        tracing::info!(%tenant, provider = %key, "the server refused tokenvault's registered client: registered anew");
        Ok(true)
    }
}

impl ClientRenewal for TenantProviders {
    fn renew<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(async move {
            match self.reregister(tenant, key).await {
                Ok(renewed) => renewed,
                Err(e) => {
                    tracing::warn!(%tenant, provider = %key, error = %e, "could not register the client anew");
                    false
                }
            }
        })
    }
}

impl Subscriber for TenantProviders {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    fn notified(&self, tenant: &str) {
        if let Err(e) = self.reload_blocking(tenant) {
            tracing::warn!(%tenant, error = %e, "could not reload a tenant's providers");
        }
    }

    fn missed(&self) {
        if let Err(e) = self.reload_all() {
            tracing::warn!(error = %e, "could not reload the tenant providers");
        }
    }
}
