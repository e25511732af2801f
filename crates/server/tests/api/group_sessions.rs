//! Seed 000's testing strategy (creation, invitation response) and seed
//! 004's group settings, over HTTP on both backends.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Login, Org, Response, TestApp};

backend_tests!(
    a_proposal_starts_proposed_with_one_pending_invitation_per_therapist,
    only_moderators_propose_unless_the_group_lets_all_members,
    a_member_proposal_waits_for_approval_when_required,
    proposals_respect_notice_and_time_windows,
    therapists_must_facilitate_the_group_and_the_start_be_in_the_future,
    the_session_is_scheduled_when_every_therapist_accepts,
    accepting_checks_the_therapists_calendar,
    a_decline_tells_the_moderator_who_may_invite_a_replacement,
    nobody_answers_someone_elses_invitation,
    an_instant_session_is_in_progress_at_once_and_members_are_told,
    instant_sessions_can_be_turned_off,
);

pub fn proposal(_org: &Org, group: &str, starts_at: &str, therapists: &[&Login]) -> Value {
    json!({
        "kind": "group",
        "group_id": group,
        "title": "Coping with winter",
        "starts_at": starts_at,
        "duration_minutes": 90,
        "capacity": 8,
        "therapist_ids": therapists.iter().map(|t| t.person_id.clone()).collect::<Vec<_>>(),
        "modality": "VIRTUAL",
        "virtual_link": "https://meet.example/winter",
    })
}

pub fn sessions(org: &Org) -> String {
    format!("/api/v1/orgs/{}/sessions", org.id)
}

pub async fn respond(app: &TestApp, org: &Org, therapist: &Login, session: &Value, action: &str) -> Response {
    let invitation = session["therapists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["therapist_id"] == therapist.person_id.as_str())
        .expect("invited")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/orgs/{}/invitations/{invitation}/respond", org.id),
        &therapist.token,
        json!({ "action": action, "message": if action == "decline" { "I am away that week" } else { "" } }),
    )
    .await
}

async fn a_proposal_starts_proposed_with_one_pending_invitation_per_therapist(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let t2 = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({}), &[&t2]).await;
    let session = app
        .post(
            &sessions(&org),
            &org.moderator.token,
            proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist, &t2]),
        )
        .await
        .expect(201);
    assert_eq!(session["status"], "PROPOSED");
    assert_eq!(session["kind"], "group");
    assert_eq!(session["group_id"], group.as_str());
    let statuses: Vec<&str> =
        session["therapists"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["PENDING", "PENDING"]);
    assert_eq!(app.inbox(&org, &org.therapist).await, ["invitation"]);
    assert_eq!(app.inbox(&org, &t2).await, ["invitation"]);
    let listed = app.get(&format!("/api/v1/orgs/{}/invitations?status=PENDING", org.id), &t2.token).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["session"]["title"], "Coping with winter");
    // A proposal takes nobody's time: the therapist can still book then.
    let client_booking = json!({
        "starts_at": app.hours_from_now(72), "duration_minutes": 50,
        "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&sessions(&org), &org.admin.token, client_booking).await.expect(201);
}

async fn only_moderators_propose_unless_the_group_lets_all_members(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let moderated = app.community(&org, json!({ "session_creation": "moderators" }), &[]).await;
    let start = app.hours_from_now(72);
    app.post(&sessions(&org), &org.client.token, proposal(&org, &moderated, &start, &[&org.therapist]))
        .await
        .problem(403, "forbidden");
    app.post(&sessions(&org), &org.therapist.token, proposal(&org, &moderated, &start, &[&org.therapist]))
        .await
        .problem(403, "forbidden");
    // An org moderator who is not this group's moderator may not either.
    let other_moderator = app.person(&org.id, &org.admin.token, "m2@r.example", "moderator").await;
    app.post(&sessions(&org), &other_moderator.token, proposal(&org, &moderated, &start, &[&org.therapist]))
        .await
        .problem(403, "forbidden");
    let open = app.community(&org, json!({ "session_creation": "all_members" }), &[]).await;
    let by_member = app
        .post(&sessions(&org), &org.client.token, proposal(&org, &open, &start, &[&org.therapist]))
        .await
        .expect(201);
    assert_eq!(by_member["status"], "PROPOSED");
    assert_eq!(by_member["approval"], Value::Null, "no approval needed");
}

async fn a_member_proposal_waits_for_approval_when_required(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({ "session_creation": "all_members", "approval_required": true }), &[]).await;
    let session = app
        .post(&sessions(&org), &org.client.token, proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]))
        .await
        .expect(201);
    assert_eq!(session["approval"], "PENDING");
    assert_eq!(app.inbox(&org, &org.moderator).await, ["proposal_pending"]);
    assert!(app.inbox(&org, &org.therapist).await.is_empty(), "therapists are asked only after approval");
    respond(&app, &org, &org.therapist, &session, "accept").await.problem(409, "awaiting_approval");
    let path = format!("{}/{}", sessions(&org), session["id"].as_str().unwrap());
    app.request(Method::POST, &format!("{path}/approve"), Some(&org.client.token), None)
        .await
        .problem(403, "forbidden");
    let approved =
        app.request(Method::POST, &format!("{path}/approve"), Some(&org.moderator.token), None).await.expect(200);
    assert_eq!(approved["approval"], "APPROVED");
    assert_eq!(app.inbox(&org, &org.therapist).await, ["invitation"]);
    assert_eq!(app.inbox(&org, &org.client).await, ["proposal_approved"]);
    // A moderator's own proposal needs no approval.
    let own = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(96), &[&org.therapist]))
        .await
        .expect(201);
    assert_eq!(own["approval"], Value::Null);
    // Rejecting cancels and tells the proposer why.
    let second = app
        .post(&sessions(&org), &org.client.token, proposal(&org, &group, &app.hours_from_now(120), &[&org.therapist]))
        .await
        .expect(201);
    let second_path = format!("{}/{}", sessions(&org), second["id"].as_str().unwrap());
    let rejected = app
        .post(&format!("{second_path}/reject"), &org.moderator.token, json!({ "reason": "Room is booked" }))
        .await
        .expect(200);
    assert_eq!(rejected["status"], "CANCELLED");
    assert!(app.inbox(&org, &org.client).await.contains(&"proposal_rejected".to_owned()));
}

