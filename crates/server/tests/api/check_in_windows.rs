//! Check-in windows opening and closing reach the session's members live,
//! over the event stream, once each even when several servers run the job.

use std::time::Duration;

use circles_testkit::{Backend, backend_tests};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::json;

use crate::group_sessions::{proposal, respond, sessions};
use crate::live::{Frame, Listener};
use crate::support::TestApp;

backend_tests!(members_hear_a_check_in_window_open_and_close_once_each);

/// The check-in window events `listener` receives within `wait`, other
/// events (reminders, notices) passed over.
async fn window_events(listener: &mut Listener, wait: Duration) -> Vec<Frame> {
    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Some(frame) = listener.next_within(deadline - tokio::time::Instant::now()).await {
        if frame.event == "CHECK_IN_WINDOW" {
            found.push(frame);
        }
    }
    found
}

async fn members_hear_a_check_in_window_open_and_close_once_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("w").await;
    let group = app.community(&org, json!({}), &[]).await;
    let starts_at: Timestamp = app.hours_from_now(2).parse().unwrap();
    let body = proposal(&org, &group, &starts_at.to_string(), &[&org.therapist]);
    let made = app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
    let answered = respond(&app, &org, &org.therapist, &made, "accept").await.expect(200);
    let session = answered["session"]["id"].as_str().unwrap().to_owned();
    app.request(Method::POST, &format!("{}/{session}/join", sessions(&org)), Some(&org.client.token), None)
        .await
        .expect(200);
    let outsider = app.person(&org.id, &org.admin.token, "other@w.example", "client").await;
    app.enrol(&org, &group, &outsider.person_id).await;
    // Open an hour before the start, closed a quarter of an hour in.
    let body = json!({ "questionnaire_id": "mood", "phase": "BEFORE", "opens_minutes": -60, "closes_minutes": 15 });
    let check_in =
        app.post(&format!("{}/{session}/check-ins", sessions(&org)), &org.therapist.token, body).await.expect(201);
    let check_in = check_in["id"].as_str().unwrap().to_owned();
    // And one after the session: open from five minutes past its end.
    let ends_at: Timestamp = answered["session"]["ends_at"].as_str().unwrap().parse().unwrap();
    let body = json!({ "questionnaire_id": "mood", "phase": "AFTER", "opens_minutes": 5, "closes_minutes": 60 });
    let after =
        app.post(&format!("{}/{session}/check-ins", sessions(&org)), &org.therapist.token, body).await.expect(201);
    let after = after["id"].as_str().unwrap().to_owned();
    let mut member = Listener::open(&app.base, &org.client.token, None).await;
    let mut stranger = Listener::open(&app.base, &outsider.token, None).await;

    // Nothing before the window opens.
    assert_eq!(app.store.announce_check_in_windows().await.unwrap(), 0);
    app.clock.set(starts_at - SignedDuration::from_mins(59));
    circles_server::jobs::run_frequent(&app.state).await;
    let opened = window_events(&mut member, Duration::from_secs(2)).await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    let payload = &opened[0].data["payload"];
    assert_eq!((payload["edge"].as_str(), payload["check_in_id"].as_str()), (Some("OPENED"), Some(check_in.as_str())));
    assert_eq!(opened[0].data["session_id"], session.as_str());
    assert_eq!(payload["at"], (starts_at - SignedDuration::from_mins(60)).to_string());
    // Running the job again announces nothing twice.
    assert_eq!(app.store.announce_check_in_windows().await.unwrap(), 0);

    // Two servers' jobs at once at the close: one event between them.
    app.clock.set(starts_at + SignedDuration::from_mins(16));
    let (a, b) = tokio::join!(app.store.announce_check_in_windows(), app.store.announce_check_in_windows());
    assert_eq!(a.unwrap() + b.unwrap(), 1, "the marker row lets one job through");
    let closed = window_events(&mut member, Duration::from_secs(2)).await;
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].data["payload"]["edge"], "CLOSED");
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM check_in_window_events").await, 2);

    // The after-session window opens from the session's end, not its start.
    app.clock.set(ends_at + SignedDuration::from_mins(4));
    assert_eq!(app.store.announce_check_in_windows().await.unwrap(), 0, "not yet five minutes past the end");
    app.clock.set(ends_at + SignedDuration::from_mins(6));
    assert_eq!(app.store.announce_check_in_windows().await.unwrap(), 1);
    let opened = window_events(&mut member, Duration::from_secs(2)).await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        (opened[0].data["payload"]["edge"].as_str(), opened[0].data["payload"]["check_in_id"].as_str()),
        (Some("OPENED"), Some(after.as_str()))
    );

    // A member of the group without a seat in the session hears nothing.
    assert!(window_events(&mut stranger, Duration::from_millis(300)).await.is_empty());
}
