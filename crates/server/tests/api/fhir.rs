//! The FHIR R4 API's reads and searches, with who may see what and the
//! audit of reads; every answer is checked by two FHIR validators.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fhir_validate::{Recorder, entries, link, outcome};
use crate::support::{Org, TestApp};

backend_tests!(
    the_capability_statement_lists_what_is_served,
    people_schedules_and_groups_read_and_search_as_the_json_api_allows,
    slots_are_the_free_slot_search_a_page_at_a_time,
    held_time_shows_as_busy_tentative_slots_until_the_hold_goes,
    appointments_read_and_search_with_participants_and_group_subject,
    fhir_errors_are_operation_outcomes,
);

const R5_SUBJECT: &str = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.subject";

/// A one-on-one appointment booked through the JSON API, `hours` from now.
async fn one_on_one(app: &TestApp, org: &Org, hours: i64) -> String {
    let hold = app
        .post(
            &format!("/api/v1/orgs/{}/holds", org.id),
            &org.admin.token,
            json!({ "therapist_id": org.therapist.person_id, "client_id": org.client.person_id,
                    "starts_at": app.hours_from_now(hours), "ends_at": app.hours_from_now(hours + 1), "title": "Intake" }),
        )
        .await
        .expect(201);
    let confirm = format!("/api/v1/orgs/{}/holds/{}/confirm", org.id, hold["hold_id"].as_str().unwrap());
    let sessions = app.request(Method::POST, &confirm, Some(&org.admin.token), None).await.expect(201);
    sessions["items"][0]["id"].as_str().unwrap().to_owned()
}

/// A scheduled group session in a community with the org's client seated.
async fn group_session(app: &TestApp, org: &Org, hours: i64) -> (String, String) {
    let group = app.community(org, json!({}), &[]).await;
    let mut body = crate::group_sessions::proposal(org, &group, &app.hours_from_now(hours), &[&org.therapist]);
    body["capacity"] = json!(6);
    let session = app.post(&crate::group_sessions::sessions(org), &org.moderator.token, body).await.expect(201);
    crate::group_sessions::respond(app, org, &org.therapist, &session, "accept").await.expect(200);
    let id = session["id"].as_str().unwrap().to_owned();
    let join = format!("/api/v1/orgs/{}/sessions/{id}/join", org.id);
    app.request(Method::POST, &join, Some(&org.client.token), None).await.expect(200);
    (group, id)
}

fn ids(resources: &[Value]) -> Vec<String> {
    resources.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

async fn the_capability_statement_lists_what_is_served(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("m").await;
    let fhir = Recorder::new(&app, &org.id);
    let cs = fhir.get("metadata", &org.client.token).await.expect(200);
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["implementation"]["url"], format!("{}/fhir/{}", app.base, org.id));
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let types: Vec<&str> = resources.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Appointment", "Slot", "Schedule", "Practitioner", "Patient", "Group"]);
    // Exactly what the OpenAPI document routes: a read and a search for each.
    let openapi = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    for t in types {
        for path in [format!("/fhir/{{org_id}}/{t}"), format!("/fhir/{{org_id}}/{t}/{{id}}")] {
            assert!(openapi["paths"][&path]["get"].is_object(), "{path} is served");
        }
    }
    for op in ["find", "hold", "book"] {
        assert!(openapi["paths"][format!("/fhir/{{org_id}}/Appointment/${op}")]["post"].is_object());
    }
    fhir.validate();
}

