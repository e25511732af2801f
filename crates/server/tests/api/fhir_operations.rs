//! The IHE Scheduling operations: `$find` → `$hold` → `$book` over
//! Circles' holds, idempotent replays, conflicts with retry hints, and a
//! race of fifty holds for one slot. Every answer is validated twice.

use circles_testkit::{Backend, backend_tests};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::fhir_validate::{Recorder, entries, outcome};
use crate::support::{Org, TestApp};

backend_tests!(find_hold_book_is_one_journey, fifty_holds_for_one_slot_admit_one);

fn find_params(org: &Org, start: &str, end: &str, patient: &str) -> Value {
    json!({ "resourceType": "Parameters", "parameter": [
        { "name": "start", "valueDateTime": start },
        { "name": "end", "valueDateTime": end },
        { "name": "practitioner", "valueReference": { "reference": format!("Practitioner/{}", org.therapist.person_id) } },
        { "name": "patient", "valueReference": { "reference": format!("Patient/{patient}") } },
        { "name": "minutesDuration", "valueInteger": 50 },
        { "name": "_count", "valueInteger": 3 },
    ]})
}

fn with_appointment(appointment: &Value) -> Value {
    json!({ "resourceType": "Parameters", "parameter": [{ "name": "appointment", "resource": appointment }] })
}

/// The proposal again, for another patient.
fn for_patient(proposal: &Value, patient: &str) -> Value {
    let mut other = proposal.clone();
    other["participant"][1]["actor"] = json!({ "reference": format!("Patient/{patient}") });
    other
}

