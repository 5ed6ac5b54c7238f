//! `/v2/providers`: the catalogue and the tenant's own providers as clients may see them, and
//! the tenant's providers managed at run time (admin).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::api::{AuthErrors, timestamp};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::providers::ProviderInfo;
use crate::providers::tenant::Source;
use crate::providers::tenant_store::{ClientChoice, ClientSpec, Written};
use crate::secret::Secret;
use crate::state::AppState;

/// List the providers this tenant can use: the catalogue and its own.
///
/// Never includes OAuth endpoint URLs, client ids or secrets.
#[utoipa::path(
    operation_id = "listProviders",
    tag = "providers",
    responses(
        (status = 200, description = "One entry per provider", body = Vec<ProviderInfo>,
         headers(("Cache-Control" = String, description = "private, max-age=300"))),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/providers")]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> HttpResponse {
    let providers: Vec<ProviderInfo> = state
        .registry
        .listing(&caller.tenant)
        .into_iter()
        .map(|(p, source, client)| ProviderInfo::new(&p, client, source))
        .collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "private, max-age=300"))
        .json(providers)
}

/// The OAuth app a tenant brings: its client id and secret (the secret is stored encrypted and
/// never shown).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    #[schema(example = "1234.apps.example.com")]
    pub client_id: String,
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret<String>>,
}

impl std::fmt::Debug for ClientBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBody").finish_non_exhaustive()
    }
}

