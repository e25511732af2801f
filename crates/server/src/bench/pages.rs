//! `circles bench pages`: the server's time to render a therapist's week
//! of 40 sessions and a 12-seat attendance sheet, measured at the HTTP edge,
//! and the bytes a browser loads for the schedule page.

use std::time::{Duration, Instant};

use circles_domain::group::GroupType;
use circles_domain::ids::PersonId;
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_store::model::{Approval, AuditCtx, GroupFields, NewGroup, NewSession, NewToken, TokenKind};
use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, ToSpan};
use serde::Serialize;

use super::PagesArgs;
use super::harness::{Clinic, FreshDatabase, Latencies, RunningServer, client};
use crate::auth::{SESSION_COOKIE, token};
use crate::web::assets::{SCRIPT, STYLE};
use crate::web::time::{start_of, zone};

#[derive(Debug, Serialize)]
pub struct PagesReport {
    pub backend: &'static str,
    pub requests: usize,
    /// GET /orgs/{org}/schedule?week=… for a therapist with 40 sessions that week.
    pub therapist_week: Latencies,
    pub therapist_week_html_bytes: usize,
    /// SQL statements one week page runs, as the store counts them.
    pub therapist_week_statements: u64,
    /// HTML + stylesheet + script of the schedule page, uncompressed.
    pub schedule_page_total_bytes: usize,
    /// GET /orgs/{org}/sessions/{id}/attendance with 12 seats.
    pub attendance_sheet: Latencies,
    pub attendance_sheet_html_bytes: usize,
    /// SQL statements one attendance sheet runs.
    pub attendance_sheet_statements: u64,
    /// A 12-seat session that has run, its sheet written and read with a
    /// note on every seat (sealed) and with none.
    pub clinical_notes: NotesReport,
}

/// What sealed clinical notes cost on the attendance sheet.
///
/// Reading is compared like for like: the same notes sealed, then rewritten
/// in the plain form that predates sealing (which reads back as it is).
/// Writing always seals, so its cost is bounded by the difference between
/// the writes with notes and without (which also holds storing the notes).
#[derive(Debug, Serialize)]
pub struct NotesReport {
    /// PUT /api/v1/orgs/{org}/sessions/{id}/attendance, 12 marks.
    pub write_with_notes: Latencies,
    pub write_without_notes: Latencies,
    /// GET /orgs/{org}/sessions/{id}/attendance (the sheet page), its 12
    /// notes sealed.
    pub read_with_notes: Latencies,
    /// The same page with the same 12 notes stored plain.
    pub read_with_plain_notes: Latencies,
    pub read_without_notes: Latencies,
    /// The cipher alone: sealing and opening 12 notes of this length, in
    /// process (mean of 1,000 rounds), microseconds.
    pub seal_and_open_12_notes_us: f64,
}

/// A therapist's note of a typical length.
const NOTE: &str = "Engaged throughout; shared a setback at work and used the grounding exercise. \
                    Follow up on sleep next week.";

/// The bench's direct write to the database: [`NotesReport`]'s baseline.
async fn unseal_attendance_notes(database_url: &str, session: uuid::Uuid, note: &str) -> anyhow::Result<u64> {
    Ok(if database_url.starts_with("sqlite:") {
        circles_store_sqlite::baseline::unseal_attendance_notes(database_url, session, note).await?
    } else {
        circles_store_postgres::baseline::unseal_attendance_notes(database_url, session, note).await?
    })
}

