//! Time off: a therapist's request to be away, the moves between its
//! states, and how cover is chosen for the sessions it affects.
//!
//! `PENDING → APPROVED | DENIED | CANCELLED`; nothing leaves the last three.
//! Approved time off is busy time, but it is never refused because of
//! sessions already in its range: those are the affected sessions, which
//! the workflow reassigns to a coverage therapist or cancels.

use jiff::{SignedDuration, Timestamp};

use crate::ids::{PersonId, SessionId};
use crate::interval::Interval;
use crate::session::Modality;
use crate::slots::{Calendar, is_free};
use crate::spelling::spelled_enum;
use crate::validation::Validator;

spelled_enum!(
    /// Why a therapist is away.
    TimeOffKind {
        Vacation = "VACATION",
        Sick = "SICK",
        Conference = "CONFERENCE",
        Personal = "PERSONAL",
        Other = "OTHER",
    }
);

spelled_enum!(TimeOffStatus { Pending = "PENDING", Approved = "APPROVED", Denied = "DENIED", Cancelled = "CANCELLED" });

/// A move the time-off state machine does not allow; answered with 409.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} time-off request cannot be {action}")]
pub struct IllegalMove {
    pub from: &'static str,
    pub action: &'static str,
}

impl TimeOffStatus {
    fn decide(self, to: TimeOffStatus, action: &'static str) -> Result<TimeOffStatus, IllegalMove> {
        match self {
            TimeOffStatus::Pending => Ok(to),
            from => Err(IllegalMove { from: from.as_str(), action }),
        }
    }

    pub fn approve(self) -> Result<TimeOffStatus, IllegalMove> {
        self.decide(TimeOffStatus::Approved, "approved")
    }

    pub fn deny(self) -> Result<TimeOffStatus, IllegalMove> {
        self.decide(TimeOffStatus::Denied, "denied")
    }

    /// Withdrawn by the therapist (or an admin): a request before its
    /// decision, or approved time off when they come back to work after all
    /// (the time is bookable again and waiting clients may be offered it).
    pub fn cancel(self) -> Result<TimeOffStatus, IllegalMove> {
        match self {
            TimeOffStatus::Approved => Ok(TimeOffStatus::Cancelled),
            other => other.decide(TimeOffStatus::Cancelled, "cancelled"),
        }
    }

    /// Whether the request holds its range: one therapist's open requests
    /// never overlap.
    pub fn is_open(self) -> bool {
        matches!(self, TimeOffStatus::Pending | TimeOffStatus::Approved)
    }

    /// Affected sessions are reassigned or cancelled only once the time off
    /// is approved.
    pub fn arrange_cover(self) -> Result<(), IllegalMove> {
        match self {
            TimeOffStatus::Approved => Ok(()),
            from => Err(IllegalMove { from: from.as_str(), action: "covered before it is approved" }),
        }
    }
}

/// The longest absence one request may cover.
pub const MAX_ABSENCE: SignedDuration = SignedDuration::from_hours(24 * 366);
pub const REASON_MAX: usize = 1_000;

/// Checks the requested range, recording problems under `starts_at` and
/// `ends_at`. It may have begun already (sick since this morning) but must
/// not be over.
pub fn absence(
    v: &mut Validator,
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    now: Timestamp,
) -> Option<Interval> {
    let (start, end) = (starts_at?, ends_at?);
    let Some(range) = Interval::new(start, end) else {
        v.reject("ends_at", "must be after starts_at");
        return None;
    };
    if end <= now {
        v.reject("ends_at", "must be in the future");
        return None;
    }
    if range.length() > MAX_ABSENCE {
        v.reject("ends_at", "one request covers at most 366 days");
        return None;
    }
    Some(range)
}

/// A session the absent therapist is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffectedSlot {
    pub session: SessionId,
    pub interval: Interval,
    pub modality: Modality,
}

/// A therapist who might cover.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub therapist: PersonId,
    /// Their week and busy time; `blocked` includes their own pending and
    /// approved time off.
    pub calendar: Calendar<'a>,
    /// Affected sessions they are already on (a co-facilitated group):
    /// covered without moving anyone.
    pub already_on: Vec<SessionId>,
    /// Clients of the affected sessions they have had sessions with.
    pub shared_clients: u32,
}

/// One candidate's answer, best first in [`rank`]'s list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageOption {
    pub therapist_id: PersonId,
    pub covers_all: bool,
    pub can_cover: Vec<SessionId>,
    pub cannot_cover: Vec<SessionId>,
    pub shared_clients: u32,
}

