//! Waitlists: entries in priority order, the published scenario step by
//! step, and a freed seat offered, held and booked.

use circles_domain::Clock;
use circles_domain::ids::{GroupId, PersonId, SessionId};
use circles_domain::session::SessionKind;
use circles_domain::waitlist::{EntryStatus, OfferStatus, Target, Urgency, WaitlistSettings};
use circles_domain::waitlist_match::Preferences;
use circles_store::model::{Acceptance, AuditCtx, EntryFilter, EntryUpdate, NewEntry, NewOffer, NewSession, Place};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Clinic, Harness, conflict_code, details, slot};

backend_tests!(
    entries_are_served_by_explained_priority_and_duplicates_are_refused,
    the_published_matching_scenario_step_by_step,
    a_freed_seat_is_offered_within_one_pass_held_against_joins_and_booked_on_accept,
    a_cancellation_undone_within_the_grace_delay_sends_nothing,
    moving_earlier_releases_the_later_seat_in_the_same_transaction,
);

pub fn entry(client: PersonId, target: Target, urgency: Urgency) -> NewEntry {
    NewEntry {
        client_id: client,
        target,
        urgency,
        preferences: Preferences::default(),
        referral: false,
        notes: None,
        auto_match: true,
        by_client: false,
    }
}

/// A community group run by the clinic's therapist, with every client an
/// active member, and one full session of `capacity` seats taken by the
/// first `capacity` clients, `days` ahead.
pub async fn full_group_session(h: &Harness, c: &Clinic, capacity: i64, days: i64) -> (GroupId, SessionId) {
    let group = h.group(c.org, vec![c.therapist]).await;
    let today = h.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
    for &client in &c.clients {
        h.store.add_member(&AuditCtx::operator(), c.org, group, client, today, None).await.unwrap();
    }
    let start = h.clock.now() + SignedDuration::from_hours(24 * days);
    let input = NewSession {
        kind: SessionKind::Group,
        details: details("Anxiety circle"),
        interval: circles_domain::interval::Interval::starting_at(start, SignedDuration::from_mins(90)).unwrap(),
        timezone: "America/New_York".into(),
        capacity,
        group_id: Some(group),
        therapist_ids: vec![c.therapist],
        client_ids: c.clients[..capacity as usize].to_vec(),
        therapists_must_accept: false,
        approval: circles_store::model::Approval::NotNeeded,
    };
    let session = h.store.create_session(&AuditCtx::operator(), c.org, input).await.unwrap();
    (group, session.id)
}

async fn entries_are_served_by_explained_priority_and_duplicates_are_refused(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("p", 3).await;
    let ctx = AuditCtx::operator();
    let group = h.group(c.org, vec![c.therapist]).await;
    let low = h.store.create_entry(&ctx, c.org, entry(c.clients[0], Target::Group(group), Urgency::Low)).await.unwrap();
    h.clock.advance(SignedDuration::from_hours(24 * 12));
    let mut referred = entry(c.clients[1], Target::Group(group), Urgency::High);
    referred.referral = true;
    let high = h.store.create_entry(&ctx, c.org, referred).await.unwrap();
    let same =
        h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::Low)).await.unwrap();

    let listed = h.store.entries(&ctx, c.org, EntryFilter::default()).await.unwrap();
    let order: Vec<_> = listed.iter().map(|e| e.id).collect();
    assert_eq!(order, vec![high.id, low.id, same.id], "score first, then the earlier entry");
    assert_eq!(listed[0].priority.explain(), "waited 0 days: 0; urgency HIGH: 0.225; referred: 0.2; score 0.425");
    assert_eq!(listed[1].priority.explain(), "waited 12 days: 0.16; urgency LOW: 0.075; not referred: 0; score 0.235");

    let again = h.store.create_entry(&ctx, c.org, entry(c.clients[0], Target::Group(group), Urgency::Urgent)).await;
    assert_eq!(conflict_code(&again), Some("duplicate_entry"));

    let pinned = h
        .store
        .update_entry(
            &ctx,
            c.org,
            same.id,
            EntryUpdate { pin: Some(Some("discharged this week".into())), ..Default::default() },
        )
        .await
        .unwrap();
    assert!(pinned.priority.explain().starts_with("pinned to the top: discharged this week;"));
    let first = &h.store.entries(&ctx, c.org, EntryFilter::default()).await.unwrap()[0];
    assert_eq!(first.id, same.id);
    let actions: Vec<String> =
        h.store.audit_events(c.org, Some(c.clients[2]), 50).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"waitlist.entry.pin".to_owned()), "{actions:?}");

    let weights = WaitlistSettings {
        priority: circles_domain::waitlist::PriorityWeights {
            wait: 1.0,
            urgency: 0.0,
            referral: 0.0,
            ..Default::default()
        },
        ..Default::default()
    };
    h.store.set_waitlist_settings(&ctx, c.org, weights).await.unwrap();
    let reread = h.store.entry(&ctx, c.org, low.id).await.unwrap();
    assert_eq!(reread.priority.score, 0.4, "12 of 30 days with the whole weight on waiting");

    let cancelled = h.store.cancel_entry(&ctx, c.org, low.id).await.unwrap();
    assert_eq!(cancelled.status, EntryStatus::Cancelled);
    h.store.create_entry(&ctx, c.org, entry(c.clients[0], Target::Group(group), Urgency::Urgent)).await.unwrap();
}

