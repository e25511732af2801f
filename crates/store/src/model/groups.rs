//! Groups, memberships, invitations, attendance and notifications.

use circles_domain::authz::GroupRelation;
use circles_domain::group::{GroupSettings, GroupStatus, GroupType, MembershipStatus};
use circles_domain::ids::{GroupId, OrgId, PersonId, SeriesId, SessionId};
use circles_domain::recurrence::RecurrenceInput;
use circles_domain::session::{Modality, SeatStatus};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::{Assignment, Session};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub org_id: OrgId,
    /// What its creator and editors set.
    #[serde(flatten)]
    pub fields: GroupFields,
    pub status: GroupStatus,
    /// The series its recurrence currently generates into.
    pub series_id: Option<SeriesId>,
    pub moderator_ids: Vec<PersonId>,
    pub facilitator_ids: Vec<PersonId>,
    /// The names of `moderator_ids` and `facilitator_ids`, in their order.
    pub moderator_names: Vec<String>,
    pub facilitator_names: Vec<String>,
    /// Current members by status, derived from memberships (never a stored
    /// counter that could drift).
    pub active_members: i64,
    pub waitlisted_members: i64,
    pub pending_screening: i64,
    pub created_at: Timestamp,
    pub archived_at: Option<Timestamp>,
}

/// The descriptive and rule fields of a group, as created or replaced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFields {
    pub name: String,
    pub description: String,
    pub group_type: GroupType,
    /// Open groups take new members at any time; closed ones only by staff.
    pub open: bool,
    /// Most active members at once; `None` for no limit.
    pub capacity: Option<i64>,
    pub requires_screening: bool,
    pub target_population: Option<String>,
    pub age_range: Option<String>,
    pub modality: Option<Modality>,
    pub virtual_link: Option<String>,
    pub location: Option<String>,
    pub address: Option<String>,
    pub settings: GroupSettings,
    pub recurrence: Option<RecurrenceInput>,
}

impl GroupFields {
    /// An open group of `group_type` named `name`, with no limits, place,
    /// schedule or settings of its own: the start that callers adjust.
    pub fn open_group(name: &str, group_type: GroupType) -> Self {
        Self {
            name: name.to_owned(),
            description: String::new(),
            group_type,
            open: true,
            capacity: None,
            requires_screening: false,
            target_population: None,
            age_range: None,
            modality: None,
            virtual_link: None,
            location: None,
            address: None,
            settings: GroupSettings::default(),
            recurrence: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub fields: GroupFields,
    pub moderator_ids: Vec<PersonId>,
    pub facilitator_ids: Vec<PersonId>,
}

/// A change to a group: the new fields, and optionally new staff lists.
#[derive(Debug, Clone)]
pub struct GroupUpdate {
    pub fields: GroupFields,
    pub moderator_ids: Option<Vec<PersonId>>,
    pub facilitator_ids: Option<Vec<PersonId>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screening {
    pub date: Date,
    pub notes: String,
    pub approved: bool,
    pub screened_by: Option<PersonId>,
    pub screened_by_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMember {
    pub id: circles_domain::ids::MembershipId,
    pub group_id: GroupId,
    pub group_name: String,
    pub client_id: PersonId,
    /// The client's name, for staff reading the roster (and the client).
    pub client_name: String,
    pub status: MembershipStatus,
    pub join_date: Date,
    pub leave_date: Option<Date>,
    /// The status an active member takes on their leave date, while that
    /// date lies ahead.
    pub departs_as: Option<MembershipStatus>,
    pub exit_reason: Option<String>,
    pub screening: Option<Screening>,
    pub created_at: Timestamp,
}

/// A therapist's invitation with the session it is for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invitation {
    pub assignment: Assignment,
    pub session: Session,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Accept,
    Decline,
}

/// One line of an attendance sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct AttendanceMark {
    pub client_id: PersonId,
    pub status: SeatStatus,
    pub minutes_late: Option<i64>,
    pub minutes_left_early: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub id: circles_domain::ids::NotificationId,
    pub recipient_id: PersonId,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub session_id: Option<SessionId>,
    pub group_id: Option<GroupId>,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// How a person stands towards one group, with the group's rules.
#[derive(Debug, Clone)]
pub struct GroupStanding {
    pub group: Group,
    pub relation: GroupRelation,
}

/// What a proposal waits for before therapists are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    NotNeeded,
    Pending,
}

/// A screening as a therapist records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningInput {
    pub date: Date,
    pub notes: String,
    pub approved: bool,
}

/// A staff decision about one membership.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MembershipChange {
    pub status: Option<MembershipStatus>,
    pub leave_date: Option<Date>,
    pub exit_reason: Option<String>,
    pub screening: Option<ScreeningInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipUpdate {
    pub member: GroupMember,
    /// Seats the member still holds in sessions on or after their leave
    /// date (they are not cancelled automatically).
    pub future_seats: i64,
    /// Places the change freed for the waitlist: the next waitlist pass
    /// offers each to the best-placed waiting member.
    pub freed_places: u64,
}

/// A session a member could not be seated on, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedSeat {
    pub session_id: SessionId,
    pub starts_at: Timestamp,
    /// `scheduling_conflict` or `session_full`.
    pub reason: &'static str,
    pub conflicts: Vec<super::BusyConflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatingReport {
    pub seated: Vec<SessionId>,
    pub skipped: Vec<SkippedSeat>,
}

/// An occurrence not generated because its facilitators are busy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedOccurrence {
    pub recurrence_id: String,
    pub starts_at: Timestamp,
    /// On the series' clock, e.g. "Wed 3 Mar, 18:00 EST".
    pub starts_at_local: String,
    pub ends_at: Timestamp,
    pub ends_at_local: String,
    pub conflicts: Vec<NamedConflict>,
}

