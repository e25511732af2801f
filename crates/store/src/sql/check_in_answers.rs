//! Members' answers to check-ins: answering within the window (with the
//! safety alert in the same transaction), the answers a reader may see with
//! each member's trend, the numbers group results are computed from, and a
//! member's trend. Answers are clinical records: reads and writes audited,
//! short-text answers sealed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use circles_domain::checkin::{Answers, Questionnaire, QuestionnaireRef};
use circles_domain::ids::{CheckInId, CheckInResponseId, OrgId, PersonId, SessionId};
use circles_domain::sealed::ClinicalField;
use circles_domain::session::NotificationKind;
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, DbError, Executor, Row, sql};
use super::notify::{self, Notice};
use super::rows::check_ins::{self as rows, SessionFacts};
use super::rows::sealed;
use super::rows::statuses::HOLDING_SEATS;
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, CheckInAnswers, CheckInNumbers, CheckInResponse, SessionCheckIn, TrendPoint};
use crate::{CheckInAnswerStore, Result, StoreError};

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Db(DbError::Other(e.to_string())))
}

const RESPONSE_COLUMNS: &str = "r.id, r.person_id, a.name, r.answers, r.text_answers, r.answered_at, r.updated_at";

/// The responses to a check-in in a session (one member's with `only`),
/// text opened, each with the member's history for the questionnaire.
async fn responses<E: Executor>(
    tx: &mut E,
    org: OrgId,
    q: &Questionnaire,
    check_in: &SessionCheckIn,
    only: Option<PersonId>,
) -> Result<Vec<CheckInResponse>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT {RESPONSE_COLUMNS} FROM check_in_responses r \
                 JOIN people p ON p.org_id = r.org_id AND p.id = r.person_id JOIN accounts a ON a.id = p.account_id \
                 WHERE r.org_id = $1 AND r.check_in_id = $2 AND r.session_id = $3 AND ($4 IS NULL OR r.person_id = $4) \
                 ORDER BY a.name, r.person_id"
            ))
            .bind(org)
            .bind(check_in.check_in.id)
            .bind(check_in.session_id)
            .bind(only),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let person: PersonId = row.id("person_id")?;
        let mut answers = rows::values_from_row(&row)?;
        let id: uuid::Uuid = row.uuid("id")?;
        if let Some(text) = sealed::open(tx, org, ClinicalField::CheckInText, id, row.opt_text("text_answers")?).await?
        {
            // A value that no longer opens reads as the marker, item by item.
            answers.texts = serde_json::from_str(&text).unwrap_or_else(|_| {
                q.items.iter().filter(|i| !i.is_numeric()).map(|i| (i.key.clone(), text.clone())).collect()
            });
        }
        let history = history(tx, org, person, q.id, check_in.session_starts_at).await?;
        out.push(CheckInResponse {
            person_id: person,
            name: row.text("name")?,
            score: q.score(&answers),
            answers,
            answered_at: row.time("answered_at")?,
            updated_at: row.time("updated_at")?,
            history: history.iter().filter_map(|p| p.total).collect(),
        });
    }
    Ok(out)
}

/// `member`'s totals for questionnaire `q` in sessions starting up to
/// `until`, oldest first.
async fn history<E: Executor>(
    tx: &mut E,
    org: OrgId,
    member: PersonId,
    q: QuestionnaireRef,
    until: Timestamp,
) -> Result<Vec<TrendPoint>> {
    let rows = tx
        .fetch_all(
            sql("SELECT r.session_id, s.title, s.starts_at, r.total, r.band FROM check_in_responses r \
                 JOIN sessions s ON s.org_id = r.org_id AND s.id = r.session_id \
                 WHERE r.org_id = $1 AND r.person_id = $2 AND r.questionnaire = $3 AND s.starts_at <= $4 \
                 ORDER BY s.starts_at, r.session_id, r.answered_at")
            .bind(org)
            .bind(member)
            .bind(q.to_string())
            .bind(until),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TrendPoint {
                session_id: r.id("session_id")?,
                session_title: r.text("title")?,
                starts_at: r.time("starts_at")?,
                total: r.opt_int("total")?.and_then(|t| i32::try_from(t).ok()),
                band: r.opt_text("band")?,
            })
        })
        .collect()
}

/// Tells the clinicians at once that `member`'s answers need them; the
/// notice names no answer, and the e-mail it owes carries only its title.
async fn raise_alert<E: Executor>(
    tx: &mut E,
    ctx: &AuditCtx,
    org: OrgId,
    session: &SessionFacts,
    check_in: &SessionCheckIn,
    member: PersonId,
    now: Timestamp,
) -> Result<()> {
    let clinicians = rows::clinicians(tx, org, session).await?;
    let name = tx
        .fetch_one(
            sql("SELECT a.name FROM people p JOIN accounts a ON a.id = p.account_id WHERE p.org_id = $1 AND p.id = $2")
                .bind(org)
                .bind(member),
        )
        .await?
        .text("name")?;
    let notice = Notice {
        kind: NotificationKind::CheckInAlert,
        title: "A check-in answer needs your attention",
        body: format!(
            "{name}'s {} answers in \"{}\" need a clinician's attention today.",
            check_in.check_in.title, session.title
        ),
        session: Some(session.id),
        group: session.group_id,
    };
    notify::push(tx, org, now, clinicians.iter().copied(), None, &notice).await?;
    let draft = AuditDraft::new("check_in.safety_alert", "check_in", check_in.check_in.id)
        .subject(member)
        .details(json!({ "session_id": session.id, "notified": clinicians }));
    audit::append(tx, now, ctx, org, &[draft]).await
}