async fn find_hold_book_is_one_journey(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("j").await;
    let fhir = Recorder::new(&app, &org.id);
    let client = &org.client.person_id;
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(48));

    let found = fhir
        .post("Appointment/$find", &org.admin.token, find_params(&org, &start, &end, client), None)
        .await
        .expect(200);
    let proposals = entries(&found);
    assert_eq!(proposals.len(), 3, "_count is honoured");
    let proposal = proposals[0].clone();
    assert_eq!(proposal["status"], "proposed");
    assert_eq!(proposal["minutesDuration"], 50);
    assert_eq!(proposal["participant"][0]["actor"]["display"], "A therapist");
    assert_eq!(proposal["participant"][1]["actor"]["reference"], format!("Patient/{client}"));
    assert!(proposal["slot"][0]["reference"].as_str().unwrap().starts_with("Slot/"));

    // $hold: a Circles hold, idempotent under one key.
    let held =
        fhir.post("Appointment/$hold", &org.admin.token, with_appointment(&proposal), Some("hold-1")).await.expect(200);
    assert_eq!(held["status"], "pending");
    assert_eq!(held["start"], proposal["start"]);
    let hold_id = held["id"].as_str().unwrap().to_owned();
    let expiry =
        held["extension"].as_array().unwrap().iter().find(|e| e["url"].as_str().unwrap().ends_with("/hold-expires"));
    assert!(expiry.is_some(), "the hold says when it lapses: {held}");
    let replay =
        fhir.post("Appointment/$hold", &org.admin.token, with_appointment(&proposal), Some("hold-1")).await.expect(200);
    assert_eq!(replay["id"], hold_id.as_str(), "the same key replays the same hold");
    let api_hold = app.get(&format!("/api/v1/orgs/{}/holds/{hold_id}", org.id), &org.admin.token).await.expect(200);
    assert_eq!(api_hold["status"], "LIVE", "it is a Circles hold");

    // The held slot is taken: another client's hold is a conflict with hints.
    let other = app.person(&org.id, &org.admin.token, "other@j.example", "client").await;
    let clash = fhir
        .post(
            "Appointment/$hold",
            &org.admin.token,
            with_appointment(&for_patient(&proposal, &org.therapist.person_id)),
            None,
        )
        .await;
    let clash_body = outcome(clash, 422, "invalid");
    assert!(
        clash_body["issue"].as_array().unwrap().iter().any(|i| i["expression"] == json!(["appointment.participant"]))
    );
    let clash = fhir
        .post("Appointment/$hold", &org.admin.token, with_appointment(&for_patient(&proposal, &other.person_id)), None)
        .await;
    let conflict = outcome(clash, 409, "conflict");
    let hints = conflict["issue"][0]["extension"].as_array().expect("retry hints");
    assert!(!hints.is_empty() && hints.iter().all(|h| h["url"].as_str().unwrap().ends_with("/retry-hint")));
    assert_eq!(conflict["issue"][0]["details"]["coding"][0]["code"], "scheduling_conflict");

    // Reading the held appointment; then $book confirms it.
    let pending = fhir.get(&format!("Appointment/{hold_id}"), &org.client.token).await.expect(200);
    assert_eq!(pending["status"], "pending");
    let book = json!({ "resourceType": "Parameters", "parameter": [{ "name": "appointment", "resource": held }] });
    let booked = fhir.post("Appointment/$book", &org.admin.token, book.clone(), Some("book-1")).await.expect(200);
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["start"], proposal["start"]);
    let session_id = booked["id"].as_str().unwrap().to_owned();
    assert_ne!(session_id, hold_id, "the booked appointment is the session");
    let again = fhir.post("Appointment/$book", &org.admin.token, book.clone(), Some("book-1")).await.expect(200);
    assert_eq!(again["id"], session_id.as_str(), "a replay, not a second booking");
    let details = outcome(fhir.post("Appointment/$book", &org.admin.token, book, None).await, 409, "conflict");
    assert_eq!(details["issue"][0]["details"]["coding"][0]["code"], "hold_confirmed");
    let read = fhir.get(&format!("Appointment/{session_id}"), &org.client.token).await.expect(200);
    assert_eq!(read["participant"][1]["actor"]["reference"], format!("Patient/{client}"));

    // The booked slot is no longer proposed.
    let after = fhir
        .post("Appointment/$find", &org.admin.token, find_params(&org, &start, &end, client), None)
        .await
        .expect(200);
    assert!(entries(&after).iter().all(|p| p["start"] != proposal["start"]), "{after}");
    // Bad input names the parameter.
    let bad = json!({ "resourceType": "Parameters", "parameter": [{ "name": "start", "valueDateTime": "soon" }] });
    let refused = outcome(fhir.post("Appointment/$find", &org.admin.token, bad, None).await, 422, "invalid");
    let fields: Vec<&Value> = refused["issue"].as_array().unwrap().iter().map(|i| &i["expression"][0]).collect();
    assert_eq!(fields, [&json!("start"), &json!("end")]);
    outcome(
        fhir.post("Appointment/$hold", &org.admin.token, json!({ "resourceType": "Patient" }), None).await,
        422,
        "invalid",
    );
    // A practitioner who is not a therapist is refused under that name.
    let moderator =
        find_params(&org, &start, &end, client).to_string().replace(&org.therapist.person_id, &org.moderator.person_id);
    let refused =
        fhir.post("Appointment/$find", &org.admin.token, serde_json::from_str(&moderator).unwrap(), None).await;
    let refused = outcome(refused, 422, "invalid");
    assert_eq!(refused["issue"][0]["expression"], json!(["practitioner"]), "{refused}");
    assert_eq!(app.overlapping_busy_pairs().await, 0);
    fhir.validate();
}

async fn fifty_holds_for_one_slot_admit_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let fhir = Recorder::new(&app, &org.id);
    let clients = app.clients(&org.id, 50).await;
    let (start, end) = (app.hours_from_now(24), app.hours_from_now(25));
    let found = fhir
        .post("Appointment/$find", &org.admin.token, find_params(&org, &start, &end, &clients[0]), None)
        .await
        .expect(200);
    let proposal = entries(&found)[0].clone();
    let holds = clients
        .iter()
        .map(|c| fhir.post("Appointment/$hold", &org.admin.token, with_appointment(&for_patient(&proposal, c)), None));
    let answers = join_all(holds).await;
    let held = answers.iter().filter(|r| r.status == 200 && r.body["status"] == "pending").count();
    let conflicts = answers
        .iter()
        .filter(|r| r.status == 409 && r.body["issue"][0]["details"]["coding"][0]["code"] == "scheduling_conflict")
        .count();
    let server_errors = answers.iter().filter(|r| r.status.is_server_error()).count();
    assert_eq!((held, conflicts, server_errors), (1, 49, 0), "(held, conflicts, 5xx)");
    assert_eq!(app.overlapping_busy_pairs().await, 0);
    fhir.validate();
}
