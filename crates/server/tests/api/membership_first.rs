//! Membership is decided before anything else about a request: a stranger
//! to an organisation gets 404 on every route under it, whatever the body,
//! the query or the other path parameters, so they learn nothing — not even
//! which fields a route wants.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

backend_tests!(a_stranger_gets_404_on_every_route_whatever_the_body);

/// Bodies no route accepts, as (content type, bytes).
fn junk_bodies() -> Vec<(Option<&'static str>, Vec<u8>)> {
    vec![
        (None, Vec::new()),
        (Some("application/json"), b"{}".to_vec()),
        (Some("application/json"), json!({ "junk": true, "name": 42 }).to_string().into_bytes()),
        (Some("application/json"), b"[1, 2, 3]".to_vec()),
        (Some("application/json"), b"{\"unterminated".to_vec()),
        (Some("text/plain"), b"hello".to_vec()),
    ]
}

async fn a_stranger_gets_404_on_every_route_whatever_the_body(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mine = app.org("mine").await;
    let theirs = app.org("theirs").await;
    let openapi = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    let mut checked = 0;
    for (template, item) in openapi["paths"].as_object().unwrap() {
        if !template.contains("{org_id}") {
            continue;
        }
        // Their organisation; every other identifier made up.
        let mut path = template.replace("{org_id}", &theirs.id);
        while let Some(start) = path.find('{') {
            let end = path[start..].find('}').unwrap() + start;
            path.replace_range(start..=end, &uuid::Uuid::new_v4().to_string());
        }
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            for (content_type, body) in junk_bodies() {
                let url = format!("{}{path}?limit=nonsense&status=nonsense&from=yesterday", app.base);
                let mut req = app.client.request(method.clone(), url).bearer_auth(&mine.admin.token);
                if let Some(content_type) = content_type {
                    req = req.header("content-type", content_type).body(body.clone());
                }
                let res = TestApp::read(req.send().await.unwrap()).await;
                let shown = String::from_utf8_lossy(&body).into_owned();
                assert_eq!(res.status.as_u16(), 404, "{method} {template} with {shown:?} → {}", res.body);
                if template.starts_with("/fhir/") {
                    // The FHIR API answers its errors as OperationOutcomes.
                    let content_type =
                        res.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    assert_eq!(content_type, "application/fhir+json", "{method} {template}");
                    assert_eq!(res.body["resourceType"], "OperationOutcome", "{method} {template}");
                    assert_eq!(res.body["issue"][0]["code"], "not-found", "{method} {template}");
                } else {
                    res.problem(404, "not_found");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50 * junk_bodies().len(), "every tenant route was tried ({checked} requests)");
}
