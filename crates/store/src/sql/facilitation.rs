//! A facilitator withdrawing from a group session they accepted. The
//! session keeps its other therapists; left without an accepted one, a
//! scheduled session is proposed again until someone accepts, and the
//! group's moderators hear of it either way.

use async_trait::async_trait;
use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::session::{InvitationStatus, NotificationKind, SessionStatus};
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy;
use super::db::{Backend, Executor, Row, sql};
use super::notify::{self, Notice};
use super::rows::names;
use super::rows::sessions::{Seats, fetch, lock_session};
use super::{SqlStore, write_tx};
use crate::model::{AuditCtx, Session};
use crate::{FacilitationStore, Result, StoreError};

#[async_trait]
impl<B: Backend> FacilitationStore for SqlStore<B> {
    async fn withdraw_facilitation(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        therapist: PersonId,
    ) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            let group = session.group_id.ok_or_else(|| {
                StoreError::conflict("not_a_group_session", "a one-on-one session is cancelled, not withdrawn from")
            })?;
            if !matches!(session.status, SessionStatus::Proposed | SessionStatus::Scheduled) {
                return Err(StoreError::conflict(
                    "withdrawal_closed",
                    format!("the session is {}; facilitators withdraw before it starts", session.status.words()),
                ));
            }
            let accepted = InvitationStatus::Accepted.as_str();
            let row = tx
                .fetch_optional(
                    sql(
                        "SELECT id FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND therapist_id = $3 \
                         AND status = $4",
                    )
                    .bind(org)
                    .bind(session_id)
                    .bind(therapist)
                    .bind(accepted),
                )
                .await?
                .ok_or_else(|| StoreError::conflict("not_accepted", "you have not accepted this session"))?;
            let invitation: circles_domain::ids::InvitationId = row.id("id")?;
            tx.execute(
                sql("UPDATE session_therapists SET status = $3, responded_at = $4, message = $5 \
                     WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(invitation)
                .bind(InvitationStatus::Declined.as_str())
                .bind(now)
                .bind("withdrew after accepting"),
            )
            .await?;
            busy::release_session(&mut tx, org, session_id, Some(therapist)).await?;
            let remaining = tx
                .fetch_one(
                    sql("SELECT COUNT(*) AS n FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND status = $3")
                        .bind(org)
                        .bind(session_id)
                        .bind(accepted),
                )
                .await?
                .int("n")?;
            let reopened = session.status == SessionStatus::Scheduled && remaining == 0;
            if reopened {
                tx.execute(
                    sql("UPDATE sessions SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(session_id)
                        .bind(SessionStatus::Proposed.as_str())
                        .bind(now),
                )
                .await?;
            }
            let name = names::load(&mut tx, org, [therapist]).await?.remove(&therapist).unwrap_or_default();
            let title = format!("{name} withdrew from a session");
            let mut body = format!("{} on {}", session.title, names::when(&session));
            if reopened {
                body.push_str(" has no facilitator now and is proposed again until a therapist accepts");
            }
            let notice = Notice {
                kind: NotificationKind::FacilitatorWithdrew,
                title: &title,
                body,
                session: Some(session_id),
                group: Some(group),
            };
            let mut told = notify::group_people(&mut tx, org, group, "moderator").await?;
            told.extend(session.created_by);
            notify::push(&mut tx, org, now, told, Some(therapist), &notice).await?;
            let draft = AuditDraft::new("invitation.withdraw_acceptance", "invitation", invitation)
                .details(json!({ "session_id": session_id, "reopened": reopened }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            fetch(&mut tx, org, session_id, Seats::None, now).await?
        })
    }
}
