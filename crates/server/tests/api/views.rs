//! What people read: names instead of ids, local times beside UTC
//! instants, one spelling of every status, on both backends.

use circles_domain::Role;
use circles_server::demo;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::booking::{booking, sessions_path};
use crate::group_sessions::{proposal, respond, sessions};
use crate::readable;
use crate::support::TestApp;

backend_tests!(
    a_session_names_its_people_and_reads_in_its_zone,
    a_client_reads_only_their_own_seat_by_name,
    a_schedule_keeps_cancelled_sessions_and_names_the_other_person,
    statuses_are_upper_case_and_filters_take_any_case,
    refusals_are_written_for_people,
    an_in_person_session_does_not_take_the_groups_video_link,
    every_view_names_what_it_points_at_and_gives_local_times,
);

/// A Thursday evening in New York, in winter: 18:00 EST.
const WINTER_EVENING: &str = "2030-12-12T23:00:00Z";

async fn a_session_names_its_people_and_reads_in_its_zone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let session = app.post(&sessions_path(&org), &org.admin.token, booking(&org, WINTER_EVENING, 90)).await.expect(201);
    let path = format!("{}/{}", sessions_path(&org), session["id"].as_str().unwrap());
    let read = app.get(&path, &org.admin.token).await.expect(200);
    for view in [&session, &read] {
        assert_eq!(view["starts_at"], WINTER_EVENING, "the UTC instant stays");
        assert_eq!(view["starts_at_local"], "Thu 12 Dec, 18:00 EST");
        assert_eq!(view["ends_at_local"], "Thu 12 Dec, 19:30 EST");
        assert_eq!(view["therapists"][0]["therapist_name"], "A therapist");
        assert_eq!(view["seats"][0]["client_name"], "A client", "staff see who sits");
        assert_eq!(view["created_by"], org.admin.person_id.as_str());
        assert_eq!(view["created_by_name"], "Admin");
    }
    let listed = app.get(&sessions_path(&org), &org.therapist.token).await.expect(200);
    assert_eq!(listed["items"][0]["starts_at_local"], "Thu 12 Dec, 18:00 EST");
    assert_eq!(listed["items"][0]["therapists"][0]["therapist_name"], "A therapist");
}

async fn a_client_reads_only_their_own_seat_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let session = app.post(&sessions_path(&org), &org.admin.token, booking(&org, WINTER_EVENING, 50)).await.expect(201);
    let path = format!("{}/{}", sessions_path(&org), session["id"].as_str().unwrap());
    let mine = app.get(&path, &org.client.token).await.expect(200);
    let seats = mine["seats"].as_array().unwrap();
    assert_eq!(seats.len(), 1);
    assert_eq!(seats[0]["client_id"], org.client.person_id.as_str());
    assert_eq!(seats[0]["client_name"], "A client");
    assert_eq!(mine["therapists"][0]["therapist_name"], "A therapist", "therapists are named to everyone");
}

fn entry<'a>(schedule: &'a Value, session: &Value) -> Option<&'a Value> {
    schedule["items"].as_array().unwrap().iter().find(|e| e["session_id"] == session["id"])
}

