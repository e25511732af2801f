//! Check-in rows both check-in use-case files read: questionnaires (built
//! in or the organisation's own), check-ins as they apply to one session,
//! and who may hear of a member's answers.

use circles_domain::Role;
use circles_domain::checkin::{Answers, Phase, Questionnaire, QuestionnaireRef, WindowOffsets, builtin};
use circles_domain::ids::{CheckInId, GroupId, OrgId, PersonId, QuestionnaireId, SessionId};
use circles_domain::session::InvitationStatus;
use jiff::Timestamp;

use crate::model::{CheckIn, CheckInTarget, Keyset, SessionCheckIn};
use crate::sql::db::{DbError, Executor, Row, sql};
use crate::{Result, StoreError};

/// An organisation's own questionnaire from its row.
pub(crate) fn custom_from_row(row: &impl Row) -> Result<Questionnaire> {
    let items = serde_json::from_str(&row.text("items")?).map_err(|e| DbError::Decode(format!("items: {e}")))?;
    Ok(Questionnaire {
        id: QuestionnaireRef::Custom(row.id("id")?),
        title: row.text("title")?,
        instructions: row.text("instructions")?,
        items,
        bands: Vec::new(),
        higher_is_better: row.bool("higher_is_better")?,
        safety_item: None,
    })
}

/// The questionnaire `which` names in `org`; another organisation's is not found.
pub(crate) async fn questionnaire<E: Executor>(
    tx: &mut E,
    org: OrgId,
    which: QuestionnaireRef,
) -> Result<Questionnaire> {
    match which {
        QuestionnaireRef::Builtin(b) => Ok(builtin(b)),
        QuestionnaireRef::Custom(id) => custom(tx, org, id).await,
    }
}

async fn custom<E: Executor>(tx: &mut E, org: OrgId, id: QuestionnaireId) -> Result<Questionnaire> {
    let row = tx
        .fetch_optional(
            sql("SELECT id, title, instructions, items, higher_is_better FROM questionnaires \
                 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("questionnaire"))?;
    custom_from_row(&row)
}

/// The columns [`check_in_from_row`] reads, prefixed `c.`.
pub(crate) const CHECK_IN_COLUMNS: &str =
    "c.id, c.questionnaire, c.session_id, c.group_id, c.phase, c.opens_minutes, c.closes_minutes, c.created_at";

/// A check-in from its row; `title` is its questionnaire's.
pub(crate) fn check_in_from_row(row: &impl Row, title: String) -> Result<CheckIn> {
    let questionnaire = QuestionnaireRef::parse(&row.text("questionnaire")?).map_err(DbError::Decode)?;
    let target = match (row.opt_id::<SessionId>("session_id")?, row.opt_id::<GroupId>("group_id")?) {
        (Some(session), _) => CheckInTarget::Session(session),
        (None, Some(group)) => CheckInTarget::Group(group),
        (None, None) => return Err(DbError::Decode("a check-in with neither session nor group".into()).into()),
    };
    Ok(CheckIn {
        id: row.id("id")?,
        questionnaire,
        title,
        target,
        phase: row.parsed::<Phase>("phase")?,
        offsets: WindowOffsets { opens: row.int("opens_minutes")?, closes: row.int("closes_minutes")? },
        created_at: row.time("created_at")?,
    })
}

/// The title of each questionnaire the rows name, reading custom ones once.
async fn titled<E: Executor, R: Row>(tx: &mut E, org: OrgId, rows: &[R]) -> Result<Vec<CheckIn>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut titles: Vec<(QuestionnaireRef, String)> = Vec::new();
    for row in rows {
        let which = QuestionnaireRef::parse(&row.text("questionnaire")?).map_err(DbError::Decode)?;
        let title = match titles.iter().find(|(q, _)| *q == which) {
            Some((_, t)) => t.clone(),
            None => {
                let t = questionnaire(tx, org, which).await?.title;
                titles.push((which, t.clone()));
                t
            }
        };
        out.push(check_in_from_row(row, title)?);
    }
    Ok(out)
}

/// What a session's check-ins need of the session.
pub(crate) struct SessionFacts {
    pub id: SessionId,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub group_id: Option<GroupId>,
}

pub(crate) async fn session_facts<E: Executor>(tx: &mut E, org: OrgId, session: SessionId) -> Result<SessionFacts> {
    let row = tx
        .fetch_optional(
            sql("SELECT id, title, starts_at, ends_at, group_id FROM sessions WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(session),
        )
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    Ok(SessionFacts {
        id: row.id("id")?,
        title: row.text("title")?,
        starts_at: row.time("starts_at")?,
        ends_at: row.time("ends_at")?,
        group_id: row.opt_id("group_id")?,
    })
}

/// The check-ins that apply to `session` (its own, then its group's), with
/// whether `reader` answered each there; `only` narrows them to one.
pub(crate) async fn of_session<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: &SessionFacts,
    reader: Option<PersonId>,
    only: Option<CheckInId>,
    page: &Keyset<(Timestamp, CheckInId)>,
) -> Result<Vec<SessionCheckIn>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT {CHECK_IN_COLUMNS}, EXISTS (SELECT 1 FROM check_in_responses r WHERE r.org_id = c.org_id \
                   AND r.check_in_id = c.id AND r.session_id = $2 AND r.person_id = $4) AS answered \
                 FROM check_ins c WHERE c.org_id = $1 AND (c.session_id = $2 OR c.group_id = $3) \
                 AND ($5 IS NULL OR c.id = $5) \
                 AND ($6 IS NULL OR c.created_at > $6 OR (c.created_at = $6 AND c.id > $7)) \
                 ORDER BY c.created_at, c.id LIMIT $8"
            ))
            .bind(org)
            .bind(session.id)
            .bind(session.group_id)
            .bind(reader)
            .bind(only)
            .bind(page.after.map(|(at, _)| at))
            .bind(page.after.map(|(_, id)| id))
            .bind(page.limit),
        )
        .await?;
    let answered: Vec<bool> = rows.iter().map(|r| r.bool("answered")).collect::<Result<_, _>>()?;
    let check_ins = titled(tx, org, &rows).await?;
    Ok(check_ins
        .into_iter()
        .zip(answered)
        .map(|(check_in, answered)| SessionCheckIn {
            window: check_in.offsets.window(check_in.phase, session.starts_at, session.ends_at),
            check_in,
            session_id: session.id,
            session_title: session.title.clone(),
            session_starts_at: session.starts_at,
            answered,
        })
        .collect())
}

