//! A group's statistics over time: attendance week by week on the group's
//! clock and check-in averages session by session, for its staff only.

use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_form::Browser;
use crate::readable::assert_readable;
use crate::support::{Login, Org, TestApp};

backend_tests!(
    staff_read_weekly_attendance_and_check_in_averages_on_the_groups_clock,
    statistics_over_time_refuse_clients_outsiders_and_bad_ranges,
);

struct Weekly {
    org: Org,
    group: String,
    first: Date,
    sessions: Vec<Value>,
    members: Vec<Login>,
}

/// A Thursday 14:00 New York group of four members with three weekly
/// sessions generated, the first at least a week away.
async fn weekly(app: &TestApp, slug: &str) -> Weekly {
    let org = app.org(slug).await;
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let now = circles_domain::Clock::now(app.clock.as_ref());
    let mut first = now.to_zoned(ny).date().checked_add(jiff::Span::new().days(7)).unwrap();
    while first.weekday() != Weekday::Thursday {
        first = first.tomorrow().unwrap();
    }
    let body = json!({
        "name": "Thursday Mood Group", "type": "THERAPY", "modality": "IN_PERSON", "location": "Room 2",
        "capacity": 8, "facilitator_ids": [org.therapist.person_id], "moderator_ids": [org.moderator.person_id],
        "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=TH", "start_date": first.to_string(), "start_time": "14:00",
            "timezone": "America/New_York", "duration_minutes": 90 },
    });
    let group = app.post(&format!("/api/v1/orgs/{}/groups", org.id), &org.admin.token, body).await.expect(201);
    let group = group["id"].as_str().unwrap().to_owned();
    let mut members = Vec::new();
    for i in 0..4 {
        let m = app.person(&org.id, &org.admin.token, &format!("w{i}@{slug}.example"), "client").await;
        app.enrol(&org, &group, &m.person_id).await;
        members.push(m);
    }
    let to = first.checked_add(jiff::Span::new().days(20)).unwrap();
    let generated = app
        .post(
            &format!("/api/v1/orgs/{}/groups/{group}/sessions/generate", org.id),
            &org.moderator.token,
            json!({ "from": first.to_string(), "to": to.to_string() }),
        )
        .await
        .expect(200);
    let sessions = generated["created"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3);
    Weekly { org, group, first, sessions, members }
}

impl Weekly {
    fn over_time(&self, query: &str) -> String {
        format!("/api/v1/orgs/{}/groups/{}/stats/over-time{query}", self.org.id, self.group)
    }

    fn session(&self, i: usize) -> String {
        format!("/api/v1/orgs/{}/sessions/{}", self.org.id, self.sessions[i]["id"].as_str().unwrap())
    }

    fn starts_at(&self, i: usize) -> jiff::Timestamp {
        self.sessions[i]["starts_at"].as_str().unwrap().parse().unwrap()
    }
}

