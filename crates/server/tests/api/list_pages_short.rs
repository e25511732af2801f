//! The short lists page like the long ones: who is present and a session's
//! attendance sheet, a time off's sessions and cover, schedules, who is free
//! at an instant, questionnaires and check-ins, and the waitlist's
//! suggestions both ways and freed places. Each walks over more than one
//! page by `next_cursor`, each item once and in order, and refuses a
//! malformed cursor and a limit out of range by name. And no list in the
//! OpenAPI document answers without `next_cursor`.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::availability::app_at_now;
use crate::group_sessions::{proposal, respond, sessions};
use crate::list_pages::{demo_admin, walks_pages, walks_whole, with};
use crate::support::{Response, TestApp};
use crate::time_off::{five_sessions, vacation};
use crate::waitlist::{full_session, manual_mode, seat_action, waitlist};

backend_tests!(
    time_off_schedules_and_free_therapists_page_with_next_cursor,
    presence_questionnaires_and_check_ins_page_with_next_cursor,
    suggestions_and_freed_places_page_by_position_in_their_ranking,
    every_list_in_the_document_answers_next_cursor,
);

/// A malformed cursor is refused naming `cursor`; a limit under 1 or over
/// `most` naming `limit`.
async fn refuses_bad_pages(app: &TestApp, token: &str, path: &str, most: usize) {
    for cursor in ["not.a-cursor", "-1", "12.34", "%20"] {
        let refused = app.get(&with(path, &format!("cursor={cursor}")), token).await.problem(400, "invalid_query");
        assert_eq!(Response::fields(&refused), ["cursor"], "{path} cursor={cursor}: {refused}");
    }
    for limit in [0, most + 1] {
        let refused = app.get(&with(path, &format!("limit={limit}")), token).await.problem(400, "invalid_query");
        assert_eq!(Response::fields(&refused), ["limit"], "{path} limit={limit}: {refused}");
    }
}

async fn time_off_schedules_and_free_therapists_page_with_next_cursor(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let cover = app.person(&org.id, &org.admin.token, "cover@r.example", "therapist").await;
    app.person(&org.id, &org.admin.token, "busy@r.example", "therapist").await;
    let clients = app.clients(&org.id, 5).await;
    five_sessions(&app, &org, &org.therapist, &clients, 10).await;
    let base = format!("/api/v1/orgs/{}", org.id);
    let requested =
        app.post(&format!("{base}/time-off"), &org.therapist.token, vacation(&org.therapist, false)).await.expect(201);
    assert_eq!(requested["affected_sessions"], 5);
    let time_off = format!("{base}/time-off/{}", requested["id"].as_str().unwrap());

    // The sessions that need cover, soonest first.
    let affected = format!("{time_off}/affected");
    walks_whole(&app, &org.admin.token, &affected, "session_id", 2).await;
    refuses_bad_pages(&app, &org.admin.token, &affected, 500).await;
    // Cover is a ranking: both other therapists, the one free for all first.
    let coverage = format!("{time_off}/coverage");
    walks_pages(&app, &org.admin.token, &coverage, "therapist_id", 1, 100).await;
    let first = app.get(&with(&coverage, "limit=1"), &org.admin.token).await.expect(200);
    assert_eq!(first["items"][0]["therapist_id"], cover.person_id.as_str(), "{first}");
    assert_eq!(first["next_cursor"], "1", "a position in the ranking: {first}");
    refuses_bad_pages(&app, &org.admin.token, &coverage, 100).await;

    // Schedules: the therapist's week, in the organisation and across all.
    let week = "from=2027-03-01T00:00:00Z&to=2027-03-08T00:00:00Z";
    for schedule in [format!("{base}/schedule?{week}"), format!("/api/v1/me/schedule?{week}")] {
        walks_whole(&app, &org.therapist.token, &schedule, "session_id", 2).await;
        refuses_bad_pages(&app, &org.therapist.token, &schedule, 500).await;
    }
    let staff_view = format!("{base}/schedule?{week}&person_id={}", org.therapist.person_id);
    walks_whole(&app, &org.admin.token, &staff_view, "session_id", 4).await;

    // Who is free on Monday at noon (no session then): every therapist, by id.
    let free_at = format!("{base}/availability/free-at?at=2027-03-01T17:00:00Z");
    walks_whole(&app, &org.client.token, &free_at, "therapist_id", 1).await;
    let first = app.get(&with(&free_at, "limit=1"), &org.client.token).await.expect(200);
    assert_eq!(first["next_cursor"], first["items"][0]["therapist_id"], "the last therapist's id: {first}");
    let refused = app.get(&with(&free_at, "cursor=nobody"), &org.client.token).await.problem(400, "invalid_query");
    assert_eq!(Response::fields(&refused), ["cursor"]);
    let refused = app.get(&with(&free_at, "limit=501"), &org.client.token).await.problem(400, "invalid_query");
    assert_eq!(Response::fields(&refused), ["limit"]);
}

