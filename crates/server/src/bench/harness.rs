//! What every benchmark needs: a fresh database, a running server, a seeded
//! organisation with tokens, and latency statistics.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use circles_domain::Role;
use circles_domain::clock::SystemClock;
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::Label;
use circles_domain::input::{Email, OrgName, PersonName, TimeZoneName};
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_store::Store;
use circles_store::model::{
    Approval, AuditCtx, NewAccount, NewOrganisation, NewPerson, NewSession, NewToken, TokenKind,
};
use serde::Serialize;

use crate::auth::token;
use crate::config::Settings;
use crate::state::AppState;

/// A database created for one benchmark run and removed afterwards.
pub struct FreshDatabase {
    pub url: String,
    pub backend: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(std::path::PathBuf),
    Postgres { server_url: String, name: String },
}

impl FreshDatabase {
    pub async fn create(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = std::path::PathBuf::from(path.split('?').next().unwrap_or(path));
            anyhow::ensure!(!path.exists(), "{} exists; the benchmark needs a fresh file", path.display());
            return Ok(Self {
                url: format!("sqlite://{}", path.display()),
                backend: "sqlite",
                cleanup: Cleanup::SqliteFile(path),
            });
        }
        let name = format!("circles_bench_{}", uuid::Uuid::now_v7().simple());
        let fresh = circles_store_postgres::baseline::create_database(url, &name)
            .await
            .context("creating the benchmark database")?;
        Ok(Self { url: fresh, backend: "postgres", cleanup: Cleanup::Postgres { server_url: url.to_owned(), name } })
    }

    pub async fn remove(self) {
        match self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { server_url, name } => {
                if let Err(e) = circles_store_postgres::baseline::drop_database(&server_url, &name).await {
                    eprintln!("could not drop {name}: {e}");
                }
            }
        }
    }
}

/// A server on a free loopback port, as `circles serve` runs it.
pub struct RunningServer {
    pub base: String,
    pub store: Arc<dyn Store>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningServer {
    pub async fn start(database_url: &str) -> anyhow::Result<Self> {
        Self::start_with(database_url, |_| {}).await
    }

    /// [`RunningServer::start`] with settings changed by `adjust`.
    pub async fn start_with(database_url: &str, adjust: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let mut settings = Settings {
            database_url: database_url.to_owned(),
            // Benchmarks hammer from one address.
            login_attempts_per_minute_per_ip: 1_000_000,
            run_jobs: false,
            ..Settings::default()
        };
        adjust(&mut settings);
        let clock = Arc::new(SystemClock);
        let store = open_store(&settings, clock.clone()).await?;
        let state = AppState::new(store.clone(), clock, settings)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            let _ = crate::app::serve(listener, serving, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Self { base, store, shutdown: Some(tx) })
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An organisation with an admin token, `therapists` therapists and
/// `clients` clients, made straight through the store.
pub struct Clinic {
    pub org: OrgId,
    pub admin_token: String,
    pub therapists: Vec<PersonId>,
    pub clients: Vec<PersonId>,
}

impl Clinic {
    pub async fn seed(store: &Arc<dyn Store>, therapists: usize, clients: usize) -> anyhow::Result<Self> {
        let ctx = AuditCtx::operator();
        let admin = store
            .create_account(
                &ctx,
                NewAccount {
                    email: Email::parse("bench-admin@bench.example").expect("valid"),
                    name: PersonName::parse("Bench Admin").expect("valid"),
                    password_hash: None,
                },
            )
            .await?;
        let (org, _) = store
            .create_organisation(
                &AuditCtx { account_id: Some(admin.id), ..ctx.clone() },
                NewOrganisation {
                    name: OrgName::parse("Benchmark Clinic").expect("valid"),
                    timezone: TimeZoneName::parse("America/New_York").expect("valid"),
                    admin: admin.id,
                },
            )
            .await?;
        let admin_token = token::generate(token::API_PREFIX);
        store
            .create_token(
                &ctx,
                NewToken {
                    account_id: admin.id,
                    kind: TokenKind::Api,
                    name: "bench".into(),
                    token_hash: token::hash(&admin_token),
                    expires_at: None,
                },
            )
            .await?;
        let add = async |role: Role, n: usize| -> anyhow::Result<Vec<PersonId>> {
            let mut ids = Vec::with_capacity(n);
            for i in 0..n {
                let person = NewPerson {
                    email: Email::parse(&format!("{role}{i}@bench.example")).expect("valid"),
                    name: PersonName::parse(&format!("{role} {i}")).expect("valid"),
                    role,
                    password_hash: None,
                };
                ids.push(store.add_person(&ctx, org.id, person).await?.id);
            }
            Ok(ids)
        };
        let therapists = add(Role::Therapist, therapists).await?;
        let clients = add(Role::Client, clients).await?;
        Ok(Self { org: org.id, admin_token, therapists, clients })
    }
}

/// Latency statistics in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latencies {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| -> f64 {
            if samples.is_empty() {
                return 0.0;
            }
            let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
            millis(samples[index])
        };
        Self { count: samples.len(), p50_ms: at(0.50), p95_ms: at(0.95), p99_ms: at(0.99), max_ms: at(1.0) }
    }
}

/// A 50-minute virtual one-on-one check-in from `start`, the appointment
/// the benchmarks fill calendars with.
pub fn check_in(therapist: PersonId, client: PersonId, start: jiff::Timestamp) -> NewSession {
    NewSession {
        kind: SessionKind::OneOnOne,
        details: SessionDetails {
            title: Label::parse("Check-in", 200).expect("valid"),
            description: String::new(),
            modality: Modality::Virtual,
            virtual_link: Some("https://meet.example/bench".into()),
            location: None,
            address: None,
        },
        interval: Interval::starting_at(start, jiff::SignedDuration::from_mins(50)).expect("positive"),
        timezone: "America/New_York".into(),
        capacity: 1,
        group_id: None,
        therapist_ids: vec![therapist],
        client_ids: vec![client],
        therapists_must_accept: false,
        approval: Approval::NotNeeded,
    }
}

pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// The median of `values` (the middle one; the mean of the middle two).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// An HTTP client that keeps enough connections open for `concurrency`.
pub fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// Opens `concurrency` connections up front, so a race measures the server,
/// not TCP handshakes.
pub async fn warm_up(client: &reqwest::Client, base: &str, concurrency: usize) {
    let requests = (0..concurrency).map(|_| client.get(format!("{base}/healthz")).send());
    for response in futures::future::join_all(requests).await {
        let _ = response.map(|r| r.status());
    }
}

/// The store a benchmark runs on, sealing clinical text as a server does,
/// under a master key made for this run.
pub async fn open_store(
    settings: &Settings,
    clock: Arc<dyn circles_domain::Clock>,
) -> anyhow::Result<Arc<dyn circles_store::Store>> {
    open_store_keyed(settings, clock, circles_domain::sealed::Key::from_bytes(fresh_key_bytes())).await
}

/// A master key for one run, as bytes, so that the seeding store and the
/// servers it starts can each hold it.
pub fn fresh_key_bytes() -> [u8; circles_domain::sealed::KEY_BYTES] {
    use rand::RngCore;
    let mut bytes = [0u8; circles_domain::sealed::KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// [`open_store`] under the given master key.
pub async fn open_store_keyed(
    settings: &Settings,
    clock: Arc<dyn circles_domain::Clock>,
    key: circles_domain::sealed::Key,
) -> anyhow::Result<Arc<dyn circles_store::Store>> {
    crate::storage::open_with_key(settings, clock, Some(key)).await
}