/// One check-in as it applies to `session`; a check-in of another session
/// or group is not found.
pub(crate) async fn one<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    check_in: CheckInId,
    reader: Option<PersonId>,
) -> Result<(SessionFacts, SessionCheckIn)> {
    let facts = session_facts(tx, org, session).await?;
    let found = of_session(tx, org, &facts, reader, Some(check_in), &Keyset::all()).await?;
    let one = found.into_iter().next().ok_or(StoreError::NotFound("check-in"))?;
    Ok((facts, one))
}

/// Answers as stored: numbers in the clear (JSON object).
pub(crate) fn values_from_row(row: &impl Row) -> Result<Answers> {
    let values = serde_json::from_str(&row.text("answers")?).map_err(|e| DbError::Decode(format!("answers: {e}")))?;
    Ok(Answers { values, texts: Default::default() })
}

/// Who hears of a safety alert: the session's accepted therapists, its
/// group's facilitators, and the organisation's admins.
pub(crate) async fn clinicians<E: Executor>(tx: &mut E, org: OrgId, session: &SessionFacts) -> Result<Vec<PersonId>> {
    let rows = tx
        .fetch_all(
            sql("SELECT therapist_id AS person_id FROM session_therapists \
                 WHERE org_id = $1 AND session_id = $2 AND status = $3 \
                 UNION SELECT person_id FROM group_staff WHERE org_id = $1 AND group_id = $4 AND role = $5 \
                 UNION SELECT id AS person_id FROM people WHERE org_id = $1 AND role = $6")
            .bind(org)
            .bind(session.id)
            .bind(InvitationStatus::Accepted.as_str())
            .bind(session.group_id)
            .bind("facilitator")
            .bind(Role::Admin.as_str()),
        )
        .await?;
    let mut people: Vec<PersonId> = rows.iter().map(|r| r.id("person_id")).collect::<Result<_, _>>()?;
    people.sort();
    people.dedup();
    Ok(people)
}
