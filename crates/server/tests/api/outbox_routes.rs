//! The outbox over HTTP: admins list failed messages and retry one; people
//! set the zone and the e-mails they get.

use circles_server::delivery::Worker;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::booking::{booking, sessions_path};
use crate::mail::free_port;
use crate::support::{Response, TestApp};

backend_tests!(admins_list_failed_messages_and_retry_one, people_choose_their_zone_and_which_emails_they_get);

async fn admins_list_failed_messages_and_retry_one(backend: Backend) {
    let closed = free_port();
    let app = TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"));
        s.delivery_coalesce_seconds = 0;
        s.delivery_max_attempts = 1;
    })
    .await;
    let org = app.org("f").await;
    let other = app.org("g").await;
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);
    let worker = Worker::from_settings(app.store.clone(), app.clock.clone(), &app.state.settings).unwrap().unwrap();
    assert_eq!(worker.drain().await.unwrap(), 2);

    let path = format!("/api/v1/orgs/{}/deliveries", org.id);
    let failed = app.get(&format!("{path}?state=FAILED"), &org.admin.token).await.expect(200);
    let items = failed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let to_client = items.iter().find(|d| d["recipient_id"] == org.client.person_id.as_str()).unwrap();
    assert_eq!(
        (&to_client["kind"], &to_client["channel"], &to_client["attempts"]),
        (&json!("session_booked"), &json!("email"), &json!(1))
    );
    assert!(to_client["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(to_client["recipient_name"].as_str().is_some());
    assert!(to_client["created_at_local"].as_str().unwrap().ends_with("EST"), "{to_client}");
    assert!(
        app.get(&format!("{path}?state=sent"), &org.admin.token).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    app.get(&path, &org.therapist.token).await.problem(403, "forbidden");
    app.get(&path, &other.admin.token).await.problem(404, "not_found");
    let bad = app.get(&format!("{path}?state=lost"), &org.admin.token).await.problem(400, "invalid_query");
    assert!(bad.to_string().contains("state"), "{bad}");

    let retry = format!("{path}/{}/retry", to_client["id"].as_str().unwrap());
    app.post(&retry, &other.admin.token, json!({})).await.problem(404, "not_found");
    let retried = app.post(&retry, &org.admin.token, json!({})).await.expect(200);
    assert_eq!((&retried["state"], &retried["attempts"]), (&json!("pending"), &json!(0)));
    app.post(&retry, &org.admin.token, json!({})).await.problem(409, "delivery_not_failed");
}

async fn people_choose_their_zone_and_which_emails_they_get(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("p").await;
    let token = org.client.token.as_str();
    let defaults = app.get("/api/v1/me/preferences", token).await.expect(200);
    assert_eq!(defaults["timezone"], json!(null));
    assert_eq!(app.get("/api/v1/me", token).await.expect(200)["timezone"], json!(null), "the organisation's zone");
    let reminder = defaults["channels"].as_array().unwrap().iter().find(|c| c["kind"] == "reminder").unwrap();
    assert_eq!(reminder, &json!({"kind": "reminder", "channel": "email", "enabled": true, "essential": false}));

    let put = |body| app.request(Method::PUT, "/api/v1/me/preferences", Some(token), Some(body));
    let saved = put(json!({
        "timezone": "Europe/Lisbon",
        "channels": [{"kind": "reminder", "channel": "email", "enabled": false}]
    }))
    .await
    .expect(200);
    assert_eq!(saved["timezone"], "Europe/Lisbon");
    assert_eq!(app.get("/api/v1/me", token).await.expect(200)["timezone"], "Europe/Lisbon", "pages read it from /me");
    let read = app.get("/api/v1/me/preferences", token).await.expect(200);
    assert_eq!(read, saved);
    let email = |c: &&Value| c["channel"] == "email";
    let off: Vec<_> =
        read["channels"].as_array().unwrap().iter().filter(email).filter(|c| c["enabled"] == false).collect();
    assert_eq!(off.len(), 1);
    assert_eq!(off[0]["kind"], "reminder");

    let refused = put(json!({
        "timezone": "Mars/Olympus",
        "channels": [
            {"kind": "session_cancelled", "channel": "email", "enabled": false},
            {"kind": "gossip", "channel": "email", "enabled": false},
            {"kind": "reminder", "channel": "pigeon", "enabled": true}
        ]
    }))
    .await
    .problem(422, "validation_failed");
    assert_eq!(
        Response::fields(&refused),
        ["timezone", "channels[0].enabled", "channels[1].kind", "channels[2].channel"]
    );
    assert_eq!(app.get("/api/v1/me/preferences", token).await.expect(200), saved, "nothing half-written");
}
