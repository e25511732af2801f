//! Recurring groups: generating sessions from the recurrence, moving one
//! occurrence, and changing the series from a date on.
//!
//! A generated session carries its group, the series it came from and its
//! recurrence id (the occurrence's nominal local start). The recurrence id
//! never changes, even when the session moves, so an occurrence is generated
//! at most once (a unique index says so) and an EXDATE names it exactly.

use std::collections::BTreeSet;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::group::GroupStatus;
use circles_domain::ids::{GroupId, OrgId, PersonId, SeriesId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::recurrence::{Occurrence, Recurrence};
use circles_domain::series;
use circles_domain::session::{Modality, NotificationKind, SessionDetails, SessionKind, SessionStatus};
use circles_domain::spelling::with_article;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Batch, Claim, Owner};
use super::db::insert_rows;
use super::db::{Backend, DbError, Executor, Row, lock_row, sql};
use super::notify::{self, Notice};
use super::rows::freed;
use super::rows::groups::{fetch_group, member_from_row, occurrence_date, replace_staff};
use super::rows::names;
use super::rows::sessions::{Seats, fetch, insert_session};
use super::{SqlStore, write_tx};
use crate::model::{
    Approval, AuditCtx, BusyConflict, Generation, Group, GroupMember, NewSession, OutsideWorkingHours, SeriesChange,
    Session, SkippedMemberSeat, SkippedOccurrence, SplitOutcome,
};
use crate::sql::rows::statuses::SESSION_SCHEDULED;
use crate::{Result, SeriesStore, StoreError};
use report::{Clash, SeatClash};

mod report;

fn recurrence_of(group: &Group) -> Result<Recurrence> {
    let input = group.fields.recurrence.as_ref().ok_or_else(|| {
        StoreError::conflict("no_recurrence", "this group has no recurrence to generate sessions from")
    })?;
    Recurrence::parse(input).map_err(|e| DbError::Decode(format!("stored recurrence: {e}")).into())
}

/// `date` at midnight in `zone`.
fn midnight(date: Date, zone: &jiff::tz::TimeZone) -> Result<Timestamp> {
    Ok(date.to_zoned(zone.clone()).map_err(|e| DbError::Decode(e.to_string()))?.timestamp())
}

fn recurrence_id(occurrence: &Occurrence) -> String {
    occurrence.recurrence_id.to_string()
}

/// The membership as series planning sees it.
fn period(member: &GroupMember) -> series::Period {
    series::Period { status: member.status, join_date: member.join_date, leave_date: member.leave_date }
}

/// Local dates in `[from, to]` for which the group has a generated session,
/// in any status and at whatever time it has moved to.
async fn generated_dates<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    from: Date,
    to: Date,
) -> Result<BTreeSet<Date>> {
    // A recurrence id starts with its date, so text order is date order.
    let rows = tx
        .fetch_all(
            sql("SELECT recurrence_id FROM sessions WHERE org_id = $1 AND group_id = $2 \
                 AND recurrence_id >= $3 AND recurrence_id < $4")
            .bind(org)
            .bind(group)
            .bind(from.to_string())
            .bind(format!("{to}U")),
        )
        .await?;
    rows.iter().map(|r| occurrence_date(&r.text("recurrence_id")?)).collect()
}

/// The planned occurrences that fall outside a facilitator's working hours.
async fn outside_hours<'a, E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: &Group,
    zone: &jiff::tz::TimeZone,
    names: &names::Names,
    planned: impl Iterator<Item = (&'a Occurrence, Interval)>,
) -> Result<Vec<OutsideWorkingHours>> {
    let weeks = busy::working_weeks(tx, org, &group.facilitator_ids).await?;
    let modality = group.fields.modality.unwrap_or(Modality::InPerson);
    let mut outside = Vec::new();
    for (occurrence, interval) in planned {
        for &therapist in &group.facilitator_ids {
            let Some(week) = weeks.get(&therapist) else { continue };
            if series::outside_working_hours(week, interval, modality) {
                let local = interval.start.to_zoned(zone.clone());
                outside.push(OutsideWorkingHours {
                    recurrence_id: recurrence_id(occurrence),
                    starts_at: interval.start,
                    starts_at_local: local.strftime("%a %-d %b %Y, %H:%M %Z").to_string(),
                    therapist_id: therapist,
                    therapist_name: names.get(&therapist).cloned().unwrap_or_default(),
                });
            }
        }
    }
    Ok(outside)
}

