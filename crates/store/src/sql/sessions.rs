//! Sessions: booking, reading, listing, cancelling, schedules.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::group::{GroupStatus, MembershipStatus};
use circles_domain::ids::{AccountId, GroupId, OrgId, PersonId, SessionId};
use circles_domain::session::{
    InvitationStatus, NotificationKind, SeatStatus, SessionKind, SessionStatus, client_cancellation,
};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, HintRequest, HintsWithin, LockWait, Owner};
use super::db::{Executor, Query, Row, Value, placeholders, sql};
use super::notify::{self, Notice};
use super::rows::freed;
use super::rows::hours::require_working_hours;
use super::rows::names;
use super::rows::sessions::{
    SESSION_COLUMNS, Seats, attach, cancelled_notice, decode, fetch, insert_session, session_from_row, sole_client,
};
use super::rows::statuses::{HOLDING_SEATS, Quoted};
use super::{SqlStore, read_one, read_tx, write_tx};
use crate::contested::{Outcome, Turn, Waiting};
use crate::model::{
    AuditCtx, Canceller, Keyset, NewSession, ScheduleEntry, ScheduleWindow, Session, SessionFilter, SessionPeople,
    SessionView,
};
use crate::model::{BusyConflict, BusyKind};
use crate::sql::rows::statuses::{
    INVITATION_DECLINED, SESSION_CANCELLED, SESSION_COMPLETED, SESSION_IN_PROGRESS, SESSION_PROPOSED, SESSION_SCHEDULED,
};
use crate::{Result, SessionStore, StoreError};

/// The stored status as the clock has it, in SQL (`$now` is the parameter).
fn effective_status(now: &str) -> String {
    format!(
        "CASE WHEN s.status IN ({SESSION_SCHEDULED}, {SESSION_IN_PROGRESS}) AND s.ends_at <= {now} THEN {SESSION_COMPLETED} \
         WHEN s.status = {SESSION_SCHEDULED} AND s.starts_at <= {now} THEN {SESSION_IN_PROGRESS} ELSE s.status END"
    )
}

/// Checks a group session's group and therapists: the group is active, and
/// every therapist facilitates it.
async fn check_group_session<E: Executor>(tx: &mut E, org: OrgId, input: &NewSession) -> Result<(GroupId, String)> {
    let group_id = input.group_id.ok_or_else(|| StoreError::invalid("group_id", "a group session needs its group"))?;
    let group = super::rows::groups::fetch_group(tx, org, group_id).await.map_err(|e| match e {
        StoreError::NotFound(_) => {
            StoreError::invalid("group_id", format!("{group_id} is not a group of this organisation"))
        }
        other => other,
    })?;
    if group.status == GroupStatus::Archived {
        return Err(StoreError::conflict("group_archived", "an archived group holds no new sessions"));
    }
    if let Some(&outsider) = input.therapist_ids.iter().find(|t| !group.facilitator_ids.contains(t)) {
        let name = names::load(tx, org, [outsider]).await?.remove(&outsider).unwrap_or_else(|| outsider.to_string());
        return Err(StoreError::invalid("therapist_ids", format!("{name} does not facilitate this group")));
    }
    Ok((group_id, group.fields.name))
}

/// Tells the people a new session concerns.
async fn announce_new_session<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: &Session,
    group: Option<GroupId>,
    actor: Option<PersonId>,
    now: Timestamp,
) -> Result<()> {
    let when = names::when(session);
    let (kind, recipients, title) = match (session.kind, session.approval.as_deref()) {
        (SessionKind::Group, Some("pending")) => {
            let moderators = match group {
                Some(g) => notify::group_people(tx, org, g, "moderator").await?,
                None => Vec::new(),
            };
            (NotificationKind::ProposalPending, moderators, "A session proposal needs your approval")
        }
        (SessionKind::Group, _) => {
            let therapists = session.therapists.iter().map(|t| t.therapist_id).collect();
            (NotificationKind::Invitation, therapists, "You are invited to facilitate a session")
        }
        (SessionKind::Instant, _) => {
            // Members may join; the group's moderators and facilitators
            // hear of it too, since a drop-in session runs under their care.
            let mut told = Vec::new();
            if let Some(g) = group {
                for kind in ["member", "moderator", "facilitator"] {
                    told.extend(notify::group_people(tx, org, g, kind).await?);
                }
            }
            (NotificationKind::InstantStarted, told, "A drop-in session has started")
        }
        (SessionKind::OneOnOne, _) => {
            let people =
                session.therapists.iter().map(|t| t.therapist_id).chain(session.seats.iter().map(|s| s.client_id));
            (NotificationKind::SessionBooked, people.collect(), "A session was booked with you")
        }
    };
    let notice = Notice { kind, title, body: format!("{} on {when}", session.title), session: Some(session.id), group };
    notify::push(tx, org, now, recipients, actor, &notice).await
}

