//! `circles bench fhir`: the FHIR `$find` operation for one therapist over
//! 30 days (the proposals come from the free-slot search), and the `Slot`
//! search over the same stretch, measured at the HTTP edge.

use std::time::{Duration, Instant};

use circles_domain::availability::{RuleInput, WeeklyAvailability};
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_store::model::{Approval, AuditCtx, NewSession};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};

use super::FhirArgs;
use super::harness::{Clinic, FreshDatabase, Latencies, RunningServer, client};

const ZONE: &str = "America/New_York";
const DAYS: i64 = 30;

#[derive(Debug, Serialize)]
pub struct FhirReport {
    pub backend: &'static str,
    pub requests: usize,
    /// Sessions already booked for the therapist in the 30 days.
    pub booked_sessions: usize,
    /// POST /fhir/{org}/Appointment/$find, one therapist, 30 days, 60-minute
    /// slots, `_count` 100.
    pub find_30_days: Latencies,
    pub proposals_returned: usize,
    /// GET /fhir/{org}/Slot?schedule=…&start=ge…&start=lt… over the same 30
    /// days, `_count` 100.
    pub slot_search_30_days: Latencies,
}

/// Office hours with a lunch gap, Monday to Friday.
fn office_hours() -> WeeklyAvailability {
    let mut rules = Vec::new();
    for weekday in ["monday", "tuesday", "wednesday", "thursday", "friday"] {
        for (start_time, end_time) in [("09:00", "12:00"), ("13:00", "17:00")] {
            rules.push(RuleInput { weekday, start_time, end_time, ..RuleInput::default() });
        }
    }
    WeeklyAvailability::parse(ZONE, &rules).expect("a valid week")
}

async fn measure(
    token: &str,
    requests: usize,
    send: impl Fn() -> reqwest::RequestBuilder,
) -> anyhow::Result<(Latencies, Value)> {
    let mut samples = Vec::with_capacity(requests);
    let mut last = Value::Null;
    for _ in 0..requests {
        let started = Instant::now();
        let response = send().bearer_auth(token).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "answered {status}: {body}");
        samples.push(started.elapsed());
        last = body;
    }
    Ok((Latencies::of(samples), last))
}

pub async fn run(args: &FhirArgs) -> anyhow::Result<FhirReport> {
    let db = FreshDatabase::create(&args.database_url).await?;
    let backend = db.backend;
    let mut server = RunningServer::start(&db.url).await?;
    let store = server.store.clone();
    let clinic = Clinic::seed(&store, 1, 20).await?;
    let ctx = AuditCtx::operator();
    let therapist = clinic.therapists[0];
    store.set_availability(&ctx, clinic.org, therapist, office_hours()).await?;

    // Two one-hour appointments on every working day of the next 30 days
    // (10:00 and 14:00 local), so the search works around booked time.
    let tz = jiff::tz::TimeZone::get(ZONE)?;
    let from = Timestamp::now() + SignedDuration::from_hours(1);
    let to = from + SignedDuration::from_hours(24 * DAYS);
    let today = from.to_zoned(tz.clone()).date();
    let mut booked = 0;
    for day in 1..DAYS {
        let date = today.checked_add(jiff::Span::new().days(day))?;
        if matches!(date.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
            continue;
        }
        for hour in [10, 14] {
            let start = date.at(hour, 0, 0, 0).to_zoned(tz.clone())?.timestamp();
            let client = clinic.clients[booked % clinic.clients.len()];
            let session = NewSession {
                kind: SessionKind::OneOnOne,
                details: SessionDetails {
                    title: Label::parse("Individual therapy", 200).expect("valid"),
                    description: String::new(),
                    modality: Modality::InPerson,
                    virtual_link: None,
                    location: None,
                    address: None,
                },
                interval: Interval::starting_at(start, SignedDuration::from_hours(1)).expect("positive"),
                timezone: ZONE.into(),
                capacity: 1,
                group_id: None,
                therapist_ids: vec![therapist],
                client_ids: vec![client],
                therapists_must_accept: false,
                approval: Approval::NotNeeded,
            };
            store.create_session(&ctx, clinic.org, session).await?;
            booked += 1;
        }
    }

    let http = client(1);
    let org = clinic.org.0;
    let find_url = format!("{}/fhir/{org}/Appointment/$find", server.base);
    let find_body = json!({ "resourceType": "Parameters", "parameter": [
        { "name": "start", "valueDateTime": from.to_string() },
        { "name": "end", "valueDateTime": to.to_string() },
        { "name": "practitioner", "valueReference": { "reference": format!("Practitioner/{}", therapist.0) } },
        { "name": "minutesDuration", "valueInteger": 60 },
        { "name": "_count", "valueInteger": 100 },
    ]})
    .to_string();
    let find = || http.post(&find_url).header("content-type", "application/fhir+json").body(find_body.clone());
    let slot_url = format!("{}/fhir/{org}/Slot", server.base);
    let slot_query = [
        ("schedule", format!("Schedule/{}", therapist.0)),
        ("start", format!("ge{from}")),
        ("start", format!("lt{to}")),
        ("_count", "100".into()),
    ];
    let slots = || http.get(&slot_url).query(&slot_query);
    // Warm up: connections, caches, the first allocation of everything.
    measure(&clinic.admin_token, 10, find).await?;
    measure(&clinic.admin_token, 10, slots).await?;
    let (find_30_days, found) = measure(&clinic.admin_token, args.requests, find).await?;
    let (slot_search_30_days, _) = measure(&clinic.admin_token, args.requests, slots).await?;
    server.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    db.remove().await;
    Ok(FhirReport {
        backend,
        requests: args.requests,
        booked_sessions: booked,
        find_30_days,
        proposals_returned: found["entry"].as_array().map_or(0, Vec::len),
        slot_search_30_days,
    })
}
