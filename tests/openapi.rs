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
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/v2/")) {
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
    assert_eq!(operations, 13);
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());
}
