//! Waitlist offers under contention: parallel offers accepted at once, an
//! accept at the instant of expiry, and random sequences of events.

use std::collections::BTreeSet;

use circles_domain::ids::SessionId;
use circles_domain::waitlist::{OfferMode, OfferStatus, Target, Urgency, WaitlistSettings};
use circles_store::model::{Acceptance, AuditCtx, OfferFilter, SessionView};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Clinic, Harness};
use crate::waitlist::{entry, full_group_session};

backend_tests!(
    parallel_offers_accepted_at_once_book_exactly_one_seat,
    an_offer_accepted_at_the_instant_it_expires_is_booked_or_expired_never_both,
    random_event_sequences_never_double_book_and_offer_the_best,
    a_group_that_sets_its_own_offer_mode_is_offered_its_way,
);

async fn live(h: &Harness, c: &Clinic) -> Vec<circles_store::model::Offer> {
    h.store.offers(c.org, OfferFilter { status: Some(OfferStatus::Live), client: None }).await.unwrap()
}

async fn seated(h: &Harness, c: &Clinic, session: SessionId) -> BTreeSet<circles_domain::ids::PersonId> {
    let s = h.store.session(&AuditCtx::operator(), c.org, session, SessionView::Staff).await.unwrap();
    s.seats.iter().filter(|s| s.status.holds_time()).map(|s| s.client_id).collect()
}

async fn parallel_offers_accepted_at_once_book_exactly_one_seat(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("k", 5).await;
    let ctx = AuditCtx::operator();
    let settings = WaitlistSettings { mode: OfferMode::Parallel { k: 3 }, ..Default::default() };
    h.store.set_waitlist_settings(&ctx, c.org, settings).await.unwrap();
    let (group, session) = full_group_session(&h, &c, 2, 5).await;
    for &client in &c.clients[2..] {
        h.store.create_entry(&ctx, c.org, entry(client, Target::Group(group), Urgency::Medium)).await.unwrap();
    }
    h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    assert_eq!(h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap().offers_sent, 3);
    let offers = live(&h, &c).await;
    assert_eq!(offers.len(), 3);
    let accepts = offers.iter().map(|o| {
        let store = h.store.clone();
        let (org, id) = (c.org, o.id);
        tokio::spawn(async move { store.accept_offer(&AuditCtx::operator(), org, id, Acceptance::default()).await })
    });
    let results: Vec<_> = futures_join(accepts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert_eq!(seated(&h, &c, session).await.len(), 2, "capacity two: one seat refilled, once");
    let statuses: Vec<OfferStatus> =
        h.store.offers(c.org, OfferFilter::default()).await.unwrap().iter().map(|o| o.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == OfferStatus::Accepted).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == OfferStatus::Withdrawn).count(), 2);
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn futures_join<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

async fn an_offer_accepted_at_the_instant_it_expires_is_booked_or_expired_never_both(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("x", 3).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 1, 5).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[1], Target::Group(group), Urgency::High)).await.unwrap();
    for round in 0..3 {
        h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.ok();
        h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
        let offer = live(&h, &c).await.remove(0);
        // One microsecond before, at, and after the expiry instant.
        h.clock.set(offer.expires_at + SignedDuration::from_micros(round - 1));
        let store = h.store.clone();
        let org = c.org;
        let accept = tokio::spawn(async move {
            store.accept_offer(&AuditCtx::operator(), org, offer.id, Acceptance::default()).await
        });
        let store = h.store.clone();
        let pass = tokio::spawn(async move { store.waitlist_pass(None, false).await });
        let accepted = accept.await.unwrap();
        pass.await.unwrap().unwrap();
        let after = h.store.offer(c.org, offer.id).await.unwrap();
        let booked = seated(&h, &c, session).await.contains(&c.clients[1]);
        match after.status {
            OfferStatus::Accepted => assert!(booked && accepted.is_ok() && round == 0),
            OfferStatus::Expired => assert!(!booked && accepted.is_err() && round > 0),
            other => panic!("round {round}: {other}"),
        }
        // Reset: the client leaves again and the seat returns to the list.
        if booked {
            h.store.leave_session(&ctx, c.org, session, c.clients[1]).await.unwrap();
            h.store.join_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
            h.store.create_entry(&ctx, c.org, entry(c.clients[1], Target::Group(group), Urgency::High)).await.unwrap();
        } else {
            h.store.join_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
        }
        h.clock.advance(SignedDuration::from_mins(1));
        h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    }
}

/// A small deterministic generator, so a failing sequence can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

