//! Adding someone who already has an account invites them: nothing about
//! the account shows, nobody joins without saying yes, and creating
//! organisations is the operators' decision.

use circles_server::config::OrgCreation;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

backend_tests!(
    adding_an_existing_account_answers_like_a_new_one_and_only_invites_it,
    an_invited_account_joins_when_it_accepts,
    a_declined_invitation_links_nothing_and_only_its_account_may_answer,
    organisations_are_created_by_operators_unless_anyone_may,
);

/// The keys of a JSON object, sorted.
fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn adding_an_existing_account_answers_like_a_new_one_and_only_invites_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("b").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    let add = |email: &'static str, password: Option<&'static str>| {
        let (app, path, token) = (&app, path.clone(), org.admin.token.clone());
        let mut body = json!({ "email": email, "name": "Typed Name", "role": "client" });
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        async move { app.post(&path, &token, body).await }
    };

    let existing = add("eve@elsewhere.example", None).await.expect(201);
    let new = add("nobody-yet@elsewhere.example", None).await.expect(201);
    assert_eq!(keys(&existing), keys(&new), "the same shape whether or not the account exists");
    assert_eq!(existing["name"], "Typed Name");
    assert_eq!(existing["email"], "eve@elsewhere.example");
    assert!(!existing.to_string().contains("Realname"), "the account's own name never shows: {existing}");

    // A password for an existing account is not refused in a way that says so.
    app.account("bea@elsewhere.example", "Bea Realname").await;
    let with_password = add("bea@elsewhere.example", Some("a password of mine")).await.expect(201);
    let new_with_password = add("new2@elsewhere.example", Some("a password of mine")).await.expect(201);
    assert_eq!(keys(&with_password), keys(&new_with_password));
    assert!(!with_password.to_string().contains("Realname"), "{with_password}");

    // Eve was not linked: she is not a member until she accepts.
    let eve = app.login("eve@elsewhere.example").await;
    let me = app.get("/api/v1/me", &eve).await.expect(200);
    assert_eq!(me["memberships"], json!([]), "nobody is linked without consent");
    app.get(&format!("/api/v1/orgs/{}", org.id), &eve).await.problem(404, "not_found");
    app.login("bea@elsewhere.example").await;

    // The clinic sees her as invited, by the name it typed.
    let people = app.get(&path, &org.admin.token).await.expect(200);
    let listed = |email: &str| -> Value {
        people["items"].as_array().unwrap().iter().find(|p| p["email"] == email).cloned().unwrap()
    };
    let invited = listed("eve@elsewhere.example");
    assert_eq!(invited["status"], "pending");
    assert_eq!(invited["name"], "Typed Name");
    assert_eq!(invited["account_id"], Value::Null);
    assert_eq!(listed("nobody-yet@elsewhere.example")["status"], "active");
    let single = app.get(&format!("{path}/{}", existing["id"].as_str().unwrap()), &org.admin.token).await.expect(200);
    assert_eq!(single["status"], "pending");
    assert!(!people.to_string().contains("Realname"), "{people}");
    // A therapist does not see invitations; the list of members is theirs.
    let seen_by_therapist = app.get(&path, &org.therapist.token).await.expect(200);
    assert!(!seen_by_therapist.to_string().contains("eve@elsewhere.example"));

    // Inviting the same address again while it is pending is a conflict.
    add("eve@elsewhere.example", None).await.problem(409, "person_exists");
}

