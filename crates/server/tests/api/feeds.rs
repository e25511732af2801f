//! Calendar subscription feeds: a DST-spanning weekly group read back by an
//! independent iCalendar parser at the same local times, privacy by role,
//! the window, conditional fetches, the per-link limit, rotation and
//! revocation, and the audit of every fetch.

use circles_domain::ids::OrgId;
use circles_testkit::{Backend, backend_tests};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::mail::inspect_ics;
use crate::support::{Login, Org, Response, TestApp};

backend_tests!(
    a_feed_gives_a_weekly_group_the_same_local_time_on_both_sides_of_a_dst_change,
    a_feed_answers_304_when_unchanged_and_is_limited_per_link,
    a_rotated_or_revoked_link_is_gone_and_every_fetch_is_audited,
    feed_input_is_checked_and_another_persons_feed_is_not_found,
);

fn feeds_path() -> &'static str {
    "/api/v1/me/feeds"
}

async fn new_feed(app: &TestApp, login: &Login, body: Value) -> Value {
    app.post(feeds_path(), &login.token, body).await.expect(201)
}

/// The feed at `url` (as the API gave it) fetched without signing in.
async fn fetch(app: &TestApp, url: &str, if_none_match: Option<&str>) -> Response {
    let path = &url[url.find("/ical/").expect("a feed link")..];
    let mut req = app.client.get(format!("{}{path}", app.base));
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    TestApp::read(req.send().await.unwrap()).await
}

/// A weekly Thursday 14:00 New York group with the org's client as a member,
/// generated for `weeks` weeks from the first Thursday a week away.
async fn weekly_group(app: &TestApp, org: &Org, weeks: i64) -> Vec<Value> {
    let now = circles_domain::Clock::now(app.clock.as_ref());
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let mut first = now.to_zoned(ny).date().checked_add(jiff::Span::new().days(7)).unwrap();
    while first.weekday() != jiff::civil::Weekday::Thursday {
        first = first.tomorrow().unwrap();
    }
    let groups = format!("/api/v1/orgs/{}/groups", org.id);
    let body = json!({
        "name": "Thursday Anxiety Group", "type": "THERAPY", "modality": "IN_PERSON", "location": "Group room",
        "capacity": 8, "facilitator_ids": [org.therapist.person_id],
        "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=TH", "start_date": first.to_string(), "start_time": "14:00",
            "timezone": "America/New_York", "duration_minutes": 90 },
    });
    let group = app.post(&groups, &org.admin.token, body).await.expect(201);
    let group = group["id"].as_str().unwrap();
    app.enrol(org, group, &org.client.person_id).await;
    let to = first.checked_add(jiff::Span::new().days(7 * weeks - 1)).unwrap();
    let generated = app
        .post(
            &format!("{groups}/{group}/sessions/generate"),
            &org.admin.token,
            json!({ "from": first.to_string(), "to": to.to_string() }),
        )
        .await
        .expect(200);
    generated["created"].as_array().unwrap().clone()
}

async fn a_feed_gives_a_weekly_group_the_same_local_time_on_both_sides_of_a_dst_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("f").await;
    // Twenty weeks from December reach past the March change.
    let sessions = weekly_group(&app, &org, 20).await;
    let cancelled = sessions[3]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/orgs/{}/sessions/{cancelled}/cancel", org.id),
        &org.admin.token,
        json!({ "reason": "Holiday" }),
    )
    .await
    .expect(200);

    let feed = new_feed(&app, &org.client, json!({})).await;
    assert_eq!(feed["privacy"], "limited", "clients get the limited feed by default");
    assert!(feed["token"].as_str().unwrap().starts_with("cif_"));
    assert_eq!(feed["webcal_url"].as_str().unwrap().replacen("webcal://", "http://", 1), feed["url"]);
    let res = fetch(&app, feed["url"].as_str().unwrap(), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["content-type"], "text/calendar; charset=utf-8");
    let cal = inspect_ics(res.body.as_str().unwrap());
    assert_eq!(cal["refresh_interval"], "PT1H");
    assert_eq!(cal["published_ttl"], "PT1H");
    assert_eq!(cal["timezones"], json!(["America/New_York"]), "one VTIMEZONE for the one zone");
    let events = cal["events"].as_array().unwrap();
    assert_eq!(events.len(), 20, "{cal:#}");
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let mut offsets = std::collections::BTreeSet::new();
    for (event, session) in events.iter().zip(&sessions) {
        assert_eq!(event["uid"], format!("{}@localhost", session["id"].as_str().unwrap()));
        let start: Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(event["start"], start.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), "the session's instant");
        assert_eq!(event["start_by_vtimezone"], event["start"], "the feed's own VTIMEZONE gives the same instant");
        assert_eq!(event["tzid"], "America/New_York");
        assert!(event["local_start"].as_str().unwrap().ends_with(" 14:00"), "{event}");
        assert_eq!(event["summary"], "Group session", "a limited feed names no group");
        assert_eq!(event["location"], Value::Null, "nor where it meets");
        let expected = if session["id"] == cancelled { "CANCELLED" } else { "CONFIRMED" };
        assert_eq!(event["status"], expected);
        offsets.insert(start.to_zoned(ny.clone()).offset().seconds());
    }
    assert_eq!(offsets.len(), 2, "both EST and EDT occur, so the feed crossed a change");

    // The therapist sees titles and the room.
    let staff = new_feed(&app, &org.therapist, json!({})).await;
    assert_eq!(staff["privacy"], "full");
    let cal = inspect_ics(fetch(&app, staff["url"].as_str().unwrap(), None).await.body.as_str().unwrap());
    assert_eq!(cal["events"][0]["summary"], "Thursday Anxiety Group");
    assert_eq!(cal["events"][0]["location"], "Group room");

    // Seventy days on, sessions that ended over 30 days ago have left the feed.
    app.clock.advance(SignedDuration::from_hours(70 * 24));
    let now = circles_domain::Clock::now(app.clock.as_ref());
    let cal = inspect_ics(fetch(&app, feed["url"].as_str().unwrap(), None).await.body.as_str().unwrap());
    let kept: Vec<&Value> = sessions
        .iter()
        .filter(|s| {
            s["ends_at"].as_str().unwrap().parse::<Timestamp>().unwrap() > now - SignedDuration::from_hours(30 * 24)
        })
        .collect();
    assert!(kept.len() < 20 && !kept.is_empty());
    assert_eq!(cal["events"].as_array().unwrap().len(), kept.len());
}

