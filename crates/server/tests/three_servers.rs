//! Three real `circles serve` processes on one PostgreSQL database: every
//! guarantee that holds for one server holds across them — one booking per
//! slot, one effect per idempotency key, each background job done once, and
//! no acknowledged write lost when a server is killed mid-load.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use circles_domain::Role;
use futures::future::join_all;
use serde_json::json;

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/server.rs"]
mod server;

use cluster::{CIRCLES, Cluster, Reply, booking, hours_from_now};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_on_one_postgres_keep_every_guarantee() {
    let mut cluster = Cluster::start(&[]).await;
    let therapists = cluster.people(Role::Therapist, "therapist", 2).await;
    let clients = cluster.people(Role::Client, "client", 150).await;

    // 1. The hot slot, raced through all three servers: one booking.
    let slot = hours_from_now(72);
    let race = clients
        .iter()
        .enumerate()
        .map(|(i, client)| cluster.post(i % 3, "/sessions", booking(&slot, &therapists[0], client), None));
    let replies: Vec<Reply> = join_all(race).await.into_iter().map(|r| r.expect("every server answers")).collect();
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "scheduling_conflict").count();
    let server_errors = replies.iter().filter(|r| r.status.is_server_error()).count();
    assert_eq!((created, refused, server_errors), (1, clients.len() - 1, 0), "(created, 409, 5xx)");
    assert_eq!(cluster.count("SELECT COUNT(*) FROM sessions").await, 1);
    let overlaps = "SELECT COUNT(*) FROM busy_intervals a JOIN busy_intervals b ON a.org_id = b.org_id \
                    AND a.person_id = b.person_id AND a.id < b.id AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at";
    assert_eq!(cluster.count(overlaps).await, 0, "nobody is double-booked");

    // 2. One Idempotency-Key sent to every server at once: one effect.
    let slot = hours_from_now(96);
    let body = booking(&slot, &therapists[1], &clients[0]);
    let sends = (0..9).map(|i| cluster.post(i % 3, "/sessions", body.clone(), Some("one-key-three-servers")));
    let replies: Vec<Reply> = join_all(sends).await.into_iter().map(|r| r.expect("every server answers")).collect();
    let ids: HashSet<&str> = replies.iter().filter(|r| r.status == 201).filter_map(|r| r.body["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "every success names the same session");
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 409), "only the effect or 'in progress'");
    assert_eq!(replies.iter().filter(|r| r.status == 201 && !r.replayed).count(), 1, "one original response");
    assert_eq!(cluster.count("SELECT COUNT(*) FROM sessions").await, 2);

    // 3. Background jobs on all three servers do each piece of work once.
    // Holds placed through every server, then made due at once.
    for (i, client) in clients[1..31].iter().enumerate() {
        let body = json!({ "therapist_id": therapists[1], "client_id": client,
                           "starts_at": hours_from_now(120 + i as i64), "ends_at": hours_from_now(121 + i as i64) });
        let reply = cluster.post(i % 3, "/holds", body, None).await.unwrap();
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    // Sessions starting within the reminder window, one per client.
    for (i, client) in clients[31..41].iter().enumerate() {
        let reply =
            cluster.post(i % 3, "/sessions", booking(&hours_from_now(2 + i as i64), &therapists[0], client), None);
        assert_eq!(reply.await.unwrap().status, 201);
    }
    cluster.db.execute_raw("UPDATE holds SET expires_at = now() - interval '1 second' WHERE status = 'live'").await;
    cluster
        .db
        .execute_raw("UPDATE busy_intervals SET expires_at = now() - interval '1 second' WHERE hold_id IS NOT NULL")
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster.count("SELECT COUNT(*) FROM holds WHERE status = 'live'").await > 0
        || cluster
            .count(
                "SELECT COUNT(*) FROM sessions s WHERE starts_at < now() + interval '1 day' AND NOT EXISTS \
                 (SELECT 1 FROM session_reminders r WHERE r.org_id = s.org_id AND r.session_id = s.id)",
            )
            .await
            > 0
    {
        assert!(Instant::now() < deadline, "the servers' jobs did not expire the holds and remind in time");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let expiry_events = "SELECT COUNT(*) FROM audit_events WHERE action = 'hold.expire'";
    assert_eq!(cluster.count(expiry_events).await, 30, "each hold's expiry recorded once");
    let reminders_twice = "SELECT COUNT(*) FROM (SELECT session_id, recipient_id FROM notifications \
                           WHERE kind = 'reminder' GROUP BY session_id, recipient_id HAVING COUNT(*) > 1) twice";
    assert_eq!(cluster.count(reminders_twice).await, 0, "nobody is reminded twice");
    // Two people (the therapist and the client) for each of ten sessions.
    assert_eq!(cluster.count("SELECT COUNT(*) FROM notifications WHERE kind = 'reminder'").await, 20);

    // 4. SIGKILL one server mid-load: every acknowledged booking survives,
    // and the other two keep serving.
    // Each server takes a stream of bookings, four at a time; the middle one
    // is killed once it has acknowledged a few.
    let doomed = cluster.servers[1].child.id().to_string();
    let acked_by_doomed = AtomicUsize::new(0);
    let stream = |server: usize, lane: usize| {
        let (cluster, therapists, clients, acked_by_doomed) = (&cluster, &therapists, &clients, &acked_by_doomed);
        async move {
            let mut acknowledged = Vec::new();
            for n in 0..15 {
                let i = (server * 4 + lane) * 15 + n;
                let body = booking(&hours_from_now(200 + i as i64), &therapists[0], &clients[41 + i % 100]);
                let Some(reply) = cluster.post(server, "/sessions", body, None).await else {
                    break; // the server is gone
                };
                assert_eq!(reply.status, 201, "{}", reply.body);
                acknowledged.push(reply.body["id"].as_str().unwrap().to_owned());
                if server == 1 {
                    acked_by_doomed.fetch_add(1, Ordering::SeqCst);
                }
            }
            acknowledged
        }
    };
    let killer = async {
        while acked_by_doomed.load(Ordering::SeqCst) < 8 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Command::new("kill").args(["-KILL", &doomed]).status().expect("kill -KILL");
    };
    let streams = (0..3).flat_map(|server| (0..4).map(move |lane| (server, lane))).map(|(s, l)| stream(s, l));
    let (streams, ()) = tokio::join!(join_all(streams), killer);
    let acknowledged: Vec<String> = streams.into_iter().flatten().collect();
    cluster.servers[1].kill();
    let by_doomed = acked_by_doomed.load(Ordering::SeqCst);
    eprintln!("killed one of three servers after it acknowledged {by_doomed} of its 60 bookings");
    assert!(by_doomed < 60, "the kill landed mid-load");
    assert_eq!(acknowledged.len(), 120 + by_doomed, "the other two servers acknowledged all of theirs");
    let listed = acknowledged.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(", ");
    let stored = cluster.count(&format!("SELECT COUNT(*) FROM sessions WHERE id IN ({listed})")).await;
    assert_eq!(stored as usize, acknowledged.len(), "no acknowledged booking was lost");
    for survivor in [0, 2] {
        let reply = cluster
            .post(
                survivor,
                "/sessions",
                booking(&hours_from_now(400 + survivor as i64), &therapists[1], &clients[0]),
                None,
            )
            .await
            .expect("a surviving server answers");
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    // The audit chain, sealed by three servers at once, verifies.
    drop(cluster.servers.drain(..).collect::<Vec<_>>());
    let verify = Command::new(CIRCLES)
        .args(["admin", "audit-verify", "--database-url", &cluster.db.url])
        .output()
        .expect("run circles admin audit-verify");
    assert!(
        verify.status.success(),
        "audit-verify: {} {}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
