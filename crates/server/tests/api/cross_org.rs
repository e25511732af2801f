//! Another organisation's data answers 404 — never 403, never its data —
//! for every tenant route and every role.

use circles_domain::Role;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Org, TestApp};

backend_tests!(every_tenant_route_hides_other_organisations);

/// Every route under `/orgs/{org_id}`, with a request body that would be
/// valid inside the caller's own organisation.
fn tenant_routes(b: &Org) -> Vec<(Method, &'static str, Option<Value>)> {
    let _ = b;
    vec![
        (Method::GET, "/api/v1/orgs/{org_id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/people", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/people",
            Some(json!({ "email": "new@x.example", "name": "N", "role": "client" })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/people/{person_id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/audit", None),
    ]
}

fn fill(template: &str, org_id: &str, b: &Org) -> String {
    template.replace("{org_id}", org_id).replace("{person_id}", &b.client.person_id)
}

async fn every_tenant_route_hides_other_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.org("a").await;
    let b = app.org("b").await;
    let routes = tenant_routes(&b);

    // The table covers every tenant route the API documents.
    let openapi = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    for (path, item) in openapi["paths"].as_object().unwrap() {
        if !path.contains("{org_id}") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let covered = routes.iter().any(|(m, p, _)| p == path && m.as_str().eq_ignore_ascii_case(method));
            assert!(covered, "{method} {path} is missing from the cross-organisation table");
        }
    }

    for role in Role::ALL {
        let caller = a.by_role(role);
        for (method, template, body) in &routes {
            // B's organisation, B's records.
            let path = fill(template, &b.id, &b);
            let res = app.request(method.clone(), &path, Some(&caller.token), body.clone()).await;
            assert_eq!(res.status.as_u16(), 404, "{role} of A: {method} {path} → {}", res.body);
            assert_eq!(res.body["code"], "not_found");
            // A's organisation, B's records.
            if template.contains("{person_id}") {
                let path = fill(template, &a.id, &b);
                let res = app.request(method.clone(), &path, Some(&caller.token), body.clone()).await;
                assert_eq!(res.status.as_u16(), 404, "{role} of A: {method} {path} → {}", res.body);
            }
        }
    }
    // Nothing was written into B.
    let people = app.get(&format!("/api/v1/orgs/{}/people", b.id), &b.admin.token).await.expect(200);
    assert_eq!(people["items"].as_array().unwrap().len(), 4);
}
