use circles_domain::Role;
use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::support::{Response, TestApp};
use reqwest::Method;

backend_tests!(
    an_admin_adds_people_of_every_role,
    roles_decide_who_may_add_and_list_people,
    a_client_sees_themselves_and_therapists_only,
    reading_a_client_record_is_audited_with_request_id_and_ip,
    a_person_may_belong_to_several_organisations,
    a_therapist_finds_only_colleagues_and_the_clients_they_serve,
    an_admin_changes_someone_elses_role_and_it_is_audited,
);

async fn an_admin_changes_someone_elses_role_and_it_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let person = |login: &crate::support::Login| format!("/api/v1/orgs/{}/people/{}", org.id, login.person_id);
    let change = |path: String, token: String, role: &'static str| {
        let app = &app;
        async move { app.request(Method::PATCH, &path, Some(&token), Some(json!({ "role": role }))).await }
    };

    change(person(&org.therapist), org.moderator.token.clone(), "admin").await.problem(403, "forbidden");
    change(person(&org.admin), org.admin.token.clone(), "client").await.problem(403, "forbidden");
    let refused =
        change(person(&org.therapist), org.admin.token.clone(), "boss").await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&refused), ["role"]);
    let missing = format!("/api/v1/orgs/{}/people/{}", org.id, uuid::Uuid::new_v4());
    change(missing, org.admin.token.clone(), "moderator").await.problem(404, "not_found");

    let changed = change(person(&org.therapist), org.admin.token.clone(), "moderator").await.expect(200);
    assert_eq!(changed["role"], "moderator");
    // The next request of that person already has the new role's rights.
    app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.therapist.token).await.problem(403, "forbidden");
    let roles = app.get(&format!("/api/v1/orgs/{}/people?role=moderator", org.id), &org.admin.token).await.expect(200);
    assert_eq!(roles["items"].as_array().unwrap().len(), 2);

    // A client's record changing is audited with the client as its subject.
    change(person(&org.client), org.admin.token.clone(), "therapist").await.expect(200);
    let audit = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, org.client.person_id), &org.admin.token)
        .await
        .expect(200);
    let event =
        audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "person.role").expect("audited").clone();
    assert_eq!((&event["details"]["from"], &event["details"]["to"]), (&json!("client"), &json!("therapist")));
}

async fn an_admin_adds_people_of_every_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    let people = app.get(&path, &org.admin.token).await.expect(200);
    assert_eq!(people["items"].as_array().unwrap().len(), 4);
    let therapists = app.get(&format!("{path}?role=therapist"), &org.admin.token).await.expect(200);
    let items = therapists["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "therapist@riverside.example");
    assert_eq!(items[0]["role"], "therapist");
}

async fn roles_decide_who_may_add_and_list_people(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let path = format!("/api/v1/orgs/{}/people", org.id);
    let add = |token: String, email: &'static str, role: &'static str| {
        let app = &app;
        let path = path.clone();
        async move { app.post(&path, &token, json!({ "email": email, "name": "New", "role": role })).await }
    };
    add(org.moderator.token.clone(), "c2@example.org", "client").await.expect(201);
    add(org.moderator.token.clone(), "t2@example.org", "therapist").await.problem(403, "forbidden");
    add(org.therapist.token.clone(), "c3@example.org", "client").await.problem(403, "forbidden");
    add(org.client.token.clone(), "c4@example.org", "client").await.problem(403, "forbidden");
    add(org.admin.token.clone(), "m2@example.org", "moderator").await.expect(201);

    app.get(&path, &org.therapist.token).await.expect(200);
    app.get(&path, &org.client.token).await.problem(403, "forbidden");
    app.get(&format!("{path}?role=therapist"), &org.client.token).await.expect(200);
}

async fn a_client_sees_themselves_and_therapists_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let other = app.person(&org.id, &org.admin.token, "other@riverside.example", "client").await;
    let person = |id: &str| format!("/api/v1/orgs/{}/people/{id}", org.id);
    app.get(&person(&org.client.person_id), &org.client.token).await.expect(200);
    app.get(&person(&org.therapist.person_id), &org.client.token).await.expect(200);
    app.get(&person(&other.person_id), &org.client.token).await.problem(403, "forbidden");
    app.get(&person(&other.person_id), &org.moderator.token).await.expect(200);
}

async fn reading_a_client_record_is_audited_with_request_id_and_ip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let res = app.get(&format!("/api/v1/orgs/{}/people/{}", org.id, org.client.person_id), &org.moderator.token).await;
    let request_id = res.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    res.expect(200);
    let events = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, org.client.person_id), &org.admin.token)
        .await
        .expect(200);
    let read = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "person.read")
        .expect("the read is audited")
        .clone();
    assert_eq!(read["actor_person_id"], org.moderator.person_id.as_str());
    assert_eq!(read["request_id"], request_id.as_str());
    assert_eq!(read["ip"], "127.0.0.1");
    app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.moderator.token).await.problem(403, "forbidden");
}

