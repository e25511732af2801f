use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::booking::{booking, sessions_path};
use crate::support::TestApp;

backend_tests!(a_schedule_is_each_persons_sessions_in_order, my_schedule_spans_organisations);

async fn a_schedule_is_each_persons_sessions_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let later = app.hours_from_now(48);
    let sooner = app.hours_from_now(24);
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, &later, 50)).await.expect(201);
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, &sooner, 50)).await.expect(201);
    let path = format!("/api/v1/orgs/{}/schedule", org.id);
    let mine = app.get(&path, &org.client.token).await.expect(200);
    let starts: Vec<_> =
        mine["items"].as_array().unwrap().iter().map(|e| e["starts_at"].as_str().unwrap().to_owned()).collect();
    assert_eq!(starts, [sooner.clone(), later.clone()]);
    assert_eq!(mine["items"][0]["role"], "client");
    assert_eq!(mine["items"][0]["participation"], "REGISTERED");
    let therapist =
        app.get(&format!("{path}?person_id={}", org.therapist.person_id), &org.moderator.token).await.expect(200);
    assert_eq!(therapist["items"].as_array().unwrap().len(), 2);
    assert_eq!(therapist["items"][0]["role"], "therapist");
    app.get(&format!("{path}?person_id={}", org.therapist.person_id), &org.client.token)
        .await
        .problem(403, "forbidden");
    app.get(&format!("{path}?person_id={}", uuid::Uuid::now_v7()), &org.admin.token).await.problem(404, "not_found");
    app.get(&format!("{path}?from={sooner}&to={sooner}"), &org.client.token).await.problem(400, "invalid_query");
}

async fn my_schedule_spans_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.org("a").await;
    let b = app.org("b").await;
    // a's client also becomes a client of b.
    let in_b = app
        .post(
            &format!("/api/v1/orgs/{}/people", b.id),
            &b.admin.token,
            json!({ "email": a.client.email, "name": "Shared", "role": "client" }),
        )
        .await
        .expect(201);
    // An existing account is invited, and joins by accepting.
    app.accept_invitation(&a.client.token, &b.id).await;
    app.post(&sessions_path(&a), &a.admin.token, booking(&a, &app.hours_from_now(30), 50)).await.expect(201);
    let mut in_b_booking = booking(&b, &app.hours_from_now(26), 50);
    in_b_booking["client_ids"] = json!([in_b["id"]]);
    app.post(&sessions_path(&b), &b.admin.token, in_b_booking).await.expect(201);
    let mine = app.get("/api/v1/me/schedule", &a.client.token).await.expect(200);
    let orgs: Vec<_> =
        mine["items"].as_array().unwrap().iter().map(|e| e["org_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(orgs, [b.id.clone(), a.id.clone()]);
}
