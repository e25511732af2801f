//! Seed 000's member-join and availability cases, capacity under
//! concurrency, leaving, cancelling and attendance.

use circles_testkit::{Backend, backend_tests};
use futures::future::join_all;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_sessions::{proposal, respond, sessions};
use crate::support::{Org, Response, TestApp};

backend_tests!(
    a_member_joins_a_scheduled_session_and_it_is_on_their_schedule,
    a_proposed_cancelled_or_past_session_takes_no_seats,
    a_full_session_refuses_the_next_member,
    joining_checks_the_members_calendar,
    outsiders_cannot_join,
    two_hundred_members_racing_for_eight_seats_get_exactly_eight,
    leaving_frees_the_seat_for_someone_else,
    cancelling_frees_everyone_and_tells_them,
    therapists_mark_attendance_in_one_batch,
);

/// A scheduled group session in a fresh community, starting in `hours`.
async fn scheduled(app: &TestApp, org: &Org, hours: i64, capacity: i64) -> (String, Value) {
    let group = app.community(org, json!({}), &[]).await;
    let mut body = proposal(org, &group, &app.hours_from_now(hours), &[&org.therapist]);
    body["capacity"] = json!(capacity);
    let session = app.post(&sessions(org), &org.moderator.token, body).await.expect(201);
    let accepted = respond(app, org, &org.therapist, &session, "accept").await.expect(200);
    assert_eq!(accepted["session"]["status"], "SCHEDULED");
    (group, accepted["session"].clone())
}

fn path(org: &Org, session: &Value, action: &str) -> String {
    format!("{}/{}/{action}", sessions(org), session["id"].as_str().unwrap())
}

async fn a_member_joins_a_scheduled_session_and_it_is_on_their_schedule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (_, session) = scheduled(&app, &org, 72, 8).await;
    // Members can see the group's scheduled sessions before joining.
    let listed = app.get(&sessions(&org), &org.client.token).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let seat =
        app.request(Method::POST, &path(&org, &session, "join"), Some(&org.client.token), None).await.expect(200);
    assert_eq!(seat["status"], "REGISTERED");
    app.request(Method::POST, &path(&org, &session, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "already_joined");
    assert!(app.inbox(&org, &org.therapist).await.contains(&"member_joined".to_owned()));
    let schedule = app.get(&format!("/api/v1/orgs/{}/schedule", org.id), &org.client.token).await.expect(200);
    assert_eq!(schedule["items"][0]["kind"], "group");
    assert_eq!(schedule["items"][0]["seats_taken"], 1);
    let therapist = app.get(&format!("/api/v1/orgs/{}/schedule", org.id), &org.therapist.token).await.expect(200);
    assert_eq!(therapist["items"][0]["participation"], "ACCEPTED");
}

