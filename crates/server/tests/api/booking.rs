use circles_testkit::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::support::{Org, Response, TestApp};

backend_tests!(
    staff_book_one_on_one_sessions_for_anyone,
    therapists_and_clients_book_only_themselves,
    a_clash_is_409_with_the_intervals_and_retry_hints,
    a_client_sees_only_their_own_seat,
    cancelling_frees_the_slot_and_the_client_may_cancel_their_own,
    sessions_are_listed_by_window_and_status,
    booking_input_is_validated_field_by_field,
);

pub fn sessions_path(org: &Org) -> String {
    format!("/api/v1/orgs/{}/sessions", org.id)
}

pub fn booking(org: &Org, starts_at: &str, minutes: i64) -> Value {
    json!({
        "title": "Weekly check-in",
        "starts_at": starts_at,
        "duration_minutes": minutes,
        "therapist_ids": [org.therapist.person_id],
        "client_ids": [org.client.person_id],
        "location": "Room 2",
    })
}

async fn staff_book_one_on_one_sessions_for_anyone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let start = app.hours_from_now(24);
    let session = app.post(&sessions_path(&org), &org.moderator.token, booking(&org, &start, 50)).await.expect(201);
    assert_eq!(session["status"], "SCHEDULED");
    assert_eq!(session["kind"], "one_on_one");
    assert_eq!(session["timezone"], "America/New_York", "the organisation's zone by default");
    assert_eq!(session["starts_at"], start.as_str());
    assert_eq!(session["therapists"][0]["therapist_id"], org.therapist.person_id.as_str());
    assert_eq!(session["therapists"][0]["status"], "ACCEPTED");
    assert_eq!(session["seats"][0]["client_id"], org.client.person_id.as_str());
    assert_eq!(session["seats"][0]["status"], "REGISTERED");
    let local = session["starts_at_local"].as_str().unwrap();
    assert!(local.ends_with(":00 EST") || local.ends_with(":00 EDT"), "{local}");
    let fetched = app
        .get(&format!("{}/{}", sessions_path(&org), session["id"].as_str().unwrap()), &org.admin.token)
        .await
        .expect(200);
    assert_eq!(fetched, session);
}

async fn therapists_and_clients_book_only_themselves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let other_therapist = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let other_client = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let path = sessions_path(&org);
    app.post(&path, &org.therapist.token, booking(&org, &app.hours_from_now(24), 50)).await.expect(201);
    app.post(&path, &org.client.token, booking(&org, &app.hours_from_now(26), 50)).await.expect(201);
    let mut for_someone_else = booking(&org, &app.hours_from_now(28), 50);
    for_someone_else["therapist_ids"] = json!([other_therapist.person_id]);
    app.post(&path, &org.therapist.token, for_someone_else.clone()).await.problem(403, "forbidden");
    for_someone_else["therapist_ids"] = json!([org.therapist.person_id]);
    for_someone_else["client_ids"] = json!([other_client.person_id]);
    app.post(&path, &org.client.token, for_someone_else).await.problem(403, "forbidden");
}

async fn a_clash_is_409_with_the_intervals_and_retry_hints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let other_client = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let start = app.hours_from_now(24);
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, &start, 60)).await.expect(201);
    let mut clash = booking(&org, &start, 30);
    clash["client_ids"] = json!([other_client.person_id]);
    let problem =
        app.post(&sessions_path(&org), &org.admin.token, clash.clone()).await.problem(409, "scheduling_conflict");
    let conflicts = problem["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    let conflict = conflicts[0].as_object().unwrap();
    let mut keys: Vec<_> = conflict.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["ends_at", "ends_at_local", "kind", "person_id", "person_name", "starts_at", "starts_at_local"],
        "who and when only: {conflict:?}"
    );
    assert_eq!(conflict["person_name"], "A therapist");
    assert!(problem["detail"].as_str().unwrap().starts_with("A therapist is busy then: another appointment, "));
    assert_eq!(conflict["person_id"], org.therapist.person_id.as_str(), "the busy party is one the caller asked for");
    assert!(!problem.to_string().contains(&org.client.person_id), "the other client is never named");
    let hints = problem["retry_hints"].as_array().unwrap();
    assert!(hints.len() >= 3);
    // The first hint books.
    clash["starts_at"] = hints[0].clone();
    app.post(&sessions_path(&org), &org.admin.token, clash).await.expect(201);
}

