//! A group's roster over time: screening, leaving, the waitlist, seating
//! members on generated sessions, and attendance statistics.

use crate::model::Keyset;
use std::collections::BTreeMap;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::attendance::{GroupStats, HeldSession, MemberStats, Offered, group_stats, member_stats};
use circles_domain::group::{MembershipStatus, departure_waits, screening_leave_date, status_on};
use circles_domain::ids::{AccountId, GroupId, MembershipId, OrgId, PersonId, SeatId, SessionId, WaitlistEntryId};
use circles_domain::interval::Interval;
use circles_domain::sealed::ClinicalField;
use circles_domain::session::{NotificationKind, SeatStatus};
use circles_domain::spelling::with_article;
use circles_domain::waitlist::EntryStatus;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, Owner};
use super::db::{Backend, DbError, Executor, Row, lock_row, sql};
use super::notify::{self, Notice};
use super::rows::freed::{self, Cause};
use super::rows::groups::fetch_group;
use super::rows::offers::withdraw_entry_offers;
use super::rows::sealed;
use super::rows::statuses::HOLDING_SEATS;
use super::rows::waitlist::wait_for_group;
use super::{SqlStore, read_tx, write_tx};
use crate::model::{
    AuditCtx, Group, GroupMember, GroupReport, MembershipChange, MembershipUpdate, OwnMembership, SeatingReport,
    SkippedSeat,
};
use crate::sql::rows::statuses::{SESSION_CANCELLED, SESSION_SCHEDULED};
use crate::{Result, RosterStore, StoreError};

/// Midnight at the start of `date` in the organisation's zone.
pub(super) async fn local_midnight<E: Executor>(tx: &mut E, org: OrgId, date: Date) -> Result<Timestamp> {
    let zone = org_zone(tx, org).await?;
    Ok(date.to_zoned(zone).map_err(|e| DbError::Decode(e.to_string()))?.timestamp())
}

pub(super) async fn org_zone<E: Executor>(tx: &mut E, org: OrgId) -> Result<jiff::tz::TimeZone> {
    let name =
        tx.fetch_one(sql("SELECT timezone FROM organisations WHERE id = $1").bind(org)).await?.text("timezone")?;
    jiff::tz::TimeZone::get(&name).map_err(|e| DbError::Decode(e.to_string()).into())
}

async fn fetch_member<E: Executor>(tx: &mut E, org: OrgId, group: GroupId, id: MembershipId) -> Result<GroupMember> {
    let row = tx
        .fetch_optional(
            sql(format!("{} WHERE org_id = $1 AND group_id = $2 AND id = $3", super::rows::groups::MEMBER_ROWS))
                .bind(org)
                .bind(group)
                .bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("membership"))?;
    let mut member = [super::rows::groups::member_from_row(&row)?];
    super::rows::groups::open_member_texts(tx, org, &mut member).await?;
    let [member] = member;
    Ok(member)
}

/// Seats `client` holds on the group's sessions starting at or after `from`.
async fn seats_from<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    client: PersonId,
    from: Timestamp,
) -> Result<Vec<(SeatId, SessionId)>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT x.id, x.session_id FROM seats x JOIN sessions s ON s.org_id = x.org_id AND s.id = x.session_id \
                 WHERE x.org_id = $1 AND s.group_id = $2 AND x.client_id = $3 AND s.starts_at >= $4 \
                 AND s.status <> {SESSION_CANCELLED} AND x.status IN ({HOLDING_SEATS})"
            ))
            .bind(org)
            .bind(group)
            .bind(client)
            .bind(from),
        )
        .await?;
    rows.iter().map(|r| Ok((r.id("id")?, r.id("session_id")?))).collect()
}

