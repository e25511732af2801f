//! The live event stream and the session room: events reach the people
//! they are for and nobody else, a reconnecting listener gets exactly what
//! it missed, and members check in to a running session.

use std::time::Duration;

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_sessions::{proposal, respond, sessions};
use crate::support::{Login, Org, TestApp};

backend_tests!(
    a_notification_reaches_its_recipient_as_an_event,
    last_event_id_resumes_with_exactly_the_missed_events,
    a_client_never_receives_another_clients_events,
    members_check_in_and_the_facilitator_sees_it_live,
    the_event_stream_needs_a_caller,
);

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// An open `GET /api/v1/events`.
pub struct Listener {
    response: reqwest::Response,
    buffer: String,
}

impl Listener {
    pub async fn open(base: &str, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = reqwest::Client::new().get(format!("{base}/api/v1/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["x-accel-buffering"], "no");
        assert!(headers.get("content-encoding").is_none_or(|v| v == "identity"), "never compressed");
        Self { response, buffer: String::new() }
    }

    /// The next event within `wait`, keep-alive comments skipped.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame { id: None, event: "message".into(), data: Value::Null };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        frame.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        frame.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && frame.id.is_none() {
                    continue; // a keep-alive comment
                }
                frame.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(frame);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event; fails the test if none comes within five seconds.
    pub async fn next(&mut self) -> Frame {
        self.next_within(Duration::from_secs(5)).await.expect("an event within five seconds")
    }
}

/// A Thursday evening in New York, in winter: 18:00 EST.
const WINTER_EVENING: &str = "2030-12-12T23:00:00Z";

/// A group session `weeks` after [`WINTER_EVENING`], accepted by the org's
/// therapist and open for seats.
async fn open_session(app: &TestApp, org: &Org, group: &str, weeks: i64) -> String {
    let start: jiff::Timestamp = WINTER_EVENING.parse().unwrap();
    let start = (start + jiff::SignedDuration::from_hours(24 * 7 * weeks)).to_string();
    let session = app.post(&sessions(org), &org.moderator.token, proposal(org, group, &start, &[&org.therapist])).await;
    let session =
        respond(app, org, &org.therapist, &session.expect(201), "accept").await.expect(200)["session"].clone();
    session["id"].as_str().unwrap().to_owned()
}

async fn join(app: &TestApp, org: &Org, who: &Login, session: &str) {
    let path = format!("{}/{session}/join", sessions(org));
    app.request(Method::POST, &path, Some(&who.token), None).await.expect(200);
}

fn is_seat_confirmed(frame: &Frame, session: &str) -> bool {
    frame.event == "NOTIFICATION"
        && frame.data["payload"]["notification_kind"] == "seat_confirmed"
        && frame.data["session_id"] == session
}

async fn a_notification_reaches_its_recipient_as_an_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let session = open_session(&app, &org, &group, 0).await;
    let mut client = Listener::open(&app.base, &org.client.token, None).await;
    let mut therapist = Listener::open(&app.base, &org.therapist.token, None).await;
    join(&app, &org, &org.client, &session).await;

    let frame = client.next().await;
    assert!(is_seat_confirmed(&frame, &session), "the member is told their seat is theirs: {frame:?}");
    assert_eq!(frame.data["org_id"], org.id.as_str());
    assert!(frame.data["created_at_local"].as_str().unwrap().ends_with("EST"), "{frame:?}");
    let inbox = app.get(&format!("/api/v1/orgs/{}/notifications", org.id), &org.client.token).await.expect(200);
    assert_eq!(frame.data["payload"]["notification_kind"], inbox["items"][0]["kind"], "the newest inbox entry");
    assert!(frame.id.unwrap().starts_with(&format!("{}:", org.id)), "the id is the listener's cursor");

    let frame = therapist.next().await;
    assert_eq!(frame.data["payload"]["notification_kind"], "member_joined", "{frame:?}");
}

