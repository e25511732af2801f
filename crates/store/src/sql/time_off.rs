//! Time off: requests, decisions, and what happens to the sessions in the
//! range — moved to a coverage therapist or cancelled.
//!
//! Approved time off is busy time for every later booking (see
//! [`super::busy::load`]), but sessions already in its range never stop a
//! request or an approval: they are the affected sessions, counted live on
//! every read. One therapist's open requests never overlap: the check runs
//! under the lock on the therapist's row (and PostgreSQL's exclusion
//! constraint backs it).

mod coverage;
mod notices;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{OrgId, PersonId, SessionId, TimeOffId};
use circles_domain::interval::Interval;
use circles_domain::sealed::ClinicalField;
use circles_domain::session::{SeatStatus, SessionStatus};
use circles_domain::time_off::{IllegalMove, TimeOffStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, Owner};
use super::db::{Backend, Dialect, Executor, Row, Value, placeholders, sql};
use super::rows::conflict_words;
use super::rows::freed::{self, Cause};
use super::rows::sealed;
use super::rows::sessions::sole_client;
use super::rows::statuses::HOLDING_SEATS;
use super::rows::time_off::{affected_by_o, clients_of, clients_on, load_affected, load_affected_page};
use super::{SqlStore, read_tx, write_tx};
use crate::model::{
    AffectedSession, AuditCtx, Keyset, NewTimeOff, Reassignment, TimeOff, TimeOffApproval, TimeOffFilter,
};
use crate::sql::rows::statuses::{
    SESSION_CANCELLED, TIME_OFF_APPROVED, TIME_OFF_CANCELLED, TIME_OFF_DENIED, TIME_OFF_PENDING,
};
use crate::{Result, StoreError, TimeOffStore};
use notices::Step;

fn time_off_select(now: &str) -> String {
    // People read a request: each person it mentions comes with a name, and
    // its times with the organisation's clock.
    let name_of = |column: &str| {
        format!(
            "(SELECT a.name FROM people p JOIN accounts a ON a.id = p.account_id \
             WHERE p.org_id = o.org_id AND p.id = o.{column}) AS {}",
            column.replace("_id", "_name").replace("_by", "_by_name")
        )
    };
    format!(
        "SELECT o.*, (SELECT COUNT(*) FROM session_therapists t JOIN sessions s ON s.org_id = t.org_id \
         AND s.id = t.session_id WHERE t.org_id = o.org_id AND t.therapist_id = o.therapist_id AND {}) \
         AS affected_sessions, {}, {}, {}, {}, \
         (SELECT z.timezone FROM organisations z WHERE z.id = o.org_id) AS org_timezone FROM time_off o",
        affected_by_o(now),
        name_of("therapist_id"),
        name_of("coverage_therapist_id"),
        name_of("requested_by"),
        name_of("decided_by"),
    )
}

fn time_off_from_row(row: &impl Row) -> Result<TimeOff> {
    Ok(TimeOff {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        therapist_id: row.id("therapist_id")?,
        therapist_name: row.opt_text("therapist_name")?.unwrap_or_default(),
        kind: row.parsed("kind")?,
        reason: row.text("reason")?,
        starts_at: row.time("starts_at")?,
        ends_at: row.time("ends_at")?,
        status: row.parsed("status")?,
        auto_reassign: row.bool("auto_reassign")?,
        coverage_therapist_id: row.opt_id("coverage_therapist_id")?,
        coverage_therapist_name: row.opt_text("coverage_therapist_name")?,
        requested_by: row.opt_id("requested_by")?,
        requested_by_name: row.opt_text("requested_by_name")?,
        decided_by: row.opt_id("decided_by")?,
        decided_by_name: row.opt_text("decided_by_name")?,
        decided_at: row.opt_time("decided_at")?,
        decision_reason: row.opt_text("decision_reason")?,
        affected_sessions: row.int("affected_sessions")?,
        created_at: row.time("created_at")?,
        timezone: row.text("org_timezone")?,
    })
}

/// Opens the reasons of requests read with [`time_off_from_row`], which
/// leaves them as stored.
async fn open_reasons<E: Executor>(tx: &mut E, org: OrgId, requests: &mut [TimeOff]) -> Result<()> {
    let reasons = requests.iter_mut().map(|t| (t.id.0, &mut t.reason));
    sealed::open_each(tx, org, ClinicalField::TimeOffReason, reasons).await
}