fn group_details(group: &Group) -> SessionDetails {
    SessionDetails {
        title: circles_domain::input::Label::parse(&group.fields.name, 200).expect("group names are valid labels"),
        description: group.fields.description.clone(),
        modality: group.fields.modality.unwrap_or(Modality::InPerson),
        virtual_link: group.fields.virtual_link.clone(),
        location: group.fields.location.clone(),
        address: group.fields.address.clone(),
    }
}

fn span(intervals: impl Iterator<Item = Interval>) -> Option<Interval> {
    let all: Vec<Interval> = intervals.collect();
    Interval::new(all.iter().map(|i| i.start).min()?, all.iter().map(|i| i.end).max()?)
}

fn series_conflict(skipped: &[SkippedOccurrence]) -> StoreError {
    let mut error = StoreError::conflict(
        "series_conflicts",
        format!("{} occurrences clash with their therapists' other commitments; nothing was changed", skipped.len()),
    );
    if let StoreError::Conflict(c) = &mut error {
        c.details.insert("occurrences".into(), json!(skipped));
    }
    error
}

async fn tell_rescheduled<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: &Session,
    people: impl IntoIterator<Item = PersonId>,
    actor: Option<PersonId>,
    now: Timestamp,
) -> Result<()> {
    let notice = Notice {
        kind: NotificationKind::SessionRescheduled,
        title: "A session moved",
        body: format!("{} now starts on {}", session.title, names::when(session)),
        session: Some(session.id),
        group: session.group_id,
    };
    notify::push(tx, org, now, people, actor, &notice).await
}

/// Accepted therapists and clients whose seats hold their time.
fn participants(session: &Session) -> Vec<PersonId> {
    let therapists = session.therapists.iter().filter(|t| t.status.as_str() == "ACCEPTED").map(|t| t.therapist_id);
    let clients = session.seats.iter().filter(|s| s.status.holds_time()).map(|s| s.client_id);
    therapists.chain(clients).collect()
}

