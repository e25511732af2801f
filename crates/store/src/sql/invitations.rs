//! Therapist invitations to proposed group sessions, and moderators'
//! approval of members' proposals.
//!
//! A proposed session becomes scheduled when every remaining invitation is
//! accepted. Accepting claims the therapist's time (so it can clash); a
//! pending invitation does not make anyone busy.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{InvitationId, OrgId, PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::{InvitationStatus, NotificationKind, SessionKind, SessionStatus};
use circles_domain::spelling::with_article;
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, Owner};
use super::db::insert_rows;
use super::db::{Backend, Executor, Row, sql};
use super::notify::{self, Notice};
use super::rows::names;
use super::rows::sessions::{SESSION_COLUMNS, Seats, fetch, lock_session, session_from_row};
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, Invitation, InvitationFilter, Response, Session};
use crate::sql::rows::statuses::{INVITATION_DECLINED, SESSION_CANCELLED, SESSION_SCHEDULED};
use crate::{InvitationStore, Result, StoreError};

fn require_proposed(session: &Session) -> Result<()> {
    if session.status != SessionStatus::Proposed {
        return Err(StoreError::conflict(
            "invitation_closed",
            format!("the session is {}; invitations are answered while it is proposed", session.status.words()),
        ));
    }
    Ok(())
}

/// How a proposal awaiting its moderator is stored.
const AWAITING_APPROVAL: &str = "pending";

fn awaiting_approval(session: &Session) -> bool {
    session.approval.as_deref() == Some(AWAITING_APPROVAL)
}

/// Schedules the session if every invitation is accepted, telling its
/// therapists and the group's members. Returns whether it did.
async fn schedule_if_all_accepted<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: &Session,
    actor: Option<PersonId>,
    now: Timestamp,
) -> Result<bool> {
    let statuses: Vec<String> = tx
        .fetch_all(
            sql("SELECT status FROM session_therapists WHERE org_id = $1 AND session_id = $2")
                .bind(org)
                .bind(session.id),
        )
        .await?
        .iter()
        .map(|r| r.text("status"))
        .collect::<Result<_, _>>()?;
    let all_accepted = !statuses.is_empty() && statuses.iter().all(|s| s == InvitationStatus::Accepted.as_str());
    if !all_accepted {
        return Ok(false);
    }
    tx.execute(
        sql(format!("UPDATE sessions SET status = {SESSION_SCHEDULED}, updated_at = $3 WHERE org_id = $1 AND id = $2"))
            .bind(org)
            .bind(session.id)
            .bind(now),
    )
    .await?;
    let mut told = session.therapists.iter().map(|t| t.therapist_id).collect::<Vec<_>>();
    told.extend(session.created_by);
    if let Some(group) = session.group_id {
        told.extend(notify::group_people(tx, org, group, "member").await?);
    }
    let notice = Notice {
        kind: NotificationKind::SessionScheduled,
        title: "A group session is open for seats",
        body: format!("{} on {} is confirmed", session.title, names::when(session)),
        session: Some(session.id),
        group: session.group_id,
    };
    notify::push(tx, org, now, told, actor, &notice).await?;
    Ok(true)
}

/// `person` is a therapist of the organisation; otherwise the refusal says
/// who they are instead.
async fn require_therapist<E: Executor>(tx: &mut E, org: OrgId, person: PersonId) -> Result<()> {
    let row = tx
        .fetch_optional(
            sql("SELECT p.role, a.name FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND p.id = $2")
            .bind(org)
            .bind(person),
        )
        .await?
        .ok_or_else(|| StoreError::invalid("therapist_id", "is nobody in this organisation"))?;
    let role: Role = row.parsed("role")?;
    if role != Role::Therapist {
        let name = row.text("name")?;
        return Err(StoreError::invalid(
            "therapist_id",
            format!(
                "{name} is {}, not a therapist; only therapists facilitate sessions",
                with_article(&role.to_string())
            ),
        ));
    }
    Ok(())
}

/// Who hears about changes to a proposal: its proposer and the group's moderators.
async fn proposal_owners<E: Executor>(tx: &mut E, org: OrgId, session: &Session) -> Result<Vec<PersonId>> {
    let mut owners: Vec<PersonId> = session.created_by.into_iter().collect();
    if let Some(group) = session.group_id {
        owners.extend(notify::group_people(tx, org, group, "moderator").await?);
    }
    Ok(owners)
}

