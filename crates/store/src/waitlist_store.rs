//! The waitlist use cases: entries and their order, freed seats and slots,
//! suggestions, exclusive expiring offers, and the matching pass.

use async_trait::async_trait;
use circles_domain::ids::{OfferId, OrgId, SessionId};
use circles_domain::waitlist::WaitlistSettings;
use jiff::{SignedDuration, Timestamp};

use crate::Result;
use crate::model::{
    Acceptance, AuditCtx, Entry, EntryFilter, EntryId, EntryMatch, EntryUpdate, FreedPlace, Keyset, LinkAnswer,
    NewEntry, NewOffer, Offer, OfferFilter, PassReport, PlaceMatch, ServingKey, WaitlistStats,
};

#[async_trait]
pub trait WaitlistStore: Send + Sync {
    /// The organisation's waitlist settings (the defaults until changed).
    async fn waitlist_settings(&self, org: OrgId) -> Result<WaitlistSettings>;
    async fn set_waitlist_settings(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        settings: WaitlistSettings,
    ) -> Result<WaitlistSettings>;
    /// Puts a client on a waitlist; a second waiting entry for the same
    /// target is `duplicate_entry`.
    async fn create_entry(&self, ctx: &AuditCtx, org: OrgId, input: NewEntry) -> Result<Entry>;
    /// Entries in priority order (pins, score, earlier entry).
    /// Entries in serving order.
    async fn entries(&self, ctx: &AuditCtx, org: OrgId, filter: EntryFilter) -> Result<Vec<Entry>> {
        self.entries_page(ctx, org, filter, Keyset::all()).await
    }
    /// A page of [`WaitlistStore::entries`]: those served after `page.after`.
    async fn entries_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        filter: EntryFilter,
        page: Keyset<ServingKey>,
    ) -> Result<Vec<Entry>>;
    async fn entry(&self, ctx: &AuditCtx, org: OrgId, id: EntryId) -> Result<Entry>;
    async fn update_entry(&self, ctx: &AuditCtx, org: OrgId, id: EntryId, update: EntryUpdate) -> Result<Entry>;
    /// Takes the client off the list; a live offer of theirs is withdrawn.
    async fn cancel_entry(&self, ctx: &AuditCtx, org: OrgId, id: EntryId) -> Result<Entry>;
    /// The best `limit` seats or slots for an entry, with their matches.
    async fn entry_suggestions(&self, org: OrgId, id: EntryId, limit: usize) -> Result<Vec<PlaceMatch>>;
    /// The best `limit` waiting entries for a free seat on `session` (a
    /// group session) or for the slot a cancelled one-on-one `session` left.
    async fn freed_suggestions(&self, org: OrgId, session: SessionId, limit: usize) -> Result<Vec<EntryMatch>>;
    /// Freed seats and slots no offer went out for (every one in manual
    /// mode), still free and to come and suiting someone waiting, soonest
    /// first — at most `limit`, each with its best `per_place` waiting
    /// entries — for staff to offer.
    async fn freed_places(&self, org: OrgId, limit: usize, per_place: usize) -> Result<Vec<FreedPlace>>;
    async fn waitlist_stats(&self, org: OrgId) -> Result<WaitlistStats>;
}

#[async_trait]
pub trait OfferStore: Send + Sync {
    /// Offers a seat or slot to an entry's client: holds it for them alone
    /// until it is answered or lapses.
    async fn send_offer(&self, ctx: &AuditCtx, org: OrgId, input: NewOffer) -> Result<Offer>;
    /// Offers, newest first.
    async fn offers(&self, org: OrgId, filter: OfferFilter) -> Result<Vec<Offer>> {
        self.offers_page(org, filter, Keyset::all()).await
    }
    /// A page of [`OfferStore::offers`]: newest first, then by id.
    async fn offers_page(
        &self,
        org: OrgId,
        filter: OfferFilter,
        page: Keyset<(Timestamp, OfferId)>,
    ) -> Result<Vec<Offer>>;
    async fn offer(&self, org: OrgId, id: OfferId) -> Result<Offer>;
    /// Books the seat or slot and marks the entry matched, in one
    /// transaction; withdraws the other offers of the same seat.
    async fn accept_offer(&self, ctx: &AuditCtx, org: OrgId, id: OfferId, how: Acceptance) -> Result<Offer>;
    async fn decline_offer(&self, ctx: &AuditCtx, org: OrgId, id: OfferId, reason: Option<String>) -> Result<Offer>;
    async fn withdraw_offer(&self, ctx: &AuditCtx, org: OrgId, id: OfferId) -> Result<Offer>;
    /// Expires lapsed offers and offers freed seats and slots whose grace
    /// delay is over (`grace` overrides every organisation's delay). With
    /// `sweep`, first looks for free seats that no event recorded.
    async fn waitlist_pass(&self, grace: Option<SignedDuration>, sweep: bool) -> Result<PassReport>;
    /// Resolves when a seat or slot has freed since the last call (on this
    /// server), so the worker can offer it without polling.
    async fn opening_recorded(&self);
}

/// One-time links in offer e-mails: they answer an offer without signing
/// in. Only a hash of each link's token is stored; a link works once, and
/// not after its offer closes or would have expired.
#[async_trait]
pub trait OfferLinkStore: Send + Sync {
    /// Records a link to `offer` by its token's hash. `false` (nothing
    /// recorded) when the offer is no longer live: the message goes without.
    async fn create_offer_link(&self, org: OrgId, offer: OfferId, token_hash: &str) -> Result<bool>;
    /// The offer a usable link answers (audited as a read of the client's
    /// record); `NotFound` for an unknown, used or lapsed link.
    async fn offer_by_link(&self, org: OrgId, token_hash: &str) -> Result<Offer>;
    /// Answers the offer as its client and uses the link up, in one
    /// transaction.
    async fn answer_offer_link(&self, org: OrgId, token_hash: &str, answer: LinkAnswer) -> Result<Offer>;
}
