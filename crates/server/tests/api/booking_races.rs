//! The no-double-booking guarantee through the whole HTTP stack: many
//! simultaneous requests for one slot, exactly one winner, no 5xx.

use circles_testkit::{Backend, backend_tests};
use futures::future::join_all;
use serde_json::json;

use crate::support::TestApp;

backend_tests!(
    two_hundred_concurrent_holds_for_one_slot_admit_one,
    two_hundred_concurrent_bookings_for_one_slot_admit_one
);

async fn race(app: &TestApp, path: &str, token: &str, bodies: Vec<serde_json::Value>) -> (usize, usize, usize) {
    let requests = bodies.into_iter().map(|body| app.post(path, token, body));
    let responses = join_all(requests).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let conflicts = responses.iter().filter(|r| r.status == 409 && r.body["code"] == "scheduling_conflict").count();
    let server_errors = responses.iter().filter(|r| r.status.is_server_error()).count();
    (created, conflicts, server_errors)
}

async fn two_hundred_concurrent_holds_for_one_slot_admit_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let clients = app.clients(&org.id, 200).await;
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(25));
    let bodies = clients
        .iter()
        .map(|client| json!({ "therapist_id": org.therapist.person_id, "client_id": client, "starts_at": start, "ends_at": end }))
        .collect();
    let outcome = race(&app, &format!("/api/v1/orgs/{}/holds", org.id), &org.admin.token, bodies).await;
    assert_eq!(outcome, (1, 199, 0), "(created, conflicts, 5xx)");
    assert_eq!(app.overlapping_busy_pairs().await, 0);
}

async fn two_hundred_concurrent_bookings_for_one_slot_admit_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let clients = app.clients(&org.id, 200).await;
    let start = app.hours_from_now(24);
    let bodies = clients
        .iter()
        .map(|client| {
            json!({ "starts_at": start, "duration_minutes": 50, "therapist_ids": [org.therapist.person_id], "client_ids": [client] })
        })
        .collect();
    let outcome = race(&app, &format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, bodies).await;
    assert_eq!(outcome, (1, 199, 0), "(created, conflicts, 5xx)");
    assert_eq!(app.overlapping_busy_pairs().await, 0);
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}
