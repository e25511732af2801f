//! Working hours over HTTP: seed 002's provider-availability scenario, the
//! free-slot search, who is free at an instant, and bad input.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Org, Response, TestApp};

backend_tests!(
    seed_002_provider_availability_scenario,
    who_may_set_and_read_working_hours,
    the_search_answers_every_therapist_in_utc_and_local_time_across_dst,
    free_at_lists_who_is_free_for_the_whole_duration,
    working_hours_input_is_validated_field_by_field,
    search_queries_are_validated_parameter_by_parameter,
    the_demo_has_working_hours_and_a_covered_vacation,
);

/// Monday 2027-03-01, noon UTC: the tests' calendar is fixed.
pub const NOW: &str = "2027-03-01T12:00:00Z";

/// A server whose clock stands at [`NOW`], with an organisation in New York.
pub async fn app_at_now(backend: Backend) -> (TestApp, Org) {
    let app = TestApp::spawn(backend).await;
    app.clock.set(NOW.parse().unwrap());
    let org = app.org("r").await;
    (app, org)
}

pub fn week_path(org: &Org, therapist_id: &str) -> String {
    format!("/api/v1/orgs/{}/therapists/{therapist_id}/availability", org.id)
}

pub fn rule(weekday: &str, start: &str, end: &str) -> Value {
    json!({ "weekday": weekday, "start_time": start, "end_time": end })
}

/// Weekdays 09:00–12:00 and 13:00–17:00 in the organisation's zone.
pub fn office_hours() -> Value {
    let days = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    json!({ "rules": days.iter().flat_map(|d| [rule(d, "09:00", "12:00"), rule(d, "13:00", "17:00")]).collect::<Vec<_>>() })
}

pub async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Response {
    app.request(Method::PUT, path, Some(token), Some(body)).await
}

