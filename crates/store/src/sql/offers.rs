//! Offers: an exclusive, expiring hold of a freed seat or slot for one
//! waiting client. The client's time (and, for a slot, the therapist's) is
//! held through `busy.rs` as hold rows owned by the offer, so a public join
//! or booking cannot take it while the offer lives; accepting turns the
//! hold into a seat or a session in the same transaction that marks the
//! entry matched.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{HoldId, OfferId, OpeningId, OrgId, PersonId, SessionId, WaitlistEntryId};
use circles_domain::session::NotificationKind;
use circles_domain::waitlist::{EntryStatus, OfferEvent, OfferStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, Owner};
use super::db::{Backend, Executor, Row, sql};
use super::freed::{self, Cause, Opening, OpeningKind};
use super::matching::{self, PlaceInfo};
use super::notify::{self, Notice};
use super::offer_booking::{book, release_later};
use super::waitlist_rows::{fetch_entry, fetch_offer, fetch_offers, place_of};
use super::{SqlStore, read_tx, write_tx};
use crate::model::{Acceptance, AuditCtx, EntryMatch, NewOffer, Offer, OfferFilter, PassReport, Place};
use crate::{OfferStore, Result, StoreError};

/// A stored opening, as the offer use cases need it.
#[derive(Debug, Clone)]
pub(super) struct OpeningRow {
    pub id: OpeningId,
    pub place: Place,
    pub hold: HoldId,
    pub status: String,
}

