use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Org, Response, TestApp};

backend_tests!(
    a_hold_confirms_into_a_session,
    a_series_hold_confirms_into_one_session_per_occurrence,
    an_expired_hold_cannot_be_confirmed_and_no_longer_blocks,
    a_released_hold_frees_its_slot,
    hold_input_is_validated,
    a_recurring_hold_repeats_the_local_time_across_dst,
);

fn holds_path(org: &Org) -> String {
    format!("/api/v1/orgs/{}/holds", org.id)
}

fn hold_body(org: &Org, starts_at: &str, ends_at: &str) -> Value {
    json!({
        "therapist_id": org.therapist.person_id,
        "client_id": org.client.person_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "title": "Intake",
    })
}

async fn a_hold_confirms_into_a_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(25));
    let hold = app.post(&holds_path(&org), &org.client.token, hold_body(&org, &start, &end)).await.expect(201);
    assert_eq!(hold["status"], "LIVE");
    let slots = hold["occurrences"].as_array().unwrap();
    assert_eq!(slots.len(), 1);
    assert_eq!((&slots[0]["starts_at"], &slots[0]["ends_at"]), (&json!(start), &json!(end)));
    assert_eq!(hold["therapist_name"], "A therapist", "the hold names its parties");
    assert_eq!(hold["client_name"], "A client");
    crate::readable::assert_readable("POST holds", &hold);
    let expires_at: jiff::Timestamp = hold["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        expires_at,
        circles_domain::Clock::now(app.clock.as_ref()) + SignedDuration::from_secs(300),
        "300 s by default"
    );
    let hold_path = format!("{}/{}", holds_path(&org), hold["hold_id"].as_str().unwrap());
    let confirmed =
        app.request(Method::POST, &format!("{hold_path}/confirm"), Some(&org.client.token), None).await.expect(201);
    let sessions = confirmed["items"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["title"], "Intake");
    assert_eq!(sessions[0]["starts_at"], start.as_str());
    assert_eq!(app.get(&hold_path, &org.therapist.token).await.expect(200)["status"], "CONFIRMED");
    app.request(Method::POST, &format!("{hold_path}/confirm"), Some(&org.client.token), None)
        .await
        .problem(409, "hold_confirmed");
    app.request(Method::DELETE, &hold_path, Some(&org.client.token), None).await.problem(409, "hold_confirmed");
}

async fn a_series_hold_confirms_into_one_session_per_occurrence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let occurrences: Vec<Value> = (0..4)
        .map(|week| json!({ "starts_at": app.hours_from_now(24 + 168 * week), "ends_at": app.hours_from_now(25 + 168 * week) }))
        .collect();
    let mut body = hold_body(&org, &app.hours_from_now(24), &app.hours_from_now(25));
    body["occurrences"] = json!(occurrences);
    let hold = app.post(&holds_path(&org), &org.admin.token, body).await.expect(201);
    assert_eq!(hold["occurrences"].as_array().unwrap().len(), 4);
    let confirm = format!("{}/{}/confirm", holds_path(&org), hold["hold_id"].as_str().unwrap());
    let sessions = app.request(Method::POST, &confirm, Some(&org.admin.token), None).await.expect(201);
    let series: Vec<&Value> = sessions["items"].as_array().unwrap().iter().map(|s| &s["series_id"]).collect();
    assert_eq!(series.len(), 4);
    assert!(series[0].is_string() && series.iter().all(|s| *s == series[0]), "one series: {series:?}");
}

async fn an_expired_hold_cannot_be_confirmed_and_no_longer_blocks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(25));
    let mut body = hold_body(&org, &start, &end);
    body["hold_seconds"] = json!(60);
    let hold = app.post(&holds_path(&org), &org.admin.token, body).await.expect(201);
    app.clock.advance(SignedDuration::from_secs(60));
    let hold_path = format!("{}/{}", holds_path(&org), hold["hold_id"].as_str().unwrap());
    assert_eq!(app.get(&hold_path, &org.admin.token).await.expect(200)["status"], "EXPIRED");
    app.request(Method::POST, &format!("{hold_path}/confirm"), Some(&org.admin.token), None)
        .await
        .problem(409, "hold_expired");
    // No job has run, and the slot is free again.
    app.post(&holds_path(&org), &org.admin.token, hold_body(&org, &start, &end)).await.expect(201);
}

