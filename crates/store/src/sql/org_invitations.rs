//! Joining an organisation by invitation: the invited account lists its
//! invitations and accepts (becoming a person with the invited role) or
//! declines. Each answer is audited in the organisation's chain.

use crate::model::Keyset;
use async_trait::async_trait;
use circles_domain::ids::{AccountId, PersonId};
use circles_domain::org_invitation::OrgInvitationStatus;
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::rows::people::{insert_person, organisation_from_row};
use super::{SqlStore, read_one, write_tx};
use crate::model::{AuditCtx, Membership, OrgInvitation};
use crate::{OrgInvitationStore, Result, StoreError};

/// An invitation with its organisation and the name of who sent it.
const INVITATION_QUERY: &str = "SELECT i.id AS invitation_id, i.role, i.status, i.created_at AS invited_at, \
        i.responded_at, o.id, o.name, o.timezone, o.created_at, ai.name AS invited_by \
     FROM org_invitations i \
     JOIN organisations o ON o.id = i.org_id \
     JOIN people pi ON pi.org_id = i.org_id AND pi.id = i.invited_by \
     JOIN accounts ai ON ai.id = pi.account_id";

fn invitation_from_row(row: &impl Row) -> Result<OrgInvitation> {
    Ok(OrgInvitation {
        id: row.id("invitation_id")?,
        org: organisation_from_row(row)?,
        role: row.parsed("role")?,
        status: row.parsed("status")?,
        invited_by: row.text("invited_by")?,
        created_at: row.time("invited_at")?,
        responded_at: row.opt_time("responded_at")?,
    })
}

#[async_trait]
impl<B: Backend> OrgInvitationStore for SqlStore<B> {
    async fn org_invitations(
        &self,
        account: AccountId,
        page: Keyset<(Timestamp, PersonId)>,
    ) -> Result<Vec<OrgInvitation>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql(format!(
                    "{INVITATION_QUERY} WHERE i.account_id = $1 AND i.status = $2 \
                     AND ($4 IS NULL OR i.created_at > $4 OR (i.created_at = $4 AND i.id > $5)) \
                     /* spans organisations: the invitations of one account from every clinic */ \
                     ORDER BY i.created_at, i.id LIMIT $3"
                ))
                .bind(account)
                .bind(OrgInvitationStatus::Pending.as_str())
                .bind(page.limit)
                .bind(page.after.map(|(at, _)| at))
                .bind(page.after.map(|(_, id)| id)),
            )
            .await?
        })?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn answer_org_invitation(
        &self,
        ctx: &AuditCtx,
        account: AccountId,
        id: PersonId,
        accept: bool,
    ) -> Result<(OrgInvitation, Option<Membership>)> {
        let now = self.clock.now();
        let for_update = self.backend.dialect().for_update();
        write_tx!(self, |tx| {
            // Only the invited account finds its invitation; anyone else 404s.
            let row = tx
                .fetch_optional(
                    sql(format!(
                        "{INVITATION_QUERY} WHERE i.id = $1 AND i.account_id = $2 \
                         /* spans organisations: an invitation answered by its account, found by id */{for_update}"
                    ))
                    .bind(id)
                    .bind(account),
                )
                .await?
                .ok_or(StoreError::NotFound("invitation"))?;
            let mut invitation = invitation_from_row(&row)?;
            let org = invitation.org.id;
            let answered = invitation
                .status
                .answer(accept)
                .map_err(|reason| StoreError::conflict("invitation_answered", reason))?;
            tx.execute(
                sql("UPDATE org_invitations SET status = $3, responded_at = $4 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id)
                    .bind(answered.as_str())
                    .bind(now),
            )
            .await?;
            invitation.status = answered;
            invitation.responded_at = Some(now);
            let membership = if accept {
                let member = tx
                    .fetch_optional(
                        sql("SELECT id FROM people WHERE org_id = $1 AND account_id = $2").bind(org).bind(account),
                    )
                    .await?;
                if member.is_some() {
                    return Err(StoreError::conflict("already_a_member", "you already belong to this organisation"));
                }
                insert_person(&mut tx, now, org, id, account, invitation.role).await?;
                let ctx = ctx.acting_as(id);
                let drafts = [
                    AuditDraft::new("org_invitation.accept", "person", id),
                    AuditDraft::new("person.create", "person", id)
                        .subject((invitation.role == circles_domain::Role::Client).then_some(id))
                        .details(json!({ "role": invitation.role, "by_invitation": true })),
                ];
                audit::append(&mut tx, now, &ctx, org, &drafts).await?;
                Some(Membership { org: invitation.org.clone(), person_id: id, role: invitation.role })
            } else {
                let draft = AuditDraft::new("org_invitation.decline", "person", id);
                audit::append(&mut tx, now, ctx, org, &[draft]).await?;
                None
            };
            (invitation, membership)
        })
    }
}
