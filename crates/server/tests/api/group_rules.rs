//! A group's rules over time: changing its recurrence once sessions are
//! generated, closed and open enrolment.

use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Org, TestApp};

backend_tests!(
    changing_the_time_of_a_generated_series_names_the_split_and_changes_nothing,
    a_closed_group_takes_members_until_it_meets_and_then_only_by_an_admin_s_exception,
    an_open_group_takes_members_after_it_has_met,
    rates_share_their_base_and_a_graduate_reads_their_own_record,
    a_session_held_without_the_member_s_seat_is_counted_apart,
    a_staff_read_of_a_group_session_is_one_audit_event_each_client_finds,
    sessions_outside_the_facilitator_s_hours_are_reported_or_refused,
    a_member_leaving_later_keeps_the_place_until_the_date_and_the_waitlist_moves_up_then,
    late_attendance_is_flagged_on_the_sheet_and_in_the_audit_or_refused,
);

fn groups(org: &Org) -> String {
    format!("/api/v1/orgs/{}/groups", org.id)
}

/// A weekly Wednesday 18:00 New York group starting a week from now.
async fn weekly_group(app: &TestApp, org: &Org, extra: Value) -> (String, jiff::civil::Date) {
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let now = circles_domain::Clock::now(app.clock.as_ref());
    let mut first = now.to_zoned(ny).date().checked_add(jiff::Span::new().days(7)).unwrap();
    while first.weekday() != jiff::civil::Weekday::Wednesday {
        first = first.tomorrow().unwrap();
    }
    let mut body = json!({
        "name": "Wednesday Grief Group",
        "type": "THERAPY",
        "modality": "IN_PERSON",
        "location": "Group room",
        "capacity": 8,
        "facilitator_ids": [org.therapist.person_id],
        "moderator_ids": [org.moderator.person_id],
        "recurrence": {
            "rrule": "FREQ=WEEKLY;BYDAY=WE", "start_date": first.to_string(), "start_time": "18:00",
            "timezone": "America/New_York", "duration_minutes": 90,
        },
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let group = app.post(&groups(org), &org.admin.token, body).await.expect(201);
    (group["id"].as_str().unwrap().to_owned(), first)
}

async fn generate(app: &TestApp, org: &Org, group: &str, from: jiff::civil::Date, weeks: i64) -> Value {
    let to = from.checked_add(jiff::Span::new().days(7 * weeks - 1)).unwrap();
    app.post(
        &format!("{}/{group}/sessions/generate", groups(org)),
        &org.moderator.token,
        json!({ "from": from.to_string(), "to": to.to_string() }),
    )
    .await
    .expect(200)
}

async fn changing_the_time_of_a_generated_series_names_the_split_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    generate(&app, &org, &group, first, 4).await;

    let path = format!("{}/{group}", groups(&org));
    let mut recurrence = app.get(&path, &org.moderator.token).await.expect(200)["recurrence"].clone();
    recurrence["start_time"] = json!("19:00");
    let refused = app
        .request(Method::PATCH, &path, Some(&org.moderator.token), Some(json!({ "recurrence": recurrence })))
        .await
        .problem(409, "series_split_required");
    assert!(refused["detail"].as_str().unwrap().contains("series/split"), "{refused}");

    // Nothing changed, and generating again makes no second session on any day.
    let group_view = app.get(&path, &org.moderator.token).await.expect(200);
    assert_eq!(group_view["recurrence"]["start_time"], "18:00");
    let again = generate(&app, &org, &group, first, 4).await;
    assert_eq!(again["created"].as_array().unwrap().len(), 0);
    let seats =
        app.db.scalar(&format!("SELECT COUNT(*) FROM seats WHERE client_id = '{}'", org.client.person_id)).await;
    assert_eq!(seats, 4, "one seat per week");

    // A change that moves no occurrence is still a plain edit.
    let renamed = app
        .request(Method::PATCH, &path, Some(&org.moderator.token), Some(json!({ "name": "Wednesday Loss Group" })))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "Wednesday Loss Group");
}

