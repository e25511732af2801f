//! Sessions, invitations, seats, holds and schedules.

use circles_domain::ids::{GroupId, HoldId, InvitationId, OrgId, PersonId, SeatId, SeriesId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::{InvitationStatus, Modality, SeatStatus, SessionDetails, SessionKind, SessionStatus};
use jiff::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub org_id: OrgId,
    pub kind: SessionKind,
    /// As the clock has it (a scheduled session past its start is in progress).
    pub status: SessionStatus,
    pub title: String,
    pub description: String,
    pub modality: Modality,
    pub virtual_link: Option<String>,
    pub location: Option<String>,
    pub address: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub capacity: i64,
    pub group_id: Option<GroupId>,
    /// The group's name, for a group session.
    pub group_name: Option<String>,
    pub series_id: Option<SeriesId>,
    pub recurrence_id: Option<String>,
    pub created_by: Option<PersonId>,
    pub created_by_name: Option<String>,
    pub created_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
    pub cancel_reason: Option<String>,
    /// `pending` while a member's proposal awaits a moderator.
    pub approval: Option<String>,
    pub therapists: Vec<Assignment>,
    /// Every seat, only the viewer's own, or none (see [`SessionView`]).
    pub seats: Vec<Seat>,
    /// Seats that hold their client's time.
    pub seats_taken: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: InvitationId,
    pub session_id: SessionId,
    pub therapist_id: PersonId,
    pub therapist_name: String,
    pub status: InvitationStatus,
    pub message: Option<String>,
    pub invited_at: Timestamp,
    pub responded_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seat {
    pub id: SeatId,
    pub client_id: PersonId,
    pub client_name: String,
    pub status: SeatStatus,
    pub minutes_late: Option<i64>,
    pub minutes_left_early: Option<i64>,
    pub note: Option<String>,
    pub marked_by: Option<PersonId>,
    pub marked_at: Option<Timestamp>,
    /// Attendance was recorded more than 30 days after the session ended.
    pub late_entry: bool,
}

/// Whose eyes a session is read with: staff see every seat; a client sees
/// only their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionView {
    Staff,
    Client(PersonId),
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub kind: SessionKind,
    pub details: SessionDetails,
    pub interval: Interval,
    pub timezone: String,
    pub capacity: i64,
    pub group_id: Option<GroupId>,
    pub therapist_ids: Vec<PersonId>,
    pub client_ids: Vec<PersonId>,
    /// Whether the therapists must accept an invitation first (group
    /// proposals) or are booked at once (one-on-one appointments).
    pub therapists_must_accept: bool,
    /// Whether a member's proposal waits for a moderator first.
    pub approval: super::Approval,
}

#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub group_id: Option<GroupId>,
    /// Only sessions this person booked or proposed.
    pub created_by: Option<PersonId>,
    /// Only sessions this person may see: those they are on, and the
    /// sessions of groups they belong to (proposals only for group staff).
    pub visible_to: Option<PersonId>,
    /// Only sessions after this one in the list's order (start, then id):
    /// the page after a cursor.
    pub after: Option<(Timestamp, SessionId)>,
    pub limit: i64,
}

/// Which of a therapist's invitations to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct InvitationFilter {
    /// `PENDING` lists only invitations that can be answered now: not
    /// proposals still awaiting a moderator, not cancelled sessions.
    pub status: Option<InvitationStatus>,
    /// Group or instant sessions; one-on-one assignments are never listed.
    pub kind: Option<SessionKind>,
    pub after: Option<(Timestamp, SessionId)>,
    pub limit: i64,
}

/// Who cancels decides what the seats become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canceller {
    /// Staff: every seat becomes CANCELLED_BY_PROVIDER.
    Provider,
    /// The client of a one-on-one session: their seat becomes
    /// CANCELLED_BY_CLIENT (or LATE_CANCELLED close to the start).
    Client(PersonId),
}

/// Why someone is busy, as shown in a conflict (never whose session it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusyKind {
    Session,
    Hold,
    TimeOff,
}

impl BusyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BusyKind::Session => "session",
            BusyKind::Hold => "hold",
            BusyKind::TimeOff => "time_off",
        }
    }
}

impl std::str::FromStr for BusyKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [BusyKind::Session, BusyKind::Hold, BusyKind::TimeOff].into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

/// One clash reported in a scheduling 409.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusyConflict {
    /// The requested person who is busy.
    pub person_id: PersonId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub kind: BusyKind,
    /// The session in the way, when it is one: read for its title and
    /// therapist, never sent (another client's appointment is nobody's business).
    #[serde(skip)]
    pub session_id: Option<SessionId>,
}

#[derive(Debug, Clone)]
pub struct NewHold {
    pub therapist_id: PersonId,
    pub client_id: PersonId,
    pub slots: Vec<Interval>,
    pub expires_at: Timestamp,
    pub details: SessionDetails,
    pub timezone: String,
}

pub use circles_domain::hold::HoldStatus;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hold {
    pub id: HoldId,
    pub therapist_id: PersonId,
    pub client_id: PersonId,
    /// As the clock has it: a live hold past its expiry is expired.
    pub status: HoldStatus,
    pub expires_at: Timestamp,
    pub slots: Vec<Interval>,
    pub created_by: Option<PersonId>,
    pub created_at: Timestamp,
}

/// Which sessions of a schedule are read: those overlapping `[from, to)`,
/// and cancelled ones too when `include_cancelled`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleWindow {
    pub from: Timestamp,
    pub to: Timestamp,
    pub include_cancelled: bool,
}

/// A session on someone's schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleEntry {
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub person_name: String,
    pub session_id: SessionId,
    pub kind: SessionKind,
    pub status: SessionStatus,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub modality: Modality,
    pub location: Option<String>,
    pub address: Option<String>,
    pub virtual_link: Option<String>,
    pub group_id: Option<GroupId>,
    pub group_name: Option<String>,
    /// In a one-on-one, the other person: the client for the therapist, the
    /// therapist for the client.
    pub with_name: Option<String>,
    /// The therapists who accepted the session, with their names, by name.
    pub therapists: Vec<(PersonId, String)>,
    /// How the person takes part: `therapist` or `client`.
    pub role: String,
    /// The person's own invitation or seat status.
    pub participation: String,
    pub seats_taken: i64,
    pub capacity: i64,
}

/// Who is on a session, for deciding what a caller may do with it. Reading
/// this is not a read of anyone's clinical record.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPeople {
    pub kind: SessionKind,
    /// As the clock has it.
    pub status: SessionStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub group_id: Option<GroupId>,
    pub therapists: Vec<(PersonId, InvitationStatus)>,
    /// Clients whose seat holds their time.
    pub clients: Vec<PersonId>,
    /// Who created the session (a member's proposal or drop-in names them).
    pub created_by: Option<PersonId>,
}

impl SessionPeople {
    pub fn includes(&self, person: PersonId) -> bool {
        self.therapists.iter().any(|(t, _)| *t == person) || self.clients.contains(&person)
    }

    /// Whether `person` is one of the session's therapists and has accepted.
    pub fn accepted_therapist(&self, person: PersonId) -> bool {
        self.therapists.iter().any(|(t, s)| *t == person && *s == InvitationStatus::Accepted)
    }
}
