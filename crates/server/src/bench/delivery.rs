//! `circles bench delivery`: how fast the worker empties the outbox into a
//! local SMTP server, and what a booking costs now that it owes e-mail —
//! measured against the same booking on a store that writes no outbox,
//! the two interleaved on one database so both see the same load and size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_domain::clock::SystemClock;
use circles_domain::sealed::Key;
use circles_store::model::{AuditCtx, DeliveryFilter};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::harness::{self, Clinic, FreshDatabase, Latencies};
use super::{DeliveryArgs, Machine};
use crate::config::Settings;
use crate::delivery::Worker;

#[derive(Debug, Serialize)]
pub struct Report {
    benchmark: &'static str,
    backend: &'static str,
    machine: Machine,
    started_at: Timestamp,
    /// Uncontended one-on-one bookings straight through the store, each
    /// writing its two confirmation deliveries in its transaction.
    booking_with_outbox: Latencies,
    /// The same bookings, interleaved with those, on a store that writes
    /// the inbox but no outbox.
    booking_without_outbox: Latencies,
    /// What the outbox adds to the median booking, in percent.
    outbox_adds_to_p50_percent: f64,
    messages: usize,
    drain_seconds: f64,
    messages_per_second: f64,
    sent: usize,
}

pub async fn run(args: &DeliveryArgs) -> anyhow::Result<Report> {
    let database = FreshDatabase::create(&args.database_url).await?;
    let outcome = measure(args, &database).await;
    database.remove().await;
    outcome
}

async fn measure(args: &DeliveryArgs, database: &FreshDatabase) -> anyhow::Result<Report> {
    let started_at = Timestamp::now();
    let settings = Settings {
        database_url: database.url.clone(),
        smtp_url: Some(args.smtp_url.clone()),
        delivery_coalesce_seconds: 0,
        ..Settings::default()
    };
    let clock = Arc::new(SystemClock);
    let key = harness::fresh_key_bytes();
    let store = harness::open_store_keyed(&settings, clock.clone(), Key::from_bytes(key)).await?;
    let bare = crate::storage::open_without_outbox(&settings, clock.clone(), Key::from_bytes(key)).await?;
    let clinic = Clinic::seed(&store, 10, 100).await?;

    // Each booking owes two e-mails: its therapist's and its client's. The
    // bookings without an outbox take the odd hours, those with one the
    // even hours, one after the other.
    let bookings = args.messages.div_ceil(2);
    let first = Timestamp::now() + SignedDuration::from_hours(24 * 30);
    let (mut with, mut without) = (Vec::with_capacity(bookings), Vec::with_capacity(bookings));
    for i in 0..bookings * 2 {
        let therapist = clinic.therapists[(i / 2) % clinic.therapists.len()];
        let client = clinic.clients[(i / 2) % clinic.clients.len()];
        let start = first + SignedDuration::from_hours(i64::try_from(i)?);
        let session = harness::check_in(therapist, client, start);
        let (on, samples) = if i % 2 == 0 { (&store, &mut with) } else { (&bare, &mut without) };
        let began = Instant::now();
        on.create_session(&AuditCtx::operator(), clinic.org, session).await?;
        samples.push(began.elapsed());
    }
    store.seal_audit().await?;

    let worker = Worker::from_settings(store.clone(), clock, &settings)?.expect("SMTP is set");
    let began = Instant::now();
    let mut attempted = 0;
    while attempted < bookings * 2 {
        attempted += worker.drain().await?;
        if attempted < bookings * 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let drain = began.elapsed().as_secs_f64();
    let sent = store
        .deliveries(
            clinic.org,
            DeliveryFilter {
                state: Some(circles_domain::delivery::DeliveryState::Sent),
                limit: 1_000_000,
                after: None,
            },
        )
        .await?
        .len();
    let (with, without) = (Latencies::of(with), Latencies::of(without));
    Ok(Report {
        benchmark: "delivery",
        backend: database.backend,
        machine: Machine::here(),
        started_at,
        outbox_adds_to_p50_percent: (with.p50_ms / without.p50_ms - 1.0) * 100.0,
        booking_with_outbox: with,
        booking_without_outbox: without,
        messages: bookings * 2,
        drain_seconds: drain,
        // Only what the server accepted counts: a failed send is no message.
        messages_per_second: sent as f64 / drain,
        sent,
    })
}
