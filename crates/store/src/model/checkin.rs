//! Check-ins as the store takes and returns them.

use circles_domain::checkin::{Answers, Phase, Questionnaire, QuestionnaireRef, Score, Window, WindowOffsets};
use circles_domain::ids::{CheckInId, GroupId, PersonId, SessionId};
use jiff::Timestamp;

/// A questionnaire to attach: to one session or to every session of a group.
#[derive(Debug, Clone)]
pub struct NewCheckIn {
    pub questionnaire: QuestionnaireRef,
    pub target: CheckInTarget,
    pub phase: Phase,
    pub offsets: WindowOffsets,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInTarget {
    Session(SessionId),
    /// Every session of the group, past and future.
    Group(GroupId),
}

/// An attached questionnaire.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub id: CheckInId,
    pub questionnaire: QuestionnaireRef,
    pub title: String,
    pub target: CheckInTarget,
    pub phase: Phase,
    pub offsets: WindowOffsets,
    pub created_at: Timestamp,
}

/// A check-in as it applies to one session: its window there, and whether
/// the person asking has answered it.
#[derive(Debug, Clone)]
pub struct SessionCheckIn {
    pub check_in: CheckIn,
    pub session_id: SessionId,
    pub session_title: String,
    pub session_starts_at: Timestamp,
    pub window: Window,
    pub answered: bool,
}

/// One member's answers to a check-in in one session.
#[derive(Debug, Clone)]
pub struct CheckInResponse {
    pub person_id: PersonId,
    pub name: String,
    pub answers: Answers,
    pub score: Score,
    pub answered_at: Timestamp,
    pub updated_at: Timestamp,
    /// The member's totals for this questionnaire in their sessions up to
    /// and including this one, oldest first.
    pub history: Vec<i32>,
}

/// A session's check-in with the answers the reader may see.
#[derive(Debug, Clone)]
pub struct CheckInAnswers {
    pub questionnaire: Questionnaire,
    pub check_in: SessionCheckIn,
    pub responses: Vec<CheckInResponse>,
}

/// Everything group results are computed from: the numbers of every
/// response (no names, no text) and the organisation's threshold.
#[derive(Debug, Clone)]
pub struct CheckInNumbers {
    pub questionnaire: Questionnaire,
    pub check_in: SessionCheckIn,
    pub k: i64,
    /// `(who, answers without text)`: the reader's own is picked out by id.
    pub responses: Vec<(PersonId, Answers)>,
}

/// One point of a member's trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub session_id: SessionId,
    pub session_title: String,
    pub starts_at: Timestamp,
    pub total: Option<i32>,
    pub band: Option<String>,
}

/// One member's answers to a check-in in a session that is over, as they
/// gave them outside Circles.
#[derive(Debug, Clone)]
pub struct PastAnswer {
    pub session: SessionId,
    pub check_in: CheckInId,
    pub member: PersonId,
    pub answers: std::collections::BTreeMap<String, serde_json::Value>,
    pub answered_at: Timestamp,
}
