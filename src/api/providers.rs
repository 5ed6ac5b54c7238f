//! `GET /v2/providers`: the provider registry as clients may see it.

use actix_web::{HttpResponse, get, web};

use crate::api::AuthErrors;
use crate::auth::Caller;
use crate::providers::ProviderInfo;
use crate::state::AppState;

/// List the supported providers, their token types and scope catalogues.
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
pub async fn list(_caller: Caller, state: web::Data<AppState>) -> HttpResponse {
    let clients = &state.config.oauth_clients;
    let providers: Vec<ProviderInfo> = state
        .registry
        .iter()
        .map(|p| ProviderInfo::new(p, clients.contains_key(&p.key)))
        .collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "private, max-age=300"))
        .json(providers)
}
