//! The generation report as staff read it: who is in the way of an
//! occurrence, by name, and when, on the series' own clock.

use circles_domain::ids::{OrgId, PersonId};
use circles_domain::interval::Interval;
use circles_domain::local_time::local_time;

use crate::Result;
use crate::model::{BusyConflict, NamedConflict, SkippedMemberSeat, SkippedOccurrence};
use crate::sql::db::Executor;
use crate::sql::rows::names::{self, Names};

/// An occurrence that cannot be made, as the batch found it.
pub(super) struct Clash {
    pub recurrence_id: String,
    pub interval: Interval,
    pub conflicts: Vec<BusyConflict>,
}

/// A member who cannot take a seat on a made occurrence.
pub(super) struct SeatClash {
    pub recurrence_id: String,
    pub client: PersonId,
    pub interval: Interval,
    pub conflicts: Vec<BusyConflict>,
}

/// The names of everyone the report mentions, and of `others` (the
/// facilitators its working-hours warnings name), in one statement.
pub(super) async fn names_in<E: Executor>(
    tx: &mut E,
    org: OrgId,
    clashes: &[Clash],
    seats: &[SeatClash],
    others: impl IntoIterator<Item = PersonId>,
) -> Result<Names> {
    let busy = clashes.iter().flat_map(|c| &c.conflicts).chain(seats.iter().flat_map(|s| &s.conflicts));
    let people = busy.map(|c| c.person_id).chain(seats.iter().map(|s| s.client)).chain(others);
    names::load(tx, org, people).await
}

fn name(names: &Names, person: PersonId) -> String {
    names.get(&person).cloned().unwrap_or_else(|| "Someone".to_owned())
}

fn named(conflicts: Vec<BusyConflict>, names: &Names, zone: &str) -> Vec<NamedConflict> {
    conflicts
        .into_iter()
        .map(|c| NamedConflict {
            person_id: c.person_id,
            person_name: name(names, c.person_id),
            starts_at: c.starts_at,
            starts_at_local: local_time(c.starts_at, zone),
            ends_at: c.ends_at,
            ends_at_local: local_time(c.ends_at, zone),
            kind: c.kind,
        })
        .collect()
}

pub(super) fn occurrence(clash: Clash, names: &Names, zone: &str) -> SkippedOccurrence {
    SkippedOccurrence {
        recurrence_id: clash.recurrence_id,
        starts_at: clash.interval.start,
        starts_at_local: local_time(clash.interval.start, zone),
        ends_at: clash.interval.end,
        ends_at_local: local_time(clash.interval.end, zone),
        conflicts: named(clash.conflicts, names, zone),
    }
}

pub(super) fn seat(clash: SeatClash, names: &Names, zone: &str) -> SkippedMemberSeat {
    SkippedMemberSeat {
        recurrence_id: clash.recurrence_id,
        client_id: clash.client,
        client_name: name(names, clash.client),
        starts_at: clash.interval.start,
        starts_at_local: local_time(clash.interval.start, zone),
        conflicts: named(clash.conflicts, names, zone),
    }
}
