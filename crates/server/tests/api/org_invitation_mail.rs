//! The e-mail of a pending invitation to join an organisation, over a real
//! SMTP conversation: it names the organisation and who invited, and leads
//! to the sign-in page, where the invitation waits first with Accept and
//! Decline.

use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::delivery::{mail_settings, worker};
use crate::mail::SmtpSink;
use crate::support::TestApp;

backend_tests!(
    inviting_an_existing_account_emails_it_the_organisation_and_the_inviter,
    an_invitation_answered_before_its_email_goes_out_is_not_sent,
    the_invitation_waits_on_the_start_page_and_accepting_there_joins,
);

async fn invite(app: &TestApp, org_id: &str, admin: &str, email: &str) -> String {
    let body = json!({ "email": email, "name": "Eve as we know her", "role": "therapist" });
    let added = app.post(&format!("/api/v1/orgs/{org_id}/people"), admin, body).await.expect(201);
    added["id"].as_str().unwrap().to_owned()
}

async fn inviting_an_existing_account_emails_it_the_organisation_and_the_inviter(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    let org = app.org("b").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    invite(&app, &org.id, &org.admin.token, "eve@elsewhere.example").await;
    // A new address joins at once: nothing to accept, no invitation e-mail.
    let body = json!({ "email": "new@elsewhere.example", "name": "New Person", "role": "client" });
    app.post(&format!("/api/v1/orgs/{}/people", org.id), &org.admin.token, body).await.expect(201);

    assert_eq!(worker(&app).drain().await.unwrap(), 1);
    let mail = &sink.wait_for(1).await[0];
    assert_eq!(mail["rcpt"], json!(["eve@elsewhere.example"]));
    assert_eq!(mail["subject"], "Admin invited you to join Clinic b");
    assert_eq!(mail["structure"]["type"], "multipart/alternative");
    assert!(mail["list_unsubscribe"].is_null(), "an essential message has no unsubscribe link");
    let text = mail["text"].as_str().unwrap();
    assert!(text.starts_with("Hello Eve Realname,"), "the account's own name: {text}");
    assert!(text.contains("Admin invited you to join Clinic b on Circles as a therapist."), "{text}");
    assert!(text.contains("To accept or decline, sign in with this e-mail address"), "{text}");
    assert_eq!(worker(&app).drain().await.unwrap(), 0, "sent once");
}

async fn an_invitation_answered_before_its_email_goes_out_is_not_sent(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    let org = app.org("b").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    let id = invite(&app, &org.id, &org.admin.token, "eve@elsewhere.example").await;
    let eve = app.login("eve@elsewhere.example").await;
    app.post(&format!("/api/v1/me/org-invitations/{id}/decline"), &eve, json!({})).await.expect(200);
    assert_eq!(worker(&app).drain().await.unwrap(), 0, "nothing left to ask");
    assert!(sink.received().is_empty());
}

async fn the_invitation_waits_on_the_start_page_and_accepting_there_joins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("b").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    let id = invite(&app, &org.id, &org.admin.token, "eve@elsewhere.example").await;
    let eve = app.login("eve@elsewhere.example").await;
    let cookie = format!("circles_session={eve}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let start = client.get(format!("{}/", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(start.status(), 200);
    let html = start.text().await.unwrap();
    assert!(html.contains("Invitations to join") && html.contains("Admin invited you to join as therapist"), "{html}");
    let action = format!("/invitations-to-join/{id}/accept");
    let re =
        regex::Regex::new(&format!(r#"action="{action}"><input type="hidden" name="_token" value="([^"]+)""#)).unwrap();
    let token = re.captures(&html).unwrap_or_else(|| panic!("an Accept form in {html}"))[1].to_owned();

    let joined = client
        .post(format!("{}{action}", app.base))
        .header("cookie", &cookie)
        .form(&[("_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 303);
    assert_eq!(joined.headers()["location"].to_str().unwrap(), format!("/orgs/{}", org.id));
    app.get(&format!("/api/v1/orgs/{}", org.id), &eve).await.expect(200);
    // Answered: the start page goes on to the organisation.
    let start = client.get(format!("{}/", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(start.status(), 303);
}