async fn people_schedules_and_groups_read_and_search_as_the_json_api_allows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("p").await;
    let fhir = Recorder::new(&app, &org.id);
    let therapist = &org.therapist.person_id;
    let client = &org.client.person_id;

    let p = fhir.get(&format!("Practitioner/{therapist}"), &org.client.token).await.expect(200);
    assert_eq!((p["id"].as_str(), p["name"][0]["text"].as_str()), (Some(therapist.as_str()), Some("A therapist")));
    let all = fhir.get("Practitioner", &org.client.token).await.expect(200);
    assert_eq!(ids(&entries(&all)), [therapist.as_str()]);
    assert_eq!(entries(&all)[0]["resourceType"], "Practitioner");
    outcome(fhir.get(&format!("Practitioner/{client}"), &org.admin.token).await, 404, "not-found");

    // Patients: staff read them (audited), a client reads only themself,
    // a therapist only the clients they serve.
    let patient = fhir.get(&format!("Patient/{client}"), &org.moderator.token).await.expect(200);
    assert_eq!(patient["name"][0]["text"], "A client");
    let audit =
        app.get(&format!("/api/v1/orgs/{}/audit?subject_id={client}", org.id), &org.admin.token).await.expect(200);
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "person.read" && e["actor_person_id"] == org.moderator.person_id.as_str()),
        "the Patient read is audited: {audit}"
    );
    fhir.get(&format!("Patient/{client}"), &org.client.token).await.expect(200);
    outcome(fhir.get(&format!("Patient/{client}"), &org.therapist.token).await, 404, "not-found");
    outcome(fhir.get("Patient", &org.client.token).await, 403, "forbidden");
    let patients = fhir.get("Patient?_count=1", &org.admin.token).await.expect(200);
    assert_eq!(ids(&entries(&patients)), [client.as_str()]);
    assert!(link(&patients, "next").is_none(), "one client: one page");

    let schedule = fhir.get(&format!("Schedule/{therapist}"), &org.client.token).await.expect(200);
    assert_eq!(schedule["actor"][0]["reference"], format!("Practitioner/{therapist}"));
    let schedules = fhir.get(&format!("Schedule?actor=Practitioner/{therapist}"), &org.client.token).await.expect(200);
    assert_eq!(ids(&entries(&schedules)), [therapist.as_str()]);
    let none = fhir.get(&format!("Schedule?actor=Practitioner/{client}"), &org.client.token).await.expect(200);
    assert!(entries(&none).is_empty());

    // Groups: members for staff, not for a member.
    let group = app.community(&org, json!({}), &[]).await;
    let read = fhir.get(&format!("Group/{group}"), &org.admin.token).await.expect(200);
    assert_eq!((read["name"].as_str(), read["quantity"].as_i64()), (Some("Tuesday Circle"), Some(1)));
    assert_eq!(read["member"][0]["entity"]["reference"], format!("Patient/{client}"));
    let as_member = fhir.get(&format!("Group/{group}"), &org.client.token).await.expect(200);
    assert!(as_member.get("member").is_none(), "a member does not read the roster: {as_member}");
    let groups = fhir.get("Group", &org.admin.token).await.expect(200);
    assert_eq!(ids(&entries(&groups)), [group.as_str()]);
    assert_eq!(entries(&groups)[0]["member"].as_array().map(Vec::len), Some(1));
    fhir.validate();
}

