//! Issue 11, items 4–7 and 9: staff control of one seat, late joins,
//! drop-in sessions' rules, who cancels a whole group session, a
//! facilitator's withdrawal, and replacement invitations.

use circles_domain::clock::Clock;
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_sessions::{proposal, respond, sessions};
use crate::support::{Login, Org, TestApp};

backend_tests!(
    staff_seat_a_given_client_and_drop_one_with_a_reason,
    a_seat_added_by_staff_respects_the_clients_calendar,
    clients_and_staff_confirm_seats,
    cancelling_future_seats_is_the_providers_cancellation_and_the_client_is_told,
    members_join_a_running_session_within_the_late_join_allowance,
    drop_in_sessions_need_a_facilitator_and_keep_to_the_groups_windows,
    only_moderators_admins_or_the_creator_cancel_a_group_session,
    a_facilitator_who_accepted_can_withdraw,
    a_replacement_invitation_may_name_any_therapist_of_the_organisation,
);

/// A scheduled group session in a fresh community (with `settings`), starting
/// in `hours`, facilitated by the org's therapist.
async fn scheduled(app: &TestApp, org: &Org, settings: Value, hours: i64) -> (String, Value) {
    let group = app.community(org, settings, &[]).await;
    let session = app
        .post(
            &sessions(org),
            &org.moderator.token,
            proposal(org, &group, &app.hours_from_now(hours), &[&org.therapist]),
        )
        .await
        .expect(201);
    let accepted = respond(app, org, &org.therapist, &session, "accept").await.expect(200);
    assert_eq!(accepted["session"]["status"], "SCHEDULED");
    (group, accepted["session"].clone())
}

fn at(org: &Org, session: &Value, action: &str) -> String {
    format!("{}/{}/{action}", sessions(org), session["id"].as_str().unwrap())
}

fn seat_of(org: &Org, session: &Value, client: &Login, action: &str) -> String {
    at(org, session, &format!("seats/{}/{action}", client.person_id))
}

async fn staff_seat_a_given_client_and_drop_one_with_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (_, session) = scheduled(&app, &org, json!({}), 72).await;
    let seats = at(&org, &session, "seats");
    let add = json!({ "client_id": org.client.person_id });
    // A client does not seat others, even themselves through the staff route.
    app.post(&seats, &org.client.token, add.clone()).await.problem(403, "forbidden");
    let seat = app.post(&seats, &org.moderator.token, add.clone()).await.expect(201);
    assert_eq!(seat["status"], "REGISTERED");
    assert_eq!(seat["client_name"], "A client");
    assert!(app.inbox(&org, &org.client).await.contains(&"seat_confirmed".to_owned()));
    let twice = app.post(&seats, &org.therapist.token, add).await.problem(409, "already_seated");
    assert_eq!(twice["detail"], "A client already has a seat on this session");
    // Someone outside the group is named, not seated.
    let outsider = app.person(&org.id, &org.admin.token, "out@r.example", "client").await;
    let refused = app
        .post(&seats, &org.admin.token, json!({ "client_id": outsider.person_id }))
        .await
        .problem(409, "not_a_member");
    assert_eq!(refused["detail"], "A client is not an active member of this group");
    // The facilitator drops the seat with a reason; the client is told it.
    app.post(&seat_of(&org, &session, &org.client, "drop"), &org.therapist.token, json!({ "reason": " " }))
        .await
        .problem(422, "validation_failed");
    let dropped = app
        .post(
            &seat_of(&org, &session, &org.client, "drop"),
            &org.therapist.token,
            json!({ "reason": "moved to Thursday" }),
        )
        .await
        .expect(200);
    assert_eq!(dropped["status"], "CANCELLED_BY_PROVIDER");
    let inbox = app.get(&format!("/api/v1/orgs/{}/notifications", org.id), &org.client.token).await.expect(200);
    let notice = &inbox["items"][0];
    assert_eq!(notice["kind"], "seat_cancelled");
    assert!(notice["body"].as_str().unwrap().ends_with("your seat was cancelled: moved to Thursday"), "{notice}");
    let again = app
        .post(&seat_of(&org, &session, &org.client, "drop"), &org.therapist.token, json!({ "reason": "twice" }))
        .await
        .problem(409, "not_seated");
    assert_eq!(again["detail"], "A client has no seat on this session");
    // Their time is free again: they take the seat back themselves.
    app.request(Method::POST, &at(&org, &session, "join"), Some(&org.client.token), None).await.expect(200);
    assert_eq!(app.overlapping_busy_pairs().await, 0);
}

