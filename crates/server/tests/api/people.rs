use circles_domain::Role;
use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::support::TestApp;

backend_tests!(
    an_admin_adds_people_of_every_role,
    roles_decide_who_may_add_and_list_people,
    a_client_sees_themselves_and_therapists_only,
    reading_a_client_record_is_audited_with_request_id_and_ip,
    a_person_may_belong_to_several_organisations,
);

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
    app.get(&person(&other.person_id), &org.therapist.token).await.expect(200);
}

async fn reading_a_client_record_is_audited_with_request_id_and_ip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let res = app.get(&format!("/api/v1/orgs/{}/people/{}", org.id, org.client.person_id), &org.therapist.token).await;
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
    assert_eq!(read["actor_person_id"], org.therapist.person_id.as_str());
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
    let me = app.get("/api/v1/me", &a.therapist.token).await.expect(200);
    let mut roles: Vec<_> =
        me["memberships"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap().to_owned()).collect();
    roles.sort();
    assert_eq!(roles, [Role::Client.as_str(), Role::Therapist.as_str()]);
}
