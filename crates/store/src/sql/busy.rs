//! Claiming people's time: the one path by which anything becomes busy.
//!
//! A claim (1) locks the people involved (PostgreSQL; SQLite's single writer
//! already excludes everyone else), (2) retires their expired holds, (3)
//! loads their busy time around the claimed intervals and refuses any
//! overlap with a `scheduling_conflict` that lists the clashes and the next
//! free start times, and (4) inserts the busy rows. On PostgreSQL the
//! exclusion constraint on `busy_intervals` backs the check: if a concurrent
//! transaction slipped in between (2) and (4), the insert fails with 23P01
//! and the whole use case runs again, this time seeing the winner.
//!
//! Approved time off is busy time too. It is not stored as busy rows (it can
//! last weeks; rows are at most a day): [`load`] reads it alongside them.

use std::collections::BTreeSet;

use circles_domain::hold::HoldStatus;
use circles_domain::ids::{BusyId, HoldId, OrgId, PersonId, SessionId};
use circles_domain::interval::{FreeSearch, Interval, MAX_BUSY_SPAN, free_starts, merge};
use circles_domain::session::Modality;
use circles_domain::slots::{Calendar, SlotFinder, SlotSearch};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::audit::AuditDraft;
use super::db::{Dialect, Executor, Query, Row, Value, placeholders, sql};
use super::rows::calendars::load_weeks;
use super::rows::statuses::HOLD_LIVE;
use crate::model::{BusyConflict, BusyKind};
use crate::sql::rows::statuses::TIME_OFF_APPROVED;
use crate::{Result, StoreError};

/// How far ahead retry hints look, and on what grid.
pub const HINT_HORIZON: SignedDuration = SignedDuration::from_hours(24 * 14);
pub const HINT_STEP: SignedDuration = SignedDuration::from_mins(15);
pub const HINT_COUNT: usize = 5;

/// What a busy row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Session(SessionId),
    Hold { hold: HoldId, expires_at: Timestamp },
}

/// One person's time to occupy.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    pub person: PersonId,
    pub interval: Interval,
    pub owner: Owner,
}

/// A row of someone's busy time, live or an expired hold not yet retired.
#[derive(Debug, Clone)]
pub struct Busy {
    pub person: PersonId,
    pub interval: Interval,
    pub kind: BusyKind,
    pub session: Option<SessionId>,
    pub hold: Option<HoldId>,
    pub expires_at: Option<Timestamp>,
}

impl Busy {
    /// A hold stops counting at its expiry instant, retired or not.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|expiry| expiry > now)
    }
}

fn people_of(claims: &[Claim]) -> Vec<PersonId> {
    claims.iter().map(|c| c.person).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Where retry hints may fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintsWithin {
    /// Any free time.
    Anytime,
    /// Free time inside this therapist's working hours for this kind of
    /// session (any free time if they keep no rules).
    WorkingHours { therapist: PersonId, modality: Modality },
}

/// The working weeks of `therapists` who keep one: where bookings of
/// their time should fall.
pub async fn working_weeks<E: Executor>(
    tx: &mut E,
    org: OrgId,
    therapists: &[PersonId],
) -> Result<std::collections::HashMap<PersonId, circles_domain::availability::WeeklyAvailability>> {
    load_weeks(tx, org, therapists).await
}

/// Busy rows of `people` overlapping `window`, expired holds included (the
/// caller decides what to do with them), and their approved time off. One
/// statement.
pub async fn load<E: Executor>(tx: &mut E, org: OrgId, people: &[PersonId], window: Interval) -> Result<Vec<Busy>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(5, people.len());
    let q = sql(format!(
        "SELECT person_id, starts_at, ends_at, kind, session_id, hold_id, expires_at FROM busy_intervals \
         WHERE org_id = $1 AND starts_at < $2 AND starts_at >= $3 AND ends_at > $4 AND person_id IN ({list}) \
         UNION ALL \
         SELECT therapist_id, starts_at, ends_at, 'time_off', NULL, NULL, NULL FROM time_off \
         WHERE org_id = $1 AND status = {TIME_OFF_APPROVED} AND starts_at < $2 AND ends_at > $4 AND therapist_id IN ({list})"
    ))
    .bind(org)
    .bind(window.end)
    // Every busy row is shorter than MAX_BUSY_SPAN, so rows that could reach
    // into the window start no earlier than this: the index range stays small.
    .bind(window.start - MAX_BUSY_SPAN)
    .bind(window.start)
    .bind_all(people.iter().copied());
    let rows = tx.fetch_all(q).await?;
    rows.iter()
        .map(|r| {
            let interval = Interval::new(r.time("starts_at")?, r.time("ends_at")?)
                .ok_or_else(|| super::db::DbError::Decode("empty busy interval".into()))?;
            Ok(Busy {
                person: r.id("person_id")?,
                interval,
                kind: r.parsed("kind").map_err(|_| super::db::DbError::Decode("busy kind".into()))?,
                session: r.opt_id("session_id")?,
                hold: r.opt_id("hold_id")?,
                expires_at: r.opt_time("expires_at")?,
            })
        })
        .collect()
}