/// The busy time a new session occupies: clients always, therapists only
/// once they have accepted.
pub(super) fn claims_for(id: SessionId, input: &NewSession) -> Vec<Claim> {
    let therapists = if input.therapists_must_accept { &[][..] } else { &input.therapist_ids[..] };
    therapists
        .iter()
        .chain(&input.client_ids)
        .map(|&person| Claim { person, interval: input.interval, owner: Owner::Session(id) })
        .collect()
}

/// A session being booked, as checked and written by [`SqlStore::book`].
struct Booking<'a> {
    id: SessionId,
    input: &'a NewSession,
    claims: &'a [Claim],
    people: &'a [(PersonId, Role, &'static str)],
    status: SessionStatus,
    within: HintsWithin,
    now: Timestamp,
}

impl<B: super::db::Backend> SqlStore<B> {
    /// The refusal for a request that waited on a booking of the same
    /// person's time in flight here, if that booking was made: its clash,
    /// with retry hints from that person's calendar searched once for every
    /// waiter wanting the same interval. `None` sends the request to the
    /// database as usual.
    async fn refused_after(
        &self,
        org: OrgId,
        waiting: Waiting,
        now: Timestamp,
        within: HintsWithin,
    ) -> Option<StoreError> {
        let (person, wanted, theirs) = (waiting.person, waiting.wanted, waiting.theirs);
        let Outcome::Booked { session, shared } = waiting.outcome().await else {
            return None;
        };
        let cell = shared.cell(person, wanted, format!("{within:?}"));
        let made = cell
            .get_or_try_init(|| async {
                let clash = BusyConflict {
                    person_id: person,
                    starts_at: theirs.start,
                    ends_at: theirs.end,
                    kind: BusyKind::Session,
                    session_id: Some(session),
                };
                let request = HintRequest { org, people: vec![person], wanted, now, within };
                let refusal = read_one!(self, |tx| {
                    let hints = request.find(&mut tx).await?;
                    let mut refusal = busy::conflict_error(&[clash], &hints);
                    request.describe(&mut tx, &mut refusal).await?;
                    refusal
                })?;
                match refusal {
                    StoreError::Conflict(conflict) => Ok(*conflict),
                    other => Err(other),
                }
            })
            .await;
        match made {
            Ok(conflict) => Some(StoreError::Conflict(Box::new(conflict.clone()))),
            Err(e) => {
                tracing::warn!(error = %e, "sharing a refusal failed; asking the database");
                None
            }
        }
    }

