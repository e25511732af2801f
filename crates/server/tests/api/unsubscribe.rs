//! One-click unsubscribe (RFC 8058): an e-mail of a kind a person may turn
//! off carries `List-Unsubscribe` with `List-Unsubscribe-Post`; a mail
//! program's POST to it (no cookie, no origin) turns that kind's e-mail off
//! for the person; opening the link changes nothing; essential messages
//! carry no such link; the link's token is stored only as a hash.

use circles_server::delivery::Worker;
use circles_testkit::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::mail::SmtpSink;
use crate::secrets_at_rest::{database_bytes, occurrences};
use crate::support::TestApp;
use crate::waitlist::{full_session, seat_action};

backend_tests!(an_email_a_person_may_refuse_unsubscribes_them_in_one_click);

fn choice(prefs: &Value, kind: &str) -> bool {
    let found = prefs["channels"].as_array().unwrap().iter().find(|c| c["kind"] == kind && c["channel"] == "email");
    found.unwrap()["enabled"].as_bool().unwrap()
}

async fn an_email_a_person_may_refuse_unsubscribes_them_in_one_click(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(backend, move |s| {
        s.smtp_url = Some(url);
        s.mail_from = "Clinic <care@clinic.example>".into();
        s.delivery_coalesce_seconds = 0;
    })
    .await;
    let org = app.org("un").await;
    let (_, session, members) = full_session(&app, &org).await;
    let worker = Worker::from_settings(app.store.clone(), app.clock.clone(), &app.state.settings).unwrap().unwrap();
    worker.drain().await.unwrap();

    // The member who took a seat was told by e-mail, with a link to stop
    // such e-mails in the headers and in the text.
    let mut confirmation = Value::Null;
    for _ in 0..100 {
        let received = sink.received();
        if let Some(found) =
            received.iter().find(|m| m["rcpt"] == json!([members[0].email]) && !m["list_unsubscribe"].is_null())
        {
            confirmation = found.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let header = confirmation["list_unsubscribe"].as_str().expect("a List-Unsubscribe header");
    assert_eq!(confirmation["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let written = header.trim_start_matches('<').trim_end_matches('>');
    assert!(confirmation["text"].as_str().unwrap().contains(&format!("To stop e-mails like this one: {written}")));
    // Links point at the configured public address; the test server listens elsewhere.
    let at = written.find("/unsubscribe/ciu_").expect(written);
    let link = format!("{}{}", app.base, &written[at..]);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(occurrences(&database_bytes(&app), token), 0, "the link's token is stored only as a hash");

    // Essential messages (where the person has to be) carry no such link.
    let essential = sink.received();
    let cancelled_or_booked =
        essential.iter().filter(|m| m["subject"].as_str().unwrap_or("").starts_with("Your session"));
    for message in cancelled_or_booked.filter(|m| m["calendars"].as_array().is_some_and(|c| !c.is_empty())) {
        assert!(message["list_unsubscribe"].is_null(), "an invitation cannot be unsubscribed from: {message:#}");
    }

    // Opening the link (a scanner, then the person) changes nothing.
    let before = app.get("/api/v1/me/preferences", &members[0].token).await.expect(200);
    assert!(choice(&before, "seat_confirmed"), "every kind is sent until refused");
    for _ in 0..2 {
        let shown = app.client.get(&link).send().await.unwrap();
        assert_eq!(shown.status(), 200);
        assert!(shown.text().await.unwrap().contains("Stop e-mails like this?"));
    }
    let still = app.get("/api/v1/me/preferences", &members[0].token).await.expect(200);
    assert!(choice(&still, "seat_confirmed"));

    // The mail program's one-click POST: no cookie, no origin, no token.
    let clicked = app
        .client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(clicked.status(), 200);
    assert!(clicked.text().await.unwrap().contains("You are unsubscribed"));
    let after = app.get("/api/v1/me/preferences", &members[0].token).await.expect(200);
    assert!(!choice(&after, "seat_confirmed"), "that kind is off");
    let others: Vec<_> =
        after["channels"].as_array().unwrap().iter().filter(|c| c["kind"] != "seat_confirmed").collect();
    let email = |c: &&&serde_json::Value| c["channel"] == "email";
    assert!(others.iter().filter(email).all(|c| c["enabled"] == true), "nothing else changed: {others:?}");
    assert!(others.iter().filter(|c| c["channel"] == "sms").all(|c| c["enabled"] == false), "texts stay off");
    let again = app.client.post(&link).body("List-Unsubscribe=One-Click").send().await.unwrap();
    assert_eq!(again.status(), 200, "unsubscribing twice changes nothing and says so");

    // The next seat confirmation is not e-mailed; the inbox still has it.
    seat_action(&app, &org, &session, &members[0], "leave").await.expect(200);
    seat_action(&app, &org, &session, &members[0], "join").await.expect(200);
    let count_before = sink.received().len();
    worker.drain().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let to_member: Vec<_> =
        sink.received().into_iter().skip(count_before).filter(|m| m["rcpt"] == json!([members[0].email])).collect();
    assert!(to_member.iter().all(|m| m["list_unsubscribe"].is_null()), "no refused kind was e-mailed: {to_member:#?}");

    // An unknown link is 404, looked at or posted to.
    let unknown = app.client.post(format!("{}/unsubscribe/ciu_nothing", app.base)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(app.client.get(format!("{}/unsubscribe/ciu_nothing", app.base)).send().await.unwrap().status(), 404);
}