async fn a_feed_answers_304_when_unchanged_and_is_limited_per_link(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.feed_fetches_per_minute = 3).await;
    let org = app.org("e").await;
    let sessions = weekly_group(&app, &org, 2).await;
    let feed = new_feed(&app, &org.client, json!({ "privacy": "full" })).await;
    let url = feed["url"].as_str().unwrap();
    let first = fetch(&app, url, None).await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    let unchanged = fetch(&app, url, Some(&etag)).await;
    assert_eq!(unchanged.status, 304);
    assert_eq!(unchanged.body, Value::Null, "no body with 304");

    // A change to a session changes the feed.
    let session = sessions[1]["id"].as_str().unwrap();
    app.clock.advance(SignedDuration::from_secs(5));
    app.post(&format!("/api/v1/orgs/{}/sessions/{session}/cancel", org.id), &org.admin.token, json!({"reason": "x"}))
        .await
        .expect(200);
    let changed = fetch(&app, url, Some(&etag)).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);

    // Three fetches a minute are allowed; another link is not held back.
    let limited = fetch(&app, url, None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["code"], "too_many_feed_fetches");
    assert!(limited.headers.contains_key("retry-after"));
    let other = new_feed(&app, &org.client, json!({})).await;
    assert_eq!(fetch(&app, other["url"].as_str().unwrap(), None).await.status, 200);
}

async fn a_rotated_or_revoked_link_is_gone_and_every_fetch_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("g").await;
    weekly_group(&app, &org, 1).await;
    let feed = new_feed(&app, &org.client, json!({})).await;
    let id = feed["id"].as_str().unwrap();
    assert_eq!(fetch(&app, feed["url"].as_str().unwrap(), None).await.status, 200);

    let rotated = app.post(&format!("{}/{id}/rotate", feeds_path()), &org.client.token, json!({})).await.expect(200);
    assert_eq!(rotated["id"], id);
    assert_ne!(rotated["token"], feed["token"]);
    fetch(&app, feed["url"].as_str().unwrap(), None).await.problem(404, "not_found");
    assert_eq!(fetch(&app, rotated["url"].as_str().unwrap(), None).await.status, 200);

    let listed = app.get(feeds_path(), &org.client.token).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("token").is_none(), "a listing never shows the secret");
    assert!(listed["items"][0]["last_fetched_at_local"].is_string());

    app.request(Method::DELETE, &format!("{}/{id}", feeds_path()), Some(&org.client.token), None).await.expect(204);
    fetch(&app, rotated["url"].as_str().unwrap(), None).await.problem(404, "not_found");
    assert_eq!(app.get(feeds_path(), &org.client.token).await.expect(200)["items"], json!([]));

    let events = app.store.audit_events(OrgId::PLATFORM, None, 200).await.unwrap();
    let fetches: Vec<_> = events.iter().filter(|e| e.action == "feed.fetch").collect();
    assert_eq!(fetches.len(), 2, "each successful fetch is audited; unknown tokens open nothing");
    for event in fetches {
        assert_eq!(event.record_id, id);
        assert_eq!(event.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(event.details["feed_id"], id);
    }
    for action in ["feed.create", "feed.rotate", "feed.revoke"] {
        assert!(events.iter().any(|e| e.action == action && e.record_id == id), "{action} is audited");
    }
    // The secret is kept only as a hash.
    let stored = app.db.scalar("SELECT COUNT(*) FROM calendar_feeds WHERE token_hash IS NOT NULL").await;
    assert_eq!(stored, 1);
}

async fn feed_input_is_checked_and_another_persons_feed_is_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("h").await;
    let bad = app.post(feeds_path(), &org.client.token, json!({ "privacy": "secret" })).await;
    assert_eq!(Response::fields(&bad.problem(422, "validation_failed")), ["privacy"]);
    let mine = new_feed(&app, &org.client, json!({})).await;
    let id = mine["id"].as_str().unwrap();
    app.post(&format!("{}/{id}/rotate", feeds_path()), &org.therapist.token, json!({})).await.problem(404, "not_found");
    app.request(Method::DELETE, &format!("{}/{id}", feeds_path()), Some(&org.therapist.token), None)
        .await
        .problem(404, "not_found");
    assert_eq!(fetch(&app, mine["url"].as_str().unwrap(), None).await.status, 200, "still the client's");
    let guessed = format!("/ical/cif_{}.ics", "A".repeat(43));
    fetch(&app, &guessed, None).await.problem(404, "not_found");
    app.request(Method::GET, feeds_path(), None, None).await.problem(401, "unauthenticated");
}