    /// One attempt at writing `booking`, in one transaction.
    async fn book(&self, ctx: &AuditCtx, org: OrgId, booking: &Booking<'_>, wait: LockWait) -> Result<Session> {
        let Booking { id, input, claims, people, status, within, now } = *booking;
        self.after_freeing(write_tx!(self, |tx| {
            let group = match input.kind {
                SessionKind::OneOnOne => None,
                SessionKind::Group | SessionKind::Instant => Some(check_group_session(&mut tx, org, input).await?),
            };
            let mut names = busy::lock_people_or(&mut tx, self.backend.dialect(), org, people, wait).await?;
            if let HintsWithin::WorkingHours { therapist, modality } = within {
                let everyone: Vec<PersonId> = people.iter().map(|(p, ..)| *p).collect();
                require_working_hours(&mut tx, org, therapist, modality, &[input.interval], &everyone, now).await?;
            }
            let mut drafts = Vec::new();
            busy::claim_within(&mut tx, org, claims, now, &mut drafts, within).await?;
            let mut session = insert_session(&mut tx, org, id, input, status, None, ctx.person_id, now).await?;
            if let Some(creator) = ctx.person_id.filter(|c| !names.contains_key(c)) {
                names.extend(names::load(&mut tx, org, [creator]).await?);
            }
            names::apply(&mut session, &names);
            let (group, group_name) = group.unzip();
            session.group_name = group_name;
            announce_new_session(&mut tx, org, &session, group, ctx.person_id, now).await?;
            if group.is_some() {
                let free = input.capacity - input.client_ids.len() as i64;
                freed::record_new_seats(&mut tx, org, id, free, freed::Cause::SessionCreated, now).await?;
            }
            drafts.push(
                AuditDraft::new("session.create", "session", id)
                    .subject(sole_client(&input.client_ids))
                    .details(json!({ "kind": input.kind, "starts_at": input.interval.start, "status": status })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            session
        }))
    }
}

#[async_trait]
impl<B: super::db::Backend> SessionStore for SqlStore<B> {
    async fn create_session(&self, ctx: &AuditCtx, org: OrgId, input: NewSession) -> Result<Session> {
        let now = self.clock.now();
        if let Some(both) = input.client_ids.iter().find(|c| input.therapist_ids.contains(c)) {
            return Err(StoreError::invalid("client_ids", format!("{both} cannot be both therapist and client")));
        }
        let id = SessionId::new();
        let claims = claims_for(id, &input);
        // One-on-one appointments keep to the therapist's working hours;
        // group sessions are checked only for clashes.
        let within = match (input.kind, input.therapist_ids.as_slice()) {
            (SessionKind::OneOnOne, &[therapist]) => {
                HintsWithin::WorkingHours { therapist, modality: input.details.modality }
            }
            _ => HintsWithin::Anytime,
        };
        let status = match input.kind {
            SessionKind::Instant => SessionStatus::InProgress,
            _ if input.therapists_must_accept => SessionStatus::Proposed,
            _ => SessionStatus::Scheduled,
        };
        let people: Vec<_> = (input.therapist_ids.iter().map(|&t| (t, Role::Therapist, "therapist_ids")))
            .chain(input.client_ids.iter().map(|&c| (c, Role::Client, "client_ids")))
            .collect();
        let booking = Booking { id, input: &input, claims: &claims, people: &people, status, within, now };
        // Someone in this process booking the same time first is waited for
        // in memory; if they made it, the refusal is shared.
        let contest: Vec<_> = claims.iter().map(|c| (c.person, c.interval)).collect();
        let ticket = match self.contested.enter(org, &contest) {
            Turn::Go(ticket) => Some(ticket),
            Turn::Wait(waiting) => match self.refused_after(org, waiting, now, within).await {
                Some(refusal) => return Err(refusal),
                None => None,
            },
        };
        let mut attempt = 1;
        let booked = loop {
            // A cheap first look: a request for taken time fails here without
            // queueing for the writer or for anyone's row.
            read_one!(self, |tx| busy::check(&mut tx, org, &claims, now, within).await?)?;
            match self.book(ctx, org, &booking, LockWait::for_attempt(attempt)).await {
                Err(e) if e.is_lock_not_available() => busy::step_back(attempt, id.0.as_u128()).await,
                booked => break booked,
            }
            attempt += 1;
        };
        if let (Some(ticket), Ok(session)) = (ticket, &booked) {
            ticket.booked(session.id);
        }
        booked
    }

    async fn session(&self, ctx: &AuditCtx, org: OrgId, id: SessionId, view: SessionView) -> Result<Session> {
        let now = self.clock.now();
        let seats = match view {
            SessionView::Staff => Seats::All,
            SessionView::Client(me) => Seats::Of(me),
        };
        write_tx!(self, |tx| {
            let session = fetch(&mut tx, org, id, seats, now).await?;
            // Seats are clinical records: note who read whose.
            let read = AuditDraft::read_of("session.read", "session", id, session.seats.iter().map(|s| s.client_id));
            audit::append(&mut tx, now, ctx, org, read.as_slice()).await?;
            session
        })
    }

    async fn session_people(&self, org: OrgId, id: SessionId) -> Result<SessionPeople> {
        read_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql(
                        "SELECT kind, group_id, status, starts_at, ends_at, created_by FROM sessions WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(id),
                )
                .await?
                .ok_or(StoreError::NotFound("session"))?;
            let therapists = tx
                .fetch_all(
                    sql("SELECT therapist_id, status FROM session_therapists WHERE org_id = $1 AND session_id = $2")
                        .bind(org)
                        .bind(id),
                )
                .await?
                .iter()
                .map(|r| Ok((r.id("therapist_id")?, decode(r, "status")?)))
                .collect::<Result<Vec<_>>>()?;
            let clients = tx
                .fetch_all(
                    sql(format!(
                        "SELECT client_id FROM seats WHERE org_id = $1 AND session_id = $2 \
                         AND status IN ({HOLDING_SEATS})"
                    ))
                    .bind(org)
                    .bind(id),
                )
                .await?
                .iter()
                .map(|r| r.id("client_id").map_err(Into::into))
                .collect::<Result<Vec<_>>>()?;
            let stored: SessionStatus = decode(&row, "status")?;
            let (starts_at, ends_at) = (row.time("starts_at")?, row.time("ends_at")?);
            SessionPeople {
                kind: decode(&row, "kind")?,
                status: stored.at(starts_at, ends_at, self.clock.now()),
                starts_at,
                ends_at,
                group_id: row.opt_id("group_id")?,
                therapists,
                clients,
                created_by: row.opt_id("created_by")?,
            }
        })
    }