async fn a_proposed_cancelled_or_past_session_takes_no_seats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let proposed = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]))
        .await
        .expect(201);
    app.request(Method::POST, &path(&org, &proposed, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "session_not_open");

    let (_, past) = scheduled(&app, &org, 30, 8).await;
    app.clock.advance(SignedDuration::from_hours(40));
    app.request(Method::POST, &path(&org, &past, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "session_not_open");

    let (_, cancelled) = scheduled(&app, &org, 100, 8).await;
    app.post(&path(&org, &cancelled, "cancel"), &org.moderator.token, json!({ "reason": "snow" })).await.expect(200);
    app.request(Method::POST, &path(&org, &cancelled, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "session_not_open");
}

async fn a_full_session_refuses_the_next_member(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, 72, 2).await;
    let mut members = Vec::new();
    for i in 0..2 {
        let m = app.person(&org.id, &org.admin.token, &format!("m{i}@r.example"), "client").await;
        app.enrol(&org, &group, &m.person_id).await;
        members.push(m);
    }
    for m in &members {
        app.request(Method::POST, &path(&org, &session, "join"), Some(&m.token), None).await.expect(200);
    }
    app.request(Method::POST, &path(&org, &session, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "session_full");
}

async fn joining_checks_the_members_calendar(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (_, session) = scheduled(&app, &org, 72, 8).await;
    let other_therapist = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let one_on_one = json!({
        "starts_at": session["starts_at"], "duration_minutes": 50,
        "therapist_ids": [other_therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&sessions(&org), &org.admin.token, one_on_one).await.expect(201);
    let problem = app
        .request(Method::POST, &path(&org, &session, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "scheduling_conflict");
    assert!(!problem["retry_hints"].as_array().unwrap().is_empty());
}

async fn outsiders_cannot_join(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (_, session) = scheduled(&app, &org, 72, 8).await;
    let outsider = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.request(Method::POST, &path(&org, &session, "join"), Some(&outsider.token), None)
        .await
        .problem(404, "not_found");
    app.get(&format!("{}/{}", sessions(&org), session["id"].as_str().unwrap()), &outsider.token)
        .await
        .problem(403, "forbidden");
    // Staff are not clients; they do not take seats.
    app.request(Method::POST, &path(&org, &session, "join"), Some(&org.moderator.token), None)
        .await
        .problem(403, "forbidden");
}

async fn two_hundred_members_racing_for_eight_seats_get_exactly_eight(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, 72, 8).await;
    let mut members = Vec::new();
    for i in 0..200 {
        let email = format!("racer{i}@r.example");
        app.account(&email, "Racer").await;
        let token = app.login(&email).await;
        let person = app
            .post(
                &format!("/api/v1/orgs/{}/people", org.id),
                &org.admin.token,
                json!({ "email": email, "name": "Racer", "role": "client" }),
            )
            .await
            .expect(201);
        // The account existed, so it was invited: it accepts to join.
        app.accept_invitation(&token, &org.id).await;
        app.enrol(&org, &group, person["id"].as_str().unwrap()).await;
        members.push(token);
    }
    let url = path(&org, &session, "join");
    let responses = join_all(members.iter().map(|token| app.request(Method::POST, &url, Some(token), None))).await;
    let seated = responses.iter().filter(|r| r.status == 200).count();
    let full = responses.iter().filter(|r| r.status == 409 && r.body["code"] == "session_full").count();
    let server_errors = responses.iter().filter(|r| r.status.is_server_error()).count();
    assert_eq!((seated, full, server_errors), (8, 192, 0));
    let detail = app
        .get(&format!("{}/{}", sessions(&org), session["id"].as_str().unwrap()), &org.moderator.token)
        .await
        .expect(200);
    assert_eq!(detail["seats_taken"], 8);
    assert_eq!(detail["seats"].as_array().unwrap().len(), 8);
}

async fn leaving_frees_the_seat_for_someone_else(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, 72, 2).await;
    let other = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let third = app.person(&org.id, &org.admin.token, "c3@r.example", "client").await;
    for m in [&other, &third] {
        app.enrol(&org, &group, &m.person_id).await;
    }
    app.request(Method::POST, &path(&org, &session, "join"), Some(&org.client.token), None).await.expect(200);
    app.request(Method::POST, &path(&org, &session, "join"), Some(&other.token), None).await.expect(200);
    app.request(Method::POST, &path(&org, &session, "join"), Some(&third.token), None)
        .await
        .problem(409, "session_full");
    let left = app.request(Method::POST, &path(&org, &session, "leave"), Some(&other.token), None).await.expect(200);
    assert_eq!(left["status"], "CANCELLED_BY_CLIENT");
    app.request(Method::POST, &path(&org, &session, "join"), Some(&third.token), None).await.expect(200);
    // And the one who left can rejoin when a seat frees up again.
    app.request(Method::POST, &path(&org, &session, "leave"), Some(&third.token), None).await.expect(200);
    assert_eq!(
        app.request(Method::POST, &path(&org, &session, "join"), Some(&other.token), None).await.expect(200)["status"],
        "REGISTERED"
    );
}

async fn cancelling_frees_everyone_and_tells_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (_, session) = scheduled(&app, &org, 72, 8).await;
    app.request(Method::POST, &path(&org, &session, "join"), Some(&org.client.token), None).await.expect(200);
    let cancelled = app
        .post(&path(&org, &session, "cancel"), &org.moderator.token, json!({ "reason": "Facilitator ill" }))
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["seats"][0]["status"], "CANCELLED_BY_PROVIDER");
    assert!(app.inbox(&org, &org.client).await.contains(&"session_cancelled".to_owned()));
    assert!(app.inbox(&org, &org.therapist).await.contains(&"session_cancelled".to_owned()));
    // Everyone's time is free again.
    let rebook = json!({
        "starts_at": session["starts_at"], "duration_minutes": 50,
        "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&sessions(&org), &org.admin.token, rebook).await.expect(201);
}

async fn therapists_mark_attendance_in_one_batch(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, 30, 8).await;
    let other = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.enrol(&org, &group, &other.person_id).await;
    for m in [&org.client, &other] {
        app.request(Method::POST, &path(&org, &session, "join"), Some(&m.token), None).await.expect(200);
    }
    let sheet = json!([
        { "client_id": org.client.person_id, "status": "ATTENDED", "minutes_late": 10, "minutes_left_early": 0, "note": "Engaged" },
        { "client_id": other.person_id, "status": "NO_SHOW" },
    ]);
    let url = path(&org, &session, "attendance");
    app.request(Method::PUT, &url, Some(&org.therapist.token), Some(sheet.clone()))
        .await
        .problem(409, "session_not_started");
    app.clock.advance(SignedDuration::from_hours(31));
    app.request(Method::PUT, &url, Some(&org.client.token), Some(sheet.clone())).await.problem(403, "forbidden");
    let bad = json!([{ "client_id": org.client.person_id, "status": "REGISTERED", "minutes_late": -5 }]);
    let problem =
        app.request(Method::PUT, &url, Some(&org.therapist.token), Some(bad)).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["[0].status", "[0].minutes_late"]);
    let seats = app.request(Method::PUT, &url, Some(&org.therapist.token), Some(sheet)).await.expect(200);
    let marked: Vec<(&str, &str)> = seats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["client_id"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(marked, [(org.client.person_id.as_str(), "ATTENDED"), (other.person_id.as_str(), "NO_SHOW")]);
    assert_eq!(seats["items"][0]["minutes_late"], 10);
    assert_eq!(seats["items"][0]["note"], "Engaged");
    let audit = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, other.person_id), &org.admin.token)
        .await
        .expect(200);
    assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "attendance.mark"));
}
