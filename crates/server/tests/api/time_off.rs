//! Time off over HTTP: seed 002's time-off scenario, who may do what, the
//! state machine, cover, and bad input.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::availability::{app_at_now, office_hours, put, week_path};
use crate::support::{Login, Org, Response, TestApp};

backend_tests!(
    seed_002_time_off_scenario,
    who_may_ask_decide_and_see_time_off,
    approved_time_off_is_busy_time_and_illegal_moves_are_conflicts,
    reassigning_clashes_all_or_nothing_and_affected_sessions_can_be_cancelled,
    time_off_input_is_validated_field_by_field,
    approval_and_reassignment_reach_the_inboxes,
);

fn time_off_path(org: &Org) -> String {
    format!("/api/v1/orgs/{}/time-off", org.id)
}

/// The first week of March 2027 (Tuesday to Saturday, New York).
pub fn vacation(therapist: &Login, auto_reassign: bool) -> Value {
    json!({
        "therapist_id": therapist.person_id, "type": "VACATION", "reason": "Family trip",
        "starts_at": "2027-03-02T00:00:00-05:00", "ends_at": "2027-03-07T00:00:00-05:00",
        "auto_reassign": auto_reassign,
    })
}

/// Books `therapist` with one of five clients every day from Tuesday to
/// Saturday at `hour` New York time.
pub async fn five_sessions(app: &TestApp, org: &Org, therapist: &Login, clients: &[String], hour: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for (day, client) in clients.iter().take(5).enumerate() {
        let body = json!({
            "starts_at": format!("2027-03-0{}T{hour:02}:00:00-05:00", day + 2), "duration_minutes": 50,
            "therapist_ids": [therapist.person_id], "client_ids": [client],
        });
        let session = app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, body).await.expect(201);
        ids.push(session["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn therapist_on(app: &TestApp, org: &Org, session: &str) -> String {
    let session = app.get(&format!("/api/v1/orgs/{}/sessions/{session}", org.id), &org.admin.token).await.expect(200);
    session["therapists"][0]["therapist_id"].as_str().unwrap().to_owned()
}

async fn seed_002_time_off_scenario(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let cover = app.person(&org.id, &org.admin.token, "cover@r.example", "therapist").await;
    let busy = app.person(&org.id, &org.admin.token, "busy@r.example", "therapist").await;
    let clients = app.clients(&org.id, 5).await;
    let sessions = five_sessions(&app, &org, &org.therapist, &clients, 10).await;
    // `busy` is booked over Thursday's session.
    let clash = json!({ "starts_at": "2027-03-04T10:30:00-05:00", "duration_minutes": 50,
                        "therapist_ids": [busy.person_id], "client_ids": [org.client.person_id] });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, clash).await.expect(201);

    // 1. A time-off request with 5 affected appointments.
    let requested =
        app.post(&time_off_path(&org), &org.therapist.token, vacation(&org.therapist, true)).await.expect(201);
    assert_eq!(requested["status"], "PENDING");
    assert_eq!(requested["type"], "VACATION");
    assert_eq!(requested["affected_sessions"], 5);
    assert_eq!(requested["starts_at"], "2027-03-02T05:00:00Z");
    assert_eq!(requested["requested_by"], org.therapist.person_id.as_str());
    let id = requested["id"].as_str().unwrap();
    let affected = app.get(&format!("{}/{id}/affected", time_off_path(&org)), &org.therapist.token).await.expect(200);
    let listed: Vec<&str> =
        affected["items"].as_array().unwrap().iter().map(|a| a["session_id"].as_str().unwrap()).collect();
    assert_eq!(listed, sessions);
    assert_eq!(affected["items"][0]["starts_at_local"], "Tue 2 Mar, 10:00 EST");

    // 2. Coverage suggestions: whoever is free for all five first.
    let coverage = app.get(&format!("{}/{id}/coverage", time_off_path(&org)), &org.admin.token).await.expect(200);
    let ranked = coverage["items"].as_array().unwrap();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0]["therapist_id"], cover.person_id.as_str());
    assert_eq!(ranked[0]["covers_all"], true);
    assert_eq!(ranked[0]["therapist_name"], "A therapist");
    assert_eq!(ranked[1]["therapist_id"], busy.person_id.as_str());
    assert_eq!(ranked[1]["covers_all"], false);
    assert_eq!(ranked[1]["cannot_cover"], json!([sessions[2]]));

    // 3. Approve with the coverage therapist; 4. the sessions are theirs.
    let approval = app
        .post(
            &format!("{}/{id}/approve", time_off_path(&org)),
            &org.admin.token,
            json!({ "coverage_therapist_id": cover.person_id }),
        )
        .await
        .expect(200);
    assert_eq!(approval["time_off"]["status"], "APPROVED");
    assert_eq!(approval["time_off"]["decided_by"], org.admin.person_id.as_str());
    assert_eq!(approval["time_off"]["coverage_therapist_id"], cover.person_id.as_str());
    assert_eq!(approval["time_off"]["affected_sessions"], 0);
    assert_eq!(approval["reassignment"]["moved"], json!(sessions));
    assert_eq!(approval["reassignment"]["conflicts"], json!([]));
    for session in &sessions {
        assert_eq!(therapist_on(&app, &org, session).await, cover.person_id);
    }
    let schedule = app
        .get(
            &format!("/api/v1/orgs/{}/schedule?from=2027-03-01T00:00:00Z&to=2027-03-08T00:00:00Z", org.id),
            &cover.token,
        )
        .await
        .expect(200);
    assert_eq!(schedule["items"].as_array().unwrap().len(), 5);

    // 5. Deny another request and verify nothing changes.
    let other_sessions = five_sessions(&app, &org, &busy, &clients, 14).await;
    let second = app.post(&time_off_path(&org), &busy.token, vacation(&busy, true)).await.expect(201);
    assert_eq!(second["affected_sessions"], 6);
    let second_id = second["id"].as_str().unwrap();
    let denied = app
        .post(
            &format!("{}/{second_id}/deny", time_off_path(&org)),
            &org.admin.token,
            json!({ "reason": "Clinic is short-staffed" }),
        )
        .await
        .expect(200);
    assert_eq!(denied["status"], "DENIED");
    assert_eq!(denied["decision_reason"], "Clinic is short-staffed");
    assert_eq!(denied["affected_sessions"], 6, "still theirs");
    for session in &other_sessions {
        assert_eq!(therapist_on(&app, &org, session).await, busy.person_id);
    }
    // Denied time off is not busy: the therapist can still be booked then.
    let booking = json!({ "starts_at": "2027-03-05T16:00:00-05:00", "duration_minutes": 50,
                          "therapist_ids": [busy.person_id], "client_ids": [org.client.person_id] });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, booking).await.expect(201);
    let audit = app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.admin.token).await.expect(200);
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["time_off.request", "time_off.approve", "time_off.deny", "session.reassign"] {
        assert!(actions.contains(&action), "{action} audited");
    }
}

