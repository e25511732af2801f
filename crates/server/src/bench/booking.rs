//! `circles bench booking`: is the no-double-booking guarantee fast?

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_domain::ids::PersonId;
use circles_store::Store;
use circles_store::model::AuditCtx;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;

use anyhow::Context;
use circles_domain::ids::OrgId;

use super::harness::{self, Clinic, FreshDatabase, Latencies, RunningServer, client, median, warm_up};
use super::serving::{CpuUse, Serving, seed_through_api};
use super::{BookingArgs, Machine};

/// How big a run is: the hot slot's crowd and the uncontended levels
/// (1,000 and 1, 16, 64 unless the command line says otherwise).
struct Shape {
    hot_slot: usize,
    levels: Vec<usize>,
}

impl Shape {
    fn of(args: &BookingArgs) -> Self {
        let mut levels: Vec<usize> = args.levels.iter().map(|&l| l as usize).collect();
        levels.sort_unstable();
        levels.dedup();
        Self { hot_slot: args.hot_slot_requests as usize, levels }
    }

    /// Workers at the busiest level, each booking its own therapist and client.
    fn widest(&self) -> usize {
        self.levels.iter().copied().max().unwrap_or(1)
    }

    /// One therapist per uncontended worker, then the hot slot's.
    fn therapists(&self) -> usize {
        self.widest() + 1
    }

    /// The hot slot's crowd, then one client per uncontended worker.
    fn clients(&self) -> usize {
        self.hot_slot + self.widest()
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    benchmark: &'static str,
    backend: &'static str,
    machine: Machine,
    started_at: Timestamp,
    serving: ServingReport,
    hot_slot: HotSlot,
    uncontended_bookings: Vec<Throughput>,
    bare_insert: Vec<Throughput>,
    booking_to_insert_ratio: Vec<Ratio>,
}

/// Who answered the requests, and what the CPU figures cover.
#[derive(Debug, Serialize)]
struct ServingReport {
    /// `in-process`, `servers` (processes started for the run) or `target`.
    mode: &'static str,
    servers: usize,
    cpu_scope: &'static str,
}

#[derive(Debug, Serialize)]
struct HotSlot {
    /// Simultaneous requests for one therapist's one slot, from distinct clients.
    concurrency: usize,
    rounds: Vec<RaceRound>,
    exactly_one_success_every_round: bool,
    server_errors: usize,
    median_p50_ms: f64,
    median_p99_ms: f64,
}

#[derive(Debug, Serialize)]
struct RaceRound {
    successes: usize,
    conflicts: usize,
    server_errors: usize,
    other: usize,
    latency: Latencies,
    /// Serving CPU over the round (absent where it cannot be read).
    cpu: Option<CpuUse>,
}

#[derive(Debug, Serialize)]
struct Throughput {
    concurrency: usize,
    /// Per round, operations per second.
    per_second: Vec<f64>,
    median_per_second: f64,
    /// Latency over every round.
    latency: Latencies,
    failures: usize,
    /// Serving CPU per success over every round (bookings only).
    cpu: Option<CpuUse>,
}

#[derive(Debug, Serialize)]
struct Ratio {
    concurrency: usize,
    bookings_per_second: f64,
    inserts_per_second: f64,
    ratio: f64,
}

pub async fn run(args: &BookingArgs) -> anyhow::Result<Report> {
    if let Some(target) = &args.target {
        return run_against(args, target).await;
    }
    let url = args.database_url.as_deref().context("--database-url is needed unless --target is given")?;
    let database = FreshDatabase::create(url).await?;
    let outcome = measure(args, &database).await;
    database.remove().await;
    outcome
}

async fn measure(args: &BookingArgs, database: &FreshDatabase) -> anyhow::Result<Report> {
    let started_at = Timestamp::now();
    let (mut serving, store, mode) = match args.servers.map(usize::from) {
        None => {
            let server = RunningServer::start(&database.url).await?;
            let store = server.store.clone();
            (Serving::in_process(server), store, "in-process")
        }
        Some(count) => {
            // The seeding store migrates the database before the servers start.
            let key = harness::fresh_key_bytes();
            let settings = crate::config::Settings { database_url: database.url.clone(), ..Default::default() };
            let store = harness::open_store_keyed(
                &settings,
                Arc::new(circles_domain::clock::SystemClock),
                circles_domain::sealed::Key::from_bytes(key),
            )
            .await?;
            let servers =
                Serving::children(count.max(1), &database.url, &circles_domain::sealed::Key::from_bytes(key), &[])
                    .await?;
            (servers, store, "servers")
        }
    };
    let shape = Shape::of(args);
    eprintln!("seeding {} clients and {} therapists…", shape.clients(), shape.therapists());
    let clinic = Clinic::seed(&store, shape.therapists(), shape.clients()).await?;
    let booked = book_history(&store, &clinic, started_at).await?;
    eprintln!("booked a month of history: {booked} sessions");
    // Linked before measuring, as a server in service would have done.
    store.seal_audit().await?;
    if database.backend == "postgres" {
        circles_store_postgres::baseline::analyze(&database.url).await?;
    }
    let (hot_slot, uncontended) = drive(args, &shape, &serving, &clinic, started_at).await;
    serving.stop();
    let bare_insert = bare_insert_levels(database, args, &shape).await?;
    Ok(report(database.backend, started_at, report_of(&serving, mode), hot_slot, uncontended, bare_insert))
}

/// `--target`: a server already running, perhaps on another machine. The
/// clinic is seeded through its API into the organisation the admin token
/// belongs to; bare inserts are measured only if `--database-url` names a
/// PostgreSQL or SQLite server to create a scratch database on.
async fn run_against(args: &BookingArgs, target: &str) -> anyhow::Result<Report> {
    let started_at = Timestamp::now();
    let token = args.token.as_deref().context("--target needs --token, an admin's API token")?;
    let org: OrgId = args.org.context("--target needs --org, the organisation to book in")?.into();
    let serving = Serving::remote(target, args.server_pid);
    let shape = Shape::of(args);
    let http = client(shape.hot_slot);
    eprintln!("seeding {} clients and {} therapists through the API…", shape.clients(), shape.therapists());
    let clinic = seed_through_api(&http, serving.base(0), org, token, shape.therapists(), shape.clients()).await?;
    let booked = book_history_through_api(&http, &serving, &clinic, started_at).await?;
    eprintln!("booked a month of history: {booked} sessions");
    let (hot_slot, uncontended) = drive(args, &shape, &serving, &clinic, started_at).await;
    let (backend, bare_insert) = match &args.database_url {
        Some(url) => {
            let database = FreshDatabase::create(url).await?;
            let levels = bare_insert_levels(&database, args, &shape).await;
            database.remove().await;
            (database_backend(url), levels?)
        }
        None => ("unknown", Vec::new()),
    };
    Ok(report(backend, started_at, report_of(&serving, "target"), hot_slot, uncontended, bare_insert))
}

fn database_backend(url: &str) -> &'static str {
    if url.starts_with("sqlite:") { "sqlite" } else { "postgres" }
}

