//! What accepting an offer books: the held seat, or a one-on-one session in
//! the held slot — and, when the client asks to move earlier, the later
//! booking it gives up, which frees in turn.

use circles_domain::Role;
use circles_domain::group::MembershipStatus;
use circles_domain::ids::{HoldId, MembershipId, OrgId, SeatId, SessionId};
use circles_domain::input::Label;
use circles_domain::interval::Interval;
use circles_domain::session::{
    Modality, NotificationKind, SeatStatus, SessionDetails, SessionKind, SessionStatus, client_cancellation,
};
use jiff::Timestamp;
use serde_json::json;

use crate::model::{Approval, NewSession, Offer, Place};
use crate::sql::audit::AuditDraft;
use crate::sql::busy::{self, Claim, Owner};
use crate::sql::db::lock_row;
use crate::sql::db::{Dialect, Executor, Row, Value, placeholders, sql};
use crate::sql::notify::{self, Notice};
use crate::sql::rows::freed::{self, Cause, Opening, OpeningKind};
use crate::sql::rows::matching;
use crate::sql::rows::offers::fetch_opening;
use crate::sql::rows::sessions::{insert_session, lock_session};
use crate::sql::rows::statuses::{INVITATION_ACCEPTED, SESSION_CANCELLED};
use crate::{Result, StoreError};

async fn hold_of<E: Executor>(tx: &mut E, org: OrgId, offer: &Offer) -> Result<HoldId> {
    let row = tx
        .fetch_one(sql("SELECT hold_id FROM waitlist_offers WHERE org_id = $1 AND id = $2").bind(org).bind(offer.id))
        .await?;
    Ok(row.id("hold_id")?)
}

