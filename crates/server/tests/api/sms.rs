//! Texts through an HTTP SMS gateway. No real SMS provider can be reached
//! here, so the gateway is a local HTTP server the test starts (axum on a
//! real TCP port): it records every call and can answer 503 for a while.
//! E-mail goes into a folder meanwhile, so only texts are on the wire.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use circles_domain::delivery::{Channel, DeliveryState};
use circles_domain::ids::OrgId;
use circles_store::model::{Delivery, DeliveryFilter};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::booking::{booking, sessions_path};
use crate::delivery::worker;
use crate::mail::free_port;
use crate::support::{Response, TestApp};
use crate::waitlist::{full_session, seat_action, waitlist};

backend_tests!(
    people_who_ask_for_texts_get_short_ones_with_names_and_local_times,
    a_number_is_checked_and_needed_for_texts,
    a_gateway_that_is_down_or_failing_gets_the_text_once_it_is_back,
    an_offer_text_carries_its_own_one_time_link,
);

const TOKEN: &str = "tok_gateway_credential";

/// A local stand-in for an SMS gateway: every call it answers, and how many
/// more it fails with 503 before accepting.
#[derive(Clone, Default)]
struct Gateway {
    calls: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicUsize>,
}

impl Gateway {
    async fn start(port: u16, failing: usize) -> Self {
        let gateway = Gateway::default();
        gateway.failing.store(failing, Ordering::SeqCst);
        let app = axum::Router::new().route("/send", axum::routing::post(receive)).with_state(gateway.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        gateway
    }

    fn calls(&self) -> Vec<Value> {
        self.calls.lock().unwrap().clone()
    }
}

async fn receive(State(gateway): State<Gateway>, headers: HeaderMap, body: axum::Json<Value>) -> StatusCode {
    let failing = gateway.failing.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    gateway.calls.lock().unwrap().push(json!({
        "authorization": header("authorization"),
        "idempotency_key": header("idempotency-key"),
        "body": body.0,
        "answered": if failing { 503 } else { 200 },
    }));
    if failing { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
}

async fn spawn(backend: Backend, gateway_port: u16, mail: &tempfile::TempDir) -> TestApp {
    let dir = mail.path().to_owned();
    TestApp::spawn_with(backend, move |s| {
        s.mail_dir = Some(dir);
        s.mail_from = "Clinic <care@clinic.example>".into();
        s.sms_gateway_url = Some(format!("http://127.0.0.1:{gateway_port}/send"));
        s.sms_gateway_token = Some(circles_server::config::Secret::new(TOKEN));
        s.sms_from = "Clinic".into();
        s.sms_timeout_seconds = 2;
        s.delivery_coalesce_seconds = 0;
        s.delivery_retry_seconds = 5;
    })
    .await
}

async fn put_preferences(app: &TestApp, token: &str, body: Value) -> Response {
    app.request(Method::PUT, "/api/v1/me/preferences", Some(token), Some(body)).await
}

/// Texts for bookings, to this number.
async fn ask_for_texts(app: &TestApp, token: &str, phone: &str) -> Value {
    let body = json!({ "phone": phone, "channels": [{ "kind": "session_booked", "channel": "sms", "enabled": true }] });
    put_preferences(app, token, body).await.expect(200)
}

async fn texts(app: &TestApp, org: &str) -> Vec<Delivery> {
    let org = OrgId(org.parse().unwrap());
    let all = app.store.deliveries(org, DeliveryFilter { state: None, limit: 100, after: None }).await.unwrap();
    all.into_iter().filter(|d| d.channel == Channel::Sms).collect()
}

async fn people_who_ask_for_texts_get_short_ones_with_names_and_local_times(backend: Backend) {
    let port = free_port();
    let gateway = Gateway::start(port, 0).await;
    let mail = tempfile::tempdir().unwrap();
    let app = spawn(backend, port, &mail).await;
    let org = app.org("s").await;
    let saved = ask_for_texts(&app, &org.client.token, " +1 (415) 555-0123 ").await;
    assert_eq!(saved["phone"], "+14155550123", "kept in E.164 form");
    let choice =
        saved["channels"].as_array().unwrap().iter().find(|c| c["kind"] == "session_booked" && c["channel"] == "sms");
    assert_eq!(choice, Some(&json!({"kind": "session_booked", "channel": "sms", "enabled": true, "essential": false})));

    // 18:00 in New York on Thursday 18 March 2027.
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);
    assert_eq!(worker(&app).drain().await.unwrap(), 3, "an e-mail each, and one text for the client who asked");

    let calls = gateway.calls();
    assert_eq!(calls.len(), 1, "the therapist did not ask for texts: {calls:#?}");
    let call = &calls[0];
    assert_eq!(call["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!((&call["body"]["to"], &call["body"]["from"]), (&json!("+14155550123"), &json!("Clinic")));
    assert_eq!(
        call["body"]["text"], "Clinic s: Hello A client. Your session on Thu 18 Mar at 18:00, with A therapist.",
        "short, with names and the local time, and nothing clinical"
    );
    let sent = texts(&app, &org.id).await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].state, sent[0].recipient_id.to_string()), (DeliveryState::Sent, org.client.person_id.clone()));
    assert_eq!(call["idempotency_key"], sent[0].id.to_string(), "the delivery's id, stable across attempts");
    assert_eq!(call["body"]["id"], sent[0].id.to_string());
    assert_eq!(std::fs::read_dir(mail.path()).unwrap().count(), 2, "the e-mails went as before");

    // Turned off again: the next booking sends no text.
    let off = json!({ "phone": "+14155550123", "channels": [] });
    put_preferences(&app, &org.client.token, off).await.expect(200);
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-25T22:00:00Z", 50)).await.expect(201);
    assert_eq!(worker(&app).drain().await.unwrap(), 2);
    assert_eq!(gateway.calls().len(), 1);
}

