//! `circles bench availability`: is the free-slot search fast, and does its
//! cost in SQL statements stay flat as therapists are added?
//!
//! Seeds 500 therapists with realistic weeks (office hours with a lunch
//! gap, some with virtual evenings and a session limit, some with Saturday
//! mornings), ten one-on-one sessions per therapist-week for six weeks, and
//! some approved and pending time off; then searches 1, 100 and 500 of
//! them over 42 days, and one therapist over 30 days, on a 15-minute grid
//! through the HTTP API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use circles_domain::availability::{RuleInput, WeeklyAvailability};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::{Label, TimeZoneName};
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_domain::time_off::TimeOffKind;
use circles_store::Store;
use circles_store::model::{Approval, AuditCtx, AvailabilitySearch, ImportedAppointment, NewSession, NewTimeOff};
use jiff::civil::{Time, Weekday};
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::harness::{Clinic, FreshDatabase, Latencies, RunningServer, client, median};
use super::rss;
use super::{AvailabilityArgs, Machine};
use crate::config::{Settings, SqliteSynchronous};

const THERAPISTS: usize = 500;
/// Enough clients that no hour has more sessions than clients.
const CLIENTS: usize = 400;
const WEEKS: i64 = 6;
const SESSIONS_PER_WEEK: usize = 10;
const SESSION_MINUTES: i64 = 50;
const ZONE: &str = "America/New_York";

#[derive(Debug, Serialize)]
pub struct Report {
    benchmark: &'static str,
    backend: &'static str,
    machine: Machine,
    /// `/proc/loadavg` before seeding and before measuring: other work on
    /// the machine skews the numbers.
    load_average_at_start: Option<String>,
    load_average_before_measuring: Option<String>,
    started_at: Timestamp,
    seeded: Seeded,
    searches: Vec<Scenario>,
    worst_case: Vec<WorstCase>,
}

#[derive(Debug, Serialize)]
struct Seeded {
    therapists: usize,
    clients: usize,
    sessions: usize,
    approved_time_off: usize,
    pending_time_off: usize,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct Scenario {
    name: String,
    therapists: usize,
    days: i64,
    duration_minutes: i64,
    step_minutes: i64,
    /// Per round, latency at the HTTP edge (request sent to last byte read).
    rounds: Vec<Latencies>,
    median_p50_ms: f64,
    median_p95_ms: f64,
    /// Every request of every round.
    latency: Latencies,
    /// The same search called on the store in-process: what the database and
    /// the arithmetic cost, without JSON and HTTP.
    store_only: Latencies,
    /// SQL statements per search, as the store counted them: every distinct
    /// count seen over the in-process calls (one value: the count is fixed).
    statements_per_search: Vec<u64>,
    /// The same over HTTP, which now and then adds the statements that
    /// refresh the cached authentication (the token and the membership).
    statements_per_request: Vec<u64>,
    free_starts: usize,
    response_bytes: usize,
    /// Resident memory of the whole process (server and load generator)
    /// before the requests, and its peak while they ran.
    rss_before_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
}

/// The largest search the limits accept, walked page by page.
#[derive(Debug, Serialize)]
struct WorstCase {
    query: String,
    /// Clients walking every page at once.
    concurrency: usize,
    pages: usize,
    bytes: usize,
    /// Per client, the whole walk.
    latency: Latencies,
    rss_before_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
}

pub async fn run(args: &AvailabilityArgs) -> anyhow::Result<Report> {
    let database = FreshDatabase::create(&args.database_url).await?;
    let outcome = measure(args, &database).await;
    database.remove().await;
    outcome
}

fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg").ok().map(|l| l.trim().to_owned())
}