/// Ranks `candidates`: those free for every affected session first, then by
/// how many they can take, then by clients they already know; ties by id so
/// the order is stable. Free means inside their hours (if they keep rules),
/// with room in the window, and neither busy nor away.
pub fn rank(affected: &[AffectedSlot], candidates: &[Candidate<'_>]) -> Vec<CoverageOption> {
    let mut options: Vec<CoverageOption> = candidates
        .iter()
        .map(|candidate| {
            let (can, cannot): (Vec<&AffectedSlot>, Vec<&AffectedSlot>) = affected.iter().partition(|slot| {
                candidate.already_on.contains(&slot.session)
                    || is_free(&candidate.calendar, slot.interval, Some(slot.modality))
            });
            CoverageOption {
                therapist_id: candidate.therapist,
                covers_all: cannot.is_empty(),
                can_cover: can.iter().map(|s| s.session).collect(),
                cannot_cover: cannot.iter().map(|s| s.session).collect(),
                shared_clients: candidate.shared_clients,
            }
        })
        .collect();
    options.sort_by(|a, b| {
        (b.covers_all, b.can_cover.len(), b.shared_clients)
            .cmp(&(a.covers_all, a.can_cover.len(), a.shared_clients))
            .then(a.therapist_id.cmp(&b.therapist_id))
    });
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::availability::{RuleInput, WeeklyAvailability};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn iv(from: &str, to: &str) -> Interval {
        Interval::new(at(from), at(to)).unwrap()
    }

    #[test]
    fn only_a_pending_request_is_decided_or_withdrawn() {
        use TimeOffStatus::*;
        assert_eq!(Pending.approve(), Ok(Approved));
        assert_eq!(Pending.deny(), Ok(Denied));
        assert_eq!(Pending.cancel(), Ok(Cancelled));
        for decided in [Approved, Denied, Cancelled] {
            assert!(decided.approve().is_err());
            assert!(decided.deny().is_err());
        }
        assert_eq!(Approved.cancel(), Ok(Cancelled), "approved time off may be withdrawn");
        assert!(Denied.cancel().is_err());
        assert_eq!(Cancelled.cancel().unwrap_err().to_string(), "a CANCELLED time-off request cannot be cancelled");
        assert!(Approved.arrange_cover().is_ok());
        assert!(Pending.arrange_cover().is_err());
        assert_eq!([Pending, Approved, Denied, Cancelled].map(TimeOffStatus::is_open), [true, true, false, false]);
    }

    #[test]
    fn an_absence_ends_after_it_starts_and_is_not_over() {
        let now = at("2027-03-01T12:00:00Z");
        let check = |from: &str, to: &str| {
            let mut v = Validator::default();
            let range = absence(&mut v, Some(at(from)), Some(at(to)), now);
            v.done(|| range).map_err(|e| e.0[0].reason.clone())
        };
        assert!(check("2027-03-01T08:00:00Z", "2027-03-01T17:00:00Z").is_ok(), "sick since this morning");
        assert_eq!(check("2027-03-05T00:00:00Z", "2027-03-04T00:00:00Z").unwrap_err(), "must be after starts_at");
        assert_eq!(check("2027-02-01T00:00:00Z", "2027-02-02T00:00:00Z").unwrap_err(), "must be in the future");
        assert_eq!(
            check("2027-03-02T00:00:00Z", "2028-03-10T00:00:00Z").unwrap_err(),
            "one request covers at most 366 days"
        );
    }

    #[test]
    fn cover_goes_first_to_whoever_is_free_for_everything_then_to_familiar_faces() {
        let monday = iv("2027-03-01T15:00:00Z", "2027-03-01T16:00:00Z");
        let tuesday = iv("2027-03-02T15:00:00Z", "2027-03-02T16:00:00Z");
        let affected = [
            AffectedSlot { session: SessionId::new(), interval: monday, modality: Modality::InPerson },
            AffectedSlot { session: SessionId::new(), interval: tuesday, modality: Modality::InPerson },
        ];
        let mornings_only = WeeklyAvailability::parse(
            "UTC",
            &[RuleInput { weekday: "monday", start_time: "08:00", end_time: "12:00", ..RuleInput::default() }],
        )
        .unwrap();
        let busy_tuesday = [tuesday];
        let [free, familiar_but_busy, off_hours, away] = [1, 2, 3, 4].map(|_| PersonId::new());
        let away_all_week = [iv("2027-03-01T00:00:00Z", "2027-03-08T00:00:00Z")];
        let candidates = [
            Candidate {
                therapist: away,
                calendar: Calendar { blocked: &away_all_week, ..Calendar::default() },
                already_on: vec![],
                shared_clients: 1,
            },
            Candidate {
                therapist: off_hours,
                calendar: Calendar { week: Some(&mornings_only), ..Calendar::default() },
                already_on: vec![],
                shared_clients: 5,
            },
            Candidate {
                therapist: familiar_but_busy,
                calendar: Calendar { booked: &busy_tuesday, ..Calendar::default() },
                already_on: vec![],
                shared_clients: 3,
            },
            Candidate { therapist: free, calendar: Calendar::default(), already_on: vec![], shared_clients: 0 },
        ];
        let ranked = rank(&affected, &candidates);
        let order: Vec<PersonId> = ranked.iter().map(|o| o.therapist_id).collect();
        assert_eq!(order, [free, familiar_but_busy, off_hours, away]);
        assert!(ranked[0].covers_all);
        assert_eq!(ranked[1].can_cover, [affected[0].session]);
        assert_eq!(ranked[1].cannot_cover, [affected[1].session]);
        assert_eq!(ranked[2].can_cover.len(), 0, "Monday afternoon is outside mornings-only hours");
        // Someone already on a session covers it without being free.
        let co_lead = Candidate { already_on: vec![affected[1].session], ..candidates[2].clone() };
        assert!(rank(&affected, &[co_lead])[0].covers_all);
    }
}
