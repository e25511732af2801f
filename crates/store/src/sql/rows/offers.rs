//! Offer rows and the two moves every offer path shares: sending an
//! offer (holding the client's time) and closing one (giving it back).
//! Used by the offer and waitlist use cases and the waitlist pass.

use circles_domain::Role;
use circles_domain::ids::{HoldId, OfferId, OpeningId, OrgId, PersonId, SessionId, WaitlistEntryId};
use circles_domain::session::NotificationKind;
use circles_domain::waitlist::{EntryStatus, OfferStatus};
use jiff::Timestamp;
use serde_json::json;

use crate::model::{EntryMatch, Offer, Place};
use crate::sql::audit::AuditDraft;
use crate::sql::busy::{self, Claim, Owner};
use crate::sql::db::{DbError, Executor, Row, sql};
use crate::sql::notify::{self, Notice};
use crate::sql::rows::matching::{self, PlaceInfo};
use crate::sql::rows::statuses::{OPENING_OFFERING, OPENING_WAITING};
use crate::sql::rows::waitlist::{fetch_offer, place_of};
use crate::{Result, StoreError};

/// A stored opening, as the offer use cases need it.
#[derive(Debug, Clone)]
pub(crate) struct OpeningRow {
    pub id: OpeningId,
    pub place: Place,
    pub hold: HoldId,
    pub status: String,
}

pub(crate) async fn fetch_opening<E: Executor>(tx: &mut E, org: OrgId, id: OpeningId) -> Result<OpeningRow> {
    let row =
        tx.fetch_one(sql("SELECT * FROM waitlist_openings WHERE org_id = $1 AND id = $2").bind(org).bind(id)).await?;
    let place = place_of(&row.text("kind")?, row.opt_id("session_id")?, row.opt_id("group_id")?, || {
        Ok(Place::Slot {
            therapist: row.id("therapist_id")?,
            starts_at: row.time("starts_at")?,
            ends_at: row.time("ends_at")?,
        })
    })?;
    Ok(OpeningRow { id, place, hold: row.id("hold_id")?, status: row.text("status")? })
}

/// The place a freed `session` stands for: a seat if it is a group session,
/// otherwise the slot its therapist has back.
pub(crate) async fn freed_place<E: Executor>(tx: &mut E, org: OrgId, session: SessionId) -> Result<Place> {
    let row = tx
        .fetch_optional(
            sql("SELECT s.group_id, s.starts_at, s.ends_at, \
                 (SELECT t.therapist_id FROM session_therapists t WHERE t.org_id = s.org_id AND t.session_id = s.id \
                   ORDER BY t.therapist_id LIMIT 1) \
                   AS therapist_id \
                 FROM sessions s WHERE s.org_id = $1 AND s.id = $2")
            .bind(org)
            .bind(session),
        )
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    if row.opt_id::<circles_domain::ids::GroupId>("group_id")?.is_some() {
        return Ok(Place::Seat(session));
    }
    let therapist: PersonId = row
        .opt_id("therapist_id")?
        .ok_or_else(|| StoreError::conflict("not_offerable", "the session has no therapist whose time freed"))?;
    Ok(Place::Slot { therapist, starts_at: row.time("starts_at")?, ends_at: row.time("ends_at")? })
}

pub(crate) fn local(at: Timestamp, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(tz).strftime("%a %-d %b %Y at %H:%M %Z").to_string()
}