async fn measure(args: &AvailabilityArgs, database: &FreshDatabase) -> anyhow::Result<Report> {
    let started_at = Timestamp::now();
    let load_average_at_start = load_average();
    // The first Monday at least a day away, New York midnight.
    let zone = jiff::tz::TimeZone::get(ZONE)?;
    let mut monday = (started_at + SignedDuration::from_hours(24)).to_zoned(zone.clone()).date();
    while monday.weekday() != Weekday::Monday {
        monday = monday.tomorrow()?;
    }
    let first_day = monday.to_zoned(zone.clone())?.timestamp();

    let seeding = Instant::now();
    let (clinic, seeded) = {
        // Seeding needs no durability: commit without syncing every write.
        let settings = Settings {
            database_url: database.url.clone(),
            sqlite_synchronous: SqliteSynchronous::Normal,
            ..Settings::default()
        };
        let store = super::harness::open_store(&settings, Arc::new(circles_domain::clock::SystemClock)).await?;
        let seeded = seed(&store, monday, args.seed_by_booking).await?;
        // Link the seeding's audit events now, as a server in service would
        // have done long ago, not while searches are being measured.
        store.seal_audit().await?;
        seeded
    };
    if database.backend == "postgres" {
        circles_store_postgres::baseline::analyze(&database.url).await?;
    }
    let seeded = Seeded { seconds: seeding.elapsed().as_secs_f64().round(), ..seeded };
    eprintln!("seeded {} sessions in {} s", seeded.sessions, seeded.seconds);

    let mut server = RunningServer::start(&database.url).await?;
    let http = client(1);
    let load_average_before_measuring = load_average();
    let base = format!("{}/api/v1/orgs/{}/availability", server.base, clinic.org);
    let scenarios: [(&str, usize, i64); 4] = [
        ("one therapist, 30 days", 1, 30),
        ("one therapist, 42 days", 1, 42),
        ("100 therapists, 42 days", 100, 42),
        ("500 therapists (all), 42 days", THERAPISTS, 42),
    ];
    let mut searches = Vec::new();
    for (name, count, days) in scenarios {
        eprintln!("{name}: {} rounds of {} requests…", args.rounds, args.requests);
        let chosen = &clinic.therapists[..count];
        let to = first_day + SignedDuration::from_hours(24 * days);
        let mut url = format!("{base}?from={first_day}&to={to}&duration_minutes={SESSION_MINUTES}&step_minutes=15");
        if count < THERAPISTS {
            let ids: Vec<String> = chosen.iter().map(ToString::to_string).collect();
            url.push_str(&format!("&therapist_ids={}", ids.join(",")));
        }
        searches.push(scenario(args, &server.store, &http, &clinic, (name, count, days), &url, first_day, to).await?);
    }
    let to = first_day + SignedDuration::from_hours(24 * 42);
    let worst = format!("{base}?from={first_day}&to={to}&duration_minutes=5&step_minutes=5");
    let mut worst_case = Vec::new();
    for concurrency in [1, 8] {
        eprintln!("worst case, {concurrency} at once…");
        worst_case.push(walk_every_page(&clinic, &worst, concurrency).await?);
    }
    server.stop();
    Ok(Report {
        benchmark: "availability",
        backend: database.backend,
        machine: Machine::here(),
        load_average_at_start,
        load_average_before_measuring,
        started_at,
        seeded,
        searches,
        worst_case,
    })
}

