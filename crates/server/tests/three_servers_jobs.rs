//! The outbox and the waitlist across three real `circles serve` processes
//! on one PostgreSQL database, each running every background job: every
//! e-mail reaches a real SMTP server exactly once and is marked sent once,
//! every webhook call is made once, and every freed seat is offered to
//! exactly one waiting client, whichever server claims the work.
//!
//! A test binary of its own, so that its three servers never compete with
//! `three_servers.rs`'s three for the machine (test binaries run one after
//! another; the tests inside one binary run at once).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use circles_domain::Role;
use circles_domain::group::GroupType;
use circles_domain::ids::{GroupId, PersonId, SessionId};
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_domain::waitlist::{Target, Urgency};
use circles_domain::waitlist_match::Preferences;
use circles_store::model::{Approval, AuditCtx, GroupFields, NewEntry, NewGroup, NewSession};
use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

#[path = "support/cluster.rs"]
mod cluster;
#[path = "api/mail.rs"]
mod mail;
#[path = "support/server.rs"]
mod server;
#[path = "api/webhook_receiver.rs"]
mod webhook_receiver;

use cluster::{Cluster, booking, hours_from_now};
use mail::SmtpSink;
use webhook_receiver::Receiver;

/// One-on-one bookings made at once, spread over the three servers; each
/// owes an e-mail to its therapist and one to its client.
const BOOKINGS: usize = 45;
/// Full one-seat group sessions whose seated clients all leave at once.
const FREED_SEATS: usize = 12;
/// Clients waiting for the group: more than there are seats.
const WAITING: usize = 20;
const MAIL_DOMAIN: &str = "three.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_send_every_message_and_offer_every_seat_once() {
    let sink = SmtpSink::start();
    let receiver = Receiver::start();
    let cluster = Cluster::start(&[
        ("smtp_url", sink.url()),
        ("mail_from", format!("Three Rivers <care@{MAIL_DOMAIN}>")),
        // Each change's message goes at once, so all three workers race for it.
        ("delivery_coalesce_seconds", "0".into()),
        ("offer_grace_seconds", "0".into()),
        ("allow_private_webhooks", "true".into()),
    ])
    .await;
    let hook = cluster
        .post(
            0,
            "/webhooks",
            json!({ "url": receiver.url(), "event_types": ["session_booked", "waitlist_offer"], "description": "" }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(hook.status, 201, "{}", hook.body);
    receiver.trust(&[hook.body["secret"].as_str().unwrap()]);

    // Seats: one-seat group sessions, each taken, and clients waiting for the group.
    let therapists = cluster.people(Role::Therapist, "therapist", 3).await;
    let clients = cluster.people(Role::Client, "client", BOOKINGS).await;
    let seated = cluster.people_with_tokens(Role::Client, "seated", FREED_SEATS).await;
    let waiting = cluster.people(Role::Client, "waiting", WAITING).await;
    let sessions = full_group(&cluster, &therapists[2], &seated, &waiting).await;

    // Bookings through every server at once: their e-mails and webhook
    // calls are claimed by whichever worker wakes first.
    let bookings = clients.iter().enumerate().map(|(i, client)| {
        let body = booking(&hours_from_now(100 + (i / 2) as i64), &therapists[i % 2], client);
        cluster.post(i % 3, "/sessions", body, None)
    });
    for reply in join_all(bookings).await {
        let reply = reply.expect("every server answers");
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    // Every seated client leaves at once, each through one of the servers.
    let paths: Vec<String> = sessions.iter().map(|session| format!("/sessions/{session}/leave")).collect();
    let leaving = seated
        .iter()
        .zip(&paths)
        .enumerate()
        .map(|(i, ((_, token), path))| cluster.post_as(token, i % 3, path, json!({}), None));
    for reply in join_all(leaving).await {
        let reply = reply.expect("every server answers");
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    // Each freed seat: exactly one offer, to one client.
    wait_until(&cluster, "every freed seat offered", |c| async move {
        c.count("SELECT COUNT(*) FROM waitlist_openings WHERE status = 'WAITING'").await == 0
            && c.count("SELECT COUNT(*) FROM waitlist_offers").await >= FREED_SEATS as i64
    })
    .await;
    let listed = sessions.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    let openings = format!("SELECT COUNT(DISTINCT session_id) FROM waitlist_openings WHERE session_id IN ({listed})");
    assert_eq!(cluster.count(&openings).await, FREED_SEATS as i64, "every leave freed its seat");
    // An offer names the seat through its opening.
    let offers = "waitlist_offers o JOIN waitlist_openings p ON p.org_id = o.org_id AND p.id = o.opening_id";
    let per_seat = format!(
        "SELECT COUNT(*) FROM (SELECT p.session_id FROM {offers} WHERE p.session_id IN ({listed}) \
         GROUP BY p.session_id HAVING COUNT(*) = 1 AND COUNT(*) FILTER (WHERE o.status = 'LIVE') = 1) one"
    );
    assert_eq!(cluster.count(&per_seat).await, FREED_SEATS as i64, "one live offer per freed seat");
    assert_eq!(cluster.count("SELECT COUNT(*) FROM waitlist_offers").await, FREED_SEATS as i64, "no other offer");
    let twice = format!(
        "SELECT COUNT(*) FROM (SELECT o.client_id FROM {offers} GROUP BY o.client_id, p.session_id \
         HAVING COUNT(*) > 1) twice"
    );
    assert_eq!(cluster.count(&twice).await, 0, "no client offered one seat twice");
    let offered_to = cluster.count("SELECT COUNT(DISTINCT client_id) FROM waitlist_offers").await;
    assert_eq!(offered_to, FREED_SEATS as i64, "each offer to another client: more wait than there are seats");

    // Every e-mail owed (confirmations and offers) reaches the SMTP server
    // once, with its delivery's Message-ID, and is marked sent after one claim.
    wait_until(&cluster, "every e-mail sent", |c| async move {
        c.count("SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')").await == 0
    })
    .await;
    let sent: BTreeSet<String> = cluster
        .db
        .texts("SELECT id::text FROM deliveries WHERE state = 'sent'")
        .await
        .into_iter()
        .map(|id| format!("<{id}@{MAIL_DOMAIN}>"))
        .collect();
    let owed = 2 * BOOKINGS + FREED_SEATS;
    assert!(sent.len() >= owed, "{} e-mails sent; {owed} at least are owed", sent.len());
    assert_eq!(cluster.count("SELECT COUNT(*) FROM deliveries WHERE state NOT IN ('sent', 'suppressed')").await, 0);
    // A message sent twice would show up in the sink after its delivery
    // was marked sent; give a straggler time to arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = once_each(sink.message_ids());
    assert_eq!(received.keys().cloned().collect::<BTreeSet<_>>(), sent, "the sink got exactly the sent e-mails");
    let attempts = "SELECT COUNT(*) FROM deliveries WHERE state = 'sent' AND (attempts <> 1 OR sent_at IS NULL)";
    assert_eq!(cluster.count(attempts).await, 0, "each e-mail claimed and marked sent once");

    // Every webhook call (a booking or an offer) made once.
    wait_until(&cluster, "every webhook called", |c| async move {
        c.count("SELECT COUNT(*) FROM webhook_messages WHERE state IN ('pending', 'sending')").await == 0
    })
    .await;
    let calls = receiver.calls();
    assert!(calls.iter().all(|c| c["verified"] == json!([true])), "every call signed with the endpoint's secret");
    let called = once_each(calls.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect());
    let sent_calls: BTreeSet<String> =
        cluster.db.texts("SELECT id::text FROM webhook_messages WHERE state = 'sent'").await.into_iter().collect();
    assert_eq!(sent_calls.len(), BOOKINGS + FREED_SEATS, "one call per booking and per offer");
    assert_eq!(called.keys().cloned().collect::<BTreeSet<_>>(), sent_calls, "the endpoint got exactly the sent calls");
    let attempts = "SELECT COUNT(*) FROM webhook_messages WHERE state = 'sent' AND attempts <> 1";
    assert_eq!(cluster.count(attempts).await, 0, "each call claimed and marked sent once");
}

/// Counts each of `ids`, failing on any that came more than once.
fn once_each(ids: Vec<String>) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for id in ids {
        *seen.entry(id).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "received more than once: {twice:?}");
    seen
}

/// Waits (up to a minute) until `done` holds.
async fn wait_until<'a, F, Fut>(cluster: &'a Cluster, what: &str, done: F)
where
    F: Fn(&'a Cluster) -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(cluster).await {
        assert!(Instant::now() < deadline, "not done in a minute: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A group with one one-seat session a day for each of `seated` (seated
/// there), and `waiting` clients on its waitlist, all made by the store.
async fn full_group(
    cluster: &Cluster,
    therapist: &str,
    seated: &[(String, String)],
    waiting: &[String],
) -> Vec<SessionId> {
    let ctx = AuditCtx::operator();
    let therapist: PersonId = id(therapist);
    let fields = GroupFields::open_group("Evening circle", GroupType::Support);
    let group: GroupId = cluster
        .store
        .create_group(
            &ctx,
            cluster.org,
            NewGroup { fields, moderator_ids: Vec::new(), facilitator_ids: vec![therapist] },
        )
        .await
        .unwrap()
        .id;
    let first = Timestamp::now() + SignedDuration::from_hours(24 * 20);
    let mut sessions = Vec::new();
    for (day, (client, _)) in seated.iter().enumerate() {
        let start = first + SignedDuration::from_hours(24 * day as i64);
        let session = NewSession {
            kind: SessionKind::Group,
            details: SessionDetails {
                title: Label::parse("Evening circle", 200).unwrap(),
                description: String::new(),
                modality: Modality::Virtual,
                virtual_link: Some("https://meet.example/circle".into()),
                location: None,
                address: None,
            },
            interval: Interval::starting_at(start, SignedDuration::from_mins(60)).unwrap(),
            timezone: "America/Chicago".into(),
            capacity: 1,
            group_id: Some(group),
            therapist_ids: vec![therapist],
            client_ids: vec![id(client)],
            therapists_must_accept: false,
            approval: Approval::NotNeeded,
        };
        sessions.push(cluster.store.create_session(&ctx, cluster.org, session).await.unwrap().id);
    }
    for client in waiting {
        let entry = NewEntry {
            client_id: id(client),
            target: Target::Group(group),
            urgency: Urgency::Medium,
            preferences: Preferences::default(),
            referral: false,
            notes: None,
            auto_match: true,
            by_client: false,
        };
        cluster.store.create_entry(&ctx, cluster.org, entry).await.unwrap();
    }
    sessions
}

fn id<T: From<uuid::Uuid>>(text: &str) -> T {
    T::from(text.parse::<uuid::Uuid>().unwrap())
}