/// Books what `offer` holds, its holds making way for the booking. Returns
/// the session booked (or seated on); a place in a group makes the client
/// an active member instead, and books no session.
pub(super) async fn book<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    offer: &Offer,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<Option<SessionId>> {
    let interval = Interval::new(offer.starts_at, offer.ends_at).expect("an offer has length");
    let hold = hold_of(tx, org, offer).await?;
    match offer.place {
        Place::Seat(session) => {
            lock_session(tx, dialect, org, session, now).await?;
            let info = matching::place_info(tx, org, offer.place, Some(offer.opening_id), now).await?;
            if info.free <= 0 {
                return Err(StoreError::conflict("no_free_seat", "the seat is no longer free"));
            }
            busy::lock_people(tx, dialect, org, &[(offer.client_id, Role::Client, "client_id")]).await?;
            tx.execute(sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id = $2").bind(org).bind(hold))
                .await?;
            let claim = [Claim { person: offer.client_id, interval, owner: Owner::Session(session) }];
            busy::claim(tx, org, &claim, now, drafts).await?;
            tx.execute(
                sql("INSERT INTO seats (org_id, id, session_id, client_id, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (org_id, session_id, client_id) DO UPDATE SET status = $5, minutes_late = NULL, \
                     minutes_left_early = NULL, note = NULL, marked_by = NULL, marked_at = NULL, updated_at = $6")
                .bind(org)
                .bind(SeatId::new())
                .bind(session)
                .bind(offer.client_id)
                .bind(SeatStatus::Registered.as_str())
                .bind(now),
            )
            .await?;
            drafts.push(
                AuditDraft::new("seat.join", "session", session)
                    .subject(offer.client_id)
                    .details(json!({ "from_offer": offer.id })),
            );
            Ok(Some(session))
        }
        Place::Membership(group) => {
            lock_row(tx, dialect, "groups", org, group).await?;
            let info = matching::place_info(tx, org, offer.place, Some(offer.opening_id), now).await?;
            if info.free <= 0 {
                return Err(StoreError::conflict("group_full", "the group has no free place"));
            }
            let promoted = tx
                .fetch_optional(
                    sql(
                        "UPDATE group_memberships SET status = $4, updated_at = $6 WHERE org_id = $1 AND group_id = $2 \
                         AND client_id = $3 AND status = $5 RETURNING id",
                    )
                    .bind(org)
                    .bind(group)
                    .bind(offer.client_id)
                    .bind(MembershipStatus::Active.as_str())
                    .bind(MembershipStatus::Waitlisted.as_str())
                    .bind(now),
                )
                .await?
                .ok_or_else(|| StoreError::conflict("not_waitlisted", "the client no longer waits for this group"))?;
            let membership: MembershipId = promoted.id("id")?;
            let notice = Notice {
                kind: NotificationKind::MembershipActivated,
                title: "You are now an active member",
                body: format!("Welcome to {}", info.title),
                session: None,
                group: Some(group),
            };
            notify::push(tx, org, now, [offer.client_id], None, &notice).await?;
            drafts.push(
                AuditDraft::new("membership.promote", "membership", membership)
                    .subject(offer.client_id)
                    .details(json!({ "from": MembershipStatus::Waitlisted, "from_offer": offer.id })),
            );
            Ok(None)
        }
        Place::Slot { therapist, .. } => {
            let opening = fetch_opening(tx, org, offer.opening_id).await?;
            busy::lock_people(
                tx,
                dialect,
                org,
                &[(offer.client_id, Role::Client, "client_id"), (therapist, Role::Therapist, "therapist_id")],
            )
            .await?;
            tx.execute(
                sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id IN ($2, $3)")
                    .bind(org)
                    .bind(hold)
                    .bind(opening.hold),
            )
            .await?;
            let modality = tx
                .fetch_one(
                    sql("SELECT modality FROM waitlist_entries WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(offer.entry_id),
                )
                .await?
                .opt_text("modality")?
                .map(|m| m.parse::<Modality>())
                .transpose()
                .map_err(crate::sql::db::DbError::Decode)?
                .unwrap_or(Modality::Virtual);
            let session = SessionId::new();
            let input = NewSession {
                kind: SessionKind::OneOnOne,
                details: SessionDetails {
                    title: Label::parse(&offer.title, 200).map_err(crate::sql::db::DbError::Decode)?,
                    description: "Booked from the waitlist".into(),
                    modality,
                    virtual_link: None,
                    location: None,
                    address: None,
                },
                interval,
                timezone: offer.timezone.clone(),
                capacity: 1,
                group_id: None,
                therapist_ids: vec![therapist],
                client_ids: vec![offer.client_id],
                therapists_must_accept: false,
                approval: Approval::NotNeeded,
            };
            insert_session(tx, org, session, &input, SessionStatus::Scheduled, None, None, now).await?;
            let claims =
                [therapist, offer.client_id].map(|person| Claim { person, interval, owner: Owner::Session(session) });
            busy::claim(tx, org, &claims, now, drafts).await?;
            drafts.push(
                AuditDraft::new("session.create", "session", session)
                    .subject(offer.client_id)
                    .details(json!({ "from_offer": offer.id, "starts_at": interval.start })),
            );
            Ok(Some(session))
        }
    }
}

/// Gives up the client's later booking `later` ("move me earlier"): their
/// seat on a group session, or a one-on-one session. What it frees is
/// recorded to be offered on in turn.
pub(super) async fn release_later<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    offer: &Offer,
    later: SessionId,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    let bad = || StoreError::invalid("release_session_id", "is not a later booking of this client");
    let session = lock_session(tx, dialect, org, later, now).await.map_err(|_| bad())?;
    let holding: Vec<Value> = SeatStatus::ALL.iter().filter(|s| s.holds_time()).map(|s| s.as_str().into()).collect();
    let mut q = sql(format!(
        "SELECT id FROM seats WHERE org_id = $1 AND session_id = $2 AND client_id = $3 AND status IN ({})",
        placeholders(4, holding.len())
    ))
    .bind(org)
    .bind(later)
    .bind(offer.client_id);
    q.args.extend(holding);
    let seat: SeatId = tx.fetch_optional(q).await?.ok_or_else(bad)?.id("id")?;
    if session.status != SessionStatus::Scheduled || session.starts_at <= offer.starts_at {
        return Err(bad());
    }
    let seat_status = client_cancellation(session.starts_at, now);
    tx.execute(
        sql("UPDATE seats SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(seat)
            .bind(seat_status.as_str())
            .bind(now),
    )
    .await?;
    let interval = Interval::new(session.starts_at, session.ends_at).expect("a session has length");
    if session.group_id.is_some() {
        busy::release_session(tx, org, later, Some(offer.client_id)).await?;
        freed::record_seat(tx, org, later, Cause::MovedEarlier, now).await?;
        drafts.push(
            AuditDraft::new("seat.leave", "seat", seat)
                .subject(offer.client_id)
                .details(json!({ "status": seat_status, "moved_to_offer": offer.id })),
        );
    } else {
        tx.execute(
            sql(format!("UPDATE sessions SET status = {SESSION_CANCELLED}, cancelled_at = $3, cancel_reason = $4, updated_at = $3 \
                 WHERE org_id = $1 AND id = $2"))
            .bind(org)
            .bind(later)
            .bind(now)
            .bind("moved to an earlier time offered from the waitlist"),
        )
        .await?;
        busy::release_session(tx, org, later, None).await?;
        let therapists = tx
            .fetch_all(
                sql(format!("SELECT therapist_id FROM session_therapists WHERE org_id = $1 AND session_id = $2 AND status = {INVITATION_ACCEPTED}"))
                    .bind(org)
                    .bind(later),
            )
            .await?
            .iter()
            .map(|r| r.id("therapist_id"))
            .collect::<Result<Vec<circles_domain::ids::PersonId>, _>>()?;
        for therapist in therapists {
            let opening = Opening {
                kind: OpeningKind::Slot { therapist },
                interval,
                timezone: session.timezone.clone(),
                modality: Some(session.modality.as_str().to_owned()),
            };
            freed::record(tx, org, &opening, Cause::MovedEarlier, None, now).await?;
        }
        drafts.push(
            AuditDraft::new("session.cancel", "session", later)
                .subject(offer.client_id)
                .details(json!({ "reason": "moved earlier", "offer": offer.id })),
        );
    }
    Ok(())
}
