//! `circles bench waitlist`: how fast a freed seat becomes a live offer, and
//! how long a matching pass over a long waitlist takes.
//!
//! Seeds one group with 1,000 one-seat sessions over the next 30 days, each
//! taken, and 2,000 clients with 10,000 waiting entries (each client waits
//! for the group and for four of its sessions). Then: (1) a seated client
//! leaves, and the worker — woken by the freeing, no grace delay — offers
//! the seat; latency from the leave's commit to the offer being readable;
//! (2) 1,000 seats free at once and one pass (as many batches as it takes)
//! offers them all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_domain::ids::{PersonId, SessionId};
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_domain::waitlist::{OfferStatus, Target, Urgency, WaitlistSettings};
use circles_domain::waitlist_match::Preferences;
use circles_store::Store;
use circles_store::model::{Approval, AuditCtx, GroupFields, NewEntry, NewGroup, NewSession, OfferFilter};
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::harness::{Clinic, FreshDatabase, Latencies, RunningServer};
use super::{Machine, WaitlistArgs};

const SESSIONS: usize = 1_000;
const CLIENTS: usize = 2_000;
const SESSION_ENTRIES_PER_CLIENT: usize = 4;

#[derive(Debug, Serialize)]
pub struct Report {
    benchmark: &'static str,
    backend: &'static str,
    machine: Machine,
    load_average_before_measuring: Option<String>,
    started_at: Timestamp,
    seeded: Seeded,
    /// From a leave's commit to its seat's live offer being readable.
    freed_seat_to_live_offer: Latencies,
    /// Freeing 1,000 seats at once, then passes until all are offered.
    full_pass: FullPass,
}

#[derive(Debug, Serialize)]
struct Seeded {
    sessions: usize,
    clients: usize,
    active_entries: usize,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct FullPass {
    open_seats: usize,
    offers_sent: u64,
    passes: usize,
    seconds: f64,
}

pub async fn run(args: &WaitlistArgs) -> anyhow::Result<Report> {
    let db = FreshDatabase::create(&args.database_url).await?;
    let result = measure(&db, args).await;
    db.remove().await;
    result
}

async fn measure(db: &FreshDatabase, args: &WaitlistArgs) -> anyhow::Result<Report> {
    let started_at = Timestamp::now();
    let mut server = RunningServer::start(&db.url).await?;
    let store = server.store.clone();
    let seeding = Instant::now();
    let clinic = Clinic::seed(&store, 1, CLIENTS).await?;
    let ctx = AuditCtx::operator();
    let org = clinic.org;
    let group = store
        .create_group(
            &ctx,
            org,
            NewGroup {
                fields: GroupFields::open_group("Evening circle", circles_domain::group::GroupType::Support),
                moderator_ids: Vec::new(),
                facilitator_ids: vec![clinic.therapists[0]],
            },
        )
        .await?
        .id;
    // 1,000 sessions 40 minutes apart, 30 minutes long, each seating one
    // client (the first 1,000); the other 1,000 clients are free then.
    let first = Timestamp::now() + SignedDuration::from_hours(24);
    let mut sessions: Vec<(SessionId, PersonId)> = Vec::with_capacity(SESSIONS);
    for i in 0..SESSIONS {
        let start = first + SignedDuration::from_mins(40 * i as i64);
        let seated = clinic.clients[i];
        let session = store
            .create_session(
                &ctx,
                org,
                NewSession {
                    kind: SessionKind::Group,
                    details: SessionDetails {
                        title: Label::parse("Evening circle", 200).expect("valid"),
                        description: String::new(),
                        modality: Modality::Virtual,
                        virtual_link: Some("https://meet.example/circle".into()),
                        location: None,
                        address: None,
                    },
                    interval: Interval::starting_at(start, SignedDuration::from_mins(30)).expect("valid"),
                    timezone: "America/New_York".into(),
                    capacity: 1,
                    group_id: Some(group),
                    therapist_ids: vec![clinic.therapists[0]],
                    client_ids: vec![seated],
                    therapists_must_accept: false,
                    approval: Approval::NotNeeded,
                },
            )
            .await?;
        sessions.push((session.id, seated));
    }
    let mut rng = StdRng::seed_from_u64(14);
    let urgencies = [Urgency::Low, Urgency::Medium, Urgency::High, Urgency::Urgent];
    let mut entries = 0;
    for &client in &clinic.clients {
        let mut targets = vec![Target::Group(group)];
        targets.extend(
            sessions.choose_multiple(&mut rng, SESSION_ENTRIES_PER_CLIENT).map(|(s, _)| Target::GroupSession(*s)),
        );
        for target in targets {
            let entry = NewEntry {
                client_id: client,
                target,
                urgency: urgencies[rng.gen_range(0..4)],
                preferences: Preferences::default(),
                referral: rng.gen_bool(0.3),
                notes: None,
                auto_match: true,
                by_client: false,
            };
            store.create_entry(&ctx, org, entry).await?;
            entries += 1;
        }
    }
    let seeded = Seeded {
        sessions: SESSIONS,
        clients: CLIENTS,
        active_entries: entries,
        seconds: seeding.elapsed().as_secs_f64(),
    };
    let load_average_before_measuring = std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_owned());

    // (1) Freed seat → live offer, through a worker woken by the freeing.
    let worker_store = store.clone();
    let worker = tokio::spawn(async move {
        loop {
            let _ = worker_store.waitlist_pass(Some(SignedDuration::ZERO), false).await;
            worker_store.opening_recorded().await;
        }
    });
    let mut order: Vec<usize> = (0..SESSIONS).collect();
    order.shuffle(&mut rng);
    let (measured, rest) = order.split_at(args.samples.min(SESSIONS / 2));
    let mut samples = Vec::with_capacity(measured.len());
    for &i in measured {
        let (session, seated) = sessions[i];
        let live_before = live_offers(&store, &clinic).await?;
        store.leave_session(&ctx, org, session, seated).await?;
        let committed = Instant::now();
        loop {
            if live_offers(&store, &clinic).await? > live_before {
                break;
            }
            anyhow::ensure!(committed.elapsed() < Duration::from_secs(10), "no offer within 10 s");
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        samples.push(committed.elapsed());
    }
    worker.abort();

    // (2) Every other seat frees while offers wait (a long grace delay),
    // then passes with the delay lifted offer them all.
    let patient = WaitlistSettings { grace_seconds: 86_400, ..WaitlistSettings::default() };
    store.set_waitlist_settings(&ctx, org, patient).await?;
    for &i in rest {
        let (session, seated) = sessions[i];
        store.leave_session(&ctx, org, session, seated).await?;
    }
    let pass = Instant::now();
    let mut offers_sent = 0;
    let mut passes = 0;
    loop {
        let report = store.waitlist_pass(Some(SignedDuration::ZERO), false).await?;
        passes += 1;
        offers_sent += report.offers_sent;
        if report.offers_sent == 0 && report.openings_lapsed == 0 {
            break;
        }
    }
    let full_pass = FullPass { open_seats: rest.len(), offers_sent, passes, seconds: pass.elapsed().as_secs_f64() };
    server.stop();
    Ok(Report {
        benchmark: "waitlist",
        backend: db.backend,
        machine: Machine::here(),
        load_average_before_measuring,
        started_at,
        seeded,
        freed_seat_to_live_offer: Latencies::of(samples),
        full_pass,
    })
}

async fn live_offers(store: &Arc<dyn Store>, clinic: &Clinic) -> anyhow::Result<usize> {
    let filter = OfferFilter { status: Some(OfferStatus::Live), client: None };
    Ok(store.offers(clinic.org, filter).await?.len())
}