fn booking(org: &Org, starts_at: &str, minutes: i64) -> Value {
    json!({
        "starts_at": starts_at, "duration_minutes": minutes,
        "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id],
    })
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

async fn seed_002_provider_availability_scenario(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let path = week_path(&org, &org.therapist.person_id);
    let sessions = format!("/api/v1/orgs/{}/sessions", org.id);

    // 1. Configure the provider's weekly schedule (they do it themselves).
    let mut week = office_hours();
    let mut evening = rule("wednesday", "18:00", "20:00");
    evening["modality"] = json!("VIRTUAL");
    evening["max_sessions"] = json!(2);
    evening["location"] = json!("Video room");
    week["rules"].as_array_mut().unwrap().push(evening);
    let stored = put(&app, &path, &org.therapist.token, week).await.expect(200);
    assert_eq!(stored["timezone"], "America/New_York", "the organisation's zone by default");
    assert_eq!(stored["rules"].as_array().unwrap().len(), 11);
    assert_eq!(
        stored["rules"][6],
        json!({ "weekday": "wednesday", "start_time": "18:00", "end_time": "20:00", "modality": "VIRTUAL",
                "location": "Video room", "max_sessions": 2, "effective_from": null, "effective_to": null })
    );
    assert_eq!(app.get(&path, &org.client.token).await.expect(200), stored, "read back as stored");

    // 2. Check for scheduling conflicts: overlapping rules are refused by name.
    let overlapping = json!({ "rules": [rule("monday", "09:00", "12:00"), rule("tuesday", "09:00", "12:00"),
                                        rule("monday", "11:00", "13:00")] });
    let problem = put(&app, &path, &org.therapist.token, overlapping).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["rules[2]"]);
    assert_eq!(problem["errors"][0]["reason"], "monday 11:00–13:00 overlaps rules[0] (monday 09:00–12:00)");
    assert_eq!(app.get(&path, &org.admin.token).await.expect(200), stored, "nothing changed");

    // 3. Book an appointment during available time: Tuesday 10:00 New York.
    app.post(&sessions, &org.client.token, booking(&org, "2027-03-02T10:00:00-05:00", 50)).await.expect(201);

    // 4. Booking during unavailable time fails, with hints that fit the hours.
    let problem = app
        .post(&sessions, &org.client.token, booking(&org, "2027-03-02T11:30:00-05:00", 60))
        .await
        .problem(409, "outside_availability");
    assert_eq!(
        strings(&problem["retry_hints"]),
        [
            "2027-03-02T18:00:00Z",
            "2027-03-02T18:15:00Z",
            "2027-03-02T18:30:00Z",
            "2027-03-02T18:45:00Z",
            "2027-03-02T19:00:00Z"
        ]
    );
    let saturday = booking(&org, "2027-03-06T10:00:00-05:00", 60);
    app.post(&sessions, &org.client.token, saturday.clone()).await.problem(409, "outside_availability");
    let in_person_evening = booking(&org, "2027-03-03T18:00:00-05:00", 60);
    app.post(&sessions, &org.client.token, in_person_evening).await.problem(409, "outside_availability");
    let mut video_evening = booking(&org, "2027-03-03T18:00:00-05:00", 60);
    video_evening["modality"] = json!("VIRTUAL");
    video_evening["virtual_link"] = json!("https://meet.example/r");
    app.post(&sessions, &org.client.token, video_evening).await.expect(201);
    let hold = json!({ "therapist_id": org.therapist.person_id, "client_id": org.client.person_id,
                       "starts_at": "2027-03-06T10:00:00-05:00", "ends_at": "2027-03-06T11:00:00-05:00" });
    let holds = format!("/api/v1/orgs/{}/holds", org.id);
    app.post(&holds, &org.client.token, hold.clone()).await.problem(409, "outside_availability");

    // 5. Update the schedule and verify the change: Saturday mornings open.
    let mut week = stored.clone();
    week.as_object_mut().unwrap().retain(|k, _| k == "timezone" || k == "rules");
    week["rules"].as_array_mut().unwrap().push(rule("saturday", "09:00", "13:00"));
    let updated = put(&app, &path, &org.admin.token, week).await.expect(200);
    assert_eq!(updated["rules"].as_array().unwrap().len(), 12);
    assert_eq!(app.get(&path, &org.therapist.token).await.expect(200)["rules"][11]["weekday"], "saturday");
    app.post(&holds, &org.client.token, hold).await.expect(201);
    let found = app
        .get(
            &format!("/api/v1/orgs/{}/availability?from=2027-03-06T00:00:00Z&to=2027-03-07T00:00:00Z", org.id),
            &org.client.token,
        )
        .await
        .expect(200);
    let mine =
        found["items"].as_array().unwrap().iter().find(|i| i["therapist_id"] == org.therapist.person_id.as_str());
    assert_eq!(
        strings(&mine.unwrap()["starts_local"]),
        [
            "2027-03-06T09:00:00-05:00",
            "2027-03-06T11:00:00-05:00",
            "2027-03-06T11:15:00-05:00",
            "2027-03-06T11:30:00-05:00",
            "2027-03-06T11:45:00-05:00",
            "2027-03-06T12:00:00-05:00"
        ],
        "Saturday 09:00–13:00 around the held 10:00–11:00"
    );
}

async fn who_may_set_and_read_working_hours(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let other = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let mine = week_path(&org, &org.therapist.person_id);
    put(&app, &mine, &org.therapist.token, office_hours()).await.expect(200);
    put(&app, &mine, &org.moderator.token, office_hours()).await.expect(200);
    put(&app, &mine, &org.admin.token, office_hours()).await.expect(200);
    put(&app, &mine, &other.token, office_hours()).await.problem(403, "forbidden");
    put(&app, &mine, &org.client.token, office_hours()).await.problem(403, "forbidden");
    for caller in [&org.admin, &org.moderator, &org.therapist, &other, &org.client] {
        app.get(&mine, &caller.token).await.expect(200);
    }
    // Only therapists have working hours.
    put(&app, &week_path(&org, &org.client.person_id), &org.admin.token, office_hours())
        .await
        .problem(404, "not_found");
    app.get(&week_path(&org, &org.moderator.person_id), &org.admin.token).await.problem(404, "not_found");
    // Never set: the organisation's zone and no rules, i.e. available at any time.
    let never = app.get(&week_path(&org, &other.person_id), &org.client.token).await.expect(200);
    assert_eq!(
        never,
        json!({ "therapist_id": other.person_id, "therapist_name": "A therapist", "timezone": "America/New_York",
            "rules": [], "updated_at": null, "updated_at_local": null })
    );
    // An empty week clears the rules.
    let cleared = put(&app, &mine, &org.therapist.token, json!({ "rules": [] })).await.expect(200);
    assert_eq!(cleared["rules"], json!([]));
    let audit = app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.admin.token).await.expect(200);
    let sets = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "availability.set").count();
    assert_eq!(sets, 4);
}

