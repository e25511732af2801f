//! Check-in questionnaires and where they are attached: the organisation's
//! own questionnaires, attaching one to a session or a group, the check-ins
//! a session has, those open for a member now, and the organisation's k.
//! Answers are in `check_in_answers.rs`.

use async_trait::async_trait;
use circles_domain::checkin::aggregate::{K_MAX, K_MIN};
use circles_domain::checkin::{Questionnaire, QuestionnaireRef, WindowState, builtins};
use circles_domain::ids::{CheckInId, OrgId, PersonId, SessionId};
use circles_domain::validation::Invalid;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::rows::check_ins as rows;
use super::rows::statuses::HOLDING_SEATS;
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, CheckIn, CheckInTarget, Keyset, NewCheckIn, SessionCheckIn};
use crate::{CheckInStore, Result, StoreError};

/// How far back and ahead a member's open check-ins are looked for: the
/// widest window reaches a week from its session.
const OPEN_REACH: SignedDuration = SignedDuration::from_hours(8 * 24);

async fn insert_check_in<E: Executor>(
    tx: &mut E,
    ctx: &AuditCtx,
    org: OrgId,
    new: &NewCheckIn,
    now: jiff::Timestamp,
) -> Result<CheckIn> {
    let title = rows::questionnaire(tx, org, new.questionnaire).await?.title;
    let (session, group) = match new.target {
        CheckInTarget::Session(s) => {
            rows::session_facts(tx, org, s).await?;
            (Some(s), None)
        }
        CheckInTarget::Group(g) => {
            let found = tx.fetch_optional(sql("SELECT id FROM groups WHERE org_id = $1 AND id = $2").bind(org).bind(g));
            found.await?.ok_or(StoreError::NotFound("group"))?;
            (None, Some(g))
        }
    };
    let id = CheckInId::new();
    tx.execute(
        sql("INSERT INTO check_ins (org_id, id, questionnaire, session_id, group_id, phase, opens_minutes, \
             closes_minutes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(org)
        .bind(id)
        .bind(new.questionnaire.to_string())
        .bind(session)
        .bind(group)
        .bind(new.phase.as_str())
        .bind(new.offsets.opens)
        .bind(new.offsets.closes)
        .bind(ctx.person_id)
        .bind(now),
    )
    .await?;
    let draft = AuditDraft::new("check_in.attach", "check_in", id).details(json!({
        "questionnaire": new.questionnaire.to_string(), "session_id": session, "group_id": group,
    }));
    audit::append(tx, now, ctx, org, &[draft]).await?;
    Ok(CheckIn {
        id,
        questionnaire: new.questionnaire,
        title,
        target: new.target,
        phase: new.phase,
        offsets: new.offsets,
        created_at: now,
    })
}

#[async_trait]
impl<B: Backend> CheckInStore for SqlStore<B> {
    async fn questionnaires(&self, org: OrgId) -> Result<Vec<Questionnaire>> {
        let own = read_tx!(self, |tx| {
            let rows = tx
                .fetch_all(
                    sql("SELECT id, title, instructions, items, higher_is_better FROM questionnaires \
                         WHERE org_id = $1 ORDER BY title, id")
                    .bind(org),
                )
                .await?;
            rows.iter().map(rows::custom_from_row).collect::<Result<Vec<_>>>()?
        })?;
        Ok(builtins().into_iter().chain(own).collect())
    }

    async fn create_questionnaire(&self, ctx: &AuditCtx, org: OrgId, q: &Questionnaire) -> Result<()> {
        let QuestionnaireRef::Custom(id) = q.id else {
            return Err(Invalid::field("id", "a built-in questionnaire is not stored").into());
        };
        let items =
            serde_json::to_string(&q.items).map_err(|e| StoreError::Db(super::db::DbError::Other(e.to_string())))?;
        let now = self.clock.now();
        write_tx!(self, |tx| {
            tx.execute(
                sql("INSERT INTO questionnaires (org_id, id, title, instructions, items, higher_is_better, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(org)
                .bind(id)
                .bind(q.title.as_str())
                .bind(q.instructions.as_str())
                .bind(items.as_str())
                .bind(q.higher_is_better)
                .bind(ctx.person_id)
                .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("questionnaire.create", "questionnaire", id);
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
        })
    }

    async fn attach_check_in(&self, ctx: &AuditCtx, org: OrgId, new: NewCheckIn) -> Result<CheckIn> {
        let now = self.clock.now();
        write_tx!(self, |tx| insert_check_in(&mut tx, ctx, org, &new, now).await?)
    }

    async fn session_check_ins_page(
        &self,
        org: OrgId,
        session: SessionId,
        reader: PersonId,
        page: Keyset<(Timestamp, CheckInId)>,
    ) -> Result<Vec<SessionCheckIn>> {
        read_tx!(self, |tx| {
            let facts = rows::session_facts(&mut tx, org, session).await?;
            rows::of_session(&mut tx, org, &facts, Some(reader), None, &page).await?
        })
    }

    async fn open_check_ins(&self, org: OrgId, member: PersonId) -> Result<Vec<SessionCheckIn>> {
        let now = self.clock.now();
        read_tx!(self, |tx| {
            // Sessions near now where the member holds a seat and which
            // have a check-in of their own or of their group.
            let sessions = tx
                .fetch_all(
                    sql(format!(
                        "SELECT DISTINCT s.id, s.starts_at FROM sessions s \
                         JOIN seats st ON st.org_id = s.org_id AND st.session_id = s.id \
                         JOIN check_ins c ON c.org_id = s.org_id AND (c.session_id = s.id OR c.group_id = s.group_id) \
                         WHERE s.org_id = $1 AND st.client_id = $2 AND st.status IN ({HOLDING_SEATS}) \
                         AND s.starts_at > $3 AND s.starts_at < $4 ORDER BY s.starts_at, s.id"
                    ))
                    .bind(org)
                    .bind(member)
                    .bind(now - OPEN_REACH)
                    .bind(now + OPEN_REACH),
                )
                .await?;
            let mut open = Vec::new();
            for row in sessions {
                let facts = rows::session_facts(&mut tx, org, row.id("id")?).await?;
                let all = rows::of_session(&mut tx, org, &facts, Some(member), None, &Keyset::all()).await?;
                open.extend(all.into_iter().filter(|c| c.window.state(now) == WindowState::Open));
            }
            open
        })
    }

    async fn check_in_k(&self, org: OrgId) -> Result<i64> {
        let row = read_tx!(self, |tx| {
            tx.fetch_optional(sql("SELECT check_in_k FROM organisations WHERE id = $1").bind(org)).await?
        })?;
        Ok(row.ok_or(StoreError::NotFound("organisation"))?.int("check_in_k")?)
    }

    async fn set_check_in_k(&self, ctx: &AuditCtx, org: OrgId, k: i64) -> Result<i64> {
        if !(K_MIN..=K_MAX).contains(&k) {
            return Err(Invalid::field("check_in_k", format!("must be from {K_MIN} to {K_MAX}")).into());
        }
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let changed =
                tx.execute(sql("UPDATE organisations SET check_in_k = $2 WHERE id = $1").bind(org).bind(k)).await?;
            if changed == 0 {
                return Err(StoreError::NotFound("organisation"));
            }
            let draft =
                AuditDraft::new("organisation.settings", "organisation", org).details(json!({ "check_in_k": k }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            k
        })
    }
}
