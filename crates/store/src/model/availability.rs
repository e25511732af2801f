//! Working hours, free-slot searches, time off and cover.

use circles_domain::availability::WeeklyAvailability;
use circles_domain::ids::{GroupId, OrgId, PersonId, SessionId};
use circles_domain::input::TimeZoneName;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionKind, SessionStatus};
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
}

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
    pub kind: TimeOffKind,
    pub reason: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: TimeOffStatus,
    pub auto_reassign: bool,
    pub coverage_therapist_id: Option<PersonId>,
    pub requested_by: Option<PersonId>,
    pub decided_by: Option<PersonId>,
    pub decided_at: Option<Timestamp>,
    /// Why it was denied.
    pub decision_reason: Option<String>,
    /// Sessions the therapist is still on in the range (not cancelled, not
    /// over, invitation not declined): what needs cover.
    pub affected_sessions: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct TimeOffFilter {
    pub therapist: Option<PersonId>,
    pub status: Option<TimeOffStatus>,
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
