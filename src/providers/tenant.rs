//! Tenant providers: entries a tenant adds at run time (`POST /v2/providers`), or its own OAuth
//! app for a catalogue provider. Each is the catalogue's format (a new entry, or fields merged
//! over the catalogue entry of the same key, as a `PROVIDERS_FILE` would), checked by the same
//! rules, and visible to its tenant only. The registry keeps every tenant's entries in memory;
//! `TenantProviders` keeps them in the database (client secrets sealed) and reloads them.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock, Weak};

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{OAuthClient, Provider, Registry, merge_table};

/// Where an entry a tenant sees comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The embedded catalogue (with the deployment's `PROVIDERS_FILE`).
    Catalogue,
    /// Added or overridden by the tenant.
    Tenant,
}

/// One tenant's entry: the provider as the tenant sees it and the tenant's own OAuth app.
#[derive(Debug, Clone)]
pub struct TenantEntry {
    pub provider: Arc<Provider>,
    pub client: Option<OAuthClient>,
}

/// Registers a tenant's client anew when the server no longer accepts the one it issued.
pub trait ClientRenewal: Send + Sync {
    /// Whether there is a new client to retry with.
    fn renew<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}

/// Every tenant's entries, by tenant then key, and who renews their registered clients.
#[derive(Default)]
pub(super) struct TenantLayer {
    entries: RwLock<HashMap<String, BTreeMap<String, TenantEntry>>>,
    renewal: OnceLock<Weak<dyn ClientRenewal>>,
}

impl std::fmt::Debug for TenantLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantLayer").finish_non_exhaustive()
    }
}

/// Fields of a tenant entry that are not the catalogue's: its key, its client, and how the
/// client came (`client_registration: "dynamic"`).
pub const NOT_ENTRY_FIELDS: &[&str] = &["key", "client", "client_registration"];

/// A provider key a tenant may use: lowercase letters, digits, `-` and `_`, at most 64.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    match ok {
        true => Ok(()),
        false => Err(format!(
            "key {key:?} must be 1-64 lowercase letters, digits, '-' or '_'"
        )),
    }
}

impl Registry {
    /// The provider `key` as `tenant` sees it: its own entry, else the catalogue's.
    pub fn lookup(&self, tenant: &str, key: &str) -> Option<Arc<Provider>> {
        let key = key.to_ascii_lowercase();
        let own = self.tenant_entry(tenant, &key).map(|e| e.provider);
        own.or_else(|| self.providers.get(&key).cloned())
    }

    fn tenant_entry(&self, tenant: &str, key: &str) -> Option<TenantEntry> {
        let entries = self
            .tenants
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner());
        entries.get(tenant)?.get(key).cloned()
    }

    /// The OAuth client `tenant` uses with `key`: its own app, else the platform's.
    pub fn client(&self, tenant: &str, key: &str) -> Option<OAuthClient> {
        let key = key.to_ascii_lowercase();
        let own = self.tenant_entry(tenant, &key).and_then(|e| e.client);
        own.or_else(|| self.platform_clients.get(&key).cloned())
    }

    /// What `tenant` sees: every catalogue entry it has not replaced and its own, by key, each
    /// with where it comes from and whether a client is configured for it.
    pub fn listing(&self, tenant: &str) -> Vec<(Arc<Provider>, Source, bool)> {
        let own: BTreeMap<String, TenantEntry> = {
            let entries = self
                .tenants
                .entries
                .read()
                .unwrap_or_else(|e| e.into_inner());
            entries.get(tenant).cloned().unwrap_or_default()
        };
        let mut listed: BTreeMap<&str, (Arc<Provider>, Source, bool)> = self
            .providers
            .iter()
            .map(|(key, p)| {
                let client = self.platform_clients.contains_key(key);
                (key.as_str(), (Arc::clone(p), Source::Catalogue, client))
            })
            .collect();
        for (key, entry) in &own {
            let client = entry.client.is_some() || self.platform_clients.contains_key(key);
            listed.insert(key, (Arc::clone(&entry.provider), Source::Tenant, client));
        }
        listed.into_values().collect()
    }

    /// Replaces `tenant`'s entries (after a write, or a reload from the database).
    pub fn install(&self, tenant: &str, entries: BTreeMap<String, TenantEntry>) {
        let mut all = self
            .tenants
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match entries.is_empty() {
            true => all.remove(tenant),
            false => all.insert(tenant.to_string(), entries),
        };
    }

    /// Replaces every tenant's entries at once (a reload of the whole table).
    pub fn install_all(&self, tenants: HashMap<String, BTreeMap<String, TenantEntry>>) {
        *self
            .tenants
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner()) = tenants;
    }

    /// The provider a tenant's `definition` describes: its fields merged over the catalogue
    /// entry of the same key when there is one (a tenant's own app for Google names no fields at
    /// all), checked like a `PROVIDERS_FILE` entry (`docs_url` may be left out). Every problem,
    /// one line each, when it cannot serve.
    pub fn tenant_provider(
        &self,
        key: &str,
        definition: &Map<String, Value>,
    ) -> Result<Provider, Vec<String>> {
        check_key(key).map_err(|e| vec![e])?;
        let fields: Map<String, Value> = definition
            .iter()
            .filter(|(name, _)| !NOT_ENTRY_FIELDS.contains(&name.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let given = match toml::Value::try_from(Value::Object(fields)) {
            Ok(toml::Value::Table(table)) => table,
            Ok(_) => return Err(vec!["not a provider entry".to_string()]),
            Err(e) => return Err(vec![format!("not a provider entry: {e}")]),
        };
        let mut table = self.tables.get(key).cloned().unwrap_or_default();
        merge_table(&mut table, given);
        let mut provider: Provider = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| vec![e.to_string().trim().to_string()])?;
        provider.key = key.to_string();
        let problems: Vec<String> = provider
            .prepare()
            .into_iter()
            .filter(|p| !p.starts_with("docs_url is missing"))
            .collect();
        match problems.is_empty() {
            true => Ok(provider),
            false => Err(problems),
        }
    }

    /// Who renews registered clients (the tenant providers' store).
    pub fn set_client_renewal(&self, renewal: Weak<dyn ClientRenewal>) {
        let _ = self.tenants.renewal.set(renewal);
    }

    /// After a server answered `invalid_client` to `tenant`'s client for `key`: whether a new
    /// registration was made to retry with (at most once an hour per entry; a client the
    /// tenant gave is never replaced).
    pub async fn renew_client(&self, tenant: &str, key: &str) -> bool {
        let renewal = self.tenants.renewal.get().and_then(Weak::upgrade);
        match renewal {
            Some(renewal) => renewal.renew(tenant, key).await,
            None => false,
        }
    }

    /// Whether `key` is a catalogue entry.
    pub fn in_catalogue(&self, key: &str) -> bool {
        self.providers.contains_key(&key.to_ascii_lowercase())
    }
}