async fn the_published_matching_scenario_step_by_step(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("s", 3).await;
    let ctx = AuditCtx::operator();
    let one_on_one = Target::OneOnOne { therapist: Some(c.therapist), modality: None, duration_minutes: 50 };
    // Several entries with different urgencies.
    let urgent = h.store.create_entry(&ctx, c.org, entry(c.clients[0], one_on_one, Urgency::Urgent)).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[1], one_on_one, Urgency::Medium)).await.unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], one_on_one, Urgency::Low)).await.unwrap();
    h.clock.advance(SignedDuration::from_hours(24 * 6));
    // Scores are there as soon as they are read.
    let listed = h.store.entries(&ctx, c.org, EntryFilter::default()).await.unwrap();
    let scores: Vec<f64> = listed.iter().map(|e| e.priority.score).collect();
    assert_eq!(scores, vec![0.38, 0.23, 0.155]);
    assert_eq!(listed[0].id, urgent.id);

    // Smart match: the best slots for the top entry, with reasons.
    let slots = h.store.entry_suggestions(c.org, urgent.id, 5).await.unwrap();
    assert_eq!(slots.len(), 5);
    assert!(slots.windows(2).all(|w| w[0].matched.score >= w[1].matched.score));
    assert_eq!(slots[0].matched.reasons[0], "with the preferred therapist: 0.3");

    // Send the top offer; decline it: a penalty.
    let first = h
        .store
        .send_offer(&ctx, c.org, NewOffer { entry_id: urgent.id, place: slots[0].place, expires_in: None })
        .await
        .unwrap();
    assert_eq!(first.status, OfferStatus::Live);
    assert_eq!(first.expires_at, h.clock.now() + SignedDuration::from_hours(2));
    let declined =
        h.store.decline_offer(&ctx, c.org, first.id, Some("that time is school pick-up".into())).await.unwrap();
    assert_eq!(declined.status, OfferStatus::Declined);
    assert_eq!(declined.decline_reason.as_deref(), Some("that time is school pick-up"));
    let after = h.store.entry(&ctx, c.org, urgent.id).await.unwrap();
    assert_eq!((after.status, after.decline_count, after.offer_count), (EntryStatus::Active, 1, 1));
    assert_eq!(after.priority.score, 0.28, "0.38 less the 0.1 decline penalty");
    assert!(after.priority.explain().contains("declined 1 offer: -0.1"));

    // Accept the second offer: an appointment.
    let second = h
        .store
        .send_offer(&ctx, c.org, NewOffer { entry_id: urgent.id, place: slots[1].place, expires_in: None })
        .await
        .unwrap();
    let accepted = h.store.accept_offer(&ctx, c.org, second.id, Acceptance::default()).await.unwrap();
    assert_eq!(accepted.status, OfferStatus::Accepted);
    let session = h
        .store
        .session(&ctx, c.org, accepted.session_id.unwrap(), circles_store::model::SessionView::Staff)
        .await
        .unwrap();
    assert_eq!((session.starts_at, session.ends_at), (slots[1].starts_at, slots[1].ends_at));
    assert_eq!(session.therapists[0].therapist_id, c.therapist);
    assert_eq!(session.seats[0].client_id, c.clients[0]);
    let matched = h.store.entry(&ctx, c.org, urgent.id).await.unwrap();
    assert_eq!((matched.status, matched.matched_session_id), (EntryStatus::Matched, Some(session.id)));
    assert_eq!(h.overlapping_busy_pairs().await, 0);
    let stats = h.store.waitlist_stats(c.org).await.unwrap().organisation;
    assert_eq!((stats.offers_sent, stats.offers_accepted, stats.offers_declined, stats.matched), (2, 1, 1, 1));
}