fn report_of(serving: &Serving, mode: &'static str) -> ServingReport {
    ServingReport { mode, servers: serving.bases.len(), cpu_scope: serving.cpu.scope }
}

/// The hot slot and the uncontended levels, against whatever serves.
async fn drive(
    args: &BookingArgs,
    shape: &Shape,
    serving: &Serving,
    clinic: &Clinic,
    started_at: Timestamp,
) -> (HotSlot, Vec<Throughput>) {
    let http = client(shape.hot_slot);
    for base in &serving.bases {
        warm_up(&http, base, shape.hot_slot.div_ceil(serving.bases.len())).await;
    }
    let urls: Vec<String> =
        serving.bases.iter().map(|base| format!("{base}/api/v1/orgs/{}/sessions", clinic.org)).collect();
    let far = started_at + SignedDuration::from_hours(24 * 30);

    eprintln!("hot slot: {} simultaneous bookings, {} rounds…", shape.hot_slot, args.rounds);
    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        let slot = far + SignedDuration::from_hours(24 * round as i64);
        let (cpu_before, started) = (serving.cpu.used(), Instant::now());
        let mut outcome = hot_slot_round(&http, &urls, shape, clinic, slot).await;
        outcome.cpu = CpuUse::between(cpu_before, serving.cpu.used(), shape.hot_slot, started.elapsed());
        rounds.push(outcome);
    }
    let hot_slot = HotSlot {
        concurrency: shape.hot_slot,
        exactly_one_success_every_round: rounds.iter().all(|r| r.successes == 1),
        server_errors: rounds.iter().map(|r| r.server_errors).sum(),
        median_p50_ms: median(rounds.iter().map(|r| r.latency.p50_ms).collect()),
        median_p99_ms: median(rounds.iter().map(|r| r.latency.p99_ms).collect()),
        rounds,
    };

    let mut uncontended = Vec::new();
    for (level_index, &concurrency) in shape.levels.iter().enumerate() {
        eprintln!("uncontended bookings at concurrency {concurrency}…");
        let mut per_second = Vec::new();
        let mut latencies = Vec::new();
        let (mut failures, mut successes, mut wall) = (0, 0, Duration::ZERO);
        let cpu_before = serving.cpu.used();
        for round in 0..args.rounds {
            // Each level and round books into its own stretch of the calendar.
            let base = far + SignedDuration::from_hours(24 * (60 + 500 * (level_index * args.rounds + round) as i64));
            let outcome = uncontended_round(&http, &urls, shape, clinic, concurrency, base, args.seconds).await;
            per_second.push(outcome.successes as f64 / outcome.elapsed.as_secs_f64());
            failures += outcome.failures;
            successes += outcome.successes;
            wall += outcome.elapsed;
            latencies.extend(outcome.latencies);
        }
        uncontended.push(Throughput {
            concurrency,
            median_per_second: round2(median(per_second.clone())),
            per_second: per_second.into_iter().map(round2).collect(),
            latency: Latencies::of(latencies),
            failures,
            cpu: CpuUse::between(cpu_before, serving.cpu.used(), successes, wall),
        });
    }
    (hot_slot, uncontended)
}