async fn a_closed_group_takes_members_until_it_meets_and_then_only_by_an_admin_s_exception(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({ "open": false })).await;
    let early = app.person(&org.id, &org.admin.token, "early@r.example", "client").await;
    let late = app.person(&org.id, &org.admin.token, "late@r.example", "client").await;
    app.enrol(&org, &group, &early.person_id).await;
    let generated = generate(&app, &org, &group, first, 2).await;
    let start: jiff::Timestamp = generated["created"][0]["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(start + SignedDuration::from_mins(5));

    let members = format!("{}/{group}/members", groups(&org));
    let refused = app
        .post(&members, &org.moderator.token, json!({ "client_id": late.person_id }))
        .await
        .problem(409, "group_closed");
    assert!(refused["detail"].as_str().unwrap().contains("18:00 E"), "says when it first met, locally: {refused}");
    app.post(&members, &org.moderator.token, json!({ "client_id": late.person_id, "override_reason": "transfer" }))
        .await
        .problem(403, "forbidden");
    let admitted = app
        .post(
            &members,
            &org.admin.token,
            json!({ "client_id": late.person_id, "override_reason": "Transferred from the Monday group" }),
        )
        .await
        .expect(201);
    assert_eq!(admitted["status"], "ACTIVE");
    let audited = app
        .db
        .scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'membership.create' \
             AND details LIKE '%Transferred from the Monday group%'",
        )
        .await;
    assert_eq!(audited, 1, "the exception and its reason are in the audit trail");
}

async fn an_open_group_takes_members_after_it_has_met(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({ "open": true })).await;
    let generated = generate(&app, &org, &group, first, 2).await;
    let start: jiff::Timestamp = generated["created"][0]["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(start + SignedDuration::from_hours(24));
    let joined = app.enrol(&org, &group, &org.client.person_id).await;
    assert_eq!(joined["status"], "ACTIVE", "rolling enrolment");
}

async fn rates_share_their_base_and_a_graduate_reads_their_own_record(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    let membership = app.enrol(&org, &group, &org.client.person_id).await["id"].as_str().unwrap().to_owned();
    let generated = generate(&app, &org, &group, first, 4).await;
    let sessions = generated["created"].as_array().unwrap().clone();
    // Attended, no-show, attended; the fourth is held but nobody marks it.
    for (session, status) in sessions.iter().zip(["ATTENDED", "NO_SHOW", "ATTENDED"]) {
        let start: jiff::Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
        app.clock.set(start + SignedDuration::from_mins(95));
        app.request(
            Method::PUT,
            &format!("/api/v1/orgs/{}/sessions/{}/attendance", org.id, session["id"].as_str().unwrap()),
            Some(&org.therapist.token),
            Some(json!([{ "client_id": org.client.person_id, "status": status }])),
        )
        .await
        .expect(200);
    }
    let last: jiff::Timestamp = sessions[3]["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(last + SignedDuration::from_hours(2));

    let stats = app.get(&format!("{}/{group}/stats", groups(&org)), &org.moderator.token).await.expect(200);
    assert_eq!((stats["marked"].as_i64(), stats["unmarked"].as_i64()), (Some(3), Some(1)));
    assert_eq!((stats["attendance_rate"].as_f64(), stats["no_show_rate"].as_f64()), (Some(0.667), Some(0.333)));

    app.request(
        Method::PATCH,
        &format!("{}/{group}/members/{membership}", groups(&org)),
        Some(&org.moderator.token),
        Some(json!({ "status": "GRADUATED", "exit_reason": "Completed the programme" })),
    )
    .await
    .expect(200);
    let own = app.get("/api/v1/me/memberships", &org.client.token).await.expect(200);
    let items = own["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{own}");
    let mine = &items[0];
    assert_eq!(
        (mine["group_name"].as_str(), mine["status"].as_str()),
        (Some("Wednesday Grief Group"), Some("GRADUATED"))
    );
    assert_eq!(mine["organisation"], "Clinic r");
    let stats = &mine["stats"];
    assert_eq!((stats["sessions_offered"].as_i64(), stats["attended"].as_i64()), (Some(4), Some(2)));
    assert_eq!((stats["marked"].as_i64(), stats["unmarked"].as_i64()), (Some(3), Some(1)));
    assert_eq!((stats["attendance_rate"].as_f64(), stats["no_show_rate"].as_f64()), (Some(0.667), Some(0.333)));
    let others = app.get("/api/v1/me/memberships", &org.therapist.token).await.expect(200);
    assert!(others["items"].as_array().unwrap().is_empty(), "only a person's own memberships");
}

async fn a_session_held_without_the_member_s_seat_is_counted_apart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({ "open": true })).await;
    // The session is generated before the client joins, so it holds no seat of theirs.
    let generated = generate(&app, &org, &group, first, 1).await;
    let membership = app.enrol(&org, &group, &org.client.person_id).await["id"].as_str().unwrap().to_owned();
    let start: jiff::Timestamp = generated["created"][0]["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(start + SignedDuration::from_hours(2));

    let own = app.get("/api/v1/me/memberships", &org.client.token).await.expect(200);
    let stats = &own["items"][0]["stats"];
    assert_eq!((stats["sessions_offered"].as_i64(), stats["without_seat"].as_i64()), (Some(1), Some(1)), "{own}");
    assert_eq!(
        (stats["attended"].as_i64(), stats["no_shows"].as_i64(), stats["unmarked"].as_i64(), stats["marked"].as_i64()),
        (Some(0), Some(0), Some(0), Some(0))
    );
    let member = app
        .get(&format!("{}/{group}/members/{membership}/stats", groups(&org)), &org.moderator.token)
        .await
        .expect(200);
    assert_eq!((member["without_seat"].as_i64(), member["marked"].as_i64()), (Some(1), Some(0)));
}

