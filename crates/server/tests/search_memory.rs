//! The largest free-slot search the limits accept keeps the server under
//! 100 MB of resident memory, even eight at once.
//!
//! The real `circles` binary serves a seeded database as a child process,
//! so its peak resident size (`VmHWM` in `/proc/PID/status`) is the
//! server's alone. The seed is the worst case for the answer's size: 500
//! therapists without working hours (free at every step of the grid) over
//! 42 days, each with two sessions a day to read, searched on a 5-minute
//! grid for 5-minute sessions — 5.6 million free starts, 23 pages.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use circles_domain::Role;
use circles_domain::clock::SystemClock;
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::{Email, Label, OrgName, PersonName, TimeZoneName};
use circles_domain::interval::Interval;
use circles_domain::search::MAX_THERAPISTS;
use circles_domain::session::{Modality, SessionDetails};
use circles_server::auth::token;
use circles_store::Store;
use circles_store::model::{
    AuditCtx, ImportedAppointment, NewAccount, NewOrganisation, NewPerson, NewToken, TokenKind,
};
use circles_testkit::{Backend, TestDatabase, backend_tests};
use jiff::{SignedDuration, Timestamp};

backend_tests!(the_largest_accepted_search_stays_under_100_mb_even_eight_at_once);

const LIMIT_MB: f64 = 100.0;
const DAYS: i64 = 42;
const CLIENTS: usize = 100;

struct Seeded {
    org: OrgId,
    token: String,
    from: Timestamp,
}

async fn seed(store: &Arc<dyn Store>) -> Seeded {
    let ctx = AuditCtx::operator();
    let admin = store
        .create_account(
            &ctx,
            NewAccount {
                email: Email::parse("admin@memory.example").unwrap(),
                name: PersonName::parse("Admin").unwrap(),
                password_hash: None,
            },
        )
        .await
        .unwrap();
    let (org, _) = store
        .create_organisation(
            &ctx,
            NewOrganisation {
                name: OrgName::parse("Memory Clinic").unwrap(),
                timezone: TimeZoneName::parse("America/New_York").unwrap(),
                admin: admin.id,
            },
        )
        .await
        .unwrap();
    let token = token::generate(token::API_PREFIX);
    let new_token = NewToken {
        account_id: admin.id,
        kind: TokenKind::Api,
        name: "t".into(),
        token_hash: token::hash(&token),
        expires_at: None,
    };
    store.create_token(&ctx, new_token).await.unwrap();
    let add = async |role: Role, i: usize| -> PersonId {
        let person = NewPerson {
            email: Email::parse(&format!("{role}{i}@memory.example")).unwrap(),
            name: PersonName::parse(&format!("{role} {i}")).unwrap(),
            role,
            password_hash: None,
        };
        store.add_person(&ctx, org.id, person).await.unwrap().id
    };
    let mut therapists = Vec::new();
    for i in 0..MAX_THERAPISTS {
        therapists.push(add(Role::Therapist, i).await);
    }
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        clients.push(add(Role::Client, i).await);
    }
    // Tomorrow, midnight UTC: the whole search lies ahead.
    let from = Timestamp::from_second((Timestamp::now().as_second() / 86_400 + 1) * 86_400).unwrap();
    // Two 50-minute sessions a day each. A client is shared by five
    // therapists, each at different hours, so no client is double-booked.
    let mut appointments = Vec::new();
    for (i, &therapist) in therapists.iter().enumerate() {
        let hour = 2 * (i / CLIENTS) as i64;
        for day in 0..DAYS {
            for at in [hour, hour + 10] {
                let start = from + SignedDuration::from_hours(24 * day + at);
                appointments.push(ImportedAppointment {
                    therapist_id: therapist,
                    client_id: clients[i % CLIENTS],
                    interval: Interval::starting_at(start, SignedDuration::from_mins(50)).unwrap(),
                    details: SessionDetails {
                        title: Label::parse("Session", 200).unwrap(),
                        description: String::new(),
                        modality: Modality::InPerson,
                        virtual_link: None,
                        location: None,
                        address: None,
                    },
                    timezone: "America/New_York".into(),
                });
            }
        }
    }
    store.import_appointments(&ctx, org.id, appointments).await.unwrap();
    store.seal_audit().await.unwrap();
    Seeded { org: org.id, token, from }
}

/// `circles serve` on a free port; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(db: &TestDatabase) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_circles"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &db.url])
            .env("CIRCLES_MASTER_KEY_FILE", db.master_key_file())
            .env_remove("CIRCLES_CONFIG")
            .env("CIRCLES_RUN_JOBS", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("run circles serve");
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        for _ in 0..300 {
            if reqwest::get(format!("{}/healthz", server.base)).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("circles serve did not answer");
    }

    /// `VmHWM`: the most resident memory the server has had, in MB.
    fn peak_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What walking a search's pages saw.
#[derive(Debug, Default)]
struct Walk {
    pages: usize,
    bytes: usize,
}

/// Reads up to `max_pages` pages of `url`, each as a stream, keeping only the
/// cursor at its end.
async fn walk(http: &reqwest::Client, url: &str, token: &str, max_pages: usize) -> Walk {
    let mut seen = Walk::default();
    let mut cursor: Option<String> = None;
    while seen.pages < max_pages {
        let page = match &cursor {
            Some(c) => format!("{url}&cursor={c}"),
            None => url.to_owned(),
        };
        let mut response = http.get(&page).bearer_auth(token).send().await.unwrap();
        if response.status() != 200 {
            panic!("page {} answered {}: {}", seen.pages + 1, response.status(), response.text().await.unwrap());
        }
        let mut tail = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            seen.bytes += chunk.len();
            tail.extend_from_slice(&chunk);
            tail.drain(..tail.len().saturating_sub(80));
        }
        seen.pages += 1;
        let tail = String::from_utf8(tail).unwrap();
        let next = tail.rsplit("\"next_cursor\":").next().unwrap().trim_end_matches('}');
        cursor = (next != "null").then(|| next.trim_matches('"').to_owned());
        if cursor.is_none() {
            break;
        }
    }
    seen
}

async fn the_largest_accepted_search_stays_under_100_mb_even_eight_at_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = db.store(Arc::new(SystemClock)).await;
    let seeded = seed(&store).await;
    drop(store);
    let server = Server::start(&db).await;
    let to = seeded.from + SignedDuration::from_hours(24 * DAYS);
    let url = format!(
        "{}/api/v1/orgs/{}/availability?from={}&to={to}&duration_minutes=5&step_minutes=5",
        server.base, seeded.org, seeded.from
    );
    let http = reqwest::Client::new();
    let idle = server.peak_mb();

    // Every page of every start: 500 × 42 × 268 free starts.
    let all = walk(&http, &url, &seeded.token, usize::MAX).await;
    assert_eq!(all.pages, 23, "{all:?}");
    assert!(all.bytes > 250_000_000, "the whole search is large: {all:?}");
    // The compact form is one page.
    let compact = walk(&http, &format!("{url}&format=intervals"), &seeded.token, usize::MAX).await;
    assert_eq!(compact.pages, 1);
    // Eight clients at once, each reading two full pages.
    let at_once = futures::future::join_all((0..8).map(|_| walk(&http, &url, &seeded.token, 2))).await;
    assert!(at_once.iter().all(|w| w.pages == 2));

    let peak = server.peak_mb();
    assert!(peak < LIMIT_MB, "peak resident memory {peak:.1} MB (idle {idle:.1} MB) is over {LIMIT_MB} MB");
}