/// The clashes between `claims` and live busy time (and among the claims
/// themselves). A person is never in conflict with their own place on the
/// same session.
pub fn conflicts(claims: &[Claim], busy: &[Busy], now: Timestamp) -> Vec<BusyConflict> {
    let mut found = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        let same_session = |b: &Busy| matches!(claim.owner, Owner::Session(s) if b.session == Some(s));
        for b in busy {
            if b.person == claim.person && b.is_live(now) && b.interval.overlaps(&claim.interval) && !same_session(b) {
                found.push(BusyConflict {
                    person_id: b.person,
                    starts_at: b.interval.start,
                    ends_at: b.interval.end,
                    kind: b.kind,
                    session_id: b.session,
                });
            }
        }
        for other in &claims[..i] {
            if other.person == claim.person && other.interval.overlaps(&claim.interval) {
                found.push(BusyConflict {
                    person_id: claim.person,
                    starts_at: other.interval.start,
                    ends_at: other.interval.end,
                    kind: match other.owner {
                        Owner::Session(_) => BusyKind::Session,
                        Owner::Hold { .. } => BusyKind::Hold,
                    },
                    session_id: match other.owner {
                        Owner::Session(id) => Some(id),
                        Owner::Hold { .. } => None,
                    },
                });
            }
        }
    }
    found.sort_by_key(|c| (c.starts_at, c.person_id));
    found.dedup();
    found
}

/// The window of busy time that can clash with `claims`.
fn span(claims: &[Claim]) -> Option<Interval> {
    let start = claims.iter().map(|c| c.interval.start).min()?;
    let end = claims.iter().map(|c| c.interval.end).max()?;
    Interval::new(start, end)
}

/// The next free start times for the same people and duration, inside the
/// therapist's working hours when `within` says so.
pub async fn retry_hints<E: Executor>(
    tx: &mut E,
    org: OrgId,
    people: &[PersonId],
    wanted: Interval,
    now: Timestamp,
    within: HintsWithin,
) -> Result<Vec<Timestamp>> {
    let from = wanted.start.max(now);
    // A day either side: working-hours windows and their session counts
    // reach beyond the hints' own range.
    let margin = SignedDuration::from_hours(24);
    let window =
        Interval::new(from - margin, from + HINT_HORIZON + wanted.length() + margin).expect("a forward window");
    if let HintsWithin::WorkingHours { therapist, modality } = within
        && let Some(week) = load_weeks(tx, org, &[therapist]).await?.remove(&therapist)
        && !week.is_unrestricted()
    {
        let busy = load(tx, org, people, window).await?;
        let live = || busy.iter().filter(|b| b.is_live(now));
        let counts_as_session = |b: &&Busy| b.person == therapist && b.kind != BusyKind::TimeOff;
        let mut booked: Vec<Interval> = live().filter(counts_as_session).map(|b| b.interval).collect();
        booked.sort();
        let blocked: Vec<Interval> = live().filter(|b| !counts_as_session(b)).map(|b| b.interval).collect();
        let search = SlotSearch {
            from: wanted.start,
            to: from + HINT_HORIZON,
            duration: wanted.length(),
            step: HINT_STEP,
            modality: Some(modality),
            not_before: now,
            grid_origin: wanted.start,
            limit: HINT_COUNT,
        };
        let calendar = Calendar { week: Some(&week), booked: &booked, blocked: &blocked };
        return Ok(SlotFinder::new(search).map_or_else(Vec::new, |mut finder| finder.free_starts(&calendar)));
    }
    let busy = load(tx, org, people, window).await?;
    let merged = merge(busy.iter().filter(|b| b.is_live(now)).map(|b| b.interval));
    let search = FreeSearch {
        from: wanted.start,
        duration: wanted.length(),
        step: HINT_STEP,
        until: from + HINT_HORIZON,
        limit: HINT_COUNT,
    };
    Ok(free_starts(&merged, search, |slot| slot.start >= now))
}

