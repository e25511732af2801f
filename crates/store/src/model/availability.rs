//! Working hours, free-slot searches, time off and cover.

use std::collections::HashMap;

use circles_domain::availability::WeeklyAvailability;
use circles_domain::ids::{GroupId, OrgId, PersonId, SessionId, TimeOffId};
use circles_domain::input::TimeZoneName;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionKind, SessionStatus};
use circles_domain::slots::{Calendar, SlotFinder};
use circles_domain::time_off::{TimeOffKind, TimeOffStatus};
use jiff::{SignedDuration, Timestamp};

use super::BusyConflict;

/// A therapist's weekly working hours as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TherapistWeek {
    pub therapist_id: PersonId,
    /// No rules (never set, or cleared): available at any time.
    pub week: WeeklyAvailability,
    /// When the week was last replaced; `None` if it never was.
    pub updated_at: Option<Timestamp>,
}

/// A free-slot search over many therapists.
#[derive(Debug, Clone)]
pub struct AvailabilitySearch {
    /// `None`: every therapist of the organisation.
    pub therapists: Option<Vec<PersonId>>,
    /// Starts lie in `[from, to)`.
    pub from: Timestamp,
    pub to: Timestamp,
    pub duration: SignedDuration,
    pub step: SignedDuration,
    pub modality: Option<Modality>,
    /// The organisation's zone: therapists without rules get a grid from
    /// local midnight here.
    pub zone: TimeZoneName,
    /// Where a page starts: the first therapist (in id order) it covers.
    pub cursor: Option<PersonId>,
    /// At most this many therapists on the page (see
    /// `circles_domain::search::therapists_per_page`).
    pub page_size: usize,
}

/// One page of a search: its therapists, and everything finding their free
/// starts needs, already read from the database. The starts are found one
/// therapist at a time ([`SearchPage::free_starts`]), so an answer can be
/// written as it is found instead of held whole.
pub struct SearchPage {
    /// In id order.
    pub therapists: Vec<PersonId>,
    /// The first therapist after this page, when the search goes on.
    pub next_therapist: Option<PersonId>,
    weeks: HashMap<PersonId, WeeklyAvailability>,
    booked: HashMap<PersonId, Vec<Interval>>,
    away: HashMap<PersonId, Vec<Interval>>,
    /// `None`: nothing can be found (an empty range).
    finder: Option<SlotFinder>,
}

impl SearchPage {
    pub(crate) fn new(
        therapists: Vec<PersonId>,
        next_therapist: Option<PersonId>,
        (weeks, booked, away): CalendarParts,
        finder: Option<SlotFinder>,
    ) -> SearchPage {
        SearchPage { therapists, next_therapist, weeks, booked, away, finder }
    }

    /// A page without therapists.
    pub(crate) fn empty() -> SearchPage {
        SearchPage::new(Vec::new(), None, Default::default(), None)
    }

    /// The free starts of one of the page's therapists, earliest first.
    pub fn free_starts(&mut self, therapist: PersonId) -> Vec<Timestamp> {
        let Some(finder) = self.finder.as_mut() else { return Vec::new() };
        let calendar = Calendar {
            week: self.weeks.get(&therapist),
            booked: self.booked.get(&therapist).map_or(&[], Vec::as_slice),
            blocked: self.away.get(&therapist).map_or(&[], Vec::as_slice),
        };
        finder.free_starts(&calendar)
    }

    /// Every therapist's free starts at once (for callers that want them all
    /// in memory: tests, in-process measurements).
    pub fn into_free_starts(mut self) -> Vec<FreeStarts> {
        let therapists = std::mem::take(&mut self.therapists);
        therapists.into_iter().map(|t| FreeStarts { therapist_id: t, starts: self.free_starts(t) }).collect()
    }
}

impl std::fmt::Debug for SearchPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchPage")
            .field("therapists", &self.therapists)
            .field("next_therapist", &self.next_therapist)
            .finish_non_exhaustive()
    }
}

/// Weeks, booked sessions and blocked time by therapist.
pub(crate) type CalendarParts =
    (HashMap<PersonId, WeeklyAvailability>, HashMap<PersonId, Vec<Interval>>, HashMap<PersonId, Vec<Interval>>);

/// One therapist's free start times.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeStarts {
    pub therapist_id: PersonId,
    pub starts: Vec<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewTimeOff {
    pub therapist_id: PersonId,
    pub kind: TimeOffKind,
    pub reason: String,
    pub range: Interval,
    /// Move the affected sessions to the coverage therapist named on approval.
    pub auto_reassign: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeOff {
    pub id: circles_domain::ids::TimeOffId,
    pub org_id: OrgId,
    pub therapist_id: PersonId,
    pub therapist_name: String,
    pub kind: TimeOffKind,
    pub reason: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: TimeOffStatus,
    pub auto_reassign: bool,
    pub coverage_therapist_id: Option<PersonId>,
    pub coverage_therapist_name: Option<String>,
    pub requested_by: Option<PersonId>,
    pub requested_by_name: Option<String>,
    pub decided_by: Option<PersonId>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<Timestamp>,
    /// Why it was denied.
    pub decision_reason: Option<String>,
    /// Sessions the therapist is still on in the range (not cancelled, not
    /// over, invitation not declined): what needs cover.
    pub affected_sessions: i64,
    pub created_at: Timestamp,
    /// The organisation's zone, the clock its people read the request on.
    pub timezone: String,
}

#[derive(Debug, Clone, Default)]
pub struct TimeOffFilter {
    pub therapist: Option<PersonId>,
    pub status: Option<TimeOffStatus>,
    /// Only requests after this one in the list's order (start, newest
    /// first, then id): the page after a cursor.
    pub after: Option<(Timestamp, TimeOffId)>,
    pub limit: i64,
}

/// A session in a time-off range, without its clients' names.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedSession {
    pub session_id: SessionId,
    pub kind: SessionKind,
    pub status: SessionStatus,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub modality: Modality,
    pub group_id: Option<GroupId>,
    pub group_name: Option<String>,
    pub seats_taken: i64,
}

/// Who could cover, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageCandidate {
    pub therapist_id: PersonId,
    pub name: String,
    /// Free for every affected session.
    pub covers_all: bool,
    pub can_cover: Vec<SessionId>,
    pub cannot_cover: Vec<SessionId>,
    /// Clients of the affected sessions they have had sessions with.
    pub shared_clients: u32,
}

/// What moving the affected sessions did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reassignment {
    pub coverage_therapist_id: PersonId,
    /// Sessions now the coverage therapist's.
    pub moved: Vec<SessionId>,
    /// Why nothing moved (only on approval with `auto_reassign`; the
    /// reassign route answers 409 instead).
    pub conflicts: Vec<BusyConflict>,
}

/// An approval and, with `auto_reassign` and a coverage therapist, what
/// happened to the affected sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeOffApproval {
    pub time_off: TimeOff,
    pub reassignment: Option<Reassignment>,
}
