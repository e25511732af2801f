//! Answers members gave outside Circles, recorded after their sessions:
//! validated and scored like any answer, sealed where they are text,
//! audited one by one, all in one transaction.

use async_trait::async_trait;
use circles_domain::checkin::WindowState;
use circles_domain::ids::{CheckInResponseId, OrgId};
use circles_domain::sealed::ClinicalField;

use super::audit::{self, AuditDraft};
use super::db::{Backend, DbError, Executor, sql};
use super::rows::check_ins as rows;
use super::rows::sealed;
use super::rows::statuses::HOLDING_SEATS;
use super::{SqlStore, write_tx};
use crate::model::{AuditCtx, PastAnswer};
use crate::{CheckInHistoryStore, Result, StoreError};

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Db(DbError::Other(e.to_string())))
}

#[async_trait]
impl<B: Backend> CheckInHistoryStore for SqlStore<B> {
    async fn record_past_answers(&self, ctx: &AuditCtx, org: OrgId, answers: &[PastAnswer]) -> Result<u64> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let mut drafts = Vec::with_capacity(answers.len());
            for past in answers {
                let (_, found) = rows::one(&mut tx, org, past.session, past.check_in, None).await?;
                if found.window.state(now) != WindowState::Closed {
                    return Err(StoreError::conflict(
                        "check_in_not_closed",
                        "this check-in's window is still to come or open: members answer it themselves",
                    ));
                }
                let q = rows::questionnaire(&mut tx, org, found.check_in.questionnaire).await?;
                let seat = tx
                    .fetch_optional(
                        sql(format!(
                            "SELECT id FROM seats WHERE org_id = $1 AND session_id = $2 AND client_id = $3 \
                             AND status IN ({HOLDING_SEATS})"
                        ))
                        .bind(org)
                        .bind(past.session)
                        .bind(past.member),
                    )
                    .await?;
                if seat.is_none() {
                    return Err(StoreError::conflict("no_seat", "the member held no seat in this session"));
                }
                let validated = q.validate(&past.answers)?;
                let score = q.score(&validated);
                let id = CheckInResponseId::new().0;
                let texts = if validated.texts.is_empty() { None } else { Some(encode(&validated.texts)?) };
                let sealed_texts = sealed::seal(&mut tx, org, ClinicalField::CheckInText, id, texts.as_deref()).await?;
                // The unique key refuses a second answer for the same member.
                tx.execute(
                    sql("INSERT INTO check_in_responses (org_id, id, check_in_id, session_id, person_id, questionnaire, \
                         answers, text_answers, total, band, safety_alert, answered_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                    .bind(org)
                    .bind(id)
                    .bind(past.check_in)
                    .bind(past.session)
                    .bind(past.member)
                    .bind(q.id.to_string())
                    .bind(encode(&validated.values)?)
                    .bind(sealed_texts)
                    .bind(score.total)
                    .bind(score.band.clone())
                    .bind(score.safety_alert)
                    .bind(past.answered_at)
                    .bind(now),
                )
                .await?;
                drafts.push(AuditDraft::new("check_in.answer_recorded", "check_in_response", id).subject(past.member));
            }
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            answers.len() as u64
        })
    }
}
