//! Reminders before a session at each organisation's offsets (a day and an
//! hour before unless it chose others): each offset reminds once, in the
//! inbox and by e-mail as each person chose, however often and on however
//! many servers the reminder job runs.

use std::sync::Arc;

use circles_store::Store;
use circles_testkit::{Backend, backend_tests};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::json;

use crate::booking::{booking, sessions_path};
use crate::delivery::{mail_settings, worker};
use crate::mail::SmtpSink;
use crate::support::{Org, Response, TestApp};

backend_tests!(
    a_day_and_an_hour_before_each_remind_once_in_the_inbox_and_by_email,
    an_organisation_chooses_its_offsets_within_the_rules,
    two_workers_racing_remind_once,
);

/// 18:00 in New York on Thursday 18 March 2027.
const START: &str = "2027-03-18T22:00:00Z";

fn start() -> Timestamp {
    START.parse().unwrap()
}

async fn book(app: &TestApp, org: &Org) {
    app.post(&sessions_path(org), &org.admin.token, booking(org, START, 50)).await.expect(201);
}

async fn reminders(app: &TestApp, org: &Org) -> (usize, usize) {
    let count = |kinds: Vec<String>| kinds.iter().filter(|k| *k == "reminder").count();
    (count(app.inbox(org, &org.client).await), count(app.inbox(org, &org.therapist).await))
}

async fn at(app: &TestApp, before_start: SignedDuration) -> u64 {
    app.clock.set(start() - before_start);
    app.store.send_reminders().await.unwrap()
}

async fn a_day_and_an_hour_before_each_remind_once_in_the_inbox_and_by_email(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    let org = app.org("r").await;
    // The client wants reminders in the inbox only.
    let off = json!({ "channels": [{ "kind": "reminder", "channel": "email", "enabled": false }] });
    app.request(Method::PUT, "/api/v1/me/preferences", Some(&org.client.token), Some(off)).await.expect(200);
    book(&app, &org).await;
    let worker = worker(&app);
    worker.drain().await.unwrap();
    let booked = sink.wait_for(2).await.len();

    assert_eq!(at(&app, SignedDuration::from_mins(24 * 60 + 1)).await, 0, "not yet");
    assert_eq!(at(&app, SignedDuration::from_hours(24)).await, 1);
    assert_eq!(at(&app, SignedDuration::from_hours(23)).await, 0, "the day-before reminder went once");
    assert_eq!(reminders(&app, &org).await, (1, 1));
    worker.drain().await.unwrap();
    let received = sink.wait_for(booked + 1).await;
    let mail = &received[booked];
    assert_eq!(mail["rcpt"], json!([org.therapist.email]), "the client turned reminder e-mails off");
    assert_eq!(mail["subject"], "Reminder: your session on Thu 18 Mar at 18:00");

    assert_eq!(at(&app, SignedDuration::from_mins(59)).await, 1, "an hour before");
    assert_eq!(at(&app, SignedDuration::from_mins(10)).await, 0);
    assert_eq!(reminders(&app, &org).await, (2, 2));
    worker.drain().await.unwrap();
    assert_eq!(sink.wait_for(booked + 2).await.len(), booked + 2);
    assert_eq!(at(&app, SignedDuration::from_mins(-5)).await, 0, "nothing once it started");
    assert_eq!(worker.drain().await.unwrap(), 0);
    assert_eq!(sink.received().len(), booked + 2);
}

async fn an_organisation_chooses_its_offsets_within_the_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let path = format!("/api/v1/orgs/{}/settings", org.id);
    let settings = app.get(&path, &org.admin.token).await.expect(200);
    assert_eq!(settings["reminder_offsets_minutes"], json!([1440, 60]));
    assert_eq!(settings["reminder_offsets_words"], json!(["24 hours", "1 hour"]));

    let patch = |body| app.request(Method::PATCH, &path, Some(&org.admin.token), Some(body));
    for bad in [json!([]), json!([4]), json!([20161]), json!([60, 60]), json!([5, 10, 15, 20, 25])] {
        let refused = patch(json!({ "reminder_offsets_minutes": bad })).await.problem(422, "validation_failed");
        assert_eq!(Response::fields(&refused), ["reminder_offsets_minutes"], "{bad}");
    }
    let saved = patch(json!({ "reminder_offsets_minutes": [30, 2880] })).await.expect(200);
    assert_eq!(saved["reminder_offsets_minutes"], json!([2880, 30]));
    assert_eq!(saved["reminder_offsets_words"], json!(["2 days", "30 minutes"]));
    let path_of_client = format!("/api/v1/orgs/{}/settings", org.id);
    app.get(&path_of_client, &org.client.token).await.problem(403, "forbidden");

    book(&app, &org).await;
    assert_eq!(at(&app, SignedDuration::from_hours(48)).await, 1, "two days before");
    assert_eq!(at(&app, SignedDuration::from_hours(24)).await, 0, "a day before is no longer an offset");
    assert_eq!(at(&app, SignedDuration::from_mins(30)).await, 1);
    assert_eq!(reminders(&app, &org).await, (2, 2));
}

async fn two_workers_racing_remind_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    book(&app, &org).await;
    app.clock.set(start() - SignedDuration::from_hours(2));
    let other: Arc<dyn Store> = app.db.store(app.clock.clone()).await;
    let mut reminded = 0;
    for _ in 0..3 {
        let (a, b) = tokio::join!(app.store.send_reminders(), other.send_reminders());
        reminded += a.unwrap() + b.unwrap();
    }
    assert_eq!(reminded, 1, "one of them reminded, once");
    assert_eq!(reminders(&app, &org).await, (1, 1));
}