async fn a_seat_added_by_staff_respects_the_clients_calendar(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (_, session) = scheduled(&app, &org, json!({}), 72).await;
    let colleague = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let one_on_one = json!({
        "starts_at": session["starts_at"], "duration_minutes": 50,
        "therapist_ids": [colleague.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&sessions(&org), &org.admin.token, one_on_one).await.expect(201);
    let clash = app
        .post(&at(&org, &session, "seats"), &org.moderator.token, json!({ "client_id": org.client.person_id }))
        .await
        .problem(409, "scheduling_conflict");
    // The refusal names who is busy, with what and whom, on the session's clock.
    let detail = clash["detail"].as_str().unwrap();
    assert!(detail.starts_with("A client is busy then: "), "{clash}");
    assert!(
        detail.ends_with(&format!(" with A therapist, {}", session["starts_at_local"].as_str().unwrap())),
        "{clash}"
    );
    let first = &clash["conflicts"][0];
    assert_eq!(first["person_name"], "A client");
    assert_eq!(first["therapist_name"], "A therapist");
    assert_eq!(first["starts_at_local"], session["starts_at_local"]);
    let read = app.get(&format!("{}/{}", sessions(&org), session["id"].as_str().unwrap()), &org.admin.token).await;
    assert!(read.expect(200)["seats"].as_array().unwrap().is_empty(), "nothing half-written");
}

async fn clients_and_staff_confirm_seats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, json!({}), 72).await;
    let other = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.enrol(&org, &group, &other.person_id).await;
    for client in [&org.client, &other] {
        app.request(Method::POST, &at(&org, &session, "join"), Some(&client.token), None).await.expect(200);
    }
    let own = app.post(&seat_of(&org, &session, &org.client, "confirm"), &org.client.token, json!({})).await;
    assert_eq!(own.expect(200)["status"], "CONFIRMED");
    let again = app.post(&seat_of(&org, &session, &org.client, "confirm"), &org.client.token, json!({})).await;
    assert_eq!(again.expect(200)["status"], "CONFIRMED", "confirming twice changes nothing");
    // Another member's seat is not theirs to confirm; staff may.
    app.post(&seat_of(&org, &session, &other, "confirm"), &org.client.token, json!({})).await.problem(403, "forbidden");
    let by_staff = app.post(&seat_of(&org, &session, &other, "confirm"), &org.therapist.token, json!({})).await;
    assert_eq!(by_staff.expect(200)["status"], "CONFIRMED");
}

async fn cancelling_future_seats_is_the_providers_cancellation_and_the_client_is_told(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, json!({}), 24 * 5).await;
    app.request(Method::POST, &at(&org, &session, "join"), Some(&org.client.token), None).await.expect(200);
    let roster = app.get(&format!("/api/v1/orgs/{}/groups/{group}/members", org.id), &org.admin.token).await;
    let roster = roster.expect(200);
    assert_eq!(roster["items"][0]["client_name"], "A client", "staff read members by name");
    let member = roster["items"][0]["id"].as_str().unwrap().to_owned();
    let member_path = format!("/api/v1/orgs/{}/groups/{group}/members/{member}", org.id);
    let leave_on = app.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date().checked_add(jiff::Span::new().days(2));
    app.request(
        Method::PATCH,
        &member_path,
        Some(&org.moderator.token),
        Some(json!({ "leave_date": leave_on.unwrap().to_string(), "exit_reason": "Moved away" })),
    )
    .await
    .expect(200);
    let cancelled = app.post(&format!("{member_path}/cancel-future-seats"), &org.moderator.token, json!({})).await;
    assert_eq!(cancelled.expect(200)["cancelled"], 1);
    let read = app.get(&format!("{}/{}", sessions(&org), session["id"].as_str().unwrap()), &org.admin.token).await;
    assert_eq!(read.expect(200)["seats"][0]["status"], "CANCELLED_BY_PROVIDER");
    assert!(app.inbox(&org, &org.client).await.contains(&"seat_cancelled".to_owned()));
}

