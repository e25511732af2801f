//! Live events across three real `circles serve` processes on one
//! PostgreSQL database: an event written through one server reaches
//! listeners on the others within a second; a server whose LISTEN
//! connection is killed still delivers every event; a listener that moves
//! to another server resumes exactly where it stopped.

use std::process::Command;
use std::time::{Duration, Instant};

use circles_testkit::{Backend, TestDatabase};
use serde_json::{Value, json};

#[path = "support/server.rs"]
mod server;

use server::Server;

const CIRCLES: &str = env!("CARGO_BIN_EXE_circles");
const PASSWORD: &str = "three servers, one stream";

/// One server-sent event: its id and data.
struct Frame {
    id: String,
    data: Value,
}

/// An open `GET /api/v1/events`.
struct Listener {
    response: reqwest::Response,
    buffer: String,
}

impl Listener {
    async fn open(base: &str, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = reqwest::Client::new().get(format!("{base}/api/v1/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Self { response, buffer: String::new() }
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
                let (Some(id), Some(data)) = (field("id:"), field("data:")) else { continue };
                return Some(Frame { id, data: serde_json::from_str(&data).unwrap() });
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

struct Cluster {
    db: TestDatabase,
    servers: Vec<Server>,
    org: String,
    admin: String,
    therapist: (String, String),
}

impl Cluster {
    async fn start() -> Self {
        let db = TestDatabase::create(Backend::Postgres).await;
        let output = Command::new(CIRCLES)
            .args(["admin", "create-org", "--name", "Live Rivers Clinic", "--timezone", "America/Chicago"])
            .args(["--admin-email", "admin@live.example", "--admin-name", "Ada Admin"])
            .args(["--admin-password", PASSWORD, "--database-url", &db.url])
            .output()
            .expect("run circles admin create-org");
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "create-org failed: {printed}");
        let org = printed.split(['(', ')']).nth(1).expect("the organisation id").to_owned();
        let mut servers = Vec::new();
        for _ in 0..3 {
            servers.push(Server::start(&db).await);
        }
        let admin = login(&servers[0].base, "admin@live.example").await;
        let person = reqwest::Client::new()
            .post(format!("{}/api/v1/orgs/{org}/people", servers[0].base))
            .bearer_auth(&admin)
            .json(&json!({ "email": "dana@live.example", "name": "Dana Reyes", "role": "therapist", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(person.status(), 201);
        let therapist_id = person.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let therapist = (therapist_id, login(&servers[0].base, "dana@live.example").await);
        Self { db, servers, org, admin, therapist }
    }

    /// Through server `via`, the admin asks for a week off for the
    /// therapist, who is told (one event for them); returns the request id.
    async fn request_time_off(&self, via: usize, week: i64) -> String {
        let start: jiff::Timestamp = "2031-01-06T06:00:00Z".parse().unwrap();
        let start = start + jiff::SignedDuration::from_hours(24 * 7 * week);
        let body = json!({
            "therapist_id": self.therapist.0, "type": "VACATION", "reason": "Rest",
            "starts_at": start.to_string(), "ends_at": (start + jiff::SignedDuration::from_hours(48)).to_string(),
            "auto_reassign": false,
        });
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/orgs/{}/time-off", self.servers[via].base, self.org))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }
}

async fn login(base: &str, email: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_cross_servers_survive_a_lost_listen_connection_and_resume_anywhere() {
    let cluster = Cluster::start().await;
    let token = cluster.therapist.1.clone();
    let mut on_b = Listener::open(&cluster.servers[1].base, &token, None).await;
    let mut on_c = Listener::open(&cluster.servers[2].base, &token, None).await;

    // 1. Written through A, heard on B and C within a second.
    cluster.request_time_off(0, 0).await;
    let sent = Instant::now();
    let b = on_b.next_within(Duration::from_secs(1)).await.expect("B delivers within a second");
    let c = on_c.next_within(Duration::from_secs(1)).await.expect("C delivers within a second");
    assert!(sent.elapsed() < Duration::from_secs(1), "took {:?}", sent.elapsed());
    assert_eq!(b.data["payload"]["notification_kind"], "time_off_requested");
    assert_eq!((b.data["seq"].clone(), b.id.clone()), (c.data["seq"].clone(), c.id.clone()), "one event, one id");

    // 2. B's LISTEN connection is killed; events keep coming through A and
    // B's listener still receives every one, in order, once.
    let name = format!("circles-events-{}", cluster.servers[1].child.id());
    let killed = cluster
        .db
        .scalar(&format!(
            "WITH target AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = '{name}') \
             SELECT COUNT(*) FROM target WHERE pg_terminate_backend(target.pid)"
        ))
        .await;
    assert_eq!(killed, 1, "B holds one LISTEN connection");
    for week in 1..=4 {
        cluster.request_time_off(0, week).await;
    }
    let mut seqs = Vec::new();
    let mut last_on_b = b.id.clone();
    while seqs.len() < 4 {
        let frame = on_b.next_within(Duration::from_secs(10)).await.expect("B delivers every event after the loss");
        seqs.push(frame.data["seq"].as_i64().unwrap());
        last_on_b = frame.id;
    }
    let first = b.data["seq"].as_i64().unwrap();
    assert_eq!(seqs, (first + 1..=first + 4).collect::<Vec<_>>(), "every event, in order, once");
    assert!(on_b.next_within(Duration::from_millis(500)).await.is_none(), "no duplicates");
    let relistened =
        cluster.db.scalar(&format!("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '{name}'")).await;
    assert_eq!(relistened, 1, "B listens again");

    // 3. The listener moves from B to C while two more events are written:
    // C replays exactly those, then serves live events.
    drop(on_b);
    cluster.request_time_off(1, 5).await;
    cluster.request_time_off(2, 6).await;
    let mut moved = Listener::open(&cluster.servers[2].base, &token, Some(&last_on_b)).await;
    let mut replayed = Vec::new();
    while let Some(frame) = moved.next_within(Duration::from_millis(800)).await {
        replayed.push(frame.data["seq"].as_i64().unwrap());
    }
    assert_eq!(replayed, vec![first + 5, first + 6], "exactly the missed events, in order, no duplicates");
    cluster.request_time_off(0, 7).await;
    let live = moved.next_within(Duration::from_secs(1)).await.expect("then live");
    assert_eq!(live.data["seq"].as_i64().unwrap(), first + 7);
}
