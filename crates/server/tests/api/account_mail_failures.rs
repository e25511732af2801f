//! Account e-mail that fails for good is not lost from sight: an
//! organisation's invitation to join shows on its admins' failed messages
//! (API and page) and is sent again from there; a password reset, which
//! belongs to no organisation, shows to the operator (`circles admin
//! failed-mail`) and is sent again with `circles admin retry-mail`.

use std::process::Command;

use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::json;

use crate::delivery::{mail_settings, worker};
use crate::mail::{SmtpSink, free_port};
use crate::support::TestApp;

backend_tests!(
    a_failed_invitation_email_is_listed_for_the_organisations_admins_and_sent_again,
    a_failed_password_reset_email_is_listed_for_the_operator_and_sent_again,
);

/// Delivery to a port nobody listens on, giving up after one attempt.
fn failing(port: u16) -> impl FnOnce(&mut circles_server::config::Settings) {
    move |s| {
        mail_settings(format!("smtp://127.0.0.1:{port}"))(s);
        s.delivery_max_attempts = 1;
    }
}

fn cli(app: &TestApp, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_circles"))
        .arg("admin")
        .args(args)
        .args(["--database-url", &app.db.url])
        .env_remove("CIRCLES_CONFIG")
        .env("CIRCLES_MASTER_KEY_FILE", app.db.master_key_file())
        .output()
        .expect("run circles");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "circles admin {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

async fn a_failed_invitation_email_is_listed_for_the_organisations_admins_and_sent_again(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_with(backend, failing(port)).await;
    let org = app.org("i").await;
    let other = app.org("j").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    let body = json!({ "email": "eve@elsewhere.example", "name": "Eve as we know her", "role": "therapist" });
    let invitation = app.post(&format!("/api/v1/orgs/{}/people", org.id), &org.admin.token, body).await.expect(201);
    assert_eq!(worker(&app).drain().await.unwrap(), 1);

    let path = format!("/api/v1/orgs/{}/deliveries", org.id);
    let failed = app.get(&format!("{path}?state=failed"), &org.admin.token).await.expect(200);
    let items = failed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{failed}");
    let mail = &items[0];
    assert_eq!(
        (&mail["kind"], &mail["channel"], &mail["state"], &mail["attempts"]),
        (&json!("org_invitation"), &json!("email"), &json!("failed"), &json!(1))
    );
    assert_eq!(mail["recipient_id"], invitation["id"], "the invitation, whose id the person takes on accepting");
    assert_eq!(mail["recipient_name"], "Eve as we know her", "the name the admin gave, not the account's");
    assert!(mail["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{mail}");
    let created: jiff::Timestamp = mail["created_at"].as_str().unwrap().parse().unwrap();
    let local = created.in_tz("America/New_York").unwrap().strftime("%a %-d %b, %H:%M %Z").to_string();
    assert_eq!(mail["created_at_local"], local.as_str(), "in the organisation's zone");
    let elsewhere = app.get(&format!("/api/v1/orgs/{}/deliveries", other.id), &other.admin.token).await.expect(200);
    assert!(elsewhere["items"].as_array().unwrap().is_empty(), "another organisation sees none of it: {elsewhere}");

    // The admins' page lists it by name, with a button to send it again.
    let page = app
        .client
        .get(format!("{}/orgs/{}/deliveries", app.base, org.id))
        .header("cookie", format!("circles_session={}", org.admin.token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Eve as we know her (email)") && html.contains("Org invitation"), "{html}");
    assert!(html.contains(&local) && html.contains("Send again to Eve as we know her"), "{html}");

    let retry = format!("{path}/{}/retry", mail["id"].as_str().unwrap());
    app.post(&retry, &other.admin.token, json!({})).await.problem(404, "not_found");
    app.post(&retry, &org.therapist.token, json!({})).await.problem(404, "not_found");
    let retried = app.post(&retry, &org.admin.token, json!({})).await.expect(200);
    assert_eq!((&retried["state"], &retried["attempts"]), (&json!("pending"), &json!(0)));
    app.post(&retry, &org.admin.token, json!({})).await.problem(409, "delivery_not_failed");

    let sink = SmtpSink::start_on(port, 0);
    assert_eq!(worker(&app).drain().await.unwrap(), 1);
    let received = sink.wait_for(1).await;
    assert_eq!(received[0]["rcpt"], json!(["eve@elsewhere.example"]));
    assert_eq!(received[0]["message_id"], format!("<{}@clinic.example>", mail["id"].as_str().unwrap()), "same id");
    let sent = app.get(&format!("{path}?state=sent"), &org.admin.token).await.expect(200);
    assert_eq!(sent["items"][0]["id"], mail["id"]);
}

async fn a_failed_password_reset_email_is_listed_for_the_operator_and_sent_again(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_with(backend, failing(port)).await;
    let org = app.org("r").await;
    let reset = json!({ "email": org.client.email });
    app.request(Method::POST, "/api/v1/auth/password-reset", None, Some(reset)).await.expect(202);
    assert_eq!(worker(&app).drain().await.unwrap(), 1);

    // No organisation's list holds it: a reset is the account's own affair.
    let listed = app.get(&format!("/api/v1/orgs/{}/deliveries", org.id), &org.admin.token).await.expect(200);
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");

    let out = cli(&app, &["failed-mail"]);
    let line = out.lines().find(|l| l.contains(&org.client.email)).unwrap_or_else(|| panic!("{out}"));
    let id = line.split_whitespace().next().unwrap();
    let client = format!("A client <{}>", org.client.email);
    assert!(line.contains(&format!("{client}: password reset, written ")), "{line}");
    // Written a moment ago, in the zone of the account's organisation.
    let now = circles_domain::Clock::now(app.clock.as_ref()).in_tz("America/New_York").unwrap();
    assert!(line.contains(&now.strftime("written %a %-d %b, %H:").to_string()), "{line}");
    assert!(line.contains(&now.strftime(" %Z, failed ").to_string()), "{line}");
    assert!(line.contains("after 1 attempt(s): "), "{line}");

    let out = cli(&app, &["retry-mail", "--id", id]);
    assert!(out.contains(&format!("the password reset to {client} will be sent again")), "{out}");
    assert_eq!(cli(&app, &["failed-mail"]).trim(), "no failed account e-mail");

    let sink = SmtpSink::start_on(port, 0);
    app.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(worker(&app).drain().await.unwrap(), 1);
    let received = sink.wait_for(1).await;
    assert_eq!(received[0]["rcpt"], json!([org.client.email]));
    assert_eq!(received[0]["message_id"], format!("<{id}@clinic.example>"), "the same message, sent again");
}