async fn staff_read_weekly_attendance_and_check_in_averages_on_the_groups_clock(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = weekly(&app, "s").await;
    let attach = |q: &str| json!({ "questionnaire_id": q, "phase": "BEFORE" });
    let path = format!("/api/v1/orgs/{}/groups/{}/check-ins", w.org.id, w.group);
    let mood = app.post(&path, &w.org.therapist.token, attach("mood")).await.expect(201);
    let mood = mood["id"].as_str().unwrap().to_owned();
    // Week 1: moods 4, 6, 5 and three of four attend; week 2: moods 7, 8 and
    // everyone attends. Week 3 has not happened yet.
    let weeks: [(&[i64], [&str; 4]); 2] =
        [(&[4, 6, 5], ["ATTENDED", "ATTENDED", "ATTENDED", "NO_SHOW"]), (&[7, 8], ["ATTENDED"; 4])];
    for (i, (moods, marks)) in weeks.iter().enumerate() {
        app.clock.set(w.starts_at(i) + SignedDuration::from_mins(5));
        for (m, value) in w.members.iter().zip(moods.iter()) {
            let answers = format!("{}/check-ins/{mood}/answers", w.session(i));
            app.post(&answers, &m.token, json!({ "answers": { "q1": value } })).await.expect(200);
        }
        app.clock.set(w.starts_at(i) + SignedDuration::from_mins(95));
        let sheet: Vec<Value> =
            w.members.iter().zip(marks).map(|(m, s)| json!({ "client_id": m.person_id, "status": s })).collect();
        let attendance = format!("{}/attendance", w.session(i));
        app.request(Method::PUT, &attendance, Some(&w.org.therapist.token), Some(json!(sheet))).await.expect(200);
    }

    let last = w.first.checked_add(jiff::Span::new().days(14)).unwrap();
    let query = format!("?from={}&to={last}", w.first);
    let stats = app.get(&w.over_time(&query), &w.org.moderator.token).await.expect(200);
    assert_readable("GET stats/over-time", &stats);
    assert_eq!(
        (stats["group_name"].as_str(), stats["timezone"].as_str()),
        (Some("Thursday Mood Group"), Some("America/New_York"))
    );
    let monday = w.first.checked_sub(jiff::Span::new().days(3)).unwrap();
    assert_eq!(stats["from"], monday.to_string(), "weeks start on the Monday before the first Thursday");
    let weeks = stats["weeks"].as_array().unwrap();
    let summary: Vec<(i64, i64, Option<f64>)> = weeks
        .iter()
        .map(|w| (w["sessions_held"].as_i64().unwrap(), w["marked"].as_i64().unwrap(), w["attendance_rate"].as_f64()))
        .collect();
    assert_eq!(summary, [(1, 4, Some(0.75)), (1, 4, Some(1.0)), (0, 0, None)]);
    assert_eq!(weeks[0]["week_start"], monday.to_string());
    assert!(weeks[0]["week_label"].as_str().unwrap().starts_with("Week of Mon"), "{}", weeks[0]);

    let series = stats["check_ins"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(
        (series[0]["questionnaire"].as_str(), series[0]["questionnaire_title"].as_str()),
        (Some("mood"), Some("Mood"))
    );
    let points: Vec<(i64, f64)> = series[0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["answered"].as_i64().unwrap(), p["mean_total"].as_f64().unwrap()))
        .collect();
    assert_eq!(points, [(3, 5.0), (2, 7.5)]);
    let first = &series[0]["sessions"][0];
    assert_eq!(first["session_id"], w.sessions[0]["id"]);
    assert!(first["starts_at_local"].as_str().unwrap().contains("14:00"), "{first}");
    // Averages carry numbers only: no member, no answer.
    let text = stats.to_string();
    assert!(w.members.iter().all(|m| !text.contains(&m.person_id)));

    // The group's facilitator and the organisation's admin read them too.
    app.get(&w.over_time(&query), &w.org.therapist.token).await.expect(200);
    app.get(&w.over_time(&query), &w.org.admin.token).await.expect(200);
    // Without a range: the twelve weeks up to today on the group's clock.
    let recent = app.get(&w.over_time(""), &w.org.admin.token).await.expect(200);
    assert_eq!(recent["weeks"].as_array().unwrap().len(), 12);

    // The page draws both series and lists the same numbers in tables.
    let moderator = Browser::sign_in(&app, &w.org.moderator).await;
    let group_page = moderator.page(&format!("/orgs/{}/groups/{}", w.org.id, w.group)).await;
    let link = format!("/orgs/{}/groups/{}/statistics", w.org.id, w.group);
    assert!(group_page.contains(&link), "the group's page links to its statistics over time");
    let page = moderator.page(&format!("{link}{query}")).await;
    assert_eq!(page.matches("<svg").count(), 2, "{page}");
    assert!(page.contains("Mood: mean total by session") && page.contains("75%") && page.contains("7.50"), "{page}");
    assert!(!page.contains("<script>") && !page.contains("style=\""));
}

async fn statistics_over_time_refuse_clients_outsiders_and_bad_ranges(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = weekly(&app, "r").await;
    app.get(&w.over_time(""), &w.members[0].token).await.problem(403, "forbidden");
    app.get(&w.over_time(""), &w.org.client.token).await.problem(403, "forbidden");
    let other = app.org("o").await;
    let stranger = format!("/api/v1/orgs/{}/groups/{}/stats/over-time", other.id, w.group);
    app.get(&stranger, &other.admin.token).await.problem(404, "not_found");
    let bad = app.get(&w.over_time("?from=2026-13-01"), &w.org.admin.token).await.problem(422, "validation_failed");
    assert!(bad.to_string().contains("from"), "{bad}");
    let backwards = app.get(&w.over_time("?from=2026-03-09&to=2026-03-01"), &w.org.admin.token).await;
    assert!(backwards.problem(422, "validation_failed").to_string().contains("\"to\""));
    let long = app.get(&w.over_time("?from=2024-01-01&to=2026-03-01"), &w.org.admin.token).await;
    long.problem(422, "validation_failed");
}
