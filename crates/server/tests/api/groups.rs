use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::{Response, TestApp};

backend_tests!(
    a_group_carries_its_rules_and_staff,
    clients_see_only_their_groups_and_moderators_manage_them,
    enrolment_respects_screening_and_capacity,
    group_input_is_validated_field_by_field,
    an_archived_group_takes_no_new_members,
);

async fn a_group_carries_its_rules_and_staff(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let settings = json!({
        "session_creation": "all_members", "approval_required": true, "advance_notice_hours": 24,
        "allowed_time_windows": [{ "weekday": "tuesday", "start_time": "18:00", "end_time": "21:00" }],
        "default_capacity": 10, "allow_instant": false,
    });
    let group_id = app.community(&org, settings.clone(), &[]).await;
    let group = app.get(&format!("/api/v1/orgs/{}/groups/{group_id}", org.id), &org.client.token).await.expect(200);
    assert_eq!(group["name"], "Tuesday Circle");
    assert_eq!(group["type"], "COMMUNITY");
    let mut expected = settings.clone();
    expected["refuse_outside_working_hours"] = json!(false);
    expected["late_join_minutes"] = json!(0);
    expected["allow_peer_led"] = json!(false);
    expected["instant_ignores_windows"] = json!(false);
    expected["offer_mode"] = json!(null);
    assert_eq!(group["settings"], expected, "unset rules keep their defaults");
    assert_eq!(group["moderator_ids"], json!([org.moderator.person_id]));
    assert_eq!(group["facilitator_ids"], json!([org.therapist.person_id]));
    assert_eq!(group["moderator_names"], json!(["A moderator"]));
    assert_eq!(group["facilitator_names"], json!(["A therapist"]));
    assert_eq!(group["members"]["active"], 1);
}

async fn clients_see_only_their_groups_and_moderators_manage_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group_id = app.community(&org, json!({}), &[]).await;
    let outsider = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let groups = format!("/api/v1/orgs/{}/groups", org.id);
    assert_eq!(app.get(&groups, &org.client.token).await.expect(200)["items"].as_array().unwrap().len(), 1);
    assert!(app.get(&groups, &outsider.token).await.expect(200)["items"].as_array().unwrap().is_empty());
    let path = format!("{groups}/{group_id}");
    app.get(&path, &outsider.token).await.problem(403, "forbidden");
    // The group's moderator may change it; a moderator of the org who is not named may not.
    let other_moderator = app.person(&org.id, &org.admin.token, "m2@r.example", "moderator").await;
    let rename = json!({ "name": "Tuesday Evening Circle" });
    app.request(Method::PATCH, &path, Some(&other_moderator.token), Some(rename.clone()))
        .await
        .problem(403, "forbidden");
    let renamed = app.request(Method::PATCH, &path, Some(&org.moderator.token), Some(rename)).await.expect(200);
    assert_eq!(renamed["name"], "Tuesday Evening Circle");
    assert_eq!(renamed["type"], "COMMUNITY", "unnamed fields keep their values");
    // Rosters are for the group's staff.
    app.get(&format!("{path}/members"), &org.therapist.token).await.expect(200);
    app.get(&format!("{path}/members"), &org.client.token).await.problem(403, "forbidden");
}

async fn enrolment_respects_screening_and_capacity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let groups = format!("/api/v1/orgs/{}/groups", org.id);
    let screened = app
        .post(
            &groups,
            &org.admin.token,
            json!({ "name": "Anxiety Group", "type": "THERAPY", "requires_screening": true }),
        )
        .await
        .expect(201);
    let membership = app.enrol(&org, screened["id"].as_str().unwrap(), &org.client.person_id).await;
    assert_eq!(membership["status"], "PENDING_SCREENING");
    let small = app.post(&groups, &org.admin.token, json!({ "name": "Small Group", "capacity": 1 })).await.expect(201);
    let small_id = small["id"].as_str().unwrap();
    assert_eq!(app.enrol(&org, small_id, &org.client.person_id).await["status"], "ACTIVE");
    let second = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    assert_eq!(app.enrol(&org, small_id, &second.person_id).await["status"], "WAITLISTED");
    app.post(&format!("{groups}/{small_id}/members"), &org.admin.token, json!({ "client_id": org.client.person_id }))
        .await
        .problem(409, "already_member");
    let roster = app.get(&format!("{groups}/{small_id}/members"), &org.admin.token).await.expect(200);
    assert_eq!(roster["items"].as_array().unwrap().len(), 2);
}

async fn group_input_is_validated_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let groups = format!("/api/v1/orgs/{}/groups", org.id);
    let cases = [
        (json!({}), "name"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "G", "type": "PARTY" }), "type"),
        (json!({ "name": "G", "capacity": 0 }), "capacity"),
        (json!({ "name": "G", "modality": "VR" }), "modality"),
        (json!({ "name": "G", "virtual_link": "ftp://x" }), "virtual_link"),
        (json!({ "name": "G", "settings": { "session_creation": "anyone" } }), "settings.session_creation"),
        (json!({ "name": "G", "settings": { "default_capacity": 99 } }), "settings.default_capacity"),
        (json!({ "name": "G", "settings": { "advance_notice_hours": -2 } }), "settings.advance_notice_hours"),
        (
            json!({ "name": "G", "settings": { "allowed_time_windows": [{ "weekday": "caturday", "start_time": "09:00", "end_time": "10:00" }] } }),
            "settings.allowed_time_windows[0].weekday",
        ),
        (json!({ "name": "G", "facilitator_ids": [org.client.person_id] }), "facilitator_ids"),
        (json!({ "name": "G", "moderator_ids": [org.therapist.person_id] }), "moderator_ids"),
        (
            json!({ "name": "G", "recurrence": { "rrule": "FREQ=YEARLY", "start_date": "2027-01-07", "start_time": "14:00", "timezone": "America/New_York", "duration_minutes": 90 } }),
            "recurrence.rrule",
        ),
        (json!({ "name": "G", "mood": "sunny" }), "mood"),
    ];
    for (body, field) in cases {
        let problem = app.post(&groups, &org.admin.token, body.clone()).await.problem(422, "validation_failed");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
    }
    app.post(&groups, &org.therapist.token, json!({ "name": "G" })).await.problem(403, "forbidden");
    assert!(
        app.get(&groups, &org.admin.token).await.expect(200)["items"].as_array().unwrap().is_empty(),
        "nothing was written"
    );
}

async fn an_archived_group_takes_no_new_members(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group_id = app.community(&org, json!({}), &[]).await;
    let path = format!("/api/v1/orgs/{}/groups/{group_id}", org.id);
    let archived =
        app.request(Method::POST, &format!("{path}/archive"), Some(&org.admin.token), None).await.expect(200);
    assert_eq!(archived["status"], "ARCHIVED");
    let second = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.post(&format!("{path}/members"), &org.admin.token, json!({ "client_id": second.person_id }))
        .await
        .problem(409, "group_archived");
    let listed = app.get(&format!("/api/v1/orgs/{}/groups", org.id), &org.admin.token).await.expect(200);
    assert!(listed["items"].as_array().unwrap().is_empty(), "archived groups are hidden by default");
    let all =
        app.get(&format!("/api/v1/orgs/{}/groups?include_archived=true", org.id), &org.admin.token).await.expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}
