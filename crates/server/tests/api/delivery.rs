//! E-mail delivery over a real SMTP conversation: what people receive when a
//! session is booked, moved and cancelled, read back by an independent MIME
//! and iCalendar parser; and delivery surviving a server that is down, one
//! that hangs, and a worker killed mid-send.

use std::collections::HashMap;
use std::time::Duration;

use circles_domain::Clock;
use circles_domain::delivery::DeliveryState;
use circles_domain::ids::OrgId;
use circles_server::config::Settings;
use circles_server::delivery::Worker;
use circles_store::model::{Delivery, DeliveryFilter};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::booking::{booking, sessions_path};
use crate::mail::{SmtpSink, free_port};
use crate::support::{Org, TestApp};

backend_tests!(
    booking_moving_and_cancelling_send_calendar_email_over_smtp,
    a_server_down_for_a_while_gets_the_messages_once_it_is_back,
    a_server_that_hangs_times_out_and_the_retry_sends_the_same_message,
    a_worker_killed_mid_send_sends_again_once_with_the_same_message_id,
    the_delivery_bench_books_with_and_without_the_outbox_and_drains_to_a_real_server,
);

pub(crate) fn mail_settings(smtp_url: String) -> impl FnOnce(&mut Settings) {
    move |s| {
        s.smtp_url = Some(smtp_url);
        s.mail_from = "Clinic <care@clinic.example>".into();
        s.delivery_coalesce_seconds = 0;
        s.delivery_retry_seconds = 5;
        s.smtp_timeout_seconds = 2;
    }
}

pub(crate) fn worker(app: &TestApp) -> Worker {
    Worker::from_settings(app.store.clone(), app.clock.clone(), &app.state.settings).unwrap().expect("SMTP is set")
}

async fn deliveries(app: &TestApp, org: &Org) -> Vec<Delivery> {
    let org = OrgId(org.id.parse().unwrap());
    app.store.deliveries(org, DeliveryFilter { state: None, limit: 100, after: None }).await.unwrap()
}

/// The one message of `messages` sent to `email`.
fn to<'a>(messages: &'a [Value], email: &str) -> &'a Value {
    let found: Vec<_> = messages.iter().filter(|m| m["rcpt"] == json!([email])).collect();
    assert_eq!(found.len(), 1, "one message to {email} in {messages:#?}");
    found[0]
}

fn types(part: &Value) -> Value {
    match part["parts"].as_array() {
        Some(parts) => json!({ part["type"].as_str().unwrap(): parts.iter().map(types).collect::<Vec<_>>() }),
        None => part["type"].clone(),
    }
}