async fn proposals_respect_notice_and_time_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({ "advance_notice_hours": 48 }), &[]).await;
    let too_soon = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(24), &[&org.therapist]))
        .await;
    let problem = too_soon.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["starts_at"]);
    app.post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(49), &[&org.therapist]))
        .await
        .expect(201);

    // Windows: only 10:00–11:00 UTC on the weekday 4 days from now.
    let start: jiff::Timestamp = app.hours_from_now(96).parse().unwrap();
    let day = start.to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap());
    let weekday = circles_domain::civil::weekday_name(day.weekday());
    let window_start = day.time().strftime("%H:%M").to_string();
    let windowed = app
        .community(&org, json!({ "allowed_time_windows": [{ "weekday": weekday, "start_time": window_start, "end_time": "23:59" }] }), &[])
        .await;
    let mut inside = proposal(&org, &windowed, &start.to_string(), &[&org.therapist]);
    inside["duration_minutes"] = json!(30);
    app.post(&sessions(&org), &org.moderator.token, inside).await.expect(201);
    let before_window = (start - jiff::SignedDuration::from_hours(2)).to_string();
    let outside = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &windowed, &before_window, &[&org.therapist]))
        .await;
    let problem = outside.problem(422, "validation_failed");
    assert!(problem["detail"].as_str().unwrap().contains("run within"), "{problem}");
}

async fn therapists_must_facilitate_the_group_and_the_start_be_in_the_future(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let outsider = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({}), &[]).await;
    let not_facilitator = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(72), &[&outsider]))
        .await;
    assert_eq!(Response::fields(&not_facilitator.problem(422, "validation_failed")), ["therapist_ids"]);
    let past = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(-1), &[&org.therapist]))
        .await;
    assert_eq!(Response::fields(&past.problem(422, "validation_failed")), ["starts_at"]);
    let mut body = proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]);
    for (field, value) in [
        ("duration_minutes", json!(200)),
        ("capacity", json!(1)),
        ("therapist_ids", json!([])),
        ("client_ids", json!([org.client.person_id])),
    ] {
        let mut bad = body.clone();
        bad[field] = value;
        let problem = app.post(&sessions(&org), &org.moderator.token, bad).await.problem(422, "validation_failed");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{field}: {problem}");
    }
    body["modality"] = json!("IN_PERSON");
    let problem = app.post(&sessions(&org), &org.moderator.token, body).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["location"]);
    assert!(app.get(&sessions(&org), &org.admin.token).await.expect(200)["items"].as_array().unwrap().is_empty());
}

async fn the_session_is_scheduled_when_every_therapist_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let t2 = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({}), &[&t2]).await;
    let session = app
        .post(
            &sessions(&org),
            &org.moderator.token,
            proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist, &t2]),
        )
        .await
        .expect(201);
    let first = respond(&app, &org, &org.therapist, &session, "accept").await.expect(200);
    assert_eq!(first["status"], "ACCEPTED");
    assert_eq!(first["session"]["status"], "PROPOSED", "one of two accepted");
    assert!(app.inbox(&org, &org.moderator).await.contains(&"invitation_accepted".to_owned()));
    let second = respond(&app, &org, &t2, &session, "accept").await.expect(200);
    assert_eq!(second["session"]["status"], "SCHEDULED");
    assert!(app.inbox(&org, &org.client).await.contains(&"session_scheduled".to_owned()), "members hear it is open");
    respond(&app, &org, &t2, &session, "decline").await.problem(409, "invitation_closed");
}