async fn a_client_sees_only_their_own_seat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let stranger = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let session =
        app.post(&sessions_path(&org), &org.admin.token, booking(&org, &app.hours_from_now(24), 50)).await.expect(201);
    let path = format!("{}/{}", sessions_path(&org), session["id"].as_str().unwrap());
    let mine = app.get(&path, &org.client.token).await.expect(200);
    assert_eq!(mine["seats"].as_array().unwrap().len(), 1);
    app.get(&path, &stranger.token).await.problem(403, "forbidden");
    app.get(&path, &org.therapist.token).await.expect(200);
    // Reading the session is an audited read of the client's record.
    let audit = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, org.client.person_id), &org.admin.token)
        .await
        .expect(200);
    let reads = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "session.read").count();
    assert_eq!(reads, 2, "the client's own read and the therapist's");
}

async fn cancelling_frees_the_slot_and_the_client_may_cancel_their_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let start = app.hours_from_now(72);
    let session = app.post(&sessions_path(&org), &org.admin.token, booking(&org, &start, 50)).await.expect(201);
    let cancel = format!("{}/{}/cancel", sessions_path(&org), session["id"].as_str().unwrap());
    let other_therapist = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    app.post(&cancel, &other_therapist.token, json!({ "reason": "no" })).await.problem(403, "forbidden");
    app.post(&cancel, &org.client.token, json!({ "reason": "" })).await.problem(422, "validation_failed");
    let cancelled = app.post(&cancel, &org.client.token, json!({ "reason": "travelling" })).await.expect(200);
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["seats"][0]["status"], "CANCELLED_BY_CLIENT");
    assert_eq!(cancelled["cancel_reason"], "travelling");
    app.post(&cancel, &org.admin.token, json!({ "reason": "again" })).await.problem(409, "illegal_transition");
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, &start, 50)).await.expect(201);
}

async fn sessions_are_listed_by_window_and_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let path = sessions_path(&org);
    for hours in [24, 48, 72] {
        app.post(&path, &org.admin.token, booking(&org, &app.hours_from_now(hours), 50)).await.expect(201);
    }
    let all = app.get(&path, &org.admin.token).await.expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let window = format!("{path}?from={}&to={}", app.hours_from_now(40), app.hours_from_now(60)).replace('+', "%2B");
    assert_eq!(app.get(&window, &org.admin.token).await.expect(200)["items"].as_array().unwrap().len(), 1);
    let proposed = app.get(&format!("{path}?status=proposed"), &org.admin.token).await.expect(200);
    assert!(proposed["items"].as_array().unwrap().is_empty());
    app.get(&format!("{path}?status=maybe"), &org.admin.token).await.problem(400, "invalid_query");
    app.get(&format!("{path}?from=yesterday"), &org.admin.token).await.problem(400, "invalid_query");
    // A therapist with no sessions sees none; the booked therapist sees all three.
    let idle = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    assert!(app.get(&path, &idle.token).await.expect(200)["items"].as_array().unwrap().is_empty());
    assert_eq!(app.get(&path, &org.therapist.token).await.expect(200)["items"].as_array().unwrap().len(), 3);
}

async fn booking_input_is_validated_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let path = sessions_path(&org);
    let good = booking(&org, &app.hours_from_now(24), 50);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("starts_at", json!("2027-03-01T14:00:00")), "starts_at"),
        (with("starts_at", json!(app.hours_from_now(-2))), "starts_at"),
        (with("starts_at", json!(12)), "starts_at"),
        (with("duration_minutes", json!(5)), "duration_minutes"),
        (with("duration_minutes", json!(600)), "duration_minutes"),
        (with("duration_minutes", json!("fifty")), "duration_minutes"),
        (with("modality", json!("VIRTUAL")), "virtual_link"),
        (with("modality", json!("phone")), "modality"),
        (with("title", json!("")), "title"),
        (with("kind", json!("seminar")), "kind"),
        (with("kind", json!("group")), "group_id"),
        (with("capacity", json!(3)), "capacity"),
        (with("therapist_ids", json!([])), "therapist_ids"),
        (with("therapist_ids", json!(["not-a-uuid"])), "therapist_ids[0]"),
        (with("client_ids", json!([org.therapist.person_id])), "client_ids"),
        (with("therapist_ids", json!([org.moderator.person_id])), "therapist_ids"),
        (with("therapist_ids", json!([org.client.person_id])), "client_ids"),
        (with("timezone", json!("Mars/Base")), "timezone"),
        (with("colour", json!("red")), "colour"),
    ];
    for (body, field) in cases {
        let problem = app.post(&path, &org.admin.token, body.clone()).await.problem(422, "validation_failed");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
    }
    assert!(
        app.get(&path, &org.admin.token).await.expect(200)["items"].as_array().unwrap().is_empty(),
        "nothing was written"
    );
}