/// A member left off one generated session because they are busy then.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedMemberSeat {
    pub recurrence_id: String,
    pub client_id: PersonId,
    /// Staff read the report: they see their clients' names.
    pub client_name: String,
    pub starts_at: Timestamp,
    pub starts_at_local: String,
    pub conflicts: Vec<NamedConflict>,
}

/// What is in the way of one occurrence: who is busy, by name, and when on
/// the series' clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedConflict {
    pub person_id: PersonId,
    pub person_name: String,
    pub starts_at: Timestamp,
    pub starts_at_local: String,
    pub ends_at: Timestamp,
    pub ends_at_local: String,
    pub kind: super::BusyKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    pub created: Vec<Session>,
    /// Occurrences in the range generated before (never made twice).
    pub already_generated: i64,
    pub skipped: Vec<SkippedOccurrence>,
    pub seats_skipped: Vec<SkippedMemberSeat>,
    /// Generated sessions that fall outside a facilitator's working hours.
    pub outside_working_hours: Vec<OutsideWorkingHours>,
}

/// A generated occurrence outside one facilitator's working hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutsideWorkingHours {
    pub recurrence_id: String,
    pub starts_at: Timestamp,
    /// The start in the series' zone, e.g. "Wed 3 Mar 2027, 18:00 EST".
    pub starts_at_local: String,
    pub therapist_id: PersonId,
    pub therapist_name: String,
}

/// A change to a group's series from one date on.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesChange {
    pub from: Date,
    pub start_time: Option<jiff::civil::Time>,
    pub duration_minutes: Option<i64>,
    pub facilitator_ids: Option<Vec<PersonId>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitOutcome {
    pub group: Group,
    /// Already generated sessions that moved with the series.
    pub moved: Vec<Session>,
}

/// A group's attendance statistics and its members by status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    pub stats: circles_domain::attendance::GroupStats,
    pub members_by_status: std::collections::BTreeMap<String, i64>,
}

/// One of a client's own membership periods, with the group's name and
/// their attendance in it (what `GET /me/memberships` shows them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnMembership {
    pub org_id: OrgId,
    pub org_name: String,
    pub group_name: String,
    pub member: GroupMember,
    pub stats: circles_domain::attendance::MemberStats,
}

/// A group's statistics over a range of local weeks, for its staff.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOverTime {
    /// Every week of the range, empty ones included.
    pub weeks: Vec<circles_domain::over_time::WeekAttendance>,
    /// Each questionnaire answered in the group's sessions of the range.
    pub check_ins: Vec<QuestionnaireAverages>,
}

/// One questionnaire's mean totals, session by session.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionnaireAverages {
    pub questionnaire: circles_domain::checkin::QuestionnaireRef,
    pub title: String,
    /// Whether a higher total reads as better (mood) or worse (PHQ-9).
    pub higher_is_better: bool,
    /// `(session title, its average)`, oldest first.
    pub sessions: Vec<(String, circles_domain::over_time::SessionAverage)>,
}
