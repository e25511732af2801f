use std::process::Command;

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;

use crate::support::TestApp;

backend_tests!(
    health_and_readiness_answer,
    metrics_count_requests_by_route_template,
    the_openapi_document_is_3_1_and_covers_every_route,
    every_response_carries_a_request_id,
    audit_verify_passes_then_names_an_edited_event,
);

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.request(Method::GET, "/healthz", None, None).await.expect(200)["status"], "ok");
    assert_eq!(app.request(Method::GET, "/readyz", None, None).await.expect(200)["status"], "ready");
}

async fn metrics_count_requests_by_route_template(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    app.get(&format!("/api/v1/orgs/{}/people", org.id), &org.admin.token).await.expect(200);
    let text = app.request(Method::GET, "/metrics", None, None).await.expect(200);
    let text = text.as_str().unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/api/v1/orgs/{org_id}/people\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"), "latency histograms are exported");
    assert!(!text.contains(&org.id), "concrete ids never become labels");
}

async fn the_openapi_document_is_3_1_and_covers_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/me/tokens"),
        ("post", "/api/v1/me/tokens"),
        ("delete", "/api/v1/me/tokens/{token_id}"),
        ("get", "/api/v1/me/org-invitations"),
        ("post", "/api/v1/me/org-invitations/{invitation_id}/accept"),
        ("post", "/api/v1/me/org-invitations/{invitation_id}/decline"),
        ("post", "/api/v1/orgs"),
        ("get", "/api/v1/orgs/{org_id}"),
        ("get", "/api/v1/orgs/{org_id}/people"),
        ("post", "/api/v1/orgs/{org_id}/people"),
        ("get", "/api/v1/orgs/{org_id}/people/{person_id}"),
        ("get", "/api/v1/orgs/{org_id}/audit"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    // The refusals every route shares are documented on each, as problem documents.
    let create_session = &paths["/api/v1/orgs/{org_id}/sessions"]["post"]["responses"];
    for status in ["400", "401", "403", "404", "409", "413", "415", "422"] {
        let content = create_session[status]["content"].as_object();
        let content = content.unwrap_or_else(|| panic!("POST sessions documents {status}"));
        assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{status}");
    }
    assert!(create_session["201"]["content"]["application/json"].is_object());
    let login = &paths["/api/v1/auth/login"]["post"]["responses"];
    assert!(login.get("401").is_some(), "a wrong password is documented");
    assert!(paths["/healthz"]["get"]["responses"].get("401").is_none(), "health needs no token");

    // Each response type has its own schema: two types of one name would
    // silently share the last one's.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas["MembershipView"]["properties"].get("org_id").is_some(), "an organisation membership");
    assert!(schemas["GroupMembershipView"]["properties"].get("group_id").is_some(), "a group membership");
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ok = app.request(Method::GET, "/healthz", None, None).await;
    let failed = app.request(Method::GET, "/api/v1/me", None, None).await;
    let id = |r: &crate::support::Response| r.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert_ne!(id(&ok), id(&failed));
    // A caller's own request id is kept.
    let res =
        app.client.get(format!("{}/healthz", app.base)).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "trace-me-42");
}

async fn audit_verify_passes_then_names_an_edited_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let verify = || {
        let output = Command::new(env!("CARGO_BIN_EXE_circles"))
            .args(["admin", "audit-verify", "--database-url", &app.db.url])
            .env_remove("CIRCLES_CONFIG")
            .output()
            .expect("run circles");
        (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (ok, out) = verify();
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ok      {}", org.id)), "{out}");

    app.db
        .execute_raw(&format!("UPDATE audit_events SET ip = '10.9.9.9' WHERE org_id = '{}' AND seq = 3", org.id))
        .await;
    let (ok, out) = verify();
    assert!(!ok, "a tampered chain fails: {out}");
    assert!(out.contains(&format!("BROKEN  {}: event #3", org.id)), "names the event: {out}");
}