async fn a_person_may_belong_to_several_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.org("a").await;
    let b = app.org("b").await;
    app.post(
        &format!("/api/v1/orgs/{}/people", b.id),
        &b.admin.token,
        json!({ "email": a.therapist.email, "name": "X", "role": "client" }),
    )
    .await
    .expect(201);
    // An existing account joins another organisation by accepting.
    let before = app.get("/api/v1/me", &a.therapist.token).await.expect(200);
    assert_eq!(before["memberships"].as_array().unwrap().len(), 1, "not linked before accepting");
    app.accept_invitation(&a.therapist.token, &b.id).await;
    let me = app.get("/api/v1/me", &a.therapist.token).await.expect(200);
    let mut roles: Vec<_> =
        me["memberships"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap().to_owned()).collect();
    roles.sort();
    assert_eq!(roles, [Role::Client.as_str(), Role::Therapist.as_str()]);
}

/// The people rows of the authorization matrix for a therapist: colleagues
/// always, a client only while the therapist serves them (a hold, a session
/// or a group they facilitate); anyone else is 404 and absent from lists.
async fn a_therapist_finds_only_colleagues_and_the_clients_they_serve(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let stranger = app.person(&org.id, &org.admin.token, "stranger@r.example", "client").await;
    let grouped = app.person(&org.id, &org.admin.token, "grouped@r.example", "client").await;
    let booked = app.person(&org.id, &org.admin.token, "booked@r.example", "client").await;
    let colleague = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let people = format!("/api/v1/orgs/{}/people", org.id);
    let read = |token: String, id: String| {
        let (app, path) = (&app, format!("{people}/{id}"));
        async move { app.get(&path, &token).await }
    };
    let listed = |token: String| {
        let (app, path) = (&app, people.clone());
        async move {
            let body = app.get(&path, &token).await.expect(200);
            let mut emails: Vec<String> =
                body["items"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap().to_owned()).collect();
            emails.sort();
            emails
        }
    };

    // Serving nobody yet: staff only.
    assert_eq!(
        listed(org.therapist.token.clone()).await,
        ["admin@r.example", "moderator@r.example", "t2@r.example", "therapist@r.example"]
    );
    read(org.therapist.token.clone(), org.client.person_id.clone()).await.problem(404, "not_found");
    read(org.therapist.token.clone(), colleague.person_id.clone()).await.expect(200);
    read(org.therapist.token.clone(), org.admin.person_id.clone()).await.expect(200);
    let clients = app.get(&format!("{people}?role=client"), &org.therapist.token).await.expect(200);
    assert_eq!(clients["items"], json!([]), "no client they do not serve");

    // A hold with the org's client.
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(25));
    let hold = json!({ "therapist_id": org.therapist.person_id, "client_id": org.client.person_id,
        "starts_at": start, "ends_at": end, "title": "Intake" });
    app.post(&format!("/api/v1/orgs/{}/holds", org.id), &org.admin.token, hold).await.expect(201);
    // A one-on-one session with another client.
    let session = json!({ "title": "Intake", "starts_at": app.hours_from_now(48), "duration_minutes": 50, "location": "Room 2",
        "therapist_ids": [org.therapist.person_id], "client_ids": [booked.person_id] });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, session).await.expect(201);
    // A group the colleague facilitates, with a third client as a member.
    let group = app.community(&org, json!({}), &[&colleague]).await;
    app.enrol(&org, &group, &grouped.person_id).await;

    read(org.therapist.token.clone(), org.client.person_id.clone()).await.expect(200);
    read(org.therapist.token.clone(), booked.person_id.clone()).await.expect(200);
    read(org.therapist.token.clone(), grouped.person_id.clone()).await.expect(200);
    read(org.therapist.token.clone(), stranger.person_id.clone()).await.problem(404, "not_found");
    let seen = listed(org.therapist.token.clone()).await;
    assert!(seen.contains(&"booked@r.example".to_owned()) && seen.contains(&"client@r.example".to_owned()));
    assert!(!seen.contains(&"stranger@r.example".to_owned()), "{seen:?}");

    // The colleague facilitates the group: its members, not the others.
    read(colleague.token.clone(), grouped.person_id.clone()).await.expect(200);
    read(colleague.token.clone(), booked.person_id.clone()).await.problem(404, "not_found");
    let colleague_sees = listed(colleague.token.clone()).await;
    assert!(colleague_sees.contains(&"grouped@r.example".to_owned()), "{colleague_sees:?}");
    assert!(!colleague_sees.contains(&"booked@r.example".to_owned()), "{colleague_sees:?}");

    // Admins and moderators still see everyone.
    read(org.moderator.token.clone(), stranger.person_id.clone()).await.expect(200);
    assert!(listed(org.admin.token.clone()).await.contains(&"stranger@r.example".to_owned()));
}
