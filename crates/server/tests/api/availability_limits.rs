//! How big one free-slot search may be: therapist-days per request, entries
//! per page and the cursor that leads on, and the compact interval form.

use circles_domain::search::{MAX_DAYS, MAX_ENTRIES_PER_PAGE, MAX_THERAPIST_DAYS, MAX_THERAPISTS};
use circles_testkit::{Backend, backend_tests};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::availability::{app_at_now, office_hours, put, rule, week_path};
use crate::support::Response;

backend_tests!(
    too_many_therapist_days_are_refused_saying_how_to_narrow_the_search,
    a_page_ends_before_the_therapist_who_would_overflow_it_and_the_cursor_leads_on,
    free_intervals_hold_exactly_the_free_starts_in_utc_and_local_time,
    the_openapi_document_states_the_search_limits,
);

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

async fn too_many_therapist_days_are_refused_saying_how_to_narrow_the_search(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let base = format!("/api/v1/orgs/{}/availability", org.id);
    let ids = |n: usize| (0..n).map(|_| uuid::Uuid::now_v7().to_string()).collect::<Vec<_>>().join(",");
    let sixty_two_days = "from=2027-03-02T00:00:00Z&to=2027-05-03T00:00:00Z";

    let problem = app
        .get(&format!("{base}?{sixty_two_days}&therapist_ids={}", ids(400)), &org.admin.token)
        .await
        .problem(422, "search_too_large");
    assert_eq!(Response::fields(&problem), ["therapist_ids"]);
    assert_eq!(problem["limits"], json!({ "therapist_days": MAX_THERAPIST_DAYS, "days": MAX_DAYS }));
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("400 therapists over 62 days are 24800 therapist-days"), "{detail}");
    assert!(detail.contains("list at most 338 therapists for 62 days"), "{detail}");
    assert!(detail.contains("narrow from/to to at most 52 days"), "{detail}");
    assert!(detail.contains("next_cursor"), "{detail}");

    // Right at the limit the search goes ahead (and finds the made-up ids
    // are nobody's, which is a different refusal).
    for (therapists, query) in
        [(338, sixty_two_days), (MAX_THERAPISTS, "from=2027-03-02T00:00:00Z&to=2027-04-13T00:00:00Z")]
    {
        app.get(&format!("{base}?{query}&therapist_ids={}", ids(therapists)), &org.admin.token)
            .await
            .problem(422, "validation_failed");
    }
    // A malformed format or cursor is named like any other parameter.
    let problem =
        app.get(&format!("{base}?format=ics&cursor=page-2"), &org.admin.token).await.problem(400, "invalid_query");
    assert_eq!(Response::fields(&problem), ["format", "cursor"]);
}

async fn a_page_ends_before_the_therapist_who_would_overflow_it_and_the_cursor_leads_on(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    // Twenty therapists without working hours are free at every step: over
    // 62 days on a 5-minute grid each has 17,856 free starts, so 14 of them
    // fill a page.
    let mut therapists = vec![org.therapist.person_id.clone()];
    for i in 2..=20 {
        therapists.push(app.person(&org.id, &org.admin.token, &format!("t{i}@r.example"), "therapist").await.person_id);
    }
    therapists.sort();
    let query = format!(
        "/api/v1/orgs/{}/availability?from=2027-03-02T00:00:00Z&to=2027-05-03T00:00:00Z&duration_minutes=5&step_minutes=5",
        org.id
    );
    let first = app.get(&query, &org.client.token).await.expect(200);
    let items = first["items"].as_array().unwrap();
    let per_therapist = 62 * 288;
    assert_eq!(items.len(), MAX_ENTRIES_PER_PAGE / per_therapist);
    assert!(items.iter().all(|i| i["starts"].as_array().unwrap().len() == per_therapist));
    assert!(items.iter().all(|i| i["starts_local"].as_array().unwrap().len() == per_therapist));
    let answered: Vec<&str> = items.iter().map(|i| i["therapist_id"].as_str().unwrap()).collect();
    assert_eq!(answered, therapists[..14], "in id order");
    assert_eq!(first["next_cursor"], therapists[14], "the next page starts with the therapist left out");

    let rest = app.get(&format!("{query}&cursor={}", therapists[14]), &org.client.token).await.expect(200);
    let answered: Vec<&str> =
        rest["items"].as_array().unwrap().iter().map(|i| i["therapist_id"].as_str().unwrap()).collect();
    assert_eq!(answered, therapists[14..]);
    assert_eq!(rest["next_cursor"], Value::Null, "the last page");

    // As intervals the same search is one stretch per therapist: one page.
    let compact = app.get(&format!("{query}&format=intervals"), &org.client.token).await.expect(200);
    assert_eq!(compact["format"], "intervals");
    assert_eq!(compact["items"].as_array().unwrap().len(), 20);
    assert_eq!(compact["next_cursor"], Value::Null);
    assert_eq!(
        compact["items"][0]["intervals"],
        json!([{ "starts_at": "2027-03-02T00:00:00Z", "ends_at": "2027-05-03T00:00:00Z",
                 "starts_at_local": "2027-03-01T19:00:00-05:00", "ends_at_local": "2027-05-02T20:00:00-04:00" }])
    );
}