async fn an_invited_account_joins_when_it_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("b").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    let added = app
        .post(
            &format!("/api/v1/orgs/{}/people", org.id),
            &org.admin.token,
            json!({ "email": "eve@elsewhere.example", "name": "Typed Name", "role": "therapist" }),
        )
        .await
        .expect(201);
    let eve = app.login("eve@elsewhere.example").await;

    let invitations = app.get("/api/v1/me/org-invitations", &eve).await.expect(200);
    let items = invitations["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], added["id"]);
    assert_eq!(items[0]["org_name"], "Clinic b");
    assert_eq!(items[0]["role"], "therapist");
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["invited_by"], "Admin");
    assert_eq!(items[0]["timezone"], "America/New_York");
    let local = items[0]["invited_at_local"].as_str().unwrap();
    assert!(local.ends_with("EST") || local.ends_with("EDT"), "a wall-clock time with its zone: {local}");

    let id = added["id"].as_str().unwrap();
    let answered = app.post(&format!("/api/v1/me/org-invitations/{id}/accept"), &eve, json!({})).await.expect(200);
    assert_eq!(answered["invitation"]["status"], "accepted");
    assert_eq!(answered["membership"]["person_id"], id, "the person keeps the id the clinic was given");
    assert_eq!(answered["membership"]["role"], "therapist");

    app.get(&format!("/api/v1/orgs/{}", org.id), &eve).await.expect(200);
    let person = app.get(&format!("/api/v1/orgs/{}/people/{id}", org.id), &org.admin.token).await.expect(200);
    assert_eq!(person["status"], "active");
    assert_eq!(person["name"], "Eve Realname", "once she has joined, her own name shows");
    assert!(app.get("/api/v1/me/org-invitations", &eve).await.expect(200)["items"].as_array().unwrap().is_empty());
    app.post(&format!("/api/v1/me/org-invitations/{id}/accept"), &eve, json!({}))
        .await
        .problem(409, "invitation_answered");

    let audit = app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.admin.token).await.expect(200);
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"person.invite") && actions.contains(&"org_invitation.accept"), "{actions:?}");
}

async fn a_declined_invitation_links_nothing_and_only_its_account_may_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("b").await;
    app.account("eve@elsewhere.example", "Eve Realname").await;
    let added = app
        .post(
            &format!("/api/v1/orgs/{}/people", org.id),
            &org.admin.token,
            json!({ "email": "eve@elsewhere.example", "name": "Typed Name", "role": "client" }),
        )
        .await
        .expect(201);
    let id = added["id"].as_str().unwrap();
    let accept = format!("/api/v1/me/org-invitations/{id}/accept");
    // Someone else's invitation does not exist for the caller.
    app.post(&accept, &org.client.token, json!({})).await.problem(404, "not_found");

    let eve = app.login("eve@elsewhere.example").await;
    let answered = app.post(&format!("/api/v1/me/org-invitations/{id}/decline"), &eve, json!({})).await.expect(200);
    assert_eq!(answered["invitation"]["status"], "declined");
    assert_eq!(answered["membership"], Value::Null);
    app.post(&accept, &eve, json!({})).await.problem(409, "invitation_answered");
    assert_eq!(app.get("/api/v1/me", &eve).await.expect(200)["memberships"], json!([]));
    let person = app.get(&format!("/api/v1/orgs/{}/people/{id}", org.id), &org.admin.token).await.expect(200);
    assert_eq!(person["status"], "declined");
    let people = app.get(&format!("/api/v1/orgs/{}/people", org.id), &org.admin.token).await.expect(200);
    assert!(!people.to_string().contains("eve@elsewhere.example"), "the list holds members and open invitations");
    let audit = app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.admin.token).await.expect(200);
    assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "org_invitation.decline"));
}

async fn organisations_are_created_by_operators_unless_anyone_may(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.allow_org_creation = OrgCreation::Operators).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let body = json!({ "name": "My Own Clinic", "timezone": "Europe/Berlin" });
    let refused = app.request(Method::POST, "/api/v1/orgs", Some(&token), Some(body)).await;
    let problem = refused.problem(403, "org_creation_restricted");
    assert!(problem["detail"].as_str().unwrap().contains("circles admin create-org"), "{problem}");
    assert_eq!(app.get("/api/v1/me", &token).await.expect(200)["memberships"], json!([]), "nothing was created");
}
