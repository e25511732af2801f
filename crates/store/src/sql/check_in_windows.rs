//! Check-in windows opening and closing, announced live: the frequent job
//! finds the edges that have come, and each one's marker row and event
//! commit together. The marker's key makes a second server's insert find
//! the row and send nothing, so each edge is announced once.

use async_trait::async_trait;
use circles_domain::checkin::{Phase, WINDOW_LIMIT_MINUTES, WindowEdge, WindowOffsets};
use circles_domain::ids::{CheckInId, OrgId, PersonId, SessionId};
use circles_domain::live::EventKind;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::db::{Backend, Dialect, Executor, Query, Row, sql};
use super::event_log::{self, Draft};
use super::rows::statuses::{HOLDING_SEATS, Quoted, SESSION_CANCELLED};
use super::{SqlStore, read_one, write_tx};
use crate::{CheckInWindowStore, Result};

/// How far from now a session may start and still have an edge due: the
/// widest window reaches a week from its anchor, a session's end lies
/// within a day of its start, and an edge is announced for up to the grace.
const REACH: SignedDuration = SignedDuration::from_mins(WINDOW_LIMIT_MINUTES + 2 * 24 * 60);

/// Check-ins of sessions near `$1`..`$2` whose window has opened by `$4`
/// and not yet been announced closed (edge `$3`). The window's opening is
/// compared in SQL, so a tick reads only sessions with an edge due.
fn due_windows(dialect: Dialect, now: Timestamp, first_only: bool) -> Query {
    let anchor = dialect
        .micros(&format!("CASE WHEN c.phase = {} THEN s.starts_at ELSE s.ends_at END", Quoted(Phase::Before.as_str())));
    let limit = if first_only { " LIMIT 1" } else { "" };
    sql(format!(
        "SELECT c.org_id, c.id, c.phase, c.opens_minutes, c.closes_minutes, \
                s.id AS session_id, s.starts_at, s.ends_at \
         FROM check_ins c JOIN sessions s ON s.org_id = c.org_id \
           AND (s.id = c.session_id OR s.group_id = c.group_id) \
         WHERE s.status <> {SESSION_CANCELLED} AND s.starts_at > $1 AND s.starts_at < $2 \
         AND {anchor} + CAST(c.opens_minutes AS BIGINT) * 60000000 <= $4 \
         AND NOT EXISTS (SELECT 1 FROM check_in_window_events e WHERE e.org_id = c.org_id \
           AND e.check_in_id = c.id AND e.session_id = s.id AND e.edge = $3) \
         /* spans organisations: the job sweeps every clinic */ \
         ORDER BY s.starts_at{limit}"
    ))
    .bind(now - REACH)
    .bind(now + REACH)
    .bind(WindowEdge::Closed.as_str())
    .bind(now.as_microsecond())
}

#[async_trait]
impl<B: Backend> CheckInWindowStore for SqlStore<B> {
    async fn announce_check_in_windows(&self) -> Result<u64> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        // Most ticks find nothing due: asking first keeps them from taking
        // the writer (and waking every commit follower) for nothing.
        let due = read_one!(self, |tx| tx.fetch_optional(due_windows(dialect, now, true)).await?)?;
        if due.is_none() {
            return Ok(0);
        }
        write_tx!(self, |tx| {
            let rows = tx.fetch_all(due_windows(dialect, now, false)).await?;
            let mut sent = 0;
            for row in &rows {
                let (org, check_in, session): (OrgId, CheckInId, SessionId) =
                    (row.id("org_id")?, row.id("id")?, row.id("session_id")?);
                let offsets = WindowOffsets { opens: row.int("opens_minutes")?, closes: row.int("closes_minutes")? };
                let window =
                    offsets.window(row.parsed::<Phase>("phase")?, row.time("starts_at")?, row.time("ends_at")?);
                for (edge, at) in window.due_edges(now) {
                    let marked = tx
                        .execute(
                            sql("INSERT INTO check_in_window_events (org_id, check_in_id, session_id, edge, sent_at) \
                                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, check_in_id, session_id, edge) DO NOTHING")
                            .bind(org)
                            .bind(check_in)
                            .bind(session)
                            .bind(edge.as_str())
                            .bind(now),
                        )
                        .await?;
                    if marked == 0 {
                        continue;
                    }
                    let members = tx
                        .fetch_all(
                            sql(format!(
                                "SELECT client_id FROM seats WHERE org_id = $1 AND session_id = $2 \
                                 AND status IN ({HOLDING_SEATS})"
                            ))
                            .bind(org)
                            .bind(session),
                        )
                        .await?
                        .iter()
                        .map(|r| r.id("client_id"))
                        .collect::<Result<Vec<PersonId>, _>>()?;
                    let payload = json!({ "check_in_id": check_in, "session_id": session, "edge": edge.as_str(),
                        "at": at.to_string() });
                    let draft =
                        Draft { kind: EventKind::CheckInWindow, session: Some(session), payload, recipients: members };
                    event_log::record(&mut tx, org, now, vec![draft]).await?;
                    sent += 1;
                }
            }
            sent
        })
    }
}
