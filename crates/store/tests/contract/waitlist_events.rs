//! Every way a seat or slot frees records it in the freeing transaction, so
//! the next pass offers it to the best waiting client: one test per event.

use circles_domain::Clock;
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::interval::Interval;
use circles_domain::session::SessionKind;
use circles_domain::time_off::TimeOffKind;
use circles_domain::waitlist::{OfferStatus, Target, Urgency};
use circles_store::model::{
    AuditCtx, GroupUpdate, MembershipChange, NewHold, NewSession, NewTimeOff, Offer, OfferFilter, Place,
};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use jiff::tz::TimeZone;

use crate::availability::week;
use crate::support::{Harness, at, details, slot};
use crate::waitlist::{entry, full_group_session};

backend_tests!(
    a_member_leaving_frees_their_future_seats_for_the_waitlist,
    raising_a_group_capacity_offers_the_new_seats,
    a_session_created_in_a_group_with_waiters_offers_its_free_seats,
    a_session_created_in_a_group_nobody_waits_for_records_nothing,
    cancelled_time_off_offers_the_therapist_time_again,
    widened_working_hours_offer_the_added_time,
    an_expired_hold_offers_the_held_slot,
    an_expired_offer_moves_on_to_the_next_client,
);

async fn live_offers(h: &Harness, org: OrgId) -> Vec<Offer> {
    h.store.offers(org, OfferFilter { status: Some(OfferStatus::Live), client: None }).await.unwrap()
}

async fn pass_now(h: &Harness) -> circles_store::model::PassReport {
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap()
}

async fn recorded(h: &Harness, cause: &str) -> i64 {
    h.db.scalar(&format!("SELECT COUNT(*) FROM waitlist_openings WHERE cause = '{cause}' /* spans organisations: a test database holds one clinic */")).await
}

fn one_on_one(therapist: PersonId, minutes: i64) -> Target {
    Target::OneOnOne { therapist: Some(therapist), modality: None, duration_minutes: minutes }
}

async fn a_member_leaving_frees_their_future_seats_for_the_waitlist(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("ml", 3).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 2, 7).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::High)).await.unwrap();
    let members = h.store.members(&ctx, c.org, group).await.unwrap();
    let leaving = members.iter().find(|m| m.client_id == c.clients[0]).unwrap().id;
    let today = h.clock.now().to_zoned(TimeZone::UTC).date();
    let change = MembershipChange {
        status: None,
        leave_date: Some(today),
        exit_reason: Some("moved away".into()),
        screening: None,
    };
    h.store.update_member(&ctx, c.org, group, leaving, change).await.unwrap();
    assert_eq!(h.store.cancel_future_seats(&ctx, c.org, group, leaving).await.unwrap(), 1);
    assert_eq!(recorded(&h, "member_left").await, 1, "recorded with the cancelled seats");

    assert_eq!(pass_now(&h).await.offers_sent, 1);
    let live = live_offers(&h, c.org).await;
    assert_eq!((live[0].client_id, live[0].place), (c.clients[2], Place::Seat(session)));
}

async fn raising_a_group_capacity_offers_the_new_seats(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("cr", 3).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 2, 7).await;
    let set_capacity = |capacity: i64| {
        let (h, ctx) = (&h, &ctx);
        async move {
            let mut fields = h.store.group(c.org, group).await.unwrap().fields;
            fields.capacity = Some(capacity);
            let update = GroupUpdate { fields, moderator_ids: None, facilitator_ids: None };
            h.store.update_group(ctx, c.org, group, update).await.unwrap();
        }
    };
    set_capacity(2).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::Low)).await.unwrap();
    set_capacity(3).await;
    let raised = h.store.session(&ctx, c.org, session, circles_store::model::SessionView::Staff).await.unwrap();
    assert_eq!(raised.capacity, 3, "the session made for the old capacity grows with the group");
    assert_eq!(recorded(&h, "capacity_raised").await, 1);

    assert_eq!(pass_now(&h).await.offers_sent, 1);
    let live = live_offers(&h, c.org).await;
    assert_eq!((live[0].client_id, live[0].place), (c.clients[2], Place::Seat(session)));
}

fn group_session(group: circles_domain::ids::GroupId, therapist: PersonId, clients: Vec<PersonId>) -> NewSession {
    NewSession {
        kind: SessionKind::Group,
        details: details("Anxiety circle"),
        interval: slot("2027-03-10T15:00:00Z", 90),
        timezone: "America/New_York".into(),
        capacity: 3,
        group_id: Some(group),
        therapist_ids: vec![therapist],
        client_ids: clients,
        therapists_must_accept: false,
        approval: circles_store::model::Approval::NotNeeded,
    }
}

async fn a_session_created_in_a_group_with_waiters_offers_its_free_seats(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("sc", 2).await;
    let ctx = AuditCtx::operator();
    let group = h.group(c.org, vec![c.therapist]).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[1], Target::Group(group), Urgency::Medium)).await.unwrap();
    let session =
        h.store.create_session(&ctx, c.org, group_session(group, c.therapist, vec![c.clients[0]])).await.unwrap();
    assert_eq!(recorded(&h, "session_created").await, 2, "one for each of the two free seats");

    assert_eq!(pass_now(&h).await.offers_sent, 1, "one client waits");
    let live = live_offers(&h, c.org).await;
    assert_eq!((live[0].client_id, live[0].place), (c.clients[1], Place::Seat(session.id)));
}