#[async_trait]
impl<B: Backend> SeriesStore for SqlStore<B> {
    async fn generate_sessions(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group_id: GroupId,
        from: Date,
        to: Date,
        skip_conflicts: bool,
    ) -> Result<Generation> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        self.after_freeing(write_tx!(self, |tx| {
            lock_row(&mut tx, dialect, "groups", org, group_id).await?;
            let group = fetch_group(&mut tx, org, group_id).await?;
            if group.status == GroupStatus::Archived {
                return Err(StoreError::conflict("group_archived", "an archived group holds no new sessions"));
            }
            let recurrence = recurrence_of(&group)?;
            let zone = recurrence.timezone().zone();
            let day_after = to.checked_add(jiff::Span::new().days(1)).map_err(|e| DbError::Decode(e.to_string()))?;
            let occurrences = recurrence.occurrences_between(midnight(from, &zone)?, midnight(day_after, &zone)?);

            // Dates that have a generated session already (wherever it has moved since).
            let generated = generated_dates(&mut tx, org, group_id, from, to).await?;
            let fresh = series::fresh(&occurrences, &generated);
            let already_generated = (occurrences.len() - fresh.len()) as i64;

            // Only who the members are: their clinical text stays sealed.
            let members: Vec<GroupMember> = tx
                .fetch_all(
                    sql(format!("{} WHERE org_id = $1 AND group_id = $2", super::rows::groups::MEMBER_ROWS))
                        .bind(org)
                        .bind(group_id),
                )
                .await?
                .iter()
                .map(member_from_row)
                .collect::<Result<_>>()?;
            let people: Vec<(PersonId, Role, &str)> =
                (group.facilitator_ids.iter().map(|&f| (f, Role::Therapist, "facilitator_ids")))
                    .chain(members.iter().map(|m| (m.client_id, Role::Client, "client_id")))
                    .collect();
            busy::lock_people(&mut tx, dialect, org, &people).await?;
            let everyone: Vec<PersonId> =
                people.iter().map(|(p, ..)| *p).collect::<BTreeSet<_>>().into_iter().collect();
            let window = span(fresh.iter().map(|o| Interval::new(o.starts_at, o.ends_at).expect("positive")));
            let mut batch = Batch::load(&mut tx, org, &everyone, window, now).await?;

            let series = group.series_id.unwrap_or_default();
            let mut plan = Vec::new();
            let mut skipped = Vec::new();
            let mut seats_skipped = Vec::new();
            for occurrence in fresh {
                let interval = Interval::new(occurrence.starts_at, occurrence.ends_at).expect("positive");
                let id = SessionId::new();
                let facilitators: Vec<Claim> = group
                    .facilitator_ids
                    .iter()
                    .map(|&person| Claim { person, interval, owner: Owner::Session(id) })
                    .collect();
                let clashes = batch.conflicts(&facilitators);
                if !clashes.is_empty() {
                    skipped.push(Clash { recurrence_id: recurrence_id(occurrence), interval, conflicts: clashes });
                    continue;
                }
                let date = occurrence.recurrence_id.date();
                let mut seated = Vec::new();
                for member in members.iter().filter(|m| period(m).seated_on(date)) {
                    let claim = [Claim { person: member.client_id, interval, owner: Owner::Session(id) }];
                    let clashes: Vec<BusyConflict> = batch.conflicts(&claim);
                    if clashes.is_empty() {
                        seated.push(member.client_id);
                    } else {
                        seats_skipped.push(SeatClash {
                            recurrence_id: recurrence_id(occurrence),
                            client: member.client_id,
                            interval,
                            conflicts: clashes,
                        });
                    }
                }
                batch.reserve(facilitators);
                batch.reserve(seated.iter().map(|&person| Claim { person, interval, owner: Owner::Session(id) }));
                plan.push((id, occurrence, interval, seated));
            }
            let staff = group.facilitator_ids.iter().copied();
            let names = report::names_in(&mut tx, org, &skipped, &seats_skipped, staff).await?;
            let clock = recurrence.timezone().as_str();
            let skipped: Vec<SkippedOccurrence> =
                skipped.into_iter().map(|c| report::occurrence(c, &names, clock)).collect();
            let seats_skipped: Vec<SkippedMemberSeat> =
                seats_skipped.into_iter().map(|c| report::seat(c, &names, clock)).collect();
            if !skipped.is_empty() && !skip_conflicts {
                return Err(series_conflict(&skipped));
            }
            let planned = plan.iter().map(|(_, o, i, _)| (*o, *i));
            let outside = outside_hours(&mut tx, org, &group, &zone, &names, planned).await?;
            if !outside.is_empty() && group.fields.settings.refuse_outside_working_hours {
                let mut error = StoreError::conflict(
                    "outside_working_hours",
                    format!(
                        "{} occurrences fall outside their facilitators' working hours, which this group does not \
                         allow; nothing was generated",
                        outside.len()
                    ),
                );
                if let StoreError::Conflict(c) = &mut error {
                    c.details.insert("occurrences".into(), json!(outside));
                }
                return Err(error);
            }

            let capacity = group.fields.capacity.unwrap_or(group.fields.settings.default_capacity);
            let mut created = Vec::with_capacity(plan.len());
            let mut drafts = Vec::with_capacity(plan.len() + 1);
            for (id, occurrence, interval, seated) in plan {
                let input = NewSession {
                    kind: SessionKind::Group,
                    details: group_details(&group),
                    interval,
                    timezone: recurrence.timezone().as_str().to_owned(),
                    capacity: capacity.max(seated.len() as i64).max(1),
                    group_id: Some(group_id),
                    therapist_ids: group.facilitator_ids.clone(),
                    client_ids: seated,
                    therapists_must_accept: false,
                    approval: Approval::NotNeeded,
                };
                let session = insert_session(
                    &mut tx,
                    org,
                    id,
                    &input,
                    SessionStatus::Scheduled,
                    Some((series, recurrence_id(occurrence))),
                    ctx.person_id,
                    now,
                )
                .await?;
                let free = session.capacity - session.seats_taken;
                freed::record_new_seats(&mut tx, org, id, free, freed::Cause::SessionCreated, now).await?;
                drafts.push(
                    AuditDraft::new("session.create", "session", id)
                        .details(json!({ "group_id": group_id, "generated": true })),
                );
                created.push(session);
            }
            busy::claim_batch(&mut tx, org, batch, &mut drafts).await?;
            if group.series_id.is_none() {
                tx.execute(
                    sql("UPDATE groups SET series_id = $3 WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(group_id)
                        .bind(series),
                )
                .await?;
            }
            drafts.push(AuditDraft::new("series.generate", "group", group_id).details(json!({
                "from": from, "to": to, "created": created.len(), "skipped": skipped.len(),
            })));
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            names::fill(&mut tx, org, &mut created).await?;
            Generation { created, already_generated, skipped, seats_skipped, outside_working_hours: outside }
        }))
    }