async fn members_join_a_running_session_within_the_late_join_allowance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, json!({ "late_join_minutes": 15 }), 2).await;
    let late = app.person(&org.id, &org.admin.token, "late@r.example", "client").await;
    app.enrol(&org, &group, &late.person_id).await;
    // 18:00 in "Thu 10 Dec, 18:00 EST": the session's own clock.
    let local = session["starts_at_local"].as_str().unwrap();
    let clock = &local.split(", ").nth(1).unwrap()[..5];
    let starts_at: jiff::Timestamp = session["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.advance(starts_at.duration_since(app.clock.now()) + SignedDuration::from_mins(10));
    let seat = app.request(Method::POST, &at(&org, &session, "join"), Some(&org.client.token), None).await.expect(200);
    assert_eq!(seat["status"], "REGISTERED");
    app.clock.advance(SignedDuration::from_mins(6));
    let refused = app
        .request(Method::POST, &at(&org, &session, "join"), Some(&late.token), None)
        .await
        .problem(409, "session_not_open");
    assert_eq!(
        refused["detail"],
        format!("this session started at {clock}; members may join up to 15 minutes after the start")
    );
    // Without the setting a running session takes no seats, and says so.
    let (_, strict) = scheduled(&app, &org, json!({}), 3).await;
    let starts_at: jiff::Timestamp = strict["starts_at"].as_str().unwrap().parse().unwrap();
    app.clock.advance(starts_at.duration_since(app.clock.now()) + SignedDuration::from_mins(1));
    let refused = app
        .request(Method::POST, &at(&org, &strict, "join"), Some(&org.client.token), None)
        .await
        .problem(409, "session_not_open");
    assert!(refused["detail"].as_str().unwrap().ends_with("and takes no new seats once it is running"), "{refused}");
    let settings = json!({ "settings": { "late_join_minutes": 500 } });
    let path = format!("/api/v1/orgs/{}/groups/{group}", org.id);
    let bad = app.request(Method::PATCH, &path, Some(&org.admin.token), Some(settings)).await;
    assert_eq!(
        crate::support::Response::fields(&bad.problem(422, "validation_failed")),
        ["settings.late_join_minutes"]
    );
}

