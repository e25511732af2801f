use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::{PASSWORD, Response, TestApp};

backend_tests!(
    a_wrong_current_password_is_refused_on_its_field_and_changes_nothing,
    a_new_password_ends_login_sessions_and_signs_in_from_then_on,
);

async fn a_wrong_current_password_is_refused_on_its_field_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let change = json!({ "current_password": "not the password", "new_password": "a brand new secret" });
    let refused = app.post("/api/v1/me/password", &token, change).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&refused), vec!["current_password"]);
    let short = json!({ "current_password": PASSWORD, "new_password": "short" });
    let refused = app.post("/api/v1/me/password", &token, short).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&refused), vec!["new_password"]);
    // Still signed in, still the old password.
    app.get("/api/v1/me", &token).await.expect(200);
    app.login("ada@example.org").await;
}

async fn a_new_password_ends_login_sessions_and_signs_in_from_then_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let change = json!({ "current_password": PASSWORD, "new_password": "a brand new secret" });
    app.post("/api/v1/me/password", &token, change).await.expect(204);
    app.get("/api/v1/me", &token).await.problem(401, "unauthenticated");
    let old = json!({ "email": "ada@example.org", "password": PASSWORD });
    app.request(Method::POST, "/api/v1/auth/login", None, Some(old)).await.problem(401, "invalid_credentials");
    let new = json!({ "email": "ada@example.org", "password": "a brand new secret" });
    app.request(Method::POST, "/api/v1/auth/login", None, Some(new)).await.expect(200);
}