async fn who_may_ask_decide_and_see_time_off(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let other = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let path = time_off_path(&org);
    // Therapists ask for their own (therapist_id defaults to the caller); admins for anyone.
    let mut own = vacation(&org.therapist, false);
    own.as_object_mut().unwrap().remove("therapist_id");
    let mine = app.post(&path, &org.therapist.token, own).await.expect(201);
    assert_eq!(mine["therapist_id"], org.therapist.person_id.as_str());
    app.post(&path, &other.token, vacation(&org.therapist, false)).await.problem(403, "forbidden");
    app.post(&path, &org.moderator.token, vacation(&other, false)).await.problem(403, "forbidden");
    app.post(&path, &org.client.token, vacation(&other, false)).await.problem(403, "forbidden");
    let theirs = app.post(&path, &org.admin.token, vacation(&other, false)).await.expect(201);
    assert_eq!(theirs["requested_by"], org.admin.person_id.as_str());
    let (mine, theirs) = (mine["id"].as_str().unwrap(), theirs["id"].as_str().unwrap());

    // Reading: staff see all; a therapist their own; clients nothing.
    let count = |body: Value| body["items"].as_array().unwrap().len();
    assert_eq!(count(app.get(&path, &org.admin.token).await.expect(200)), 2);
    assert_eq!(count(app.get(&path, &org.moderator.token).await.expect(200)), 2);
    assert_eq!(count(app.get(&path, &org.therapist.token).await.expect(200)), 1, "a therapist's list is their own");
    app.get(&format!("{path}?therapist_id={}", other.person_id), &org.therapist.token).await.problem(403, "forbidden");
    app.get(&path, &org.client.token).await.problem(403, "forbidden");
    app.get(&format!("{path}/{theirs}"), &org.therapist.token).await.problem(403, "forbidden");
    app.get(&format!("{path}/{mine}/affected"), &org.therapist.token).await.expect(200);
    app.get(&format!("{path}/{mine}/affected"), &org.client.token).await.problem(403, "forbidden");
    assert_eq!(count(app.get(&format!("{path}?status=PENDING"), &org.admin.token).await.expect(200)), 2);
    assert_eq!(count(app.get(&format!("{path}?status=APPROVED"), &org.admin.token).await.expect(200)), 0);

    // Deciding and arranging cover is for admins.
    for caller in [&org.moderator, &org.therapist, &other, &org.client] {
        app.post(&format!("{path}/{mine}/approve"), &caller.token, json!({})).await.problem(403, "forbidden");
        app.post(&format!("{path}/{mine}/deny"), &caller.token, json!({ "reason": "no" }))
            .await
            .problem(403, "forbidden");
        app.get(&format!("{path}/{mine}/coverage"), &caller.token).await.problem(403, "forbidden");
    }
    // Withdrawing: the therapist's own, or an admin.
    let cancel = |id: &str| format!("{path}/{id}/cancel");
    app.request(Method::POST, &cancel(theirs), Some(&org.therapist.token), None).await.problem(403, "forbidden");
    let withdrawn = app.request(Method::POST, &cancel(mine), Some(&org.therapist.token), None).await.expect(200);
    assert_eq!(withdrawn["status"], "CANCELLED");
    app.request(Method::POST, &cancel(theirs), Some(&org.admin.token), None).await.expect(200);
}