#[allow(clippy::too_many_arguments)]
async fn clinical_notes(
    http: &reqwest::Client,
    database_url: &str,
    server: &RunningServer,
    clinic: &Clinic,
    session: uuid::Uuid,
    secret: &str,
    cookie: &str,
    requests: usize,
) -> anyhow::Result<NotesReport> {
    let org = clinic.org.0;
    let write_url = format!("{}/api/v1/orgs/{org}/sessions/{session}/attendance", server.base);
    let read_url = format!("{}/orgs/{org}/sessions/{session}/attendance", server.base);
    let sheet = |note: Option<&str>| {
        let marks: Vec<serde_json::Value> = clinic
            .clients
            .iter()
            .map(|c| serde_json::json!({ "client_id": c.0, "status": "ATTENDED", "note": note }))
            .collect();
        serde_json::Value::Array(marks)
    };
    let (with, without) = (sheet(Some(NOTE)), sheet(None));
    let mut samples: [Vec<Duration>; 5] = Default::default();
    // The second of two reads: the first after a write takes whatever the
    // write left behind (the bench's own connection to the database, for
    // the plain notes), and both kinds of read are treated alike.
    let read = async || -> anyhow::Result<Duration> {
        measure(http, &read_url, cookie, 1).await?;
        let (read, _) = measure(http, &read_url, cookie, 1).await?;
        Ok(Duration::from_secs_f64(read.p50_ms / 1000.0))
    };
    // Alternating, so drift on a shared machine falls on all alike.
    for round in 0..requests + 5 {
        for (i, body) in [&with, &without].into_iter().enumerate() {
            let started = Instant::now();
            let response = http.put(&write_url).bearer_auth(secret).json(body).send().await?;
            anyhow::ensure!(response.status().is_success(), "{write_url} answered {}", response.status());
            response.bytes().await?;
            let wrote = started.elapsed();
            let sealed_read = read().await?;
            if round >= 5 {
                samples[i].push(wrote);
                samples[2 + i].push(sealed_read);
            }
            if i == 0 {
                let unsealed = unseal_attendance_notes(database_url, session, NOTE).await?;
                anyhow::ensure!(unsealed == clinic.clients.len() as u64, "{unsealed} notes rewritten plain");
                let plain_read = read().await?;
                if round >= 5 {
                    samples[4].push(plain_read);
                }
            }
        }
    }
    let [write_with, write_without, read_with, read_without, read_plain] = samples.map(Latencies::of);
    Ok(NotesReport {
        write_with_notes: write_with,
        write_without_notes: write_without,
        read_with_notes: read_with,
        read_with_plain_notes: read_plain,
        read_without_notes: read_without,
        seal_and_open_12_notes_us: cipher_alone(),
    })
}