async fn a_number_is_checked_and_needed_for_texts(backend: Backend) {
    let mail = tempfile::tempdir().unwrap();
    let app = spawn(backend, free_port(), &mail).await;
    let org = app.org("n").await;
    let token = org.client.token.as_str();
    let wrong = json!({ "phone": "415-555-0123", "channels": [] });
    let problem = put_preferences(&app, token, wrong).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["phone"]);
    assert!(problem.to_string().contains("country code"), "{problem}");
    let letters = json!({ "phone": "+1 415 CALL ME", "channels": [] });
    assert_eq!(
        Response::fields(&put_preferences(&app, token, letters).await.problem(422, "validation_failed")),
        ["phone"]
    );
    let nowhere = json!({ "channels": [{ "kind": "reminder", "channel": "sms", "enabled": true }] });
    let problem = put_preferences(&app, token, nowhere).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["phone"]);
    assert!(problem.to_string().contains("needed to send you texts"), "{problem}");
    let prefs = app.get("/api/v1/me/preferences", token).await.expect(200);
    assert_eq!(prefs["phone"], json!(null), "nothing half-written");

    // A text about a cancellation may be refused; its e-mail may not.
    let choose = |channel: &str| json!({ "phone": "+351912345678", "channels": [{ "kind": "session_cancelled", "channel": channel, "enabled": false }] });
    put_preferences(&app, token, choose("sms")).await.expect(200);
    let refused = put_preferences(&app, token, choose("email")).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&refused), ["channels[0].enabled"]);
}

async fn a_gateway_that_is_down_or_failing_gets_the_text_once_it_is_back(backend: Backend) {
    let port = free_port();
    let mail = tempfile::tempdir().unwrap();
    let app = spawn(backend, port, &mail).await;
    let org = app.org("d").await;
    ask_for_texts(&app, &org.client.token, "+14155550123").await;
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);
    let worker = worker(&app);

    // Nobody listens: the text waits its turn, with why.
    assert_eq!(worker.drain().await.unwrap(), 3);
    let waiting = texts(&app, &org.id).await;
    assert_eq!((waiting[0].state, waiting[0].attempts), (DeliveryState::Pending, 1), "{waiting:#?}");
    assert!(waiting[0].last_error.as_deref().is_some_and(|e| e.contains("SMS gateway")), "{waiting:#?}");
    assert!(!waiting[0].last_error.as_deref().unwrap().contains(TOKEN));
    assert_eq!(worker.drain().await.unwrap(), 0, "not retried before its time");

    // Back, but failing once more, then accepting.
    let gateway = Gateway::start(port, 1).await;
    app.clock.advance(SignedDuration::from_secs(10));
    assert_eq!(worker.drain().await.unwrap(), 1);
    let failed_again = texts(&app, &org.id).await;
    assert_eq!((failed_again[0].state, failed_again[0].attempts), (DeliveryState::Pending, 2));
    assert!(failed_again[0].last_error.as_deref().unwrap().contains("503"), "{failed_again:#?}");
    app.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(worker.drain().await.unwrap(), 1);

    let sent = texts(&app, &org.id).await;
    assert_eq!((sent[0].state, sent[0].attempts), (DeliveryState::Sent, 3));
    let calls = gateway.calls();
    assert_eq!(calls.iter().map(|c| c["answered"].as_u64().unwrap()).collect::<Vec<_>>(), [503, 200]);
    assert!(calls.iter().all(|c| c["idempotency_key"] == sent[0].id.to_string()), "one text, one key: {calls:#?}");
    assert_eq!(worker.drain().await.unwrap(), 0, "sent once");
}

async fn an_offer_text_carries_its_own_one_time_link(backend: Backend) {
    let port = free_port();
    let gateway = Gateway::start(port, 0).await;
    let mail = tempfile::tempdir().unwrap();
    let app = spawn(backend, port, &mail).await;
    let org = app.org("o").await;
    let (_, session, members) = full_session(&app, &org).await;
    let texts_for_offers = json!({ "phone": "+447700900123", "channels": [{ "kind": "waitlist_offer", "channel": "sms", "enabled": true }] });
    put_preferences(&app, &members[1].token, texts_for_offers).await.expect(200);
    let body = json!({ "target": "GROUP_SESSION", "session_id": session, "urgency": "URGENT" });
    app.post(&waitlist(&org), &members[1].token, body).await.expect(201);
    seat_action(&app, &org, &session, &org.client, "leave").await.expect(200);
    app.live_offer(&org, &members[1]).await;
    worker(&app).drain().await.unwrap();

    let calls = gateway.calls();
    let offer = calls.iter().find(|c| c["body"]["to"] == "+447700900123").unwrap_or_else(|| panic!("{calls:#?}"));
    let text = offer["body"]["text"].as_str().unwrap();
    assert!(text.starts_with("Clinic o: Hello A client."), "{text}");
    let title =
        app.get(&format!("/api/v1/orgs/{}/sessions/{session}", org.id), &org.admin.token).await.expect(200)["title"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(!text.contains(&title), "no session title in a text: {text}");
    let link = text.split_once("Accept or decline (works once): ").map(|(_, l)| l).unwrap_or_else(|| panic!("{text}"));
    // Links point at the server's public address; this test's server listens elsewhere.
    let path = &link[link.find("/offer-links/").unwrap_or_else(|| panic!("{text}"))..];
    assert!(path.starts_with(&format!("/offer-links/{}/cio_", org.id)), "{text}");
    let page = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Accept the place"), "the link opens the offer");
}
