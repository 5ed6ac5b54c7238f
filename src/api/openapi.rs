//! The OpenAPI document: what the handlers' annotations derive, refined where a derive cannot
//! say what the server enforces — the store request as one shape per token type (its providers
//! taken from the registry the server runs with), identifier patterns from the checks
//! themselves, `Retry-After` on every 429 and 503, and the two ways to authenticate.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::credentials::data::PATH_SAFE_PATTERN;
use crate::credentials::data::{
    ApiKeyTokenData, BasicTokenData, ClientCredentialsTokenData, JwtTokenData, MAX_EXPIRES_IN,
    MAX_FIELD_LEN, OAuth2TokenData, ServiceAccountTokenData,
};
use crate::model::{MAX_INTEGRATION_KEY_LEN, MAX_USER_ID_LEN, TokenType, identifier_pattern};
use crate::providers::Registry;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokenvault",
        description = "A credential vault for backend applications: store your users' OAuth2 \
                       tokens, API keys and JWTs encrypted, and get a usable one back whenever \
                       you need it. Authenticate with `X-API-Key: agk_…` or with an access \
                       token, `Authorization: Bearer agat_…`."
    ),
    // The store request's `token_data` shapes (see `store_request_per_token_type`).
    components(schemas(
        OAuth2TokenData,
        ApiKeyTokenData,
        JwtTokenData,
        BasicTokenData,
        ClientCredentialsTokenData,
        ServiceAccountTokenData
    )),
    modifiers(&SecurityAddon),
    tags(
        (name = "tokens", description = "Stored credentials of a user"),
        (name = "connect", description = "Connect a user's account through the provider's consent screen (OAuth authorization code with PKCE)"),
        (name = "providers", description = "The provider whitelist"),
        (name = "access-tokens", description = "Short-lived bearer tokens minted from an API key"),
        (name = "api-keys", description = "API key management (admin scope)"),
        (name = "webhooks", description = "Standard Webhooks about credentials (admin scope): connected, invalid, refresh_failed, recovered, deleted"),
        (name = "health", description = "Liveness and readiness"),
        (name = "proxy", description = "Use a credential without holding it: requests to the provider's API with the credential put in by tokenvault"),
    )
)]
pub struct ApiDoc;

/// The security scheme names of the document.
const API_KEY: &str = "api_key";
const ACCESS_TOKEN: &str = "access_token";

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::api::extract::API_KEY_HEADER,
                "An API key, `agk_…`.",
            ))),
        );
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("agat_…")
            .description(Some(
                "An access token minted with `POST /v2/access-tokens`, `agat_…`.",
            ))
            .build();
        components.add_security_scheme(ACCESS_TOKEN, SecurityScheme::Http(bearer));
    }
}

/// The errors any authenticated route may answer (documentation only).
pub struct AuthErrors;

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let error = |description: &str| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", content)
                    .build(),
            )
        };
        BTreeMap::from([
            (
                "401".to_string(),
                error(
                    "Missing, unknown, revoked or expired API key or access token (`unauthorized`).",
                ),
            ),
            (
                "403".to_string(),
                error("The key lacks the scope or is bound to another user (`forbidden`)."),
            ),
            (
                "429".to_string(),
                error(
                    "Too many failed authentications from this address (`rate_limited`); \
                     retry after `Retry-After` seconds.",
                ),
            ),
            (
                "503".to_string(),
                error(
                    "The database is unreachable or silent (`database_unavailable`) or every \
                     connection is busy (`server_busy`), or, on routes that refresh, the \
                     provider failed transiently and no valid token is left \
                     (`refresh_unavailable`); all with `Retry-After`: retry then.",
                ),
            ),
        ])
    }
}

/// The document served at `/openapi.json` for a server running with `registry`, as pretty
/// JSON with a final newline (what `openapi/openapi.json` holds for the embedded providers).
pub fn refine(derived: &utoipa::openapi::OpenApi, registry: &Registry) -> String {
    // A document of plain maps, strings and numbers: serialising it cannot fail.
    let mut doc = serde_json::to_value(derived).unwrap_or_default();
    store_request_per_token_type(&mut doc, registry);
    connect_providers(&mut doc, registry);
    identifier_patterns(&mut doc);
    retry_after_headers(&mut doc);
    both_security_schemes(&mut doc);
    proxy_operations(&mut doc);
    let mut json = serde_json::to_string_pretty(&doc).unwrap_or_default();
    json.push('\n');
    json
}