async fn presence_questionnaires_and_check_ins_page_with_next_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (org, admin) = demo_admin(&app).await;

    // The demo's drop-in session running now has four people present.
    let running = app.get(&format!("{org}/sessions?status=in_progress&limit=50"), &admin).await.expect(200);
    let drop_in = running["items"].as_array().unwrap().iter().find(|s| s["title"] == "Drop-in check-in").unwrap();
    let presence = format!("{org}/sessions/{}/presence", drop_in["id"].as_str().unwrap());
    walks_whole(&app, &admin, &presence, "person_id", 1).await;
    refuses_bad_pages(&app, &admin, &presence, 500).await;
    // Its attendance sheet: every seat, by client name.
    let sheet = format!("{org}/sessions/{}/attendance", drop_in["id"].as_str().unwrap());
    walks_whole(&app, &admin, &sheet, "client_id", 2).await;
    refuses_bad_pages(&app, &admin, &sheet, 500).await;
    let whole = app.get(&sheet, &admin).await.expect(200);
    let names: Vec<&str> =
        whole["items"].as_array().unwrap().iter().map(|s| s["client_name"].as_str().unwrap()).collect();
    assert!(names.is_sorted(), "by client name: {names:?}");

    // The built-in questionnaires lead the organisation's own.
    let questionnaires = format!("{org}/questionnaires");
    walks_pages(&app, &admin, &questionnaires, "id", 3, 100).await;
    let first = app.get(&with(&questionnaires, "limit=3"), &admin).await.expect(200);
    assert_eq!(first["items"][0]["id"], "mood", "{first}");
    refuses_bad_pages(&app, &admin, &questionnaires, 100).await;

    // A weekly group's session carries the group's check-ins.
    let groups = app.get(&format!("{org}/groups"), &admin).await.expect(200);
    let weekly = groups["items"].as_array().unwrap().iter().find(|g| g["name"] == "Thursday Anxiety Group").unwrap();
    let held = format!("{org}/sessions?group_id={}&limit=50", weekly["id"].as_str().unwrap());
    let held = app.get(&held, &admin).await.expect(200);
    let mut walked = 0;
    for session in held["items"].as_array().unwrap() {
        let check_ins = format!("{org}/sessions/{}/check-ins", session["id"].as_str().unwrap());
        if app.get(&check_ins, &admin).await.expect(200)["items"].as_array().unwrap().len() > 1 {
            walks_whole(&app, &admin, &check_ins, "id", 1).await;
            refuses_bad_pages(&app, &admin, &check_ins, 500).await;
            walked += 1;
            break;
        }
    }
    assert_eq!(walked, 1, "a session of the weekly group has more than one check-in: {held}");
    // The caller's open check-ins page by position the same way.
    refuses_bad_pages(&app, &admin, &format!("{org}/me/check-ins"), 100).await;
}

