//! Waitlists over HTTP: a full group session's freed seat reaches the best
//! waiting client through the running worker, is held against public joins
//! and is booked on accept; entries refuse bad input by field, duplicates
//! and strangers.

use std::time::Duration;

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_sessions::{proposal, respond, sessions};
use crate::support::{Login, Org, Response, TestApp};

backend_tests!(
    a_cancelled_seat_reaches_the_best_waiting_client_within_one_worker_pass,
    entries_refuse_bad_input_duplicates_and_strangers,
    the_demo_has_clients_waiting_with_differing_scores_and_one_live_offer,
    in_manual_mode_a_freed_seat_waits_for_staff_with_the_best_suggestions_first,
    a_client_waits_for_a_seat_in_one_full_session_from_the_sessions_to_join,
);

pub fn waitlist(org: &Org) -> String {
    format!("/api/v1/orgs/{}/waitlist", org.id)
}

fn offers(org: &Org) -> String {
    format!("/api/v1/orgs/{}/offers", org.id)
}

pub async fn seat_action(app: &TestApp, org: &Org, session: &str, who: &Login, action: &str) -> Response {
    app.request(Method::POST, &format!("{}/{session}/{action}", sessions(org)), Some(&who.token), None).await
}

/// A group session of two seats, both taken, three days ahead; and three
/// more members.
pub async fn full_session(app: &TestApp, org: &Org) -> (String, String, Vec<Login>) {
    let group = app.community(org, json!({}), &[]).await;
    let mut members = Vec::new();
    for i in 0..3 {
        let login = app.person(&org.id, &org.admin.token, &format!("member{i}@w.example"), "client").await;
        app.enrol(org, &group, &login.person_id).await;
        members.push(login);
    }
    let mut body = proposal(org, &group, &app.hours_from_now(72), &[&org.therapist]);
    body["capacity"] = json!(2);
    let session = app.post(&sessions(org), &org.moderator.token, body).await.expect(201);
    let session = respond(app, org, &org.therapist, &session, "accept").await.expect(200)["session"].clone();
    let id = session["id"].as_str().unwrap().to_owned();
    seat_action(app, org, &id, &org.client, "join").await.expect(200);
    seat_action(app, org, &id, &members[0], "join").await.expect(200);
    (group, id, members)
}