async fn booking_moving_and_cancelling_send_calendar_email_over_smtp(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    let org = app.org("m").await;
    let worker = worker(&app);

    // 18:00 in New York on Thursday 18 March 2027, daylight time.
    let session =
        app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);
    let session_id = session["id"].as_str().unwrap();
    assert_eq!(worker.drain().await.unwrap(), 2);
    let received = sink.wait_for(2).await;
    let invite = to(&received, &org.client.email);
    let ids: HashMap<_, _> =
        deliveries(&app, &org).await.into_iter().map(|d| (d.recipient_id.to_string(), d.id)).collect();
    assert_eq!(invite["message_id"], format!("<{}@clinic.example>", ids[&org.client.person_id]));
    assert_eq!(invite["subject"], "Your session on Thu 18 Mar at 18:00", "no clinical details in the subject");
    assert!(invite["to"].as_str().unwrap().contains(&org.client.email));
    assert_eq!(
        types(&invite["structure"]),
        json!({"multipart/mixed": [
            {"multipart/alternative": ["text/plain", "text/html", "text/calendar"]},
            "application/ics"
        ]})
    );
    let alternative = &invite["structure"]["parts"][0]["parts"];
    assert_eq!(alternative[2]["method"], "REQUEST");
    assert_eq!(invite["structure"]["parts"][1]["filename"], "invite.ics");
    let text = invite["text"].as_str().unwrap();
    assert!(text.contains("A session has been booked with you on Thursday 18 March 2027 at 18:00."), "{text}");
    assert!(text.contains("When: Thursday 18 March 2027, 18:00–18:50 (America/New_York)"), "{text}");
    let uid = format!("{session_id}@clinic.example");
    for calendar in invite["calendars"].as_array().unwrap() {
        assert_eq!(calendar["method"], "REQUEST", "the METHOD inside equals the MIME method");
        assert_eq!(calendar["timezones"], json!(["America/New_York"]));
        let event = &calendar["events"][0];
        assert_eq!(event["uid"], uid.as_str());
        assert_eq!(event["sequence"], 0);
        assert_eq!(event["status"], "CONFIRMED");
        assert_eq!(event["start"], "2027-03-18T22:00:00Z", "the session's instant");
        assert_eq!(event["end"], "2027-03-18T22:50:00Z");
        assert_eq!((&event["tzid"], &event["local_start"]), (&json!("America/New_York"), &json!("2027-03-18 18:00")));
        assert_eq!(event["organizer"], "mailto:care@clinic.example");
        assert!(event["attendees"].as_array().unwrap().contains(&json!(format!("mailto:{}", org.client.email))));
        assert!(event["attendees"].as_array().unwrap().contains(&json!(format!("mailto:{}", org.therapist.email))));
    }
    assert_eq!(invite["calendars"].as_array().unwrap().len(), 2, "the calendar part and the .ics attachment");

    // Moved a week on: the same UID, the next SEQUENCE.
    app.clock.advance(SignedDuration::from_secs(1));
    let moved = format!("{}/{session_id}/reschedule", sessions_path(&org));
    app.post(&moved, &org.admin.token, json!({"starts_at": "2027-03-25T22:00:00Z"})).await.expect(200);
    worker.drain().await.unwrap();
    let received = sink.wait_for(4).await;
    let update = to(&received[2..], &org.client.email);
    assert_eq!(update["subject"], "Moved: your session is now on Thu 25 Mar at 18:00");
    let event = &update["calendars"][0]["events"][0];
    assert_eq!(
        (&event["uid"], &event["sequence"], &event["start"]),
        (&json!(uid), &json!(1), &json!("2027-03-25T22:00:00Z"))
    );

    // Cancelled: METHOD:CANCEL, STATUS:CANCELLED, and a SEQUENCE above both.
    app.clock.advance(SignedDuration::from_secs(1));
    let cancel = format!("{}/{session_id}/cancel", sessions_path(&org));
    app.post(&cancel, &org.admin.token, json!({"reason": "Therapist unwell"})).await.expect(200);
    worker.drain().await.unwrap();
    let received = sink.wait_for(6).await;
    let cancelled = to(&received[4..], &org.client.email);
    assert_eq!(cancelled["subject"], "Cancelled: your session on Thu 25 Mar at 18:00");
    assert_eq!(cancelled["structure"]["parts"][0]["parts"][2]["method"], "CANCEL");
    assert_eq!(cancelled["structure"]["parts"][1]["filename"], "cancel.ics");
    for calendar in cancelled["calendars"].as_array().unwrap() {
        assert_eq!(calendar["method"], "CANCEL");
        let event = &calendar["events"][0];
        assert_eq!(
            (&event["uid"], &event["sequence"], &event["status"]),
            (&json!(uid), &json!(2), &json!("CANCELLED"))
        );
    }
    assert!(deliveries(&app, &org).await.iter().all(|d| d.state == DeliveryState::Sent));
}

async fn a_server_down_for_a_while_gets_the_messages_once_it_is_back(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_with(backend, mail_settings(format!("smtp://127.0.0.1:{port}"))).await;
    let org = app.org("d").await;
    let worker = worker(&app);
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);

    // Nobody listens: both attempts fail and wait their turn.
    assert_eq!(worker.drain().await.unwrap(), 2);
    let waiting = deliveries(&app, &org).await;
    assert!(waiting.iter().all(|d| d.state == DeliveryState::Pending && d.attempts == 1), "{waiting:#?}");
    assert!(waiting.iter().all(|d| d.last_error.is_some() && d.next_attempt_at > app.clock.now()));
    assert_eq!(worker.drain().await.unwrap(), 0, "not retried before their time");

    let sink = SmtpSink::start_on(port, 0);
    app.clock.advance(SignedDuration::from_secs(10));
    assert_eq!(worker.drain().await.unwrap(), 2);
    let received = sink.wait_for(2).await;
    let sent = deliveries(&app, &org).await;
    for d in &sent {
        assert_eq!((d.state, d.attempts), (DeliveryState::Sent, 2));
        let id = format!("<{}@clinic.example>", d.id);
        assert_eq!(received.iter().filter(|m| m["message_id"] == id.as_str()).count(), 1);
    }
}