async fn a_session_created_in_a_group_nobody_waits_for_records_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("sn", 2).await;
    let ctx = AuditCtx::operator();
    let group = h.group(c.org, vec![c.therapist]).await;
    let other = h.group(c.org, vec![c.therapist]).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[1], Target::Group(other), Urgency::Medium)).await.unwrap();
    h.store.create_session(&ctx, c.org, group_session(group, c.therapist, vec![c.clients[0]])).await.unwrap();
    assert_eq!(recorded(&h, "session_created").await, 0);
}

async fn cancelled_time_off_offers_the_therapist_time_again(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("to", 1).await;
    let ctx = AuditCtx::operator();
    let away = NewTimeOff {
        therapist_id: c.therapist,
        kind: TimeOffKind::Conference,
        reason: "Conference".into(),
        range: Interval::new(at("2027-03-03T14:00:00Z"), at("2027-03-03T22:00:00Z")).unwrap(),
        auto_reassign: false,
    };
    let away = h.store.request_time_off(&ctx, c.org, away).await.unwrap();
    h.store.approve_time_off(&ctx, c.org, away.id, None).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[0], one_on_one(c.therapist, 50), Urgency::High)).await.unwrap();
    h.store.cancel_time_off(&ctx, c.org, away.id).await.unwrap();
    // Eight hours in back-to-back 50-minute slots.
    assert_eq!(recorded(&h, "time_off_cancelled").await, 9);

    assert_eq!(pass_now(&h).await.offers_sent, 1);
    let live = live_offers(&h, c.org).await;
    assert_eq!(live[0].client_id, c.clients[0]);
    assert_eq!((live[0].starts_at, live[0].ends_at), (at("2027-03-03T14:00:00Z"), at("2027-03-03T14:50:00Z")));
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn widened_working_hours_offer_the_added_time(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("wh", 1).await;
    let ctx = AuditCtx::operator();
    h.store.set_availability(&ctx, c.org, c.therapist, week(&[("wednesday", "09:00", "12:00")])).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[0], one_on_one(c.therapist, 60), Urgency::High)).await.unwrap();
    // The same hours again free nothing.
    h.store.set_availability(&ctx, c.org, c.therapist, week(&[("wednesday", "09:00", "12:00")])).await.unwrap();
    assert_eq!(recorded(&h, "hours_widened").await, 0);
    h.store.set_availability(&ctx, c.org, c.therapist, week(&[("wednesday", "09:00", "14:00")])).await.unwrap();
    // Two added hours on each Wednesday in the next 30 days: 3, 10, 17 and
    // 24 March (on the 31st they fall after the horizon).
    assert_eq!(recorded(&h, "hours_widened").await, 8);

    assert_eq!(pass_now(&h).await.offers_sent, 1);
    let live = live_offers(&h, c.org).await;
    let local = live[0].starts_at.to_zoned(TimeZone::get("America/New_York").unwrap());
    assert_eq!(local.weekday(), jiff::civil::Weekday::Wednesday);
    assert!((12..14).contains(&local.hour()), "in the added hours: {local}");
}

async fn an_expired_hold_offers_the_held_slot(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("he", 2).await;
    let ctx = AuditCtx::operator();
    let held = slot("2027-03-03T15:00:00Z", 50);
    let hold = NewHold {
        therapist_id: c.therapist,
        client_id: c.clients[0],
        slots: vec![held],
        expires_at: h.clock.now() + SignedDuration::from_mins(10),
        details: details("Check-in"),
        timezone: "America/New_York".into(),
    };
    h.store.create_hold(&ctx, c.org, hold).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[1], one_on_one(c.therapist, 50), Urgency::High)).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(11));
    assert_eq!(h.store.expire_holds().await.unwrap(), 1);
    assert_eq!(recorded(&h, "hold_expired").await, 1);

    assert_eq!(pass_now(&h).await.offers_sent, 1);
    let live = live_offers(&h, c.org).await;
    assert_eq!(live[0].client_id, c.clients[1]);
    assert_eq!((live[0].starts_at, live[0].ends_at), (held.start, held.end));
}

async fn an_expired_offer_moves_on_to_the_next_client(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("oe", 4).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 2, 7).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::Urgent)).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[3], Target::Group(group), Urgency::Low)).await.unwrap();
    h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    pass_now(&h).await;
    let first = live_offers(&h, c.org).await.remove(0);
    assert_eq!(first.client_id, c.clients[2]);

    h.clock.advance(SignedDuration::from_hours(2) + SignedDuration::from_secs(1));
    let report = pass_now(&h).await;
    assert_eq!((report.offers_expired, report.offers_sent), (1, 1), "the expiry reopens the seat in the same pass");
    let live = live_offers(&h, c.org).await;
    assert_eq!((live[0].client_id, live[0].place), (c.clients[3], Place::Seat(session)));
    let old = h.store.offers(c.org, OfferFilter { status: Some(OfferStatus::Expired), client: None }).await.unwrap();
    assert_eq!(old[0].id, first.id);
}
