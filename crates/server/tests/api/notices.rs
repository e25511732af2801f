//! What the inbox says: who did what, and when on the session's own clock.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_sessions::{proposal, respond, sessions};
use crate::support::{Login, Org, PASSWORD, TestApp};

backend_tests!(
    a_member_who_joins_is_told_the_seat_is_theirs,
    accepted_and_declined_notices_say_which_therapist,
    a_therapist_whose_invitation_is_withdrawn_is_told,
);

/// A Thursday evening in New York, in winter: 18:00 EST.
const WINTER_EVENING: &str = "2030-12-12T23:00:00Z";

/// A therapist with a name of their own, signed in.
pub async fn named_therapist(app: &TestApp, org: &Org, name: &str) -> Login {
    let email = format!("{}@r.example", name.to_lowercase().replace(' ', "."));
    let person = app
        .post(
            &format!("/api/v1/orgs/{}/people", org.id),
            &org.admin.token,
            json!({ "email": email, "name": name, "role": "therapist", "password": PASSWORD }),
        )
        .await
        .expect(201);
    Login { person_id: person["id"].as_str().unwrap().to_owned(), token: app.login(&email).await, email }
}

/// The caller's notifications of `kind`, newest first.
pub async fn notices(app: &TestApp, org: &Org, login: &Login, kind: &str) -> Vec<Value> {
    let inbox = app.get(&format!("/api/v1/orgs/{}/notifications", org.id), &login.token).await.expect(200);
    inbox["items"].as_array().unwrap().iter().filter(|n| n["kind"] == kind).cloned().collect()
}

async fn a_member_who_joins_is_told_the_seat_is_theirs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, WINTER_EVENING, &[&org.therapist]))
        .await;
    let session =
        respond(&app, &org, &org.therapist, &session.expect(201), "accept").await.expect(200)["session"].clone();
    let join = format!("{}/{}/join", sessions(&org), session["id"].as_str().unwrap());
    app.request(Method::POST, &join, Some(&org.client.token), None).await.expect(200);

    let confirmed = notices(&app, &org, &org.client, "seat_confirmed").await;
    assert_eq!(confirmed.len(), 1, "the member who joins is told");
    assert_eq!(confirmed[0]["title"], "You have a seat");
    assert_eq!(confirmed[0]["body"], "Coping with winter on Thu 12 Dec, 18:00 EST");
    let joined = notices(&app, &org, &org.therapist, "member_joined").await;
    assert_eq!(joined[0]["title"], "A client joined a session", "the therapist reads the member's name");
    assert_eq!(joined[0]["body"], "Coping with winter on Thu 12 Dec, 18:00 EST now has 1 of 8 seats taken");
}

async fn accepted_and_declined_notices_say_which_therapist(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let dana = named_therapist(&app, &org, "Dana Reyes").await;
    let group = app.community(&org, json!({}), &[&dana]).await;
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, WINTER_EVENING, &[&org.therapist, &dana]))
        .await
        .expect(201);
    respond(&app, &org, &dana, &session, "accept").await.expect(200);
    let accepted = notices(&app, &org, &org.moderator, "invitation_accepted").await;
    assert_eq!(accepted[0]["title"], "Dana Reyes accepted an invitation");
    assert_eq!(accepted[0]["body"], "Coping with winter on Thu 12 Dec, 18:00 EST");
    respond(&app, &org, &org.therapist, &session, "decline").await.expect(200);
    let declined = notices(&app, &org, &org.moderator, "invitation_declined").await;
    assert_eq!(declined[0]["title"], "A therapist declined an invitation");
    assert_eq!(declined[0]["body"], "Coping with winter on Thu 12 Dec, 18:00 EST: \"I am away that week\"");
}

async fn a_therapist_whose_invitation_is_withdrawn_is_told(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, WINTER_EVENING, &[&org.therapist]))
        .await
        .expect(201);
    let invitation = session["therapists"][0]["id"].as_str().unwrap();
    let path = format!("{}/{}/invitations/{invitation}", sessions(&org), session["id"].as_str().unwrap());
    app.request(Method::DELETE, &path, Some(&org.moderator.token), None).await.expect(200);
    let withdrawn = notices(&app, &org, &org.therapist, "invitation_withdrawn").await;
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0]["body"], "Coping with winter on Thu 12 Dec, 18:00 EST no longer needs you");
}
