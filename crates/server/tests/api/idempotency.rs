use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::support::TestApp;

backend_tests!(
    a_replayed_post_returns_the_same_response_and_creates_one_row,
    a_different_body_with_the_same_key_is_refused,
    concurrent_duplicates_create_one_row,
    a_refused_request_does_not_use_up_its_key,
);

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: serde_json::Value,
) -> crate::support::Response {
    let req =
        app.client.post(format!("{}{path}", app.base)).bearer_auth(token).header("idempotency-key", key).json(&body);
    TestApp::read(req.send().await.unwrap()).await
}

async fn people_count(app: &TestApp, org: &crate::support::Org) -> usize {
    app.get(&format!("/api/v1/orgs/{}/people", org.id), &org.admin.token).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn a_replayed_post_returns_the_same_response_and_creates_one_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    let body = json!({ "email": "new@riverside.example", "name": "New", "role": "client" });
    let first = post_with_key(&app, &path, &org.admin.token, "add-new-1", body.clone()).await;
    assert!(first.headers.get("idempotent-replayed").is_none());
    let first = first.expect(201);
    let again = post_with_key(&app, &path, &org.admin.token, "add-new-1", body).await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.expect(201), first, "byte-for-byte the same resource");
    assert_eq!(people_count(&app, &org).await, 5, "one row");
}

async fn a_different_body_with_the_same_key_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    post_with_key(
        &app,
        &path,
        &org.admin.token,
        "k",
        json!({ "email": "one@x.example", "name": "One", "role": "client" }),
    )
    .await
    .expect(201);
    post_with_key(
        &app,
        &path,
        &org.admin.token,
        "k",
        json!({ "email": "two@x.example", "name": "Two", "role": "client" }),
    )
    .await
    .problem(422, "idempotency_key_reused");
    assert_eq!(people_count(&app, &org).await, 5);
}

async fn concurrent_duplicates_create_one_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    let body = json!({ "email": "racer@x.example", "name": "Racer", "role": "client" });
    let attempts = (0..12).map(|_| post_with_key(&app, &path, &org.admin.token, "race", body.clone()));
    let responses = futures::future::join_all(attempts).await;
    let created: Vec<_> = responses.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|r| r.body == created[0].body), "every 201 is the same resource");
    for r in &responses {
        assert!(
            r.status == 201 || (r.status == 409 && r.body["code"] == "idempotency_key_in_flight"),
            "{} {}",
            r.status,
            r.body
        );
    }
    assert_eq!(people_count(&app, &org).await, 5, "exactly one row");
}

async fn a_refused_request_does_not_use_up_its_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    post_with_key(&app, &path, &org.admin.token, "k", json!({ "email": "bad", "name": "One", "role": "client" }))
        .await
        .problem(422, "validation_failed");
    post_with_key(
        &app,
        &path,
        &org.admin.token,
        "k",
        json!({ "email": "good@x.example", "name": "One", "role": "client" }),
    )
    .await
    .expect(201);
    let long_key = "k".repeat(256);
    post_with_key(
        &app,
        &path,
        &org.admin.token,
        &long_key,
        json!({ "email": "g2@x.example", "name": "One", "role": "client" }),
    )
    .await
    .problem(400, "invalid_idempotency_key");
}