/// The proxy route is one handler for every method: each operation gets its own id
/// (`proxyGet`, `proxyPost`, …), a body only where the method carries one, and that body is
/// any bytes (documented as `application/octet-stream`; any content type is passed on).
fn proxy_operations(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let Some((_, item)) = paths.iter_mut().find(|(path, _)| path.contains("/proxy/")) else {
        return;
    };
    let Some(item) = item.as_object_mut() else {
        return;
    };
    for (method, operation) in item.iter_mut() {
        let mut name = method.clone();
        if let Some(first) = name.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        operation["operationId"] = json!(format!("proxy{name}"));
        if let Some(parameters) = operation["parameters"].as_array_mut() {
            for parameter in parameters.iter_mut() {
                if parameter["in"] == "header" {
                    parameter["schema"] = json!({"type": "integer", "minimum": 0, "maximum": 3});
                }
            }
        }
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        match method.as_str() {
            "post" | "put" | "patch" | "delete" => {
                operation.insert(
                    "requestBody".into(),
                    json!({
                        "description": "Passed to the provider's API as it is",
                        "required": false,
                        "content": {
                            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                        }
                    }),
                );
            }
            _ => {
                operation.remove("requestBody");
            }
        }
    }
}

/// The name of the store request schema of one token type.
fn store_schema_name(token_type: TokenType) -> &'static str {
    match token_type {
        TokenType::OAuth2 => "StoreOAuth2TokenRequest",
        TokenType::ApiKey => "StoreApiKeyTokenRequest",
        TokenType::Jwt => "StoreJwtTokenRequest",
        TokenType::Basic => "StoreBasicTokenRequest",
        TokenType::ClientCredentials => "StoreClientCredentialsTokenRequest",
        TokenType::ServiceAccount => "StoreServiceAccountTokenRequest",
    }
}

fn token_data_schema_name(token_type: TokenType) -> &'static str {
    match token_type {
        TokenType::OAuth2 => "OAuth2TokenData",
        TokenType::ApiKey => "ApiKeyTokenData",
        TokenType::Jwt => "JwtTokenData",
        TokenType::Basic => "BasicTokenData",
        TokenType::ClientCredentials => "ClientCredentialsTokenData",
        TokenType::ServiceAccount => "ServiceAccountTokenData",
    }
}

/// `StoreTokenRequest` becomes a `oneOf` discriminated by `token_type`: each shape names only
/// the providers that accept that token type and its own `token_data`.
fn store_request_per_token_type(doc: &mut Value, registry: &Registry) {
    let schemas = &mut doc["components"]["schemas"];
    let Some(common) = schemas.get("StoreTokenRequest").cloned() else {
        return;
    };
    let mut variants = Vec::new();
    let mut mapping = serde_json::Map::new();
    for &token_type in TokenType::ALL {
        let providers: Vec<&str> = registry
            .iter()
            .filter(|p| p.supports(token_type))
            .map(|p| p.key.as_str())
            .collect();
        if providers.is_empty() {
            continue;
        }
        let name = store_schema_name(token_type);
        let mut shape = common.clone();
        shape["description"] = json!(format!("Body of a `{token_type}` credential."));
        let properties = &mut shape["properties"];
        properties["token_type"] = json!({"type": "string", "enum": [token_type.as_str()]});
        properties["provider"] = provider_schema(
            &providers,
            "A provider that accepts this token type: one of the catalogue's (`examples`), or \
             one the tenant added (`GET /v2/providers` lists both).",
        );
        properties["token_data"] = json!({
            "$ref": format!("#/components/schemas/{}", token_data_schema_name(token_type)),
        });
        shape["required"] = json!(["integration_key", "provider", "token_type", "token_data"]);
        schemas[name] = shape;
        let reference = format!("#/components/schemas/{name}");
        mapping.insert(token_type.as_str().into(), json!(reference));
        variants.push(json!({"$ref": reference}));
    }
    schemas["StoreTokenRequest"] = json!({
        "description": "Body of `POST /v2/users/{user_id}/tokens`: one shape per `token_type`.",
        "oneOf": variants,
        "discriminator": {"propertyName": "token_type", "mapping": mapping},
    });
    for token_type in TokenType::ALL {
        token_data_limits(&mut schemas[token_data_schema_name(*token_type)]);
    }
}

/// A provider name: not a closed set (a tenant adds its own at run time), so the catalogue's
/// names are examples, not an enum.
fn provider_schema<S: serde::Serialize>(catalogue: &[S], description: &str) -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "examples": catalogue,
        "description": description,
    })
}