    async fn reschedule_session(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        to: Interval,
    ) -> Result<Session> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            if !lock_row(&mut tx, dialect, "sessions", org, session_id).await? {
                return Err(StoreError::NotFound("session"));
            }
            let before = fetch(&mut tx, org, session_id, Seats::All, now).await?;
            if !matches!(before.status, SessionStatus::Proposed | SessionStatus::Scheduled) {
                return Err(StoreError::conflict(
                    "illegal_transition",
                    format!("{} session cannot move", with_article(&before.status.words())),
                ));
            }
            let people = participants(&before);
            let roles: Vec<(PersonId, Role, &str)> = before
                .therapists
                .iter()
                .filter(|t| t.status.as_str() == "ACCEPTED")
                .map(|t| (t.therapist_id, Role::Therapist, "therapist_ids"))
                .chain(
                    before
                        .seats
                        .iter()
                        .filter(|s| s.status.holds_time())
                        .map(|s| (s.client_id, Role::Client, "client_ids")),
                )
                .collect();
            busy::lock_people(&mut tx, dialect, org, &roles).await?;
            // Give the old time back first: the session never clashes with itself.
            busy::release_session(&mut tx, org, session_id, None).await?;
            let claims: Vec<Claim> = people
                .iter()
                .map(|&person| Claim { person, interval: to, owner: Owner::Session(session_id) })
                .collect();
            let mut drafts = Vec::new();
            busy::claim(&mut tx, org, &claims, now, &mut drafts).await?;
            tx.execute(
                sql("UPDATE sessions SET starts_at = $3, ends_at = $4, updated_at = $5 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(session_id)
                    .bind(to.start)
                    .bind(to.end)
                    .bind(now),
            )
            .await?;
            let after = fetch(&mut tx, org, session_id, Seats::All, now).await?;
            tell_rescheduled(&mut tx, org, &after, people, ctx.person_id, now).await?;
            drafts.push(AuditDraft::new("session.reschedule", "session", session_id).details(json!({
                "from": before.starts_at, "to": to.start, "minutes": to.length().as_mins(),
            })));
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            after
        })
    }

    async fn split_series(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group_id: GroupId,
        change: SeriesChange,
    ) -> Result<SplitOutcome> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            lock_row(&mut tx, dialect, "groups", org, group_id).await?;
            let group = fetch_group(&mut tx, org, group_id).await?;
            let old = recurrence_of(&group)?;
            let recurrence = old
                .continue_from(
                    change.from,
                    change.start_time.unwrap_or(old.start_time()),
                    change.duration_minutes.unwrap_or(old.duration_minutes()),
                )
                .map_err(StoreError::Invalid)?;
            let facilitators = change.facilitator_ids.clone().unwrap_or_else(|| group.facilitator_ids.clone());
            super::rows::groups::check_staff(&mut tx, org, &[], &facilitators).await?;
            let zone = recurrence.timezone().zone();
            let minutes = SignedDuration::from_mins(recurrence.duration_minutes());

            // Later occurrences already generated and not yet started move.
            let rows = tx
                .fetch_all(
                    sql(format!("SELECT id, recurrence_id FROM sessions WHERE org_id = $1 AND group_id = $2 AND status = {SESSION_SCHEDULED} \
                         AND recurrence_id IS NOT NULL AND recurrence_id >= $3 AND starts_at > $4 ORDER BY starts_at"))
                    .bind(org)
                    .bind(group_id)
                    .bind(change.from.to_string())
                    .bind(now),
                )
                .await?;
            let mut moving = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: SessionId = row.id("id")?;
                lock_row(&mut tx, dialect, "sessions", org, id).await?;
                let session = fetch(&mut tx, org, id, Seats::All, now).await?;
                let date = occurrence_date(&row.text("recurrence_id")?)?;
                let local = date.to_datetime(recurrence.start_time());
                let start =
                    zone.to_ambiguous_timestamp(local).compatible().map_err(|e| DbError::Decode(e.to_string()))?;
                let interval = Interval::starting_at(start, minutes).expect("a positive duration");
                moving.push((session, interval, local.to_string()));
            }
            let clients =
                |s: &Session| s.seats.iter().filter(|x| x.status.holds_time()).map(|x| x.client_id).collect::<Vec<_>>();
            let roles: Vec<(PersonId, Role, &str)> = facilitators
                .iter()
                .map(|&f| (f, Role::Therapist, "facilitator_ids"))
                .chain(moving.iter().flat_map(|(s, ..)| clients(s)).map(|c| (c, Role::Client, "client_id")))
                .collect();
            busy::lock_people(&mut tx, dialect, org, &roles).await?;
            for (session, ..) in &moving {
                busy::release_session(&mut tx, org, session.id, None).await?;
            }
            let everyone: Vec<PersonId> = roles.iter().map(|(p, ..)| *p).collect::<BTreeSet<_>>().into_iter().collect();
            let window = span(moving.iter().map(|(_, i, _)| *i));
            let mut batch = Batch::load(&mut tx, org, &everyone, window, now).await?;
            let mut clashes = Vec::new();
            let mut clocks = Vec::new();
            let mut plans = Vec::with_capacity(moving.len());
            for (session, interval, new_id) in &moving {
                let claims: Vec<Claim> = facilitators
                    .iter()
                    .copied()
                    .chain(clients(session))
                    .map(|person| Claim { person, interval: *interval, owner: Owner::Session(session.id) })
                    .collect();
                let found = batch.conflicts(&claims);
                if !found.is_empty() {
                    let recurrence_id = session.recurrence_id.clone().unwrap_or_default();
                    clashes.push(Clash { recurrence_id, interval: *interval, conflicts: found });
                    clocks.push(session.timezone.clone());
                }
                batch.reserve(claims);
                plans.push((session, *interval, new_id));
            }
            if !clashes.is_empty() {
                let names = report::names_in(&mut tx, org, &clashes, &[], []).await?;
                let named: Vec<SkippedOccurrence> =
                    clashes.into_iter().zip(&clocks).map(|(c, clock)| report::occurrence(c, &names, clock)).collect();
                return Err(series_conflict(&named));
            }
            let series = SeriesId::new();
            let mut drafts = Vec::new();
            // A change from one date on starts a new series (RFC 5545's
            // THISANDFUTURE): the moved sessions become its occurrences.
            for (session, interval, new_id) in &plans {
                tx.execute(
                    sql("UPDATE sessions SET starts_at = $3, ends_at = $4, series_id = $5, recurrence_id = $6, updated_at = $7 \
                         WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(session.id)
                    .bind(interval.start)
                    .bind(interval.end)
                    .bind(series)
                    .bind(new_id.as_str())
                    .bind(now),
                )
                .await?;
                tx.execute(
                    sql("DELETE FROM session_therapists WHERE org_id = $1 AND session_id = $2")
                        .bind(org)
                        .bind(session.id),
                )
                .await?;
                insert_rows(
                    &mut tx,
                    "session_therapists (org_id, id, session_id, therapist_id, status, invited_at, responded_at)",
                    facilitators.iter().map(|&f| {
                        vec![
                            org.into(),
                            circles_domain::ids::InvitationId::new().into(),
                            session.id.into(),
                            f.into(),
                            "ACCEPTED".into(),
                            now.into(),
                            now.into(),
                        ]
                    }),
                )
                .await?;
                drafts.push(
                    AuditDraft::new("session.reschedule", "session", session.id).details(json!({ "series": series })),
                );
            }
            busy::claim_batch(&mut tx, org, batch, &mut drafts).await?;
            tx.execute(
                sql("UPDATE groups SET recurrence = $3, series_id = $4, updated_at = $5 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(group_id)
                    .bind(serde_json::to_string(&recurrence.to_input()).expect("recurrence serialises"))
                    .bind(series)
                    .bind(now),
            )
            .await?;
            if change.facilitator_ids.is_some() {
                replace_staff(&mut tx, org, group_id, "facilitator", &facilitators, now).await?;
            }
            let mut moved = Vec::with_capacity(plans.len());
            for (session, ..) in &plans {
                let after = fetch(&mut tx, org, session.id, Seats::All, now).await?;
                let told: Vec<PersonId> = participants(&after).into_iter().chain(participants(session)).collect();
                tell_rescheduled(&mut tx, org, &after, told, ctx.person_id, now).await?;
                moved.push(after);
            }
            drafts.push(AuditDraft::new("series.split", "group", group_id).details(json!({
                "from": change.from, "start_time": recurrence.start_time().strftime("%H:%M").to_string(),
                "duration_minutes": recurrence.duration_minutes(), "moved": moved.len(),
            })));
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            SplitOutcome { group: fetch_group(&mut tx, org, group_id).await?, moved }
        })
    }
}
