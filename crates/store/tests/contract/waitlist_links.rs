//! One-time offer links: recorded by their token's hash, read without
//! acting, used up by the answer, and dead once the offer closes or lapses.

use circles_domain::waitlist::{OfferStatus, Target, Urgency};
use circles_store::StoreError;
use circles_store::model::{AuditCtx, LinkAnswer, Offer, OfferFilter};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Clinic, Harness};
use crate::waitlist::{entry, full_group_session};

backend_tests!(
    an_offer_link_accepts_once_and_reading_it_acts_on_nothing,
    an_offer_link_declines_and_dies_with_its_offer
);

fn gone<T: std::fmt::Debug>(result: circles_store::Result<T>) -> bool {
    matches!(result, Err(StoreError::NotFound(_)))
}

/// A full session with two clients waiting for its group; a seat frees and
/// the urgent one (clients[2]) is offered it.
async fn offered(h: &Harness, c: &Clinic) -> (circles_domain::ids::SessionId, Offer) {
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(h, c, 2, 7).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::Urgent)).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[3], Target::Group(group), Urgency::Low)).await.unwrap();
    h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let live = h.store.offers(c.org, OfferFilter { status: Some(OfferStatus::Live), client: None }).await.unwrap();
    assert_eq!(live[0].client_id, c.clients[2]);
    (session, live[0].clone())
}

async fn an_offer_link_accepts_once_and_reading_it_acts_on_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("la", 4).await;
    let (session, offer) = offered(&h, &c).await;
    assert!(h.store.create_offer_link(c.org, offer.id, "hash-a").await.unwrap());

    let seen = h.store.offer_by_link(c.org, "hash-a").await.unwrap();
    assert_eq!((seen.id, seen.status), (offer.id, OfferStatus::Live), "reading answers nothing");
    assert!(gone(h.store.offer_by_link(c.org, "hash-unknown").await));
    let (elsewhere, _) = h.org("la-other").await;
    assert!(gone(h.store.offer_by_link(elsewhere.id, "hash-a").await), "another organisation has no such link");

    let accepted = h.store.answer_offer_link(c.org, "hash-a", LinkAnswer::Accept).await.unwrap();
    assert_eq!((accepted.status, accepted.session_id), (OfferStatus::Accepted, Some(session)));
    assert!(gone(h.store.answer_offer_link(c.org, "hash-a", LinkAnswer::Accept).await), "a link works once");
    assert!(gone(h.store.offer_by_link(c.org, "hash-a").await));
    assert!(!h.store.create_offer_link(c.org, offer.id, "hash-b").await.unwrap(), "no link to a closed offer");

    let events = h.store.audit_events(c.org, Some(c.clients[2]), 50).await.unwrap();
    let accept = events.iter().find(|e| e.action == "waitlist.offer.accept").expect("the accept is audited");
    assert_eq!(accept.actor_person_id, Some(c.clients[2]), "the client acted, through the link");
    assert!(events.iter().any(|e| e.action == "waitlist.offer.read"), "reading the offer is audited");
    assert!(events.iter().any(|e| e.action == "waitlist.offer.link"));
    let stored: i64 =
        h.db.scalar(
            "SELECT COUNT(*) FROM offer_links WHERE token_hash = 'hash-a' /* spans organisations: a test database */",
        )
        .await;
    assert_eq!(stored, 1, "only the hash is stored, as given");
}

async fn an_offer_link_declines_and_dies_with_its_offer(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("ld", 4).await;
    let (_, offer) = offered(&h, &c).await;
    h.store.create_offer_link(c.org, offer.id, "hash-d").await.unwrap();
    let answer = LinkAnswer::Decline { reason: Some("I moved away".into()) };
    let declined = h.store.answer_offer_link(c.org, "hash-d", answer).await.unwrap();
    assert_eq!((declined.status, declined.decline_reason.as_deref()), (OfferStatus::Declined, Some("I moved away")));

    // The seat moves on; the next client's link lapses with their offer.
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let next = h.store.offers(c.org, OfferFilter { status: Some(OfferStatus::Live), client: None }).await.unwrap();
    assert_eq!(next[0].client_id, c.clients[3]);
    h.store.create_offer_link(c.org, next[0].id, "hash-e").await.unwrap();
    h.clock.advance(SignedDuration::from_hours(2) + SignedDuration::from_secs(1));
    assert!(gone(h.store.offer_by_link(c.org, "hash-e").await));
    assert!(gone(h.store.answer_offer_link(c.org, "hash-e", LinkAnswer::Accept).await));
}
