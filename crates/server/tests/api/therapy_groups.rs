//! Recurring therapy groups: seed 001's acceptance criteria and seed 002's
//! group scenario, over HTTP on both backends.

use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Login, Org, Response, TestApp};

backend_tests!(
    a_twelve_week_group_with_screened_members_attendance_and_graduation,
    generating_again_makes_nothing_twice,
    a_weekly_group_keeps_its_local_time_across_both_dst_changes,
    a_busy_facilitator_refuses_the_range_unless_conflicts_are_skipped,
    a_busy_member_is_left_off_one_occurrence,
    the_facilitator_is_never_double_booked_between_individual_and_group,
    leaving_keeps_future_seats_until_asked_and_new_members_join_upcoming_only_when_asked,
    a_leaving_member_frees_a_place_for_the_waitlist,
    cancelling_one_occurrence_records_an_exdate_and_tells_the_members,
    moving_one_occurrence_keeps_its_identity,
    changing_the_series_from_a_date_moves_later_sessions_only,
    a_series_change_that_clashes_changes_nothing,
    late_attendance_is_accepted_and_audited_as_late,
    reminders_reach_group_members,
);

fn groups(org: &Org) -> String {
    format!("/api/v1/orgs/{}/groups", org.id)
}

/// A weekly Thursday 14:00 America/New_York therapy group, facilitated by
/// the org's therapist, starting on the first Thursday at least a week away.
async fn weekly_group(app: &TestApp, org: &Org, extra: Value) -> (String, jiff::civil::Date) {
    let now = circles_domain::Clock::now(app.clock.as_ref());
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let mut first = now.to_zoned(ny).date().checked_add(jiff::Span::new().days(7)).unwrap();
    while first.weekday() != jiff::civil::Weekday::Thursday {
        first = first.tomorrow().unwrap();
    }
    let mut body = json!({
        "name": "Thursday Anxiety Group",
        "type": "THERAPY",
        "modality": "IN_PERSON",
        "location": "Group room",
        "capacity": 8,
        "facilitator_ids": [org.therapist.person_id],
        "moderator_ids": [org.moderator.person_id],
        "recurrence": {
            "rrule": "FREQ=WEEKLY;BYDAY=TH", "start_date": first.to_string(), "start_time": "14:00",
            "timezone": "America/New_York", "duration_minutes": 90,
        },
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let group = app.post(&groups(org), &org.admin.token, body).await.expect(201);
    (group["id"].as_str().unwrap().to_owned(), first)
}

async fn generate(app: &TestApp, org: &Org, group: &str, from: jiff::civil::Date, weeks: i64, skip: bool) -> Response {
    let to = from.checked_add(jiff::Span::new().days(7 * weeks - 1)).unwrap();
    app.post(
        &format!("{}/{group}/sessions/generate", groups(org)),
        &org.moderator.token,
        json!({ "from": from.to_string(), "to": to.to_string(), "skip_conflicts": skip }),
    )
    .await
}

async fn clients(app: &TestApp, org: &Org, n: usize) -> Vec<Login> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(app.person(&org.id, &org.admin.token, &format!("member{i}@r.example"), "client").await);
    }
    out
}

fn session_path(org: &Org, session: &Value) -> String {
    format!("/api/v1/orgs/{}/sessions/{}", org.id, session["id"].as_str().unwrap())
}