async fn fetch<E: Executor>(tx: &mut E, org: OrgId, id: TimeOffId, now: Timestamp) -> Result<TimeOff> {
    let q = sql(format!("{} WHERE o.org_id = $1 AND o.id = $2", time_off_select("$3"))).bind(org).bind(id).bind(now);
    let mut away = time_off_from_row(&tx.fetch_optional(q).await?.ok_or(StoreError::NotFound("time off"))?)?;
    open_reasons(tx, org, std::slice::from_mut(&mut away)).await?;
    Ok(away)
}

/// The parts of a request a decision needs, its row locked.
struct Locked {
    id: TimeOffId,
    therapist: PersonId,
    status: TimeOffStatus,
    auto_reassign: bool,
}

async fn lock<E: Executor>(tx: &mut E, dialect: Dialect, org: OrgId, id: TimeOffId) -> Result<Locked> {
    let row = tx
        .fetch_optional(
            sql(format!(
                "SELECT therapist_id, status, auto_reassign FROM time_off WHERE org_id = $1 AND id = $2{}",
                dialect.for_update()
            ))
            .bind(org)
            .bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("time off"))?;
    Ok(Locked {
        id,
        therapist: row.id("therapist_id")?,
        status: row.parsed("status")?,
        auto_reassign: row.bool("auto_reassign")?,
    })
}

fn illegal(e: IllegalMove) -> StoreError {
    StoreError::conflict("illegal_transition", e.to_string())
}

/// `UPDATE`/`DELETE … WHERE org_id = $1 AND <column> = $2 AND session_id IN (…)`, with
/// extra parameters after the list.
async fn for_sessions<E: Executor>(
    tx: &mut E,
    statement: &str,
    org: OrgId,
    person: PersonId,
    sessions: &[SessionId],
    extra: Vec<Value>,
) -> Result<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    let n = sessions.len();
    let text = statement.replace("{list}", &placeholders(3, n)).replace("{next}", &format!("${}", n + 3));
    let mut q = sql(text).bind(org).bind(person).bind_all(sessions.iter().copied());
    q.args.extend(extra);
    tx.execute(q).await?;
    Ok(())
}

/// Moves every affected session of `away` to `coverage` — or none, when
/// `coverage` is busy or away for any of them (the clashes are returned).
/// Sessions `coverage` is already on just lose the absent therapist. The
/// people of every moved session are told.
async fn move_affected<E: Executor>(
    tx: &mut E,
    step: Step,
    away: &Locked,
    coverage: PersonId,
    drafts: &mut Vec<AuditDraft>,
) -> Result<Reassignment> {
    let Step { org, now, .. } = step;
    let affected = load_affected(tx, org, away.id, now).await?;
    let ids: Vec<SessionId> = affected.iter().map(|a| a.session.session_id).collect();
    let mut outcome = Reassignment { coverage_therapist_id: coverage, moved: Vec::new(), conflicts: Vec::new() };
    if ids.is_empty() {
        return Ok(outcome);
    }
    let already_on: Vec<SessionId> = tx
        .fetch_all(
            sql(format!(
                "SELECT session_id FROM session_therapists WHERE org_id = $1 AND therapist_id = $2 AND session_id IN ({})",
                placeholders(3, ids.len())
            ))
            .bind(org)
            .bind(coverage)
            .bind_all(ids.iter().copied()),
        )
        .await?
        .iter()
        .map(|r| r.id("session_id").map_err(Into::into))
        .collect::<Result<_>>()?;
    let claims: Vec<Claim> = affected
        .iter()
        .filter(|a| a.accepted && !already_on.contains(&a.session.session_id))
        .map(|a| Claim { person: coverage, interval: a.interval(), owner: Owner::Session(a.session.session_id) })
        .collect();
    if let (Some(start), Some(end)) =
        (claims.iter().map(|c| c.interval.start).min(), claims.iter().map(|c| c.interval.end).max())
    {
        let busy = busy::load(tx, org, &[coverage], Interval::new(start, end).expect("claims are not empty")).await?;
        outcome.conflicts = busy::conflicts(&claims, &busy, now);
        if !outcome.conflicts.is_empty() {
            return Ok(outcome);
        }
        busy::claim(tx, org, &claims, now, drafts).await?;
    }
    let (joining, leaving): (Vec<SessionId>, Vec<SessionId>) = ids.iter().partition(|id| !already_on.contains(id));
    let therapist = away.therapist;
    for_sessions(
        tx,
        "UPDATE session_therapists SET therapist_id = {next}, message = 'covering for time off' \
         WHERE org_id = $1 AND therapist_id = $2 AND session_id IN ({list})",
        org,
        therapist,
        &joining,
        vec![coverage.into()],
    )
    .await?;
    let delete_assignments =
        "DELETE FROM session_therapists WHERE org_id = $1 AND therapist_id = $2 AND session_id IN ({list})";
    for_sessions(tx, delete_assignments, org, therapist, &leaving, vec![]).await?;
    let release = "DELETE FROM busy_intervals WHERE org_id = $1 AND person_id = $2 AND session_id IN ({list})";
    for_sessions(tx, release, org, therapist, &ids, vec![]).await?;
    let clients = clients_of(tx, org, &ids).await?;
    for a in &affected {
        let session = a.session.session_id;
        drafts.push(
            AuditDraft::new("session.reassign", "session", session)
                .subject(sole_client(&clients_on(&clients, session)))
                .details(json!({ "from": therapist, "to": coverage, "time_off": away.id, "invitation": a.assignment })),
        );
    }
    notices::reassigned(tx, step, (therapist, coverage), &affected, &clients).await?;
    outcome.moved = ids;
    Ok(outcome)
}