/// The starts an interval stands for: every step from its start whose
/// session ends by its end.
fn starts_of(intervals: &Value, step: i64, duration: i64) -> Vec<String> {
    let mut starts = Vec::new();
    for interval in intervals.as_array().unwrap() {
        let start: Timestamp = interval["starts_at"].as_str().unwrap().parse().unwrap();
        let end: Timestamp = interval["ends_at"].as_str().unwrap().parse().unwrap();
        let mut at = start;
        while at + SignedDuration::from_mins(duration) <= end {
            starts.push(at.to_string());
            at += SignedDuration::from_mins(step);
        }
    }
    starts
}

async fn free_intervals_hold_exactly_the_free_starts_in_utc_and_local_time(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    let mut week = office_hours();
    week["rules"].as_array_mut().unwrap().push(rule("saturday", "10:00", "11:00"));
    put(&app, &week_path(&org, &org.therapist.person_id), &org.admin.token, week).await.expect(200);
    // Tuesday 2027-03-02, 10:00–10:50 New York is taken.
    app.post(
        &format!("/api/v1/orgs/{}/sessions", org.id),
        &org.client.token,
        json!({ "starts_at": "2027-03-02T10:00:00-05:00", "duration_minutes": 50,
                "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id] }),
    )
    .await
    .expect(201);
    let query = format!(
        "/api/v1/orgs/{}/availability?therapist_ids={}&from=2027-03-02T00:00:00Z&to=2027-03-20T00:00:00Z&duration_minutes=50&step_minutes=15",
        org.id, org.therapist.person_id
    );
    let starts = app.get(&query, &org.client.token).await.expect(200);
    let compact = app.get(&format!("{query}&format=INTERVALS"), &org.client.token).await.expect(200);
    let intervals = &compact["items"][0]["intervals"];
    assert_eq!(
        intervals[0],
        json!({ "starts_at": "2027-03-02T14:00:00Z", "ends_at": "2027-03-02T14:50:00Z",
                "starts_at_local": "2027-03-02T09:00:00-05:00", "ends_at_local": "2027-03-02T09:50:00-05:00" }),
        "Tuesday 09:00 is the only start before the session at 10:00"
    );
    assert_eq!(intervals[1]["starts_at_local"], "2027-03-02T11:00:00-05:00", "the first start after it");
    assert_eq!(intervals[1]["ends_at_local"], "2027-03-02T11:50:00-05:00", "11:00 is the window's last start");
    assert_eq!(
        starts_of(intervals, 15, 50),
        strings(&starts["items"][0]["starts"]),
        "the intervals stand for exactly the free starts"
    );
    // Across the change to summer time the wall clock holds.
    let after_dst: Vec<&Value> = intervals
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["starts_at_local"].as_str().unwrap().starts_with("2027-03-15T"))
        .collect();
    assert_eq!(after_dst[0]["starts_at"], "2027-03-15T13:00:00Z");
    assert_eq!(after_dst[0]["starts_at_local"], "2027-03-15T09:00:00-04:00");
    // A Saturday window too short for a second start is one 50-minute stretch.
    assert!(
        intervals.as_array().unwrap().iter().any(|i| i["starts_at_local"] == "2027-03-06T10:00:00-05:00"
            && i["ends_at_local"] == "2027-03-06T10:50:00-05:00")
    );
}

async fn the_openapi_document_states_the_search_limits(backend: Backend) {
    let (app, _) = app_at_now(backend).await;
    let doc: Value =
        app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let search = &doc["paths"]["/api/v1/orgs/{org_id}/availability"]["get"];
    let text = search.to_string();
    for limit in [
        MAX_THERAPIST_DAYS.to_string(),
        MAX_ENTRIES_PER_PAGE.to_string(),
        MAX_DAYS.to_string(),
        MAX_THERAPISTS.to_string(),
    ] {
        assert!(text.contains(&limit), "the search's documentation states {limit}");
    }
    let params: Vec<&str> =
        search["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in ["therapist_ids", "from", "to", "format", "cursor"] {
        assert!(params.contains(&name), "{name} is documented");
    }
    assert!(text.contains("search_too_large"));
    let format = search["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "format").unwrap();
    assert!(format.to_string().contains("intervals"), "format lists its values: {format}");
}