async fn a_twelve_week_group_with_screened_members_attendance_and_graduation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({ "requires_screening": true })).await;
    let members = clients(&app, &org, 5).await;
    let mut memberships = Vec::new();
    for m in &members {
        assert_eq!(app.enrol(&org, &group, &m.person_id).await["status"], "PENDING_SCREENING");
        let id = app.get(&format!("{}/{group}/members", groups(&org)), &org.therapist.token).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["client_id"] == m.person_id.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A therapist records screening; the member becomes active.
        let screened = app
            .request(
                Method::PATCH,
                &format!("{}/{group}/members/{id}", groups(&org)),
                Some(&org.therapist.token),
                Some(json!({ "screening": { "notes": "Ok", "approved": true } })),
            )
            .await
            .expect(200);
        assert_eq!(screened["membership"]["status"], "ACTIVE");
        memberships.push(id);
    }
    let generated = generate(&app, &org, &group, first, 12, false).await.expect(200);
    let created = generated["created"].as_array().unwrap();
    assert_eq!(created.len(), 12);
    assert!(created.iter().all(|s| s["seats"].as_array().unwrap().len() == 5), "every active member has a seat");
    assert!(created.iter().all(|s| s["therapists"][0]["status"] == "ACCEPTED"));

    // One block per occurrence with its participant count; the detail lists everyone.
    let listed =
        app.get(&format!("/api/v1/orgs/{}/sessions?group_id={group}", org.id), &org.moderator.token).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 12);
    assert!(listed["items"].as_array().unwrap().iter().all(|s| s["seats_taken"] == 5));
    let detail = app.get(&session_path(&org, &created[0]), &org.therapist.token).await.expect(200);
    assert_eq!(detail["seats"].as_array().unwrap().len(), 5);
    let fields = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(fields(&created[0]), fields(&detail), "generated sessions read like /sessions");
    assert_eq!(created[0]["status"], "SCHEDULED");
    assert!(created[0]["starts_at_local"].as_str().unwrap().contains(':'), "{}", created[0]);

    // Three sessions are held; attendance is marked after each.
    for (week, session) in created.iter().take(3).enumerate() {
        let start: jiff::Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
        app.clock.set(start + SignedDuration::from_mins(95));
        let sheet: Vec<Value> = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                // Member 0 misses week 1; member 1 misses every week; others attend.
                let attended = !(i == 1 || (i == 0 && week == 1));
                json!({ "client_id": m.person_id, "status": if attended { "ATTENDED" } else { "NO_SHOW" } })
            })
            .collect();
        app.request(
            Method::PUT,
            &format!("{}/attendance", session_path(&org, session)),
            Some(&org.therapist.token),
            Some(json!(sheet)),
        )
        .await
        .expect(200);
    }
    let stats = |i: usize| format!("{}/{group}/members/{}/stats", groups(&org), memberships[i]);
    let zero = app.get(&stats(0), &org.therapist.token).await.expect(200);
    assert_eq!(
        (zero["sessions_offered"].as_i64(), zero["attended"].as_i64(), zero["current_streak"].as_i64()),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(zero["attendance_rate"], 0.667);
    let one = app.get(&stats(1), &org.therapist.token).await.expect(200);
    assert_eq!(
        (one["attended"].as_i64(), one["no_shows"].as_i64(), one["attendance_rate"].as_f64()),
        (Some(0), Some(3), Some(0.0))
    );
    // A member reads their own statistics, not someone else's.
    app.get(&stats(2), &members[2].token).await.expect(200);
    app.get(&stats(1), &members[2].token).await.problem(403, "forbidden");

    let group_stats = app.get(&format!("{}/{group}/stats", groups(&org)), &org.moderator.token).await.expect(200);
    assert_eq!(group_stats["sessions_held"], 3);
    assert_eq!(group_stats["average_attendance"], 3.67, "11 attended over 3 sessions");
    assert_eq!(group_stats["no_show_rate"], 0.267, "4 of 15 marked seats");
    assert_eq!(group_stats["members_by_status"]["ACTIVE"], 5);

    // Member 2 graduates: their statistics stay, their status changes.
    let graduated = app
        .request(
            Method::PATCH,
            &format!("{}/{group}/members/{}", groups(&org), memberships[2]),
            Some(&org.moderator.token),
            Some(json!({ "status": "GRADUATED", "exit_reason": "Completed the programme" })),
        )
        .await
        .expect(200);
    assert_eq!(graduated["membership"]["status"], "GRADUATED");
    assert!(graduated["membership"]["leave_date"].is_string());
    assert_eq!(graduated["future_seats"], 9, "weeks 4 to 12 are still booked until cancelled");
    let after = app.get(&stats(2), &org.moderator.token).await.expect(200);
    assert_eq!(
        (after["sessions_offered"].as_i64(), after["attended"].as_i64(), after["attendance_rate"].as_f64()),
        (Some(3), Some(3), Some(1.0))
    );
    let group_stats = app.get(&format!("{}/{group}/stats", groups(&org)), &org.moderator.token).await.expect(200);
    assert_eq!(
        (group_stats["members_by_status"]["ACTIVE"].as_i64(), group_stats["members_by_status"]["GRADUATED"].as_i64()),
        (Some(4), Some(1))
    );
}