    async fn list_sessions(&self, org: OrgId, filter: SessionFilter) -> Result<Vec<Session>> {
        let now = self.clock.now();
        let q = sql(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.org_id = $1 \
             AND ($2 IS NULL OR s.ends_at > $2) AND ($3 IS NULL OR s.starts_at < $3) \
             AND ($4 IS NULL OR s.group_id = $4) AND ($5 IS NULL OR {status} = $5) \
             AND ($9 IS NULL OR s.created_by = $9) \
             AND ($10 IS NULL OR s.starts_at > $10 OR (s.starts_at = $10 AND s.id > $11)) \
             AND ($6 IS NULL OR EXISTS (SELECT 1 FROM session_therapists t WHERE t.org_id = s.org_id \
                  AND t.session_id = s.id AND t.therapist_id = $6) \
               OR EXISTS (SELECT 1 FROM seats x WHERE x.org_id = s.org_id AND x.session_id = s.id AND x.client_id = $6) \
               OR EXISTS (SELECT 1 FROM group_staff g WHERE g.org_id = s.org_id AND g.group_id = s.group_id \
                  AND g.person_id = $6) \
               OR (s.status <> {SESSION_PROPOSED} AND EXISTS (SELECT 1 FROM group_memberships m WHERE m.org_id = s.org_id \
                  AND m.group_id = s.group_id AND m.client_id = $6 AND m.status = {active}))) \
             ORDER BY s.starts_at, s.id LIMIT $8",
            status = effective_status("$7"),
            active = Quoted(MembershipStatus::Active.as_str()),
        ))
        .bind(org)
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.group_id)
        .bind(filter.status.map(SessionStatus::as_str))
        .bind(filter.visible_to)
        .bind(now)
        .bind(filter.limit)
        .bind(filter.created_by)
        .bind(filter.after.map(|(at, _)| at))
        .bind(filter.after.map(|(_, id)| id));
        read_tx!(self, |tx| {
            let rows = tx.fetch_all(q).await?;
            let mut sessions = rows.iter().map(|r| session_from_row(r, now)).collect::<Result<Vec<_>>>()?;
            let seats = filter.visible_to.map_or(Seats::None, Seats::Of);
            attach(&mut tx, org, &mut sessions, seats).await?;
            sessions
        })
    }

    async fn cancel_session(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: SessionId,
        reason: String,
        by: Canceller,
    ) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let cancelled = write_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT kind, status, starts_at, ends_at FROM sessions WHERE org_id = $1 AND id = $2{}",
                        dialect.for_update()
                    ))
                    .bind(org)
                    .bind(id),
                )
                .await?
                .ok_or(StoreError::NotFound("session"))?;
            let (starts_at, ends_at) = (row.time("starts_at")?, row.time("ends_at")?);
            let status: SessionStatus = decode(&row, "status")?;
            status
                .at(starts_at, ends_at, now)
                .cancel()
                .map_err(|e| StoreError::conflict("illegal_transition", e.to_string()))?;
            let seat_status = match by {
                Canceller::Provider => SeatStatus::CancelledByProvider,
                Canceller::Client(_) => client_cancellation(starts_at, now),
            };
            tx.execute(
                sql(
                    format!("UPDATE sessions SET status = {SESSION_CANCELLED}, cancelled_at = $3, cancel_reason = $4, updated_at = $3 \
                     WHERE org_id = $1 AND id = $2"),
                )
                .bind(org)
                .bind(id)
                .bind(now)
                .bind(&reason),
            )
            .await?;
            let holding: Vec<Value> =
                SeatStatus::ALL.iter().filter(|s| s.holds_time()).map(|s| s.as_str().into()).collect();
            let mut update = sql(format!(
                "UPDATE seats SET status = $3, updated_at = $4 WHERE org_id = $1 AND session_id = $2 AND status IN ({})",
                placeholders(5, holding.len())
            ))
            .bind(org)
            .bind(id)
            .bind(seat_status.as_str())
            .bind(now);
            update.args.extend(holding);
            tx.execute(update).await?;
            busy::release_session(&mut tx, org, id, None).await?;
            let session = fetch(&mut tx, org, id, Seats::All, now).await?;
            if session.kind == SessionKind::OneOnOne && starts_at > now {
                // The therapist's time is free again: someone waiting may want it.
                for t in session.therapists.iter().filter(|t| t.status == InvitationStatus::Accepted) {
                    let opening = freed::Opening {
                        kind: freed::OpeningKind::Slot { therapist: t.therapist_id },
                        interval: circles_domain::interval::Interval::new(starts_at, ends_at)
                            .expect("a session has length"),
                        timezone: session.timezone.clone(),
                        modality: Some(session.modality.as_str().to_owned()),
                    };
                    freed::record(&mut tx, org, &opening, freed::Cause::SessionCancelled, None, now).await?;
                }
            }
            if let (Some(group), Some(recurrence_id)) = (session.group_id, &session.recurrence_id) {
                super::rows::groups::exclude_occurrence(&mut tx, org, group, recurrence_id, now).await?;
            }
            let notice = cancelled_notice(&session.title, names::when(&session), &reason, id, session.group_id);
            // The seats were cancelled a moment ago; their clients still need telling.
            let therapists =
                session.therapists.iter().filter(|t| t.status != InvitationStatus::Declined).map(|t| t.therapist_id);
            let clients = session.seats.iter().filter(|s| s.status == seat_status).map(|s| s.client_id);
            let told: Vec<PersonId> = therapists.chain(clients).chain(session.created_by).collect();
            notify::push(&mut tx, org, now, told, ctx.person_id, &notice).await?;
            let clients: Vec<PersonId> = session.seats.iter().map(|s| s.client_id).collect();
            let draft = AuditDraft::new("session.cancel", "session", id)
                .subject(sole_client(&clients))
                .details(json!({ "reason": reason, "seats": seat_status }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            session
        });
        if cancelled.is_ok() {
            self.freed.notify_one();
        }
        cancelled
    }

    async fn schedule_page(
        &self,
        org: OrgId,
        person: PersonId,
        window: ScheduleWindow,
        page: Keyset<(Timestamp, SessionId)>,
    ) -> Result<Vec<ScheduleEntry>> {
        let now = self.clock.now();
        let q = schedule_query("p.org_id = $1 AND p.id = $2").bind(org).bind(person);
        let q = bind_window(q, &window, &page);
        read_one!(self, |tx| {
            let rows = tx.fetch_all(q).await?;
            with_therapists(&mut tx, &rows, now).await?
        })
    }

    async fn account_schedule_page(
        &self,
        account: AccountId,
        window: ScheduleWindow,
        page: Keyset<(Timestamp, SessionId)>,
    ) -> Result<Vec<ScheduleEntry>> {
        let now = self.clock.now();
        let q = schedule_query(
            "p.account_id = $1 AND $2 IS NULL /* spans organisations: the schedule of one person in every clinic */",
        )
        .bind(account)
        .bind(None::<PersonId>);
        let q = bind_window(q, &window, &page);
        read_one!(self, |tx| {
            let rows = tx.fetch_all(q).await?;
            with_therapists(&mut tx, &rows, now).await?
        })
    }
}