async fn last_event_id_resumes_with_exactly_the_missed_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let mut ids = Vec::new();
    for week in 0..5 {
        ids.push(open_session(&app, &org, &group, week).await);
    }
    let mut first = Listener::open(&app.base, &org.client.token, None).await;
    join(&app, &org, &org.client, &ids[0]).await;
    let seen = first.next().await;
    assert!(is_seat_confirmed(&seen, &ids[0]));
    drop(first);

    // While the client is away, three more seats are confirmed.
    for session in &ids[1..4] {
        join(&app, &org, &org.client, session).await;
    }
    let mut again = Listener::open(&app.base, &org.client.token, seen.id.as_deref()).await;
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(again.next().await);
    }
    let sessions: Vec<&str> = missed.iter().map(|f| f.data["session_id"].as_str().unwrap()).collect();
    assert_eq!(sessions, ids[1..4].iter().map(String::as_str).collect::<Vec<_>>(), "exactly the missed, in order");
    let seqs: Vec<i64> = missed.iter().map(|f| f.data["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in log order: {seqs:?}");
    assert!(seqs[0] > seen.data["seq"].as_i64().unwrap(), "nothing already seen comes again");

    // Then live: the next seat arrives once, with nothing repeated before it.
    join(&app, &org, &org.client, &ids[4]).await;
    let live = again.next().await;
    assert!(is_seat_confirmed(&live, &ids[4]), "{live:?}");
    assert!(again.next_within(Duration::from_millis(500)).await.is_none(), "no duplicates follow");

    // A listener that resumes from the newest id misses nothing and gets nothing twice.
    let mut last = Listener::open(&app.base, &org.client.token, live.id.as_deref()).await;
    assert!(last.next_within(Duration::from_millis(500)).await.is_none());
}

async fn a_client_never_receives_another_clients_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    let other = app.person(&org.id, &org.admin.token, "other@r.example", "client").await;
    app.enrol(&org, &group, &other.person_id).await;
    let (first, second) = (open_session(&app, &org, &group, 0).await, open_session(&app, &org, &group, 1).await);
    let mut theirs = Listener::open(&app.base, &other.token, None).await;

    join(&app, &org, &org.client, &first).await;
    app.post(&format!("{}/{first}/presence", sessions(&org)), &org.client.token, json!({})).await;
    join(&app, &org, &other, &second).await;
    // The other client's first event is their own: nothing of the first
    // client's seat came before it.
    let frame = theirs.next().await;
    assert!(is_seat_confirmed(&frame, &second), "{frame:?}");

    // Resuming from the start shows the same: the events replayed are the
    // notices of their own inbox, one for one.
    let start = format!("{}:0", org.id);
    let mut replay = Listener::open(&app.base, &other.token, Some(&start)).await;
    let mut replayed = Vec::new();
    while let Some(frame) = replay.next_within(Duration::from_millis(700)).await {
        let payload = &frame.data["payload"];
        replayed.push(format!("{} {}", payload["notification_kind"], payload["session_id"]));
    }
    let inbox = app.get(&format!("/api/v1/orgs/{}/notifications", org.id), &other.token).await.expect(200);
    let mut own: Vec<String> =
        inbox["items"].as_array().unwrap().iter().map(|n| format!("{} {}", n["kind"], n["session_id"])).collect();
    replayed.sort();
    own.sort();
    assert_eq!(replayed, own, "exactly their own notifications");
}