async fn generating_again_makes_nothing_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    assert_eq!(generate(&app, &org, &group, first, 4, false).await.expect(200)["created"].as_array().unwrap().len(), 4);
    let again = generate(&app, &org, &group, first, 6, false).await.expect(200);
    assert_eq!(again["created"].as_array().unwrap().len(), 2, "only the two new weeks");
    assert_eq!(again["already_generated"], 4);
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM sessions").await, 6);
    let no_recurrence = app.post(&groups(&org), &org.admin.token, json!({ "name": "Drop-in" })).await.expect(201);
    let path = format!("{}/{}/sessions/generate", groups(&org), no_recurrence["id"].as_str().unwrap());
    app.post(&path, &org.admin.token, json!({ "from": first.to_string(), "to": first.to_string() }))
        .await
        .problem(409, "no_recurrence");
    let bad = app
        .post(
            &format!("{}/{group}/sessions/generate", groups(&org)),
            &org.admin.token,
            json!({ "from": "2027-13-01", "to": "x" }),
        )
        .await;
    assert_eq!(Response::fields(&bad.problem(422, "validation_failed")), ["from", "to"]);
}

async fn a_weekly_group_keeps_its_local_time_across_both_dst_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    // A year of Thursdays spans the March and November changes of 2027.
    let generated = generate(&app, &org, &group, first, 52, false).await.expect(200);
    let created = generated["created"].as_array().unwrap();
    assert_eq!(created.len(), 52);
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let mut offsets = std::collections::BTreeSet::new();
    for session in created {
        let start: jiff::Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
        let local = start.to_zoned(ny.clone());
        assert_eq!((local.hour(), local.minute()), (14, 0), "{}", session["starts_at"]);
        assert_eq!(local.weekday(), jiff::civil::Weekday::Thursday);
        offsets.insert(local.offset().seconds());
    }
    assert_eq!(offsets.len(), 2, "both EST and EDT occur, so the test crossed a change");
}

async fn a_busy_facilitator_refuses_the_range_unless_conflicts_are_skipped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    // The therapist sees a client at 14:30 in week 2.
    let week_two = first.checked_add(jiff::Span::new().days(7)).unwrap();
    let clash_start =
        week_two.at(14, 30, 0, 0).to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).unwrap().timestamp();
    let one_on_one = json!({
        "starts_at": clash_start.to_string(), "duration_minutes": 50,
        "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, one_on_one).await.expect(201);
    let refused = generate(&app, &org, &group, first, 4, false).await.problem(409, "series_conflicts");
    let occurrences = refused["occurrences"].as_array().unwrap();
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0]["recurrence_id"], format!("{week_two}T14:00:00"));
    assert_eq!(occurrences[0]["conflicts"][0]["kind"], "session");
    // Staff read who is busy, by name, and when on the series' clock.
    assert_eq!(occurrences[0]["conflicts"][0]["person_name"], "A therapist");
    assert!(occurrences[0]["conflicts"][0]["starts_at_local"].as_str().unwrap().contains("14:30 E"), "{refused}");
    assert!(occurrences[0]["starts_at_local"].as_str().unwrap().contains("14:00 E"), "{refused}");
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM sessions WHERE group_id IS NOT NULL").await, 0, "all or nothing");
    let partial = generate(&app, &org, &group, first, 4, true).await.expect(200);
    assert_eq!(partial["created"].as_array().unwrap().len(), 3);
    assert_eq!(partial["skipped"][0]["recurrence_id"], format!("{week_two}T14:00:00"));
    assert_eq!(partial["skipped"][0]["conflicts"][0]["person_name"], "A therapist");
    assert!(partial["skipped"][0]["ends_at_local"].as_str().unwrap().contains("15:30 E"), "{partial}");
}