async fn a_released_hold_frees_its_slot(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(25));
    let hold = app.post(&holds_path(&org), &org.therapist.token, hold_body(&org, &start, &end)).await.expect(201);
    let hold_path = format!("{}/{}", holds_path(&org), hold["hold_id"].as_str().unwrap());
    let stranger = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.request(Method::DELETE, &hold_path, Some(&stranger.token), None).await.problem(403, "forbidden");
    app.request(Method::DELETE, &hold_path, Some(&org.therapist.token), None).await.expect(204);
    app.request(Method::DELETE, &hold_path, Some(&org.therapist.token), None).await.expect(204);
    app.post(&holds_path(&org), &org.admin.token, hold_body(&org, &start, &end)).await.expect(201);
}

async fn hold_input_is_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let good = hold_body(&org, &app.hours_from_now(24), &app.hours_from_now(25));
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("hold_seconds", json!(3601)), "hold_seconds"),
        (with("hold_seconds", json!(5)), "hold_seconds"),
        (with("ends_at", json!(app.hours_from_now(23))), "ends_at"),
        (with("ends_at", json!(app.hours_from_now(50))), "ends_at"),
        (with("starts_at", json!("soon")), "starts_at"),
        (with("client_id", json!(org.therapist.person_id)), "client_id"),
        (with("occurrences", json!([])), "occurrences"),
        (
            with("occurrences", json!([{ "starts_at": app.hours_from_now(30), "ends_at": "x" }])),
            "occurrences[0].ends_at",
        ),
        (
            with(
                "occurrences",
                json!([
                    { "starts_at": app.hours_from_now(30), "ends_at": app.hours_from_now(32) },
                    { "starts_at": app.hours_from_now(31), "ends_at": app.hours_from_now(33) },
                ]),
            ),
            "occurrences",
        ),
        (with("client_id", json!(org.admin.person_id)), "client_id"),
        (with("recurrence", json!({ "rrule": "FREQ=HOURLY;COUNT=3" })), "recurrence.rrule"),
        (with("recurrence", json!({ "rrule": "FREQ=WEEKLY" })), "recurrence.rrule"),
    ];
    for (body, field) in cases {
        let problem =
            app.post(&holds_path(&org), &org.admin.token, body.clone()).await.problem(422, "validation_failed");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
    }
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM holds").await, 0, "nothing was written");
}

async fn a_recurring_hold_repeats_the_local_time_across_dst(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (start, end) = (app.hours_from_now(24 * 7), app.hours_from_now(24 * 7 + 1));
    let mut body = hold_body(&org, &start, &end);
    body["recurrence"] = json!({ "rrule": "FREQ=WEEKLY;COUNT=20" });
    body["timezone"] = json!("America/New_York");
    let hold = app.post(&holds_path(&org), &org.admin.token, body).await.expect(201);
    let slots = hold["occurrences"].as_array().unwrap();
    assert_eq!(slots.len(), 20);
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let local = |s: &Value| s["starts_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().to_zoned(ny.clone());
    let first = local(&slots[0]);
    let offsets: std::collections::BTreeSet<i32> = slots.iter().map(|s| local(s).offset().seconds()).collect();
    assert_eq!(offsets.len(), 2, "twenty weeks from November cross the March change");
    assert!(slots.iter().all(|s| local(s).time() == first.time()), "same local time every week");
    let confirm = format!("{}/{}/confirm", holds_path(&org), hold["hold_id"].as_str().unwrap());
    let sessions = app.request(Method::POST, &confirm, Some(&org.admin.token), None).await.expect(201);
    assert_eq!(sessions["items"].as_array().unwrap().len(), 20);
}
