//! Check-ins over HTTP: members answer within the window, clinicians read
//! everyone's answers with score, band and trend; a client sees only their
//! own through every route and event; the safety alert reaches the
//! clinicians and no one else; below k answers members get no aggregate.

use std::time::Duration;

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_form::Browser;
use crate::group_sessions::{proposal, respond, sessions};
use crate::live::Listener;
use crate::support::{Login, Org, TestApp};

backend_tests!(
    checkin_members_answer_and_clinicians_read_every_answer_with_band_and_trend,
    checkin_a_client_never_sees_another_members_answer_through_any_route,
    checkin_the_safety_alert_reaches_the_clinicians_and_no_one_else,
    checkin_members_get_no_group_results_below_k_answers_or_while_the_window_is_open,
    checkin_routes_refuse_outsiders_bad_input_and_other_organisations,
    checkin_pages_let_a_member_answer_and_the_facilitator_read_the_answers,
);

/// A group session two hours from now, run by the org's therapist, with
/// the org's client and `extra` more clients seated.
struct Room {
    org: Org,
    group: String,
    session: String,
    starts_at: jiff::Timestamp,
    members: Vec<Login>,
}

async fn room(app: &TestApp, slug: &str, extra: usize) -> Room {
    let org = app.org(slug).await;
    let group = app.community(&org, json!({}), &[]).await;
    let starts_at: jiff::Timestamp = app.hours_from_now(2).parse().unwrap();
    let body = proposal(&org, &group, &starts_at.to_string(), &[&org.therapist]);
    let made = app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
    let answered = respond(app, &org, &org.therapist, &made, "accept").await.expect(200);
    let session = answered["session"]["id"].as_str().unwrap().to_owned();
    let mut members = vec![org.client.clone()];
    for i in 0..extra {
        let login = app.person(&org.id, &org.admin.token, &format!("m{i}@{slug}.example"), "client").await;
        app.enrol(&org, &group, &login.person_id).await;
        members.push(login);
    }
    for m in &members {
        let path = format!("{}/{session}/join", sessions(&org));
        app.request(Method::POST, &path, Some(&m.token), None).await.expect(200);
    }
    Room { org, group, session, starts_at, members }
}

impl Room {
    fn check_ins(&self) -> String {
        format!("{}/{}/check-ins", sessions(&self.org), self.session)
    }

    async fn attach(&self, app: &TestApp, questionnaire: &str) -> String {
        let body = json!({ "questionnaire_id": questionnaire, "phase": "BEFORE" });
        let made = app.post(&self.check_ins(), &self.org.therapist.token, body).await.expect(201);
        made["id"].as_str().unwrap().to_owned()
    }

    fn answers(&self, check_in: &str) -> String {
        format!("{}/{check_in}/answers", self.check_ins())
    }

    fn results(&self, check_in: &str) -> String {
        format!("{}/{check_in}/results", self.check_ins())
    }
}

fn phq9(values: [i64; 9]) -> Value {
    let answers: serde_json::Map<String, Value> =
        values.iter().enumerate().map(|(i, v)| (format!("q{}", i + 1), json!(v))).collect();
    json!({ "answers": answers })
}