/// Binds `$3` to `$8` of [`schedule_query`]: the window, then the page.
fn bind_window(q: Query, window: &ScheduleWindow, page: &Keyset<(Timestamp, SessionId)>) -> Query {
    q.bind(window.from)
        .bind(window.to)
        .bind(window.include_cancelled)
        .bind(page.after.map(|(at, _)| at))
        .bind(page.after.map(|(_, id)| id))
        .bind(page.limit)
}

/// Schedule entries from `rows`, each naming the therapists who accepted
/// its session: one more statement per organisation the rows span.
async fn with_therapists<E: Executor, R: Row>(tx: &mut E, rows: &[R], now: Timestamp) -> Result<Vec<ScheduleEntry>> {
    let mut entries: Vec<ScheduleEntry> = rows.iter().map(|r| schedule_entry(r, now)).collect::<Result<_>>()?;
    let mut orgs: Vec<OrgId> = entries.iter().map(|e| e.org_id).collect();
    orgs.sort();
    orgs.dedup();
    for org in orgs {
        let mut sessions: Vec<SessionId> = entries.iter().filter(|e| e.org_id == org).map(|e| e.session_id).collect();
        sessions.sort();
        sessions.dedup();
        let accepted = names::accepted_therapists(tx, org, &sessions).await?;
        for entry in entries.iter_mut().filter(|e| e.org_id == org) {
            entry.therapists = accepted.get(&entry.session_id).cloned().unwrap_or_default();
        }
    }
    Ok(entries)
}

