//! Seats on group sessions: joining, leaving, and the attendance sheet.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::sealed::ClinicalField;
use circles_domain::session::{NotificationKind, SessionStatus, client_cancellation, closed_to_seats};
use circles_domain::spelling::with_article;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, LockWait, Owner};
use super::db::{Backend, Executor, Row, sql};
use super::notify::{self, Notice};
use super::rows::freed::{self, Cause};
use super::rows::names;
use super::rows::sealed;
use super::rows::seats::{group_settings, lock_group_session, register_seat, sealed_seat_of, seat_of};
use super::rows::sessions::{SEAT_ROWS, lock_session, seat_from_row};
use super::{SqlStore, write_tx};
use crate::model::{AttendanceMark, AuditCtx, Keyset, Seat, Session};
use crate::sql::rows::statuses::INVITATION_ACCEPTED;
use crate::{Result, SeatStore, StoreError};

/// Attendance recorded more than this long after a session ended is a late
/// entry: allowed, and flagged in the audit trail.
pub const LATE_ENTRY_AFTER: SignedDuration = SignedDuration::from_hours(24 * 30);

/// Whether seats can be taken: a scheduled session before it starts, a
/// drop-in session while it runs, or a running group session within its
/// group's late-join allowance; otherwise the refusal says why in words.
fn open_for_seats(session: &Session, late_join: SignedDuration, now: Timestamp) -> Result<()> {
    match closed_to_seats(session.kind, session.status, session.starts_at, &session.timezone, late_join, now) {
        Some(why) => Err(StoreError::conflict("session_not_open", why)),
        None => Ok(()),
    }
}

