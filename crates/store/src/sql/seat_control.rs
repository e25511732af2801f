//! Staff control of one seat: the group's moderators, facilitators and the
//! organisation's admins seat a given client, drop one with a reason
//! (`CANCELLED_BY_PROVIDER`), or confirm one; a client confirms their own.
//! Who may is decided by the handler (`Action::ManageSeats`); these use cases
//! keep the seat's rules: capacity, the client's calendar (through `busy`),
//! and telling the client.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::{NotificationKind, SeatStatus, SessionStatus};
use circles_domain::spelling::with_article;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, LockWait, Owner};
use super::db::Backend;
use super::notify::{self, Notice};
use super::rows::freed::{self, Cause};
use super::rows::names;
use super::rows::seats::{lock_group_session, register_seat, seat_of, set_seat_status};
use super::rows::sessions::lock_session;
use super::{SqlStore, write_tx};
use crate::model::{AuditCtx, Seat, Session};
use crate::{Result, SeatControlStore, StoreError};

/// Staff seat clients on a scheduled session, or on a running one (a late
/// arrival); never on a proposal or a session that is over.
fn open_to_staff(session: &Session) -> Result<()> {
    match session.status {
        SessionStatus::Scheduled | SessionStatus::InProgress => Ok(()),
        other => Err(StoreError::conflict(
            "session_not_open",
            format!("{} session takes no seats", with_article(&other.words())),
        )),
    }
}

/// Seats change only before a session is over.
fn seats_still_change(session: &Session) -> Result<()> {
    if matches!(session.status, SessionStatus::Completed | SessionStatus::Cancelled) {
        return Err(StoreError::conflict(
            "session_not_open",
            format!("the seats of {} session no longer change", with_article(&session.status.words())),
        ));
    }
    Ok(())
}

/// The name of `client`, read for what staff and notices say.
async fn name_of<E: super::db::Executor>(tx: &mut E, org: OrgId, client: PersonId) -> Result<String> {
    let names = names::load(tx, org, [client]).await?;
    names.get(&client).cloned().ok_or(StoreError::NotFound("client"))
}

#[async_trait]
impl<B: Backend> SeatControlStore for SqlStore<B> {
    async fn add_seat(&self, ctx: &AuditCtx, org: OrgId, session_id: SessionId, client: PersonId) -> Result<Seat> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let (session, group) = lock_group_session(&mut tx, dialect, org, session_id, now).await?;
            open_to_staff(&session)?;
            let people = [(client, Role::Client, "client_id")];
            let names = busy::lock_people_or(&mut tx, dialect, org, &people, LockWait::Queue).await?;
            let name = names.get(&client).cloned().unwrap_or_default();
            if !super::rows::groups::is_active_member(&mut tx, org, group, client).await? {
                return Err(StoreError::conflict(
                    "not_a_member",
                    format!("{name} is not an active member of this group"),
                ));
            }
            let existing = seat_of(&mut tx, org, session_id, client).await?;
            if existing.as_ref().is_some_and(|s| s.status.holds_time()) {
                return Err(StoreError::conflict(
                    "already_seated",
                    format!("{name} already has a seat on this session"),
                ));
            }
            let held = freed::held_seats(&mut tx, org, session_id, None, now).await?;
            if session.seats_taken + held >= session.capacity {
                return Err(StoreError::conflict(
                    "session_full",
                    format!("all {} seats of {} are taken or offered", session.capacity, session.title),
                ));
            }
            let interval = Interval::new(session.starts_at, session.ends_at).expect("a session has length");
            let mut drafts = Vec::new();
            let claim = Claim { person: client, interval, owner: Owner::Session(session_id) };
            busy::claim(&mut tx, org, &[claim], now, &mut drafts).await?;
            let seat_id = register_seat(&mut tx, org, session_id, client, existing.as_ref(), now).await?;
            let notice = Notice {
                kind: NotificationKind::SeatConfirmed,
                title: "You have a seat",
                body: format!("{} on {}: a seat was reserved for you", session.title, names::when(&session)),
                session: Some(session_id),
                group: Some(group),
            };
            notify::push(&mut tx, org, now, [client], ctx.person_id, &notice).await?;
            drafts.push(
                AuditDraft::new("seat.add", "seat", seat_id)
                    .subject(client)
                    .details(json!({ "session_id": session_id })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            seat_of(&mut tx, org, session_id, client).await?.expect("the seat was just written")
        })
    }

    async fn drop_seat(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        session_id: SessionId,
        client: PersonId,
        reason: String,
    ) -> Result<Seat> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let dropped = write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            seats_still_change(&session)?;
            let seat = seated(&mut tx, org, session_id, client).await?;
            let status = SeatStatus::CancelledByProvider;
            set_seat_status(&mut tx, org, seat.id, status, now).await?;
            busy::release_session(&mut tx, org, session_id, Some(client)).await?;
            freed::record_seat(&mut tx, org, session_id, Cause::SeatCancelled, now).await?;
            let notice = Notice {
                kind: NotificationKind::SeatCancelled,
                title: "Your seat was cancelled",
                body: format!("{} on {}: your seat was cancelled: {reason}", session.title, names::when(&session)),
                session: Some(session_id),
                group: session.group_id,
            };
            notify::push(&mut tx, org, now, [client], ctx.person_id, &notice).await?;
            let draft = AuditDraft::new("seat.drop", "seat", seat.id)
                .subject(client)
                .details(json!({ "status": status, "reason": reason }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            seat_of(&mut tx, org, session_id, client).await?.expect("the seat exists")
        });
        if dropped.is_ok() {
            self.freed.notify_one();
        }
        dropped
    }

    async fn confirm_seat(&self, ctx: &AuditCtx, org: OrgId, session_id: SessionId, client: PersonId) -> Result<Seat> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let session = lock_session(&mut tx, dialect, org, session_id, now).await?;
            seats_still_change(&session)?;
            let seat = seated(&mut tx, org, session_id, client).await?;
            match seat.status {
                // Confirming twice changes nothing.
                SeatStatus::Confirmed => {}
                SeatStatus::Registered => {
                    set_seat_status(&mut tx, org, seat.id, SeatStatus::Confirmed, now).await?;
                    let draft = AuditDraft::new("seat.confirm", "seat", seat.id)
                        .subject(client)
                        .details(json!({ "status": SeatStatus::Confirmed }));
                    audit::append(&mut tx, now, ctx, org, &[draft]).await?;
                }
                marked => {
                    return Err(StoreError::conflict(
                        "seat_marked",
                        format!("this seat is already marked {}", marked.words()),
                    ));
                }
            }
            seat_of(&mut tx, org, session_id, client).await?.expect("the seat exists")
        })
    }
}

/// `client`'s seat while it holds their time; otherwise 409 naming them.
async fn seated<E: super::db::Executor>(tx: &mut E, org: OrgId, session: SessionId, client: PersonId) -> Result<Seat> {
    match seat_of(tx, org, session, client).await?.filter(|s| s.status.holds_time()) {
        Some(seat) => Ok(seat),
        None => {
            let name = name_of(tx, org, client).await?;
            Err(StoreError::conflict("not_seated", format!("{name} has no seat on this session")))
        }
    }
}
