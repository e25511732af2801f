//! The offer e-mail's one-time link: the page shows the offer on GET and
//! acts on nothing (mail scanners fetch links), answers on POST from its own
//! page, and works once.

use circles_server::delivery::Worker;
use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::mail::SmtpSink;
use crate::support::TestApp;
use crate::waitlist::{full_session, seat_action, waitlist};

backend_tests!(an_offer_email_links_to_a_page_that_shows_on_get_and_answers_on_post);

async fn an_offer_email_links_to_a_page_that_shows_on_get_and_answers_on_post(backend: Backend) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(backend, move |s| {
        s.smtp_url = Some(url);
        s.mail_from = "Clinic <care@clinic.example>".into();
        s.delivery_coalesce_seconds = 0;
    })
    .await;
    let org = app.org("ol").await;
    let (_, session, members) = full_session(&app, &org).await;
    let body = json!({ "target": "GROUP_SESSION", "session_id": session, "urgency": "URGENT" });
    app.post(&waitlist(&org), &members[1].token, body).await.expect(201);
    seat_action(&app, &org, &session, &org.client, "leave").await.expect(200);
    let offer = app.live_offer(&org, &members[1]).await;
    let offer_path = format!("/api/v1/orgs/{}/offers/{}", org.id, offer["id"].as_str().unwrap());

    let worker = Worker::from_settings(app.store.clone(), app.clock.clone(), &app.state.settings).unwrap().unwrap();
    worker.drain().await.unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        let received = sink.received();
        let to_client = received.iter().filter(|m| m["rcpt"] == json!([members[1].email]));
        if let Some(found) = to_client.filter_map(|m| m["text"].as_str()).find(|t| t.contains("/offer-links/")) {
            text = found.to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(text.contains("Accept or decline the offer here"), "{text}");
    let at = text.find("/offer-links/").unwrap();
    let path: String = text[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    let page = format!("{}{path}", app.base);

    // Looking (twice, as a scanner and then the client) acts on nothing.
    for _ in 0..2 {
        let shown = app.client.get(&page).send().await.unwrap();
        assert_eq!(shown.status(), 200);
        let html = shown.text().await.unwrap();
        assert!(html.contains("Accept the place") && html.contains("Decline"), "{html}");
    }
    assert_eq!(app.get(&offer_path, &members[1].token).await.expect(200)["status"], "LIVE");

    let form = |origin: Option<&str>| {
        let mut req = app
            .client
            .post(&page)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("answer=accept&reason=");
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req
    };
    let foreign = form(Some("https://elsewhere.example")).send().await.unwrap();
    assert_eq!(foreign.status(), 403, "only this page's own form answers");
    assert_eq!(app.get(&offer_path, &members[1].token).await.expect(200)["status"], "LIVE");

    let answered = form(None).send().await.unwrap();
    assert_eq!(answered.status(), 200);
    assert!(answered.text().await.unwrap().contains("The place is yours"));
    let accepted = app.get(&offer_path, &members[1].token).await.expect(200);
    assert_eq!(
        (accepted["status"].as_str(), accepted["session_id"].as_str()),
        (Some("ACCEPTED"), Some(session.as_str()))
    );

    let again = app.client.get(&page).send().await.unwrap();
    assert_eq!(again.status(), 404, "the link worked once");
    assert_eq!(form(None).send().await.unwrap().status(), 404);
}
