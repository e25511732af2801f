//! Reminders before sessions, at each organisation's offsets. One pass of
//! the reminder job reads the scheduled sessions some organisation's longest
//! offset reaches, decides with the domain which offsets have come and are
//! not yet dealt with, and records each in `session_reminders`. That row's
//! primary key is the claim: a second server recording the same offset in
//! the same instant waits for the first and then inserts nothing, so only
//! the transaction whose record went in reminds anyone. The reminder goes
//! to the inbox and, by the recipients' choices, out through the outbox, in
//! the same transaction.

use async_trait::async_trait;
use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::local_time::local_time;
use circles_domain::reminder::{ReminderOffsets, to_record};
use circles_domain::session::{InvitationStatus, NotificationKind, SeatStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Query, Row, Value, sql};
use super::notify::{Notice, push};
use super::rows::statuses::SESSION_SCHEDULED;
use super::{SqlStore, read_one, write_tx};
use crate::model::AuditCtx;
use crate::{ReminderStore, Result, StoreError};

/// Sessions whose reminder records one statement reads at most.
const SESSIONS_PER_READ: usize = 200;

struct Candidate {
    org: OrgId,
    session: SessionId,
    title: String,
    starts_at: Timestamp,
    timezone: String,
    due: Vec<i64>,
}

/// The longest offset any organisation uses: how far ahead the pass looks.
async fn horizon<E: Executor>(tx: &mut E) -> Result<jiff::SignedDuration> {
    let rows = tx
        .fetch_all(sql("SELECT DISTINCT reminder_offsets FROM organisations WHERE reminder_offsets IS NOT NULL \
                        /* spans organisations: the reminder job serves every clinic */"))
        .await?;
    let mut longest = ReminderOffsets::default().longest();
    for row in &rows {
        longest = longest.max(ReminderOffsets::from_stored(row.opt_text("reminder_offsets")?.as_deref()).longest());
    }
    Ok(longest)
}

/// Scheduled sessions within the horizon with at least one offset come.
async fn candidates<E: Executor>(tx: &mut E, now: Timestamp) -> Result<Vec<Candidate>> {
    let until = now + horizon(tx).await?;
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT s.org_id, s.id, s.title, s.starts_at, s.timezone, o.reminder_offsets \
                 FROM sessions s JOIN organisations o ON o.id = s.org_id \
                 WHERE s.status = {SESSION_SCHEDULED} AND s.starts_at > $1 AND s.starts_at <= $2 \
                 /* spans organisations: the reminder job sweeps every clinic */ ORDER BY s.starts_at, s.id"
            ))
            .bind(now)
            .bind(until),
        )
        .await?;
    let mut found = Vec::new();
    for row in &rows {
        let offsets = ReminderOffsets::from_stored(row.opt_text("reminder_offsets")?.as_deref());
        let starts_at = row.time("starts_at")?;
        let due = offsets.due(starts_at, now);
        if !due.is_empty() {
            found.push(Candidate {
                org: row.id("org_id")?,
                session: row.id("id")?,
                title: row.text("title")?,
                starts_at,
                timezone: row.text("timezone")?,
                due,
            });
        }
    }
    Ok(found)
}

/// The offsets already recorded for each of `sessions`.
async fn recorded<E: Executor>(tx: &mut E, sessions: &[Candidate]) -> Result<Vec<(SessionId, i64)>> {
    let mut out = Vec::new();
    for chunk in sessions.chunks(SESSIONS_PER_READ) {
        let mut args: Vec<Value> = Vec::new();
        let pairs: Vec<String> = chunk
            .iter()
            .map(|c| {
                args.push(c.org.into());
                args.push(c.session.into());
                format!("(${}, ${})", args.len() - 1, args.len())
            })
            .collect();
        let mut q = Query::new(format!(
            "SELECT session_id, offset_minutes FROM session_reminders WHERE (org_id, session_id) IN ({}) \
             /* spans organisations: the reminder job sweeps every clinic */",
            pairs.join(", ")
        ));
        q.args = args;
        for row in tx.fetch_all(q).await? {
            out.push((row.id("session_id")?, row.int("offset_minutes")?));
        }
    }
    Ok(out)
}

