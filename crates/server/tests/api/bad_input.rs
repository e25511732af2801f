//! Bad input is a 4xx problem document naming the field, and writes nothing.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Response, TestApp};

backend_tests!(
    creating_an_organisation_validates_every_field,
    adding_a_person_validates_every_field,
    login_and_tokens_validate_their_fields,
    malformed_oversized_and_mistyped_bodies_are_refused,
    bad_query_and_path_parameters_are_refused,
);

/// Sends `body`, expects 422 naming exactly `field`.
async fn expect_field(app: &TestApp, path: &str, token: &str, body: Value, field: &str) {
    let res = app.post(path, token, body.clone()).await;
    let problem = res.problem(422, "validation_failed");
    let fields = Response::fields(&problem);
    assert!(fields.contains(&field.to_owned()), "{body} should name {field}: {problem}");
}

async fn creating_an_organisation_validates_every_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let cases = [
        (json!({ "timezone": "America/New_York" }), "name"),
        (json!({ "name": "", "timezone": "America/New_York" }), "name"),
        (json!({ "name": "x".repeat(201), "timezone": "America/New_York" }), "name"),
        (json!({ "name": 42, "timezone": "America/New_York" }), "name"),
        (json!({ "name": "Clinic" }), "timezone"),
        (json!({ "name": "Clinic", "timezone": "Mars/Olympus" }), "timezone"),
        (json!({ "name": "Clinic", "timezone": "+02:00" }), "timezone"),
        (json!({ "name": "Clinic", "timezone": "America/New_York", "plan": "gold" }), "plan"),
    ];
    for (body, field) in cases {
        expect_field(&app, "/api/v1/orgs", &token, body, field).await;
    }
    // Both wrong at once: both named.
    let problem = app
        .post("/api/v1/orgs", &token, json!({ "name": " ", "timezone": "Nowhere/Land" }))
        .await
        .problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["name", "timezone"]);
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert!(me["memberships"].as_array().unwrap().is_empty(), "no organisation was created");
}

async fn adding_a_person_validates_every_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    let ok = json!({ "email": "new@riverside.example", "name": "New Person", "role": "client", "password": "long enough pw" });
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = ok.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases = [
        (without("email"), "email"),
        (with("email", json!("not-an-email")), "email"),
        (with("email", json!("a@b")), "email"),
        (with("email", json!(7)), "email"),
        (without("name"), "name"),
        (with("name", json!("   ")), "name"),
        (with("name", json!(["x"])), "name"),
        (without("role"), "role"),
        (with("role", json!("superuser")), "role"),
        (with("role", json!(null)), "role"),
        (with("password", json!("short")), "password"),
        (with("password", json!(1234567890)), "password"),
        (with("nickname", json!("x")), "nickname"),
    ];
    for (body, field) in cases {
        expect_field(&app, &path, &org.admin.token, body, field).await;
    }
    let people = app.get(&path, &org.admin.token).await.expect(200);
    assert_eq!(people["items"].as_array().unwrap().len(), 4, "nothing was written");
    let audit = app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.admin.token).await.expect(200);
    assert!(
        audit["items"].as_array().unwrap().iter().all(|e| e["action"] != "person.create" || e["record_id"] != "new")
    );
    // A taken e-mail in the same organisation is a conflict, not a 5xx.
    app.post(&path, &org.admin.token, json!({ "email": org.client.email, "name": "Dup", "role": "client" }))
        .await
        .problem(409, "person_exists");
}

async fn login_and_tokens_validate_their_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let login = |body: Value| app.request(Method::POST, "/api/v1/auth/login", None, Some(body));
    let p = login(json!({ "email": "nope", "password": "whatever12" })).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&p), ["email"]);
    let p = login(json!({ "email": "ada@example.org" })).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&p), ["password"]);
    let p = login(json!({ "email": "ada@example.org", "password": "" })).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&p), ["password"]);

    let token = app.login("ada@example.org").await;
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "expires_in_days": 3 }), "name"),
        (json!({ "name": "x", "expires_in_days": 0 }), "expires_in_days"),
        (json!({ "name": "x", "expires_in_days": 99999 }), "expires_in_days"),
        (json!({ "name": "x", "expires_in_days": -1 }), "expires_in_days"),
        (json!({ "name": "x", "expires_in_days": "soon" }), "expires_in_days"),
    ] {
        expect_field(&app, "/api/v1/me/tokens", &token, body, field).await;
    }
    let tokens = app.get("/api/v1/me/tokens", &token).await.expect(200);
    assert!(tokens["items"].as_array().unwrap().is_empty(), "no token was created");
}

async fn malformed_oversized_and_mistyped_bodies_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.max_body_bytes = 4096).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let send = |body: String, content_type: &'static str| {
        let req = app
            .client
            .post(format!("{}/api/v1/orgs", app.base))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body);
        async move { TestApp::read(req.send().await.unwrap()).await }
    };
    send("{\"name\": ".into(), "application/json").await.problem(400, "malformed_json");
    send("[]".into(), "application/json").await.problem(422, "validation_failed");
    send("{\"name\": \"x\", \"timezone\": \"UTC\"} trailing".into(), "application/json")
        .await
        .problem(400, "malformed_json");
    send("name=x".into(), "application/x-www-form-urlencoded").await.problem(415, "unsupported_media_type");
    let huge = json!({ "name": "x".repeat(10_000), "timezone": "UTC" }).to_string();
    send(huge, "application/json").await.problem(413, "body_too_large");
    let me = app.get("/api/v1/me", &token).await.expect(200);
    assert!(me["memberships"].as_array().unwrap().is_empty(), "nothing was created");
}

async fn bad_query_and_path_parameters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    app.get(&format!("/api/v1/orgs/{}/people?role=wizard", org.id), &org.admin.token)
        .await
        .problem(400, "invalid_query");
    app.get(&format!("/api/v1/orgs/{}/audit?limit=0", org.id), &org.admin.token).await.problem(400, "invalid_query");
    app.get(&format!("/api/v1/orgs/{}/audit?limit=ten", org.id), &org.admin.token).await.problem(400, "invalid_query");
    let p = app.get("/api/v1/orgs/not-a-uuid/people", &org.admin.token).await.problem(400, "invalid_path_parameter");
    assert!(Response::fields(&p).contains(&"org_id".to_owned()), "{p}");
    app.get(&format!("/api/v1/orgs/{}/people/123", org.id), &org.admin.token)
        .await
        .problem(400, "invalid_path_parameter");
    app.get("/api/v1/nowhere", &org.admin.token).await.problem(404, "not_found");
}
