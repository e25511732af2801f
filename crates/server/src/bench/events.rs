//! `circles bench events`: a thousand SSE listeners on one `circles serve`
//! process. How long one event takes to reach all of them (p99, from the
//! start of the request that causes it), what an idle listener costs the
//! server in memory, and how long a listener takes to catch up on a
//! thousand missed events.
//!
//! The server runs as its own process so that its memory and the load
//! generator's are told apart; the bench seeds the database through its
//! own store (sealing under the same key) and talks to the server only
//! over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_domain::clock::SystemClock;
use circles_domain::group::GroupType;
use circles_domain::ids::PersonId;
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::sealed;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_store::model::{Approval, AuditCtx, GroupFields, NewGroup, NewSession, NewToken, TokenKind};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::EventsArgs;
use super::harness::{self, Clinic, FreshDatabase, Latencies, median, millis};
use super::rss;
use super::serving::Serving;
use crate::auth::token;

#[derive(Debug, Serialize)]
pub struct EventsReport {
    pub backend: &'static str,
    pub listeners: usize,
    /// The request that causes the event: a session cancelled through the
    /// API with every listener seated (a notice, an outbox delivery and an
    /// audit entry for each of them, and one event addressed to all).
    pub write_ms: f64,
    /// From sending that request to each listener's receipt of the event.
    pub fan_out: Latencies,
    /// From the request's answer (its commit) to each listener's receipt:
    /// the stream's own delay.
    pub fan_out_after_commit: Latencies,
    /// Resident memory the server process adds per connected idle listener
    /// (its RSS with the listeners connected, less its RSS before).
    pub memory_per_idle_listener_kb: Option<f64>,
    /// The server's resident memory before the listeners connected, MB.
    pub server_rss_before_mb: Option<f64>,
    /// Missed events replayed on reconnect (`Last-Event-ID`).
    pub missed_events: usize,
    /// Median over `rounds` of: connect with `Last-Event-ID`, receive every
    /// missed event.
    pub resume_ms: f64,
    pub rounds: usize,
}

/// Opens `/api/v1/events` and counts events (not keep-alive comments).
struct Listener {
    response: reqwest::Response,
    pending: String,
}

impl Listener {
    async fn open(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut req = http.get(format!("{base}/api/v1/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await?;
        anyhow::ensure!(response.status().is_success(), "events answered {}", response.status());
        Ok(Self { response, pending: String::new() })
    }

    /// Waits for `n` more events.
    async fn events(&mut self, n: usize) -> anyhow::Result<()> {
        let mut seen = 0;
        while seen < n {
            let chunk = self.response.chunk().await?.ok_or_else(|| anyhow::anyhow!("the stream ended"))?;
            self.pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                if block.lines().any(|l| l.starts_with("data:")) {
                    seen += 1;
                }
            }
        }
        Ok(())
    }
}

pub async fn run(args: &EventsArgs) -> anyhow::Result<EventsReport> {
    let db = FreshDatabase::create(&args.database_url).await?;
    let backend = db.backend;
    let n = args.listeners;
    // The seeding store migrates the database before the server starts.
    let key = harness::fresh_key_bytes();
    let settings = crate::config::Settings { database_url: db.url.clone(), ..Default::default() };
    let store = harness::open_store_keyed(&settings, Arc::new(SystemClock), sealed::Key::from_bytes(key)).await?;
    let connections = [("CIRCLES_MAX_CONNECTIONS", (n + 64).to_string())];
    let mut serving = Serving::children(1, &db.url, &sealed::Key::from_bytes(key), &connections).await?;
    let base = serving.bases[0].clone();
    let server_pid = serving.child_pids()[0];
    let clinic = Clinic::seed(&store, 1, n).await?;
    let ctx = AuditCtx::operator();
    let therapist = clinic.therapists[0];
    let mut tokens = Vec::with_capacity(n);
    for &client in &clinic.clients {
        tokens.push(api_token(&store, &ctx, clinic.org, client).await?);
    }
    let therapist_token = api_token(&store, &ctx, clinic.org, therapist).await?;

    // A drop-in session of a group, running now with everyone seated; each
    // checks in, which tells the therapist: the events the therapist misses.
    let fields = GroupFields {
        modality: Some(Modality::Virtual),
        virtual_link: Some("https://meet.example/bench".into()),
        ..GroupFields::open_group("Drop-in circle", GroupType::Support)
    };
    let new_group = NewGroup { fields, moderator_ids: Vec::new(), facilitator_ids: vec![therapist] };
    let group_id = store.create_group(&ctx, clinic.org, new_group).await?.id;
    let slot = Interval::starting_at(Timestamp::now(), SignedDuration::from_mins(60)).expect("positive");
    let session = store
        .create_session(
            &ctx,
            clinic.org,
            NewSession {
                kind: SessionKind::Instant,
                details: SessionDetails {
                    title: Label::parse("Drop-in circle", 200).expect("valid"),
                    description: String::new(),
                    modality: Modality::Virtual,
                    virtual_link: Some("https://meet.example/bench".into()),
                    location: None,
                    address: None,
                },
                interval: slot,
                timezone: "America/New_York".into(),
                capacity: n as i64,
                group_id: Some(group_id),
                therapist_ids: vec![therapist],
                client_ids: clinic.clients.clone(),
                therapists_must_accept: false,
                approval: Approval::NotNeeded,
            },
        )
        .await?;
    let before = format!("{}:{}", clinic.org.0, store.event_head(clinic.org).await?);
    for &client in &clinic.clients {
        store.check_in(&ctx, clinic.org, session.id, client).await?;
    }

    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let mut resume = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let started = Instant::now();
        let mut listener = Listener::open(&http, &base, &therapist_token, Some(&before)).await?;
        listener.events(n).await?;
        resume.push(millis(started.elapsed()));
    }

