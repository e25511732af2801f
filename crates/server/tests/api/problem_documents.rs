//! Every refusal is an RFC 9457 problem document — also those the router
//! and the HTTP layer make: a method a route does not take, a path no route
//! has, an over-long request target, too many or too large headers, a bad
//! `Idempotency-Key`.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

backend_tests!(refusals_made_outside_the_handlers_are_problem_documents);

async fn refusals_made_outside_the_handlers_are_problem_documents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let url = |path: &str| format!("{}{path}", app.base);

    let res = app.request(Method::DELETE, "/api/v1/me", Some(&token), None).await;
    assert_eq!(res.headers.get("allow").unwrap(), "GET,HEAD", "405 still says what is allowed");
    res.problem(405, "method_not_allowed");
    app.request(Method::PUT, "/api/v1/orgs", Some(&token), Some(json!({}))).await.problem(405, "method_not_allowed");
    app.request(Method::GET, "/api/v1/nowhere", Some(&token), None).await.problem(404, "not_found");
    app.request(Method::GET, "/nowhere", None, None).await.problem(404, "not_found");

    let long = format!("/api/v1/me?padding={}", "a".repeat(33 * 1024));
    app.request(Method::GET, &long, Some(&token), None).await.problem(414, "uri_too_long");

    let mut many = app.client.get(url("/api/v1/me")).bearer_auth(&token);
    for i in 0..120 {
        many = many.header(format!("x-extra-{i}"), "1");
    }
    TestApp::read(many.send().await.unwrap()).await.problem(431, "headers_too_large");
    let large = app.client.get(url("/api/v1/me")).bearer_auth(&token).header("x-large", "b".repeat(40 * 1024));
    TestApp::read(large.send().await.unwrap()).await.problem(431, "headers_too_large");

    let keyed = |key: reqwest::header::HeaderValue| {
        app.client
            .post(url("/api/v1/me/tokens"))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(&json!({ "name": "t" }))
    };
    for bad in ["k".repeat(256).into_bytes(), b"two words".to_vec(), b"caf\xc3\xa9".to_vec()] {
        let value = reqwest::header::HeaderValue::from_bytes(&bad).unwrap();
        TestApp::read(keyed(value).send().await.unwrap()).await.problem(400, "invalid_idempotency_key");
    }
    // Still answered normally afterwards.
    app.get("/api/v1/me", &token).await.expect(200);
}
