//! A full group's places go through the waitlist: enrolling in a full group
//! puts the client on its roster as waiting and on the waitlist, and a
//! freed place is offered (best priority first, not first come) and taken
//! by accepting.

use circles_domain::Clock;
use circles_domain::group::MembershipStatus;
use circles_domain::ids::{GroupId, MembershipId, PersonId};
use circles_domain::waitlist::{EntryStatus, OfferStatus, Target, Urgency};
use circles_store::model::{
    Acceptance, AuditCtx, EntryFilter, EntryUpdate, GroupUpdate, MembershipChange, Offer, OfferFilter, Place,
};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use jiff::tz::TimeZone;

use crate::support::{Clinic, Harness, conflict_code};

backend_tests!(
    enrolling_in_a_full_group_waits_on_the_roster_and_the_waitlist,
    a_freed_place_goes_to_the_best_placed_member_through_an_offer,
    a_declined_place_moves_on_and_a_raised_capacity_offers_more,
    the_sweep_finds_a_free_place_no_event_recorded,
);

struct Full {
    group: GroupId,
    members: Vec<MembershipId>,
}

/// A group of `capacity` with every clinic client enrolled in turn.
async fn full_group(h: &Harness, c: &Clinic, capacity: i64) -> Full {
    let ctx = AuditCtx::operator();
    let group = h.group(c.org, vec![c.therapist]).await;
    let mut fields = h.store.group(c.org, group).await.unwrap().fields;
    fields.capacity = Some(capacity);
    h.store
        .update_group(&ctx, c.org, group, GroupUpdate { fields, moderator_ids: None, facilitator_ids: None })
        .await
        .unwrap();
    let today = h.clock.now().to_zoned(TimeZone::UTC).date();
    let mut members = Vec::new();
    for &client in &c.clients {
        members.push(h.store.add_member(&ctx, c.org, group, client, today, None).await.unwrap().id);
        h.clock.advance(SignedDuration::from_hours(1));
    }
    Full { group, members }
}

async fn leave(h: &Harness, c: &Clinic, g: &Full, member: usize) -> u64 {
    let change = MembershipChange {
        status: Some(MembershipStatus::Inactive),
        leave_date: Some(h.clock.now().to_zoned(TimeZone::UTC).date()),
        exit_reason: Some("moved away".into()),
        screening: None,
    };
    h.store.update_member(&AuditCtx::operator(), c.org, g.group, g.members[member], change).await.unwrap().freed_places
}

async fn live(h: &Harness, c: &Clinic) -> Vec<Offer> {
    h.store.offers(c.org, OfferFilter { status: Some(OfferStatus::Live), client: None }).await.unwrap()
}

async fn status_of(h: &Harness, c: &Clinic, g: &Full, client: PersonId) -> MembershipStatus {
    let members = h.store.members(&AuditCtx::operator(), c.org, g.group).await.unwrap();
    members.iter().rev().find(|m| m.client_id == client).unwrap().status
}

async fn enrolling_in_a_full_group_waits_on_the_roster_and_the_waitlist(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("fe", 3).await;
    let g = full_group(&h, &c, 2).await;
    assert_eq!(status_of(&h, &c, &g, c.clients[2]).await, MembershipStatus::Waitlisted);
    let entries = h.store.entries(&AuditCtx::operator(), c.org, EntryFilter::default()).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].client_id, entries[0].target), (c.clients[2], Target::Group(g.group)));
    // Made active by staff, they no longer wait.
    let fields = h.store.group(c.org, g.group).await.unwrap().fields;
    let mut roomier = fields.clone();
    roomier.capacity = Some(5);
    h.store
        .update_group(
            &AuditCtx::operator(),
            c.org,
            g.group,
            GroupUpdate { fields: roomier, moderator_ids: None, facilitator_ids: None },
        )
        .await
        .unwrap();
    let offers = h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap().offers_sent;
    assert_eq!(offers, 1, "the raised capacity is offered to the waiting member");
    let change = MembershipChange {
        status: Some(MembershipStatus::Active),
        leave_date: None,
        exit_reason: None,
        screening: None,
    };
    let err = h.store.update_member(&AuditCtx::operator(), c.org, g.group, g.members[2], change.clone()).await;
    assert!(err.is_ok(), "{err:?}");
    let entry = h.store.entry(&AuditCtx::operator(), c.org, entries[0].id).await.unwrap();
    assert_eq!(entry.status, EntryStatus::Cancelled, "they no longer wait");
    let withdrawn =
        h.store.offers(c.org, OfferFilter { status: Some(OfferStatus::Withdrawn), client: None }).await.unwrap();
    assert_eq!(withdrawn.len(), 1, "their offer of a place went");
}