#[async_trait]
impl<B: Backend> SeatStore for SqlStore<B> {
    async fn join_session(&self, ctx: &AuditCtx, org: OrgId, session_id: SessionId, client: PersonId) -> Result<Seat> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let (session, group) = lock_group_session(&mut tx, dialect, org, session_id, now).await?;
            open_for_seats(&session, group_settings(&mut tx, org, group).await?.late_join(), now)?;
            if !super::rows::groups::is_active_member(&mut tx, org, group, client).await? {
                return Err(StoreError::NotFound("session"));
            }
            let existing = seat_of(&mut tx, org, session_id, client).await?;
            if existing.as_ref().is_some_and(|s| s.status.holds_time()) {
                return Err(StoreError::conflict("already_joined", "you already have a seat"));
            }
            if session.seats_taken >= session.capacity {
                return Err(StoreError::conflict("session_full", format!("all {} seats are taken", session.capacity)));
            }
            // A seat offered to a waiting client is theirs until the offer ends.
            if session.seats_taken + freed::held_seats(&mut tx, org, session_id, None, now).await? >= session.capacity {
                return Err(StoreError::conflict(
                    "session_full",
                    "the free seat is held for a client from the waitlist while their offer lasts",
                ));
            }
            let people = [(client, Role::Client, "client_id")];
            let names = busy::lock_people_or(&mut tx, dialect, org, &people, LockWait::Queue).await?;
            let interval = Interval::new(session.starts_at, session.ends_at).expect("a session has length");
            let mut drafts = Vec::new();
            busy::claim(
                &mut tx,
                org,
                &[Claim { person: client, interval, owner: Owner::Session(session_id) }],
                now,
                &mut drafts,
            )
            .await?;
            let seat_id = register_seat(&mut tx, org, session_id, client, existing.as_ref(), now).await?;
            let therapists = tx
                .fetch_all(
                    sql(format!("SELECT therapist_id FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND status = {INVITATION_ACCEPTED}"))
                        .bind(org)
                        .bind(session_id),
                )
                .await?
                .iter()
                .map(|r| r.id("therapist_id"))
                .collect::<Result<Vec<PersonId>, _>>()?;
            let when = names::when(&session);
            let taken = format!(
                "{} on {when} now has {} of {} seats taken",
                session.title,
                session.seats_taken + 1,
                session.capacity
            );
            // Therapists serve the member and read their name; a member who
            // proposed the session reads only that a seat was taken.
            let named = format!("{} joined a session", names.get(&client).map_or("A member", String::as_str));
            let creator = session.created_by.filter(|c| !therapists.contains(c));
            let confirmed = Notice {
                kind: NotificationKind::SeatConfirmed,
                title: "You have a seat",
                body: format!("{} on {when}", session.title),
                session: Some(session_id),
                group: Some(group),
            };
            let notices = [
                (
                    therapists,
                    Notice {
                        kind: NotificationKind::MemberJoined,
                        title: &named,
                        body: taken.clone(),
                        session: Some(session_id),
                        group: Some(group),
                    },
                ),
                (
                    creator.into_iter().collect(),
                    Notice {
                        kind: NotificationKind::MemberJoined,
                        title: "A member joined a session",
                        body: taken,
                        session: Some(session_id),
                        group: Some(group),
                    },
                ),
            ];
            notify::push_all(&mut tx, org, now, Some(client), &notices).await?;
            // The member is told too (the one notice an actor receives about
            // their own step): the confirmation that the seat is theirs.
            notify::push(&mut tx, org, now, [client], None, &confirmed).await?;
            drafts.push(
                AuditDraft::new("seat.join", "seat", seat_id)
                    .subject(client)
                    .details(json!({ "session_id": session_id })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            seat_of(&mut tx, org, session_id, client).await?.expect("the seat was just written")
        })
    }

    async fn leave_session(&self, ctx: &AuditCtx, org: OrgId, session_id: SessionId, client: PersonId) -> Result<Seat> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let left = write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            let seat = seat_of(&mut tx, org, session_id, client)
                .await?
                .filter(|s| s.status.holds_time())
                .ok_or_else(|| StoreError::conflict("not_seated", "you have no seat on this session"))?;
            if matches!(session.status, SessionStatus::Completed | SessionStatus::Cancelled) {
                return Err(StoreError::conflict(
                    "session_not_open",
                    format!("{} session cannot be left", with_article(&session.status.words())),
                ));
            }
            let status = client_cancellation(session.starts_at, now);
            tx.execute(
                sql("UPDATE seats SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(seat.id)
                    .bind(status.as_str())
                    .bind(now),
            )
            .await?;
            busy::release_session(&mut tx, org, session_id, Some(client)).await?;
            freed::record_seat(&mut tx, org, session_id, Cause::SeatCancelled, now).await?;
            let draft =
                AuditDraft::new("seat.leave", "seat", seat.id).subject(client).details(json!({ "status": status }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            seat_of(&mut tx, org, session_id, client).await?.expect("the seat exists")
        });
        if left.is_ok() {
            self.freed.notify_one();
        }
        left
    }

    async fn mark_attendance(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        marks: Vec<AttendanceMark>,
    ) -> Result<Vec<Seat>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            if !matches!(session.status, SessionStatus::InProgress | SessionStatus::Completed) {
                return Err(StoreError::conflict(
                    "session_not_started",
                    format!("attendance is marked once a session has started; this one is {}", session.status),
                ));
            }
            let late_entry = now > session.ends_at + LATE_ENTRY_AFTER;
            if late_entry {
                let refused = tx
                    .fetch_one(sql("SELECT refuse_late_attendance FROM organisations WHERE id = $1").bind(org))
                    .await?
                    .bool("refuse_late_attendance")?;
                if refused {
                    return Err(StoreError::conflict(
                        "late_attendance_refused",
                        "this organisation does not accept attendance recorded more than 30 days after a session",
                    ));
                }
            }
            let mut drafts = Vec::with_capacity(marks.len());
            let mut seats = Vec::with_capacity(marks.len());
            for (i, mark) in marks.iter().enumerate() {
                let seat = sealed_seat_of(&mut tx, org, session_id, mark.client_id)
                    .await?
                    .ok_or_else(|| StoreError::invalid(&format!("[{i}].client_id"), "has no seat on this session"))?;
                let note =
                    sealed::seal(&mut tx, org, ClinicalField::AttendanceNote, seat.id.0, mark.note.as_deref()).await?;
                tx.execute(
                    sql("UPDATE seats SET status = $3, minutes_late = $4, minutes_left_early = $5, note = $6, marked_by = $7, \
                         marked_at = $8, updated_at = $8, late_entry = $9 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(seat.id)
                    .bind(mark.status.as_str())
                    .bind(mark.minutes_late)
                    .bind(mark.minutes_left_early)
                    .bind(note)
                    .bind(ctx.person_id)
                    .bind(now)
                    .bind(late_entry),
                )
                .await?;
                if !mark.status.holds_time() {
                    busy::release_session(&mut tx, org, session_id, Some(mark.client_id)).await?;
                }
                drafts.push(
                    AuditDraft::new("attendance.mark", "seat", seat.id)
                        .subject(mark.client_id)
                        .details(json!({ "status": mark.status, "late_entry": late_entry })),
                );
                // The seat as just written: its note is the text given, so
                // nothing is read back or opened again.
                seats.push(Seat {
                    status: mark.status,
                    minutes_late: mark.minutes_late,
                    minutes_left_early: mark.minutes_left_early,
                    note: mark.note.clone(),
                    marked_by: ctx.person_id,
                    marked_at: Some(now),
                    late_entry,
                    ..seat
                });
            }
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            seats
        })
    }

    async fn attendance_sheet(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        page: Keyset<(String, PersonId)>,
    ) -> Result<Vec<Seat>> {
        let now = self.clock.now();
        let name = self.backend.dialect().bytewise("a.name");
        let (after_name, after_id) = page.after.map_or((None, None), |(name, id)| (Some(name), Some(id)));
        // Seats are clinical records: the read is audited, so it runs as a write.
        write_tx!(self, |tx| {
            tx.fetch_optional(sql("SELECT id FROM sessions WHERE org_id = $1 AND id = $2").bind(org).bind(session_id))
                .await?
                .ok_or(StoreError::NotFound("session"))?;
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "{SEAT_ROWS} WHERE y.org_id = $1 AND y.session_id = $2 \
                         AND ($3 IS NULL OR {name} > $3 OR ({name} = $3 AND y.client_id > $4)) \
                         ORDER BY {name}, y.client_id LIMIT $5"
                    ))
                    .bind(org)
                    .bind(session_id)
                    .bind(after_name.clone())
                    .bind(after_id)
                    .bind(page.limit),
                )
                .await?;
            let mut seats = rows.iter().map(seat_from_row).collect::<Result<Vec<Seat>>>()?;
            let notes = seats.iter_mut().filter_map(|seat| seat.note.as_mut().map(|note| (seat.id.0, note)));
            sealed::open_each(&mut tx, org, ClinicalField::AttendanceNote, notes).await?;
            let read = AuditDraft::read_of("attendance.read", "session", session_id, seats.iter().map(|s| s.client_id));
            audit::append(&mut tx, now, ctx, org, read.as_slice()).await?;
            seats
        })
    }
}