/// Closes the entry `client` has for a place in `group` once they no longer
/// wait on its roster (made active by staff, or gone): a live offer of a
/// place is withdrawn (the place moves on) and the entry is cancelled.
async fn stop_waiting_for_group<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    client: PersonId,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    let key = circles_domain::waitlist::Target::Group(group).key();
    let rows = tx
        .fetch_all(
            sql("SELECT id FROM waitlist_entries WHERE org_id = $1 AND client_id = $2 AND target_key = $3 \
                 AND status IN ($4, $5)")
            .bind(org)
            .bind(client)
            .bind(key.as_str())
            .bind(EntryStatus::Active.as_str())
            .bind(EntryStatus::Offered.as_str()),
        )
        .await?;
    for row in &rows {
        let entry: WaitlistEntryId = row.id("id")?;
        withdraw_entry_offers(tx, org, entry, now, drafts).await?;
        tx.execute(
            sql("UPDATE waitlist_entries SET status = $3, closed_at = $4, updated_at = $4 WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(entry)
                .bind(EntryStatus::Cancelled.as_str())
                .bind(now),
        )
        .await?;
        drafts.push(
            AuditDraft::new("waitlist.entry.cancel", "waitlist_entry", entry)
                .subject(client)
                .details(json!({ "reason": "no longer waiting on the group roster" })),
        );
    }
    Ok(())
}

/// Today's date in the organisation's zone.
async fn org_today<E: Executor>(tx: &mut E, org: OrgId, now: Timestamp) -> Result<Date> {
    Ok(now.to_zoned(org_zone(tx, org).await?).date())
}

/// Applies the departures of `group` whose leave date has come (their
/// members take the status they leave with) and records each freed place
/// for the waitlist pass to offer. Returns how many left.
async fn settle_departures<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    today: Date,
    now: Timestamp,
) -> Result<u64> {
    let departed = tx
        .execute(
            sql(format!(
                "UPDATE group_memberships SET status = departs_as, departs_as = NULL, updated_at = $4 \
                 WHERE org_id = $1 AND group_id = $2 AND status = '{}' AND departs_as IS NOT NULL AND leave_date <= $3",
                MembershipStatus::Active.as_str()
            ))
            .bind(org)
            .bind(group)
            .bind(today)
            .bind(now),
        )
        .await?;
    if departed == 0 {
        return Ok(0);
    }
    freed::record_places(tx, org, group, departed as i64, Cause::MemberLeft, now).await?;
    Ok(departed)
}

async fn tell_activated<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: &Group,
    member: &GroupMember,
    now: Timestamp,
) -> Result<()> {
    let notice = Notice {
        kind: NotificationKind::MembershipActivated,
        title: "You are now an active member",
        body: format!("Welcome to {}", group.fields.name),
        session: None,
        group: Some(group.id),
    };
    notify::push(tx, org, now, [member.client_id], None, &notice).await
}