async fn drop_in_sessions_need_a_facilitator_and_keep_to_the_groups_windows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let colleague = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({ "allow_instant": true }), &[&colleague]).await;
    let drop_in = json!({ "kind": "instant", "group_id": group, "title": "Drop-in" });
    let refused = app.post(&sessions(&org), &org.client.token, drop_in.clone()).await.problem(422, "validation_failed");
    assert_eq!(crate::support::Response::fields(&refused), ["therapist_ids"]);
    // A facilitator who starts one leads it; moderators and the other facilitators are told.
    let started = app.post(&sessions(&org), &org.therapist.token, drop_in.clone()).await.expect(201);
    assert_eq!(started["therapists"][0]["therapist_id"], org.therapist.person_id.as_str());
    assert!(app.inbox(&org, &org.moderator).await.contains(&"instant_started".to_owned()));
    assert!(app.inbox(&org, &colleague).await.contains(&"instant_started".to_owned()));
    assert!(app.inbox(&org, &org.client).await.contains(&"instant_started".to_owned()));
    // A facilitator not on the session marks its attendance.
    app.request(Method::POST, &at(&org, &started, "join"), Some(&org.client.token), None).await.expect(200);
    let sheet = json!([{ "client_id": org.client.person_id, "status": "ATTENDED" }]);
    let marked = app.request(Method::PUT, &at(&org, &started, "attendance"), Some(&colleague.token), Some(sheet)).await;
    assert_eq!(marked.expect(200)["items"][0]["status"], "ATTENDED");

    // A peer-led group's members start one themselves, but its windows hold…
    let now = app.clock.now().to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap());
    let elsewhere = now.date().checked_add(jiff::Span::new().days(1)).unwrap().weekday();
    let window =
        json!([{ "weekday": format!("{elsewhere:?}").to_lowercase(), "start_time": "09:00", "end_time": "10:00" }]);
    let settings = json!({ "allow_instant": true, "allow_peer_led": true, "allowed_time_windows": window });
    let peer_led = app.community(&org, settings, &[]).await;
    // (The org's client is in the running drop-in above; another member starts this one.)
    let peer = app.person(&org.id, &org.admin.token, "peer@r.example", "client").await;
    app.enrol(&org, &peer_led, &peer.person_id).await;
    let drop_in = json!({ "kind": "instant", "group_id": peer_led, "title": "Drop-in" });
    let refused = app.post(&sessions(&org), &peer.token, drop_in.clone()).await.problem(422, "validation_failed");
    assert_eq!(crate::support::Response::fields(&refused), ["starts_at"]);
    // …unless the group exempts drop-ins from them.
    let path = format!("/api/v1/orgs/{}/groups/{peer_led}", org.id);
    let exempt = json!({ "settings": { "instant_ignores_windows": true } });
    app.request(Method::PATCH, &path, Some(&org.admin.token), Some(exempt)).await.expect(200);
    let started = app.post(&sessions(&org), &peer.token, drop_in).await.expect(201);
    assert!(started["therapists"].as_array().unwrap().is_empty(), "peer-led");
}

async fn only_moderators_admins_or_the_creator_cancel_a_group_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let (group, session) = scheduled(&app, &org, json!({ "allow_peer_led": true }), 72).await;
    let cancel = |reason: &str| json!({ "reason": reason });
    // The accepted facilitator may not cancel the whole session (they withdraw).
    let refused = app.post(&at(&org, &session, "cancel"), &org.therapist.token, cancel("ill")).await;
    assert_eq!(
        refused.problem(403, "forbidden")["detail"],
        "only the group's moderators, an admin or the session's creator cancel a group session"
    );
    app.post(&at(&org, &session, "cancel"), &org.client.token, cancel("no")).await.problem(403, "forbidden");
    let cancelled = app.post(&at(&org, &session, "cancel"), &org.moderator.token, cancel("snow")).await.expect(200);
    assert_eq!(cancelled["status"], "CANCELLED");
    // A member who started a drop-in session may end it.
    let drop_in = json!({ "kind": "instant", "group_id": group, "title": "Drop-in" });
    let started = app.post(&sessions(&org), &org.client.token, drop_in).await.expect(201);
    let other = app.person(&org.id, &org.admin.token, "c2@r.example", "client").await;
    app.enrol(&org, &group, &other.person_id).await;
    app.request(Method::POST, &at(&org, &started, "join"), Some(&other.token), None).await.expect(200);
    let ended = app.post(&at(&org, &started, "cancel"), &org.client.token, cancel("done early")).await.expect(200);
    assert_eq!(ended["status"], "CANCELLED");
    let read = app.get(&format!("{}/{}", sessions(&org), started["id"].as_str().unwrap()), &org.admin.token).await;
    let seats = read.expect(200)["seats"].clone();
    assert!(
        seats.as_array().unwrap().iter().all(|s| s["status"] == "CANCELLED_BY_PROVIDER"),
        "nobody's seat counts as their own cancellation: {seats}"
    );
}