async fn a_staff_read_of_a_group_session_is_one_audit_event_each_client_finds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let other = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    for client in [&org.client, &other] {
        app.enrol(&org, &group, &client.person_id).await;
    }
    let generated = generate(&app, &org, &group, first, 1).await;
    let session = generated["created"][0]["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/api/v1/orgs/{}/sessions/{session}", org.id), &org.therapist.token).await.expect(200);
    assert_eq!(read["seats"].as_array().unwrap().len(), 2);

    let reads_of = |audit: &Value| -> Vec<Value> {
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "session.read" && e["record_id"] == session.as_str())
            .cloned()
            .collect()
    };
    let all = app.get(&format!("/api/v1/orgs/{}/audit", org.id), &org.admin.token).await.expect(200);
    let events = reads_of(&all);
    assert_eq!(events.len(), 1, "one event for the read, not one per seat: {all}");
    assert_eq!(events[0]["details"]["subjects"].as_array().unwrap().len(), 2, "{}", events[0]);
    for client in [&org.client, &other] {
        let theirs = app
            .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, client.person_id), &org.admin.token)
            .await
            .expect(200);
        assert_eq!(reads_of(&theirs).len(), 1, "the filter by client finds the read: {theirs}");
    }
    let strangers = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, org.therapist.person_id), &org.admin.token)
        .await
        .expect(200);
    assert!(reads_of(&strangers).is_empty(), "{strangers}");
    let chains = app.store.verify_audit(None).await.unwrap();
    assert!(chains.iter().all(|c| c.error.is_none()), "the chain holds: {chains:?}");
}

async fn sessions_outside_the_facilitator_s_hours_are_reported_or_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let week = crate::availability::office_hours();
    crate::availability::put(
        &app,
        &crate::availability::week_path(&org, &org.therapist.person_id),
        &org.admin.token,
        week,
    )
    .await
    .expect(200);
    let (group, first) = weekly_group(&app, &org, json!({})).await;

    // 18:00 is after the facilitator's 17:00: generated, with a warning.
    let generated = generate(&app, &org, &group, first, 2).await;
    assert_eq!(generated["created"].as_array().unwrap().len(), 2);
    let warnings = generated["outside_working_hours"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{generated}");
    assert_eq!(warnings[0]["therapist_id"], org.therapist.person_id.as_str());
    assert_eq!(warnings[0]["therapist_name"], "A therapist");
    assert!(warnings[0]["starts_at_local"].as_str().unwrap().contains("18:00 E"), "{warnings:?}");

    // A group that refuses such sessions generates none of them.
    app.request(
        Method::PATCH,
        &format!("{}/{group}", groups(&org)),
        Some(&org.moderator.token),
        Some(json!({ "settings": { "refuse_outside_working_hours": true } })),
    )
    .await
    .expect(200);
    let later = first.checked_add(jiff::Span::new().days(14)).unwrap();
    let to = later.checked_add(jiff::Span::new().days(13)).unwrap();
    let refused = app
        .post(
            &format!("{}/{group}/sessions/generate", groups(&org)),
            &org.moderator.token,
            json!({ "from": later.to_string(), "to": to.to_string() }),
        )
        .await
        .problem(409, "outside_working_hours");
    assert_eq!(refused["occurrences"].as_array().unwrap().len(), 2, "{refused}");
    let sessions = app.db.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE group_id = '{group}'")).await;
    assert_eq!(sessions, 2, "nothing was generated");
}

