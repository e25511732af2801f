//! The check-in part of [`crate::Store`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use circles_domain::checkin::{Questionnaire, QuestionnaireRef};
use circles_domain::ids::{CheckInId, OrgId, PersonId, SessionId};
use jiff::Timestamp;

use crate::Result;
use crate::model::{
    AuditCtx, CheckIn, CheckInAnswers, CheckInNumbers, CheckInResponse, Keyset, NewCheckIn, PastAnswer, SessionCheckIn,
    TrendPoint,
};

/// Check-in questionnaires and where they are attached.
#[async_trait]
pub trait CheckInStore: Send + Sync {
    /// The built-in questionnaires, then the organisation's own by title.
    async fn questionnaires(&self, org: OrgId) -> Result<Vec<Questionnaire>>;
    /// Stores an organisation's own questionnaire (checked by the domain).
    async fn create_questionnaire(&self, ctx: &AuditCtx, org: OrgId, q: &Questionnaire) -> Result<()>;
    /// Attaches a questionnaire to a session or to every session of a group.
    async fn attach_check_in(&self, ctx: &AuditCtx, org: OrgId, new: NewCheckIn) -> Result<CheckIn>;
    /// A session's check-ins (its own and its group's), with whether
    /// `reader` has answered each, oldest first, then by id.
    async fn session_check_ins(&self, org: OrgId, session: SessionId, reader: PersonId) -> Result<Vec<SessionCheckIn>> {
        self.session_check_ins_page(org, session, reader, Keyset::all()).await
    }
    /// A page of [`Self::session_check_ins`]: those after `page.after`.
    async fn session_check_ins_page(
        &self,
        org: OrgId,
        session: SessionId,
        reader: PersonId,
        page: Keyset<(Timestamp, CheckInId)>,
    ) -> Result<Vec<SessionCheckIn>>;
    /// Check-ins open for `member` now, in sessions where they hold a seat.
    async fn open_check_ins(&self, org: OrgId, member: PersonId) -> Result<Vec<SessionCheckIn>>;
    /// The organisation's k: fewest answers before members see group results.
    async fn check_in_k(&self, org: OrgId) -> Result<i64>;
    async fn set_check_in_k(&self, ctx: &AuditCtx, org: OrgId, k: i64) -> Result<i64>;
}

/// Members' answers to check-ins. Answers are clinical records: every read
/// and write of them is audited.
#[async_trait]
pub trait CheckInAnswerStore: Send + Sync {
    /// `member` answers (or changes their answers) within the window. A
    /// safety alert notifies the session's facilitators and the
    /// organisation's admins in the same transaction.
    async fn answer_check_in(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        check_in: CheckInId,
        member: PersonId,
        answers: &BTreeMap<String, serde_json::Value>,
    ) -> Result<CheckInResponse>;
    /// The answers to a check-in in a session: everyone's, or only
    /// `only`'s (an audited read).
    async fn check_in_answers(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        check_in: CheckInId,
        only: Option<PersonId>,
    ) -> Result<CheckInAnswers>;
    /// The numbers group results are computed from (never free text), with
    /// the check-in as `reader` sees it.
    async fn check_in_numbers(
        &self,
        org: OrgId,
        session: SessionId,
        check_in: CheckInId,
        reader: PersonId,
    ) -> Result<CheckInNumbers>;
    /// `member`'s totals for a questionnaire across their sessions, oldest
    /// first (an audited read).
    async fn check_in_trend(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        member: PersonId,
        questionnaire: QuestionnaireRef,
    ) -> Result<Vec<TrendPoint>>;
}

/// Answers members gave outside Circles (on paper, before a clinic moved
/// its questionnaires here), recorded after their sessions.
#[async_trait]
pub trait CheckInHistoryStore: Send + Sync {
    /// Records each answer in one transaction, as given at its
    /// `answered_at`: only for check-ins whose window has closed (open ones
    /// are answered by the members themselves), only for members who held a
    /// seat, never over an answer already recorded. Each is audited. A
    /// recorded safety flag is kept and shown to the clinicians with the
    /// answers; it raises no alert, being history by the time it is entered.
    async fn record_past_answers(&self, ctx: &AuditCtx, org: OrgId, answers: &[PastAnswer]) -> Result<u64>;
}

/// Telling members live when check-in windows open and close.
#[async_trait]
pub trait CheckInWindowStore: Send + Sync {
    /// Records a live event for every window edge that has come (within
    /// the domain's grace) and was not announced yet, addressed to the
    /// session's seated members, each with its marker row in one
    /// transaction: each edge is announced once however many servers run
    /// this. Answers how many events it recorded.
    async fn announce_check_in_windows(&self) -> Result<u64>;
}