async fn slots_are_the_free_slot_search_a_page_at_a_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("s").await;
    let fhir = Recorder::new(&app, &org.id);
    let therapist = &org.therapist.person_id;
    // Working hours Monday to Friday, 09:00–12:00 in New York.
    let rules: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .iter()
        .map(|d| json!({ "weekday": d, "start_time": "09:00", "end_time": "12:00" }))
        .collect();
    app.request(
        Method::PUT,
        &format!("/api/v1/orgs/{}/therapists/{therapist}/availability", org.id),
        Some(&org.admin.token),
        Some(json!({ "rules": rules })),
    )
    .await
    .expect(200);
    let (from, to) = (app.hours_from_now(1), app.hours_from_now(1 + 24 * 14));
    let query = format!("Slot?schedule=Schedule/{therapist}&start=ge{from}&start=lt{to}&_count=4");
    let page = fhir.get(&query.replace('+', "%2B"), &org.client.token).await.expect(200);
    let slots = entries(&page);
    assert_eq!(slots.len(), 4);
    for slot in &slots {
        assert_eq!(slot["status"], "free");
        assert_eq!(slot["schedule"]["reference"], format!("Schedule/{therapist}"));
        let start = slot["start"].as_str().unwrap();
        assert!(start.ends_with("-05:00") || start.ends_with("-04:00"), "local time: {start}");
        let hour = &start[11..13];
        assert!(["09", "10", "11"].contains(&hour), "inside working hours: {start}");
    }
    let next = link(&page, "next").expect("more slots follow");
    let second = fhir.follow(&next, &org.client.token).await.expect(200);
    let later = entries(&second);
    assert_eq!(later.len(), 4);
    let last: jiff::Timestamp = slots[3]["start"].as_str().unwrap().parse().unwrap();
    let first_after: jiff::Timestamp = later[0]["start"].as_str().unwrap().parse().unwrap();
    assert!(first_after > last, "the next page goes on after the first");

    // A slot reads back while free, and not once it is booked.
    let id = slots[0]["id"].as_str().unwrap();
    assert_eq!(fhir.get(&format!("Slot/{id}"), &org.client.token).await.expect(200)["id"], id);
    let start: jiff::Timestamp = slots[0]["start"].as_str().unwrap().parse().unwrap();
    let hold = hold_at(&app, &org, start, 60).await;
    let confirm = format!("/api/v1/orgs/{}/holds/{hold}/confirm", org.id);
    app.request(Method::POST, &confirm, Some(&org.admin.token), None).await.expect(201);
    outcome(fhir.get(&format!("Slot/{id}"), &org.client.token).await, 404, "not-found");
    outcome(fhir.get("Slot/not-a-slot", &org.client.token).await, 404, "not-found");
    let busy =
        fhir.get(&format!("Slot?schedule=Schedule/{therapist}&status=busy"), &org.client.token).await.expect(200);
    assert!(entries(&busy).is_empty(), "a derived slot is only ever free or busy-tentative");
    // A schedule nobody keeps matches no slot, like any search for a
    // reference to nothing.
    let nobody = uuid::Uuid::now_v7();
    let none = fhir.get(&format!("Slot?schedule=Schedule/{nobody}"), &org.client.token).await.expect(200);
    assert!(entries(&none).is_empty());
    outcome(fhir.get("Slot", &org.client.token).await, 400, "invalid");
    fhir.validate();
}

/// A live hold of the org's therapist and client, `minutes` long from `start`; its id.
async fn hold_at(app: &TestApp, org: &Org, start: jiff::Timestamp, minutes: i64) -> String {
    let end = start + jiff::SignedDuration::from_mins(minutes);
    let body = json!({ "therapist_id": org.therapist.person_id, "client_id": org.client.person_id,
                       "starts_at": start.to_string(), "ends_at": end.to_string() });
    let hold = app.post(&format!("/api/v1/orgs/{}/holds", org.id), &org.admin.token, body).await.expect(201);
    hold["hold_id"].as_str().unwrap().to_owned()
}