/// The 409 for a scheduling clash.
pub fn conflict_error(conflicts: &[BusyConflict], hints: &[Timestamp]) -> StoreError {
    let mut error = StoreError::conflict(
        "scheduling_conflict",
        format!(
            "{} requested {} already taken",
            conflicts.len(),
            if conflicts.len() == 1 { "interval is" } else { "intervals are" }
        ),
    );
    if let StoreError::Conflict(c) = &mut error {
        c.details.insert("conflicts".into(), json!(conflicts));
        c.details.insert("retry_hints".into(), json!(hints));
        c.clash_sessions = conflicts.iter().map(|c| c.session_id).collect();
    }
    error
}

/// What finding retry hints needs, kept in a conflict found under row
/// locks until its transaction has rolled back ([`HintRequest::find`]).
#[derive(Debug, Clone)]
pub struct HintRequest {
    pub org: OrgId,
    pub people: Vec<PersonId>,
    pub wanted: Interval,
    pub now: Timestamp,
    pub within: HintsWithin,
}

impl HintRequest {
    pub async fn find<E: Executor>(&self, tx: &mut E) -> Result<Vec<Timestamp>> {
        retry_hints(tx, self.org, &self.people, self.wanted, self.now, self.within).await
    }

    /// Puts names and local times into `error`'s clashes, read in `tx`.
    pub async fn describe<E: Executor>(&self, tx: &mut E, error: &mut StoreError) -> Result<()> {
        super::rows::conflict_words::describe(tx, self.org, error).await
    }

    /// `error`, which will carry the hints once they are found.
    pub fn defer(self, mut error: StoreError) -> StoreError {
        if let StoreError::Conflict(c) = &mut error {
            c.hints_to_find = Some(self);
        }
        error
    }
}

/// The clashes of `claims` with `busy`, and the claim that hints should
/// replace (the first that clashes).
fn clashes(claims: &[Claim], busy: &[Busy], now: Timestamp) -> Option<(Vec<BusyConflict>, Interval)> {
    let clashes = conflicts(claims, busy, now);
    if clashes.is_empty() {
        return None;
    }
    let wanted = claims
        .iter()
        .find(|c| !conflicts(std::slice::from_ref(c), busy, now).is_empty())
        .map_or(claims[0].interval, |c| c.interval);
    Some((clashes, wanted))
}

/// Checks `claims` against current busy time without writing: the cheap
/// first look (one statement) that lets a request for taken time fail
/// without queueing for the writer.
pub async fn check<E: Executor>(
    tx: &mut E,
    org: OrgId,
    claims: &[Claim],
    now: Timestamp,
    within: HintsWithin,
) -> Result<()> {
    let Some(window) = span(claims) else { return Ok(()) };
    let people = people_of(claims);
    let busy = load(tx, org, &people, window).await?;
    match clashes(claims, &busy, now) {
        None => Ok(()),
        // No locks are held here: find the hints at once.
        Some((clashes, wanted)) => {
            let hints = retry_hints(tx, org, &people, wanted, now, within).await?;
            let mut error = conflict_error(&clashes, &hints);
            super::rows::conflict_words::describe(tx, org, &mut error).await?;
            Err(error)
        }
    }
}