pub(super) async fn fetch_opening<E: Executor>(tx: &mut E, org: OrgId, id: OpeningId) -> Result<OpeningRow> {
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
pub(super) async fn freed_place<E: Executor>(tx: &mut E, org: OrgId, session: SessionId) -> Result<Place> {
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

pub(super) fn local(at: Timestamp, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(tz).strftime("%a %-d %b %Y at %H:%M %Z").to_string()
}

/// Sends one offer of `opening` to `candidate`'s client, holding their time
/// (and a slot's therapist) until `expires_at`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn offer_to<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
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
    tx.execute(
        sql("UPDATE waitlist_entries SET status = $3, offer_count = offer_count + 1, updated_at = $4 \
             WHERE org_id = $1 AND id = $2")
        .bind(org)
        .bind(entry.id)
        .bind(EntryStatus::Offered.as_str())
        .bind(now),
    )
    .await?;
    tx.execute(
        sql("UPDATE waitlist_openings SET status = 'OFFERING' WHERE org_id = $1 AND id = $2")
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
pub(super) async fn close_offer<E: Executor>(
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
            sql("UPDATE waitlist_openings SET status = 'WAITING', ready_at = $3 WHERE org_id = $1 AND id = $2")
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
pub(super) async fn withdraw_entry_offers<E: Executor>(
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

/// Locks an offer and reads it as the clock has it.
async fn lock_offer<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
    org: OrgId,
    id: OfferId,
    now: Timestamp,
) -> Result<Offer> {
    if !super::db::lock_row(tx, dialect, "waitlist_offers", org, id).await? {
        return Err(StoreError::NotFound("offer"));
    }
    fetch_offer(tx, org, id, now).await
}

fn refuse(offer: &Offer, event: OfferEvent) -> Result<()> {
    offer.status.after(event).map(|_| ()).map_err(|(code, message)| StoreError::conflict(code, message))
}

/// Accepts live offer `id` in the caller's transaction: books what it
/// holds, marks the entry matched and the opening filled, and withdraws
/// the other offers of the same place. The caller audits `drafts`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn accept_in<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
    org: OrgId,
    id: OfferId,
    how: &Acceptance,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<Offer> {
    let offer = lock_offer(tx, dialect, org, id, now).await?;
    refuse(&offer, OfferEvent::Accept)?;
    if let Some(later) = how.release {
        release_later(tx, dialect, org, &offer, later, now, drafts).await?;
    }
    let session = book(tx, dialect, org, &offer, now, drafts).await?;
    tx.execute(
        sql("UPDATE waitlist_offers SET status = $3, session_id = $4, answered_at = $5 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .bind(OfferStatus::Accepted.as_str())
            .bind(session)
            .bind(now),
    )
    .await?;
    tx.execute(
        sql("UPDATE waitlist_entries SET status = $3, matched_session_id = $4, matched_at = $5, closed_at = $5, \
             updated_at = $5 WHERE org_id = $1 AND id = $2")
        .bind(org)
        .bind(offer.entry_id)
        .bind(EntryStatus::Matched.as_str())
        .bind(session)
        .bind(now),
    )
    .await?;
    tx.execute(
        sql("UPDATE waitlist_openings SET status = 'FILLED', closed_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(offer.opening_id)
            .bind(now),
    )
    .await?;
    // First to accept wins: the others' offers of this seat go at once.
    let others = tx
        .fetch_all(
            sql("SELECT id FROM waitlist_offers WHERE org_id = $1 AND opening_id = $2 AND status = $3 AND id <> $4")
                .bind(org)
                .bind(offer.opening_id)
                .bind(OfferStatus::Live.as_str())
                .bind(id),
        )
        .await?
        .iter()
        .map(|r| r.id("id"))
        .collect::<Result<Vec<OfferId>, _>>()?;
    for other in others {
        let other = fetch_offer(tx, org, other, now).await?;
        let status = if other.status == OfferStatus::Expired { OfferStatus::Expired } else { OfferStatus::Withdrawn };
        close_offer(tx, org, &other, status, Some("another client took the place".into()), now, drafts).await?;
    }
    drafts.push(
        AuditDraft::new("waitlist.offer.accept", "offer", id)
            .subject(offer.client_id)
            .details(json!({ "entry": offer.entry_id, "session": session, "released": how.release })),
    );
    fetch_offer(tx, org, id, now).await
}

/// Declines or withdraws live offer `id` in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(super) async fn close_in<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
    org: OrgId,
    id: OfferId,
    event: OfferEvent,
    reason: Option<String>,
    now: Timestamp,
    drafts: &mut Vec<AuditDraft>,
) -> Result<Offer> {
    let offer = lock_offer(tx, dialect, org, id, now).await?;
    refuse(&offer, event)?;
    let status = offer.status.after(event).expect("a live offer closes");
    close_offer(tx, org, &offer, status, reason, now, drafts).await?;
    fetch_offer(tx, org, id, now).await
}

#[async_trait]
impl<B: Backend> OfferStore for SqlStore<B> {
    async fn send_offer(&self, ctx: &AuditCtx, org: OrgId, input: NewOffer) -> Result<Offer> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            if !super::db::lock_row(&mut tx, dialect, "waitlist_entries", org, input.entry_id).await? {
                return Err(StoreError::NotFound("waitlist entry"));
            }
            let settings = freed::settings(&mut tx, org).await?;
            let entry = fetch_entry(&mut tx, org, input.entry_id, &settings, now).await?;
            if entry.status != EntryStatus::Active {
                return Err(StoreError::conflict(
                    "entry_not_waiting",
                    format!("the entry is {}; only an active entry can be offered a place", entry.status),
                ));
            }
            match input.place {
                Place::Seat(s) => {
                    super::sessions::lock_session(&mut tx, dialect, org, s, now).await?;
                }
                Place::Membership(g) => {
                    super::db::lock_row(&mut tx, dialect, "groups", org, g).await?;
                }
                Place::Slot { .. } => {}
            }
            let info = matching::place_info(&mut tx, org, input.place, None, now).await?;
            if info.free <= 0 {
                return Err(StoreError::conflict("no_free_seat", "every seat is taken or held by a live offer"));
            }
            let fits = match (input.place, entry.target) {
                (Place::Seat(s), circles_domain::waitlist::Target::GroupSession(t)) => s == t,
                (Place::Seat(_), circles_domain::waitlist::Target::Group(g)) => info.group == Some(g),
                (Place::Membership(p), circles_domain::waitlist::Target::Group(g)) => {
                    p == g && matching::waits_on_roster(&mut tx, org, g, entry.client_id).await?
                }
                (Place::Slot { .. }, circles_domain::waitlist::Target::OneOnOne { therapist, .. }) => {
                    therapist.is_none_or(|t| info.therapists.contains(&t))
                }
                _ => false,
            };
            if !fits {
                return Err(StoreError::invalid("place", "is not what the entry waits for"));
            }
            let matched = circles_domain::waitlist_match::score(
                &settings.matching,
                &entry.preferences,
                &entry.priority,
                &info.opening(),
                now,
            );
            let opening = Opening {
                kind: match input.place {
                    Place::Seat(session) => OpeningKind::Seat { session, group: info.group },
                    Place::Slot { therapist, .. } => OpeningKind::Slot { therapist },
                    Place::Membership(group) => OpeningKind::Membership { group },
                },
                interval: info.interval,
                timezone: info.timezone.clone(),
                modality: info.modality.clone(),
            };
            let opening_id =
                freed::record(&mut tx, org, &opening, Cause::StaffOffer, Some(jiff::SignedDuration::ZERO), now).await?;
            let opening = fetch_opening(&mut tx, org, opening_id).await?;
            let expires_at = now + input.expires_in.unwrap_or_else(|| settings.offer_expiry());
            let mut drafts = Vec::new();
            let candidate = EntryMatch { entry, matched };
            let id = offer_to(
                &mut tx,
                dialect,
                org,
                &opening,
                &info,
                &candidate,
                expires_at,
                ctx.person_id,
                now,
                &mut drafts,
            )
            .await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch_offer(&mut tx, org, id, now).await?
        })
    }

    async fn offers(&self, org: OrgId, filter: OfferFilter) -> Result<Vec<Offer>> {
        let now = self.clock.now();
        read_tx!(self, |tx| fetch_offers(&mut tx, org, &filter, now).await?)
    }

    async fn offer(&self, org: OrgId, id: OfferId) -> Result<Offer> {
        let now = self.clock.now();
        read_tx!(self, |tx| fetch_offer(&mut tx, org, id, now).await?)
    }

    async fn accept_offer(&self, ctx: &AuditCtx, org: OrgId, id: OfferId, how: Acceptance) -> Result<Offer> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let offer = write_tx!(self, |tx| {
            let mut drafts = Vec::new();
            let offer = accept_in(&mut tx, dialect, org, id, &how, now, &mut drafts).await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            offer
        })?;
        if how.release.is_some() {
            self.freed.notify_one();
        }
        Ok(offer)
    }

    async fn decline_offer(&self, ctx: &AuditCtx, org: OrgId, id: OfferId, reason: Option<String>) -> Result<Offer> {
        self.close(ctx, org, id, OfferEvent::Decline, reason).await
    }

    async fn withdraw_offer(&self, ctx: &AuditCtx, org: OrgId, id: OfferId) -> Result<Offer> {
        self.close(ctx, org, id, OfferEvent::Withdraw, Some("withdrawn by staff".into())).await
    }

    async fn waitlist_pass(&self, grace: Option<jiff::SignedDuration>, sweep: bool) -> Result<PassReport> {
        super::waitlist_pass::run(self, grace, sweep).await
    }

    async fn opening_recorded(&self) {
        self.freed.notified().await;
    }
}

impl<B: Backend> SqlStore<B> {
    async fn close(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: OfferId,
        event: OfferEvent,
        reason: Option<String>,
    ) -> Result<Offer> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let offer = write_tx!(self, |tx| {
            let mut drafts = Vec::new();
            let offer = close_in(&mut tx, dialect, org, id, event, reason.clone(), now, &mut drafts).await?;
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            offer
        })?;
        self.freed.notify_one();
        Ok(offer)
    }
}
