//! Another organisation's data answers 404 — never 403, never its data —
//! for every tenant route and every role.

use circles_domain::Role;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Org, TestApp};

backend_tests!(every_tenant_route_hides_other_organisations);

/// Every route under `/orgs/{org_id}`, with a request body that would be
/// valid inside the caller's own organisation.
fn tenant_routes(b: &Org, start: &str, end: &str) -> Vec<(Method, &'static str, Option<Value>)> {
    let booking = json!({
        "starts_at": start, "duration_minutes": 50,
        "therapist_ids": [b.therapist.person_id], "client_ids": [b.client.person_id],
    });
    let hold = json!({ "therapist_id": b.therapist.person_id, "client_id": b.client.person_id, "starts_at": start, "ends_at": end });
    let week = json!({ "rules": [{ "weekday": "monday", "start_time": "09:00", "end_time": "17:00" }] });
    let time_off = json!({ "therapist_id": b.therapist.person_id, "type": "SICK", "starts_at": start, "ends_at": end });
    vec![
        (Method::GET, "/api/v1/orgs/{org_id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/people", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/people",
            Some(json!({ "email": "new@x.example", "name": "N", "role": "client" })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/people/{person_id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/audit", None),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions", Some(booking)),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions/{session_id}", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/cancel", Some(json!({ "reason": "x" }))),
        (Method::GET, "/api/v1/orgs/{org_id}/schedule", None),
        (Method::POST, "/api/v1/orgs/{org_id}/holds", Some(hold)),
        (Method::GET, "/api/v1/orgs/{org_id}/holds/{hold_id}", None),
        (Method::DELETE, "/api/v1/orgs/{org_id}/holds/{hold_id}", None),
        (Method::POST, "/api/v1/orgs/{org_id}/holds/{hold_id}/confirm", None),
        (Method::GET, "/api/v1/orgs/{org_id}/groups", None),
        (Method::POST, "/api/v1/orgs/{org_id}/groups", Some(json!({ "name": "Intruders" }))),
        (Method::GET, "/api/v1/orgs/{org_id}/groups/{group_id}", None),
        (Method::PATCH, "/api/v1/orgs/{org_id}/groups/{group_id}", Some(json!({ "name": "Renamed" }))),
        (Method::POST, "/api/v1/orgs/{org_id}/groups/{group_id}/archive", None),
        (Method::GET, "/api/v1/orgs/{org_id}/groups/{group_id}/members", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/groups/{group_id}/members",
            Some(json!({ "client_id": b.client.person_id })),
        ),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/sessions/{session_id}/invitations",
            Some(json!({ "therapist_id": b.therapist.person_id })),
        ),
        (Method::DELETE, "/api/v1/orgs/{org_id}/sessions/{session_id}/invitations/{invitation_id}", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/approve", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/presence", Some(json!({}))),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions/{session_id}/presence", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/presence/confirm", Some(json!({}))),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/reject", Some(json!({ "reason": "x" }))),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/join", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/leave", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/sessions/{session_id}/seats",
            Some(json!({ "client_id": b.client.person_id })),
        ),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/sessions/{session_id}/seats/{person_id}/drop",
            Some(json!({ "reason": "x" })),
        ),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/seats/{person_id}/confirm", None),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/withdraw", None),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions/{session_id}/attendance", None),
        (
            Method::PUT,
            "/api/v1/orgs/{org_id}/sessions/{session_id}/attendance",
            Some(json!([{ "client_id": b.client.person_id, "status": "ATTENDED" }])),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/invitations", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/invitations/{invitation_id}/respond",
            Some(json!({ "action": "accept" })),
        ),
        (
            Method::PATCH,
            "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}",
            Some(json!({ "status": "INACTIVE" })),
        ),
        (Method::POST, "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}/cancel-future-seats", None),
        (Method::POST, "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}/seat-upcoming", None),
        (Method::GET, "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}/stats", None),
        (Method::GET, "/api/v1/orgs/{org_id}/groups/{group_id}/stats", None),
        (Method::GET, "/api/v1/orgs/{org_id}/groups/{group_id}/stats/over-time", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/groups/{group_id}/sessions/generate",
            Some(json!({ "from": "2030-01-01", "to": "2030-01-31" })),
        ),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/groups/{group_id}/series/split",
            Some(json!({ "from": "2030-01-01", "start_time": "10:00" })),
        ),
        (Method::POST, "/api/v1/orgs/{org_id}/sessions/{session_id}/reschedule", Some(json!({ "starts_at": end }))),
        (Method::GET, "/api/v1/orgs/{org_id}/notifications", None),
        (Method::POST, "/api/v1/orgs/{org_id}/notifications/{notification_id}/read", None),
        (Method::POST, "/api/v1/orgs/{org_id}/notifications/read-all", None),
        (Method::GET, "/api/v1/orgs/{org_id}/therapists/{therapist_id}/availability", None),
        (Method::PUT, "/api/v1/orgs/{org_id}/therapists/{therapist_id}/availability", Some(week)),
        (Method::GET, "/api/v1/orgs/{org_id}/availability", None),
        (Method::GET, "/api/v1/orgs/{org_id}/availability/free-at", None),
        (Method::GET, "/api/v1/orgs/{org_id}/time-off", None),
        (Method::POST, "/api/v1/orgs/{org_id}/time-off", Some(time_off)),
        (Method::GET, "/api/v1/orgs/{org_id}/time-off/{time_off_id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/time-off/{time_off_id}/affected", None),
        (Method::GET, "/api/v1/orgs/{org_id}/time-off/{time_off_id}/coverage", None),
        (Method::POST, "/api/v1/orgs/{org_id}/time-off/{time_off_id}/approve", Some(json!({}))),
        (Method::POST, "/api/v1/orgs/{org_id}/time-off/{time_off_id}/deny", Some(json!({ "reason": "x" }))),
        (Method::POST, "/api/v1/orgs/{org_id}/time-off/{time_off_id}/cancel", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/time-off/{time_off_id}/reassign",
            Some(json!({ "coverage_therapist_id": b.therapist.person_id })),
        ),
        (Method::POST, "/api/v1/orgs/{org_id}/time-off/{time_off_id}/cancel-affected", Some(json!({ "reason": "x" }))),
        (Method::GET, "/api/v1/orgs/{org_id}/settings", None),
        (Method::GET, "/api/v1/orgs/{org_id}/questionnaires", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/questionnaires",
            Some(json!({ "title": "Intruders", "items": [{ "prompt": "How?", "kind": "scale" }] })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins",
            Some(json!({ "questionnaire_id": "mood", "phase": "BEFORE" })),
        ),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/groups/{group_id}/check-ins",
            Some(json!({ "questionnaire_id": "mood", "phase": "BEFORE" })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/me/check-ins", None),
        (Method::GET, "/api/v1/orgs/{org_id}/me/check-ins/trend", None),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/answers", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/answers",
            Some(json!({ "answers": { "q1": 5 } })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/sessions/{session_id}/check-ins/{check_in_id}/results", None),
        (Method::PATCH, "/api/v1/orgs/{org_id}/people/{person_id}", Some(json!({ "role": "moderator" }))),
        (Method::PATCH, "/api/v1/orgs/{org_id}/settings", Some(json!({ "refuse_late_attendance": true }))),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/waitlist",
            Some(json!({ "client_id": b.client.person_id, "target": "ONE_ON_ONE" })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/waitlist", None),
        (Method::GET, "/api/v1/orgs/{org_id}/waitlist/stats", None),
        (Method::GET, "/api/v1/orgs/{org_id}/waitlist/freed", None),
        (Method::GET, "/api/v1/orgs/{org_id}/waitlist/settings", None),
        (Method::PUT, "/api/v1/orgs/{org_id}/waitlist/settings", Some(json!({}))),
        (Method::GET, "/api/v1/orgs/{org_id}/waitlist/{entry_id}", None),
        (Method::PATCH, "/api/v1/orgs/{org_id}/waitlist/{entry_id}", Some(json!({ "urgency": "LOW" }))),
        (Method::DELETE, "/api/v1/orgs/{org_id}/waitlist/{entry_id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/waitlist/{entry_id}/suggestions", None),
        (Method::GET, "/api/v1/orgs/{org_id}/freed/{session_id}/suggestions", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/offers",
            Some(json!({ "entry_id": b.client.person_id, "session_id": b.client.person_id })),
        ),
        (Method::GET, "/api/v1/orgs/{org_id}/offers", None),
        (Method::GET, "/api/v1/orgs/{org_id}/offers/{offer_id}", None),
        (Method::POST, "/api/v1/orgs/{org_id}/offers/{offer_id}/accept", Some(json!({}))),
        (Method::POST, "/api/v1/orgs/{org_id}/offers/{offer_id}/decline", Some(json!({}))),
        (Method::POST, "/api/v1/orgs/{org_id}/offers/{offer_id}/withdraw", None),
        (Method::GET, "/api/v1/orgs/{org_id}/deliveries", None),
        (Method::POST, "/api/v1/orgs/{org_id}/deliveries/{delivery_id}/retry", Some(json!({}))),
        // The FHIR API: `{id}` is B's record of the resource's kind (see `fill`).
        (Method::GET, "/fhir/{org_id}/metadata", None),
        (Method::GET, "/fhir/{org_id}/Appointment", None),
        (Method::GET, "/fhir/{org_id}/Appointment/{id}", None),
        (Method::POST, "/fhir/{org_id}/Appointment/$find", Some(fhir_find(b, start, end))),
        (Method::POST, "/fhir/{org_id}/Appointment/$hold", Some(fhir_hold(b, start, end))),
        (Method::POST, "/fhir/{org_id}/Appointment/$book", Some(json!({ "resourceType": "Parameters" }))),
        (Method::GET, "/fhir/{org_id}/Slot", None),
        (Method::GET, "/fhir/{org_id}/Slot/{id}", None),
        (Method::GET, "/fhir/{org_id}/Schedule", None),
        (Method::GET, "/fhir/{org_id}/Schedule/{id}", None),
        (Method::GET, "/fhir/{org_id}/Practitioner", None),
        (Method::GET, "/fhir/{org_id}/Practitioner/{id}", None),
        (Method::GET, "/fhir/{org_id}/Patient", None),
        (Method::GET, "/fhir/{org_id}/Patient/{id}", None),
        (Method::GET, "/fhir/{org_id}/Group", None),
        (Method::GET, "/fhir/{org_id}/Group/{id}", None),
        (Method::GET, "/api/v1/orgs/{org_id}/webhooks", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/webhooks",
            Some(json!({ "url": "https://93.184.216.34/a", "event_types": ["reminder"] })),
        ),
        (Method::PATCH, "/api/v1/orgs/{org_id}/webhooks/{webhook_id}", Some(json!({ "enabled": false }))),
        (Method::DELETE, "/api/v1/orgs/{org_id}/webhooks/{webhook_id}", None),
        (Method::POST, "/api/v1/orgs/{org_id}/webhooks/{webhook_id}/rotate-secret", Some(json!({}))),
        (Method::GET, "/api/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries", None),
        (
            Method::POST,
            "/api/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries/{message_id}/redeliver",
            Some(json!({})),
        ),
    ]
}

fn fhir_find(b: &Org, start: &str, end: &str) -> Value {
    json!({ "resourceType": "Parameters", "parameter": [
        { "name": "start", "valueDateTime": start }, { "name": "end", "valueDateTime": end },
        { "name": "practitioner", "valueReference": { "reference": format!("Practitioner/{}", b.therapist.person_id) } },
    ]})
}

fn fhir_hold(b: &Org, start: &str, end: &str) -> Value {
    json!({ "resourceType": "Parameters", "parameter": [{ "name": "appointment", "resource": {
        "resourceType": "Appointment", "status": "proposed", "start": start, "end": end,
        "participant": [
            { "actor": { "reference": format!("Practitioner/{}", b.therapist.person_id) }, "status": "needs-action" },
            { "actor": { "reference": format!("Patient/{}", b.client.person_id) }, "status": "needs-action" },
        ],
    }}]})
}

/// A 404 in the API's own words: a problem document, or under `/fhir/` an
/// OperationOutcome.
fn is_not_found(body: &Value) -> bool {
    body["code"] == "not_found" || body["issue"][0]["code"] == "not-found"
}

/// B's records, to aim at from A.
struct Targets {
    person_id: String,
    session_id: String,
    hold_id: String,
    group_id: String,
    invitation_id: String,
    notification_id: String,
    delivery_id: String,
    member_id: String,
    therapist_id: String,
    time_off_id: String,
    entry_id: String,
    offer_id: String,
    webhook_id: String,
    message_id: String,
    check_in_id: String,
}

fn fill(template: &str, org_id: &str, t: &Targets) -> String {
    // A FHIR `{id}` is the record of the resource named before it.
    let fhir_id = match template.rsplit('/').nth(1) {
        Some("Appointment") => t.session_id.clone(),
        Some("Patient") => t.person_id.clone(),
        Some("Practitioner" | "Schedule") => t.therapist_id.clone(),
        Some("Group") => t.group_id.clone(),
        Some("Slot") => format!("{}.{}.60", t.therapist_id, jiff::Timestamp::now().as_second() / 3600 * 3600 + 7200),
        _ => String::new(),
    };
    template
        .replace("{org_id}", org_id)
        .replace("{id}", &fhir_id)
        .replace("{person_id}", &t.person_id)
        .replace("{session_id}", &t.session_id)
        .replace("{hold_id}", &t.hold_id)
        .replace("{group_id}", &t.group_id)
        .replace("{invitation_id}", &t.invitation_id)
        .replace("{notification_id}", &t.notification_id)
        .replace("{delivery_id}", &t.delivery_id)
        .replace("{member_id}", &t.member_id)
        .replace("{therapist_id}", &t.therapist_id)
        .replace("{time_off_id}", &t.time_off_id)
        .replace("{entry_id}", &t.entry_id)
        .replace("{offer_id}", &t.offer_id)
        .replace("{webhook_id}", &t.webhook_id)
        .replace("{message_id}", &t.message_id)
        .replace("{check_in_id}", &t.check_in_id)
}

async fn every_tenant_route_hides_other_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.org("a").await;
    let b = app.org("b").await;
    let (start, end) = (app.hours_from_now(30), app.hours_from_now(31));
    let routes = tenant_routes(&b, &start, &end);
    let b_session = app
        .post(&format!("/api/v1/orgs/{}/sessions", b.id), &b.admin.token, routes[6].2.clone().unwrap())
        .await
        .expect(201);
    let b_hold = app
        .post(
            &format!("/api/v1/orgs/{}/holds", b.id),
            &b.admin.token,
            json!({ "therapist_id": b.therapist.person_id, "client_id": b.client.person_id,
                    "starts_at": app.hours_from_now(40), "ends_at": app.hours_from_now(41) }),
        )
        .await
        .expect(201);
    // A community in B with a proposal: an invitation and a notification to aim at.
    let b_group = app.community(&b, json!({}), &[]).await;
    let proposal = crate::group_sessions::proposal(&b, &b_group, &app.hours_from_now(50), &[&b.therapist]);
    let b_proposal =
        app.post(&format!("/api/v1/orgs/{}/sessions", b.id), &b.moderator.token, proposal).await.expect(201);
    let b_inbox = app.get(&format!("/api/v1/orgs/{}/notifications", b.id), &b.therapist.token).await.expect(200);
    let b_roster =
        app.get(&format!("/api/v1/orgs/{}/groups/{b_group}/members", b.id), &b.admin.token).await.expect(200);
    let b_time_off = app
        .post(
            &format!("/api/v1/orgs/{}/time-off", b.id),
            &b.therapist.token,
            json!({ "type": "VACATION", "starts_at": app.hours_from_now(50), "ends_at": app.hours_from_now(60) }),
        )
        .await
        .expect(201);
    // A waiting client in B with a live offer of a one-on-one slot.
    let b_entry = app
        .post(
            &format!("/api/v1/orgs/{}/waitlist", b.id),
            &b.admin.token,
            json!({ "client_id": b.client.person_id, "target": "ONE_ON_ONE", "therapist_id": b.therapist.person_id }),
        )
        .await
        .expect(201);
    let b_offer = app
        .post(
            &format!("/api/v1/orgs/{}/offers", b.id),
            &b.admin.token,
            json!({ "entry_id": b_entry["id"], "therapist_id": b.therapist.person_id,
                    "starts_at": app.hours_from_now(70), "ends_at": app.hours_from_now(71) }),
        )
        .await
        .expect(201);
    let b_deliveries = app.get(&format!("/api/v1/orgs/{}/deliveries", b.id), &b.admin.token).await.expect(200);
    let b_webhook = app
        .post(
            &format!("/api/v1/orgs/{}/webhooks", b.id),
            &b.admin.token,
            json!({ "url": "https://93.184.216.34/b", "event_types": ["session_booked"] }),
        )
        .await
        .expect(201);
    let b_check_in = app
        .post(
            &format!("/api/v1/orgs/{}/sessions/{}/check-ins", b.id, b_session["id"].as_str().unwrap()),
            &b.admin.token,
            json!({ "questionnaire_id": "mood", "phase": "BEFORE" }),
        )
        .await
        .expect(201);
    let targets = Targets {
        check_in_id: b_check_in["id"].as_str().unwrap().to_owned(),
        person_id: b.client.person_id.clone(),
        session_id: b_session["id"].as_str().unwrap().to_owned(),
        hold_id: b_hold["hold_id"].as_str().unwrap().to_owned(),
        group_id: b_group.clone(),
        invitation_id: b_proposal["therapists"][0]["id"].as_str().unwrap().to_owned(),
        notification_id: b_inbox["items"][0]["id"].as_str().unwrap().to_owned(),
        delivery_id: b_deliveries["items"][0]["id"].as_str().unwrap().to_owned(),
        member_id: b_roster["items"][0]["id"].as_str().unwrap().to_owned(),
        therapist_id: b.therapist.person_id.clone(),
        time_off_id: b_time_off["id"].as_str().unwrap().to_owned(),
        entry_id: b_entry["id"].as_str().unwrap().to_owned(),
        offer_id: b_offer["id"].as_str().unwrap().to_owned(),
        webhook_id: b_webhook["id"].as_str().unwrap().to_owned(),
        // B has no webhook message yet; an unknown id must not tell A that either.
        message_id: uuid::Uuid::now_v7().to_string(),
    };

    // The table covers every tenant route the API documents.
    let openapi = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    for (path, item) in openapi["paths"].as_object().unwrap() {
        if !path.contains("{org_id}") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let covered = routes.iter().any(|(m, p, _)| p == path && m.as_str().eq_ignore_ascii_case(method));
            assert!(covered, "{method} {path} is missing from the cross-organisation table");
        }
    }

    for role in Role::ALL {
        let caller = a.by_role(role);
        for (method, template, body) in &routes {
            // B's organisation, B's records.
            let path = fill(template, &b.id, &targets);
            let res = app.request(method.clone(), &path, Some(&caller.token), body.clone()).await;
            assert_eq!(res.status.as_u16(), 404, "{role} of A: {method} {path} → {}", res.body);
            assert!(is_not_found(&res.body), "{role} of A: {method} {path} → {}", res.body);
            // A's organisation, B's records.
            if template.matches('{').count() > 1 {
                let path = fill(template, &a.id, &targets);
                let res = app.request(method.clone(), &path, Some(&caller.token), body.clone()).await;
                assert_eq!(res.status.as_u16(), 404, "{role} of A: {method} {path} → {}", res.body);
            }
        }
    }
    // Nothing was written into B, and B's session and hold are untouched.
    let webhooks = app.get(&format!("/api/v1/orgs/{}/webhooks", b.id), &b.admin.token).await.expect(200);
    assert_eq!(webhooks["items"].as_array().unwrap().len(), 1);
    assert_eq!(webhooks["items"][0]["enabled"], true);
    let people = app.get(&format!("/api/v1/orgs/{}/people", b.id), &b.admin.token).await.expect(200);
    assert_eq!(people["items"].as_array().unwrap().len(), 4);
    let session =
        app.get(&format!("/api/v1/orgs/{}/sessions/{}", b.id, targets.session_id), &b.admin.token).await.expect(200);
    assert_eq!(session["status"], "SCHEDULED");
    let hold = app.get(&format!("/api/v1/orgs/{}/holds/{}", b.id, targets.hold_id), &b.admin.token).await.expect(200);
    assert_eq!(hold["status"], "LIVE");
    let group =
        app.get(&format!("/api/v1/orgs/{}/groups/{}", b.id, targets.group_id), &b.admin.token).await.expect(200);
    assert_eq!((group["name"].as_str(), group["status"].as_str()), (Some("Tuesday Circle"), Some("ACTIVE")));
    let proposal = app
        .get(&format!("/api/v1/orgs/{}/sessions/{}", b.id, b_proposal["id"].as_str().unwrap()), &b.admin.token)
        .await
        .expect(200);
    assert_eq!(proposal["therapists"][0]["status"], "PENDING");
    assert_eq!(
        app.inbox(&b, &b.therapist).await,
        ["invitation", "session_booked"],
        "B's notifications are still unread"
    );
    let time_off =
        app.get(&format!("/api/v1/orgs/{}/time-off/{}", b.id, targets.time_off_id), &b.admin.token).await.expect(200);
    assert_eq!(time_off["status"], "PENDING");
    let week = app
        .get(&format!("/api/v1/orgs/{}/therapists/{}/availability", b.id, targets.therapist_id), &b.admin.token)
        .await
        .expect(200);
    assert_eq!(week["rules"], json!([]), "B's therapist's week is untouched");
    let offer =
        app.get(&format!("/api/v1/orgs/{}/offers/{}", b.id, targets.offer_id), &b.admin.token).await.expect(200);
    assert_eq!(offer["status"], "LIVE", "B's offer is still open");
}
