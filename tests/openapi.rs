//! The checked-in OpenAPI document is what the code generates; every route is documented with
//! its error responses.

use serde_json::Value;

#[test]
fn checked_in_openapi_json_matches_the_code() {
    let generated = tokenvault::openapi_json();
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    assert!(
        generated == checked_in,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi --output openapi/openapi.json`"
    );
}

#[test]
fn every_v2_operation_documents_auth_errors_and_security() {
    let spec: Value = serde_json::from_str(&tokenvault::openapi_json()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    let mut operations = 0;
    // The OAuth callback is reached by a browser: its credential is the state, not a key.
    let authenticated = |p: &str| p.starts_with("/v2/") && p != "/v2/oauth/callback";
    for (path, item) in paths.iter().filter(|(p, _)| authenticated(p)) {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "403", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            assert!(
                operation["summary"].is_string(),
                "{method} {path} has no summary"
            );
            assert!(
                operation["security"].is_array(),
                "{method} {path} has no security"
            );
        }
    }
    assert_eq!(operations, 32);
    assert!(spec["paths"]["/v2/oauth/callback"]["get"]["security"].is_null());
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());
}

fn spec() -> Value {
    serde_json::from_str(&tokenvault::openapi_json()).unwrap()
}

/// Every operation of the document, as (method, path, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

#[test]
fn operation_ids_are_unique_sdk_method_names_and_every_response_is_described() {
    let spec = spec();
    let mut ids = std::collections::BTreeSet::new();
    for (method, path, operation) in operations(&spec) {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric())
                && id.len() > 4,
            "{method} {path}: operationId {id:?} is not a camelCase method name"
        );
        assert!(ids.insert(id.clone()), "operationId {id} is used twice");
        for (status, response) in operation["responses"].as_object().unwrap() {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{method} {path} {status} has no description"
            );
            if status == "429" || status == "503" {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{method} {path} {status} does not declare Retry-After"
                );
            }
        }
    }
    for id in [
        "storeToken",
        "getToken",
        "listTokens",
        "deleteToken",
        "refreshToken",
    ] {
        assert!(ids.contains(id), "{id} missing");
    }
}

#[test]
fn both_security_schemes_are_declared_and_token_routes_accept_either() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    assert_eq!(schemes["access_token"]["type"], "http");
    assert_eq!(schemes["access_token"]["scheme"], "bearer");
    let get = &spec["paths"]["/v2/users/{user_id}/tokens/{integration_key}"]["get"];
    assert_eq!(
        get["security"],
        serde_json::json!([{"api_key": []}, {"access_token": []}])
    );
    let create_key = &spec["paths"]["/v2/api-keys"]["post"];
    assert_eq!(create_key["security"], serde_json::json!([{"api_key": []}]));
}

#[test]
fn token_data_is_typed_per_token_type_in_requests_and_responses() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let store = &schemas["StoreTokenRequest"];
    assert_eq!(store["discriminator"]["propertyName"], "token_type");
    // One shape per kind some built-in provider accepts (basic: Twilio).
    assert_eq!(store["oneOf"].as_array().unwrap().len(), 6);
    let oauth2 = &schemas["StoreOAuth2TokenRequest"];
    assert_eq!(
        oauth2["properties"]["token_type"]["enum"],
        serde_json::json!(["oauth2"])
    );
    let providers = oauth2["properties"]["provider"]["examples"]
        .as_array()
        .unwrap();
    assert!(
        oauth2["properties"]["provider"]["enum"].is_null(),
        "tenant providers: not a closed set"
    );
    assert!(providers.contains(&"google".into()) && !providers.contains(&"openai".into()));
    assert!(
        oauth2["required"]
            .as_array()
            .unwrap()
            .contains(&"token_data".into())
    );
    assert_eq!(
        oauth2["properties"]["token_data"]["$ref"],
        "#/components/schemas/OAuth2TokenData"
    );
    assert_eq!(schemas["OAuth2TokenData"]["additionalProperties"], false);
    let api_key = &schemas["StoreApiKeyTokenRequest"];
    let providers = api_key["properties"]["provider"]["examples"]
        .as_array()
        .unwrap();
    assert!(providers.contains(&"openai".into()) && !providers.contains(&"google".into()));
    let usable = &schemas["GetTokenResponse"]["properties"]["token_data"];
    assert_eq!(usable["$ref"], "#/components/schemas/UsableSecret");
    let shapes = schemas["UsableSecret"]["anyOf"].as_array().unwrap();
    assert_eq!(shapes.len(), 5);
    let access_token = &schemas["OAuth2Secret"]["properties"]["access_token"];
    assert_eq!(access_token["type"], "string");
    // The minting kinds: their secrets are in the request, never in the response.
    let service = &schemas["ServiceAccountTokenData"];
    assert_eq!(service["additionalProperties"], false);
    assert_eq!(service["required"], serde_json::json!(["private_key"]));
    assert!(service["properties"]["minted"].is_null());
    let client =
        &schemas["StoreClientCredentialsTokenRequest"]["properties"]["provider"]["examples"];
    assert_eq!(client, &serde_json::json!(["microsoft", "paypal"]));
    let minted = &schemas["MintedSecret"]["properties"];
    assert!(minted["access_token"].is_object() && minted["client_secret"].is_null());
}

#[test]
fn closed_sets_are_enums_and_timestamps_are_date_times() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    for (schema, field, values) in [
        (
            "TokenMetadata",
            "status",
            vec!["active", "expired", "invalid"],
        ),
        (
            "TokenMetadata",
            "token_type",
            vec![
                "oauth2",
                "api_key",
                "jwt",
                "basic",
                "client_credentials",
                "service_account",
            ],
        ),
        (
            "DeleteTokenResponse",
            "revocation",
            vec!["revoked", "failed", "skipped", "not_supported"],
        ),
        (
            "TokenEvent",
            "event",
            vec![
                "stored",
                "refresh",
                "revoke",
                "deleted",
                "connected",
                "proxied",
            ],
        ),
        ("ApiKeyInfo", "state", vec!["active", "revoked", "expired"]),
    ] {
        let reference = schemas[schema]["properties"][field]["$ref"]
            .as_str()
            .unwrap();
        let name = reference.rsplit('/').next().unwrap();
        let listed: Vec<&str> = schemas[name]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, values, "{schema}.{field}");
    }
    for (schema, field) in [
        ("TokenMetadata", "created_at"),
        ("TokenMetadata", "expires_at"),
        ("GetTokenResponse", "expires_at"),
        ("TokenEvent", "created_at"),
        ("RefreshTokenResponse", "refreshed_at"),
        ("ApiKeyInfo", "last_used_at"),
        ("AccessToken", "expires_at"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["format"], "date-time",
            "{schema}.{field}"
        );
    }
}

#[test]
fn parameters_carry_the_limits_the_server_enforces() {
    let spec = spec();
    let events = &spec["paths"]["/v2/users/{user_id}/tokens/{integration_key}/events"]["get"];
    let parameter = |name: &str| {
        events["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    assert_eq!(
        parameter("user_id")["pattern"],
        "^[A-Za-z0-9._@:+-]{1,128}$"
    );
    assert_eq!(parameter("integration_key")["maxLength"], 64);
    assert_eq!(parameter("limit")["minimum"], 1);
    assert_eq!(parameter("limit")["maximum"], 500);
}
