//! Groups, memberships, invitations, attendance and notifications.

use circles_domain::authz::GroupRelation;
use circles_domain::group::{GroupSettings, GroupStatus, GroupType, MembershipStatus};
use circles_domain::ids::{GroupId, OrgId, PersonId, SessionId};
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
    pub name: String,
    pub description: String,
    pub group_type: GroupType,
    pub status: GroupStatus,
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
    pub moderator_ids: Vec<PersonId>,
    pub facilitator_ids: Vec<PersonId>,
    /// Current members by status, derived from memberships (never a stored
    /// counter that could drift).
    pub active_members: i64,
    pub waitlisted_members: i64,
    pub pending_screening: i64,
    pub created_at: Timestamp,
    pub archived_at: Option<Timestamp>,
}

/// The descriptive and rule fields of a group, as created or replaced.
#[derive(Debug, Clone)]
pub struct GroupFields {
    pub name: String,
    pub description: String,
    pub group_type: GroupType,
    pub open: bool,
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMember {
    pub id: circles_domain::ids::MembershipId,
    pub group_id: GroupId,
    pub client_id: PersonId,
    pub status: MembershipStatus,
    pub join_date: Date,
    pub leave_date: Option<Date>,
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
