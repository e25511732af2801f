//! The demo data loads on both backends, signs in with its printed
//! details, and leaves an intact audit trail.

use circles_domain::Role;
use circles_server::demo;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

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

    // The weekly groups have eight weeks of attendance and check-ins to look at.
    let admin = sign_in(demo::ADMIN_EMAIL).await;
    let weekly = groups["items"].as_array().unwrap().iter().find(|g| g["name"] == "Thursday Anxiety Group").unwrap();
    let over_time = format!("/api/v1/orgs/{org}/groups/{}/stats/over-time", weekly["id"].as_str().unwrap());
    let stats = app.get(&over_time, &admin).await.expect(200);
    let held: Vec<&Value> = stats["weeks"].as_array().unwrap().iter().filter(|w| w["sessions_held"] == 1).collect();
    assert_eq!(held.len(), 8, "{stats}");
    assert!(held.iter().all(|w| w["attendance_rate"].as_f64().is_some_and(|r| r > 0.5)));
    let series = |key: &str| {
        stats["check_ins"].as_array().unwrap().iter().find(|q| q["questionnaire"] == key).unwrap()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mean_total"].as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    let (mood, phq9) = (series("mood"), series("phq9"));
    assert_eq!(mood.len(), 8);
    assert!(phq9.len() >= 7, "the latest PHQ-9 may still be open: {phq9:?}");
    assert!(mood[7] > mood[0] && phq9[phq9.len() - 1] < phq9[0], "moods rise, PHQ-9 eases: {mood:?} {phq9:?}");

    // The drop-in session running now has people present.
    let now = jiff::Timestamp::now();
    let running =
        app.get(&format!("/api/v1/orgs/{org}/sessions?status=in_progress&limit=50"), &admin).await.expect(200);
    let drop_in = running["items"].as_array().unwrap().iter().find(|s| s["title"] == "Drop-in check-in").unwrap();
    let presence = format!("/api/v1/orgs/{org}/sessions/{}/presence", drop_in["id"].as_str().unwrap());
    let present = app.get(&presence, &admin).await.expect(200);
    assert_eq!(present["items"].as_array().map(Vec::len), Some(4), "{present} at {now}");

    let chains = app.store.verify_audit(Some(org)).await.unwrap();
    assert_eq!(chains.len(), 1);
    assert!(chains[0].events > 50, "the demo's writes are audited: {} events", chains[0].events);
    assert_eq!(chains[0].error, None);
}