async fn suggestions_and_freed_places_page_by_position_in_their_ranking(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.offer_grace_seconds = Some(0)).await;
    let org = app.org("m").await;
    let (group, session, members) = full_session(&app, &org).await;
    // A second full session of the same group, a day later.
    let mut body = proposal(&org, &group, &app.hours_from_now(96), &[&org.therapist]);
    body["capacity"] = json!(2);
    let later = app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
    let later = respond(&app, &org, &org.therapist, &later, "accept").await.expect(200)["session"].clone();
    let later = later["id"].as_str().unwrap().to_owned();
    seat_action(&app, &org, &later, &org.client, "join").await.expect(200);
    seat_action(&app, &org, &later, &members[0], "join").await.expect(200);
    // Staff offer freed seats by hand; two clients wait.
    manual_mode(&app, &org).await;
    let any_seat = app
        .post(&waitlist(&org), &members[1].token, json!({ "target": "GROUP", "group_id": group, "urgency": "LOW" }))
        .await
        .expect(201);
    let this_seat = json!({ "target": "GROUP_SESSION", "session_id": session, "urgency": "URGENT" });
    app.post(&waitlist(&org), &members[2].token, this_seat).await.expect(201);
    // A seat frees on each session.
    seat_action(&app, &org, &session, &org.client, "leave").await.expect(200);
    seat_action(&app, &org, &later, &org.client, "leave").await.expect(200);
    app.store.waitlist_pass(Some(jiff::SignedDuration::ZERO), false).await.expect("the pass runs");
    let staff = &org.moderator.token;

    let freed = format!("{}/freed", waitlist(&org));
    walks_pages(&app, staff, &freed, "place", 1, 100).await;
    let first = app.get(&with(&freed, "limit=1"), staff).await.expect(200);
    assert_eq!(first["items"][0]["place"]["session_id"], session.as_str(), "soonest first: {first}");
    refuses_bad_pages(&app, staff, &freed, 100).await;

    let for_seat = format!("/api/v1/orgs/{}/freed/{session}/suggestions", org.id);
    walks_pages(&app, staff, &for_seat, "entry", 1, 100).await;
    let best = app.get(&for_seat, staff).await.expect(200);
    assert_eq!(best["items"].as_array().unwrap().len(), 2, "five by default, two waiting: {best}");
    assert_eq!(best["next_cursor"], Value::Null, "{best}");
    refuses_bad_pages(&app, staff, &for_seat, 100).await;

    let for_entry = format!("{}/{}/suggestions", waitlist(&org), any_seat["id"].as_str().unwrap());
    walks_pages(&app, staff, &for_entry, "place", 1, 100).await;
    refuses_bad_pages(&app, staff, &for_entry, 100).await;
}

/// The schema `schema` names, following a `$ref` into the components.
fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolved(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every GET whose answer is a list (a bare array, or `items` holding one)
/// answers `next_cursor` too.
async fn every_list_in_the_document_answers_next_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    // Answers whose `items` are the parts of one record, not a list of
    // records: the questions of one check-in's results.
    let parts_of_one_record = ["/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/results"];
    let mut lists = Vec::new();
    let mut allowed = Vec::new();
    let mut unpaged = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let answer = &item["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        if answer.is_null() {
            continue;
        }
        let answer = resolved(&doc, answer);
        let bare = answer["type"] == "array";
        let items = resolved(&doc, &answer["properties"]["items"]);
        if !bare && items["type"] != "array" {
            continue;
        }
        if parts_of_one_record.contains(&path.as_str()) {
            allowed.push(path.as_str());
            continue;
        }
        lists.push(path.as_str());
        if bare || answer["properties"]["next_cursor"].is_null() {
            unpaged.push(path.clone());
        }
    }
    assert_eq!(unpaged, Vec::<String>::new(), "every list answers next_cursor");
    assert_eq!(allowed, parts_of_one_record, "each exception is still an answer with items");
    // The lists that answered everything at once before are found as lists.
    for short in [
        "/api/v1/orgs/{org_id}/sessions/{session_id}/presence",
        "/api/v1/orgs/{org_id}/sessions/{session_id}/attendance",
        "/api/v1/orgs/{org_id}/time-off/{time_off_id}/affected",
        "/api/v1/orgs/{org_id}/time-off/{time_off_id}/coverage",
        "/api/v1/orgs/{org_id}/waitlist/{entry_id}/suggestions",
        "/api/v1/orgs/{org_id}/freed/{session_id}/suggestions",
        "/api/v1/orgs/{org_id}/waitlist/freed",
        "/api/v1/orgs/{org_id}/schedule",
        "/api/v1/me/schedule",
        "/api/v1/orgs/{org_id}/availability/free-at",
        "/api/v1/orgs/{org_id}/questionnaires",
        "/api/v1/orgs/{org_id}/me/check-ins",
    ] {
        assert!(lists.contains(&short), "{short} is read as a list: {lists:?}");
    }
    assert!(lists.len() >= 30, "the document's lists were found: {lists:?}");
}