/// A member's attendance over the group's held sessions from their join
/// date through their leave date (a member may attend on their last day).
async fn stats_of<E: Executor>(tx: &mut E, org: OrgId, member: &GroupMember, now: Timestamp) -> Result<MemberStats> {
    let from = local_midnight(tx, org, member.join_date).await?;
    let until = match member.leave_date.and_then(|d| d.tomorrow().ok()) {
        Some(day_after) => local_midnight(tx, org, day_after).await?.min(now),
        None => now,
    };
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT s.starts_at, x.status FROM sessions s LEFT JOIN seats x ON x.org_id = s.org_id \
                 AND x.session_id = s.id AND x.client_id = $3 \
                 WHERE s.org_id = $1 AND s.group_id = $2 AND s.status <> {SESSION_CANCELLED} \
                 AND s.starts_at >= $4 AND s.starts_at < $5 ORDER BY s.starts_at"
            ))
            .bind(org)
            .bind(member.group_id)
            .bind(member.client_id)
            .bind(from)
            .bind(until),
        )
        .await?;
    let offered: Vec<Offered> = rows
        .iter()
        .map(|r| {
            Ok(Offered {
                seat: r.opt_text("status")?.map(|s| s.parse::<SeatStatus>()).transpose().map_err(DbError::Decode)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(member_stats(&offered))
}

#[async_trait]
impl<B: Backend> RosterStore for SqlStore<B> {
    async fn update_member(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group_id: GroupId,
        member_id: MembershipId,
        change: MembershipChange,
    ) -> Result<MembershipUpdate> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        self.after_freeing(write_tx!(self, |tx| {
            lock_row(&mut tx, dialect, "groups", org, group_id).await?;
            let today = org_today(&mut tx, org, now).await?;
            settle_departures(&mut tx, org, group_id, today, now).await?;
            let mut drafts = Vec::new();
            let group = fetch_group(&mut tx, org, group_id).await?;
            let current = fetch_member(&mut tx, org, group_id, member_id).await?;
            // Places held by live waitlist offers are taken.
            let held = freed::held_places(&mut tx, org, group_id, None, now).await?;
            let mut leave_date = change.leave_date;
            let mut exit_reason = change.exit_reason.clone();
            let target = match (&change.screening, change.status) {
                (Some(screening), _) => {
                    if current.status != MembershipStatus::PendingScreening {
                        return Err(StoreError::conflict(
                            "not_awaiting_screening",
                            "this member has been screened already",
                        ));
                    }
                    if screening.approved {
                        let full = group.fields.capacity.is_some_and(|c| group.active_members + held >= c);
                        if full { MembershipStatus::Waitlisted } else { MembershipStatus::Active }
                    } else {
                        leave_date = leave_date.or(Some(screening_leave_date(screening.date, current.join_date)));
                        exit_reason = exit_reason.or(Some("screening not approved".into()));
                        MembershipStatus::Inactive
                    }
                }
                (None, Some(status)) => status,
                (None, None) if change.leave_date.is_some() => MembershipStatus::Inactive,
                (None, None) => current.status,
            };
            if target != current.status && !current.status.can_become(target) {
                return Err(StoreError::conflict(
                    "illegal_transition",
                    format!("{} membership cannot become {}", with_article(&current.status.words()), target.words()),
                ));
            }
            let full = group.fields.capacity.is_some_and(|c| group.active_members + held >= c);
            if target == MembershipStatus::Active && current.status == MembershipStatus::Waitlisted && full {
                return Err(StoreError::conflict("group_full", "the group has no free place"));
            }
            let leaving = !target.is_current() && current.status.is_current();
            if leaving && leave_date.is_none() {
                return Err(StoreError::invalid("leave_date", "is required when a membership ends"));
            }
            if let Some(date) = leave_date
                && date < current.join_date
            {
                return Err(StoreError::invalid("leave_date", "must not be before the join date"));
            }
            // Leaving later keeps the place until then (promotion waits too).
            let waits = leaving && leave_date.is_some_and(|date| departure_waits(current.status, date, today));
            let (stored, departs_as) = if waits { (current.status, Some(target)) } else { (target, None) };
            let screening = change.screening.as_ref();
            let notes = screening.map(|s| s.notes.as_str());
            let notes = sealed::seal(&mut tx, org, ClinicalField::ScreeningNotes, member_id.0, notes).await?;
            // A new reason is sealed; without one the stored reason stays as it is.
            let exit_reason =
                sealed::seal(&mut tx, org, ClinicalField::ExitReason, member_id.0, exit_reason.as_deref()).await?;
            tx.execute(
                sql("UPDATE group_memberships SET status = $3, leave_date = $4, exit_reason = COALESCE($5, exit_reason), \
                     screening_date = COALESCE($6, screening_date), screening_notes = COALESCE($7, screening_notes), \
                     screening_approved = COALESCE($8, screening_approved), screened_by = COALESCE($9, screened_by), \
                     updated_at = $10, departs_as = $11 WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(member_id)
                .bind(stored.as_str())
                .bind(leave_date.or(current.leave_date))
                .bind(exit_reason)
                .bind(screening.map(|s| s.date))
                .bind(notes)
                .bind(screening.map(|s| s.approved))
                .bind(screening.and(ctx.person_id))
                .bind(now)
                .bind(departs_as.map(|d| d.as_str())),
            )
            .await?;
            let member = fetch_member(&mut tx, org, group_id, member_id).await?;
            if target == MembershipStatus::Active && current.status != MembershipStatus::Active {
                tell_activated(&mut tx, org, &group, &member, now).await?;
            }
            // A freed place goes through the waitlist: offered to the best-placed waiting member.
            let freed_places = if leaving && !waits && current.status == MembershipStatus::Active {
                freed::record_places(&mut tx, org, group_id, 1, Cause::MemberLeft, now).await?
            } else {
                0
            };
            if stored == MembershipStatus::Waitlisted && current.status != MembershipStatus::Waitlisted {
                drafts.extend(wait_for_group(&mut tx, org, group_id, member.client_id, ctx.person_id, now).await?);
            }
            if current.status == MembershipStatus::Waitlisted && stored != MembershipStatus::Waitlisted {
                stop_waiting_for_group(&mut tx, org, group_id, member.client_id, now, &mut drafts).await?;
            }
            let future_seats = match member.leave_date {
                Some(date) => {
                    let from = local_midnight(&mut tx, org, date).await?.max(now);
                    seats_from(&mut tx, org, group_id, member.client_id, from).await?.len() as i64
                }
                None => 0,
            };
            drafts.push(
                AuditDraft::new("membership.update", "membership", member_id).subject(member.client_id).details(
                    json!({
                        "from": current.status, "to": stored, "departs_as": departs_as,
                        "leave_date": member.leave_date, "screened": screening.is_some(),
                    }),
                ),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            MembershipUpdate { member, future_seats, freed_places }
        }))
    }

    async fn cancel_future_seats(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member_id: MembershipId,
    ) -> Result<u64> {
        let now = self.clock.now();
        self.after_freeing(write_tx!(self, |tx| {
            let member = fetch_member(&mut tx, org, group, member_id).await?;
            let leave_date = member.leave_date.ok_or_else(|| {
                StoreError::conflict("no_leave_date", "set a leave date before cancelling future seats")
            })?;
            let from = local_midnight(&mut tx, org, leave_date).await?.max(now);
            let seats = seats_from(&mut tx, org, group, member.client_id, from).await?;
            // Staff give these seats up for the member: the provider cancels them.
            let status = SeatStatus::CancelledByProvider;
            for (seat, session) in &seats {
                tx.execute(
                    sql("UPDATE seats SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(*seat)
                        .bind(status.as_str())
                        .bind(now),
                )
                .await?;
                busy::release_session(&mut tx, org, *session, Some(member.client_id)).await?;
                freed::record_seat(&mut tx, org, *session, Cause::MemberLeft, now).await?;
            }
            if !seats.is_empty() {
                let notice = Notice {
                    kind: NotificationKind::SeatCancelled,
                    title: "Your seats in a group were cancelled",
                    body: format!(
                        "{} of your seats from {} on were cancelled as you leave the group",
                        seats.len(),
                        leave_date.strftime("%a %-d %b %Y")
                    ),
                    session: None,
                    group: Some(group),
                };
                notify::push(&mut tx, org, now, [member.client_id], ctx.person_id, &notice).await?;
            }
            let draft = AuditDraft::new("membership.cancel_future_seats", "membership", member_id)
                .subject(member.client_id)
                .details(json!({ "seats": seats.len() }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            seats.len() as u64
        }))
    }

    async fn seat_in_upcoming(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member_id: MembershipId,
    ) -> Result<SeatingReport> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let member = fetch_member(&mut tx, org, group, member_id).await?;
            if member.status != MembershipStatus::Active {
                return Err(StoreError::conflict(
                    "not_active",
                    format!("{} member takes no seats", with_article(&member.status.words())),
                ));
            }
            let client = member.client_id;
            let from = local_midnight(&mut tx, org, member.join_date).await?.max(now);
            let until = match member.leave_date {
                Some(date) => Some(local_midnight(&mut tx, org, date).await?),
                None => None,
            };
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT s.id, s.starts_at, s.ends_at, s.capacity, \
                         (SELECT COUNT(*) FROM seats y WHERE y.org_id = s.org_id AND y.session_id = s.id AND y.status IN ({HOLDING_SEATS})) \
                           AS taken \
                         FROM sessions s WHERE s.org_id = $1 AND s.group_id = $2 AND s.status = {SESSION_SCHEDULED} \
                         AND s.starts_at > $3 AND ($4 IS NULL OR s.starts_at < $4) \
                         AND NOT EXISTS (SELECT 1 FROM seats x WHERE x.org_id = s.org_id AND x.session_id = s.id \
                           AND x.client_id = $5 AND x.status IN ({HOLDING_SEATS})) ORDER BY s.starts_at"
                    ))
                    .bind(org)
                    .bind(group)
                    .bind(from)
                    .bind(until)
                    .bind(client),
                )
                .await?;
            busy::lock_people(&mut tx, dialect, org, &[(client, Role::Client, "client_id")]).await?;
            let mut upcoming = Vec::with_capacity(rows.len());
            for row in &rows {
                let interval =
                    Interval::new(row.time("starts_at")?, row.time("ends_at")?).expect("a session has length");
                upcoming.push((row.id::<SessionId>("id")?, interval, row.int("taken")? >= row.int("capacity")?));
            }
            let window = Interval::new(
                upcoming.iter().map(|(_, i, _)| i.start).min().unwrap_or(now),
                upcoming.iter().map(|(_, i, _)| i.end).max().unwrap_or(now),
            );
            let mut batch = busy::Batch::load(&mut tx, org, &[client], window, now).await?;
            let mut report = SeatingReport { seated: Vec::new(), skipped: Vec::new() };
            let mut drafts = Vec::new();
            for (session, interval, full) in upcoming {
                let starts_at = interval.start;
                if full {
                    report.skipped.push(SkippedSeat {
                        session_id: session,
                        starts_at,
                        reason: "session_full",
                        conflicts: Vec::new(),
                    });
                    continue;
                }
                let claim = [Claim { person: client, interval, owner: Owner::Session(session) }];
                let clashes = batch.conflicts(&claim);
                if !clashes.is_empty() {
                    report.skipped.push(SkippedSeat {
                        session_id: session,
                        starts_at,
                        reason: "scheduling_conflict",
                        conflicts: clashes,
                    });
                    continue;
                }
                batch.reserve(claim);
                let seat = SeatId::new();
                tx.execute(
                    sql("INSERT INTO seats (org_id, id, session_id, client_id, status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $6, $5, $5) \
                         ON CONFLICT (org_id, session_id, client_id) DO UPDATE SET status = $6, updated_at = $5")
                    .bind(org)
                    .bind(seat)
                    .bind(session)
                    .bind(client)
                    .bind(now)
                    .bind(SeatStatus::Registered.as_str()),
                )
                .await?;
                drafts.push(
                    AuditDraft::new("seat.add", "session", session)
                        .subject(client)
                        .details(json!({ "membership": member_id })),
                );
                report.seated.push(session);
            }
            busy::claim_batch(&mut tx, org, batch, &mut drafts).await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            report
        })
    }

    async fn settle_departures(&self) -> Result<u64> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        // No zone is more than a day ahead of UTC: later dates are not due anywhere.
        let latest =
            now.to_zoned(jiff::tz::TimeZone::UTC).date().tomorrow().map_err(|e| DbError::Decode(e.to_string()))?;
        self.after_freeing(write_tx!(self, |tx| {
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT DISTINCT org_id, group_id FROM group_memberships WHERE status = '{}' \
                         AND departs_as IS NOT NULL AND leave_date <= $1 \
                         /* spans organisations: the departures job sweeps every clinic */ \
                         ORDER BY org_id, group_id",
                        MembershipStatus::Active.as_str()
                    ))
                    .bind(latest),
                )
                .await?;
            let mut departed = 0;
            for row in &rows {
                let (org, group): (OrgId, GroupId) = (row.id("org_id")?, row.id("group_id")?);
                lock_row(&mut tx, dialect, "groups", org, group).await?;
                let today = org_today(&mut tx, org, now).await?;
                departed += settle_departures(&mut tx, org, group, today, now).await?;
            }
            departed
        }))
    }

    async fn member_client(&self, org: OrgId, group: GroupId, member_id: MembershipId) -> Result<PersonId> {
        let row = super::read_one!(self, |tx| {
            tx.fetch_optional(
                sql("SELECT client_id FROM group_memberships WHERE org_id = $1 AND group_id = $2 AND id = $3")
                    .bind(org)
                    .bind(group)
                    .bind(member_id),
            )
            .await?
        })?;
        Ok(row.ok_or(StoreError::NotFound("membership"))?.id("client_id")?)
    }

    async fn member_stats(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        member_id: MembershipId,
    ) -> Result<MemberStats> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let member = fetch_member(&mut tx, org, group, member_id).await?;
            let stats = stats_of(&mut tx, org, &member, now).await?;
            let draft = AuditDraft::new("membership.stats_read", "membership", member_id).subject(member.client_id);
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            stats
        })
    }

    async fn account_memberships(
        &self,
        account: AccountId,
        page: Keyset<(Timestamp, MembershipId)>,
    ) -> Result<Vec<OwnMembership>> {
        let now = self.clock.now();
        read_tx!(self, |tx| {
            let rows = tx
                .fetch_all(
                    sql("SELECT m.*, g.name AS group_name, o.name AS org_name, \
                         (SELECT a.name FROM accounts a WHERE a.id = p.account_id) AS client_name FROM group_memberships m \
                         JOIN people p ON p.org_id = m.org_id AND p.id = m.client_id \
                         JOIN groups g ON g.org_id = m.org_id AND g.id = m.group_id \
                         JOIN organisations o ON o.id = m.org_id \
                         WHERE p.account_id = $1 \
                         AND ($3 IS NULL OR m.created_at > $3 OR (m.created_at = $3 AND m.id > $4)) \
                         /* spans organisations: the memberships of one client in every clinic, in the order \
                            they began */ \
                         ORDER BY m.created_at, m.id LIMIT $2")
                    .bind(account)
                    .bind(page.limit)
                    .bind(page.after.map(|(at, _)| at))
                    .bind(page.after.map(|(_, id)| id)),
                )
                .await?;
            let mut own = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut member = super::rows::groups::member_from_row(row)?;
                let org: OrgId = row.id("org_id")?;
                super::rows::groups::open_member_texts(&mut tx, org, std::slice::from_mut(&mut member)).await?;
                let today = org_today(&mut tx, org, now).await?;
                member.status = status_on(member.status, member.leave_date, member.departs_as, today);
                let stats = stats_of(&mut tx, org, &member, now).await?;
                own.push(OwnMembership {
                    org_id: org,
                    org_name: row.text("org_name")?,
                    group_name: row.text("group_name")?,
                    member,
                    stats,
                });
            }
            own
        })
    }

    async fn group_stats(&self, org: OrgId, group: GroupId) -> Result<GroupReport> {
        let now = self.clock.now();
        read_tx!(self, |tx| {
            fetch_group(&mut tx, org, group).await?;
            let rows = tx
                .fetch_all(
                    sql(format!("SELECT s.id, x.status FROM sessions s LEFT JOIN seats x ON x.org_id = s.org_id AND x.session_id = s.id \
                         WHERE s.org_id = $1 AND s.group_id = $2 AND s.status <> {SESSION_CANCELLED} AND s.starts_at <= $3 \
                         ORDER BY s.starts_at, s.id"))
                    .bind(org)
                    .bind(group)
                    .bind(now),
                )
                .await?;
            let mut held: Vec<(SessionId, HeldSession)> = Vec::new();
            for row in &rows {
                let id: SessionId = row.id("id")?;
                if held.last().is_none_or(|(last, _)| *last != id) {
                    held.push((id, HeldSession { seats: Vec::new() }));
                }
                if let Some(status) = row.opt_text("status")? {
                    let status = status.parse::<SeatStatus>().map_err(DbError::Decode)?;
                    held.last_mut().expect("pushed above").1.seats.push(status);
                }
            }
            let counts = tx
                .fetch_all(
                    sql("SELECT status, COUNT(*) AS n FROM group_memberships WHERE org_id = $1 AND group_id = $2 GROUP BY status")
                        .bind(org)
                        .bind(group),
                )
                .await?;
            let mut members_by_status = BTreeMap::new();
            for status in MembershipStatus::ALL {
                members_by_status.insert(status.as_str().to_owned(), 0);
            }
            for row in &counts {
                members_by_status.insert(row.text("status")?, row.int("n")?);
            }
            let held: Vec<HeldSession> = held.into_iter().map(|(_, h)| h).collect();
            let stats: GroupStats = group_stats(&held);
            GroupReport { stats, members_by_status }
        })
    }
}