async fn a_freed_seat_is_offered_within_one_pass_held_against_joins_and_booked_on_accept(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("f", 5).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 2, 7).await;
    let low = h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::Low)).await.unwrap();
    let best = h
        .store
        .create_entry(&ctx, c.org, entry(c.clients[3], Target::GroupSession(session), Urgency::Urgent))
        .await
        .unwrap();

    h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    let report = h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    assert_eq!(report.offers_sent, 1);
    let live = h
        .store
        .offers(c.org, circles_store::model::OfferFilter { status: Some(OfferStatus::Live), client: None })
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].client_id, live[0].entry_id), (c.clients[3], best.id), "the best waiting client");
    assert_eq!(h.store.entry(&ctx, c.org, best.id).await.unwrap().status, EntryStatus::Offered);
    let inbox = h.store.notifications(c.org, c.clients[3], false, 10).await.unwrap();
    assert_eq!(inbox[0].title, "A place is held for you");
    assert!(inbox[0].body.starts_with("Anxiety circle on "), "{}", inbox[0].body);

    // A public join for that seat is refused while the offer lives.
    let join = h.store.join_session(&ctx, c.org, session, c.clients[4]).await;
    assert_eq!(conflict_code(&join), Some("session_full"));

    let accepted = h.store.accept_offer(&ctx, c.org, live[0].id, Acceptance::default()).await.unwrap();
    assert_eq!(accepted.session_id, Some(session));
    let seated = h.store.session(&ctx, c.org, session, circles_store::model::SessionView::Staff).await.unwrap();
    assert_eq!(seated.seats_taken, 2);
    assert!(seated.seats.iter().any(|s| s.client_id == c.clients[3] && s.status.holds_time()));
    assert_eq!(h.store.entry(&ctx, c.org, low.id).await.unwrap().status, EntryStatus::Active);
    assert_eq!(h.overlapping_busy_pairs().await, 0);
    let stats = h.store.waitlist_stats(c.org).await.unwrap();
    assert_eq!((stats.organisation.freed, stats.organisation.refilled), (1, 1));
    assert_eq!(stats.groups[0].2.offers_accepted, 1);
}

async fn a_cancellation_undone_within_the_grace_delay_sends_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("g", 3).await;
    let ctx = AuditCtx::operator();
    let (group, session) = full_group_session(&h, &c, 2, 7).await;
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::Group(group), Urgency::Urgent)).await.unwrap();
    h.store.leave_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    // Within the default three minutes nothing goes out…
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(h.store.waitlist_pass(None, false).await.unwrap().offers_sent, 0);
    // …and the client changes their mind.
    h.store.join_session(&ctx, c.org, session, c.clients[0]).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(2));
    let report = h.store.waitlist_pass(None, false).await.unwrap();
    assert_eq!((report.offers_sent, report.openings_lapsed), (0, 1));
    assert!(h.store.offers(c.org, Default::default()).await.unwrap().is_empty());
    assert!(h.store.notifications(c.org, c.clients[2], false, 10).await.unwrap().is_empty());
}

async fn moving_earlier_releases_the_later_seat_in_the_same_transaction(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("m", 3).await;
    let ctx = AuditCtx::operator();
    let (group, early) = full_group_session(&h, &c, 1, 2).await;
    // A later session of the same group where clients[1] already has a seat.
    let later = h
        .store
        .create_session(
            &ctx,
            c.org,
            NewSession {
                kind: SessionKind::Group,
                details: details("Anxiety circle"),
                interval: slot("2027-03-20T15:00:00Z", 90),
                timezone: "America/New_York".into(),
                capacity: 1,
                group_id: Some(group),
                therapist_ids: vec![c.therapist],
                client_ids: vec![c.clients[1]],
                therapists_must_accept: false,
                approval: circles_store::model::Approval::NotNeeded,
            },
        )
        .await
        .unwrap();
    let waiting = h
        .store
        .create_entry(&ctx, c.org, entry(c.clients[1], Target::GroupSession(early), Urgency::High))
        .await
        .unwrap();
    h.store.create_entry(&ctx, c.org, entry(c.clients[2], Target::GroupSession(later.id), Urgency::Low)).await.unwrap();
    h.store.leave_session(&ctx, c.org, early, c.clients[0]).await.unwrap();
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let offer = h.store.offers(c.org, Default::default()).await.unwrap().remove(0);
    assert_eq!(offer.entry_id, waiting.id);
    h.store.accept_offer(&ctx, c.org, offer.id, Acceptance { release: Some(later.id) }).await.unwrap();
    let old = h.store.session(&ctx, c.org, later.id, circles_store::model::SessionView::Staff).await.unwrap();
    assert_eq!(old.seats_taken, 0, "the later seat was given up");
    // …and is offered on in turn.
    h.store.waitlist_pass(Some(SignedDuration::ZERO), false).await.unwrap();
    let live = h
        .store
        .offers(c.org, circles_store::model::OfferFilter { status: Some(OfferStatus::Live), client: None })
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].client_id, live[0].place), (c.clients[2], Place::Seat(later.id)));
}
