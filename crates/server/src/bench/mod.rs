//! `circles bench …`: benchmarks that run the real server against a fresh
//! database and print JSON. They measure; they assert nothing.

mod availability;
mod booking;
mod delivery;
mod events;
mod fhir;
mod harness;
mod pages;
mod rss;
mod serving;
mod waitlist;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

pub use harness::Latencies;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Booking under contention and without: the hot-slot race, booking
    /// throughput at concurrency 1/16/64, and the database's bare-insert
    /// baseline on the same machine.
    Booking(BookingArgs),
    /// The free-slot search for 1, 100 and 500 therapists over 42 days (and
    /// one therapist's 30 days) on a 15-minute grid: latency at the HTTP
    /// edge and SQL statements per request.
    Availability(AvailabilityArgs),
    /// Waitlists: 10,000 waiting entries and 1,000 sessions; freed seat to
    /// live offer latency, and one matching pass over ~1,000 freed seats.
    Waitlist(WaitlistArgs),
    /// The pages: a therapist's week of 40 sessions and a 12-seat
    /// attendance sheet, latency at the HTTP edge and bytes.
    Pages(PagesArgs),
    /// Drains queued e-mails to a local SMTP server (messages per second)
    /// and reports booking latency with the outbox writes it now includes.
    Delivery(DeliveryArgs),
    /// Live events: 1,000 SSE listeners on one server; one event's p99
    /// delivery to all, memory per idle listener, and catching up on 1,000
    /// missed events with `Last-Event-ID`.
    Events(EventsArgs),
    /// The FHIR API: `$find` for one therapist over 30 days, and the Slot
    /// search over the same days, latency at the HTTP edge.
    Fhir(FhirArgs),
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Where to create the fresh database (as for `bench booking`).
    #[arg(long)]
    pub database_url: String,
    /// SSE listeners connected at once (also the missed events replayed).
    #[arg(long, default_value_t = 1000)]
    pub listeners: usize,
    /// Repetitions of the resume; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FhirArgs {
    /// Where to create the fresh database (as for `bench booking`).
    #[arg(long)]
    pub database_url: String,
    /// Requests per measurement.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WaitlistArgs {
    /// Where to create the fresh database: `sqlite://FILE` (created and
    /// removed) or `postgres://USER@HOST/DB` (a new database is created on
    /// that server and dropped afterwards).
    #[arg(long)]
    pub database_url: String,
    /// Freed seats timed one by one.
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PagesArgs {
    /// Where to create the fresh database (as for `bench booking`).
    #[arg(long)]
    pub database_url: String,
    /// Requests per page.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// Where to create the fresh database (as for `bench booking`).
    #[arg(long)]
    pub database_url: String,
    /// The SMTP server to send to, e.g. `smtp://127.0.0.1:2525` (the tests'
    /// `crates/server/tests/mail/smtp_sink.py 2525 DIR` is one).
    #[arg(long)]
    pub smtp_url: String,
    /// How many e-mails to queue and drain.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BookingArgs {
    /// Where to create the fresh database: `sqlite://FILE` (created and
    /// removed) or `postgres://USER@HOST/DB` (a new database is created on
    /// that server and dropped afterwards). With `--target` it is optional
    /// and used only for the bare-insert baseline.
    #[arg(long, required_unless_present = "target")]
    pub database_url: Option<String>,
    /// Start this many `circles serve` processes on the fresh database and
    /// spread requests over them round-robin; without it the server runs
    /// inside the benchmark's own process.
    #[arg(long, conflicts_with = "target", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub servers: Option<u16>,
    /// Drive an already-running server at this base URL instead; its clinic
    /// is seeded through the API (needs `--token` and `--org`).
    #[arg(long, requires_all = ["token", "org"])]
    pub target: Option<String>,
    /// With `--target`: an admin's API token for the organisation.
    #[arg(long)]
    pub token: Option<String>,
    /// With `--target`: the organisation to seed and book in.
    #[arg(long)]
    pub org: Option<uuid::Uuid>,
    /// With `--target`: the server's process id, to read its CPU from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Repetitions of each measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seconds each throughput measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Simultaneous requests for the hot slot, each from its own client.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub hot_slot_requests: u32,
    /// Concurrency levels of the uncontended measurement, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 16, 64],
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub levels: Vec<u32>,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AvailabilityArgs {
    /// Where to create the fresh database: `sqlite://FILE` (created and
    /// removed) or `postgres://USER@HOST/DB` (a new database is created on
    /// that server and dropped afterwards).
    #[arg(long)]
    pub database_url: String,
    /// Repetitions of each measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Requests per search and round.
    #[arg(long, default_value_t = 20)]
    pub requests: usize,
    /// Seed the sessions one booking at a time, as clients would book them
    /// (minutes), instead of through one import (seconds): to compare.
    #[arg(long)]
    pub seed_by_booking: bool,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    let report = match command {
        BenchCommand::Booking(args) => {
            let report = booking::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
        BenchCommand::Availability(args) => {
            let report = availability::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
        BenchCommand::Waitlist(args) => {
            let report = waitlist::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
        BenchCommand::Pages(args) => {
            let report = pages::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
        BenchCommand::Delivery(args) => {
            let report = delivery::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
        BenchCommand::Events(args) => {
            let report = events::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
        BenchCommand::Fhir(args) => {
            let report = fhir::run(&args).await?;
            write(&report, args.out.as_deref())?
        }
    };
    println!("{report}");
    Ok(())
}

fn write(report: &impl Serialize, out: Option<&std::path::Path>) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(report)?;
    if let Some(path) = out {
        std::fs::write(path, &text)?;
    }
    Ok(text)
}

/// Where a benchmark ran.
#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub os: String,
    pub cpu_model: Option<String>,
    pub build: &'static str,
}

impl Machine {
    pub fn here() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        });
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            cpu_model,
            build: if cfg!(debug_assertions) { "debug" } else { "release" },
        }
    }
}