/// Closes the live ones among `holds` with `status`, frees their time, and
/// records one audit event per hold about its client.
pub async fn retire_holds<E: Executor>(
    tx: &mut E,
    org: OrgId,
    holds: &[HoldId],
    status: HoldStatus,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    if holds.is_empty() {
        return Ok(());
    }
    let retired = tx
        .fetch_all(
            sql(format!(
                "UPDATE holds SET status = $2, closed_at = $3 WHERE org_id = $1 AND status = {HOLD_LIVE} AND id IN ({}) \
                 RETURNING id, client_id",
                placeholders(4, holds.len())
            ))
            .bind(org)
            .bind(status.as_str())
            .bind(now)
            .bind_all(holds.iter().copied()),
        )
        .await?;
    tx.execute(
        sql(format!("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id IN ({})", placeholders(2, holds.len())))
            .bind(org)
            .bind_all(holds.iter().copied()),
    )
    .await?;
    let action = if status == HoldStatus::Expired { "hold.expire" } else { "hold.release" };
    for row in &retired {
        let hold: HoldId = row.id("id")?;
        drafts.push(AuditDraft::new(action, "hold", hold).subject(row.opt_id::<PersonId>("client_id")?));
    }
    Ok(())
}

/// Occupies the claimed time, or fails with the clashes. Runs inside the
/// caller's write transaction, after the caller has locked the people
/// ([`lock_people`]). Expired holds in the way are retired first: they no
/// longer count, but PostgreSQL's constraint sees every row.
pub async fn claim<E: Executor>(
    tx: &mut E,
    org: OrgId,
    claims: &[Claim],
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    claim_within(tx, org, claims, now, drafts, HintsWithin::Anytime).await
}

/// [`claim`], with retry hints limited as `within` says.
pub async fn claim_within<E: Executor>(
    tx: &mut E,
    org: OrgId,
    claims: &[Claim],
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
    within: HintsWithin,
) -> Result<()> {
    let Some(window) = span(claims) else { return Ok(()) };
    let people = people_of(claims);
    let busy = load(tx, org, &people, window).await?;
    if let Some((clashes, wanted)) = clashes(claims, &busy, now) {
        let hints = HintRequest { org, people, wanted, now, within };
        return Err(hints.defer(conflict_error(&clashes, &[])));
    }
    let expired: Vec<HoldId> =
        busy.iter().filter(|b| !b.is_live(now)).filter_map(|b| b.hold).collect::<BTreeSet<_>>().into_iter().collect();
    retire_holds(tx, org, &expired, HoldStatus::Expired, now, drafts).await?;
    insert(tx, org, claims).await
}

/// A batch booking's view of busy time: a generated series, a series moved
/// from a date on, a member seated on every upcoming session. The use case
/// decides item by item what it can claim ([`Batch::conflicts`],
/// [`Batch::reserve`], so later items see earlier ones), writes its rows,
/// and then claims everything it reserved at once with [`claim_batch`].
pub struct Batch {
    busy: Vec<Busy>,
    claims: Vec<Claim>,
    now: Timestamp,
}

impl Batch {
    /// The busy time of `people` over `window`, for a use case that has
    /// locked them ([`lock_people`]).
    pub async fn load<E: Executor>(
        tx: &mut E,
        org: OrgId,
        people: &[PersonId],
        window: Option<Interval>,
        now: Timestamp,
    ) -> Result<Batch> {
        let busy = match window {
            Some(window) => load(tx, org, people, window).await?,
            None => Vec::new(),
        };
        Ok(Batch { busy, claims: Vec::new(), now })
    }

    /// The clashes of `claims` with live busy time and with what this batch
    /// has reserved so far.
    pub fn conflicts(&self, claims: &[Claim]) -> Vec<BusyConflict> {
        let reserved = self.claims.iter().map(|c| Busy {
            person: c.person,
            interval: c.interval,
            kind: match c.owner {
                Owner::Session(_) => BusyKind::Session,
                Owner::Hold { .. } => BusyKind::Hold,
            },
            session: match c.owner {
                Owner::Session(s) => Some(s),
                Owner::Hold { .. } => None,
            },
            hold: None,
            expires_at: None,
        });
        let all: Vec<Busy> = self.busy.iter().cloned().chain(reserved).collect();
        conflicts(claims, &all, self.now)
    }