/// A person's sessions as therapist (not declined) or client (seat holding
/// time, or cancelled together with its session), in one sorted list. `who`
/// selects people with `$1`/`$2`; `$3`/`$4` bound the window; `$5` keeps
/// cancelled sessions; the page is the entries after (`$6` start, `$7`
/// session id), at most `$8` of them.
fn schedule_query(who: &str) -> Query {
    let one_on_one = SessionKind::OneOnOne.as_str();
    let part = |role: &str, join: &str, status_filter: &str, status_col: &str, other: &str| {
        format!(
            "SELECT {SESSION_COLUMNS}, p.id AS person_id, \
             (SELECT pa.name FROM accounts pa WHERE pa.id = p.account_id) AS person_name, '{role}' AS role, {status_col} AS participation, \
             CASE WHEN s.kind = '{one_on_one}' THEN ({other}) END AS with_name \
             FROM {join} WHERE {who} AND {status_filter} AND ($5 OR s.status <> '{cancelled}') \
             AND s.starts_at < $4 AND s.ends_at > $3",
            cancelled = SessionStatus::Cancelled.as_str(),
        )
    };
    let therapist = part(
        "therapist",
        "session_therapists t JOIN sessions s ON s.org_id = t.org_id AND s.id = t.session_id \
         JOIN people p ON p.org_id = t.org_id AND p.id = t.therapist_id",
        &format!("t.status <> {INVITATION_DECLINED}"),
        "t.status",
        "SELECT n.name FROM seats z JOIN people o ON o.org_id = z.org_id AND o.id = z.client_id \
         JOIN accounts n ON n.id = o.account_id \
         WHERE z.org_id = s.org_id AND z.session_id = s.id ORDER BY z.created_at LIMIT 1",
    );
    let client = part(
        "client",
        "seats y JOIN sessions s ON s.org_id = y.org_id AND s.id = y.session_id \
         JOIN people p ON p.org_id = y.org_id AND p.id = y.client_id",
        &format!(
            "(y.status IN ({HOLDING_SEATS}) \
             OR (s.status = '{}' AND y.updated_at = s.cancelled_at))",
            SessionStatus::Cancelled.as_str()
        ),
        "y.status",
        "SELECT n.name FROM session_therapists z JOIN people o ON o.org_id = z.org_id AND o.id = z.therapist_id \
         JOIN accounts n ON n.id = o.account_id \
         WHERE z.org_id = s.org_id AND z.session_id = s.id ORDER BY z.invited_at LIMIT 1",
    );
    sql(format!(
        "SELECT * FROM ({therapist} UNION ALL {client}) entries \
         WHERE ($6 IS NULL OR starts_at > $6 OR (starts_at = $6 AND id > $7)) ORDER BY starts_at, id LIMIT $8"
    ))
}

fn schedule_entry(row: &impl Row, now: Timestamp) -> Result<ScheduleEntry> {
    let session = session_from_row(row, now)?;
    Ok(ScheduleEntry {
        org_id: session.org_id,
        person_id: row.id("person_id")?,
        person_name: row.text("person_name")?,
        session_id: session.id,
        kind: session.kind,
        status: session.status,
        title: session.title,
        starts_at: session.starts_at,
        ends_at: session.ends_at,
        timezone: session.timezone,
        modality: session.modality,
        location: session.location,
        address: session.address,
        virtual_link: session.virtual_link,
        group_id: session.group_id,
        group_name: session.group_name,
        with_name: row.opt_text("with_name")?,
        therapists: Vec::new(),
        role: row.text("role")?,
        participation: row.text("participation")?,
        seats_taken: session.seats_taken,
        capacity: session.capacity,
    })
}