async fn a_freed_place_goes_to_the_best_placed_member_through_an_offer(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("fp", 5).await;
    let ctx = AuditCtx::operator();
    let g = full_group(&h, &c, 2).await;
    // clients[2] waited longest, but clients[3] is urgent.
    let entries =
        h.store.entries(&ctx, c.org, EntryFilter { client: Some(c.clients[3]), ..Default::default() }).await.unwrap();
    let urgent = EntryUpdate { urgency: Some(Urgency::Urgent), ..Default::default() };
    h.store.update_entry(&ctx, c.org, entries[0].id, urgent).await.unwrap();

    assert_eq!(leave(&h, &c, &g, 0).await, 1);
    assert_eq!(status_of(&h, &c, &g, c.clients[2]).await, MembershipStatus::Waitlisted, "no first-come promotion");
    assert_eq!(h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap().offers_sent, 1);
    let offers = live(&h, &c).await;
    assert_eq!((offers[0].client_id, offers[0].place), (c.clients[3], Place::Membership(g.group)));
    assert!(offers[0].reasons.iter().any(|r| r.contains("priority")), "{:?}", offers[0].reasons);

    // While the offer lives the place is held: a new enrolment waits.
    let late = h.person(c.org, "late@fp.example", circles_domain::Role::Client).await.id;
    let today = h.clock.now().to_zoned(TimeZone::UTC).date();
    let enrolled = h.store.add_member(&ctx, c.org, g.group, late, today, None).await.unwrap();
    assert_eq!(enrolled.status, MembershipStatus::Waitlisted);

    h.store.accept_offer(&ctx, c.org, offers[0].id, Acceptance::default()).await.unwrap();
    assert_eq!(status_of(&h, &c, &g, c.clients[3]).await, MembershipStatus::Active);
    assert_eq!(status_of(&h, &c, &g, c.clients[2]).await, MembershipStatus::Waitlisted);
    let matched = h.store.entry(&ctx, c.org, entries[0].id).await.unwrap();
    assert_eq!((matched.status, matched.matched_session_id), (EntryStatus::Matched, None));
    let inbox = h.store.notifications(c.org, c.clients[3], false, 10).await.unwrap();
    assert_eq!(inbox[0].title, "You are now an active member");
    let actions: Vec<String> =
        h.store.audit_events(c.org, Some(c.clients[3]), 50).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"membership.promote".to_owned()), "{actions:?}");
    // The group is full again: nothing more to offer.
    let again = h.store.waitlist_pass(Some(SignedDuration::ZERO), true).await.unwrap();
    assert_eq!(again.offers_sent, 0);
}

async fn a_declined_place_moves_on_and_a_raised_capacity_offers_more(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("fd", 4).await;
    let ctx = AuditCtx::operator();
    let g = full_group(&h, &c, 2).await;
    leave(&h, &c, &g, 1).await;
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let first = live(&h, &c).await.remove(0);
    assert_eq!(first.client_id, c.clients[2], "same urgency: the earlier entry");
    h.store.decline_offer(&ctx, c.org, first.id, Some("evenings are hard now".into())).await.unwrap();
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let second = live(&h, &c).await.remove(0);
    assert_eq!(second.client_id, c.clients[3]);
    // Accepting after the place was taken some other way is refused.
    let change = MembershipChange {
        status: Some(MembershipStatus::Active),
        leave_date: None,
        exit_reason: None,
        screening: None,
    };
    let full = h.store.update_member(&ctx, c.org, g.group, g.members[2], change).await;
    assert_eq!(conflict_code(&full), Some("group_full"), "the live offer holds the only place");

    let mut fields = h.store.group(c.org, g.group).await.unwrap().fields;
    fields.capacity = Some(3);
    h.store
        .update_group(&ctx, c.org, g.group, GroupUpdate { fields, moderator_ids: None, facilitator_ids: None })
        .await
        .unwrap();
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let clients: Vec<PersonId> = live(&h, &c).await.iter().map(|o| o.client_id).collect();
    assert_eq!(clients.len(), 2, "the new place goes to the member who declined the first: {clients:?}");
    assert!(clients.contains(&c.clients[2]) && clients.contains(&c.clients[3]));
}

async fn the_sweep_finds_a_free_place_no_event_recorded(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("fs", 3).await;
    let g = full_group(&h, &c, 2).await;
    // A place frees behind the use cases' back: no opening is recorded.
    h.db.execute_raw(&format!(
        "UPDATE group_memberships SET status = 'INACTIVE' WHERE org_id = '{}' AND client_id = '{}'",
        c.org, c.clients[0]
    ))
    .await;
    let quiet = h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    assert_eq!(quiet.offers_sent, 0);
    let swept = h.store.waitlist_pass(Some(SignedDuration::ZERO), true).await.unwrap();
    assert_eq!((swept.openings_found, swept.offers_sent), (1, 1));
    let offers = live(&h, &c).await;
    assert_eq!((offers[0].client_id, offers[0].place), (c.clients[2], Place::Membership(g.group)));
    // Covered now: the next sweep finds nothing more.
    assert_eq!(h.store.waitlist_pass(Some(SignedDuration::ZERO), true).await.unwrap().openings_found, 0);
}