async fn approved_time_off_is_busy_time_and_illegal_moves_are_conflicts(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let path = time_off_path(&org);
    put(&app, &week_path(&org, &org.therapist.person_id), &org.admin.token, office_hours()).await.expect(200);
    let requested = app.post(&path, &org.therapist.token, vacation(&org.therapist, false)).await.expect(201);
    let id = requested["id"].as_str().unwrap();
    // Pending time off does not block; a second overlapping request does.
    let overlapping = json!({ "type": "SICK", "starts_at": "2027-03-05T00:00:00Z", "ends_at": "2027-03-09T00:00:00Z" });
    let problem = app.post(&path, &org.therapist.token, overlapping).await.problem(409, "time_off_overlap");
    assert_eq!(problem["overlapping_id"], id);
    app.post(&format!("{path}/{id}/approve"), &org.admin.token, json!({})).await.expect(200);

    let sessions = format!("/api/v1/orgs/{}/sessions", org.id);
    let booking = json!({ "starts_at": "2027-03-03T10:00:00-05:00", "duration_minutes": 50,
                          "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id] });
    let problem = app.post(&sessions, &org.client.token, booking).await.problem(409, "scheduling_conflict");
    assert_eq!(problem["conflicts"][0]["kind"], "time_off");
    assert_eq!(problem["conflicts"][0]["starts_at"], "2027-03-02T05:00:00Z");
    assert_eq!(problem["conflicts"][0]["ends_at"], "2027-03-07T05:00:00Z");
    assert_eq!(problem["retry_hints"][0], "2027-03-08T14:00:00Z", "Monday 09:00, the first working hour after");
    let free = app
        .get(&format!("/api/v1/orgs/{}/availability/free-at?at=2027-03-03T15:00:00Z", org.id), &org.client.token)
        .await
        .expect(200);
    assert_eq!(free["items"], json!([]));

    for (action, body) in [("approve", json!({})), ("deny", json!({ "reason": "late" }))] {
        let problem =
            app.request(Method::POST, &format!("{path}/{id}/{action}"), Some(&org.admin.token), Some(body)).await;
        let problem = problem.problem(409, "illegal_transition");
        assert!(problem["detail"].as_str().unwrap().starts_with("a APPROVED time-off request cannot be"), "{problem}");
    }
    // Approved time off may be withdrawn (the therapist works after all), once.
    let cancel = format!("{path}/{id}/cancel");
    let withdrawn = app.request(Method::POST, &cancel, Some(&org.admin.token), None).await.expect(200);
    assert_eq!(withdrawn["status"], "CANCELLED");
    let problem =
        app.request(Method::POST, &cancel, Some(&org.admin.token), None).await.problem(409, "illegal_transition");
    assert!(problem["detail"].as_str().unwrap().starts_with("a CANCELLED time-off request cannot be"), "{problem}");
    app.get(&format!("{path}/{}", uuid::Uuid::now_v7()), &org.admin.token).await.problem(404, "not_found");
}

async fn reassigning_clashes_all_or_nothing_and_affected_sessions_can_be_cancelled(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let path = time_off_path(&org);
    let cover = app.person(&org.id, &org.admin.token, "cover@r.example", "therapist").await;
    let clients = app.clients(&org.id, 5).await;
    let sessions = five_sessions(&app, &org, &org.therapist, &clients, 10).await;
    let clash = json!({ "starts_at": "2027-03-05T10:00:00-05:00", "duration_minutes": 30,
                        "therapist_ids": [cover.person_id], "client_ids": [org.client.person_id] });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, clash).await.expect(201);
    let requested = app.post(&path, &org.therapist.token, vacation(&org.therapist, true)).await.expect(201);
    let id = requested["id"].as_str().unwrap();
    let reassign = format!("{path}/{id}/reassign");
    let body = json!({ "coverage_therapist_id": cover.person_id });
    app.post(&reassign, &org.admin.token, body.clone()).await.problem(409, "illegal_transition");

    // Auto-reassignment cannot happen (Friday clashes): approval stands and says why.
    let approval = app.post(&format!("{path}/{id}/approve"), &org.admin.token, body.clone()).await.expect(200);
    assert_eq!(approval["time_off"]["status"], "APPROVED");
    assert_eq!(approval["reassignment"]["moved"], json!([]));
    assert_eq!(approval["reassignment"]["conflicts"][0]["starts_at"], "2027-03-05T15:00:00Z");
    assert_eq!(approval["time_off"]["affected_sessions"], 5);
    let problem = app.post(&reassign, &org.admin.token, body).await.problem(409, "scheduling_conflict");
    assert_eq!(problem["conflicts"][0]["person_id"], cover.person_id.as_str());
    for session in &sessions {
        assert_eq!(therapist_on(&app, &org, session).await, org.therapist.person_id, "nothing moved");
    }
    // The admin cancels them instead.
    let cancel = format!("{path}/{id}/cancel-affected");
    app.post(&cancel, &org.admin.token, json!({ "reason": " " })).await.problem(422, "validation_failed");
    app.post(&cancel, &org.therapist.token, json!({ "reason": "away" })).await.problem(403, "forbidden");
    let cancelled = app.post(&cancel, &org.admin.token, json!({ "reason": "Therapist on leave" })).await.expect(200);
    let items = cancelled["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|s| s["status"] == "CANCELLED"));
    let session =
        app.get(&format!("/api/v1/orgs/{}/sessions/{}", org.id, sessions[0]), &org.admin.token).await.expect(200);
    assert_eq!(session["status"], "CANCELLED");
    assert_eq!(session["seats"][0]["status"], "CANCELLED_BY_PROVIDER");
    let after = app.get(&format!("{path}/{id}"), &org.admin.token).await.expect(200);
    assert_eq!(after["affected_sessions"], 0);
}

async fn time_off_input_is_validated_field_by_field(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let path = time_off_path(&org);
    let good = vacation(&org.therapist, false);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("type", json!("HOLIDAY")), "type"),
        (with("type", json!(null)), "type"),
        (with("starts_at", json!("2027-03-02")), "starts_at"),
        (with("ends_at", json!("next week")), "ends_at"),
        (with("ends_at", json!("2027-03-01T00:00:00Z")), "ends_at"),
        (with("ends_at", json!("2028-06-01T00:00:00Z")), "ends_at"),
        (with("reason", json!("x".repeat(1001))), "reason"),
        (with("auto_reassign", json!("yes")), "auto_reassign"),
        (with("therapist_id", json!("me")), "therapist_id"),
        (with("therapist_id", json!(org.client.person_id)), "therapist_id"),
        (with("coverage", json!(true)), "coverage"),
    ];
    for (body, field) in cases {
        let problem = app.post(&path, &org.admin.token, body.clone()).await.problem(422, "validation_failed");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
    }
    let past = json!({ "type": "SICK", "starts_at": "2027-02-01T00:00:00Z", "ends_at": "2027-02-02T00:00:00Z" });
    let problem = app.post(&path, &org.therapist.token, past).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["ends_at"]);
    assert!(
        app.get(&path, &org.admin.token).await.expect(200)["items"].as_array().unwrap().is_empty(),
        "nothing written"
    );

    let id = app.post(&path, &org.therapist.token, good).await.expect(201)["id"].as_str().unwrap().to_owned();
    let approve = format!("{path}/{id}/approve");
    for (body, field) in [
        (json!({ "coverage_therapist_id": org.client.person_id }), "coverage_therapist_id"),
        (json!({ "coverage_therapist_id": org.therapist.person_id }), "coverage_therapist_id"),
        (json!({ "coverage_therapist_id": "someone" }), "coverage_therapist_id"),
        (json!({ "auto": true }), "auto"),
    ] {
        let problem = app.post(&approve, &org.admin.token, body.clone()).await.problem(422, "validation_failed");
        assert_eq!(Response::fields(&problem), [field], "{body}");
    }
    let deny = format!("{path}/{id}/deny");
    for body in [json!({}), json!({ "reason": "" }), json!({ "reason": 7 })] {
        let problem = app.post(&deny, &org.admin.token, body.clone()).await.problem(422, "validation_failed");
        assert_eq!(Response::fields(&problem), ["reason"], "{body}");
    }
    let problem =
        app.post(&format!("{path}/{id}/reassign"), &org.admin.token, json!({})).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["coverage_therapist_id"]);
    app.get(&format!("{path}?status=LATER"), &org.admin.token).await.problem(400, "invalid_query");
    app.get(&format!("{path}?limit=0"), &org.admin.token).await.problem(400, "invalid_query");
    assert_eq!(
        app.get(&format!("{path}/{id}"), &org.admin.token).await.expect(200)["status"],
        "PENDING",
        "still pending"
    );
}

