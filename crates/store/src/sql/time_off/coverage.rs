//! Who could cover a therapist's time off: every other therapist, ranked
//! by the domain's rule, from a fixed number of statements.

use std::collections::HashMap;

use circles_domain::ids::{OrgId, PersonId, SessionId, TimeOffId};
use circles_domain::interval::Interval;
use circles_domain::slots::Calendar;
use circles_domain::time_off::{AffectedSlot, Candidate};
use jiff::Timestamp;

use crate::Result;
use crate::model::CoverageCandidate;
use crate::sql::db::{Dialect, Executor, Row, placeholders, sql};
use crate::sql::rows::calendars::Calendars;
use crate::sql::rows::statuses::HOLDING_SEATS;
use crate::sql::rows::statuses::ROLE_THERAPIST;
use crate::sql::rows::statuses::{
    INVITATION_ACCEPTED, INVITATION_DECLINED, SESSION_CANCELLED, TIME_OFF_APPROVED, TIME_OFF_PENDING,
};
use crate::sql::rows::time_off::{clients_of, load_affected};

/// Ranks the organisation's other therapists as cover for time off `id`.
pub(super) async fn rank<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    id: TimeOffId,
    now: Timestamp,
) -> Result<Vec<CoverageCandidate>> {
    let away = tx
        .fetch_optional(sql("SELECT therapist_id FROM time_off WHERE org_id = $1 AND id = $2").bind(org).bind(id))
        .await?
        .ok_or(crate::StoreError::NotFound("time off"))?;
    let absent: PersonId = away.id("therapist_id")?;
    let affected = load_affected(tx, org, id, now).await?;
    let slots: Vec<AffectedSlot> = affected
        .iter()
        .map(|a| AffectedSlot { session: a.session.session_id, interval: a.interval(), modality: a.session.modality })
        .collect();
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT p.id, a.name FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND p.role = {ROLE_THERAPIST} AND p.id <> $2 ORDER BY p.id"
            ))
            .bind(org)
            .bind(absent),
        )
        .await?;
    let mut names = HashMap::new();
    for row in &rows {
        names.insert(row.id::<PersonId>("id")?, row.text("name")?);
    }
    let therapists: Vec<PersonId> = names.keys().copied().collect();
    let sessions: Vec<SessionId> = slots.iter().map(|s| s.session).collect();

    let mut calendars = None;
    let mut already_on: HashMap<PersonId, Vec<SessionId>> = HashMap::new();
    let mut shared: HashMap<PersonId, u32> = HashMap::new();
    if let (Some(start), Some(end)) =
        (slots.iter().map(|s| s.interval.start).min(), slots.iter().map(|s| s.interval.end).max())
    {
        let span = Interval::new(start, end).expect("sessions end after they start");
        // Someone who asked for that time off is no cover, approved or not.
        let away = format!("{TIME_OFF_PENDING}, {TIME_OFF_APPROVED}");
        calendars = Some(Calendars::of_therapists(tx, dialect, org, therapists.clone(), span, &away, now).await?);
        let on = tx
            .fetch_all(
                sql(format!(
                    "SELECT session_id, therapist_id FROM session_therapists WHERE org_id = $1 \
                     AND status <> {INVITATION_DECLINED} AND session_id IN ({})",
                    placeholders(2, sessions.len())
                ))
                .bind(org)
                .bind_all(sessions.iter().copied()),
            )
            .await?;
        for row in &on {
            already_on.entry(row.id("therapist_id")?).or_default().push(row.id("session_id")?);
        }
        shared = shared_clients(tx, org, &sessions).await?;
    }
    let candidates: Vec<Candidate<'_>> = therapists
        .iter()
        .map(|&therapist| Candidate {
            therapist,
            calendar: calendars.as_ref().map_or_else(Calendar::default, |c| c.of(therapist)),
            already_on: already_on.get(&therapist).cloned().unwrap_or_default(),
            shared_clients: shared.get(&therapist).copied().unwrap_or(0),
        })
        .collect();
    Ok(circles_domain::time_off::rank(&slots, &candidates)
        .into_iter()
        .map(|option| CoverageCandidate {
            name: names.get(&option.therapist_id).cloned().unwrap_or_default(),
            therapist_id: option.therapist_id,
            covers_all: option.covers_all,
            can_cover: option.can_cover,
            cannot_cover: option.cannot_cover,
            shared_clients: option.shared_clients,
        })
        .collect())
}

/// For each therapist, how many clients of `sessions` they have been
/// accepted on a (not cancelled) session with. Two statements.
async fn shared_clients<E: Executor>(tx: &mut E, org: OrgId, sessions: &[SessionId]) -> Result<HashMap<PersonId, u32>> {
    let mut clients: Vec<PersonId> = clients_of(tx, org, sessions).await?.into_iter().map(|(_, c)| c).collect();
    clients.sort();
    clients.dedup();
    let mut shared = HashMap::new();
    if clients.is_empty() {
        return Ok(shared);
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT t.therapist_id, COUNT(DISTINCT y.client_id) AS shared FROM session_therapists t \
                 JOIN sessions s ON s.org_id = t.org_id AND s.id = t.session_id \
                 JOIN seats y ON y.org_id = s.org_id AND y.session_id = s.id \
                 WHERE t.org_id = $1 AND t.status = {INVITATION_ACCEPTED} AND s.status <> {SESSION_CANCELLED} \
                 AND y.status IN ({HOLDING_SEATS}) \
                 AND y.client_id IN ({}) GROUP BY t.therapist_id",
                placeholders(2, clients.len())
            ))
            .bind(org)
            .bind_all(clients.iter().copied()),
        )
        .await?;
    for row in &rows {
        shared.insert(row.id("therapist_id")?, u32::try_from(row.int("shared")?).unwrap_or(u32::MAX));
    }
    Ok(shared)
}