/// The connect request is one shape per flow: the authorization-code one needs `redirect_uri`
/// and names providers with an authorization endpoint, the device one names providers with a
/// device endpoint. A GET's `token_data` shapes overlap (an `oauth2` access token alone looks
/// like a minted one): any of them.
fn connect_providers(doc: &mut Value, registry: &Registry) {
    let schemas = &mut doc["components"]["schemas"];
    let keys = |wanted: fn(&crate::providers::Provider) -> bool| -> Vec<String> {
        registry
            .iter()
            .filter(|p| wanted(p))
            .map(|p| p.key.clone())
            .collect()
    };
    let common = schemas["ConnectRequest"].clone();
    let mut code = common.clone();
    let connectable = keys(|p| p.supports_connect());
    code["properties"]["provider"] = provider_schema(
        &connectable,
        "A provider with an authorization endpoint and an OAuth client: one of the catalogue's \
         (`examples`), or one the tenant added (`supports_connect` in `GET /v2/providers`).",
    );
    code["properties"]["redirect_uri"]["format"] = json!("uri");
    code["properties"]["redirect_uri"]["type"] = json!("string");
    code["properties"]["flow"] = json!({"type": "string", "enum": ["authorization_code"]});
    code["required"] = json!(["provider", "redirect_uri"]);
    code["description"] =
        json!("A connect through the user's browser (authorization code + PKCE).");
    let mut device = common;
    device["properties"]["provider"] = provider_schema(
        &keys(|p| p.supports_device()),
        "A provider with a device authorization endpoint: one of the catalogue's (`examples`), \
         or one the tenant added.",
    );
    device["properties"]["flow"] = json!({"type": "string", "enum": ["device"]});
    if let Some(properties) = device["properties"].as_object_mut() {
        properties.remove("redirect_uri");
    }
    device["required"] = json!(["provider", "flow"]);
    device["description"] = json!("A device connect (RFC 8628): the user enters a code.");
    schemas["ConnectAuthorizationCodeRequest"] = code;
    schemas["ConnectDeviceRequest"] = device;
    schemas["ConnectRequest"] = json!({
        "description": "Body of `POST /v2/users/{user_id}/connect`: one shape per `flow`.",
        "oneOf": [
            {"$ref": "#/components/schemas/ConnectAuthorizationCodeRequest"},
            {"$ref": "#/components/schemas/ConnectDeviceRequest"},
        ],
    });
    if let Some(usable) = schemas["UsableSecret"].as_object_mut()
        && let Some(shapes) = usable.remove("oneOf")
    {
        usable.insert("anyOf".into(), shapes);
    }
}

/// What the server checks of `token_data`: no unknown field, a required text field is not
/// blank, every text field has the server's cap, `expires_in` is at most ten years.
fn token_data_limits(schema: &mut Value) {
    schema["additionalProperties"] = json!(false);
    let required: Vec<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(expires_in) = properties.get_mut("expires_in") {
        expires_in["maximum"] = json!(MAX_EXPIRES_IN);
    }
    // Identifiers that go into a provider's URL (GitHub's app and installation ids, Microsoft's
    // tenant) may come as whole numbers too; as text they are path-safe.
    for id in ["app_id", "installation_id", "tenant"] {
        if let Some(property) = properties.get_mut(id) {
            property["type"] = json!(["string", "integer", "null"]);
            property["minimum"] = json!(0);
            property["pattern"] = json!(PATH_SAFE_PATTERN);
        }
    }
    // The service account's optional texts are not blank.
    if properties.contains_key("private_key") {
        for name in ["issuer", "key_id", "subject", "scope", "audience"] {
            if let Some(property) = properties.get_mut(name) {
                property["pattern"] = json!("\\S");
            }
        }
    }
    for (name, property) in properties.iter_mut() {
        let is_text = property["type"] == "string" || property["type"] == json!(["string", "null"]);
        if !is_text {
            continue;
        }
        property["maxLength"] = json!(MAX_FIELD_LEN);
        if required.contains(name) {
            property["pattern"] = json!("\\S");
        }
    }
}

/// Every `user_id` and `integration_key`, in paths and bodies, carries the server's pattern.
fn identifier_patterns(doc: &mut Value) {
    let constrain = |value: &mut Value, max: usize| {
        value["pattern"] = json!(identifier_pattern(max));
        value["minLength"] = json!(1);
        value["maxLength"] = json!(max);
    };
    let limits = [
        ("user_id", MAX_USER_ID_LEN),
        ("integration_key", MAX_INTEGRATION_KEY_LEN),
    ];
    if let Some(paths) = doc["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for parameter in operation
                .values_mut()
                .filter_map(|op| op.get_mut("parameters").and_then(Value::as_array_mut))
                .flatten()
            {
                for (name, max) in limits {
                    if parameter["name"] == name {
                        constrain(&mut parameter["schema"], max);
                    }
                }
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for schema in schemas.values_mut() {
            for (name, max) in limits {
                let properties = schema.get_mut("properties");
                if let Some(property) = properties.and_then(|p| p.get_mut(name)) {
                    constrain(property, max);
                }
            }
        }
    }
}

/// Every 429 and 503 answer says when to retry.
fn retry_after_headers(doc: &mut Value) {
    let header = json!({
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    });
    for response in operations(doc).filter_map(|op| op["responses"].as_object_mut()) {
        for (status, answer) in response.iter_mut() {
            if status == "429" || status == "503" {
                answer["headers"]["Retry-After"] = header.clone();
            }
        }
    }
}

/// Every route an access token may call lists both schemes (either one suffices); API-key
/// management and minting access tokens need the API key itself.
fn both_security_schemes(doc: &mut Value) {
    for operation in operations(doc) {
        let api_key_only = operation["tags"] == json!(["api-keys"])
            || operation["operationId"] == "createAccessToken";
        if operation.get("security").is_some() && !api_key_only {
            operation["security"] = json!([{ API_KEY: [] }, { ACCESS_TOKEN: [] }]);
        }
    }
}

/// Every operation object of the document.
fn operations(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter(|op| op.get("responses").is_some())
}