/// Records `offset` for the session unless a record exists; whether this
/// call's record went in.
async fn claim<E: Executor>(tx: &mut E, c: &Candidate, offset: i64, reminded: bool, now: Timestamp) -> Result<bool> {
    let inserted = tx
        .execute(
            sql("INSERT INTO session_reminders (org_id, session_id, offset_minutes, reminded, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, session_id, offset_minutes) DO NOTHING")
            .bind(c.org)
            .bind(c.session)
            .bind(offset)
            .bind(reminded)
            .bind(now),
        )
        .await?;
    Ok(inserted == 1)
}

/// The therapists who accepted and the clients seated.
async fn people<E: Executor>(tx: &mut E, c: &Candidate) -> Result<Vec<PersonId>> {
    let rows = tx
        .fetch_all(
            sql("SELECT therapist_id AS person_id FROM session_therapists WHERE org_id = $1 AND session_id = $2 \
                 AND status = $5 UNION SELECT client_id FROM seats WHERE org_id = $1 AND session_id = $2 \
                 AND status IN ($3, $4)")
            .bind(c.org)
            .bind(c.session)
            .bind(SeatStatus::Registered.as_str())
            .bind(SeatStatus::Confirmed.as_str())
            .bind(InvitationStatus::Accepted.as_str()),
        )
        .await?;
    rows.iter().map(|r| Ok(r.id("person_id")?)).collect()
}

#[async_trait]
impl<B: Backend> ReminderStore for SqlStore<B> {
    async fn send_reminders(&self) -> Result<u64> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let found = candidates(&mut tx, now).await?;
            let done = recorded(&mut tx, &found).await?;
            let mut reminded = 0;
            for c in &found {
                let already: Vec<i64> = done.iter().filter(|(s, _)| *s == c.session).map(|(_, m)| *m).collect();
                let (fresh, remind) = to_record(&c.due, &already);
                let nearest = *c.due.last().expect("due is not empty");
                let mut claimed = false;
                for offset in fresh {
                    let is_nearest = offset == nearest;
                    let went_in = claim(&mut tx, c, offset, remind && is_nearest, now).await?;
                    claimed |= went_in && is_nearest;
                }
                if !(remind && claimed) {
                    continue;
                }
                let notice = Notice {
                    kind: NotificationKind::Reminder,
                    title: "Session reminder",
                    body: format!("{} starts on {}", c.title, local_time(c.starts_at, &c.timezone)),
                    session: Some(c.session),
                    group: None,
                };
                let recipients = people(&mut tx, c).await?;
                push(&mut tx, c.org, now, recipients, None, &notice).await?;
                reminded += 1;
            }
            reminded
        })
    }

    async fn reminder_offsets(&self, org: OrgId) -> Result<ReminderOffsets> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT reminder_offsets FROM organisations WHERE id = $1").bind(org)).await?
        })?;
        let row = row.ok_or(StoreError::NotFound("organisation"))?;
        Ok(ReminderOffsets::from_stored(row.opt_text("reminder_offsets")?.as_deref()))
    }

    async fn set_reminder_offsets(&self, ctx: &AuditCtx, org: OrgId, offsets: &ReminderOffsets) -> Result<()> {
        let now = self.clock.now();
        let draft = AuditDraft::new("organisation.settings", "organisation", org)
            .details(json!({ "reminder_offsets_minutes": offsets.minutes() }));
        write_tx!(self, |tx| {
            tx.execute(
                sql("UPDATE organisations SET reminder_offsets = $2 WHERE id = $1").bind(org).bind(offsets.stored()),
            )
            .await?;
            audit::append(&mut tx, now, ctx, org, std::slice::from_ref(&draft)).await?;
        })
    }
}
