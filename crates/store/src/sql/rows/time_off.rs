//! Time-off rows: the sessions a time off affects and the clients on them,
//! shared by the time-off use case, its notices and its coverage ranking.

use circles_domain::ids::{InvitationId, OrgId, PersonId, SessionId, TimeOffId};
use circles_domain::interval::Interval;
use circles_domain::session::SessionStatus;
use jiff::Timestamp;

use crate::Result;
use crate::model::{AffectedSession, Keyset};
use crate::sql::db::{Executor, Row, placeholders, sql};
use crate::sql::rows::statuses::HOLDING_SEATS;
use crate::sql::rows::statuses::{INVITATION_DECLINED, SESSION_CANCELLED};

/// A session therapist assignment `t` on session `s` is affected by time
/// off `o`: not declined, not cancelled, not over at `now`, overlapping.
pub(crate) fn affected_by_o(now: &str) -> String {
    format!(
        "t.status <> {INVITATION_DECLINED} AND s.status <> {SESSION_CANCELLED} AND s.starts_at < o.ends_at AND s.ends_at > o.starts_at \
         AND s.ends_at > {now}"
    )
}

/// An affected session with the absent therapist's assignment on it.
pub(crate) struct Affected {
    pub session: AffectedSession,
    pub assignment: InvitationId,
    /// Accepted (busy) rather than only invited.
    pub accepted: bool,
}

impl Affected {
    pub fn interval(&self) -> Interval {
        Interval::new(self.session.starts_at, self.session.ends_at).expect("sessions end after they start")
    }
}

/// The sessions time off `id` affects, in order. One statement.
pub(crate) async fn load_affected<E: Executor>(
    tx: &mut E,
    org: OrgId,
    id: TimeOffId,
    now: Timestamp,
) -> Result<Vec<Affected>> {
    load_affected_page(tx, org, id, now, &Keyset::all()).await
}

/// The sessions time off `id` affects after `page.after` (by start, then
/// id), at most `page.limit` of them. One statement.
pub(crate) async fn load_affected_page<E: Executor>(
    tx: &mut E,
    org: OrgId,
    id: TimeOffId,
    now: Timestamp,
    page: &Keyset<(Timestamp, SessionId)>,
) -> Result<Vec<Affected>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT s.id, s.kind, s.status, s.title, s.starts_at, s.ends_at, s.timezone, s.modality, s.group_id, \
                 (SELECT g.name FROM groups g WHERE g.org_id = s.org_id AND g.id = s.group_id) AS group_name, \
                 t.id AS assignment_id, t.status AS assignment, \
                 (SELECT COUNT(*) FROM seats x WHERE x.org_id = s.org_id AND x.session_id = s.id \
                  AND x.status IN ({holding})) AS seats_taken \
                 FROM time_off o JOIN session_therapists t ON t.org_id = o.org_id AND t.therapist_id = o.therapist_id \
                 JOIN sessions s ON s.org_id = t.org_id AND s.id = t.session_id \
                 WHERE o.org_id = $1 AND o.id = $2 AND {affected} \
                 AND ($4 IS NULL OR s.starts_at > $4 OR (s.starts_at = $4 AND s.id > $5)) \
                 ORDER BY s.starts_at, s.id LIMIT $6",
                holding = HOLDING_SEATS,
                affected = affected_by_o("$3"),
            ))
            .bind(org)
            .bind(id)
            .bind(now)
            .bind(page.after.map(|(at, _)| at))
            .bind(page.after.map(|(_, session)| session))
            .bind(page.limit),
        )
        .await?;
    rows.iter()
        .map(|row| {
            let (starts_at, ends_at) = (row.time("starts_at")?, row.time("ends_at")?);
            let stored: SessionStatus = row.parsed("status")?;
            Ok(Affected {
                session: AffectedSession {
                    session_id: row.id("id")?,
                    kind: row.parsed("kind")?,
                    status: stored.at(starts_at, ends_at, now),
                    title: row.text("title")?,
                    starts_at,
                    ends_at,
                    timezone: row.text("timezone")?,
                    modality: row.parsed("modality")?,
                    group_id: row.opt_id("group_id")?,
                    group_name: row.opt_text("group_name")?,
                    seats_taken: row.int("seats_taken")?,
                },
                assignment: row.id("assignment_id")?,
                accepted: row.text("assignment")? == "ACCEPTED",
            })
        })
        .collect()
}

/// Clients seated on `sessions`, by session. One statement.
pub(crate) async fn clients_of<E: Executor>(
    tx: &mut E,
    org: OrgId,
    sessions: &[SessionId],
) -> Result<Vec<(SessionId, PersonId)>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT session_id, client_id FROM seats WHERE org_id = $1 AND session_id IN ({}) AND status IN ({})",
                placeholders(2, sessions.len()),
                HOLDING_SEATS
            ))
            .bind(org)
            .bind_all(sessions.iter().copied()),
        )
        .await?;
    rows.iter().map(|r| Ok((r.id("session_id")?, r.id("client_id")?))).collect()
}

pub(crate) fn clients_on(clients: &[(SessionId, PersonId)], session: SessionId) -> Vec<PersonId> {
    clients.iter().filter(|(s, _)| *s == session).map(|(_, c)| *c).collect()
}