#[allow(clippy::too_many_arguments)]
async fn scenario(
    args: &AvailabilityArgs,
    store: &Arc<dyn Store>,
    http: &reqwest::Client,
    clinic: &Clinic,
    (name, count, days): (&str, usize, i64),
    url: &str,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Scenario> {
    let get = async || -> anyhow::Result<(Duration, axum::body::Bytes, u64)> {
        let before = store.statements_run();
        let sent = Instant::now();
        let response = http.get(url).bearer_auth(&clinic.admin_token).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let elapsed = sent.elapsed();
        anyhow::ensure!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&body));
        Ok((elapsed, body, store.statements_run() - before))
    };
    // Warm up: connections, caches, the authentication cache.
    let (_, body, _) = get().await?;
    get().await?;
    let parsed: serde_json::Value = serde_json::from_slice(&body).context("search response")?;
    let free_starts = parsed["items"]
        .as_array()
        .map_or(0, |items| items.iter().map(|i| i["starts"].as_array().map_or(0, Vec::len)).sum());
    anyhow::ensure!(parsed["items"].as_array().map_or(0, Vec::len) == count, "every therapist answered");
    anyhow::ensure!(parsed["next_cursor"].is_null(), "one page");
    let response_bytes = body.len();
    drop((parsed, body));

    let rss_before_mb = rss::current_mb();
    rss::reset_peak();
    let mut rounds = Vec::new();
    let mut all = Vec::new();
    let mut statements = Vec::new();
    for _ in 0..args.rounds {
        let mut samples = Vec::new();
        for _ in 0..args.requests {
            let (latency, _, used) = get().await?;
            samples.push(latency);
            if !statements.contains(&used) {
                statements.push(used);
            }
        }
        all.extend(samples.iter().copied());
        rounds.push(Latencies::of(samples));
    }
    let peak_rss_mb = rss::peak_mb();
    let therapists = if count < THERAPISTS { Some(clinic.therapists[..count].to_vec()) } else { None };
    let search = AvailabilitySearch {
        therapists,
        from,
        to,
        duration: SignedDuration::from_mins(SESSION_MINUTES),
        step: SignedDuration::from_mins(15),
        modality: None,
        zone: TimeZoneName::parse(ZONE).expect("valid"),
        cursor: None,
        page_size: circles_domain::search::therapists_per_page(days),
    };
    let mut store_only = Vec::new();
    let mut per_search = Vec::new();
    for _ in 0..args.requests {
        let before = store.statements_run();
        let started = Instant::now();
        store.search_availability(clinic.org, search.clone()).await?.into_free_starts();
        store_only.push(started.elapsed());
        let used = store.statements_run() - before;
        if !per_search.contains(&used) {
            per_search.push(used);
        }
    }
    Ok(Scenario {
        name: name.to_owned(),
        therapists: count,
        days,
        duration_minutes: SESSION_MINUTES,
        step_minutes: 15,
        median_p50_ms: median(rounds.iter().map(|r| r.p50_ms).collect()),
        median_p95_ms: median(rounds.iter().map(|r| r.p95_ms).collect()),
        rounds,
        latency: Latencies::of(all),
        store_only: Latencies::of(store_only),
        statements_per_search: per_search,
        statements_per_request: statements,
        free_starts,
        response_bytes,
        rss_before_mb,
        peak_rss_mb,
    })
}

/// `concurrency` clients each walk every page of `url`, reading each answer
/// as a stream and keeping only its length (and the cursor).
async fn walk_every_page(clinic: &Clinic, url: &str, concurrency: usize) -> anyhow::Result<WorstCase> {
    let http = client(concurrency);
    let walk = async |http: reqwest::Client| -> anyhow::Result<(Duration, usize, usize)> {
        let started = Instant::now();
        let (mut pages, mut bytes, mut cursor) = (0, 0, None::<String>);
        loop {
            let page_url = match &cursor {
                Some(c) => format!("{url}&cursor={c}"),
                None => url.to_owned(),
            };
            let mut response = http.get(&page_url).bearer_auth(&clinic.admin_token).send().await?;
            anyhow::ensure!(response.status().is_success(), "{}", response.status());
            // Only the tail matters (`"next_cursor":…}`).
            let mut tail: Vec<u8> = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                bytes += chunk.len();
                tail.extend_from_slice(&chunk[chunk.len().saturating_sub(64)..]);
                tail.drain(..tail.len().saturating_sub(64));
            }
            pages += 1;
            let tail = String::from_utf8_lossy(&tail);
            cursor = tail.rsplit("\"next_cursor\":").next().and_then(|rest| {
                let rest = rest.trim_end_matches('}');
                (rest != "null").then(|| rest.trim_matches('"').to_owned())
            });
            if cursor.is_none() {
                break;
            }
        }
        Ok((started.elapsed(), pages, bytes))
    };
    let rss_before_mb = rss::current_mb();
    rss::reset_peak();
    let walks = futures::future::join_all((0..concurrency).map(|_| walk(http.clone()))).await;
    let peak_rss_mb = rss::peak_mb();
    let mut latencies = Vec::new();
    let (mut pages, mut bytes) = (0, 0);
    for outcome in walks {
        let (took, p, b) = outcome?;
        latencies.push(took);
        (pages, bytes) = (p, b);
    }
    Ok(WorstCase {
        query: url.rsplit('?').next().unwrap_or(url).to_owned(),
        concurrency,
        pages,
        bytes,
        latency: Latencies::of(latencies),
        rss_before_mb,
        peak_rss_mb,
    })
}