    /// Takes `claims` into the batch (the caller has checked them).
    pub fn reserve(&mut self, claims: impl IntoIterator<Item = Claim>) {
        self.claims.extend(claims);
    }
}

/// Occupies everything `batch` reserved. Expired holds in its way are
/// retired first, as [`claim`] does: they no longer count, but PostgreSQL's
/// exclusion constraint sees every row, and an unretired one would refuse
/// the insert on every retry.
pub async fn claim_batch<E: Executor>(
    tx: &mut E,
    org: OrgId,
    batch: Batch,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    if batch.claims.is_empty() {
        return Ok(());
    }
    let expired: Vec<HoldId> = batch
        .busy
        .iter()
        .filter(|b| !b.is_live(batch.now))
        .filter_map(|b| b.hold)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    retire_holds(tx, org, &expired, HoldStatus::Expired, batch.now, drafts).await?;
    // Chunks keep each statement well inside SQLite's parameter limit.
    for chunk in batch.claims.chunks(500) {
        insert(tx, org, chunk).await?;
    }
    Ok(())
}

/// Locks the rows of `expected` people, checking each has its role in `org`
/// (a wrong or unknown id is refused, naming the request field). One
/// statement. Locking lets rules checked in code (time off, limits) see no
/// concurrent change; sorted, so two bookings never deadlock.
pub async fn lock_people<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    expected: &[(PersonId, circles_domain::Role, &str)],
) -> Result<()> {
    lock_people_or(tx, dialect, org, expected, LockWait::Queue).await.map(drop)
}

/// What a booking does when someone else is booking one of its people at
/// this very moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Wait in the database for their transaction to end.
    Queue,
    /// Give up at once ([`DbError::LockNotAvailable`](super::db::DbError)),
    /// so the caller can step back ([`step_back`]) and take a fresh first
    /// look. A queue of waiters would each hold a pooled connection and
    /// pass the row on one by one; stepping back frees the connection, and
    /// once the other booking commits a clash is seen by every first look at
    /// once.
    StepBack,
}

/// How many times a booking steps back before it queues like any other.
const STEP_BACKS: u32 = 6;

impl LockWait {
    /// Step back on early attempts; queue on the last, so a booking always
    /// ends.
    pub fn for_attempt(attempt: u32) -> Self {
        if attempt <= STEP_BACKS { LockWait::StepBack } else { LockWait::Queue }
    }
}

/// Waits a little longer after each attempt, jittered by `seed` (any value
/// that differs between callers, such as a new id) so the step-backs spread.
pub async fn step_back(attempt: u32, seed: u128) {
    let base = 1u64 << attempt.min(4);
    let jitter = (seed % u128::from(base + 1)) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

/// [`lock_people`], queueing or stepping back as `wait` says; answers the
/// people's names, read by the same statement, for the booking's answer.
pub async fn lock_people_or<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    expected: &[(PersonId, circles_domain::Role, &str)],
    wait: LockWait,
) -> Result<super::rows::names::Names> {
    if expected.is_empty() {
        return Ok(super::rows::names::Names::new());
    }
    let ids: Vec<PersonId> = expected.iter().map(|(id, ..)| *id).collect::<BTreeSet<_>>().into_iter().collect();
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT id, role, (SELECT a.name FROM accounts a WHERE a.id = people.account_id) AS name \
                 FROM people WHERE org_id = $1 AND id IN ({}) ORDER BY id{}",
                placeholders(2, ids.len()),
                match wait {
                    LockWait::Queue => dialect.for_update(),
                    LockWait::StepBack => dialect.for_update_nowait(),
                }
            ))
            .bind(org)
            .bind_all(ids.iter().copied()),
        )
        .await?;
    let mut found = Vec::with_capacity(rows.len());
    let mut names = super::rows::names::Names::with_capacity(rows.len());
    for row in &rows {
        let id = row.id::<PersonId>("id")?;
        found.push((id, row.parsed::<circles_domain::Role>("role")?));
        names.insert(id, row.text("name")?);
    }
    for (id, role, field) in expected {
        if !found.contains(&(*id, *role)) {
            // Someone of the organisation in the wrong place is named; an
            // unknown id can only be repeated.
            let reason = match (found.iter().find(|(p, _)| p == id), names.get(id)) {
                (Some((_, actual)), Some(name)) => format!(
                    "{name} is {}, not {}",
                    circles_domain::spelling::with_article(actual.as_str()),
                    circles_domain::spelling::with_article(role.as_str())
                ),
                _ => format!("{id} is not a {role} of this organisation"),
            };
            return Err(StoreError::invalid(field, reason));
        }
    }
    Ok(names)
}