async fn the_search_answers_every_therapist_in_utc_and_local_time_across_dst(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let other = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    put(
        &app,
        &week_path(&org, &org.therapist.person_id),
        &org.admin.token,
        json!({ "rules": [rule("monday", "09:00", "10:30")] }),
    )
    .await
    .expect(200);
    put(
        &app,
        &week_path(&org, &other.person_id),
        &org.admin.token,
        json!({ "timezone": "Europe/London", "rules": [rule("monday", "09:00", "10:00")] }),
    )
    .await
    .expect(200);
    // Mondays 2027-03-08 (EST) and 2027-03-15 (EDT, after the 14 March change).
    let path = format!(
        "/api/v1/orgs/{}/availability?from=2027-03-08T00:00:00Z&to=2027-03-16T00:00:00Z&duration_minutes=60&step_minutes=30",
        org.id
    );
    let found = app.get(&path, &org.client.token).await.expect(200);
    assert_eq!(found["timezone"], "America/New_York");
    assert_eq!((found["duration_minutes"].as_i64(), found["step_minutes"].as_i64()), (Some(60), Some(30)));
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "every therapist when none is named");
    let of = |id: &str| items.iter().find(|i| i["therapist_id"] == id).unwrap().clone();
    let ny = of(&org.therapist.person_id);
    assert_eq!(
        strings(&ny["starts"]),
        ["2027-03-08T14:00:00Z", "2027-03-08T14:30:00Z", "2027-03-15T13:00:00Z", "2027-03-15T13:30:00Z"]
    );
    assert_eq!(
        strings(&ny["starts_local"]),
        [
            "2027-03-08T09:00:00-05:00",
            "2027-03-08T09:30:00-05:00",
            "2027-03-15T09:00:00-04:00",
            "2027-03-15T09:30:00-04:00"
        ],
        "09:00 on the wall clock both weeks"
    );
    // London keeps its own wall clock; its starts are shown in the organisation's zone.
    let london = of(&other.person_id);
    assert_eq!(strings(&london["starts"]), ["2027-03-08T09:00:00Z", "2027-03-15T09:00:00Z"]);
    assert_eq!(strings(&london["starts_local"]), ["2027-03-08T04:00:00-05:00", "2027-03-15T05:00:00-04:00"]);
    // Naming therapists narrows the answer; modality filters windows.
    let one = app.get(&format!("{path}&therapist_ids={}", other.person_id), &org.client.token).await.expect(200);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let virtual_only = app.get(&format!("{path}&modality=VIRTUAL"), &org.client.token).await.expect(200);
    assert_eq!(
        virtual_only["items"][0]["starts"].as_array().unwrap().len()
            + virtual_only["items"][1]["starts"].as_array().unwrap().len(),
        6,
        "rules without a modality offer both"
    );
    // A booking removes its time from the answer.
    app.post(
        &format!("/api/v1/orgs/{}/sessions", org.id),
        &org.client.token,
        booking(&org, "2027-03-08T09:30:00-05:00", 30),
    )
    .await
    .expect(201);
    let after =
        app.get(&format!("{path}&therapist_ids={}", org.therapist.person_id), &org.client.token).await.expect(200);
    assert_eq!(strings(&after["items"][0]["starts"]), ["2027-03-15T13:00:00Z", "2027-03-15T13:30:00Z"]);
}