/// A week of one of three kinds, chosen by `kind`.
fn week_of(kind: usize) -> WeeklyAvailability {
    let rule = |weekday, start_time, end_time| RuleInput { weekday, start_time, end_time, ..RuleInput::default() };
    let mut rules = Vec::new();
    match kind {
        // Office hours with a lunch gap.
        0..=6 => {
            for day in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
                rules.extend([rule(day, "09:00", "12:00"), rule(day, "13:00", "17:00")]);
            }
        }
        // Later days, and virtual evenings of at most two sessions.
        7 | 8 => {
            for day in ["monday", "tuesday", "wednesday", "thursday"] {
                rules.extend([rule(day, "10:00", "13:00"), rule(day, "14:00", "18:00")]);
            }
            for day in ["tuesday", "thursday"] {
                rules.push(RuleInput {
                    modality: Some("VIRTUAL"),
                    max_sessions: Some(2),
                    ..rule(day, "18:30", "21:00")
                });
            }
        }
        // Three long days and Saturday mornings.
        _ => {
            for day in ["monday", "wednesday", "friday"] {
                rules.extend([rule(day, "08:00", "12:00"), rule(day, "13:00", "16:00")]);
            }
            rules.push(rule("saturday", "09:00", "13:00"));
        }
    }
    WeeklyAvailability::parse(ZONE, &rules).expect("a valid week")
}

/// Whole-hour session starts that fit `week` in the week from `monday`.
fn hourly_starts(week: &WeeklyAvailability, monday: jiff::civil::Date) -> Vec<Timestamp> {
    let zone = week.zone().clone();
    let mut starts = Vec::new();
    for offset in 0..7 {
        let date = monday + offset.days();
        for rule in week.rules().iter().filter(|r| r.applies_on(date) && r.modality.is_none()) {
            let mut minute = (rule.start.minutes() + 59) / 60 * 60;
            while minute + SESSION_MINUTES <= rule.end.minutes() {
                let local = date.to_datetime(Time::midnight()) + SignedDuration::from_mins(minute);
                if let Ok(at) = local.to_zoned(zone.clone()) {
                    starts.push(at.timestamp());
                }
                minute += 60;
            }
        }
    }
    starts
}

/// Seeds the clinic; its sessions through the import use case (one
/// transaction), or with `by_booking` one booking at a time as a client would.
async fn seed(store: &Arc<dyn Store>, monday: jiff::civil::Date, by_booking: bool) -> anyhow::Result<(Clinic, Seeded)> {
    eprintln!("seeding {THERAPISTS} therapists, {CLIENTS} clients…");
    let clinic = Clinic::seed(store, THERAPISTS, CLIENTS).await?;
    let ctx = AuditCtx::operator();
    let mut rng = StdRng::seed_from_u64(6);
    let mut bookings: Vec<(PersonId, Timestamp)> = Vec::new();
    for (i, &therapist) in clinic.therapists.iter().enumerate() {
        let week = week_of(rng.gen_range(0..10));
        store.set_availability(&ctx, clinic.org, therapist, week.clone()).await?;
        for w in 0..WEEKS {
            let mut starts = hourly_starts(&week, monday + (7 * w).days());
            starts.shuffle(&mut rng);
            bookings.extend(starts.into_iter().take(SESSIONS_PER_WEEK).map(|s| (therapist, s)));
        }
        if i % 100 == 99 {
            eprintln!("  {} weeks set", i + 1);
        }
    }
    // A client per booking, never two bookings of one client at once.
    let mut next_client: HashMap<Timestamp, usize> = HashMap::new();
    let mut jobs = Vec::new();
    for (therapist, start) in bookings {
        let slot = next_client.entry(start).or_default();
        if *slot >= clinic.clients.len() {
            continue;
        }
        jobs.push((therapist, clinic.clients[*slot], start));
        *slot += 1;
    }
    eprintln!("booking {} sessions…", jobs.len());
    let sessions =
        if by_booking { book_all(store, clinic.org, jobs).await? } else { import_all(store, clinic.org, jobs).await? };
    let (approved, pending) = time_off(store, &clinic, monday, &mut rng).await?;
    Ok((
        clinic,
        Seeded {
            therapists: THERAPISTS,
            clients: CLIENTS,
            sessions,
            approved_time_off: approved,
            pending_time_off: pending,
            seconds: 0.0,
        },
    ))
}