async fn checkin_members_answer_and_clinicians_read_every_answer_with_band_and_trend(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = room(&app, "a", 1).await;
    let phq = r.attach(&app, "phq9").await;
    let groupwide = json!({ "questionnaire_id": "mood", "phase": "AFTER" });
    let path = format!("/api/v1/orgs/{}/groups/{}/check-ins", r.org.id, r.group);
    let mood = app.post(&path, &r.org.therapist.token, groupwide).await.expect(201);
    assert_eq!((mood["group_id"].as_str(), mood["session_id"].is_null()), (Some(r.group.as_str()), true));

    let listed = app.get(&r.check_ins(), &r.org.client.token).await.expect(200);
    let titles: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|c| c["questionnaire_title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["PHQ-9", "Mood"], "the session's own and its group's");
    assert_eq!(listed["items"][0]["window"], "OPEN");
    assert_eq!(listed["items"][1]["window"], "NOT_YET_OPEN");
    assert!(
        listed["items"][0]["closes_at_local"].as_str().unwrap().ends_with("EST")
            || listed["items"][0]["closes_at_local"].as_str().unwrap().ends_with("EDT")
    );
    let open = app.get(&format!("/api/v1/orgs/{}/me/check-ins", r.org.id), &r.org.client.token).await.expect(200);
    assert_eq!(open["items"].as_array().unwrap().len(), 1);

    let mine = app.post(&r.answers(&phq), &r.org.client.token, phq9([2, 2, 2, 1, 1, 1, 1, 1, 0])).await.expect(200);
    assert_eq!((mine["total"].as_i64(), mine["band"].as_str()), (Some(11), Some("moderate")));
    assert!(mine.get("safety_alert").is_none(), "members are not shown the alert flag");
    assert_eq!(mine["name"], "A client");
    let other = &r.members[1];
    app.post(&r.answers(&phq), &other.token, phq9([0, 0, 0, 0, 1, 1, 1, 0, 0])).await.expect(200);

    let all = app.get(&r.answers(&phq), &r.org.therapist.token).await.expect(200);
    let responses = all["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2);
    assert!(
        responses.iter().all(|r| r["safety_alert"] == false && r["trend"]["totals"].as_array().unwrap().len() == 1)
    );
    let bands: Vec<&str> = responses.iter().map(|r| r["band"].as_str().unwrap()).collect();
    assert!(bands.contains(&"moderate") && bands.contains(&"minimal"));
    let own = app.get(&r.answers(&phq), &r.org.client.token).await.expect(200);
    assert_eq!(own["responses"].as_array().unwrap().len(), 1);
    assert_eq!(own["responses"][0]["person_id"], r.org.client.person_id.as_str());

    let trend = format!("/api/v1/orgs/{}/me/check-ins/trend?questionnaire=phq9", r.org.id);
    let trend = app.get(&trend, &r.org.client.token).await.expect(200);
    assert_eq!(trend["points"][0]["total"], 11);
    assert_eq!(trend["points"][0]["session_title"], "Coping with winter");

    let listed = app.get(&r.check_ins(), &r.org.client.token).await.expect(200);
    assert_eq!(listed["items"][0]["answered"], true);
    // After the window, answers are closed.
    app.clock.set(r.starts_at + jiff::SignedDuration::from_mins(16));
    let late = app.post(&r.answers(&phq), &r.org.client.token, phq9([0; 9])).await;
    late.problem(409, "check_in_closed");
}

/// Every check-in route a client can call, as that client.
async fn client_reads(app: &TestApp, r: &Room, who: &Login, check_ins: &[&str]) -> Vec<(String, String)> {
    let mut paths = vec![
        format!("/api/v1/orgs/{}/questionnaires", r.org.id),
        r.check_ins(),
        format!("/api/v1/orgs/{}/me/check-ins", r.org.id),
        format!("/api/v1/orgs/{}/notifications", r.org.id),
    ];
    for ci in check_ins {
        paths.push(r.answers(ci));
        paths.push(r.results(ci));
    }
    let questionnaires = app.get(&paths[0], &who.token).await.expect(200);
    for q in questionnaires["items"].as_array().unwrap() {
        paths.push(format!("/api/v1/orgs/{}/me/check-ins/trend?questionnaire={}", r.org.id, q["id"].as_str().unwrap()));
    }
    let mut bodies = Vec::new();
    for path in paths {
        let body = app.get(&path, &who.token).await.expect(200);
        bodies.push((path, body.to_string()));
    }
    bodies
}

async fn checkin_a_client_never_sees_another_members_answer_through_any_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = room(&app, "p", 5).await;
    let custom = json!({
        "title": "How was the week",
        "items": [
            {"prompt": "Energy", "kind": "scale", "min": 0, "max": 10},
            {"prompt": "Anything to tell us?", "kind": "text", "required": false}
        ]
    });
    let path = format!("/api/v1/orgs/{}/questionnaires", r.org.id);
    let q = app.post(&path, &r.org.therapist.token, custom).await.expect(201);
    let week = r.attach(&app, q["id"].as_str().unwrap()).await;
    let phq = r.attach(&app, "phq9").await;
    let me = &r.members[0];
    let mut listening = Listener::open(&app.base, &me.token, None).await;
    app.post(&r.answers(&week), &me.token, json!({ "answers": { "q1": 3, "q2": "mine to keep" } })).await.expect(200);
    for (i, other) in r.members[1..].iter().enumerate() {
        let text = format!("secret of member {i}");
        app.post(&r.answers(&week), &other.token, json!({ "answers": { "q1": 7, "q2": text } })).await.expect(200);
        app.post(&r.answers(&phq), &other.token, phq9([1, 1, 1, 1, 1, 1, 1, 1, 1])).await.expect(200);
    }
    // While the window is open and after it closes (group results shown).
    for moment in [None, Some(r.starts_at + jiff::SignedDuration::from_mins(30))] {
        if let Some(at) = moment {
            app.clock.set(at);
        }
        for (path, body) in client_reads(&app, &r, me, &[&week, &phq]).await {
            for other in &r.members[1..] {
                assert!(!body.contains(&other.person_id), "{path} names another member: {body}");
            }
            assert!(!body.contains("secret of member"), "{path} shows another member's text: {body}");
        }
    }
    let results = app.get(&r.results(&week), &me.token).await.expect(200);
    assert_eq!(results["shown"], true, "six answered, the window closed: {results}");
    assert_eq!(
        (results["items"][0]["summary"]["own"].as_i64(), results["items"][0]["summary"]["answered"].as_i64()),
        (Some(3), Some(6))
    );
    assert_eq!(results["items"].as_array().unwrap().len(), 1, "free text is never summarised");
    // Nothing of the others' answers (or their alerts) reached my stream.
    while let Some(frame) = listening.next_within(Duration::from_millis(500)).await {
        let text = frame.data.to_string();
        for other in &r.members[1..] {
            assert!(!text.contains(&other.person_id), "an event names another member: {text}");
        }
        assert_ne!(frame.data["payload"]["notification_kind"], "check_in_alert");
    }
}

async fn checkin_the_safety_alert_reaches_the_clinicians_and_no_one_else(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = room(&app, "s", 1).await;
    let phq = r.attach(&app, "phq9").await;
    let mut therapist = Listener::open(&app.base, &r.org.therapist.token, None).await;
    let answered = app.post(&r.answers(&phq), &r.org.client.token, phq9([0, 0, 0, 0, 0, 0, 0, 0, 2])).await.expect(200);
    assert!(answered.get("safety_alert").is_none());

    let frame = therapist.next().await;
    assert_eq!(
        (frame.event.as_str(), &frame.data["payload"]["notification_kind"]),
        ("NOTIFICATION", &json!("check_in_alert"))
    );
    for clinician in [&r.org.therapist, &r.org.admin] {
        assert!(app.inbox(&r.org, clinician).await.contains(&"check_in_alert".to_owned()), "{}", clinician.email);
    }
    for other in [&r.org.client, &r.members[1], &r.org.moderator] {
        assert!(!app.inbox(&r.org, other).await.contains(&"check_in_alert".to_owned()), "{}", other.email);
    }
    let all = app.get(&r.answers(&phq), &r.org.therapist.token).await.expect(200);
    assert_eq!(all["responses"][0]["safety_alert"], true);
    let owed = app.db.scalar("SELECT COUNT(*) FROM deliveries WHERE kind = 'check_in_alert'").await;
    assert_eq!(owed, 2, "an e-mail to the therapist and the admin");
}

async fn checkin_members_get_no_group_results_below_k_answers_or_while_the_window_is_open(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = room(&app, "k", 4).await;
    let (mood, gad) = (r.attach(&app, "mood").await, r.attach(&app, "gad7").await);
    for (i, m) in r.members.iter().enumerate() {
        let value = i as i64 + 3;
        let answers: serde_json::Map<String, Value> = (1..=7).map(|q| (format!("q{q}"), json!(i % 4))).collect();
        app.post(&r.answers(&gad), &m.token, json!({ "answers": answers })).await.expect(200);
        // One fewer than k (5) answers the mood check-in.
        if i < 4 {
            app.post(&r.answers(&mood), &m.token, json!({ "answers": { "q1": value } })).await.expect(200);
        }
    }
    let open = app.get(&r.results(&gad), &r.org.client.token).await.expect(200);
    assert_eq!((open["shown"].as_bool(), open["items"].as_array().unwrap().len()), (Some(false), 0));
    assert!(open["total"].is_null());
    assert_eq!(open["own_total"], 0, "a member always sees their own");

    app.clock.set(r.starts_at + jiff::SignedDuration::from_mins(16));
    let too_few = app.get(&r.results(&mood), &r.org.client.token).await.expect(200);
    assert_eq!(too_few["shown"], false);
    assert!(too_few["total"].is_null() && too_few["items"].as_array().unwrap().is_empty(), "{too_few}");
    let text = too_few.to_string();
    assert!(!text.contains("\"mean\"") && !text.contains("\"distribution\""), "nothing aggregate: {too_few}");
    assert_eq!(too_few["check_in"]["answered"], true);
    assert_eq!(too_few["own_total"], 3);
    let staff = app.get(&r.results(&mood), &r.org.therapist.token).await.expect(200);
    assert_eq!((staff["shown"].as_bool(), staff["total"]["answered"].as_i64()), (Some(true), Some(4)));

    let shown = app.get(&r.results(&gad), &r.members[1].token).await.expect(200);
    assert_eq!(shown["shown"], true);
    let total = &shown["total"];
    assert_eq!((total["answered"].as_i64(), total["own"].as_i64()), (Some(5), Some(7)));
    assert_eq!(total["mean"].as_f64(), Some(8.4), "totals 0, 7, 14, 21, 0");
    assert_eq!(shown["own_band"], "mild");
    let counts: i64 = shown["items"][0]["summary"]["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counts, 5);

    // k is the organisation's: lowered to 4, the mood results show.
    let settings = format!("/api/v1/orgs/{}/settings", r.org.id);
    let low = app.request(Method::PATCH, &settings, Some(&r.org.admin.token), Some(json!({ "check_in_k": 2 }))).await;
    assert_eq!(crate::support::Response::fields(&low.problem(422, "validation_failed")), ["check_in_k"]);
    let four = json!({ "check_in_k": 4 });
    let saved = app.request(Method::PATCH, &settings, Some(&r.org.admin.token), Some(four)).await.expect(200);
    assert_eq!((saved["check_in_k"].as_i64(), saved["refuse_late_attendance"].as_bool()), (Some(4), Some(false)));
    let now_shown = app.get(&r.results(&mood), &r.org.client.token).await.expect(200);
    assert_eq!((now_shown["shown"].as_bool(), now_shown["total"]["own"].as_i64()), (Some(true), Some(3)));
}

async fn checkin_routes_refuse_outsiders_bad_input_and_other_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = room(&app, "x", 0).await;
    let phq = r.attach(&app, "phq9").await;
    let body = json!({ "questionnaire_id": "mood", "phase": "BEFORE" });
    app.post(&r.check_ins(), &r.org.client.token, body.clone()).await.problem(403, "forbidden");
    let custom = json!({ "title": "Mine", "items": [{ "prompt": "How?", "kind": "scale" }] });
    let path = format!("/api/v1/orgs/{}/questionnaires", r.org.id);
    app.post(&path, &r.org.client.token, custom).await.problem(403, "forbidden");

    let bad = json!({ "questionnaire_id": "phq10", "phase": "DURING", "opens_minutes": 5, "closes_minutes": 1 });
    let problem = app.post(&r.check_ins(), &r.org.therapist.token, bad).await.problem(422, "validation_failed");
    assert_eq!(crate::support::Response::fields(&problem), ["questionnaire_id", "phase"]);
    let window = json!({ "questionnaire_id": "mood", "phase": "BEFORE", "opens_minutes": 5, "closes_minutes": 1 });
    let problem = app.post(&r.check_ins(), &r.org.therapist.token, window).await.problem(422, "validation_failed");
    assert_eq!(crate::support::Response::fields(&problem), ["closes_minutes"]);
    let wrong = json!({ "title": " ", "items": [{ "prompt": "Pick", "kind": "choice", "options": [{ "label": "A", "value": 1 }] }] });
    let problem = app.post(&path, &r.org.therapist.token, wrong).await.problem(422, "validation_failed");
    assert_eq!(crate::support::Response::fields(&problem), ["title", "items[0].options"]);
    let problem = app
        .post(&r.answers(&phq), &r.org.client.token, phq9([4, 0, 0, 0, 0, 0, 0, 0, 0]))
        .await
        .problem(422, "validation_failed");
    assert_eq!(crate::support::Response::fields(&problem), ["answers.q1"]);
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM check_in_responses").await, 0, "nothing half-written");

    let outsider = app.person(&r.org.id, &r.org.admin.token, "out@x.example", "client").await;
    app.get(&r.answers(&phq), &outsider.token).await.problem(403, "forbidden");
    app.post(&r.answers(&phq), &outsider.token, phq9([0; 9])).await.problem(403, "forbidden");
    let elsewhere = app.org("y").await;
    let foreign = r.answers(&phq).replace(&r.org.id, &elsewhere.id);
    app.get(&foreign, &elsewhere.admin.token).await.problem(404, "not_found");
    app.get(&r.answers(&phq), &elsewhere.admin.token).await.problem(404, "not_found");
}

async fn checkin_pages_let_a_member_answer_and_the_facilitator_read_the_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = room(&app, "w", 0).await;
    let phq = r.attach(&app, "phq9").await;
    let page = format!("/orgs/{}/sessions/{}/check-ins/{phq}", r.org.id, r.session);
    let member = Browser::sign_in(&app, &r.org.client).await;
    let list = member.page(&format!("/orgs/{}/sessions/{}/check-ins", r.org.id, r.session)).await;
    assert!(list.contains("PHQ-9") && list.contains("open until"), "{list}");
    let form = member.page(&page).await;
    assert!(form.contains("Little interest or pleasure in doing things") && form.contains("Nearly every day"));
    let answers = [
        ("q1", "3"),
        ("q2", "2"),
        ("q3", "2"),
        ("q4", "1"),
        ("q5", "1"),
        ("q6", "0"),
        ("q7", "0"),
        ("q8", "0"),
        ("q9", "0"),
    ];
    let (status, _) = member.submit(&page, &answers).await;
    assert_eq!(status, 303);
    let after = member.page(&page).await;
    assert!(after.contains("Your total: 9 (mild)"), "{after}");
    assert!(after.contains("too few members answered") || after.contains("once the answer window has closed"));

    let facilitator = Browser::sign_in(&app, &r.org.therapist).await;
    let sheet = facilitator.page(&page).await;
    assert!(sheet.contains("A client") && sheet.contains("9 (mild)"), "{sheet}");
    assert!(!sheet.contains("Send my answers"), "clinicians read, they do not answer");
}