async fn a_facilitator_who_accepted_can_withdraw(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let colleague = app.person(&org.id, &org.admin.token, "t2@r.example", "therapist").await;
    let group = app.community(&org, json!({}), &[&colleague]).await;
    let body = proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist, &colleague]);
    let session = app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
    respond(&app, &org, &org.therapist, &session, "accept").await.expect(200);
    let both = respond(&app, &org, &colleague, &session, "accept").await.expect(200);
    assert_eq!(both["session"]["status"], "SCHEDULED");
    app.post(&at(&org, &session, "withdraw"), &org.client.token, json!({})).await.problem(403, "forbidden");
    let one = app.post(&at(&org, &session, "withdraw"), &colleague.token, json!({})).await.expect(200);
    assert_eq!(one["status"], "SCHEDULED", "another accepted therapist still leads it");
    app.post(&at(&org, &session, "withdraw"), &colleague.token, json!({})).await.problem(403, "forbidden");
    let none = app.post(&at(&org, &session, "withdraw"), &org.therapist.token, json!({})).await.expect(200);
    assert_eq!(none["status"], "PROPOSED", "left without an accepted therapist");
    let inbox = app.get(&format!("/api/v1/orgs/{}/notifications", org.id), &org.moderator.token).await.expect(200);
    let notice = &inbox["items"][0];
    assert_eq!(notice["kind"], "facilitator_withdrew");
    assert_eq!(notice["title"], "A therapist withdrew from a session");
    assert!(notice["body"].as_str().unwrap().contains("is proposed again"), "{notice}");
    // Their time is free: the therapist can be booked then.
    let individual = json!({
        "starts_at": session["starts_at"], "duration_minutes": 50,
        "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id],
    });
    app.post(&sessions(&org), &org.admin.token, individual).await.expect(201);
}

async fn a_replacement_invitation_may_name_any_therapist_of_the_organisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let session = app
        .post(&sessions(&org), &org.moderator.token, proposal(&org, &group, &app.hours_from_now(72), &[&org.therapist]))
        .await
        .expect(201);
    let declined = respond(&app, &org, &org.therapist, &session, "decline").await.expect(200);
    let invitation = declined["session"]["therapists"][0]["id"].clone();
    let invite = at(&org, &session, "invitations");
    let client = json!({ "therapist_id": org.client.person_id, "replaces_invitation_id": invitation });
    let refused = app.post(&invite, &org.moderator.token, client).await.problem(422, "validation_failed");
    assert_eq!(refused["errors"][0]["field"], "therapist_id");
    assert_eq!(
        refused["errors"][0]["reason"],
        "A client is a client, not a therapist; only therapists facilitate sessions"
    );
    // A new proposal names its facilitators, and refuses others by name.
    let outsider = app.person(&org.id, &org.admin.token, "t3@r.example", "therapist").await;
    let body = proposal(&org, &group, &app.hours_from_now(96), &[&outsider]);
    let refused = app.post(&sessions(&org), &org.moderator.token, body).await.problem(422, "validation_failed");
    assert_eq!(refused["errors"][0]["reason"], "A therapist does not facilitate this group");
    // A one-on-one with a client where the therapist goes says who they are.
    let wrong = json!({
        "starts_at": app.hours_from_now(30), "duration_minutes": 50,
        "therapist_ids": [org.client.person_id], "client_ids": [org.moderator.person_id],
    });
    let refused = app.post(&sessions(&org), &org.admin.token, wrong).await.problem(422, "validation_failed");
    assert!(refused.to_string().contains("A client is a client, not a therapist"), "{refused}");
    // A therapist who does not facilitate the group may still step in.
    let replaced = app
        .post(
            &invite,
            &org.moderator.token,
            json!({ "therapist_id": outsider.person_id, "replaces_invitation_id": invitation }),
        )
        .await
        .expect(200);
    let therapists = replaced["therapists"].as_array().unwrap();
    assert_eq!(therapists.len(), 1);
    assert_eq!(therapists[0]["therapist_id"], outsider.person_id.as_str());
    assert_eq!(therapists[0]["therapist_name"], "A therapist");
}
