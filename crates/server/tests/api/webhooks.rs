//! Webhooks against a local receiver that verifies every call with the
//! independent `standardwebhooks` package: signing, the retry schedule,
//! secret rotation with two signatures, redelivery with the same id, the
//! delivery log, an endpoint disabled after days of failure with the admins
//! told, and private targets refused unless allowed.

use circles_server::delivery::webhooks::{WebhookWorker, spawn_idling};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::booking::{booking, sessions_path};
use crate::support::{Org, Response, TestApp};
use crate::webhook_receiver::Receiver;

backend_tests!(
    webhooks_are_signed_retried_rotated_redelivered_and_disabled_after_days_of_failure,
    a_commit_wakes_the_webhook_worker_at_once,
    webhook_targets_and_input_are_checked_and_only_admins_see_webhooks,
);

fn hooks(org: &Org) -> String {
    format!("/api/v1/orgs/{}/webhooks", org.id)
}

async fn log(app: &TestApp, org: &Org, hook: &str) -> Vec<Value> {
    app.get(&format!("{}/{hook}/deliveries", hooks(org)), &org.admin.token).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A worker that would otherwise sleep for an hour calls the endpoint as
/// soon as the booking that owes the call commits.
async fn a_commit_wakes_the_webhook_worker_at_once(backend: Backend) {
    let receiver = Receiver::start();
    let app = TestApp::spawn_with(backend, |s| s.allow_private_webhooks = true).await;
    let org = app.org("wake").await;
    let body = json!({ "url": receiver.url(), "event_types": ["session_booked"], "description": "" });
    let created = app.post(&hooks(&org), &org.admin.token, body).await.expect(201);
    receiver.trust(&[created["secret"].as_str().unwrap()]);
    let worker = spawn_idling(WebhookWorker::new(&app.state), std::time::Duration::from_secs(3600));
    // Its first pass finds nothing; from then on only a commit wakes it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(receiver.calls().is_empty());
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);
    let mut calls = Vec::new();
    for _ in 0..200 {
        calls = receiver.calls();
        if !calls.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    worker.abort();
    assert_eq!(calls.len(), 1, "the booking's call was made without waiting for the hour");
    assert_eq!(calls[0]["verified"], json!([true]), "standardwebhooks verifies the signature");
}

async fn webhooks_are_signed_retried_rotated_redelivered_and_disabled_after_days_of_failure(backend: Backend) {
    let receiver = Receiver::start();
    let app = TestApp::spawn_with(backend, |s| s.allow_private_webhooks = true).await;
    let org = app.org("w").await;
    let worker = WebhookWorker::new(&app.state);
    let created = app
        .post(
            &hooks(&org),
            &org.admin.token,
            json!({ "url": receiver.url(), "event_types": ["SESSION_BOOKED", "session_cancelled"], "description": "EHR sync" }),
        )
        .await
        .expect(201);
    let hook = created["id"].as_str().unwrap();
    let first_secret = created["secret"].as_str().unwrap().to_owned();
    assert!(first_secret.starts_with("whsec_"));
    receiver.trust(&[&first_secret]);

    // A booking tells two people: one event. The first call meets a 500.
    receiver.fail_next(1);
    let session =
        app.post(&sessions_path(&org), &org.admin.token, booking(&org, "2027-03-18T22:00:00Z", 50)).await.expect(201);
    let session_id = session["id"].as_str().unwrap();
    assert_eq!(worker.drain().await.unwrap(), 1);
    let entry = &log(&app, &org, hook).await[0];
    assert_eq!((entry["state"].as_str(), entry["attempts"].as_u64()), (Some("pending"), Some(1)));
    assert_eq!(entry["response_status"], 500);
    assert_eq!(worker.drain().await.unwrap(), 0, "the retry waits five seconds");
    app.clock.advance(SignedDuration::from_secs(5));
    assert_eq!(worker.drain().await.unwrap(), 1);
    let calls = receiver.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], calls[1]["id"], "a retry carries the same webhook-id");
    assert_eq!(calls[1]["verified"], json!([true]), "standardwebhooks verifies the signature");
    let payload = &calls[1]["payload"];
    assert_eq!(payload["type"], "session_booked");
    assert_eq!(payload["data"]["session_id"], session_id);
    assert!(!payload.to_string().contains("Weekly check-in"), "no titles or free text: {payload}");
    let entry = &log(&app, &org, hook).await[0];
    assert_eq!((entry["state"].as_str(), entry["id"].as_str()), (Some("sent"), calls[1]["id"].as_str()));

    // After a rotation, calls carry both signatures for a while.
    let rotated =
        app.post(&format!("{}/{hook}/rotate-secret", hooks(&org)), &org.admin.token, json!({})).await.expect(200);
    let second_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(second_secret, first_secret);
    receiver.trust(&[&first_secret, second_secret]);
    app.post(&format!("{}/{session_id}/cancel", sessions_path(&org)), &org.admin.token, json!({ "reason": "Ill" }))
        .await
        .expect(200);
    worker.drain().await.unwrap();
    let calls = receiver.calls();
    let cancel = &calls[2];
    assert_eq!(cancel["payload"]["type"], "session_cancelled");
    assert_eq!(cancel["signatures"].as_array().unwrap().len(), 2);
    assert_eq!(cancel["verified"], json!([true, true]), "either secret verifies");

    // Redelivery sends the same message again.
    let message = cancel["id"].as_str().unwrap();
    let redeliver = format!("{}/{hook}/deliveries/{message}/redeliver", hooks(&org));
    app.post(&redeliver, &org.admin.token, json!({})).await.expect(200);
    worker.drain().await.unwrap();
    assert_eq!(receiver.calls()[3]["id"], message);

    // An endpoint that fails for five days is switched off and the admins told.
    receiver.fail_next(100);
    app.post(&redeliver, &org.admin.token, json!({})).await.expect(200);
    worker.drain().await.unwrap();
    let listed = app.get(&hooks(&org), &org.admin.token).await.expect(200);
    assert!(listed["items"][0]["failing_since"].is_string());
    assert_eq!(listed["items"][0]["enabled"], true);
    app.clock.advance(SignedDuration::from_hours(5 * 24));
    app.post(&redeliver, &org.admin.token, json!({})).await.expect(200);
    worker.drain().await.unwrap();
    let listed = app.get(&hooks(&org), &org.admin.token).await.expect(200);
    assert_eq!(listed["items"][0]["enabled"], false);
    assert!(app.inbox(&org, &org.admin).await.contains(&"webhook_disabled".to_owned()));
    app.post(&redeliver, &org.admin.token, json!({})).await.expect(200);
    assert_eq!(worker.drain().await.unwrap(), 0, "a disabled endpoint is not called");

    // Switched on again, it is called.
    receiver.fail_next(0);
    let path = format!("{}/{hook}", hooks(&org));
    let on = app.request(Method::PATCH, &path, Some(&org.admin.token), Some(json!({ "enabled": true }))).await;
    assert_eq!(on.expect(200)["enabled"], true);
    assert_eq!(worker.drain().await.unwrap(), 1);
    app.request(Method::DELETE, &path, Some(&org.admin.token), None).await.expect(204);
    assert_eq!(app.get(&hooks(&org), &org.admin.token).await.expect(200)["items"], json!([]));
}

async fn webhook_targets_and_input_are_checked_and_only_admins_see_webhooks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("v").await;
    for url in ["http://127.0.0.1:9/hooks", "http://localhost/hooks", "http://10.0.0.7/hooks", "ftp://x.example/"] {
        let refused =
            app.post(&hooks(&org), &org.admin.token, json!({ "url": url, "event_types": ["reminder"] })).await;
        assert_eq!(Response::fields(&refused.problem(422, "validation_failed")), ["url"], "{url}");
    }
    let bad =
        app.post(&hooks(&org), &org.admin.token, json!({ "url": "http://127.0.0.1/", "event_types": ["nope"] })).await;
    assert_eq!(Response::fields(&bad.problem(422, "validation_failed")), ["url", "event_types[0]"]);
    app.get(&hooks(&org), &org.therapist.token).await.problem(404, "not_found");
    app.post(&hooks(&org), &org.client.token, json!({ "url": "http://x/", "event_types": [] }))
        .await
        .problem(404, "not_found");
    let stranger = app.org("u").await;
    app.get(&hooks(&org), &stranger.admin.token).await.problem(404, "not_found");
}