async fn fetch_invitation<E: Executor>(tx: &mut E, org: OrgId, id: InvitationId, now: Timestamp) -> Result<Invitation> {
    let row = tx
        .fetch_optional(
            sql("SELECT session_id FROM session_therapists WHERE org_id = $1 AND id = $2").bind(org).bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("invitation"))?;
    let session = fetch(tx, org, row.id("session_id")?, Seats::None, now).await?;
    let assignment =
        session.therapists.iter().find(|a| a.id == id).cloned().ok_or(StoreError::NotFound("invitation"))?;
    Ok(Invitation { assignment, session })
}

#[async_trait]
impl<B: Backend> InvitationStore for SqlStore<B> {
    async fn invitations(&self, org: OrgId, therapist: PersonId, filter: InvitationFilter) -> Result<Vec<Invitation>> {
        let now = self.clock.now();
        // Pending means answerable now: a proposal still awaiting its
        // moderator, or a cancelled session, has nothing to answer.
        let answerable = filter.status == Some(InvitationStatus::Pending);
        read_tx!(self, |tx| {
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.org_id = $1 AND s.kind <> '{one_on_one}' \
                         AND ($4 IS NULL OR s.kind = $4) \
                         AND ($5 = FALSE OR (s.status <> '{cancelled}' AND (s.approval IS NULL OR s.approval <> '{awaiting}'))) \
                         AND ($6 IS NULL OR s.starts_at > $6 OR (s.starts_at = $6 AND s.id > $7)) \
                         AND EXISTS (SELECT 1 FROM session_therapists t WHERE t.org_id = s.org_id AND t.session_id = s.id \
                         AND t.therapist_id = $2 AND ($3 IS NULL OR t.status = $3)) ORDER BY s.starts_at, s.id LIMIT $8",
                        one_on_one = SessionKind::OneOnOne.as_str(),
                        cancelled = SessionStatus::Cancelled.as_str(),
                        awaiting = AWAITING_APPROVAL,
                    ))
                    .bind(org)
                    .bind(therapist)
                    .bind(filter.status.map(InvitationStatus::as_str))
                    .bind(filter.kind.map(SessionKind::as_str))
                    .bind(answerable)
                    .bind(filter.after.map(|(at, _)| at))
                    .bind(filter.after.map(|(_, id)| id))
                    .bind(filter.limit),
                )
                .await?;
            let mut sessions = rows.iter().map(|r| session_from_row(r, now)).collect::<Result<Vec<_>>>()?;
            super::rows::sessions::attach(&mut tx, org, &mut sessions, Seats::None).await?;
            sessions
                .into_iter()
                .filter_map(|session| {
                    let assignment = session.therapists.iter().find(|a| a.therapist_id == therapist)?.clone();
                    Some(Invitation { assignment, session })
                })
                .collect::<Vec<_>>()
        })
    }

    async fn respond_invitation(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        invitation: InvitationId,
        therapist: PersonId,
        response: Response,
        message: Option<String>,
    ) -> Result<Invitation> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql("SELECT session_id, status FROM session_therapists WHERE org_id = $1 AND id = $2 AND therapist_id = $3")
                        .bind(org)
                        .bind(invitation)
                        .bind(therapist),
                )
                .await?
                // Someone else's invitation does not exist as far as this caller can tell.
                .ok_or(StoreError::NotFound("invitation"))?;
            let session_id: SessionId = row.id("session_id")?;
            // Locking the session serialises the last two acceptances, so
            // exactly one of them schedules it.
            let mut session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            require_proposed(&session)?;
            if awaiting_approval(&session) {
                return Err(StoreError::conflict(
                    "awaiting_approval",
                    "a moderator has not approved this proposal yet",
                ));
            }
            if row.text("status")? != InvitationStatus::Pending.as_str() {
                return Err(StoreError::conflict("already_responded", "this invitation has been answered"));
            }
            super::rows::sessions::attach(&mut tx, org, std::slice::from_mut(&mut session), Seats::None).await?;
            let mut drafts = Vec::new();
            let new_status = match response {
                Response::Accept => {
                    busy::lock_people(&mut tx, dialect, org, &[(therapist, Role::Therapist, "therapist_id")]).await?;
                    let interval = Interval::new(session.starts_at, session.ends_at).expect("a session has length");
                    let claim = Claim { person: therapist, interval, owner: Owner::Session(session_id) };
                    busy::claim(&mut tx, org, &[claim], now, &mut drafts).await?;
                    InvitationStatus::Accepted
                }
                Response::Decline => InvitationStatus::Declined,
            };
            tx.execute(
                sql("UPDATE session_therapists SET status = $3, message = $4, responded_at = $5 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(invitation)
                    .bind(new_status.as_str())
                    .bind(message.clone())
                    .bind(now),
            )
            .await?;
            for assignment in session.therapists.iter_mut().filter(|a| a.id == invitation) {
                assignment.status = new_status;
            }
            let scheduled = new_status == InvitationStatus::Accepted
                && schedule_if_all_accepted(&mut tx, org, &session, Some(therapist), now).await?;
            if !scheduled {
                let who = names::therapist_on(&session, therapist);
                let (kind, title) = match new_status {
                    InvitationStatus::Declined => {
                        (NotificationKind::InvitationDeclined, format!("{who} declined an invitation"))
                    }
                    _ => (NotificationKind::InvitationAccepted, format!("{who} accepted an invitation")),
                };
                let about = format!("{} on {}", session.title, names::when(&session));
                let body = match &message {
                    Some(m) if !m.is_empty() => format!("{about}: \"{m}\""),
                    _ => about,
                };
                let notice = Notice { kind, title: &title, body, session: Some(session_id), group: session.group_id };
                let owners = proposal_owners(&mut tx, org, &session).await?;
                notify::push(&mut tx, org, now, owners, Some(therapist), &notice).await?;
            }
            let action =
                if new_status == InvitationStatus::Accepted { "invitation.accept" } else { "invitation.decline" };
            drafts.push(
                AuditDraft::new(action, "invitation", invitation)
                    .details(json!({ "session_id": session_id, "scheduled": scheduled })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch_invitation(&mut tx, org, invitation, now).await?
        })
    }

    async fn invite_therapist(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        therapist: PersonId,
        replaces: Option<InvitationId>,
    ) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            require_proposed(&session)?;
            let group = session
                .group_id
                .ok_or_else(|| StoreError::conflict("not_a_group_session", "only group sessions invite"))?;
            // Any therapist of the organisation may be invited; the group's
            // facilitators are only the first suggestions.
            require_therapist(&mut tx, org, therapist).await?;
            let invited = tx
                .fetch_optional(
                    sql(
                        "SELECT id FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND therapist_id = $3",
                    )
                    .bind(org)
                    .bind(session_id)
                    .bind(therapist),
                )
                .await?;
            if invited.is_some() {
                return Err(StoreError::conflict("already_invited", "this therapist is already invited"));
            }
            let mut drafts = Vec::new();
            if let Some(old) = replaces {
                let removed = tx
                    .execute(
                        sql(format!("DELETE FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND id = $3 AND status = {INVITATION_DECLINED}"))
                            .bind(org)
                            .bind(session_id)
                            .bind(old),
                    )
                    .await?;
                if removed == 0 {
                    return Err(StoreError::invalid(
                        "replaces_invitation_id",
                        "must be a declined invitation of this session",
                    ));
                }
                drafts.push(AuditDraft::new("invitation.replace", "invitation", old));
            }
            let id = InvitationId::new();
            insert_rows(
                &mut tx,
                "session_therapists (org_id, id, session_id, therapist_id, status, invited_at)",
                std::iter::once(vec![
                    org.into(),
                    id.into(),
                    session_id.into(),
                    therapist.into(),
                    "PENDING".into(),
                    now.into(),
                ]),
            )
            .await?;
            if !awaiting_approval(&session) {
                let notice = Notice {
                    kind: NotificationKind::Invitation,
                    title: "You are invited to facilitate a session",
                    body: format!("{} on {}", session.title, names::when(&session)),
                    session: Some(session_id),
                    group: Some(group),
                };
                notify::push(&mut tx, org, now, [therapist], ctx.person_id, &notice).await?;
            }
            drafts.push(
                AuditDraft::new("invitation.create", "invitation", id).details(json!({ "session_id": session_id })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch(&mut tx, org, session_id, Seats::None, now).await?
        })
    }

    async fn withdraw_invitation(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        invitation: InvitationId,
    ) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let mut session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            require_proposed(&session)?;
            let row = tx
                .fetch_optional(
                    sql("DELETE FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND id = $3 RETURNING therapist_id")
                        .bind(org)
                        .bind(session_id)
                        .bind(invitation),
                )
                .await?
                .ok_or(StoreError::NotFound("invitation"))?;
            let therapist: PersonId = row.id("therapist_id")?;
            busy::release_session(&mut tx, org, session_id, Some(therapist)).await?;
            super::rows::sessions::attach(&mut tx, org, std::slice::from_mut(&mut session), Seats::None).await?;
            let withdrawn = Notice {
                kind: NotificationKind::InvitationWithdrawn,
                title: "An invitation to facilitate was withdrawn",
                body: format!("{} on {} no longer needs you", session.title, names::when(&session)),
                session: Some(session_id),
                group: session.group_id,
            };
            notify::push(&mut tx, org, now, [therapist], ctx.person_id, &withdrawn).await?;
            schedule_if_all_accepted(&mut tx, org, &session, ctx.person_id, now).await?;
            let draft = AuditDraft::new("invitation.withdraw", "invitation", invitation)
                .details(json!({ "session_id": session_id }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            fetch(&mut tx, org, session_id, Seats::None, now).await?
        })
    }

    async fn approve_proposal(&self, ctx: &AuditCtx, org: OrgId, session_id: SessionId) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let mut session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            require_proposed(&session)?;
            if !awaiting_approval(&session) {
                return Err(StoreError::conflict("not_awaiting_approval", "this proposal does not need approval"));
            }
            tx.execute(
                sql("UPDATE sessions SET approval = 'approved', updated_at = $3 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(session_id)
                    .bind(now),
            )
            .await?;
            super::rows::sessions::attach(&mut tx, org, std::slice::from_mut(&mut session), Seats::None).await?;
            let invite = Notice {
                kind: NotificationKind::Invitation,
                title: "You are invited to facilitate a session",
                body: format!("{} on {}", session.title, names::when(&session)),
                session: Some(session_id),
                group: session.group_id,
            };
            let therapists = session.therapists.iter().map(|t| t.therapist_id);
            notify::push(&mut tx, org, now, therapists, ctx.person_id, &invite).await?;
            let approved = Notice {
                kind: NotificationKind::ProposalApproved,
                title: "Your session proposal was approved",
                body: session.title.clone(),
                session: Some(session_id),
                group: session.group_id,
            };
            notify::push(&mut tx, org, now, session.created_by, ctx.person_id, &approved).await?;
            let draft = AuditDraft::new("proposal.approve", "session", session_id);
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            fetch(&mut tx, org, session_id, Seats::None, now).await?
        })
    }

    async fn reject_proposal(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        reason: String,
    ) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            require_proposed(&session)?;
            if !awaiting_approval(&session) {
                return Err(StoreError::conflict("not_awaiting_approval", "this proposal does not need approval"));
            }
            tx.execute(
                sql(format!("UPDATE sessions SET approval = 'rejected', status = {SESSION_CANCELLED}, cancelled_at = $3, cancel_reason = $4, \
                     updated_at = $3 WHERE org_id = $1 AND id = $2"))
                .bind(org)
                .bind(session_id)
                .bind(now)
                .bind(&reason),
            )
            .await?;
            let notice = Notice {
                kind: NotificationKind::ProposalRejected,
                title: "Your session proposal was not approved",
                body: format!("{}: {reason}", session.title),
                session: Some(session_id),
                group: session.group_id,
            };
            notify::push(&mut tx, org, now, session.created_by, ctx.person_id, &notice).await?;
            let draft = AuditDraft::new("proposal.reject", "session", session_id).details(json!({ "reason": reason }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            fetch(&mut tx, org, session_id, Seats::None, now).await?
        })
    }
}