/// Inserts busy rows without checking: only for time the caller already
/// holds (a confirmed hold becoming sessions) or has checked ([`claim_batch`]).
pub async fn insert<E: Executor>(tx: &mut E, org: OrgId, claims: &[Claim]) -> Result<()> {
    const COLUMNS: usize = 9;
    let mut values = Vec::with_capacity(claims.len());
    let mut args: Vec<Value> = Vec::with_capacity(claims.len() * COLUMNS);
    for claim in claims {
        values.push(format!("({})", placeholders(args.len() + 1, COLUMNS)));
        let (kind, session, hold, expires_at) = match claim.owner {
            Owner::Session(s) => ("session", Some(s), None, None),
            Owner::Hold { hold, expires_at } => ("hold", None, Some(hold), Some(expires_at)),
        };
        args.extend([
            org.into(),
            BusyId::new().into(),
            claim.person.into(),
            claim.interval.start.into(),
            claim.interval.end.into(),
            kind.into(),
            session.into(),
            hold.into(),
            expires_at.into(),
        ]);
    }
    let mut q = Query::new(format!(
        "INSERT INTO busy_intervals (org_id, id, person_id, starts_at, ends_at, kind, session_id, hold_id, expires_at) \
         VALUES {}",
        values.join(", ")
    ));
    q.args = args;
    // Nothing on a booking's path reads the rows back before commit: they
    // may travel with the next statement (the exclusion constraint still
    // checks them, and its refusal still fails the transaction).
    tx.defer(q).await?;
    Ok(())
}

/// Frees everything a session occupies, or one person's part of it.
pub async fn release_session<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    person: Option<PersonId>,
) -> Result<()> {
    tx.execute(
        sql("DELETE FROM busy_intervals WHERE org_id = $1 AND session_id = $2 AND ($3 IS NULL OR person_id = $3)")
            .bind(org)
            .bind(session)
            .bind(person),
    )
    .await?;
    Ok(())
}

/// [`claim`] for thousands of claims at once (an import): the clashes are
/// found by one sort and sweep per person instead of comparing every pair,
/// the first one refuses the whole batch (without retry hints: there is no
/// one slot to suggest instead), and the rows go in a chunk at a time.
pub async fn claim_many<E: Executor>(
    tx: &mut E,
    org: OrgId,
    claims: &[Claim],
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    /// Rows per INSERT, well inside both databases' limit on parameters.
    const CHUNK: usize = 2_000;
    let Some(window) = span(claims) else { return Ok(()) };
    let people = people_of(claims);
    let busy = load(tx, org, &people, window).await?;
    if let Some(clash) = first_clash(claims, &busy, now) {
        let mut error = conflict_error(&[clash], &[]);
        super::rows::conflict_words::describe(tx, org, &mut error).await?;
        return Err(error);
    }
    let expired: Vec<HoldId> =
        busy.iter().filter(|b| !b.is_live(now)).filter_map(|b| b.hold).collect::<BTreeSet<_>>().into_iter().collect();
    retire_holds(tx, org, &expired, HoldStatus::Expired, now, drafts).await?;
    for chunk in claims.chunks(CHUNK) {
        insert(tx, org, chunk).await?;
    }
    Ok(())
}