async fn free_at_lists_who_is_free_for_the_whole_duration(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let mornings = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    put(
        &app,
        &week_path(&org, &mornings.person_id),
        &org.admin.token,
        json!({ "rules": [rule("tuesday", "09:00", "12:00")] }),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/orgs/{}/sessions", org.id),
        &org.admin.token,
        booking(&org, "2027-03-02T11:30:00-05:00", 60),
    )
    .await
    .expect(201);
    let free_at = |at: &str, minutes: i64| {
        format!("/api/v1/orgs/{}/availability/free-at?at={at}&duration_minutes={minutes}", org.id)
    };
    let ids = |body: Value| {
        let mut ids: Vec<String> =
            body["items"].as_array().unwrap().iter().map(|i| i["therapist_id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    let mut both = vec![org.therapist.person_id.clone(), mornings.person_id.clone()];
    both.sort();
    let at_ten = app.get(&free_at("2027-03-02T15:00:00Z", 60), &org.client.token).await.expect(200);
    assert_eq!(at_ten["ends_at"], "2027-03-02T16:00:00Z");
    assert_eq!(ids(at_ten), both);
    let at_eleven = app.get(&free_at("2027-03-02T16:00:00Z", 60), &org.client.token).await.expect(200);
    assert_eq!(ids(at_eleven), vec![mornings.person_id.clone()], "the other therapist is booked from 11:30");
    let at_noon = app.get(&free_at("2027-03-02T17:00:00Z", 30), &org.client.token).await.expect(200);
    assert_eq!(ids(at_noon), Vec::<String>::new(), "mornings ends at 12:00; the other is still busy");
}

async fn working_hours_input_is_validated_field_by_field(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let path = week_path(&org, &org.therapist.person_id);
    let with = |key: &str, value: Value| {
        let mut r = rule("monday", "09:00", "17:00");
        r[key] = value;
        json!({ "rules": [rule("tuesday", "09:00", "17:00"), r] })
    };
    let cases = [
        (json!({ "timezone": "Mars/Base", "rules": [] }), "timezone"),
        (json!({ "timezone": "+02:00", "rules": [] }), "timezone"),
        (json!({ "rules": "all week" }), "rules"),
        (json!({}), "rules"),
        (json!({ "rules": [], "owner": "me" }), "owner"),
        (with("weekday", json!("funday")), "rules[1].weekday"),
        (with("weekday", json!(1)), "rules[1].weekday"),
        (with("start_time", json!("9am")), "rules[1].start_time"),
        (with("end_time", json!("24:30")), "rules[1].end_time"),
        (with("end_time", json!("08:00")), "rules[1].end_time"),
        (with("modality", json!("PHONE")), "rules[1].modality"),
        (with("location", json!(" ")), "rules[1].location"),
        (with("max_sessions", json!(0)), "rules[1].max_sessions"),
        (with("max_sessions", json!("two")), "rules[1].max_sessions"),
        (with("effective_from", json!("01/03/2027")), "rules[1].effective_from"),
        (with("effective_to", json!("2027-02-30")), "rules[1].effective_to"),
        (with("colour", json!("blue")), "rules[1].colour"),
    ];
    for (body, field) in cases {
        let problem = put(&app, &path, &org.therapist.token, body.clone()).await.problem(422, "validation_failed");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
    }
    let mut backwards = rule("monday", "09:00", "17:00");
    backwards["effective_from"] = json!("2027-06-01");
    backwards["effective_to"] = json!("2027-05-01");
    let problem =
        put(&app, &path, &org.therapist.token, json!({ "rules": [backwards] })).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["rules[0].effective_to"]);
    let week = app.get(&path, &org.therapist.token).await.expect(200);
    assert_eq!(week["rules"], json!([]), "nothing was written");
}

async fn search_queries_are_validated_parameter_by_parameter(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let base = format!("/api/v1/orgs/{}/availability", org.id);
    let too_many = (0..501).map(|_| uuid::Uuid::now_v7().to_string()).collect::<Vec<_>>().join(",");
    let cases = [
        ("therapist_ids=not-an-id", "therapist_ids"),
        (&*format!("therapist_ids={too_many}"), "therapist_ids"),
        ("from=yesterday", "from"),
        ("to=2027-03-01T09:00:00", "to"),
        ("from=2027-03-10T00:00:00Z&to=2027-03-09T00:00:00Z", "to"),
        ("from=2027-03-02T00:00:00Z&to=2027-05-04T00:00:00Z", "to"),
        ("duration_minutes=0", "duration_minutes"),
        ("duration_minutes=an-hour", "duration_minutes"),
        ("step_minutes=1000", "step_minutes"),
        ("modality=PHONE", "modality"),
    ];
    for (query, field) in cases {
        let problem = app.get(&format!("{base}?{query}"), &org.client.token).await.problem(400, "invalid_query");
        assert!(Response::fields(&problem).contains(&field.to_owned()), "{query} should name {field}: {problem}");
    }
    let problem = app
        .get(&format!("{base}?duration_minutes=0&modality=x"), &org.client.token)
        .await
        .problem(400, "invalid_query");
    assert_eq!(Response::fields(&problem), ["duration_minutes", "modality"], "every bad parameter at once");
    app.get(&format!("{base}?colour=red"), &org.client.token).await.problem(400, "invalid_query");
    // A well-formed id that is not a therapist here is named too.
    let problem = app
        .get(&format!("{base}?therapist_ids={},{}", org.therapist.person_id, org.client.person_id), &org.client.token)
        .await
        .problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["therapist_ids"]);
    // 62 days is the most one search covers.
    app.get(&format!("{base}?from=2027-03-02T00:00:00Z&to=2027-05-03T00:00:00Z"), &org.client.token).await.expect(200);
    let free_at = format!("{base}/free-at");
    let problem = app.get(&free_at, &org.client.token).await.problem(400, "invalid_query");
    assert_eq!(Response::fields(&problem), ["at"]);
    let problem = app
        .get(&format!("{free_at}?at=noon&duration_minutes=-5"), &org.client.token)
        .await
        .problem(400, "invalid_query");
    assert_eq!(Response::fields(&problem), ["at", "duration_minutes"]);
}

async fn the_demo_has_working_hours_and_a_covered_vacation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let demo = circles_server::demo::load(&app.store, &app.state.passwords).await.unwrap();
    let login = json!({ "email": circles_server::demo::ADMIN_EMAIL, "password": circles_server::demo::PASSWORD });
    let token = app.request(Method::POST, "/api/v1/auth/login", None, Some(login)).await.expect(200)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let people = app.get(&format!("/api/v1/orgs/{}/people?role=therapist", demo.org_id), &token).await.expect(200);
    let therapist = |email: &str| {
        let items = people["items"].as_array().unwrap();
        items.iter().find(|p| p["email"] == email).unwrap()["id"].as_str().unwrap().to_owned()
    };
    for person in people["items"].as_array().unwrap() {
        let path = format!("/api/v1/orgs/{}/therapists/{}/availability", demo.org_id, person["id"].as_str().unwrap());
        assert!(!app.get(&path, &token).await.expect(200)["rules"].as_array().unwrap().is_empty(), "{person}");
    }
    let time_off = app.get(&format!("/api/v1/orgs/{}/time-off", demo.org_id), &token).await.expect(200);
    let items = time_off["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "APPROVED");
    assert_eq!(items[0]["therapist_id"], therapist("samuel@riverside.example").as_str());
    assert_eq!(items[0]["coverage_therapist_id"], therapist("mei@riverside.example").as_str());
    assert_eq!(items[0]["affected_sessions"], 0, "the week's sessions moved to the coverage therapist");
    let (from, to) = (items[0]["starts_at"].as_str().unwrap(), items[0]["ends_at"].as_str().unwrap());
    let mei = therapist("mei@riverside.example");
    let schedule = format!("/api/v1/orgs/{}/schedule?person_id={mei}&from={from}&to={to}", demo.org_id);
    let week = app.get(&schedule, &token).await.expect(200);
    let check_ins = week["items"].as_array().unwrap().iter().filter(|s| s["title"] == "Weekly check-in").count();
    assert_eq!(check_ins, 3, "the coverage therapist has the absent therapist's check-ins: {week}");
    let again = circles_server::demo::load(&app.store, &app.state.passwords).await.unwrap();
    assert!(!again.created, "loading twice reuses the data");
}
