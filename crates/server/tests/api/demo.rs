//! The demo data loads on both backends, signs in with its printed
//! details, and leaves an intact audit trail.

use circles_domain::Role;
use circles_server::demo;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

backend_tests!(the_demo_loads_once_signs_in_and_keeps_an_intact_audit_trail);

async fn the_demo_loads_once_signs_in_and_keeps_an_intact_audit_trail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let loaded = demo::load(&app.store, &app.state.passwords).await.expect("demo loads");
    assert!(loaded.created);
    let again = demo::load(&app.store, &app.state.passwords).await.expect("demo reloads");
    assert!(!again.created, "a second start reuses the data");
    assert_eq!(again.org_id, loaded.org_id);

    let app = &app;
    let sign_in = |email: &'static str| async move {
        let body = json!({ "email": email, "password": demo::PASSWORD });
        let session = app.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await.expect(200);
        session["token"].as_str().unwrap().to_owned()
    };
    // Every printed login works with the printed password.
    for login in &loaded.logins {
        sign_in(login.email).await;
    }

    let therapist = loaded.logins.iter().find(|l| l.role == Role::Therapist).unwrap();
    let schedule = app.get("/api/v1/me/schedule", &sign_in(therapist.email).await).await.expect(200);
    assert!(!schedule["items"].as_array().unwrap().is_empty(), "the coming weeks have sessions: {schedule}");
    let org = loaded.org_id;
    let groups = app.get(&format!("/api/v1/orgs/{org}/groups"), &sign_in(demo::ADMIN_EMAIL).await).await.expect(200);
    assert!(groups["items"].as_array().unwrap().len() >= 3, "a community and two therapy groups: {groups}");

    let chains = app.store.verify_audit(Some(org)).await.unwrap();
    assert_eq!(chains.len(), 1);
    assert!(chains[0].events > 50, "the demo's writes are audited: {} events", chains[0].events);
    assert_eq!(chains[0].error, None);
}