/// The first clash of `claims` with live `busy` time or with each other.
/// Busy rows may overlap among themselves (approved time off over sessions
/// already booked); only an overlap that involves a claim counts.
fn first_clash(claims: &[Claim], busy: &[Busy], now: Timestamp) -> Option<BusyConflict> {
    let claim_session = |c: &Claim| match c.owner {
        Owner::Session(id) => Some(id),
        Owner::Hold { .. } => None,
    };
    let mut all: Vec<(PersonId, Interval, Option<BusyKind>, Option<SessionId>)> =
        claims.iter().map(|c| (c.person, c.interval, None, claim_session(c))).collect();
    all.extend(busy.iter().filter(|b| b.is_live(now)).map(|b| (b.person, b.interval, Some(b.kind), b.session)));
    all.sort_by_key(|(person, interval, _, _)| (*person, interval.start));
    // Per person: the latest end so far among claims and among busy rows,
    // with the interval (and session) that reached it.
    let mut claimed: Option<(PersonId, Interval, Option<SessionId>)> = None;
    let mut taken: Option<(PersonId, Interval, BusyKind, Option<SessionId>)> = None;
    for (person, interval, kind, session) in all {
        let claim_reach = claimed.filter(|(p, i, _)| *p == person && i.end > interval.start);
        let busy_reach = taken.filter(|(p, i, _, _)| *p == person && i.end > interval.start);
        let clash = match kind {
            None => busy_reach.map(|(_, i, k, s)| (i, k, s)).or(claim_reach.map(|(_, i, s)| (i, BusyKind::Session, s))),
            Some(_) => claim_reach.map(|(_, i, s)| (i, BusyKind::Session, s)),
        };
        if let Some((other, kind, session_id)) = clash {
            let (starts_at, ends_at) = (other.start, other.end);
            return Some(BusyConflict { person_id: person, starts_at, ends_at, kind, session_id });
        }
        match kind {
            None if claimed.is_none_or(|(p, i, _)| p != person || i.end < interval.end) => {
                claimed = Some((person, interval, session));
            }
            Some(kind) if taken.is_none_or(|(p, i, _, _)| p != person || i.end < interval.end) => {
                taken = Some((person, interval, kind, session));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod many_claims {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    fn claim(person: PersonId, from: i64, to: i64) -> Claim {
        Claim { person, interval: Interval::new(at(from), at(to)).unwrap(), owner: Owner::Session(SessionId::new()) }
    }

    fn taken(person: PersonId, from: i64, to: i64, kind: BusyKind) -> Busy {
        Busy {
            person,
            interval: Interval::new(at(from), at(to)).unwrap(),
            kind,
            session: None,
            hold: None,
            expires_at: None,
        }
    }

    #[test]
    fn a_sweep_finds_the_same_clashes_as_comparing_every_pair() {
        let (a, b) = (PersonId::new(), PersonId::new());
        let busy = [
            taken(a, 0, 60, BusyKind::Session),
            taken(a, 0, 600, BusyKind::TimeOff),
            taken(b, 100, 160, BusyKind::Session),
        ];
        let now = at(0);
        // Clear: b's claims touch but do not overlap; a's overlap nothing of a's.
        let clear = [claim(b, 160, 200), claim(b, 40, 100), claim(a, 600, 660), claim(b, 200, 250)];
        assert_eq!(first_clash(&clear, &busy, now), None);
        assert!(conflicts(&clear, &busy, now).is_empty());
        // A claim inside the time off, and two claims of b overlapping each other.
        for clashing in [vec![claim(a, 300, 350)], vec![claim(b, 170, 230), claim(b, 200, 260)]] {
            let found = first_clash(&clashing, &busy, now).expect("a clash");
            assert!(conflicts(&clashing, &busy, now).contains(&found), "{found:?}");
        }
        // An expired hold is no clash.
        let lapsed = Busy { expires_at: Some(at(-1)), ..taken(b, 0, 30, BusyKind::Hold) };
        assert_eq!(first_clash(&[claim(b, 0, 30)], &[lapsed], now), None);
    }
}