fn session_details() -> SessionDetails {
    SessionDetails {
        title: Label::parse("Session", 200).expect("valid"),
        description: String::new(),
        modality: Modality::InPerson,
        virtual_link: None,
        location: Some("Room 1".into()),
        address: None,
    }
}

/// Imports every `(therapist, client, start)` in one transaction.
async fn import_all(
    store: &Arc<dyn Store>,
    org: OrgId,
    jobs: Vec<(PersonId, PersonId, Timestamp)>,
) -> anyhow::Result<usize> {
    let appointments = jobs
        .into_iter()
        .map(|(therapist, client, start)| ImportedAppointment {
            therapist_id: therapist,
            client_id: client,
            interval: Interval::starting_at(start, SignedDuration::from_mins(SESSION_MINUTES)).expect("a slot"),
            details: session_details(),
            timezone: ZONE.into(),
        })
        .collect();
    Ok(store.import_appointments(&AuditCtx::operator(), org, appointments).await? as usize)
}

/// Books every `(therapist, client, start)` with a few workers at once.
async fn book_all(
    store: &Arc<dyn Store>,
    org: OrgId,
    jobs: Vec<(PersonId, PersonId, Timestamp)>,
) -> anyhow::Result<usize> {
    const WORKERS: usize = 8;
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (store, jobs) = (store.clone(), jobs.clone());
            tokio::spawn(async move {
                let mut booked = 0;
                loop {
                    let Some((therapist, client, start)) = jobs.lock().expect("job list").pop() else { break };
                    let interval =
                        Interval::starting_at(start, SignedDuration::from_mins(SESSION_MINUTES)).expect("a slot");
                    let session = NewSession {
                        kind: SessionKind::OneOnOne,
                        details: session_details(),
                        interval,
                        timezone: ZONE.into(),
                        capacity: 1,
                        group_id: None,
                        therapist_ids: vec![therapist],
                        client_ids: vec![client],
                        therapists_must_accept: false,
                        approval: Approval::NotNeeded,
                    };
                    store.create_session(&AuditCtx::operator(), org, session).await?;
                    booked += 1;
                    if booked % 1000 == 0 {
                        eprintln!("  {booked} sessions by one worker");
                    }
                }
                anyhow::Ok(booked)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    Ok(total)
}

/// One therapist in ten away for a week (approved), one in twenty asking.
async fn time_off(
    store: &Arc<dyn Store>,
    clinic: &Clinic,
    monday: jiff::civil::Date,
    rng: &mut StdRng,
) -> anyhow::Result<(usize, usize)> {
    let ctx = AuditCtx::operator();
    let zone = jiff::tz::TimeZone::get(ZONE)?;
    let (mut approved, mut pending) = (0, 0);
    for (i, &therapist) in clinic.therapists.iter().enumerate() {
        if i % 10 != 3 && i % 20 != 7 {
            continue;
        }
        let start = (monday + (7 * rng.gen_range(0..WEEKS)).days()).to_zoned(zone.clone())?.timestamp();
        let request = NewTimeOff {
            therapist_id: therapist,
            kind: TimeOffKind::Vacation,
            reason: String::new(),
            range: Interval::new(start, start + SignedDuration::from_hours(24 * 7)).expect("a week"),
            auto_reassign: false,
        };
        let requested = store.request_time_off(&ctx, clinic.org, request).await?;
        if i % 10 == 3 {
            store.approve_time_off(&ctx, clinic.org, requested.id, None).await?;
            approved += 1;
        } else {
            pending += 1;
        }
    }
    Ok((approved, pending))
}