/// Sends one offer of `opening` to `candidate`'s client, holding their time
/// (and a slot's therapist) until `expires_at`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn offer_to<E: Executor>(
    tx: &mut E,
    dialect: crate::sql::db::Dialect,
    org: OrgId,
    opening: &OpeningRow,
    info: &PlaceInfo,
    candidate: &EntryMatch,
    expires_at: Timestamp,
    created_by: Option<PersonId>,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<OfferId> {
    let entry = &candidate.entry;
    let id = OfferId::new();
    let hold = HoldId::new();
    let interval = matching::booked_interval(info, entry);
    let mut people = Vec::new();
    let mut claims = Vec::new();
    // A place in a group holds none of the client's time; a seat or slot does.
    if !matches!(opening.place, Place::Membership(_)) {
        people.push((entry.client_id, Role::Client, "client_id"));
        claims.push(Claim { person: entry.client_id, interval, owner: Owner::Hold { hold, expires_at } });
    }
    if let Place::Slot { therapist, .. } = opening.place {
        people.push((therapist, Role::Therapist, "therapist_id"));
        // Parallel offers of one slot share the therapist's hold, which
        // lasts as long as the longest of them.
        tx.execute(sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id = $2").bind(org).bind(opening.hold))
            .await?;
        let latest = tx
            .fetch_one(
                sql("SELECT MAX(expires_at) AS latest FROM waitlist_offers WHERE org_id = $1 AND opening_id = $2 \
                     AND status = $3 AND expires_at > $4")
                .bind(org)
                .bind(opening.id)
                .bind(OfferStatus::Live.as_str())
                .bind(now),
            )
            .await?
            .opt_time("latest")?;
        let until = latest.map_or(expires_at, |l| l.max(expires_at));
        claims.push(Claim {
            person: therapist,
            interval: info.interval,
            owner: Owner::Hold { hold: opening.hold, expires_at: until },
        });
    }
    if !claims.is_empty() {
        busy::lock_people(tx, dialect, org, &people).await?;
        busy::claim(tx, org, &claims, now, drafts).await?;
    }
    tx.execute(
        sql("INSERT INTO waitlist_offers (org_id, id, entry_id, opening_id, client_id, hold_id, starts_at, ends_at, \
             status, expires_at, match_score, reasons, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(org)
        .bind(id)
        .bind(entry.id)
        .bind(opening.id)
        .bind(entry.client_id)
        .bind(hold)
        .bind(interval.start)
        .bind(interval.end)
        .bind(OfferStatus::Live.as_str())
        .bind(expires_at)
        .bind(candidate.matched.score)
        .bind(serde_json::to_string(&candidate.matched.reasons).expect("reasons serialise"))
        .bind(created_by)
        .bind(now),
    )
    .await?;
    // Only an active entry is offered a place. The matching pass chose this
    // one from what it read without locking it, so another server's pass may
    // have offered it another seat meanwhile: then this transaction starts
    // over and reads the entries again (the waiting row lock, or the commit
    // before it, makes the status here current).
    let offered = tx
        .execute(
            sql("UPDATE waitlist_entries SET status = $3, offer_count = offer_count + 1, updated_at = $4 \
                 WHERE org_id = $1 AND id = $2 AND status = $5")
            .bind(org)
            .bind(entry.id)
            .bind(EntryStatus::Offered.as_str())
            .bind(now)
            .bind(EntryStatus::Active.as_str()),
        )
        .await?;
    if offered == 0 {
        return Err(StoreError::Db(DbError::Retryable(format!(
            "waitlist entry {} was offered a place meanwhile",
            entry.id
        ))));
    }
    tx.execute(
        sql(format!("UPDATE waitlist_openings SET status = {OPENING_OFFERING} WHERE org_id = $1 AND id = $2"))
            .bind(org)
            .bind(opening.id),
    )
    .await?;
    let notice = Notice {
        kind: NotificationKind::WaitlistOffer,
        title: "A place is held for you",
        body: format!(
            "{} on {} is held for you until {}. Accept or decline the offer in Circles.",
            info.title,
            local(interval.start, &info.timezone),
            local(expires_at, &info.timezone)
        ),
        session: matching::seat_session(info.place),
        group: info.group,
    };
    notify::push_offer(tx, org, now, entry.client_id, id, &notice).await?;
    drafts.push(AuditDraft::new("waitlist.offer.send", "offer", id).subject(entry.client_id).details(json!({
        "entry": entry.id,
        "opening": opening.id,
        "starts_at": interval.start,
        "expires_at": expires_at,
        "match_score": candidate.matched.score,
        "reasons": candidate.matched.reasons,
    })));
    Ok(id)
}

/// Closes a live offer as `status` (declined, withdrawn or expired): its
/// holds go, its entry waits again (with a decline counted), and its opening
/// is offered on once no other offer of it lives.
pub(crate) async fn close_offer<E: Executor>(
    tx: &mut E,
    org: OrgId,
    offer: &Offer,
    status: OfferStatus,
    reason: Option<String>,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    let row = tx
        .fetch_one(sql("SELECT hold_id FROM waitlist_offers WHERE org_id = $1 AND id = $2").bind(org).bind(offer.id))
        .await?;
    let hold: HoldId = row.id("hold_id")?;
    tx.execute(sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id = $2").bind(org).bind(hold)).await?;
    tx.execute(
        sql("UPDATE waitlist_offers SET status = $3, decline_reason = $4, answered_at = $5 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(offer.id)
            .bind(status.as_str())
            .bind(reason.clone())
            .bind(now),
    )
    .await?;
    let declined = i64::from(status == OfferStatus::Declined);
    tx.execute(
        sql("UPDATE waitlist_entries SET status = $3, decline_count = decline_count + $4, updated_at = $5 \
             WHERE org_id = $1 AND id = $2 AND status = $6")
        .bind(org)
        .bind(offer.entry_id)
        .bind(status.entry_after().as_str())
        .bind(declined)
        .bind(now)
        .bind(EntryStatus::Offered.as_str()),
    )
    .await?;
    let opening = fetch_opening(tx, org, offer.opening_id).await?;
    let still_live = tx
        .fetch_one(
            sql("SELECT COUNT(*) AS live FROM waitlist_offers WHERE org_id = $1 AND opening_id = $2 AND status = $3 \
                 AND expires_at > $4")
            .bind(org)
            .bind(offer.opening_id)
            .bind(OfferStatus::Live.as_str())
            .bind(now),
        )
        .await?
        .int("live")?;
    if still_live == 0 && opening.status == "OFFERING" {
        tx.execute(sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id = $2").bind(org).bind(opening.hold))
            .await?;
        // Moves on at once: the grace delay was for the first freeing only.
        tx.execute(
            sql(format!(
                "UPDATE waitlist_openings SET status = {OPENING_WAITING}, ready_at = $3 WHERE org_id = $1 AND id = $2"
            ))
            .bind(org)
            .bind(opening.id)
            .bind(now),
        )
        .await?;
    }
    let action = match status {
        OfferStatus::Declined => "waitlist.offer.decline",
        OfferStatus::Expired => "waitlist.offer.expire",
        _ => "waitlist.offer.withdraw",
    };
    drafts.push(
        AuditDraft::new(action, "offer", offer.id)
            .subject(offer.client_id)
            .details(json!({ "entry": offer.entry_id, "reason": reason })),
    );
    if status != OfferStatus::Declined {
        let notice = Notice {
            kind: NotificationKind::WaitlistOfferClosed,
            title: "An offered place is no longer held for you",
            body: format!(
                "{} on {} is no longer held for you ({}). You stay on the waitlist.",
                offer.title,
                local(offer.starts_at, &offer.timezone),
                reason.as_deref().unwrap_or(if status == OfferStatus::Expired {
                    "the offer lapsed"
                } else {
                    "withdrawn"
                })
            ),
            session: matching::seat_session(offer.place),
            group: None,
        };
        notify::push(tx, org, now, [offer.client_id], None, &notice).await?;
    }
    Ok(())
}

/// Withdraws every live offer of an entry (the client left the list).
pub(crate) async fn withdraw_entry_offers<E: Executor>(
    tx: &mut E,
    org: OrgId,
    entry: WaitlistEntryId,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<()> {
    let ids = tx
        .fetch_all(
            sql("SELECT id FROM waitlist_offers WHERE org_id = $1 AND entry_id = $2 AND status = $3")
                .bind(org)
                .bind(entry)
                .bind(OfferStatus::Live.as_str()),
        )
        .await?
        .iter()
        .map(|r| r.id("id"))
        .collect::<Result<Vec<OfferId>, _>>()?;
    for id in ids {
        let offer = fetch_offer(tx, org, id, now).await?;
        let status = if offer.status == OfferStatus::Expired { OfferStatus::Expired } else { OfferStatus::Withdrawn };
        close_offer(tx, org, &offer, status, Some("the client left the waitlist".into()), now, drafts).await?;
    }
    Ok(())
}