async fn a_schedule_keeps_cancelled_sessions_and_names_the_other_person(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let kept = app.post(&sessions_path(&org), &org.admin.token, booking(&org, &app.hours_from_now(24), 50)).await;
    let kept = kept.expect(201);
    let dropped = app.post(&sessions_path(&org), &org.admin.token, booking(&org, &app.hours_from_now(48), 50)).await;
    let dropped = dropped.expect(201);
    let cancel = format!("{}/{}/cancel", sessions_path(&org), dropped["id"].as_str().unwrap());
    app.post(&cancel, &org.admin.token, json!({ "reason": "room flooded" })).await.expect(200);

    let path = format!("/api/v1/orgs/{}/schedule", org.id);
    let client = app.get(&path, &org.client.token).await.expect(200);
    let cancelled = entry(&client, &dropped).expect("a cancelled session stays on the schedule");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["participation"], "CANCELLED_BY_PROVIDER");
    let live = entry(&client, &kept).unwrap();
    assert_eq!(live["status"], "SCHEDULED");
    assert_eq!(live["with_name"], "A therapist", "the client sees their therapist");
    assert_eq!(live["location"], "Room 2");
    assert!(
        live["starts_at_local"].as_str().unwrap().ends_with(" EST")
            || live["starts_at_local"].as_str().unwrap().ends_with(" EDT")
    );
    assert!(live["ends_at_local"].is_string());

    let therapist = app.get(&path, &org.therapist.token).await.expect(200);
    assert_eq!(entry(&therapist, &kept).unwrap()["with_name"], "A client", "the therapist sees their client");
    assert!(entry(&therapist, &dropped).is_some());

    let hidden = app.get(&format!("{path}?include_cancelled=false"), &org.client.token).await.expect(200);
    assert!(entry(&hidden, &dropped).is_none());
    assert!(entry(&hidden, &kept).is_some());
    let mine = app.get("/api/v1/me/schedule?include_cancelled=false", &org.client.token).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
}

async fn statuses_are_upper_case_and_filters_take_any_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let session = app.post(&sessions_path(&org), &org.admin.token, booking(&org, WINTER_EVENING, 50)).await.expect(201);
    assert_eq!(session["status"], "SCHEDULED");
    assert_eq!(session["therapists"][0]["status"], "ACCEPTED");
    assert_eq!(session["seats"][0]["status"], "REGISTERED");
    for spelled in ["SCHEDULED", "scheduled", "Scheduled"] {
        let listed = app.get(&format!("{}?status={spelled}", sessions_path(&org)), &org.admin.token).await.expect(200);
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "?status={spelled}");
    }
    for spelled in ["pending", "PENDING", "accepted"] {
        app.get(&format!("/api/v1/orgs/{}/invitations?status={spelled}", org.id), &org.therapist.token)
            .await
            .expect(200);
    }
    let refused = app.get(&format!("{}?status=finished", sessions_path(&org)), &org.admin.token).await;
    let problem = refused.problem(400, "invalid_query");
    assert!(problem["detail"].as_str().unwrap().contains("SCHEDULED"), "the refusal lists the upper-case spellings");
}

async fn refusals_are_written_for_people(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let starts_at = app.hours_from_now(2);
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &starts_at, &[&org.therapist]))
        .await
        .expect(201);
    let session = respond(&app, &org, &org.therapist, &session, "accept").await.expect(200)["session"].clone();
    app.clock.advance(jiff::SignedDuration::from_mins(150));
    let join = format!("{}/{}/join", sessions(&org), session["id"].as_str().unwrap());
    let refused = app.request(reqwest::Method::POST, &join, Some(&org.client.token), None).await;
    let refused = refused.problem(409, "session_not_open");
    let clock = starts_at.parse::<jiff::Timestamp>().unwrap().in_tz("America/New_York").unwrap().strftime("%H:%M");
    assert_eq!(
        refused["detail"],
        format!("this session started at {clock} and takes no new seats once it is running"),
        "no \"a in_progress group session\""
    );

    let groups = format!("/api/v1/orgs/{}/groups", org.id);
    let body = json!({ "name": "Evening", "type": "SUPPORT", "settings": { "allowed_time_windows": ["evenings"] } });
    let refused = app.post(&groups, &org.admin.token, body).await.problem(422, "validation_failed");
    let text = refused.to_string();
    assert!(!text.contains("WindowInput") && !text.contains("struct"), "no internal type names: {text}");
    assert!(text.contains("expected an object"), "{text}");
}