async fn a_member_leaving_later_keeps_the_place_until_the_date_and_the_waitlist_moves_up_then(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, _) = weekly_group(&app, &org, json!({ "capacity": 2 })).await;
    let mut people = Vec::new();
    let mut memberships = Vec::new();
    for i in 0..3 {
        let client = app.person(&org.id, &org.admin.token, &format!("member{i}@r.example"), "client").await;
        memberships.push(app.enrol(&org, &group, &client.person_id).await);
        people.push(client);
    }
    assert_eq!(memberships[2]["status"], "WAITLISTED");
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let today = circles_domain::Clock::now(app.clock.as_ref()).to_zoned(ny.clone()).date();
    let leave_on = today.checked_add(jiff::Span::new().days(10)).unwrap();

    let left = app
        .request(
            Method::PATCH,
            &format!("{}/{group}/members/{}", groups(&org), memberships[0]["id"].as_str().unwrap()),
            Some(&org.moderator.token),
            Some(json!({ "status": "GRADUATED", "leave_date": leave_on.to_string(), "exit_reason": "Completed" })),
        )
        .await
        .expect(200);
    assert_eq!(
        (left["membership"]["status"].as_str(), left["membership"]["departs_as"].as_str()),
        (Some("ACTIVE"), Some("GRADUATED"))
    );
    assert_eq!(left["freed_places"], 0, "the place is not free yet");

    let roster = format!("{}/{group}/members", groups(&org));
    let statuses = |roster: &Value| -> Vec<String> {
        roster["items"].as_array().unwrap().iter().map(|m| m["status"].as_str().unwrap().to_owned()).collect()
    };
    circles_server::jobs::run_frequent(&app.state).await;
    let before = app.get(&roster, &org.moderator.token).await.expect(200);
    assert_eq!(statuses(&before), ["ACTIVE", "ACTIVE", "WAITLISTED"], "nothing changes before the date");

    // On the leave date the roster says so at once, whether or not a job ran…
    let morning = leave_on.to_datetime(jiff::civil::time(8, 0, 0, 0)).to_zoned(ny).unwrap().timestamp();
    app.clock.set(morning);
    let on_the_day = app.get(&roster, &org.moderator.token).await.expect(200);
    assert_eq!(statuses(&on_the_day)[0], "GRADUATED");
    // …and once the job has applied the departure, the waiting member is
    // offered the place and becomes active by accepting it.
    circles_server::jobs::run_frequent(&app.state).await;
    let offer = app.live_offer(&org, &people[2]).await;
    app.accept_offer(&org, &people[2], &offer).await;
    let after = app.get(&roster, &org.moderator.token).await.expect(200);
    assert_eq!(statuses(&after), ["GRADUATED", "ACTIVE", "ACTIVE"]);
    assert_eq!(app.inbox(&org, &people[2]).await, ["membership_activated", "waitlist_offer"], "newest first");
}

async fn late_attendance_is_flagged_on_the_sheet_and_in_the_audit_or_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, first) = weekly_group(&app, &org, json!({})).await;
    app.enrol(&org, &group, &org.client.person_id).await;
    let generated = generate(&app, &org, &group, first, 2).await;
    let session =
        |i: usize| format!("/api/v1/orgs/{}/sessions/{}", org.id, generated["created"][i]["id"].as_str().unwrap());
    let start: jiff::Timestamp = generated["created"][0]["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.set(start + SignedDuration::from_hours(24 * 45));
    let sheet = json!([{ "client_id": org.client.person_id, "status": "ATTENDED" }]);

    let marked = app
        .request(Method::PUT, &format!("{}/attendance", session(0)), Some(&org.therapist.token), Some(sheet.clone()))
        .await
        .expect(200);
    assert_eq!(marked.to_string().matches("\"late_entry\":true").count(), 1, "{marked}");
    let detail = app.get(&session(0), &org.therapist.token).await.expect(200);
    assert_eq!(detail["seats"][0]["late_entry"], true, "the sheet shows it");
    let audit = app
        .get(&format!("/api/v1/orgs/{}/audit?subject_id={}", org.id, org.client.person_id), &org.admin.token)
        .await
        .expect(200);
    let mark = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "attendance.mark").unwrap().clone();
    assert_eq!(
        (mark["details"]["late_entry"].as_bool(), mark["details"]["status"].as_str()),
        (Some(true), Some("ATTENDED"))
    );

    let settings = format!("/api/v1/orgs/{}/settings", org.id);
    let body = json!({ "refuse_late_attendance": true });
    let reminders = json!({ "reminder_offsets_minutes": [1440, 60], "reminder_offsets_words": ["24 hours", "1 hour"] });
    let with_reminders = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().extend(reminders.as_object().unwrap().clone());
        v
    };
    let before = with_reminders(json!({ "refuse_late_attendance": false, "check_in_k": 5 }));
    assert_eq!(app.get(&settings, &org.admin.token).await.expect(200), before);
    app.get(&settings, &org.moderator.token).await.problem(403, "forbidden");
    app.request(Method::PATCH, &settings, Some(&org.moderator.token), Some(body.clone()))
        .await
        .problem(403, "forbidden");
    app.request(Method::PATCH, &settings, Some(&org.admin.token), Some(body.clone())).await.expect(200);
    let after = with_reminders(json!({ "refuse_late_attendance": true, "check_in_k": 5 }));
    assert_eq!(app.get(&settings, &org.admin.token).await.expect(200), after, "the change is read back");
    app.request(Method::PUT, &format!("{}/attendance", session(1)), Some(&org.therapist.token), Some(sheet))
        .await
        .problem(409, "late_attendance_refused");
}