    // A thousand idle listeners.
    let rss_before = rss::process_kb(server_pid);
    let mut listeners = Vec::with_capacity(n);
    for token in &tokens {
        listeners.push(Listener::open(&http, &base, token, None).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss::process_kb(server_pid);
    let per_listener = rss_before.zip(rss_after).map(|(b, a)| ((a - b) / n as f64 * 10.0).round() / 10.0);

    // One event to all of them, caused by an admin's request.
    let cancel = http
        .post(format!("{base}/api/v1/orgs/{}/sessions/{}/cancel", clinic.org, session.id))
        .bearer_auth(&clinic.admin_token)
        .json(&serde_json::json!({ "reason": "Room closed" }));
    let started = Instant::now();
    let waits: Vec<_> = listeners
        .into_iter()
        .map(|mut l| {
            tokio::spawn(async move {
                l.events(1).await?;
                anyhow::Ok(started.elapsed())
            })
        })
        .collect();
    let answer = cancel.send().await?;
    anyhow::ensure!(answer.status().is_success(), "cancelling answered {}", answer.status());
    let committed = started.elapsed();
    let mut delivered = Vec::with_capacity(n);
    for wait in waits {
        delivered.push(wait.await??);
    }
    let after_commit = delivered.iter().map(|d| d.saturating_sub(committed)).collect();
    serving.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    db.remove().await;
    Ok(EventsReport {
        backend,
        listeners: n,
        write_ms: millis(committed),
        fan_out: Latencies::of(delivered),
        fan_out_after_commit: Latencies::of(after_commit),
        memory_per_idle_listener_kb: per_listener,
        server_rss_before_mb: rss_before.map(|kb| (kb / 1024.0 * 10.0).round() / 10.0),
        missed_events: n,
        resume_ms: median(resume),
        rounds: args.rounds,
    })
}

async fn api_token(
    store: &std::sync::Arc<dyn circles_store::Store>,
    ctx: &AuditCtx,
    org: circles_domain::ids::OrgId,
    person: PersonId,
) -> anyhow::Result<String> {
    let account_id = store.person(ctx, org, person).await?.account_id;
    let secret = token::generate(token::API_PREFIX);
    let new = NewToken {
        account_id,
        kind: TokenKind::Api,
        name: "bench events".into(),
        token_hash: token::hash(&secret),
        expires_at: None,
    };
    store.create_token(ctx, new).await?;
    Ok(secret)
}