async fn a_cancelled_seat_reaches_the_best_waiting_client_within_one_worker_pass(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.offer_grace_seconds = Some(0)).await;
    let worker = circles_server::jobs::spawn(app.state.clone());
    let org = app.org("w").await;
    let (group, session, members) = full_session(&app, &org).await;
    // Two clients wait: one asked for this very session and is urgent; staff
    // put the other on the group's list with a clinical note.
    let urgent = app
        .post(
            &waitlist(&org),
            &members[1].token,
            json!({ "target": "GROUP_SESSION", "session_id": session, "urgency": "URGENT" }),
        )
        .await
        .expect(201);
    assert_eq!(urgent["client_id"], members[1].person_id.as_str());
    assert_eq!(urgent["priority"]["explanation"], "waited 0 days: 0; urgency URGENT: 0.3; not referred: 0; score 0.3");
    let low = app
        .post(
            &waitlist(&org),
            &org.moderator.token,
            json!({ "client_id": members[2].person_id, "target": "GROUP", "group_id": group, "urgency": "LOW",
                    "notes": "prefers evenings; anxious in large rooms" }),
        )
        .await
        .expect(201);
    assert_eq!(low["notes"], "prefers evenings; anxious in large rooms");

    // A seat is cancelled: the worker offers it to the best waiting client.
    seat_action(&app, &org, &session, &org.client, "leave").await.expect(200);
    let mut live = Value::Null;
    for _ in 0..100 {
        live = app.get(&format!("{}?status=LIVE", offers(&org)), &org.moderator.token).await.expect(200);
        if !live["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offer = live["items"][0].clone();
    assert_eq!(offer["client_id"], members[1].person_id.as_str(), "{live}");
    assert_eq!(offer["place"]["session_id"], session.as_str());
    assert!(
        offer["place"]["starts_at_local"].as_str().unwrap().ends_with("EST")
            || offer["place"]["starts_at_local"].as_str().unwrap().ends_with("EDT")
    );
    assert_eq!(offer["seconds_left"], 7200);
    assert!(app.inbox(&org, &members[1]).await.contains(&"waitlist_offer".to_owned()));

    // While it lives, a public join for the seat is refused.
    seat_action(&app, &org, &session, &members[2], "join").await.problem(409, "session_full");

    // The client sees only their own offer, and accepts it.
    let mine = app.get(&offers(&org), &members[1].token).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let id = offer["id"].as_str().unwrap();
    app.post(&format!("{}/{id}/accept", offers(&org)), &members[2].token, json!({})).await.problem(404, "not_found");
    let accepted = app.post(&format!("{}/{id}/accept", offers(&org)), &members[1].token, json!({})).await.expect(200);
    assert_eq!(accepted["status"], "ACCEPTED");
    assert_eq!(accepted["session_id"], session.as_str());
    let entry =
        app.get(&format!("{}/{}", waitlist(&org), urgent["id"].as_str().unwrap()), &members[1].token).await.expect(200);
    assert_eq!(entry["status"], "MATCHED");
    let seated = app.get(&format!("{}/{session}", sessions(&org)), &org.moderator.token).await.expect(200);
    assert_eq!(seated["seats_taken"], 2);
    app.post(&format!("{}/{id}/accept", offers(&org)), &members[1].token, json!({})).await.problem(409, "offer_closed");

    let stats = app.get(&format!("{}/stats", waitlist(&org)), &org.moderator.token).await.expect(200);
    assert_eq!(stats["organisation"]["offers_accepted"], 1);
    assert_eq!(stats["organisation"]["refilled"], 1);
    assert_eq!(stats["groups"][0]["name"], "Tuesday Circle");
    app.get(&format!("{}/stats", waitlist(&org)), &members[1].token).await.problem(403, "forbidden");
    assert_eq!(app.overlapping_busy_pairs().await, 0);
    worker.abort();
}

async fn entries_refuse_bad_input_duplicates_and_strangers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("e").await;
    let other = app.org("o").await;
    let group = app.community(&org, json!({}), &[]).await;

    let bad = app
        .post(
            &waitlist(&org),
            &org.client.token,
            json!({ "target": "ONE_ON_ONE", "duration_minutes": 5, "urgency": "SOON", "weekdays": ["mon"],
                    "windows": [{ "start": "12:00", "end": "09:00" }], "notes": "self-written" }),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(Response::fields(&bad), vec!["urgency", "duration_minutes", "weekdays[0]", "windows[0].end", "notes"]);

    let body = json!({ "target": "GROUP", "group_id": group, "weekdays": ["tuesday"] });
    let mine = app.post(&waitlist(&org), &org.client.token, body.clone()).await.expect(201);
    assert!(mine.get("notes").is_none());
    app.post(&waitlist(&org), &org.client.token, body).await.problem(409, "duplicate_entry");

    // Clients see their own entries only; other organisations see nothing.
    let listed = app.get(&waitlist(&org), &org.client.token).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let stranger = app.person(&org.id, &org.admin.token, "stranger@e.example", "client").await;
    let path = format!("{}/{}", waitlist(&org), mine["id"].as_str().unwrap());
    app.get(&path, &stranger.token).await.problem(404, "not_found");
    app.get(&format!("/api/v1/orgs/{}/waitlist/{}", other.id, mine["id"].as_str().unwrap()), &other.admin.token)
        .await
        .problem(404, "not_found");
    app.get(&path, &other.admin.token).await.problem(404, "not_found");

    // Admins pin with a reason; it shows first in the explanation.
    let pinned = app
        .request(Method::PATCH, &path, Some(&org.admin.token), Some(json!({ "pin_reason": "discharged this week" })))
        .await
        .expect(200);
    assert!(pinned["priority"]["explanation"].as_str().unwrap().starts_with("pinned to the top: discharged this week"));
    app.request(Method::PATCH, &path, Some(&org.therapist.token), Some(json!({ "pin_reason": "x" })))
        .await
        .problem(403, "forbidden");
    let left = app.request(Method::DELETE, &path, Some(&org.client.token), None).await.expect(200);
    assert_eq!(left["status"], "CANCELLED");
}

async fn the_demo_has_clients_waiting_with_differing_scores_and_one_live_offer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let loaded = circles_server::demo::load(&app.store, &app.state.passwords).await.expect("demo loads");
    let body = json!({ "email": circles_server::demo::ADMIN_EMAIL, "password": circles_server::demo::PASSWORD });
    let session = app.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await.expect(200);
    let token = session["token"].as_str().unwrap().to_owned();
    let org = loaded.org_id;
    let listed = app.get(&format!("/api/v1/orgs/{org}/waitlist?status=ACTIVE"), &token).await.expect(200);
    let entries = listed["items"].as_array().unwrap();
    assert!(entries.len() >= 5, "{listed}");
    let mut scores: Vec<String> = entries.iter().map(|e| e["priority"]["score"].to_string()).collect();
    scores.dedup();
    assert!(scores.len() >= 4, "the scores differ: {scores:?}");
    assert!(entries.iter().any(|e| e["priority"]["explanation"].as_str().unwrap().contains("declined 1 offer")));
    let live = app.get(&format!("/api/v1/orgs/{org}/offers?status=LIVE"), &token).await.expect(200);
    assert_eq!(live["items"].as_array().unwrap().len(), 1, "{live}");
    assert_eq!(live["items"][0]["client_name"], "Blake Carter");
    let board = app.get(&format!("/api/v1/orgs/{org}/waitlist?status=OFFERED"), &token).await.expect(200);
    assert_eq!(board["items"][0]["client_name"], "Blake Carter");
}

/// Staff offer freed seats and slots by hand from now on.
pub async fn manual_mode(app: &TestApp, org: &Org) {
    let settings = format!("{}/settings", waitlist(org));
    app.request(Method::PUT, &settings, Some(&org.admin.token), Some(json!({ "mode": { "mode": "MANUAL" } })))
        .await
        .expect(200);
}