/// Checks that `coverage` can be named for `away`: another therapist.
async fn lock_with_coverage<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    away: &Locked,
    coverage: Option<PersonId>,
) -> Result<()> {
    let mut people = vec![(away.therapist, Role::Therapist, "therapist_id")];
    if let Some(coverage) = coverage {
        if coverage == away.therapist {
            return Err(StoreError::invalid("coverage_therapist_id", "must be another therapist than the one away"));
        }
        people.push((coverage, Role::Therapist, "coverage_therapist_id"));
    }
    busy::lock_people(tx, dialect, org, &people).await
}

#[async_trait]
impl<B: Backend> TimeOffStore for SqlStore<B> {
    async fn request_time_off(&self, ctx: &AuditCtx, org: OrgId, input: NewTimeOff) -> Result<TimeOff> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let id = TimeOffId::new();
        write_tx!(self, |tx| {
            busy::lock_people(&mut tx, dialect, org, &[(input.therapist_id, Role::Therapist, "therapist_id")]).await?;
            let overlapping = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT id FROM time_off WHERE org_id = $1 AND therapist_id = $2 \
                         AND status IN ({TIME_OFF_PENDING}, {TIME_OFF_APPROVED}) AND starts_at < $3 AND ends_at > $4 \
                         ORDER BY starts_at LIMIT 1"
                    ))
                    .bind(org)
                    .bind(input.therapist_id)
                    .bind(input.range.end)
                    .bind(input.range.start),
                )
                .await?;
            if let Some(row) = overlapping {
                let mut error = StoreError::conflict(
                    "time_off_overlap",
                    "the therapist already has a pending or approved request overlapping this one",
                );
                if let StoreError::Conflict(c) = &mut error {
                    c.details.insert("overlapping_id".into(), json!(row.id::<TimeOffId>("id")?));
                }
                return Err(error);
            }
            let reason = sealed::seal(&mut tx, org, ClinicalField::TimeOffReason, id.0, Some(&input.reason)).await?;
            tx.execute(
                sql(format!(
                    "INSERT INTO time_off (org_id, id, therapist_id, kind, reason, starts_at, ends_at, status, \
                     auto_reassign, requested_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, {TIME_OFF_PENDING}, $8, $9, $10, $10)"
                ))
                .bind(org)
                .bind(id)
                .bind(input.therapist_id)
                .bind(input.kind.as_str())
                .bind(reason)
                .bind(input.range.start)
                .bind(input.range.end)
                .bind(input.auto_reassign)
                .bind(ctx.person_id)
                .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("time_off.request", "time_off", id).details(json!({
                "therapist_id": input.therapist_id, "kind": input.kind, "starts_at": input.range.start,
                "ends_at": input.range.end,
            }));
            let requested = fetch(&mut tx, org, id, now).await?;
            notices::requested(&mut tx, Step { org, now, actor: ctx.person_id }, &requested).await?;
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            requested
        })
    }

    async fn time_off(&self, org: OrgId, id: TimeOffId) -> Result<TimeOff> {
        let now = self.clock.now();
        read_tx!(self, |tx| fetch(&mut tx, org, id, now).await?)
    }

    async fn list_time_off(&self, org: OrgId, filter: TimeOffFilter) -> Result<Vec<TimeOff>> {
        let now = self.clock.now();
        let q = sql(format!(
            "{} WHERE o.org_id = $1 AND ($2 IS NULL OR o.therapist_id = $2) AND ($3 IS NULL OR o.status = $3) \
             AND ($6 IS NULL OR o.starts_at < $6 OR (o.starts_at = $6 AND o.id > $7)) \
             ORDER BY o.starts_at DESC, o.id LIMIT $5",
            time_off_select("$4")
        ))
        .bind(org)
        .bind(filter.therapist)
        .bind(filter.status.map(TimeOffStatus::as_str))
        .bind(now)
        .bind(filter.limit)
        .bind(filter.after.map(|(at, _)| at))
        .bind(filter.after.map(|(_, id)| id));
        read_tx!(self, |tx| {
            let mut list = tx.fetch_all(q).await?.iter().map(time_off_from_row).collect::<Result<Vec<_>>>()?;
            open_reasons(&mut tx, org, &mut list).await?;
            list
        })
    }

    async fn affected_page(
        &self,
        org: OrgId,
        id: TimeOffId,
        page: Keyset<(Timestamp, SessionId)>,
    ) -> Result<Vec<AffectedSession>> {
        let now = self.clock.now();
        read_tx!(self, |tx| {
            fetch(&mut tx, org, id, now).await?;
            load_affected_page(&mut tx, org, id, now, &page).await?.into_iter().map(|a| a.session).collect()
        })
    }

    async fn approve_time_off(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: TimeOffId,
        coverage: Option<PersonId>,
    ) -> Result<TimeOffApproval> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let away = lock(&mut tx, dialect, org, id).await?;
            away.status.approve().map_err(illegal)?;
            lock_with_coverage(&mut tx, dialect, org, &away, coverage).await?;
            tx.execute(
                sql(format!("UPDATE time_off SET status = {TIME_OFF_APPROVED}, decided_by = $3, decided_at = $4, updated_at = $4, \
                     coverage_therapist_id = $5 WHERE org_id = $1 AND id = $2"))
                .bind(org)
                .bind(id)
                .bind(ctx.person_id)
                .bind(now)
                .bind(coverage),
            )
            .await?;
            let mut drafts = vec![
                AuditDraft::new("time_off.approve", "time_off", id)
                    .details(json!({ "therapist_id": away.therapist, "coverage_therapist_id": coverage })),
            ];
            let step = Step { org, now, actor: ctx.person_id };
            let reassignment = match coverage {
                Some(coverage) if away.auto_reassign => {
                    Some(move_affected(&mut tx, step, &away, coverage, &mut drafts).await?)
                }
                _ => None,
            };
            let time_off = fetch(&mut tx, org, id, now).await?;
            notices::approved(&mut tx, step, &time_off, reassignment.as_ref()).await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            TimeOffApproval { time_off, reassignment }
        })
    }

    async fn deny_time_off(&self, ctx: &AuditCtx, org: OrgId, id: TimeOffId, reason: String) -> Result<TimeOff> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let away = lock(&mut tx, dialect, org, id).await?;
            away.status.deny().map_err(illegal)?;
            tx.execute(
                sql(format!("UPDATE time_off SET status = {TIME_OFF_DENIED}, decided_by = $3, decided_at = $4, updated_at = $4, \
                     decision_reason = $5 WHERE org_id = $1 AND id = $2"))
                .bind(org)
                .bind(id)
                .bind(ctx.person_id)
                .bind(now)
                .bind(&reason),
            )
            .await?;
            let draft = AuditDraft::new("time_off.deny", "time_off", id)
                .details(json!({ "therapist_id": away.therapist, "reason": reason }));
            let denied = fetch(&mut tx, org, id, now).await?;
            notices::denied(&mut tx, Step { org, now, actor: ctx.person_id }, &denied).await?;
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            denied
        })
    }

    async fn cancel_time_off(&self, ctx: &AuditCtx, org: OrgId, id: TimeOffId) -> Result<TimeOff> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        self.after_freeing(write_tx!(self, |tx| {
            let away = lock(&mut tx, dialect, org, id).await?;
            away.status.cancel().map_err(illegal)?;
            tx.execute(
                sql(format!(
                    "UPDATE time_off SET status = {TIME_OFF_CANCELLED}, updated_at = $3 WHERE org_id = $1 AND id = $2"
                ))
                .bind(org)
                .bind(id)
                .bind(now),
            )
            .await?;
            let draft =
                AuditDraft::new("time_off.cancel", "time_off", id).details(json!({ "therapist_id": away.therapist }));
            let withdrawn = fetch(&mut tx, org, id, now).await?;
            if away.status == TimeOffStatus::Approved {
                // The therapist is back at work then: someone waiting may take that time.
                let freed: Vec<Interval> = Interval::new(withdrawn.starts_at, withdrawn.ends_at).into_iter().collect();
                freed::record_free_time(&mut tx, org, away.therapist, &freed, true, Cause::TimeOffCancelled, now)
                    .await?;
            }
            notices::withdrawn(&mut tx, Step { org, now, actor: ctx.person_id }, &withdrawn).await?;
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            withdrawn
        }))
    }

    async fn coverage(&self, org: OrgId, id: TimeOffId) -> Result<Vec<crate::model::CoverageCandidate>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        read_tx!(self, |tx| coverage::rank(&mut tx, dialect, org, id, now).await?)
    }

    async fn reassign_affected(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: TimeOffId,
        coverage: PersonId,
    ) -> Result<Reassignment> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let away = lock(&mut tx, dialect, org, id).await?;
            away.status.arrange_cover().map_err(illegal)?;
            lock_with_coverage(&mut tx, dialect, org, &away, Some(coverage)).await?;
            let mut drafts = Vec::new();
            let step = Step { org, now, actor: ctx.person_id };
            let outcome = move_affected(&mut tx, step, &away, coverage, &mut drafts).await?;
            if !outcome.conflicts.is_empty() {
                let mut refusal = busy::conflict_error(&outcome.conflicts, &[]);
                conflict_words::describe(&mut tx, org, &mut refusal).await?;
                return Err(refusal);
            }
            tx.execute(
                sql("UPDATE time_off SET coverage_therapist_id = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id)
                    .bind(coverage)
                    .bind(now),
            )
            .await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            outcome
        })
    }

    async fn cancel_affected(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: TimeOffId,
        reason: String,
    ) -> Result<Vec<AffectedSession>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let away = lock(&mut tx, dialect, org, id).await?;
            away.status.arrange_cover().map_err(illegal)?;
            let affected = load_affected(&mut tx, org, id, now).await?;
            let ids: Vec<SessionId> = affected.iter().map(|a| a.session.session_id).collect();
            let clients = clients_of(&mut tx, org, &ids).await?;
            if !ids.is_empty() {
                let list = placeholders(4, ids.len());
                tx.execute(
                    sql(format!(
                        "UPDATE sessions SET status = {SESSION_CANCELLED}, cancelled_at = $2, cancel_reason = $3, \
                         updated_at = $2 WHERE org_id = $1 AND id IN ({list})"
                    ))
                    .bind(org)
                    .bind(now)
                    .bind(&reason)
                    .bind_all(ids.iter().copied()),
                )
                .await?;
                tx.execute(
                    sql(format!(
                        "UPDATE seats SET status = $3, updated_at = $2 WHERE org_id = $1 AND session_id IN ({list}) \
                         AND status IN ({})",
                        HOLDING_SEATS
                    ))
                    .bind(org)
                    .bind(now)
                    .bind(SeatStatus::CancelledByProvider.as_str())
                    .bind_all(ids.iter().copied()),
                )
                .await?;
                tx.execute(
                    sql(format!(
                        "DELETE FROM busy_intervals WHERE org_id = $1 AND session_id IN ({})",
                        placeholders(2, ids.len())
                    ))
                    .bind(org)
                    .bind_all(ids.iter().copied()),
                )
                .await?;
            }
            let drafts: Vec<AuditDraft> = ids
                .iter()
                .map(|&session| {
                    AuditDraft::new("session.cancel", "session", session)
                        .subject(sole_client(&clients_on(&clients, session)))
                        .details(json!({ "reason": reason, "seats": SeatStatus::CancelledByProvider, "time_off": id }))
                })
                .collect();
            let step = Step { org, now, actor: ctx.person_id };
            notices::cancelled(&mut tx, step, away.therapist, &affected, &clients, &reason).await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            affected
                .into_iter()
                .map(|a| AffectedSession { status: SessionStatus::Cancelled, ..a.session })
                .collect::<Vec<_>>()
        })
    }
}
