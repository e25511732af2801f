//! Lists: who made a session, pages with `next_cursor`, and invitation
//! lists that hold only what a therapist can answer.

use circles_testkit::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::availability::app_at_now;
use crate::booking::{booking, sessions_path};
use crate::group_sessions::{proposal, sessions};
use crate::support::TestApp;

backend_tests!(
    sessions_say_who_made_them_and_filter_by_it,
    a_long_session_list_pages_with_next_cursor,
    pending_invitations_are_the_ones_a_therapist_can_answer,
    notifications_and_time_off_page_with_next_cursor,
);

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

async fn sessions_say_who_made_them_and_filter_by_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let by_admin = app.post(&sessions_path(&org), &org.admin.token, booking(&org, &app.hours_from_now(24), 50)).await;
    let by_admin = by_admin.expect(201);
    let by_moderator =
        app.post(&sessions_path(&org), &org.moderator.token, booking(&org, &app.hours_from_now(48), 50)).await;
    let by_moderator = by_moderator.expect(201);
    assert_eq!(by_moderator["created_by"], org.moderator.person_id.as_str());
    assert_eq!(by_moderator["created_by_name"], "A moderator");
    let filtered = app
        .get(&format!("{}?created_by={}", sessions_path(&org), org.admin.person_id), &org.admin.token)
        .await
        .expect(200);
    assert_eq!(ids(&filtered), [by_admin["id"].as_str().unwrap()]);
    assert_eq!(filtered["next_cursor"], Value::Null, "one page holds it all");
}

async fn a_long_session_list_pages_with_next_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let mut booked = Vec::new();
    for hours in [24, 48, 72] {
        let body = booking(&org, &app.hours_from_now(hours), 50);
        let session = app.post(&sessions_path(&org), &org.admin.token, body).await.expect(201);
        booked.push(session["id"].as_str().unwrap().to_owned());
    }
    let first = app.get(&format!("{}?limit=2", sessions_path(&org)), &org.admin.token).await.expect(200);
    assert_eq!(ids(&first), booked[..2]);
    let cursor = first["next_cursor"].as_str().expect("more follow");
    let second =
        app.get(&format!("{}?limit=2&cursor={cursor}", sessions_path(&org)), &org.admin.token).await.expect(200);
    assert_eq!(ids(&second), booked[2..]);
    assert_eq!(second["next_cursor"], Value::Null, "the last page says so");
    app.get(&format!("{}?cursor=yesterday", sessions_path(&org)), &org.admin.token).await.problem(400, "invalid_query");
}

async fn pending_invitations_are_the_ones_a_therapist_can_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({ "session_creation": "all_members", "approval_required": true }), &[]).await;
    // A member's proposal waits for its moderator: nothing to answer yet.
    app.post(&sessions(&org), &org.client.token, proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]))
        .await
        .expect(201);
    // A moderator's proposal is answerable, until it is cancelled.
    let open = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(96), &[&org.therapist]))
        .await
        .expect(201);
    let dropped = app
        .post(
            &sessions(&org),
            &org.moderator.token,
            proposal(&org, &group, &app.hours_from_now(120), &[&org.therapist]),
        )
        .await
        .expect(201);
    let cancel = format!("{}/{}/cancel", sessions(&org), dropped["id"].as_str().unwrap());
    app.post(&cancel, &org.moderator.token, json!({ "reason": "no room" })).await.expect(200);
    // A one-on-one appointment is an assignment, not an invitation.
    app.post(&sessions_path(&org), &org.admin.token, booking(&org, &app.hours_from_now(30), 50)).await.expect(201);

    let path = format!("/api/v1/orgs/{}/invitations", org.id);
    let list = |query: &str| app.get_owned(format!("{path}{query}"), &org.therapist.token);
    let pending = list("?status=pending").await.expect(200);
    let sessions: Vec<&str> =
        pending["items"].as_array().unwrap().iter().map(|i| i["session_id"].as_str().unwrap()).collect();
    assert_eq!(sessions, [open["id"].as_str().unwrap()]);
    assert_eq!(pending["items"][0]["session"]["therapists"][0]["therapist_name"], "A therapist");

    let all = list("").await.expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "every group invitation, no one-on-one");
    assert!(all["items"].as_array().unwrap().iter().all(|i| i["session"]["kind"] == "group"));
    let accepted = list("?status=ACCEPTED").await.expect(200);
    assert!(accepted["items"].as_array().unwrap().is_empty(), "the one-on-one is not mixed in");
    assert_eq!(list("?kind=instant").await.expect(200)["items"].as_array().unwrap().len(), 0);
    assert_eq!(list("?kind=GROUP").await.expect(200)["items"].as_array().unwrap().len(), 3);
    list("?kind=one_on_one").await.problem(400, "invalid_query");
    let paged = list("?limit=1").await.expect(200);
    assert!(paged["next_cursor"].is_string());
}

/// Reads every page of `path` (which takes `limit` and `cursor`) two items
/// at a time; returns the pages' ids.
async fn walk(app: &TestApp, path: &str, token: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let at = match &cursor {
            Some(c) => format!("{path}?limit=2&cursor={c}"),
            None => format!("{path}?limit=2"),
        };
        let page = app.get(&at, token).await.expect(200);
        pages.push(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return pages,
        }
        assert!(pages.len() < 10, "the pages end");
    }
}

async fn notifications_and_time_off_page_with_next_cursor(backend: Backend) {
    let (app, org) = app_at_now(backend).await;
    // Three bookings tell the therapist three times, all at one instant:
    // the cursor's id breaks the tie.
    for day in 2..=4 {
        let body = booking(&org, &format!("2027-03-{day:02}T10:00:00-05:00"), 50);
        app.post(&sessions_path(&org), &org.admin.token, body).await.expect(201);
    }
    let inbox = format!("/api/v1/orgs/{}/notifications", org.id);
    let everything = app.get(&inbox, &org.therapist.token).await.expect(200);
    let all = ids(&everything);
    assert_eq!(all.len(), 3, "{everything}");
    assert!(everything["items"][0]["created_at_local"].as_str().unwrap().ends_with(" EST"), "{everything}");
    let pages = walk(&app, &inbox, &org.therapist.token).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(pages.concat(), all, "the pages are the list, in order, each item once");

    let time_off = format!("/api/v1/orgs/{}/time-off", org.id);
    for week in [2, 9, 16] {
        let body = json!({
            "therapist_id": org.therapist.person_id, "type": "VACATION", "reason": "Away",
            "starts_at": format!("2027-03-{week:02}T00:00:00-05:00"),
            "ends_at": format!("2027-03-{:02}T00:00:00-05:00", week + 3),
        });
        app.post(&time_off, &org.therapist.token, body).await.expect(201);
    }
    let requests = app.get(&time_off, &org.admin.token).await.expect(200);
    // Staff read whose request it is and when, on the organisation's clock.
    assert_eq!(requests["items"][0]["therapist_name"], "A therapist");
    assert_eq!(requests["items"][0]["requested_by_name"], "A therapist");
    assert_eq!(requests["items"][0]["starts_at_local"], "Tue 16 Mar, 01:00 EDT");
    assert_eq!(requests["items"][2]["ends_at_local"], "Fri 5 Mar, 00:00 EST");
    let listed = ids(&requests);
    assert_eq!(listed.len(), 3);
    let pages = walk(&app, &time_off, &org.admin.token).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(pages.concat(), listed, "latest start first across pages");
    app.get(&format!("{time_off}?cursor=soon"), &org.admin.token).await.problem(400, "invalid_query");
}