/// A body's `client`: an object (the tenant's app), `"dynamic"` (tokenvault registers itself at
/// the server, RFC 7591), or absent. A malformed one is refused without echoing it.
fn client_choice(value: Option<Value>) -> Result<Option<ClientChoice>, ApiError> {
    let malformed = || {
        ApiError::InvalidRequest(
            "client must be {\"client_id\", \"client_secret\"} (strings) or \"dynamic\"".into(),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "dynamic" => Ok(Some(ClientChoice::Dynamic)),
        Some(given @ Value::Object(_)) => {
            let body: ClientBody = serde_json::from_value(given).map_err(|_| malformed())?;
            Ok(Some(ClientChoice::Given(body.spec()?)))
        }
        Some(_) => Err(malformed()),
    }
}

impl ClientBody {
    fn spec(self) -> Result<ClientSpec, ApiError> {
        let id = self.client_id.trim();
        if id.is_empty() || id.len() > 512 {
            return Err(ApiError::InvalidRequest(
                "client.client_id must be 1-512 characters".into(),
            ));
        }
        Ok(ClientSpec {
            client_id: id.to_string(),
            client_secret: self.client_secret.filter(|s| !s.expose().is_empty()),
        })
    }
}

/// Body of `POST /v2/providers`: a key, the OAuth app, and the entry's fields in the catalogue's
/// format (`token_url`, `authorize_url`, `token_types`, `display_name`, `env_var`, `scopes`, …).
/// `issuer` alone fills the endpoints from the server's metadata (RFC 8414, else OpenID
/// discovery); `mcp_server` alone finds the authorization server from the MCP server (RFC
/// 9728) and sends its URL as `resource` (RFC 8707). For a catalogue key, the fields given
/// change that entry for this tenant only, and `client` is the tenant's own app for it.
#[derive(Deserialize, ToSchema)]
pub struct CreateProviderRequest {
    /// Lowercase letters, digits, `-` and `_`.
    #[schema(example = "acme")]
    pub key: String,
    /// The OAuth app: `{"client_id", "client_secret"}` (a `ClientBody`), or `"dynamic"`:
    /// tokenvault registers itself at the server's registration endpoint (RFC 7591).
    #[schema(value_type = Option<ClientBody>)]
    pub client: Option<Value>,
    /// The entry's fields (the catalogue's format).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// Body of `PATCH /v2/providers/{key}`: fields to change (null removes one), and the client to
/// use from now on.
#[derive(Deserialize, ToSchema)]
pub struct UpdateProviderRequest {
    /// As in `POST /v2/providers`; absent: the client stays.
    #[schema(value_type = Option<ClientBody>)]
    pub client: Option<Value>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// A tenant provider: what `GET /v2/providers` shows of it, and the fields it was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantProviderResponse {
    #[serde(flatten)]
    pub info: ProviderInfo,
    /// The fields as given (never a secret: the client secret is stored apart, encrypted).
    #[schema(value_type = Object)]
    pub definition: Map<String, Value>,
    /// Whether the tenant brought its own OAuth app for it.
    pub own_client: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn response(state: &AppState, tenant: &str, written: Written) -> TenantProviderResponse {
    let client = state
        .registry
        .client(tenant, &written.provider.key)
        .is_some();
    let at = |t: NaiveDateTime| timestamp(t);
    TenantProviderResponse {
        info: ProviderInfo::new(&written.provider, client, Source::Tenant),
        definition: written.definition,
        own_client: written.client_id.is_some(),
        created_at: at(written.created_at),
        updated_at: at(written.updated_at),
    }
}

/// The `{key}` of a provider route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProviderPath {
    /// The provider key.
    key: String,
}

/// Add a provider for this tenant, or this tenant's own OAuth app for a catalogue provider.
#[utoipa::path(
    operation_id = "createProvider",
    tag = "providers",
    request_body = CreateProviderRequest,
    responses(
        (status = 201, description = "Added", body = TenantProviderResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "The tenant has a provider with this key already (`conflict`)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "The entry cannot serve: every problem, `; `-separated", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[post("/v2/providers")]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<CreateProviderRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("add providers")?;
    let request = body.into_inner();
    let key = request.key.trim().to_ascii_lowercase();
    let client = client_choice(request.client)?;
    let written = state
        .tenant_providers
        .create(&caller.tenant, &key, request.fields, client)
        .await?;
    Ok(HttpResponse::Created().json(response(&state, &caller.tenant, written)))
}

/// A provider as this tenant sees it, with the fields it gave when it is its own.
#[utoipa::path(
    operation_id = "getProvider",
    tag = "providers",
    params(ProviderPath),
    responses(
        (status = 200, description = "The tenant's own entry", body = TenantProviderResponse),
        (status = 404, description = "The tenant has no provider of this key (catalogue entries are in `GET /v2/providers`)", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[get("/v2/providers/{key}")]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<ProviderPath>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner().key.to_ascii_lowercase();
    let written = state.tenant_providers.get(&caller.tenant, &key).await?;
    Ok(HttpResponse::Ok().json(response(&state, &caller.tenant, written)))
}

/// Change one of this tenant's providers.
#[utoipa::path(
    operation_id = "updateProvider",
    tag = "providers",
    params(ProviderPath),
    request_body = UpdateProviderRequest,
    responses(
        (status = 200, description = "Changed", body = TenantProviderResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "The tenant has no provider of this key", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 422, description = "The entry would not serve: every problem", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[patch("/v2/providers/{key}")]
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<ProviderPath>,
    body: web::Json<UpdateProviderRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("change providers")?;
    let key = path.into_inner().key.to_ascii_lowercase();
    let request = body.into_inner();
    let client = client_choice(request.client)?;
    let written = state
        .tenant_providers
        .update(&caller.tenant, &key, request.fields, client)
        .await?;
    Ok(HttpResponse::Ok().json(response(&state, &caller.tenant, written)))
}

/// Query of `DELETE /v2/providers/{key}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteProviderQuery {
    /// Delete it even while credentials use it (they can no longer be refreshed, connected or
    /// proxied until it is added again). Default false: 409.
    pub force: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteProviderResponse {
    #[schema(example = "acme")]
    pub key: String,
    #[schema(example = "Provider acme deleted")]
    pub message: String,
}

/// Delete one of this tenant's providers.
#[utoipa::path(
    operation_id = "deleteProvider",
    tag = "providers",
    params(ProviderPath, DeleteProviderQuery),
    responses(
        (status = 200, description = "Deleted", body = DeleteProviderResponse),
        (status = 400, description = "A malformed query (`force` is true or false)", body = ErrorBody),
        (status = 404, description = "The tenant has no provider of this key", body = ErrorBody),
        (status = 409, description = "Credentials still use it (`conflict`); `?force=true` deletes anyway", body = ErrorBody),
        AuthErrors,
    ),
    security(("api_key" = []))
)]
#[delete("/v2/providers/{key}")]
pub async fn remove(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<ProviderPath>,
    query: web::Query<DeleteProviderQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_tenant_admin("delete providers")?;
    let key = path.into_inner().key.to_ascii_lowercase();
    let force = query.force.unwrap_or(false);
    state
        .tenant_providers
        .delete(&caller.tenant, &key, force)
        .await?;
    Ok(HttpResponse::Ok().json(DeleteProviderResponse {
        message: format!("Provider {key} deleted"),
        key,
    }))
}
