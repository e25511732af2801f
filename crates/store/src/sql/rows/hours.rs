//! The working-hours check one-on-one bookings pass: a slot must fall in
//! the therapist's hours and in a window not yet full.

use circles_domain::ids::{OrgId, PersonId};
use circles_domain::interval::Interval;
use circles_domain::local_time::local_time;
use circles_domain::session::Modality;
use circles_domain::slots::{Fit, fit};
use jiff::Timestamp;
use serde_json::json;

use crate::model::BusyKind;
use crate::sql::busy::{self, HintRequest, HintsWithin};
use crate::sql::db::Executor;
use crate::sql::rows::calendars::{DAY, load_weeks};
use crate::{Result, StoreError};

/// Refuses one-on-one `slots` for `therapist` that fall outside their
/// working hours or in a window already holding its `max_sessions`, with
/// retry hints that fit their hours and are free for all `people`. A
/// therapist without rules may be booked at any time.
pub(crate) async fn require_working_hours<E: Executor>(
    tx: &mut E,
    org: OrgId,
    therapist: PersonId,
    modality: Modality,
    slots: &[Interval],
    people: &[PersonId],
    now: Timestamp,
) -> Result<()> {
    let Some(week) = load_weeks(tx, org, &[therapist]).await?.remove(&therapist) else { return Ok(()) };
    let (Some(first), Some(last)) = (slots.iter().map(|s| s.start).min(), slots.iter().map(|s| s.end).max()) else {
        return Ok(());
    };
    if week.is_unrestricted() {
        return Ok(());
    }
    let mut booked = if week.rules().iter().any(|r| r.max_sessions.is_some()) {
        let around = Interval::new(first - DAY, last + DAY).expect("a widened window");
        let busy = busy::load(tx, org, &[therapist], around).await?;
        busy.iter().filter(|b| b.is_live(now) && b.kind != BusyKind::TimeOff).map(|b| b.interval).collect()
    } else {
        Vec::new()
    };
    booked.sort();
    for &slot in slots {
        // Said on the clock of the therapist's working hours.
        let at = local_time(slot.start, week.timezone().as_str());
        let why = match fit(&week, &booked, slot, modality) {
            Fit::Inside => {
                let at = booked.partition_point(|b| *b < slot);
                booked.insert(at, slot);
                continue;
            }
            Fit::OutsideHours => {
                format!("{at} is outside the therapist's working hours for {} sessions", modality.as_str())
            }
            Fit::WindowFull { max_sessions } => {
                format!("the therapist's working window at {at} already holds its {max_sessions} sessions")
            }
        };
        let within = HintsWithin::WorkingHours { therapist, modality };
        let mut error = StoreError::conflict("outside_availability", why);
        if let StoreError::Conflict(c) = &mut error {
            c.details.insert("slot".into(), json!(slot));
        }
        let hints = HintRequest { org, people: people.to_vec(), wanted: slot, now, within };
        return Err(hints.defer(error));
    }
    Ok(())
}
