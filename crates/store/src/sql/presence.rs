//! Presence in a running session: a member checks in ("I'm here"); the
//! session's therapists see it live (a `PRESENCE` event to them and to the
//! member) and confirm it into attendance through the attendance use case.

use async_trait::async_trait;
use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::live::{EventKind, check_in_refusal, minutes_late};
use circles_domain::session::{InvitationStatus, SeatStatus, SessionStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::event_log::{self, Draft};
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, Keyset, Presence};
use crate::{PresenceStore, Result, StoreError};

/// What check-in needs of a session.
struct Running {
    starts_at: Timestamp,
    status: SessionStatus,
}

async fn session<E: Executor>(tx: &mut E, org: OrgId, session: SessionId, now: Timestamp) -> Result<Running> {
    let row = tx
        .fetch_optional(
            sql("SELECT starts_at, ends_at, status FROM sessions WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(session),
        )
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    let (starts_at, ends_at) = (row.time("starts_at")?, row.time("ends_at")?);
    let status: SessionStatus = row.parsed("status")?;
    Ok(Running { starts_at, status: status.at(starts_at, ends_at, now) })
}

/// Who watches the room live: the session's accepted therapists and its
/// group's facilitators and moderators (the staff who mark its attendance).
async fn watchers<E: Executor>(tx: &mut E, org: OrgId, session: SessionId) -> Result<Vec<PersonId>> {
    let rows = tx
        .fetch_all(
            sql("SELECT therapist_id AS person_id FROM session_therapists \
                 WHERE org_id = $1 AND session_id = $2 AND status = $3 \
                 UNION SELECT g.person_id FROM group_staff g \
                 JOIN sessions s ON s.org_id = g.org_id AND s.group_id = g.group_id WHERE g.org_id = $1 AND s.id = $2")
            .bind(org)
            .bind(session)
            .bind(InvitationStatus::Accepted.as_str()),
        )
        .await?;
    rows.iter().map(|r| r.id("person_id").map_err(Into::into)).collect()
}

async fn present<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    starts_at: Timestamp,
    page: &Keyset<(Timestamp, PersonId)>,
) -> Result<Vec<Presence>> {
    let rows = tx
        .fetch_all(
            sql("SELECT p.person_id, p.checked_in_at, a.name, s.status FROM session_presence p \
                 JOIN people pe ON pe.org_id = p.org_id AND pe.id = p.person_id \
                 JOIN accounts a ON a.id = pe.account_id \
                 LEFT JOIN seats s ON s.org_id = p.org_id AND s.session_id = p.session_id AND s.client_id = p.person_id \
                 WHERE p.org_id = $1 AND p.session_id = $2 \
                 AND ($3 IS NULL OR p.checked_in_at > $3 OR (p.checked_in_at = $3 AND p.person_id > $4)) \
                 ORDER BY p.checked_in_at, p.person_id LIMIT $5")
            .bind(org)
            .bind(session)
            .bind(page.after.map(|(at, _)| at))
            .bind(page.after.map(|(_, person)| person))
            .bind(page.limit),
        )
        .await?;
    rows.iter()
        .map(|r| {
            let checked_in_at = r.time("checked_in_at")?;
            Ok(Presence {
                person_id: r.id("person_id")?,
                name: r.text("name")?,
                checked_in_at,
                attended: r.opt_text("status")?.as_deref() == Some(SeatStatus::Attended.as_str()),
                minutes_late: minutes_late(starts_at, checked_in_at),
            })
        })
        .collect()
}

#[async_trait]
impl<B: Backend> PresenceStore for SqlStore<B> {
    async fn check_in(&self, ctx: &AuditCtx, org: OrgId, session_id: SessionId, client: PersonId) -> Result<Presence> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let running = session(&mut tx, org, session_id, now).await?;
            let seat = tx
                .fetch_optional(
                    sql("SELECT id FROM seats WHERE org_id = $1 AND session_id = $2 AND client_id = $3 \
                         AND status IN ($4, $5, $6)")
                    .bind(org)
                    .bind(session_id)
                    .bind(client)
                    .bind(SeatStatus::Registered.as_str())
                    .bind(SeatStatus::Confirmed.as_str())
                    .bind(SeatStatus::Attended.as_str()),
                )
                .await?;
            if seat.is_none() {
                return Err(StoreError::conflict("no_seat", "you hold no seat in this session"));
            }
            if let Some(reason) = check_in_refusal(running.status) {
                return Err(StoreError::conflict("check_in_closed", reason));
            }
            // Checking in twice keeps the first time: lateness is when they came.
            let inserted = tx
                .execute(
                    sql("INSERT INTO session_presence (org_id, session_id, person_id, checked_in_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, session_id, person_id) DO NOTHING")
                    .bind(org)
                    .bind(session_id)
                    .bind(client)
                    .bind(now),
                )
                .await?;
            if inserted > 0 {
                let mut recipients = watchers(&mut tx, org, session_id).await?;
                recipients.push(client);
                let draft = Draft {
                    kind: EventKind::Presence,
                    session: Some(session_id),
                    payload: json!({ "session_id": session_id, "person_id": client, "checked_in_at": now }),
                    recipients,
                };
                event_log::record(&mut tx, org, now, vec![draft]).await?;
                let audit = AuditDraft::new("presence.check_in", "session", session_id).subject(client);
                audit::append(&mut tx, now, ctx, org, &[audit]).await?;
            }
            let all = present(&mut tx, org, session_id, running.starts_at, &Keyset::all()).await?;
            all.into_iter().find(|p| p.person_id == client).expect("checked in above")
        })
    }

    async fn presence_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        page: Keyset<(Timestamp, PersonId)>,
    ) -> Result<Vec<Presence>> {
        let now = self.clock.now();
        // Who came to a therapy session is part of each client's record:
        // the read is audited, so it runs as a write. Before anyone checks in
        // (every sheet filled in ahead of the session) there is nothing to
        // audit, and a read transaction answers without queueing for the
        // writer; nor is there past the last page.
        let nobody = read_tx!(self, |tx| {
            let running = session(&mut tx, org, session_id, now).await?;
            present(&mut tx, org, session_id, running.starts_at, &page).await?.is_empty()
        })?;
        if nobody {
            return Ok(Vec::new());
        }
        write_tx!(self, |tx| {
            let running = session(&mut tx, org, session_id, now).await?;
            let listed = present(&mut tx, org, session_id, running.starts_at, &page).await?;
            let read = AuditDraft::read_of("presence.read", "session", session_id, listed.iter().map(|p| p.person_id));
            audit::append(&mut tx, now, ctx, org, read.as_slice()).await?;
            listed
        })
    }
}