async fn bare_insert_levels(
    database: &FreshDatabase,
    args: &BookingArgs,
    shape: &Shape,
) -> anyhow::Result<Vec<Throughput>> {
    let mut bare_insert = Vec::new();
    for &concurrency in &shape.levels {
        eprintln!("bare inserts at concurrency {concurrency}…");
        let mut per_second = Vec::new();
        let mut latencies = Vec::new();
        for _ in 0..args.rounds {
            let started = Instant::now();
            let samples = bare_inserts(database, concurrency, Duration::from_secs(args.seconds)).await?;
            per_second.push(samples.len() as f64 / started.elapsed().as_secs_f64());
            latencies.extend(samples);
        }
        bare_insert.push(Throughput {
            concurrency,
            median_per_second: round2(median(per_second.clone())),
            per_second: per_second.into_iter().map(round2).collect(),
            latency: Latencies::of(latencies),
            failures: 0,
            cpu: None,
        });
    }
    Ok(bare_insert)
}

fn report(
    backend: &'static str,
    started_at: Timestamp,
    serving: ServingReport,
    hot_slot: HotSlot,
    uncontended: Vec<Throughput>,
    bare_insert: Vec<Throughput>,
) -> Report {
    let booking_to_insert_ratio = uncontended
        .iter()
        .zip(&bare_insert)
        .map(|(b, i)| Ratio {
            concurrency: b.concurrency,
            bookings_per_second: b.median_per_second,
            inserts_per_second: i.median_per_second,
            ratio: round2(b.median_per_second / i.median_per_second),
        })
        .collect();
    Report {
        benchmark: "booking",
        backend,
        machine: Machine::here(),
        started_at,
        serving,
        hot_slot,
        uncontended_bookings: uncontended,
        bare_insert,
        booking_to_insert_ratio,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Days of calendar booked before measuring.
const HISTORY_DAYS: i64 = 29;

/// A clinic in service already has a calendar: each therapist sees one
/// client a day for the coming month (booked straight through the store).
/// Measuring then starts from a populated database whose planner statistics
/// are current, as autovacuum keeps them in service; an empty one would be
/// planned as if it stayed empty.
async fn book_history(store: &Arc<dyn Store>, clinic: &Clinic, from: Timestamp) -> anyhow::Result<usize> {
    let therapists = clinic.therapists.len();
    let per_therapist = clinic.therapists.iter().enumerate().map(|(t, &therapist)| {
        let (store, org) = (store.clone(), clinic.org);
        // On any one day each therapist sees a different client.
        let clients: Vec<PersonId> = (1..=HISTORY_DAYS)
            .map(|day| clinic.clients[(day as usize * therapists + t) % clinic.clients.len()])
            .collect();
        tokio::spawn(async move {
            for (day, client) in (1..=HISTORY_DAYS).zip(clients) {
                let start = from + SignedDuration::from_hours(24 * day);
                let session = harness::check_in(therapist, client, start);
                store.create_session(&AuditCtx::operator(), org, session).await?;
            }
            anyhow::Ok(())
        })
    });
    for booked in futures::future::join_all(per_therapist).await {
        booked??;
    }
    Ok(therapists * HISTORY_DAYS as usize)
}

/// [`book_history`] through a running server's API.
async fn book_history_through_api(
    http: &reqwest::Client,
    serving: &Serving,
    clinic: &Clinic,
    from: Timestamp,
) -> anyhow::Result<usize> {
    let therapists = clinic.therapists.len();
    let per_therapist = clinic.therapists.iter().enumerate().map(|(t, &therapist)| {
        let url = format!("{}/api/v1/orgs/{}/sessions", serving.base(t), clinic.org);
        let clients: Vec<PersonId> = (1..=HISTORY_DAYS)
            .map(|day| clinic.clients[(day as usize * therapists + t) % clinic.clients.len()])
            .collect();
        let (http, token) = (http.clone(), clinic.admin_token.clone());
        tokio::spawn(async move {
            for (day, client) in (1..=HISTORY_DAYS).zip(clients) {
                let start = from + SignedDuration::from_hours(24 * day);
                http.post(&url)
                    .bearer_auth(&token)
                    .json(&booking(start, therapist, client))
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(())
        })
    });
    for booked in futures::future::join_all(per_therapist).await {
        booked??;
    }
    Ok(therapists * HISTORY_DAYS as usize)
}

fn booking(starts_at: Timestamp, therapist: PersonId, client: PersonId) -> serde_json::Value {
    json!({
        "starts_at": starts_at.to_string(),
        "duration_minutes": 50,
        "therapist_ids": [therapist],
        "client_ids": [client],
    })
}

/// Every client asks for the hot therapist's same slot at the same moment.
async fn hot_slot_round(
    http: &reqwest::Client,
    urls: &[String],
    shape: &Shape,
    clinic: &Clinic,
    slot: Timestamp,
) -> RaceRound {
    // The uncontended workers' therapists come first; the hot one is after them.
    let hot_therapist = clinic.therapists[shape.widest()];
    let gate = std::sync::Arc::new(tokio::sync::Barrier::new(shape.hot_slot));
    let requests: Vec<_> = clinic.clients[..shape.hot_slot]
        .iter()
        .enumerate()
        .map(|(i, &client)| {
            let url = &urls[i % urls.len()];
            let request = http.post(url).bearer_auth(&clinic.admin_token).json(&booking(slot, hot_therapist, client));
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.wait().await;
                let started = Instant::now();
                let status = request.send().await.map(|r| r.status().as_u16()).unwrap_or(599);
                (status, started.elapsed())
            })
        })
        .collect();
    let mut round = RaceRound {
        successes: 0,
        conflicts: 0,
        server_errors: 0,
        other: 0,
        latency: Latencies::of(Vec::new()),
        cpu: None,
    };
    let mut latencies = Vec::with_capacity(shape.hot_slot);
    for request in requests {
        let (status, latency) = request.await.expect("request task");
        latencies.push(latency);
        match status {
            201 => round.successes += 1,
            409 => round.conflicts += 1,
            500..=599 => round.server_errors += 1,
            _ => round.other += 1,
        }
    }
    round.latency = Latencies::of(latencies);
    round
}

struct RoundOutcome {
    successes: usize,
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// `concurrency` workers, each booking its own therapist and client into
/// consecutive free hours: every booking should succeed.
async fn uncontended_round(
    http: &reqwest::Client,
    urls: &[String],
    shape: &Shape,
    clinic: &Clinic,
    concurrency: usize,
    base: Timestamp,
    seconds: u64,
) -> RoundOutcome {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (http, urls, token) = (http.clone(), urls.to_vec(), clinic.admin_token.clone());
            let (therapist, client) = (clinic.therapists[w], clinic.clients[shape.hot_slot + w]);
            tokio::spawn(async move {
                let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
                let mut slot = base;
                // Round-robin over the servers, each worker starting at its own.
                let mut sent_so_far = w;
                while Instant::now() < deadline {
                    let url = &urls[sent_so_far % urls.len()];
                    sent_so_far += 1;
                    let sent = Instant::now();
                    let response =
                        http.post(url).bearer_auth(&token).json(&booking(slot, therapist, client)).send().await;
                    latencies.push(sent.elapsed());
                    match response.map(|r| r.status().as_u16()) {
                        Ok(201) => ok += 1,
                        _ => failed += 1,
                    }
                    slot += SignedDuration::from_hours(1);
                }
                (ok, failed, latencies)
            })
        })
        .collect();
    let mut outcome = RoundOutcome { successes: 0, failures: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for worker in workers {
        let (ok, failed, latencies) = worker.await.expect("worker task");
        outcome.successes += ok;
        outcome.failures += failed;
        outcome.latencies.extend(latencies);
    }
    outcome.elapsed = started.elapsed();
    outcome
}

async fn bare_inserts(
    database: &FreshDatabase,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    Ok(match database.backend {
        "sqlite" => {
            circles_store_sqlite::baseline::bare_inserts(&database.url, &Default::default(), concurrency, duration)
                .await?
        }
        _ => circles_store_postgres::baseline::bare_inserts(&database.url, concurrency, duration).await?,
    })
}
