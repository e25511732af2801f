//! A forgotten password, reset by e-mail over a real SMTP conversation: the
//! link in the received message sets a password once, within its hour; the
//! request answers alike for every address; the token is kept only as a
//! hash; the pages ask for a link and set the password without JavaScript.

use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::delivery::{mail_settings, worker};
use crate::mail::SmtpSink;
use crate::secrets_at_rest::{database_bytes, occurrences};
use crate::support::{PASSWORD, Response, TestApp};

backend_tests!(
    a_mailed_link_sets_a_new_password_once_and_signs_out_elsewhere,
    an_unknown_address_is_answered_alike_and_sent_nothing,
    a_link_past_its_hour_is_refused_as_expired,
    the_pages_ask_for_a_link_and_set_the_password_with_it,
);

const NEW_PASSWORD: &str = "a brand new secret";

async fn ask(app: &TestApp, email: &str) -> Response {
    app.request(Method::POST, "/api/v1/auth/password-reset", None, Some(json!({ "email": email }))).await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> Response {
    let body = json!({ "token": token, "new_password": password });
    app.request(Method::POST, "/api/v1/auth/password-reset/confirm", None, Some(body)).await
}

/// The token of the reset link in a received message's text.
fn link_token(message: &Value) -> String {
    let text = message["text"].as_str().unwrap();
    let re = regex::Regex::new(r"/password-reset/(cir_[A-Za-z0-9_-]{43})\s").unwrap();
    re.captures(text).unwrap_or_else(|| panic!("a reset link in {text}"))[1].to_owned()
}

async fn login_with(app: &TestApp, password: &str) -> Response {
    let body = json!({ "email": "ada@example.org", "password": password });
    app.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

async fn a_mailed_link_sets_a_new_password_once_and_signs_out_elsewhere(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    app.account("ada@example.org", "Ada Lovelace").await;
    let elsewhere = app.login("ada@example.org").await;

    ask(&app, "ada@example.org").await.expect(202);
    assert_eq!(worker(&app).drain().await.unwrap(), 1);
    let received = sink.wait_for(1).await;
    let mail = &received[0];
    assert_eq!(mail["rcpt"], json!(["ada@example.org"]));
    assert_eq!(mail["subject"], "Reset your Circles password");
    assert_eq!(mail["structure"]["type"], "multipart/alternative");
    assert!(mail["list_unsubscribe"].is_null(), "an essential message has no unsubscribe link");
    let token = link_token(mail);
    assert!(mail["text"].as_str().unwrap().contains("It works once"));

    // Only the token's hash is kept.
    assert_eq!(occurrences(&database_bytes(&app), &token), 0, "the token is not stored");

    // The password rules are the usual ones, and a refusal spends nothing.
    let short = confirm(&app, &token, "short").await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&short), vec!["new_password"]);

    confirm(&app, &token, NEW_PASSWORD).await.expect(204);
    app.get("/api/v1/me", &elsewhere).await.problem(401, "unauthenticated");
    login_with(&app, PASSWORD).await.problem(401, "invalid_credentials");
    login_with(&app, NEW_PASSWORD).await.expect(200);

    let again = confirm(&app, &token, "yet another secret").await.problem(410, "reset_link_used");
    assert!(again["detail"].as_str().unwrap().contains("already used"));
    login_with(&app, NEW_PASSWORD).await.expect(200);
    confirm(&app, "cir_not-a-link", NEW_PASSWORD).await.problem(404, "reset_link_unknown");
}

async fn an_unknown_address_is_answered_alike_and_sent_nothing(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    app.account("ada@example.org", "Ada Lovelace").await;
    let unknown = ask(&app, "nobody@example.org").await;
    let known = ask(&app, "ada@example.org").await;
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body), "the same answer for both");
    assert_eq!(unknown.status, 202);
    assert_eq!(worker(&app).drain().await.unwrap(), 1, "one e-mail, to the account that exists");
    assert_eq!(sink.wait_for(1).await[0]["rcpt"], json!(["ada@example.org"]));
    let refused = ask(&app, "not an address").await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&refused), vec!["email"]);
}

async fn a_link_past_its_hour_is_refused_as_expired(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    app.account("ada@example.org", "Ada Lovelace").await;
    ask(&app, "ada@example.org").await.expect(202);
    worker(&app).drain().await.unwrap();
    let token = link_token(&sink.wait_for(1).await[0]);
    app.clock.advance(SignedDuration::from_mins(61));

    let page = app.client.get(format!("{}/password-reset/{token}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("has expired"));
    confirm(&app, &token, NEW_PASSWORD).await.problem(410, "reset_link_expired");
    login_with(&app, PASSWORD).await.expect(200);
}

/// The value of `name="{field}" value="…"` in a page.
fn hidden(html: &str, field: &str) -> String {
    let re = regex::Regex::new(&format!(r#"name="{field}" value="([^"]+)""#)).unwrap();
    re.captures(html).unwrap_or_else(|| panic!("{field} in {html}"))[1].to_owned()
}

/// A page's form: its token cookie and hidden token.
async fn form(app: &TestApp, path: &str) -> (String, String, String) {
    let page = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let token = hidden(&html, "_token");
    (cookie, token, html)
}

async fn post_form(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    client.post(format!("{}{path}", app.base)).header("cookie", cookie).form(fields).send().await.unwrap()
}

async fn the_pages_ask_for_a_link_and_set_the_password_with_it(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, mail_settings(sink.url())).await;
    app.account("ada@example.org", "Ada Lovelace").await;
    let sign_in = app.client.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(sign_in.contains(r#"<a href="/password-reset">Forgot your password?</a>"#));

    let (cookie, token, html) = form(&app, "/password-reset").await;
    assert!(html.contains(r#"<label for="f-email">E-mail</label>"#));
    let sent = post_form(&app, "/password-reset", &cookie, &[("_token", &token), ("email", "ada@example.org")]).await;
    assert_eq!((sent.status().as_u16(), sent.headers()["location"].to_str().unwrap()), (303, "/password-reset/sent"));
    // Without the browser's form cookie nothing is sent.
    let stale = post_form(&app, "/password-reset", "", &[("_token", &token), ("email", "ada@example.org")]).await;
    assert_eq!(stale.status(), 400);
    worker(&app).drain().await.unwrap();
    let link = link_token(&sink.wait_for(1).await[0]);

    let path = format!("/password-reset/{link}");
    let (cookie, token, html) = form(&app, &path).await;
    assert!(html.contains("New password") && html.contains("This link works once, until"));
    let short = post_form(&app, &path, &cookie, &[("_token", &token), ("new_password", "short")]).await;
    assert_eq!(short.status(), 422, "the field's error is shown beside it");
    let set = post_form(&app, &path, &cookie, &[("_token", &token), ("new_password", NEW_PASSWORD)]).await;
    assert_eq!((set.status().as_u16(), set.headers()["location"].to_str().unwrap()), (303, "/password-reset/done"));
    login_with(&app, NEW_PASSWORD).await.expect(200);
    let spent = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(spent.status(), 410);
}