fn cipher_alone() -> f64 {
    use circles_domain::sealed::{ClinicalField, DataKey, Key, Place, open, seal};
    let key = DataKey { version: 1, key: Key::from_bytes([7; 32]) };
    let rounds = 1_000;
    let started = Instant::now();
    for round in 0..rounds {
        for seat in 0..12u128 {
            let place = Place {
                org: uuid::Uuid::from_u128(1),
                field: ClinicalField::AttendanceNote,
                row: uuid::Uuid::from_u128(seat),
            };
            let sealed = seal(&key, &place, [round as u8; 24], NOTE);
            std::hint::black_box(open(&key, &place, &sealed).expect("opens"));
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

fn details(title: &str) -> SessionDetails {
    SessionDetails {
        title: Label::parse(title, 200).expect("valid"),
        description: String::new(),
        modality: Modality::InPerson,
        virtual_link: None,
        location: Some("Room 2".into()),
        address: None,
    }
}

fn session(kind: SessionKind, title: &str, slot: Interval, therapist: PersonId, clients: Vec<PersonId>) -> NewSession {
    NewSession {
        kind,
        details: details(title),
        interval: slot,
        timezone: "America/New_York".into(),
        capacity: clients.len().max(1) as i64,
        group_id: None,
        therapist_ids: vec![therapist],
        client_ids: clients,
        therapists_must_accept: false,
        approval: Approval::NotNeeded,
    }
}

async fn measure(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    requests: usize,
) -> anyhow::Result<(Latencies, usize)> {
    let mut samples = Vec::with_capacity(requests);
    let mut bytes = 0;
    for _ in 0..requests {
        let started = Instant::now();
        let response = http.get(url).header("cookie", cookie).send().await?;
        anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
        bytes = response.bytes().await?.len();
        samples.push(started.elapsed());
    }
    Ok((Latencies::of(samples), bytes))
}

pub async fn run(args: &PagesArgs) -> anyhow::Result<PagesReport> {
    let db = FreshDatabase::create(&args.database_url).await?;
    let backend = db.backend;
    let mut server = RunningServer::start(&db.url).await?;
    let store = server.store.clone();
    let clinic = Clinic::seed(&store, 1, 12).await?;
    let ctx = AuditCtx::operator();
    let therapist = clinic.therapists[0];
    let tz = zone("America/New_York");

    // Next week: eight 45-minute appointments a day, Monday to Friday, and
    // a 12-seat group on Saturday.
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let mut monday: Date = today.checked_add(1.day())?;
    while monday.weekday() != Weekday::Monday {
        monday = monday.checked_add(1.day())?;
    }
    for day in 0..5 {
        let date = monday.checked_add(day.days())?;
        for hour in 0..8 {
            let start = start_of(date, &tz) + SignedDuration::from_hours(8 + hour);
            let slot = Interval::starting_at(start, SignedDuration::from_mins(45)).expect("positive");
            let client = clinic.clients[((day * 8 + hour) % 12) as usize];
            store
                .create_session(
                    &ctx,
                    clinic.org,
                    session(SessionKind::OneOnOne, "Individual therapy", slot, therapist, vec![client]),
                )
                .await?;
        }
    }
    let saturday = start_of(monday.checked_add(5.days())?, &tz) + SignedDuration::from_hours(10);
    let slot = Interval::starting_at(saturday, SignedDuration::from_mins(90)).expect("positive");
    let fields = GroupFields {
        modality: Some(Modality::InPerson),
        location: Some("Room 2".into()),
        ..GroupFields::open_group("Skills group", GroupType::Skills)
    };
    let new_group = NewGroup { fields, moderator_ids: Vec::new(), facilitator_ids: vec![therapist] };
    let group_id = store.create_group(&ctx, clinic.org, new_group).await?.id;
    let mut input = session(SessionKind::Group, "Skills group", slot, therapist, clinic.clients.clone());
    input.group_id = Some(group_id);
    let group = store.create_session(&ctx, clinic.org, input).await?;

    // The therapist's browser session.
    let account = store.person(&ctx, clinic.org, therapist).await?.account_id;
    let secret = token::generate(token::SESSION_PREFIX);
    let new_token = NewToken {
        account_id: account,
        kind: TokenKind::Session,
        name: "bench pages".into(),
        token_hash: token::hash(&secret),
        expires_at: Some(jiff::Timestamp::now() + SignedDuration::from_hours(1)),
    };
    store.create_token(&ctx, new_token).await?;
    let cookie = format!("{SESSION_COOKIE}={secret}");

    // The same 12 clients' session that ran two hours ago, for the sheet's writes.
    let ran =
        Interval::starting_at(jiff::Timestamp::now() - SignedDuration::from_hours(2), SignedDuration::from_mins(90))
            .expect("positive");
    let mut input = session(SessionKind::Group, "Skills group", ran, therapist, clinic.clients.clone());
    input.group_id = Some(group_id);
    let ran = store.create_session(&ctx, clinic.org, input).await?;

    let http = client(1);
    let org = clinic.org.0;
    let week_url = format!("{}/orgs/{org}/schedule?week={monday}", server.base);
    let sheet_url = format!("{}/orgs/{org}/sessions/{}/attendance", server.base, group.id.0);
    // Warm up: connections, caches, the first allocation of everything.
    measure(&http, &week_url, &cookie, 5).await?;
    measure(&http, &sheet_url, &cookie, 5).await?;
    let before = store.statements_run();
    measure(&http, &week_url, &cookie, 1).await?;
    let therapist_week_statements = store.statements_run() - before;
    let before = store.statements_run();
    measure(&http, &sheet_url, &cookie, 1).await?;
    let attendance_sheet_statements = store.statements_run() - before;
    let (therapist_week, week_bytes) = measure(&http, &week_url, &cookie, args.requests).await?;
    let (attendance_sheet, sheet_bytes) = measure(&http, &sheet_url, &cookie, args.requests).await?;
    let clinical_notes =
        clinical_notes(&http, &db.url, &server, &clinic, ran.id.0, &secret, &cookie, args.requests).await?;
    server.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    db.remove().await;
    Ok(PagesReport {
        backend,
        requests: args.requests,
        therapist_week,
        therapist_week_html_bytes: week_bytes,
        therapist_week_statements,
        schedule_page_total_bytes: week_bytes + STYLE.len() + SCRIPT.len(),
        attendance_sheet,
        attendance_sheet_html_bytes: sheet_bytes,
        attendance_sheet_statements,
        clinical_notes,
    })
}