async fn held_time_shows_as_busy_tentative_slots_until_the_hold_goes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("t").await;
    let fhir = Recorder::new(&app, &org.id);
    let therapist = &org.therapist.person_id;
    // No working hours: free around the clock, in hour-long slots from local midnight.
    let zone = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let tomorrow = circles_domain::Clock::now(app.clock.as_ref()) + jiff::SignedDuration::from_hours(24);
    let day = tomorrow.to_zoned(zone.clone()).date().to_zoned(zone).unwrap().timestamp();
    let (ten, to) = (day + jiff::SignedDuration::from_hours(10), day + jiff::SignedDuration::from_hours(14));
    let search = |status: &str| {
        let status = if status.is_empty() { String::new() } else { format!("&status={status}") };
        format!("Slot?schedule=Schedule/{therapist}&start=ge{day}&start=lt{to}{status}").replace('+', "%2B")
    };
    let statuses = |page: &Value| -> Vec<(String, String)> {
        entries(page)
            .iter()
            .map(|s| (s["start"].as_str().unwrap()[11..16].to_owned(), s["status"].as_str().unwrap().to_owned()))
            .collect()
    };

    // A 50-minute hold from 10:00: that time is busy-tentative at the length held, the rest free.
    let hold = hold_at(&app, &org, ten, 50).await;
    let all = fhir.get(&search(""), &org.client.token).await.expect(200);
    let listed = statuses(&all);
    assert_eq!(listed.len(), 14, "{listed:?}");
    let held: Vec<&(String, String)> = listed.iter().filter(|(_, status)| status == "busy-tentative").collect();
    assert_eq!(held, [&("10:00".to_owned(), "busy-tentative".to_owned())]);
    assert!(!listed.contains(&("10:00".to_owned(), "free".to_owned())), "held time is not free: {listed:?}");
    let tentative = entries(&fhir.get(&search("busy-tentative"), &org.client.token).await.expect(200));
    assert_eq!(tentative.len(), 1);
    let end: jiff::Timestamp = tentative[0]["end"].as_str().unwrap().parse().unwrap();
    assert_eq!(end, ten + jiff::SignedDuration::from_mins(50));
    let free = statuses(&fhir.get(&search("free"), &org.client.token).await.expect(200));
    assert!(free.iter().all(|(at, status)| status == "free" && at != "10:00"), "{free:?}");
    assert_eq!(free.len(), 13);
    // The held slot reads back as such.
    let id = tentative[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(fhir.get(&format!("Slot/{id}"), &org.client.token).await.expect(200)["status"], "busy-tentative");

    // Released, the time is free again and nothing is tentative.
    let release = format!("/api/v1/orgs/{}/holds/{hold}", org.id);
    app.request(Method::DELETE, &release, Some(&org.admin.token), None).await.expect(204);
    assert!(entries(&fhir.get(&search("busy-tentative"), &org.client.token).await.expect(200)).is_empty());
    assert_eq!(fhir.get(&format!("Slot/{id}"), &org.client.token).await.expect(200)["status"], "free");
    let listed = statuses(&fhir.get(&search(""), &org.client.token).await.expect(200));
    assert!(listed.contains(&("10:00".to_owned(), "free".to_owned())), "{listed:?}");
    fhir.validate();
}

