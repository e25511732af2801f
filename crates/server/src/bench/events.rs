//! `circles bench events`: a thousand SSE listeners on one server. How
//! long one event takes to reach all of them (p99, from the start of the
//! write that causes it), what an idle listener costs in memory, and how
//! long a listener takes to catch up on a thousand missed events.

use std::time::{Duration, Instant};

use circles_domain::group::{GroupSettings, GroupType};
use circles_domain::ids::PersonId;
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_store::model::{Approval, AuditCtx, Canceller, GroupFields, NewGroup, NewSession, NewToken, TokenKind};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::EventsArgs;
use super::harness::{Clinic, FreshDatabase, Latencies, RunningServer, median, millis};
use super::rss;
use crate::auth::token;

#[derive(Debug, Serialize)]
pub struct EventsReport {
    pub backend: &'static str,
    pub listeners: usize,
    /// The write that causes the event: a session cancelled with every
    /// listener seated (a notice, an outbox delivery and an audit entry for
    /// each of them, and one event addressed to all).
    pub write_ms: f64,
    /// From the start of that write to each listener's receipt of the event.
    pub fan_out: Latencies,
    /// From the write's commit (its return) to each listener's receipt: the
    /// stream's own delay.
    pub fan_out_after_commit: Latencies,
    /// Resident memory added per connected idle listener: the server's
    /// side and the in-process load generator's together, so an upper bound.
    pub memory_per_idle_listener_kb: Option<f64>,
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
    let mut server = RunningServer::start_with(&db.url, |s| s.max_connections = n + 64).await?;
    let store = server.store.clone();
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
        name: "Drop-in circle".into(),
        description: String::new(),
        group_type: GroupType::Support,
        open: true,
        capacity: None,
        requires_screening: false,
        target_population: None,
        age_range: None,
        modality: Some(Modality::Virtual),
        virtual_link: Some("https://meet.example/bench".into()),
        location: None,
        address: None,
        settings: GroupSettings::default(),
        recurrence: None,
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
        let mut listener = Listener::open(&http, &server.base, &therapist_token, Some(&before)).await?;
        listener.events(n).await?;
        resume.push(millis(started.elapsed()));
    }

    // A thousand idle listeners.
    let rss_before = rss::current_mb();
    let mut listeners = Vec::with_capacity(n);
    for token in &tokens {
        listeners.push(Listener::open(&http, &server.base, token, None).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss::current_mb();
    let per_listener = rss_before.zip(rss_after).map(|(b, a)| ((a - b) * 1024.0 / n as f64 * 10.0).round() / 10.0);

    // One event to all of them.
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
    store.cancel_session(&ctx, clinic.org, session.id, "Room closed".into(), Canceller::Provider).await?;
    let committed = started.elapsed();
    let mut delivered = Vec::with_capacity(n);
    for wait in waits {
        delivered.push(wait.await??);
    }
    let after_commit = delivered.iter().map(|d| d.saturating_sub(committed)).collect();
    server.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    db.remove().await;
    Ok(EventsReport {
        backend,
        listeners: n,
        write_ms: millis(committed),
        fan_out: Latencies::of(delivered),
        fan_out_after_commit: Latencies::of(after_commit),
        memory_per_idle_listener_kb: per_listener,
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
