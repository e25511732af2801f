//! The demo's one-on-one work: every therapist's working hours, weeks of
//! weekly appointments inside them, and a vacation another therapist covers.

use std::sync::Arc;

use circles_domain::availability::{RuleInput, WeeklyAvailability};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionKind};
use circles_domain::time_off::TimeOffKind;
use circles_store::Store;
use circles_store::model::{Approval, AuditCtx, NewSession, NewTimeOff};
use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use super::{People, TIMEZONE, at, days_after, details, weekday_on_or_after};

/// One line of a therapist's week: `(days, start, end, modality, max_sessions)`.
type HoursRule = (&'static [&'static str], &'static str, &'static str, Option<&'static str>, Option<i64>);

const WEEKDAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday"];

/// Working hours in `THERAPISTS` order. Everyone works weekday mornings,
/// where the appointments are; afternoons and evenings differ.
const WORKING_HOURS: [&[HoursRule]; 4] = [
    // Dr. Okafor: office hours.
    &[(WEEKDAYS, "09:00", "12:00", None, None), (WEEKDAYS, "13:00", "17:00", None, None)],
    // Dr. Ortiz: long days Monday to Thursday, two virtual evening slots.
    &[
        (WEEKDAYS, "09:00", "13:00", None, None),
        (&["monday", "tuesday", "wednesday", "thursday"], "14:00", "18:00", None, None),
        (&["tuesday", "thursday"], "18:30", "21:00", Some("VIRTUAL"), Some(2)),
    ],
    // Dr. Chen: early starts; runs the Thursday group.
    &[(WEEKDAYS, "08:00", "12:00", None, None), (WEEKDAYS, "13:00", "16:00", None, None)],
    // Dr. Fields: mornings, some afternoons, the Tuesday group and Saturdays.
    &[
        (WEEKDAYS, "09:00", "13:00", None, None),
        (&["monday", "wednesday", "friday"], "14:00", "17:00", None, None),
        (&["tuesday"], "15:00", "18:00", None, None),
        (&["saturday"], "09:00", "12:00", None, None),
    ],
];

pub(super) async fn working_hours(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
) -> anyhow::Result<()> {
    for (&therapist, rules) in people.therapists.iter().zip(WORKING_HOURS) {
        let inputs: Vec<RuleInput<'_>> = rules
            .iter()
            .flat_map(|&(days, start_time, end_time, modality, max_sessions)| {
                days.iter().map(move |&weekday| RuleInput {
                    weekday,
                    start_time,
                    end_time,
                    modality,
                    max_sessions,
                    ..RuleInput::default()
                })
            })
            .collect();
        let week = WeeklyAvailability::parse(TIMEZONE, &inputs).map_err(|e| anyhow::anyhow!("demo hours: {e}"))?;
        store.set_availability(ctx, org, therapist, week).await?;
    }
    Ok(())
}

fn one_on_one(title: &str, interval: Interval, therapist: PersonId, client: PersonId) -> NewSession {
    NewSession {
        kind: SessionKind::OneOnOne,
        details: details(title, Modality::InPerson, "Riverside, room 2"),
        interval,
        timezone: TIMEZONE.into(),
        capacity: 1,
        group_id: None,
        therapist_ids: vec![therapist],
        client_ids: vec![client],
        therapists_must_accept: false,
        approval: Approval::NotNeeded,
    }
}

/// Three weeks of weekly one-on-one appointments: each therapist sees three
/// clients on weekday mornings.
pub(super) async fn weekly_appointments(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
    zone: &TimeZone,
    today: Date,
) -> anyhow::Result<()> {
    for week in 0..3 {
        for (t, &therapist) in people.therapists.iter().enumerate() {
            for slot in 0..3 {
                let client = people.clients[(t * 3 + slot) % people.clients.len()];
                let day = weekday_on_or_after(days_after(today, 7 * week + 1 + t as i64));
                let start = at(zone, day, 9 + slot as i8);
                let interval = Interval::starting_at(start, SignedDuration::from_mins(50)).expect("positive");
                store.create_session(ctx, org, one_on_one("Individual therapy", interval, therapist, client)).await?;
            }
        }
    }
    Ok(())
}

/// Dr. Ortiz is away for the week after the appointments above (the admin
/// asked for him), and Dr. Chen covers the three check-ins he had booked
/// that week: they move to her when the request is approved.
pub(super) async fn covered_vacation(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
    zone: &TimeZone,
    today: Date,
) -> anyhow::Result<()> {
    let (samuel, mei) = (people.therapists[1], people.therapists[2]);
    let mut monday = days_after(today, 22);
    while monday.weekday() != Weekday::Monday {
        monday = monday.tomorrow()?;
    }
    for (day, &client) in people.clients[..3].iter().enumerate() {
        let start = at(zone, days_after(monday, day as i64), 10 + (day % 2) as i8);
        let interval = Interval::starting_at(start, SignedDuration::from_mins(50)).expect("positive");
        store.create_session(ctx, org, one_on_one("Weekly check-in", interval, samuel, client)).await?;
    }
    let vacation = NewTimeOff {
        therapist_id: samuel,
        kind: TimeOffKind::Vacation,
        reason: "Family trip".into(),
        range: Interval::new(at(zone, monday, 0), at(zone, days_after(monday, 7), 0)).expect("a week"),
        auto_reassign: true,
    };
    let requested = store.request_time_off(ctx, org, vacation).await?;
    store.approve_time_off(ctx, org, requested.id, Some(mei)).await?;
    Ok(())
}