async fn a_server_that_hangs_times_out_and_the_retry_sends_the_same_message(backend: Backend) {
    let mut sink = SmtpSink::start_on(free_port(), 1);
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    let org = app.org("h").await;
    let worker = worker(&app);
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);

    let started = std::time::Instant::now();
    assert_eq!(worker.drain().await.unwrap(), 2);
    assert!(started.elapsed() < Duration::from_secs(10), "a hanging server costs one timeout");
    let states: Vec<_> = deliveries(&app, &org).await.iter().map(|d| d.state).collect();
    assert!(states.contains(&DeliveryState::Pending) && states.contains(&DeliveryState::Sent), "{states:?}");

    sink.restart(0);
    app.clock.advance(SignedDuration::from_secs(10));
    assert_eq!(worker.drain().await.unwrap(), 1);
    let received = sink.wait_for(3).await;
    let hung = &received[0]["message_id"];
    assert_eq!(received.iter().filter(|m| m["message_id"] == *hung).count(), 2, "sent again as the same message");
    assert!(deliveries(&app, &org).await.iter().all(|d| d.state == DeliveryState::Sent));
}

async fn a_worker_killed_mid_send_sends_again_once_with_the_same_message_id(backend: Backend) {
    let mut sink = SmtpSink::start_on(free_port(), 1);
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    let org = app.org("k").await;
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);

    let mut process = std::process::Command::new(env!("CARGO_BIN_EXE_circles"))
        .arg("worker")
        .env("CIRCLES_DATABASE_URL", &app.db.url)
        .env("CIRCLES_MASTER_KEY_FILE", app.db.master_key_file())
        .env("CIRCLES_SMTP_URL", sink.url())
        .env("CIRCLES_MAIL_FROM", "Clinic <care@clinic.example>")
        .env("CIRCLES_DELIVERY_COALESCE_SECONDS", "0")
        .env("CIRCLES_DELIVERY_LEASE_SECONDS", "3")
        .env("CIRCLES_SMTP_TIMEOUT_SECONDS", "60")
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("starting circles worker");
    // One message is through, the other hangs: kill -9 the worker now.
    sink.wait_for(2).await;
    process.kill().unwrap();
    process.wait().unwrap();
    sink.restart(0);

    // The batch's claims run out and another worker sends it again.
    app.clock.set(jiff::Timestamp::now() + SignedDuration::from_secs(5));
    assert_eq!(worker(&app).drain().await.unwrap(), 2);
    let received = sink.wait_for(4).await;
    for d in deliveries(&app, &org).await {
        assert_eq!(d.state, DeliveryState::Sent);
        let id = format!("<{}@clinic.example>", d.id);
        assert_eq!(received.iter().filter(|m| m["message_id"] == id.as_str()).count(), 2, "at most once more");
    }
}

/// `circles bench delivery`, small: both booking latencies in one report,
/// and every queued e-mail at the SMTP server (a multi-process sink, as the
/// benchmark uses), each once.
async fn the_delivery_bench_books_with_and_without_the_outbox_and_drains_to_a_real_server(backend: Backend) {
    let sink = SmtpSink::start_with_workers(2);
    let dir = tempfile::tempdir().unwrap();
    // On PostgreSQL the bench makes a fresh database on the test's server.
    let app = TestApp::spawn(backend).await;
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("bench.db").display()),
        Backend::Postgres => app.db.url.clone(),
    };
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_circles"))
        .args(["bench", "delivery", "--database-url", &database_url, "--smtp-url", &sink.url(), "--messages", "40"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run circles bench delivery");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["booking_with_outbox"]["count"], 20, "{report}");
    assert_eq!(report["booking_without_outbox"]["count"], 20, "{report}");
    assert!(report["booking_without_outbox"]["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(report["outbox_adds_to_p50_percent"].is_number(), "{report}");
    assert_eq!(
        (&report["messages"], &report["sent"]),
        (&json!(40), &json!(40)),
        "only the bookings with an outbox owe mail"
    );
    let received = sink.wait_for(40).await;
    let mut ids: Vec<_> = received.iter().map(|m| m["message_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((received.len(), ids.len()), (40, 40), "each message once");
}