async fn in_manual_mode_a_freed_seat_waits_for_staff_with_the_best_suggestions_first(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.offer_grace_seconds = Some(0)).await;
    let org = app.org("m").await;
    let (group, session, members) = full_session(&app, &org).await;
    manual_mode(&app, &org).await;
    let low = app
        .post(&waitlist(&org), &members[1].token, json!({ "target": "GROUP", "group_id": group, "urgency": "LOW" }))
        .await
        .expect(201);
    let urgent = app
        .post(
            &waitlist(&org),
            &members[2].token,
            json!({ "target": "GROUP_SESSION", "session_id": session, "urgency": "URGENT" }),
        )
        .await
        .expect(201);
    let freed = format!("{}/freed", waitlist(&org));
    let nothing = app.get(&freed, &org.moderator.token).await.expect(200);
    assert_eq!(nothing["items"], json!([]), "no seat has freed yet");

    // A seat frees; a pass runs and sends nothing, the seat waits for staff.
    seat_action(&app, &org, &session, &org.client, "leave").await.expect(200);
    let report = app.store.waitlist_pass(Some(jiff::SignedDuration::ZERO), false).await.expect("the pass runs");
    assert_eq!(report.offers_sent, 0);
    let live = app.get(&format!("{}?status=LIVE", offers(&org)), &org.moderator.token).await.expect(200);
    assert_eq!(live["items"], json!([]));
    let listed = app.get(&freed, &org.moderator.token).await.expect(200);
    let places = listed["items"].as_array().unwrap();
    assert_eq!(places.len(), 1, "{listed}");
    assert_eq!(places[0]["place"]["session_id"], session.as_str());
    assert_eq!(places[0]["free"], 1);
    let suggested: Vec<&str> =
        places[0]["suggestions"].as_array().unwrap().iter().map(|m| m["entry"]["id"].as_str().unwrap()).collect();
    assert_eq!(suggested, [urgent["id"].as_str().unwrap(), low["id"].as_str().unwrap()], "best first");
    assert_eq!(places[0]["suggestions"][0]["entry"]["client_id"], members[2].person_id.as_str());
    assert_eq!(places[0]["suggestions"][0]["match"]["reasons"].as_array().unwrap().len(), 5);
    app.get(&freed, &members[1].token).await.problem(403, "forbidden");

    // Staff send the top suggestion an offer: it is live, and the seat no
    // longer waits for staff while it is held.
    let sent = app
        .post(&offers(&org), &org.moderator.token, json!({ "entry_id": urgent["id"], "session_id": session }))
        .await
        .expect(201);
    assert_eq!(sent["status"], "LIVE");
    assert_eq!(sent["client_id"], members[2].person_id.as_str());
    let listed = app.get(&freed, &org.moderator.token).await.expect(200);
    assert_eq!(listed["items"], json!([]), "{listed}");

    // Declined, the seat is not offered on by itself: it waits for staff again.
    let id = sent["id"].as_str().unwrap();
    app.post(&format!("{}/{id}/decline", offers(&org)), &members[2].token, json!({})).await.expect(200);
    let report = app.store.waitlist_pass(Some(jiff::SignedDuration::ZERO), false).await.expect("the pass runs");
    assert_eq!(report.offers_sent, 0);
    let listed = app.get(&freed, &org.moderator.token).await.expect(200);
    assert_eq!(listed["items"][0]["place"]["session_id"], session.as_str(), "{listed}");
}

async fn a_client_waits_for_a_seat_in_one_full_session_from_the_sessions_to_join(backend: Backend) {
    use crate::group_form::Browser;
    let app = TestApp::spawn(backend).await;
    let org = app.org("w").await;
    let (_, session, members) = full_session(&app, &org).await;
    let waiting = &members[1];
    let browser = Browser::sign_in(&app, waiting).await;
    let join = format!("/orgs/{}/join", org.id);
    let page = browser.page(&join).await;
    assert!(page.contains(&format!(r#"name="wait_for" value="session:{session}""#)), "{page}");
    assert!(page.contains(">Wait for a seat<"), "{page}");

    let action = format!("/orgs/{}/waitlist/join", org.id);
    let wait_for = format!("session:{session}");
    let (status, _) = browser.submit_to(&join, &action, &[("wait_for", wait_for.as_str())]).await;
    assert_eq!(status, 303);
    let mine = app.get(&waitlist(&org), &waiting.token).await.expect(200);
    let entries = mine["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{mine}");
    assert_eq!(entries[0]["target"]["kind"], "GROUP_SESSION", "{mine}");
    assert_eq!(entries[0]["target"]["session_id"], session.as_str());

    // Where staff keep waitlists to themselves, the button is not offered.
    let settings = format!("/api/v1/orgs/{}/waitlist/settings", org.id);
    app.request(Method::PUT, &settings, Some(&org.admin.token), Some(json!({ "clients_may_join": false })))
        .await
        .expect(200);
    assert!(!browser.page(&join).await.contains("Wait for a seat"));
}