async fn appointments_read_and_search_with_participants_and_group_subject(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("a").await;
    let fhir = Recorder::new(&app, &org.id);
    let therapist = &org.therapist.person_id;
    let client = &org.client.person_id;
    let single = one_on_one(&app, &org, 24).await;
    let (group, grouped) = group_session(&app, &org, 48).await;

    let read = fhir.get(&format!("Appointment/{single}"), &org.admin.token).await.expect(200);
    assert_eq!(read["status"], "booked");
    assert_eq!(read["description"], "Intake");
    assert_eq!(read["minutesDuration"], 60);
    let actors: Vec<(&str, &str)> = read["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["actor"]["reference"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actors,
        [(&*format!("Practitioner/{therapist}"), "accepted"), (&*format!("Patient/{client}"), "tentative")]
    );
    assert_eq!(read["participant"][1]["actor"]["display"], "A client");

    let session = fhir.get(&format!("Appointment/{grouped}"), &org.admin.token).await.expect(200);
    let ext = session["extension"].as_array().unwrap();
    assert_eq!(ext[0]["url"], R5_SUBJECT);
    assert_eq!(ext[0]["valueReference"]["reference"], format!("Group/{group}"));
    assert_eq!((ext[1]["valueUnsignedInt"].as_i64(), ext[2]["valueUnsignedInt"].as_i64()), (Some(6), Some(1)));
    // Reading an appointment with seats is audited like the JSON API's read.
    let audit =
        app.get(&format!("/api/v1/orgs/{}/audit?subject_id={client}", org.id), &org.admin.token).await.expect(200);
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "session.read" && e["record_id"] == grouped.as_str()),
        "the Appointment read is audited: {audit}"
    );

    let all = fhir.get("Appointment", &org.admin.token).await.expect(200);
    assert_eq!(ids(&entries(&all)), [single.as_str(), grouped.as_str()], "sorted by start");
    let first_page = fhir.get("Appointment?_count=1", &org.admin.token).await.expect(200);
    assert_eq!(ids(&entries(&first_page)), [single.as_str()]);
    let second = fhir.follow(&link(&first_page, "next").expect("a next page"), &org.admin.token).await.expect(200);
    assert_eq!(ids(&entries(&second)), [grouped.as_str()]);
    assert!(link(&second, "next").is_none());

    // A bare date is a day in the organisation's zone, not in UTC.
    let single_starts: jiff::Timestamp = app.hours_from_now(24).parse().unwrap();
    let day_of_single = single_starts.in_tz("America/New_York").unwrap().date().to_string();
    let cases = [
        (format!("Appointment?patient=Patient/{client}"), vec![&single, &grouped]),
        (format!("Appointment?practitioner=Practitioner/{therapist}"), vec![&single, &grouped]),
        (format!("Appointment?actor=Patient/{client}&status=booked"), vec![&single, &grouped]),
        ("Appointment?status=cancelled".to_owned(), vec![]),
        (format!("Appointment?date=ge{}", app.hours_from_now(30)), vec![&grouped]),
        (format!("Appointment?date=lt{}", app.hours_from_now(30)), vec![&single]),
        (
            format!("Appointment?date=ge{}&date=le{}", app.hours_from_now(24), app.hours_from_now(48)),
            vec![&single, &grouped],
        ),
        (format!("Appointment?date=gt{}", app.hours_from_now(48)), vec![]),
        (format!("Appointment?date={day_of_single}&practitioner={therapist}"), vec![&single]),
    ];
    for (query, expected) in cases {
        let found = fhir.get(&query, &org.admin.token).await.expect(200);
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&entries(&found)), expected, "{query}");
    }
    // The therapist's and the client's own views; a stranger to the
    // sessions sees none of them.
    let mine = fhir.get("Appointment", &org.client.token).await.expect(200);
    assert_eq!(ids(&entries(&mine)), [single.as_str(), grouped.as_str()]);
    let other = app.person(&org.id, &org.admin.token, "other@a.example", "client").await;
    let theirs = fhir.get("Appointment", &other.token).await.expect(200);
    assert!(entries(&theirs).is_empty());
    outcome(fhir.get(&format!("Appointment/{single}"), &other.token).await, 403, "forbidden");
    fhir.validate();
}

async fn fhir_errors_are_operation_outcomes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("e").await;
    let stranger = app.org("x").await;
    let fhir = Recorder::new(&app, &org.id);
    outcome(fhir.get("metadata", &stranger.admin.token).await, 404, "not-found");
    let res = app.request(Method::GET, &fhir.path("metadata"), None, None).await;
    fhir.keep(&res);
    outcome(res, 401, "login");
    let unknown = outcome(fhir.get("Appointment?subject=Group/x", &org.admin.token).await, 400, "invalid");
    assert_eq!(unknown["issue"][0]["expression"], json!(["subject"]));
    let bad_date = outcome(fhir.get("Appointment?date=ne2027-01-01", &org.admin.token).await, 400, "invalid");
    assert_eq!(bad_date["issue"][0]["expression"], json!(["date"]));
    outcome(fhir.get("Appointment?_count=1000", &org.admin.token).await, 400, "invalid");
    outcome(fhir.get("Appointment?status=nonsense", &org.admin.token).await, 400, "invalid");
    outcome(fhir.get(&format!("Appointment/{}", uuid::Uuid::now_v7()), &org.admin.token).await, 404, "not-found");
    outcome(fhir.get("Observation", &org.admin.token).await, 404, "not-found");
    let res = app.request(Method::DELETE, &fhir.path("metadata"), Some(&org.admin.token), None).await;
    fhir.keep(&res);
    outcome(res, 405, "not-supported");
    fhir.validate();
}
