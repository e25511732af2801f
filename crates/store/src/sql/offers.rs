//! Offers: an exclusive, expiring hold of a freed seat or slot for one
//! waiting client. The client's time (and, for a slot, the therapist's) is
//! held through `busy.rs` as hold rows owned by the offer, so a public join
//! or booking cannot take it while the offer lives; accepting turns the
//! hold into a seat or a session in the same transaction that marks the
//! entry matched.

mod booking;
mod links;
mod pass;

use async_trait::async_trait;
use circles_domain::ids::{OfferId, OrgId};
use circles_domain::waitlist::{EntryStatus, OfferEvent, OfferStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::rows::freed::{self, Cause, Opening, OpeningKind};
use super::rows::matching::{self};
use super::rows::offers::{close_offer, fetch_opening, offer_to};
use super::rows::waitlist::{fetch_entry, fetch_offer, fetch_offers};
use super::{SqlStore, read_tx, write_tx};
use crate::model::{Acceptance, AuditCtx, EntryMatch, Keyset, NewOffer, Offer, OfferFilter, PassReport, Place};
use crate::sql::rows::statuses::OPENING_FILLED;
use crate::{OfferStore, Result, StoreError};
use booking::{book, release_later};

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
async fn accept_in<E: Executor>(
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
        sql(format!(
            "UPDATE waitlist_openings SET status = {OPENING_FILLED}, closed_at = $3 WHERE org_id = $1 AND id = $2"
        ))
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
async fn close_in<E: Executor>(
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
                    super::rows::sessions::lock_session(&mut tx, dialect, org, s, now).await?;
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

    async fn offers_page(
        &self,
        org: OrgId,
        filter: OfferFilter,
        page: Keyset<(Timestamp, OfferId)>,
    ) -> Result<Vec<Offer>> {
        let now = self.clock.now();
        read_tx!(self, |tx| fetch_offers(&mut tx, org, &filter, &page, now).await?)
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
        pass::run(self, grace, sweep).await
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
