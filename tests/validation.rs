//! Bad input: every error is the JSON shape of DESIGN.md with the right status and code.

mod common;

use actix_web::test::TestRequest;
use common::{oauth2_body, spawn};
use serde_json::json;

#[actix_web::test]
async fn empty_token_data_is_400() {
    let app = spawn().await;
    for data in [json!({}), json!(null)] {
        let mut body = oauth2_body("google");
        body["token_data"] = data;
        let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.error(), "invalid_request");
        assert_eq!(r.message(), "Token data cannot be empty");
    }
    let mut body = oauth2_body("google");
    body.as_object_mut().unwrap().remove("token_data");
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.message(), "Token data cannot be empty");
}

#[actix_web::test]
async fn token_data_of_the_wrong_shape_is_400_invalid_structure() {
    let app = spawn().await;
    let cases = [
        json!({"access_token": "a", "surprise": 1}),
        json!({"refresh_token": "r"}),
        json!({"access_token": 5}),
        json!({"access_token": "a", "expires_in": -1}),
        json!({"access_token": "a", "expires_in": "sk-LEAKED-VALUE"}),
        json!("just a string"),
        json!({"api_key": "sk-1"}),
    ];
    for data in cases {
        let mut body = oauth2_body("google");
        body["token_data"] = data.clone();
        let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
        assert_eq!(r.status, 400, "{data}");
        assert_eq!(r.error(), "invalid_request");
        assert!(
            r.message().starts_with("Invalid token data structure"),
            "{}",
            r.message()
        );
        assert!(!r.message().contains("LEAKED"), "{}", r.message());
    }
}

#[actix_web::test]
async fn unknown_provider_and_token_type_are_422() {
    let app = spawn().await;
    let mut body = oauth2_body("google");
    body["provider"] = json!("myspace");
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error(), "invalid_request");
    assert_eq!(r.message(), "Invalid provider");

    let mut body = oauth2_body("google");
    body["token_type"] = json!("password");
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.message(), "Invalid token type");

    let mut body = oauth2_body("openai");
    body["provider"] = json!("openai");
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 422);
    assert!(
        r.message().starts_with("Invalid token type"),
        "{}",
        r.message()
    );
}

#[actix_web::test]
async fn bad_identifiers_and_times_are_400() {
    let app = spawn().await;
    let long_user = "u".repeat(129);
    for path in [
        format!("/v2/users/{long_user}/tokens"),
        "/v2/users/bad%20user/tokens".to_string(),
    ] {
        let r = app
            .post(&path, &app.admin_key, &oauth2_body("google"))
            .await;
        assert_eq!(r.status, 400, "{path}");
        assert!(r.message().contains("user_id"), "{}", r.message());
    }
    let r = app
        .get("/v2/users/u1/tokens/bad%24key", &app.admin_key)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("integration_key"));

    let mut body = oauth2_body("bad key");
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 400);

    body = oauth2_body("google");
    body["expires_at"] = json!("next tuesday");
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("RFC 3339"), "{}", r.message());

    body = oauth2_body("google");
    body["unexpected"] = json!(true);
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 400);
    assert!(r.message().contains("unexpected"), "{}", r.message());
}

#[actix_web::test]
async fn malformed_json_and_wrong_content_type_are_400_json() {
    let app = spawn().await;
    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/users/u1/tokens")
                .insert_header(("X-API-Key", app.admin_key.as_str()))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{\"integration_key\": "),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
    assert!(
        r.message().starts_with("Malformed JSON body"),
        "{}",
        r.message()
    );

    let r = app
        .call(
            TestRequest::post()
                .uri("/v2/users/u1/tokens")
                .insert_header(("X-API-Key", app.admin_key.as_str()))
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("{}"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");
}

#[actix_web::test]
async fn body_over_64_kib_is_413() {
    let app = spawn().await;
    let mut body = oauth2_body("google");
    body["token_data"]["access_token"] = json!("x".repeat(70 * 1024));
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error(), "payload_too_large");
}

#[actix_web::test]
async fn unknown_route_is_404_and_wrong_method_is_405_both_json() {
    let app = spawn().await;
    let r = app.get("/v3/nothing", &app.admin_key).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "not_found");

    let r = app
        .call(
            TestRequest::put()
                .uri("/v2/users/u1/tokens")
                .insert_header(("X-API-Key", app.admin_key.as_str())),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error(), "method_not_allowed");
    assert_eq!(r.headers.get("allow").unwrap(), "GET, POST");

    let r = app
        .call(TestRequest::patch().uri("/v2/users/u1/tokens/google"))
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.get("allow").unwrap(), "GET, DELETE");
}

#[actix_web::test]
async fn an_over_long_field_is_refused_for_its_length_not_its_emptiness() {
    let app = spawn().await;
    let body = json!({"integration_key": "openai", "provider": "openai", "token_type": "api_key",
                      "token_data": {"api_key": "k".repeat(20_000)}});
    let r = app.post("/v2/users/u1/tokens", &app.admin_key, &body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.message().contains("at most 16384"), "{}", r.message());
    assert!(!r.message().contains("non-empty"), "{}", r.message());
}