async fn accepting_checks_the_therapists_calendar(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let start = app.hours_from_now(72);
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &start, &[&org.therapist]))
        .await
        .expect(201);
    let other_client = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let clash = json!({
        "starts_at": start, "duration_minutes": 50,
        "therapist_ids": [org.therapist.person_id], "client_ids": [other_client.person_id],
    });
    app.post(&sessions(&org), &org.admin.token, clash).await.expect(201);
    let problem = respond(&app, &org, &org.therapist, &session, "accept").await.problem(409, "scheduling_conflict");
    assert!(problem["retry_hints"].as_array().unwrap().len() >= 3);
    let detail = app
        .get(&format!("{}/{}", sessions(&org), session["id"].as_str().unwrap()), &org.moderator.token)
        .await
        .expect(200);
    assert_eq!(detail["therapists"][0]["status"], "PENDING", "nothing changed");
}

async fn a_decline_tells_the_moderator_who_may_invite_a_replacement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let t2 = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({}), &[&t2]).await;
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]))
        .await
        .expect(201);
    let declined = respond(&app, &org, &org.therapist, &session, "decline").await.expect(200);
    assert_eq!(declined["status"], "DECLINED");
    assert_eq!(declined["message"], "I am away that week");
    assert_eq!(app.inbox(&org, &org.moderator).await, ["invitation_declined"]);
    let path = format!("{}/{}", sessions(&org), session["id"].as_str().unwrap());
    let seen = app.get(&path, &org.moderator.token).await.expect(200);
    assert_eq!(seen["therapists"][0]["status"], "DECLINED", "the moderator sees every invitation's status");
    let replacement = json!({ "therapist_id": t2.person_id, "replaces_invitation_id": declined["id"] });
    app.post(&format!("{path}/invitations"), &org.client.token, replacement.clone()).await.problem(403, "forbidden");
    let replaced = app.post(&format!("{path}/invitations"), &org.moderator.token, replacement).await.expect(200);
    let invited: Vec<&str> =
        replaced["therapists"].as_array().unwrap().iter().map(|t| t["therapist_id"].as_str().unwrap()).collect();
    assert_eq!(invited, [t2.person_id.as_str()]);
    let accepted = respond(&app, &org, &t2, &replaced, "accept").await.expect(200);
    assert_eq!(accepted["session"]["status"], "SCHEDULED");
}

async fn nobody_answers_someone_elses_invitation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let t2 = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({}), &[]).await;
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]))
        .await
        .expect(201);
    let invitation = session["therapists"][0]["id"].as_str().unwrap();
    let path = format!("/api/v1/orgs/{}/invitations/{invitation}/respond", org.id);
    app.post(&path, &t2.token, json!({ "action": "accept" })).await.problem(404, "not_found");
    app.post(&path, &org.moderator.token, json!({ "action": "accept" })).await.problem(404, "not_found");
    app.post(&path, &org.therapist.token, json!({ "action": "maybe" })).await.problem(422, "validation_failed");
}

async fn an_instant_session_is_in_progress_at_once_and_members_are_told(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let settings = json!({ "session_creation": "moderators", "allow_instant": true, "allow_peer_led": true });
    let group = app.community(&org, settings, &[]).await;
    let other = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.enrol(&org, &group, &other.person_id).await;
    let started = app
        .post(
            &sessions(&org),
            &org.client.token,
            json!({ "kind": "instant", "group_id": group, "title": "Drop-in check-in" }),
        )
        .await
        .expect(201);
    assert_eq!(started["status"], "IN_PROGRESS");
    assert_eq!(started["seats"][0]["client_id"], org.client.person_id.as_str(), "the starter takes the first seat");
    assert_eq!(app.inbox(&org, &other).await, ["instant_started"]);
    let path = format!("{}/{}", sessions(&org), started["id"].as_str().unwrap());
    let joined = app.request(Method::POST, &format!("{path}/join"), Some(&other.token), None).await.expect(200);
    assert_eq!(joined["status"], "REGISTERED");
}

async fn instant_sessions_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({ "allow_instant": false }), &[]).await;
    let body = json!({ "kind": "instant", "group_id": group, "therapist_ids": [org.therapist.person_id] });
    app.post(&sessions(&org), &org.client.token, body.clone()).await.problem(403, "forbidden");
    app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
}