async fn a_busy_member_is_left_off_one_occurrence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let other_therapist = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let start =
        first.at(14, 0, 0, 0).to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).unwrap().timestamp();
    let one_on_one = json!({
        "starts_at": start.to_string(), "duration_minutes": 50,
        "therapist_ids": [other_therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, one_on_one).await.expect(201);
    let generated = generate(&app, &org, &group, first, 2, false).await.expect(200);
    let created = generated["created"].as_array().unwrap();
    assert_eq!(created[0]["seats"].as_array().unwrap().len(), 0, "busy that week");
    assert_eq!(created[1]["seats"].as_array().unwrap().len(), 1);
    let left_off = &generated["seats_skipped"][0];
    assert_eq!(left_off["client_id"], org.client.person_id.as_str());
    assert_eq!(left_off["client_name"], "A client", "the id comes with the name staff read");
    assert!(left_off["starts_at_local"].as_str().unwrap().contains("14:00 E"), "{left_off}");
    assert_eq!(left_off["conflicts"][0]["person_name"], "A client");
    assert!(left_off["conflicts"][0]["starts_at_local"].as_str().unwrap().contains("14:00 E"), "{left_off}");
}

async fn the_facilitator_is_never_double_booked_between_individual_and_group(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    for m in clients(&app, &org, 3).await {
        app.enrol(&org, &group, &m.person_id).await;
    }
    let generated = generate(&app, &org, &group, first, 1, false).await.expect(200);
    // One therapist, three clients, one session: nobody clashes with themselves.
    assert_eq!(generated["created"][0]["seats"].as_array().unwrap().len(), 3);
    let individual = json!({
        "starts_at": generated["created"][0]["starts_at"], "duration_minutes": 50,
        "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&format!("/api/v1/orgs/{}/sessions", org.id), &org.admin.token, individual)
        .await
        .problem(409, "scheduling_conflict");
}

async fn leaving_keeps_future_seats_until_asked_and_new_members_join_upcoming_only_when_asked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    let members = clients(&app, &org, 2).await;
    let leaver = app.enrol(&org, &group, &members[0].person_id).await["id"].as_str().unwrap().to_owned();
    generate(&app, &org, &group, first, 4, false).await.expect(200);
    let leave_on = first.checked_add(jiff::Span::new().days(8)).unwrap();
    let left = app
        .request(
            Method::PATCH,
            &format!("{}/{group}/members/{leaver}", groups(&org)),
            Some(&org.moderator.token),
            Some(json!({ "leave_date": leave_on.to_string(), "exit_reason": "Moved away" })),
        )
        .await
        .expect(200);
    assert_eq!(left["membership"]["status"], "ACTIVE", "a member stays until their leave date");
    assert_eq!(left["membership"]["departs_as"], "INACTIVE");
    assert_eq!(left["future_seats"], 2, "weeks 3 and 4 are after the leave date and still booked");
    let cancelled = app
        .post(
            &format!("{}/{group}/members/{leaver}/cancel-future-seats", groups(&org)),
            &org.moderator.token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["cancelled"], 2);
    // A newcomer is not put on sessions generated before they joined…
    let newcomer = app.enrol(&org, &group, &members[1].person_id).await["id"].as_str().unwrap().to_owned();
    let schedule = app.get(&format!("/api/v1/orgs/{}/schedule", org.id), &members[1].token).await.expect(200);
    assert!(schedule["items"].as_array().unwrap().is_empty());
    // …until asked.
    let seated = app
        .post(&format!("{}/{group}/members/{newcomer}/seat-upcoming", groups(&org)), &org.moderator.token, json!({}))
        .await
        .expect(200);
    assert_eq!(seated["seated"].as_array().unwrap().len(), 4, "{seated}");
    let window = format!("/api/v1/orgs/{}/schedule?to={}", org.id, app.hours_from_now(24 * 60));
    let schedule = app.get(&window, &members[1].token).await.expect(200);
    assert_eq!(schedule["items"].as_array().unwrap().len(), 4);
}

async fn a_leaving_member_frees_a_place_for_the_waitlist(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, _) = weekly_group(&app, &org, json!({ "capacity": 2 })).await;
    let members = clients(&app, &org, 4).await;
    let mut ids = Vec::new();
    for m in &members {
        ids.push(app.enrol(&org, &group, &m.person_id).await);
    }
    let statuses: Vec<&str> = ids.iter().map(|m| m["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ACTIVE", "ACTIVE", "WAITLISTED", "WAITLISTED"]);
    let left = app
        .request(
            Method::PATCH,
            &format!("{}/{group}/members/{}", groups(&org), ids[0]["id"].as_str().unwrap()),
            Some(&org.moderator.token),
            Some(json!({ "status": "INACTIVE" })),
        )
        .await
        .expect(200);
    assert_eq!(left["freed_places"], 1);
    // The place goes through the waitlist: the longest-waiting member (same
    // urgency, so the earlier entry) is offered it and accepts.
    let offer = app.live_offer(&org, &members[2]).await;
    assert_eq!(
        (offer["place"]["kind"].as_str(), offer["place"]["group_id"].as_str()),
        (Some("GROUP"), Some(group.as_str()))
    );
    assert!(
        app.get(&format!("/api/v1/orgs/{}/offers?status=LIVE", org.id), &members[3].token).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.accept_offer(&org, &members[2], &offer).await;
    assert_eq!(app.inbox(&org, &members[2]).await, ["membership_activated", "waitlist_offer"], "newest first");
    let roster = app.get(&format!("{}/{group}/members", groups(&org)), &org.moderator.token).await.expect(200);
    let of = |who: &str| {
        roster["items"].as_array().unwrap().iter().find(|m| m["client_id"] == who).unwrap()["status"].clone()
    };
    assert_eq!((of(&members[2].person_id), of(&members[3].person_id)), (json!("ACTIVE"), json!("WAITLISTED")));
    // Rejoining later is a new membership period; the old one stays.
    let again = app.enrol(&org, &group, &members[0].person_id).await;
    assert_eq!(again["status"], "WAITLISTED");
    let roster = app.get(&format!("{}/{group}/members", groups(&org)), &org.moderator.token).await.expect(200);
    let periods =
        roster["items"].as_array().unwrap().iter().filter(|m| m["client_id"] == members[0].person_id.as_str()).count();
    assert_eq!(periods, 2);
    // A past period never changes.
    app.request(
        Method::PATCH,
        &format!("{}/{group}/members/{}", groups(&org), ids[0]["id"].as_str().unwrap()),
        Some(&org.moderator.token),
        Some(json!({ "status": "ACTIVE" })),
    )
    .await
    .problem(409, "illegal_transition");
}

async fn cancelling_one_occurrence_records_an_exdate_and_tells_the_members(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let generated = generate(&app, &org, &group, first, 3, false).await.expect(200);
    let second = &generated["created"][1];
    let cancelled = app
        .post(&format!("{}/cancel", session_path(&org, second)), &org.moderator.token, json!({ "reason": "Holiday" }))
        .await
        .expect(200);
    assert_eq!(cancelled["seats"][0]["status"], "CANCELLED_BY_PROVIDER");
    assert!(app.inbox(&org, &org.client).await.contains(&"session_cancelled".to_owned()));
    let group_view = app.get(&format!("{}/{group}", groups(&org)), &org.moderator.token).await.expect(200);
    let week_two = first.checked_add(jiff::Span::new().days(7)).unwrap().to_string();
    assert_eq!(group_view["recurrence"]["exdates"], json!([week_two]));
    // Regenerating does not bring it back.
    assert!(generate(&app, &org, &group, first, 3, false).await.expect(200)["created"].as_array().unwrap().is_empty());
}

async fn moving_one_occurrence_keeps_its_identity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let generated = generate(&app, &org, &group, first, 2, false).await.expect(200);
    let session = &generated["created"][0];
    let start: jiff::Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
    let later = (start + SignedDuration::from_hours(2)).to_string();
    let moved = app
        .post(
            &format!("{}/reschedule", session_path(&org, session)),
            &org.moderator.token,
            json!({ "starts_at": later }),
        )
        .await
        .expect(200);
    assert_eq!(moved["starts_at"], later.as_str());
    assert_eq!(moved["recurrence_id"], session["recurrence_id"], "an override keeps its recurrence id");
    assert_eq!(
        (moved["ends_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap() - SignedDuration::from_mins(90))
            .to_string(),
        later
    );
    assert!(app.inbox(&org, &org.client).await.contains(&"session_rescheduled".to_owned()));
    // The original time is free; regenerating does not recreate it.
    assert!(generate(&app, &org, &group, first, 2, false).await.expect(200)["created"].as_array().unwrap().is_empty());
    app.post(&format!("{}/reschedule", session_path(&org, session)), &org.client.token, json!({ "starts_at": later }))
        .await
        .problem(403, "forbidden");
}

async fn changing_the_series_from_a_date_moves_later_sessions_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let t2 = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let generated = generate(&app, &org, &group, first, 4, false).await.expect(200);
    let from = first.checked_add(jiff::Span::new().days(14)).unwrap();
    let split = app
        .post(
            &format!("{}/{group}/series/split", groups(&org)),
            &org.moderator.token,
            json!({ "from": from.to_string(), "start_time": "16:00", "duration_minutes": 60, "facilitator_ids": [t2.person_id] }),
        )
        .await
        .expect(200);
    assert_eq!(split["moved"].as_array().unwrap().len(), 2, "weeks 3 and 4");
    assert_eq!(split["group"]["recurrence"]["start_time"], "16:00");
    assert_eq!(split["group"]["facilitator_ids"], json!([t2.person_id]));
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    for moved in split["moved"].as_array().unwrap() {
        let local = moved["starts_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().to_zoned(ny.clone());
        assert_eq!(local.hour(), 16);
        assert_eq!(moved["therapists"][0]["therapist_id"], t2.person_id.as_str());
        assert_eq!(moved["seats"][0]["client_id"], org.client.person_id.as_str(), "members keep their seats");
    }
    // Earlier weeks never change.
    let week_one = app.get(&session_path(&org, &generated["created"][0]), &org.moderator.token).await.expect(200);
    assert_eq!(week_one["starts_at"], generated["created"][0]["starts_at"]);
    assert_eq!(week_one["therapists"][0]["therapist_id"], org.therapist.person_id.as_str());
    // New generation follows the new series.
    let later = generate(&app, &org, &group, first, 6, false).await.expect(200);
    let fifth = later["created"][0]["starts_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().to_zoned(ny);
    assert_eq!(fifth.hour(), 16);
}

async fn a_series_change_that_clashes_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    generate(&app, &org, &group, first, 3, false).await.expect(200);
    let week_three = first.checked_add(jiff::Span::new().days(14)).unwrap();
    let clash =
        week_three.at(16, 0, 0, 0).to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap()).unwrap().timestamp();
    app.post(
        &format!("/api/v1/orgs/{}/sessions", org.id),
        &org.admin.token,
        json!({ "starts_at": clash.to_string(), "duration_minutes": 50, "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id] }),
    )
    .await
    .expect(201);
    let from = first.checked_add(jiff::Span::new().days(7)).unwrap();
    let refused = app
        .post(
            &format!("{}/{group}/series/split", groups(&org)),
            &org.moderator.token,
            json!({ "from": from.to_string(), "start_time": "16:00" }),
        )
        .await
        .problem(409, "series_conflicts");
    assert_eq!(refused["occurrences"].as_array().unwrap().len(), 1);
    let group_view = app.get(&format!("{}/{group}", groups(&org)), &org.moderator.token).await.expect(200);
    assert_eq!(group_view["recurrence"]["start_time"], "14:00", "nothing changed");
    assert_eq!(app.overlapping_busy_pairs().await, 0);
}

async fn late_attendance_is_accepted_and_audited_as_late(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let generated = generate(&app, &org, &group, first, 1, false).await.expect(200);
    let session = &generated["created"][0];
    let start: jiff::Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(start + SignedDuration::from_hours(24 * 45));
    let sheet = json!([{ "client_id": org.client.person_id, "status": "ATTENDED" }]);
    app.request(
        Method::PUT,
        &format!("{}/attendance", session_path(&org, session)),
        Some(&org.therapist.token),
        Some(sheet),
    )
    .await
    .expect(200);
    let audit = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, org.client.person_id), &org.admin.token)
        .await
        .expect(200);
    let mark =
        audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "attendance.mark").expect("audited").clone();
    assert_eq!(mark["record_type"], "seat");
    let late = app.db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'attendance.mark' AND details LIKE '%\"late_entry\":true%'").await;
    assert_eq!(late, 1);
}

async fn reminders_reach_group_members(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let generated = generate(&app, &org, &group, first, 2, false).await.expect(200);
    let start: jiff::Timestamp = generated["created"][0]["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(start - SignedDuration::from_hours(20));
    circles_server::jobs::run_frequent(&app.state).await;
    circles_server::jobs::run_frequent(&app.state).await;
    assert_eq!(app.inbox(&org, &org.client).await, ["reminder"], "once, for the session within a day only");
    assert_eq!(app.inbox(&org, &org.therapist).await, ["reminder"]);
}