async fn members_check_in_and_the_facilitator_sees_it_live(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = app.community(&org, json!({}), &[]).await;
    // A session starting soon: the test clock moves into it below.
    let starts_at: jiff::Timestamp = app.hours_from_now(2).parse().unwrap();
    let body = proposal(&org, &group, &starts_at.to_string(), &[&org.therapist]);
    let session = app.post(&sessions(&org), &org.moderator.token, body).await.expect(201);
    let session = respond(&app, &org, &org.therapist, &session, "accept").await.expect(200)["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    join(&app, &org, &org.client, &session).await;
    let presence = format!("{}/{session}/presence", sessions(&org));

    app.post(&presence, &org.client.token, json!({})).await.problem(409, "check_in_closed");
    app.clock.set(starts_at + jiff::SignedDuration::from_secs(7 * 60 + 30));
    let mut facilitator = Listener::open(&app.base, &org.therapist.token, None).await;
    let checked = app.post(&presence, &org.client.token, json!({})).await.expect(200);
    assert_eq!(checked["minutes_late"], 7);
    let local = checked["checked_in_at_local"].as_str().unwrap();
    assert!(local.ends_with(":07 EST") || local.ends_with(":07 EDT"), "on the clinic's clock: {local}");
    assert_eq!(checked["attended"], false);
    app.clock.set(starts_at + jiff::SignedDuration::from_mins(20));
    let again = app.post(&presence, &org.client.token, json!({})).await.expect(200);
    assert_eq!(again["minutes_late"], 7, "checking in again keeps the first time");

    let frame = facilitator.next().await;
    assert_eq!(frame.event, "PRESENCE", "{frame:?}");
    assert_eq!(frame.data["payload"]["person_id"], org.client.person_id.as_str());
    assert!(facilitator.next_within(Duration::from_millis(300)).await.is_none(), "one event per check-in");

    // A member without a seat cannot check in; a client cannot see the room.
    let stranger = app.person(&org.id, &org.admin.token, "seatless@r.example", "client").await;
    app.post(&presence, &stranger.token, json!({})).await.problem(409, "no_seat");
    app.get(&presence, &org.client.token).await.problem(403, "forbidden");

    let room = app.get(&presence, &org.therapist.token).await.expect(200);
    assert_eq!(room["items"][0]["person_id"], org.client.person_id.as_str());
    assert_eq!(room["items"][0]["name"], "A client");
    // The pages: the room lists who is here, the attendance sheet is
    // filled in from it, and the stream accepts the page's cookie.
    let cookie = session_cookie(&app, &org.therapist).await;
    let page = |path: String| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            let res = app.client.get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            res.text().await.unwrap()
        }
    };
    let room = page(format!("/orgs/{}/sessions/{session}/room", org.id)).await;
    assert!(room.contains("Present (1)") && room.contains("A client") && room.contains("7 min late"), "{room}");
    assert!(room.contains("data-live-room") && room.contains("/assets/live-"), "the page follows the stream");
    let sheet = page(format!("/orgs/{}/sessions/{session}/attendance", org.id)).await;
    assert!(sheet.contains(r#"name="minutes_late" aria-label="Minutes A client was late" value="7""#), "{sheet}");
    assert!(sheet.contains(r#"<option value="ATTENDED" selected>"#), "present, so attended: {sheet}");
    let seats = app.post(&format!("{presence}/confirm"), &org.therapist.token, json!({})).await.expect(200);
    assert_eq!(seats["items"][0]["status"], "ATTENDED");
    assert_eq!(seats["items"][0]["minutes_late"], 7);
    let room = app.get(&presence, &org.therapist.token).await.expect(200);
    assert_eq!(room["items"][0]["attended"], true);
    let unknown = json!({ "client_ids": [stranger.person_id] });
    let refused = app.post(&format!("{presence}/confirm"), &org.therapist.token, unknown).await.expect(422);
    assert_eq!(crate::support::Response::fields(&refused), ["client_ids[0]"]);

    let res = app.client.get(format!("{}/api/v1/events", app.base)).header("cookie", cookie).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["content-type"].to_str().unwrap()), (200, "text/event-stream"));
}

/// Signs in as a browser does; returns the session cookie.
async fn session_cookie(app: &TestApp, who: &Login) -> String {
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": who.email, "password": crate::support::PASSWORD }))
        .send()
        .await
        .unwrap();
    res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn the_event_stream_needs_a_caller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = reqwest::get(format!("{}/api/v1/events", app.base)).await.unwrap();
    assert_eq!(res.status(), 401);
}