async fn random_event_sequences_never_double_book_and_offer_the_best(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 7).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 3, 10).await;
    let urgencies = [Urgency::Low, Urgency::Medium, Urgency::High, Urgency::Urgent];
    let mut rng = Lcg(0x5eed);
    for step in 0..60 {
        let who = c.clients[rng.below(c.clients.len())];
        match rng.below(7) {
            0 => drop(h.store.leave_session(&ctx, c.org, session, who).await),
            1 => drop(h.store.join_session(&ctx, c.org, session, who).await),
            2 => {
                let u = urgencies[rng.below(4)];
                drop(h.store.create_entry(&ctx, c.org, entry(who, Target::Group(group), u)).await);
            }
            3 => {
                let before = h.store.freed_suggestions(c.org, session, 10).await.unwrap();
                let known: BTreeSet<_> =
                    h.store.offers(c.org, OfferFilter::default()).await.unwrap().iter().map(|o| o.id).collect();
                let report = h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
                let all = h.store.offers(c.org, OfferFilter::default()).await.unwrap();
                let new: Vec<_> = all.iter().filter(|o| !known.contains(&o.id)).collect();
                assert_eq!(new.len() as u64, report.offers_sent);
                if let [offer] = new.as_slice() {
                    // Clients already offered this seat are not asked again.
                    let asked: BTreeSet<_> = all
                        .iter()
                        .filter(|o| o.opening_id == offer.opening_id && o.id != offer.id)
                        .map(|o| o.client_id)
                        .collect();
                    let best =
                        before.iter().find(|m| !asked.contains(&m.entry.client_id)).expect("someone was eligible");
                    assert_eq!(offer.entry_id, best.entry.id, "step {step}: the offer went to the best eligible entry");
                }
            }
            4 | 5 => {
                let offers = live(&h, &c).await;
                if !offers.is_empty() {
                    let o = &offers[rng.below(offers.len())];
                    if rng.below(2) == 0 {
                        drop(h.store.accept_offer(&ctx, c.org, o.id, Acceptance::default()).await);
                    } else {
                        drop(h.store.decline_offer(&ctx, c.org, o.id, None).await);
                    }
                }
            }
            _ => h.clock.advance(SignedDuration::from_mins(rng.below(200) as i64)),
        }
        // Invariants after every event.
        assert_eq!(h.overlapping_busy_pairs().await, 0, "step {step}");
        let seats = seated(&h, &c, session).await;
        let offers = live(&h, &c).await;
        assert!(seats.len() + offers.len() <= 3, "step {step}: {} seated, {} offered", seats.len(), offers.len());
        for o in &offers {
            assert!(!seats.contains(&o.client_id), "step {step}: offered a seat they already have");
        }
    }
}

/// The organisation offers one at a time; one group offers to two at once,
/// another leaves freed seats to staff.
async fn a_group_that_sets_its_own_offer_mode_is_offered_its_way(backend: Backend) {
    use circles_store::model::GroupUpdate;
    let h = Harness::new(backend).await;
    let c = h.clinic("m", 5).await;
    let ctx = AuditCtx::operator();
    let set_mode = async |group, mode| {
        let mut fields = h.store.group(c.org, group).await.unwrap().fields;
        fields.settings.offer_mode = mode;
        let update = GroupUpdate { fields, moderator_ids: None, facilitator_ids: None };
        h.store.update_group(&ctx, c.org, group, update).await.unwrap();
    };
    let (group, session) = full_group_session(&h, &c, 2, 5).await;
    for &client in &c.clients[2..] {
        h.store.create_entry(&ctx, c.org, entry(client, Target::Group(group), Urgency::Medium)).await.unwrap();
    }
    set_mode(group, Some(OfferMode::Parallel { k: 2 })).await;
    h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    assert_eq!(h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap().offers_sent, 2);
    assert_eq!(live(&h, &c).await.len(), 2, "the group's two at once, not the organisation's one");

    let (manual, manual_session) = full_group_session(&h, &c, 2, 9).await;
    for &client in &c.clients[2..] {
        h.store.create_entry(&ctx, c.org, entry(client, Target::Group(manual), Urgency::Medium)).await.unwrap();
    }
    set_mode(manual, Some(OfferMode::Manual)).await;
    h.store.leave_session(&ctx, c.org, manual_session, c.clients[1]).await.unwrap();
    assert_eq!(h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap().offers_sent, 0);
    assert_eq!(live(&h, &c).await.len(), 2, "a manual group's freed seat waits for staff");

    set_mode(manual, None).await;
    assert_eq!(h.store.group(c.org, manual).await.unwrap().fields.settings.offer_mode, None);
}