#[async_trait]
impl<B: Backend> CheckInAnswerStore for SqlStore<B> {
    async fn answer_check_in(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        check_in: CheckInId,
        member: PersonId,
        answers: &BTreeMap<String, serde_json::Value>,
    ) -> Result<CheckInResponse> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let (facts, found) = rows::one(&mut tx, org, session, check_in, Some(member)).await?;
            let q = rows::questionnaire(&mut tx, org, found.check_in.questionnaire).await?;
            let seat = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT id FROM seats WHERE org_id = $1 AND session_id = $2 AND client_id = $3 \
                         AND status IN ({HOLDING_SEATS})"
                    ))
                    .bind(org)
                    .bind(session)
                    .bind(member),
                )
                .await?;
            if seat.is_none() {
                return Err(StoreError::conflict("no_seat", "you hold no seat in this session"));
            }
            if let Some(reason) = found.window.refusal(now) {
                return Err(StoreError::conflict("check_in_closed", reason));
            }
            let answers: Answers = q.validate(answers)?;
            let score = q.score(&answers);
            let before = tx
                .fetch_optional(
                    sql("SELECT id, safety_alert FROM check_in_responses \
                         WHERE org_id = $1 AND check_in_id = $2 AND session_id = $3 AND person_id = $4")
                    .bind(org)
                    .bind(check_in)
                    .bind(session)
                    .bind(member),
                )
                .await?;
            let id = match &before {
                Some(row) => row.uuid("id")?,
                None => CheckInResponseId::new().0,
            };
            let texts = if answers.texts.is_empty() { None } else { Some(encode(&answers.texts)?) };
            let sealed_texts = sealed::seal(&mut tx, org, ClinicalField::CheckInText, id, texts.as_deref()).await?;
            let values = encode(&answers.values)?;
            if before.is_some() {
                tx.execute(
                    sql("UPDATE check_in_responses SET answers = $3, text_answers = $4, total = $5, band = $6, \
                         safety_alert = $7, updated_at = $8 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id)
                    .bind(values)
                    .bind(sealed_texts)
                    .bind(score.total)
                    .bind(score.band.clone())
                    .bind(score.safety_alert)
                    .bind(now),
                )
                .await?;
            } else {
                tx.execute(
                    sql("INSERT INTO check_in_responses (org_id, id, check_in_id, session_id, person_id, questionnaire, \
                         answers, text_answers, total, band, safety_alert, answered_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)")
                    .bind(org)
                    .bind(id)
                    .bind(check_in)
                    .bind(session)
                    .bind(member)
                    .bind(q.id.to_string())
                    .bind(values)
                    .bind(sealed_texts)
                    .bind(score.total)
                    .bind(score.band.clone())
                    .bind(score.safety_alert)
                    .bind(now),
                )
                .await?;
            }
            let action = if before.is_some() { "check_in.answer_change" } else { "check_in.answer" };
            let draft = AuditDraft::new(action, "check_in_response", id).subject(member);
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            // Alert when the answers newly need a clinician, not on every edit.
            let alerted_before = match &before {
                Some(row) => row.bool("safety_alert")?,
                None => false,
            };
            if score.safety_alert && !alerted_before {
                raise_alert(&mut tx, ctx, org, &facts, &found, member, now).await?;
            }
            let mut mine = responses(&mut tx, org, &q, &found, Some(member)).await?;
            mine.pop().expect("answered above")
        })
    }

    async fn check_in_answers(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session: SessionId,
        check_in: CheckInId,
        only: Option<PersonId>,
    ) -> Result<CheckInAnswers> {
        let now = self.clock.now();
        // Reading answers is audited, so the read runs as a write.
        write_tx!(self, |tx| {
            let (_, found) = rows::one(&mut tx, org, session, check_in, only).await?;
            let q = rows::questionnaire(&mut tx, org, found.check_in.questionnaire).await?;
            let all = responses(&mut tx, org, &q, &found, only).await?;
            let read = AuditDraft::read_of("check_in.read", "check_in", check_in, all.iter().map(|r| r.person_id));
            audit::append(&mut tx, now, ctx, org, read.as_slice()).await?;
            CheckInAnswers { questionnaire: q, check_in: found, responses: all }
        })
    }

    async fn check_in_numbers(
        &self,
        org: OrgId,
        session: SessionId,
        check_in: CheckInId,
        reader: PersonId,
    ) -> Result<CheckInNumbers> {
        read_tx!(self, |tx| {
            let (_, found) = rows::one(&mut tx, org, session, check_in, Some(reader)).await?;
            let q = rows::questionnaire(&mut tx, org, found.check_in.questionnaire).await?;
            let k = tx
                .fetch_one(sql("SELECT check_in_k FROM organisations WHERE id = $1").bind(org))
                .await?
                .int("check_in_k")?;
            let rows = tx
                .fetch_all(
                    sql("SELECT person_id, answers FROM check_in_responses \
                         WHERE org_id = $1 AND check_in_id = $2 AND session_id = $3 ORDER BY person_id")
                    .bind(org)
                    .bind(check_in)
                    .bind(session),
                )
                .await?;
            let responses =
                rows.iter().map(|r| Ok((r.id("person_id")?, rows::values_from_row(r)?))).collect::<Result<Vec<_>>>()?;
            CheckInNumbers { questionnaire: q, check_in: found, k, responses }
        })
    }

    async fn check_in_trend(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        member: PersonId,
        questionnaire: QuestionnaireRef,
    ) -> Result<Vec<TrendPoint>> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            rows::questionnaire(&mut tx, org, questionnaire).await?;
            let points = history(&mut tx, org, member, questionnaire, Timestamp::MAX).await?;
            if !points.is_empty() {
                let draft = AuditDraft::new("check_in.trend_read", "person", member).subject(member);
                audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            }
            points
        })
    }
}