async fn an_in_person_session_does_not_take_the_groups_video_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    // The community meets online by default, at https://meet.example/circle.
    let group = app.community(&org, json!({}), &[]).await;
    let mut body = proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]);
    body["modality"] = json!("IN_PERSON");
    body["virtual_link"] = Value::Null;
    body["location"] = json!("Room 3");
    let session = app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
    assert_eq!(session["modality"], "IN_PERSON");
    assert_eq!(session["location"], "Room 3");
    assert_eq!(session["virtual_link"], Value::Null, "no call link for a meeting in a room");
    let online = app
        .post(&sessions(&org), &org.moderator.token, {
            let mut body = proposal(&org, &group, &app.hours_from_now(96), &[&org.therapist]);
            body["virtual_link"] = Value::Null;
            body
        })
        .await
        .expect(201);
    assert_eq!(online["virtual_link"], "https://meet.example/circle", "a virtual one still inherits it");
}

/// Every view of the demo organisation, read by the people who read it,
/// names its people, groups and sessions and gives each instant on a clock.
async fn every_view_names_what_it_points_at_and_gives_local_times(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.allow_private_webhooks = true).await;
    let loaded = demo::load(&app.store, &app.state.passwords).await.expect("demo loads");
    let sign_in = async |email: &str| {
        let body = json!({ "email": email, "password": demo::PASSWORD });
        let session = app.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await.expect(200);
        session["token"].as_str().unwrap().to_owned()
    };
    let first = |role: Role| loaded.logins.iter().find(|l| l.role == role).unwrap().email;
    let admin = sign_in(demo::ADMIN_EMAIL).await;
    let therapist = sign_in(first(Role::Therapist)).await;
    let client = sign_in(first(Role::Client)).await;
    let org = format!("/api/v1/orgs/{}", loaded.org_id);
    let mut answers: Vec<(String, Value)> = Vec::new();

    let first_id = |list: &Value| list["items"][0]["id"].as_str().expect("a non-empty list").to_owned();
    let therapists = app.get(&format!("{org}/people?role=therapist"), &admin).await.expect(200);
    let clients = app.get(&format!("{org}/people?role=client"), &admin).await.expect(200);
    let (therapist_id, client_id) = (first_id(&therapists), first_id(&clients));
    // An hour in the therapist's working hours: the first one the refusal
    // of an evening hour suggests.
    let hold = |starts_at: &str| {
        let ends_at = starts_at.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_hours(1);
        json!({ "therapist_id": therapist_id, "client_id": client_id, "starts_at": starts_at,
            "ends_at": ends_at.to_string(), "title": "Intake" })
    };
    let refused = app.post(&format!("{org}/holds"), &admin, hold(&app.hours_from_now(24 * 9))).await;
    let refused = refused.problem(409, "outside_availability");
    let working = refused["retry_hints"][0].as_str().unwrap();
    let held = app.post(&format!("{org}/holds"), &admin, hold(working)).await.expect(201);
    // The same hour again: a clash with the hold, named and on the clock.
    let clash = app.post(&format!("{org}/holds"), &admin, hold(working)).await.problem(409, "scheduling_conflict");
    answers.push(("POST holds: 409 outside_availability".to_owned(), refused.clone()));
    answers.push(("POST holds: 409 scheduling_conflict".to_owned(), clash));
    let hold = held;
    let token = app.post("/api/v1/me/tokens", &admin, json!({ "name": "script" })).await.expect(201);
    let feed = app.post("/api/v1/me/feeds", &admin, json!({})).await.expect(201);
    let hook = json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["SESSION_BOOKED"] });
    let hook = app.post(&format!("{org}/webhooks"), &admin, hook).await.expect(201);
    for (route, view) in
        [("POST holds", &hold), ("POST me/tokens", &token), ("POST me/feeds", &feed), ("POST webhooks", &hook)]
    {
        answers.push((route.to_owned(), view.clone()));
    }

    let sessions = app.get(&format!("{org}/sessions?limit=50"), &admin).await.expect(200);
    let session = first_id(&sessions);
    let groups = app.get(&format!("{org}/groups"), &admin).await.expect(200);
    let group = first_id(&groups);
    let time_off = app.get(&format!("{org}/time-off"), &admin).await.expect(200);
    let time_off = first_id(&time_off);
    let waitlist = app.get(&format!("{org}/waitlist"), &admin).await.expect(200);
    let entry = first_id(&waitlist);
    let offers = app.get(&format!("{org}/offers"), &admin).await.expect(200);
    let offer = first_id(&offers);
    let (from, to) = (app.hours_from_now(24), app.hours_from_now(24 * 3));
    let mut reads = vec![
        "/api/v1/me".to_owned(),
        "/api/v1/me/memberships".into(),
        "/api/v1/me/schedule".into(),
        "/api/v1/me/tokens".into(),
        "/api/v1/me/feeds".into(),
        "/api/v1/me/org-invitations".into(),
        org.clone(),
        format!("{org}/audit?limit=100"),
        format!("{org}/availability?from={from}&to={to}&step_minutes=60"),
        format!("{org}/availability?from={from}&to={to}&step_minutes=60&format=intervals"),
        format!("{org}/availability/free-at?at={to}"),
        format!("{org}/deliveries"),
        format!("{org}/groups"),
        format!("{org}/groups/{group}"),
        format!("{org}/groups/{group}/members"),
        format!("{org}/groups/{group}/stats/over-time"),
        format!("{org}/invitations"),
        format!("{org}/notifications"),
        format!("{org}/offers"),
        format!("{org}/offers/{offer}"),
        format!("{org}/people"),
        format!("{org}/people/{therapist_id}"),
        format!("{org}/schedule"),
        format!("{org}/sessions?limit=50"),
        format!("{org}/sessions/{session}"),
        format!("{org}/sessions/{session}/presence"),
        format!("{org}/sessions/{session}/attendance"),
        format!("{org}/therapists/{therapist_id}/availability"),
        format!("{org}/time-off"),
        format!("{org}/time-off/{time_off}"),
        format!("{org}/time-off/{time_off}/affected"),
        format!("{org}/time-off/{time_off}/coverage"),
        format!("{org}/waitlist"),
        format!("{org}/waitlist/{entry}"),
        format!("{org}/waitlist/{entry}/suggestions"),
        format!("{org}/webhooks"),
        format!("{org}/webhooks/{}/deliveries", hook["id"].as_str().unwrap()),
        format!("{org}/holds/{}", hold["hold_id"].as_str().unwrap()),
    ];
    reads.extend(
        sessions["items"].as_array().unwrap().iter().map(|s| format!("{org}/sessions/{}", s["id"].as_str().unwrap())),
    );
    for path in &reads {
        answers.push((format!("GET {path} (admin)"), app.get(path, &admin).await.expect(200)));
    }
    for path in [
        "/api/v1/me/schedule",
        "/api/v1/me/memberships",
        &format!("{org}/invitations"),
        &format!("{org}/notifications"),
    ] {
        answers.push((format!("GET {path} (therapist)"), app.get(path, &therapist).await.expect(200)));
        answers.push((format!("GET {path} (client)"), app.get(path, &client).await.expect(200)));
    }

    // Each route once, its ids left out.
    let route = |path: &str| {
        let id = |part: &str| part.get(..36).is_some_and(|head| head.parse::<uuid::Uuid>().is_ok());
        let parts =
            path.split('/').map(|part| if id(part) { format!("{{id}}{}", &part[36..]) } else { part.to_owned() });
        parts.collect::<Vec<_>>().join("/")
    };
    let found: std::collections::BTreeSet<String> = answers
        .iter()
        .flat_map(|(at, view)| readable::unreadable(view).into_iter().map(move |bare| format!("{}: {bare}", route(at))))
        .collect();
    assert!(found.is_empty(), "views a person cannot read:\n{found:#?}");
}