async fn approval_and_reassignment_reach_the_inboxes(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let path = time_off_path(&org);
    let cover = app.person(&org.id, &org.admin.token, "cover@r.example", "therapist").await;
    let mut clients = vec![org.client.person_id.clone()];
    clients.extend(app.clients(&org.id, 4).await);
    let sessions = five_sessions(&app, &org, &org.therapist, &clients, 10).await;
    let unread = format!("/api/v1/orgs/{}/notifications?unread=true", org.id);
    let sorted = |mut kinds: Vec<String>| {
        kinds.sort();
        kinds
    };

    // The bookings above told their people; start from read inboxes.
    for who in [&org.admin, &org.therapist, &org.client] {
        app.post(&format!("/api/v1/orgs/{}/notifications/read-all", org.id), &who.token, json!({})).await.expect(200);
    }
    let requested = app.post(&path, &org.therapist.token, vacation(&org.therapist, false)).await.expect(201);
    assert_eq!(app.inbox(&org, &org.admin).await, ["time_off_requested"]);
    assert!(app.inbox(&org, &org.therapist).await.is_empty(), "nobody is told what they just did");
    let id = requested["id"].as_str().unwrap();

    // Approved without cover: the therapist hears, and so does each client,
    // about the session that is now without its therapist.
    app.post(&format!("{path}/{id}/approve"), &org.admin.token, json!({})).await.expect(200);
    assert_eq!(app.inbox(&org, &org.therapist).await, ["time_off_approved"]);
    let away = app.get(&unread, &org.client.token).await.expect(200);
    assert_eq!(away["items"].as_array().unwrap().len(), 1);
    assert_eq!(away["items"][0]["kind"], "therapist_away");
    assert_eq!(away["items"][0]["session_id"], sessions[0].as_str());
    let body = away["items"][0]["body"].as_str().unwrap();
    assert!(body.starts_with("Your therapist is away from Tue 2 Mar 2027 to Sat 6 Mar 2027."), "{body}");
    app.request(
        Method::POST,
        &format!("/api/v1/orgs/{}/notifications/read-all", org.id),
        Some(&org.client.token),
        None,
    )
    .await
    .expect(200);

    // Reassigned: the client, the cover and the absent therapist hear of each session.
    app.post(&format!("{path}/{id}/reassign"), &org.admin.token, json!({ "coverage_therapist_id": cover.person_id }))
        .await
        .expect(200);
    let moved = app.get(&unread, &org.client.token).await.expect(200);
    let items = moved["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "session_reassigned");
    assert_eq!(items[0]["title"], "Your session has a new therapist");
    assert_eq!(items[0]["session_id"], sessions[0].as_str());
    let body = items[0]["body"].as_str().unwrap();
    assert!(body.ends_with("on Tue 2 Mar 2027 at 10:00 EST is now with A therapist."), "{body}");
    assert_eq!(app.inbox(&org, &cover).await, vec!["session_reassigned"; 5]);
    let mut expected = vec!["session_reassigned"; 5];
    expected.push("time_off_approved");
    assert_eq!(sorted(app.inbox(&org, &org.therapist).await), expected);
    let covered = app.get(&format!("/api/v1/orgs/{}/notifications", org.id), &cover.token).await.expect(200);
    let mut linked: Vec<&str> =
        covered["items"].as_array().unwrap().iter().map(|n| n["session_id"].as_str().unwrap()).collect();
    linked.sort();
    let mut expected_sessions: Vec<&str> = sessions.iter().map(String::as_str).collect();
    expected_sessions.sort();
    assert_eq!(linked, expected_sessions, "each notice links its session");
    assert_eq!(app.inbox(&org, &org.admin).await, ["time_off_requested"], "the admin who acted hears nothing new");
    assert!(app.inbox(&org, &org.moderator).await.is_empty());
}
