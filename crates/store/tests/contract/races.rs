//! Many simultaneous requests for the same time: the database lets exactly
//! the right ones through.

use std::sync::Arc;

use circles_domain::interval::Interval;
use circles_store::model::{AuditCtx, Canceller, NewHold};
use circles_testkit::{Backend, backend_tests};
use futures::future::join_all;
use jiff::SignedDuration;

use crate::support::{Harness, conflict_code, details, one_on_one, slot};

backend_tests!(
    two_hundred_bookings_of_one_slot_admit_exactly_one,
    a_crowd_refused_for_one_slot_hears_the_clash_and_hints_from_one_search,
    overlapping_variants_of_a_slot_admit_only_disjoint_ones,
    concurrent_confirms_of_one_hold_make_one_set_of_sessions,
    concurrent_confirms_of_two_holds_on_one_slot_make_one_session,
    a_recurring_hold_racing_single_bookings_is_all_or_nothing,
    cancel_then_rebook_at_once_succeeds,
);

async fn two_hundred_bookings_of_one_slot_admit_exactly_one(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 200).await;
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let attempts = c.clients.iter().map(|&client| {
        let store = Arc::clone(&h.store);
        let org = c.org;
        let therapist = c.therapist;
        tokio::spawn(async move {
            store.create_session(&AuditCtx::operator(), org, one_on_one(therapist, client, wanted)).await
        })
    });
    let outcomes: Vec<_> = join_all(attempts).await.into_iter().map(|r| r.unwrap()).collect();
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes.iter().filter(|o| conflict_code(o) == Some("scheduling_conflict")).count();
    assert_eq!((won, refused), (1, 199), "{:?}", outcomes.iter().find(|o| o.is_err() && conflict_code(o).is_none()));
    assert_eq!(h.overlapping_busy_pairs().await, 0);
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}

/// Requests that arrive while the slot is being booked wait for that
/// booking in memory; once it is made they are all refused with its clash,
/// and the next free times are searched once for all of them rather than
/// once each.
async fn a_crowd_refused_for_one_slot_hears_the_clash_and_hints_from_one_search(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 100).await;
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let before = h.store.statements_run();
    let attempts = c.clients.iter().map(|&client| {
        let (store, org, therapist) = (Arc::clone(&h.store), c.org, c.therapist);
        tokio::spawn(async move {
            store.create_session(&AuditCtx::operator(), org, one_on_one(therapist, client, wanted)).await
        })
    });
    let outcomes: Vec<_> = join_all(attempts).await.into_iter().map(|r| r.unwrap()).collect();
    let used = h.store.statements_run() - before;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    for refused in outcomes.iter().filter(|o| o.is_err()) {
        assert_eq!(conflict_code(refused), Some("scheduling_conflict"));
        let Err(circles_store::StoreError::Conflict(conflict)) = refused else { unreachable!("a conflict") };
        let details = &conflict.details;
        let clash = &details["conflicts"][0];
        assert_eq!(clash["person_id"], c.therapist.to_string(), "the therapist is the one busy");
        assert_eq!(clash["starts_at"], "2027-03-02T10:00:00Z");
        assert!(!details["retry_hints"].as_array().unwrap().is_empty(), "every refusal offers other times");
    }
    // A refusal found by its own first look costs a look and a search for
    // hints (four statements or more); 99 of them would be ~400.
    assert!(used < 99 * 2, "one booking and 99 refusals ran {used} statements");
}

async fn overlapping_variants_of_a_slot_admit_only_disjoint_ones(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 50).await;
    let base = slot("2027-03-02T09:00:00Z", 60).start;
    // 50 one-hour requests starting every 5 minutes across four hours.
    let variants: Vec<Interval> = (0..50)
        .map(|i| Interval::starting_at(base + SignedDuration::from_mins(5 * i), SignedDuration::from_mins(60)).unwrap())
        .collect();
    let attempts = variants.iter().zip(&c.clients).map(|(&interval, &client)| {
        let store = Arc::clone(&h.store);
        let (org, therapist) = (c.org, c.therapist);
        tokio::spawn(async move {
            store.create_session(&AuditCtx::operator(), org, one_on_one(therapist, client, interval)).await
        })
    });
    let outcomes: Vec<_> = join_all(attempts).await.into_iter().map(|r| r.unwrap()).collect();
    let accepted: Vec<Interval> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .map(|s| Interval::new(s.starts_at, s.ends_at).unwrap())
        .collect();
    assert!(!accepted.is_empty());
    assert!(outcomes.iter().all(|o| o.is_ok() || conflict_code(o) == Some("scheduling_conflict")));
    for (i, a) in accepted.iter().enumerate() {
        for b in &accepted[i + 1..] {
            assert!(!a.overlaps(b), "{a:?} and {b:?} were both accepted");
        }
    }
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn concurrent_confirms_of_one_hold_make_one_set_of_sessions(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let expires = circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_mins(5);
    let new_hold = |client| NewHold {
        therapist_id: c.therapist,
        client_id: c.clients[client],
        slots: vec![wanted],
        expires_at: expires,
        details: details("Intake"),
        timezone: "UTC".into(),
    };
    let held = h.store.create_hold(&ctx, c.org, new_hold(0)).await.unwrap();
    // A second hold on the same slot never exists, so it can never be confirmed too.
    assert_eq!(conflict_code(&h.store.create_hold(&ctx, c.org, new_hold(1)).await), Some("scheduling_conflict"));
    let confirms = (0..10).map(|_| {
        let store = Arc::clone(&h.store);
        let (org, id) = (c.org, held.id);
        tokio::spawn(async move { store.confirm_hold(&AuditCtx::operator(), org, id).await })
    });
    let outcomes: Vec<_> = join_all(confirms).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(outcomes.iter().filter(|o| o.is_err()).all(|o| conflict_code(o) == Some("hold_confirmed")));
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}

/// Two holds on one slot exist together only when the first has lapsed;
/// confirming both at once must still book the slot once, for the live one.
async fn concurrent_confirms_of_two_holds_on_one_slot_make_one_session(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let new_hold = |client, minutes| NewHold {
        therapist_id: c.therapist,
        client_id: c.clients[client],
        slots: vec![wanted],
        expires_at: circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_mins(minutes),
        details: details("Intake"),
        timezone: "UTC".into(),
    };
    let lapsed = h.store.create_hold(&ctx, c.org, new_hold(0, 5)).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(6));
    let live = h.store.create_hold(&ctx, c.org, new_hold(1, 5)).await.unwrap();
    let confirms = [lapsed.id, live.id].into_iter().cycle().take(20).map(|id| {
        let (store, org) = (Arc::clone(&h.store), c.org);
        tokio::spawn(async move { (id, store.confirm_hold(&AuditCtx::operator(), org, id).await) })
    });
    let outcomes: Vec<_> = join_all(confirms).await.into_iter().map(|r| r.unwrap()).collect();
    let booked: Vec<_> = outcomes.iter().filter_map(|(id, o)| o.as_ref().ok().map(|_| *id)).collect();
    assert_eq!(booked, [live.id], "only the live hold is confirmed, once");
    for (id, outcome) in &outcomes {
        if *id == lapsed.id {
            assert_eq!(conflict_code(outcome), Some("hold_expired"));
        }
    }
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn a_recurring_hold_racing_single_bookings_is_all_or_nothing(backend: Backend) {
    for round in 0..3 {
        let h = Harness::new(backend).await;
        let c = h.clinic(&format!("r{round}"), 13).await;
        let first = slot("2027-03-02T15:00:00Z", 50);
        let weekly: Vec<Interval> = (0..12)
            .map(|week| {
                Interval::starting_at(first.start + SignedDuration::from_hours(24 * 7 * week), first.length()).unwrap()
            })
            .collect();
        let expires = circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_mins(5);
        let series = {
            let store = Arc::clone(&h.store);
            let input = NewHold {
                therapist_id: c.therapist,
                client_id: c.clients[12],
                slots: weekly.clone(),
                expires_at: expires,
                details: details("Weekly"),
                timezone: "UTC".into(),
            };
            let org = c.org;
            tokio::spawn(async move { store.create_hold(&AuditCtx::operator(), org, input).await })
        };
        let singles = weekly.iter().zip(&c.clients[..12]).map(|(&interval, &client)| {
            let store = Arc::clone(&h.store);
            let (org, therapist) = (c.org, c.therapist);
            tokio::spawn(async move {
                store.create_session(&AuditCtx::operator(), org, one_on_one(therapist, client, interval)).await
            })
        });
        let singles: Vec<_> = join_all(singles).await.into_iter().map(|r| r.unwrap()).collect();
        let series = series.await.unwrap();
        let held = h.db.scalar("SELECT COUNT(*) FROM hold_slots").await;
        let booked = singles.iter().filter(|s| s.is_ok()).count() as i64;
        match series {
            Ok(_) => assert_eq!((held, booked), (12, 0), "the series won every week"),
            Err(_) => assert_eq!(held, 0, "the series holds nothing when any week was lost"),
        }
        assert_eq!(h.overlapping_busy_pairs().await, 0);
    }
}

async fn cancel_then_rebook_at_once_succeeds(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    for round in 0..5 {
        let first =
            h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[round % 2], wanted)).await.unwrap();
        h.store.cancel_session(&ctx, c.org, first.id, "rebook".into(), Canceller::Provider).await.unwrap();
    }
    h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], wanted)).await.unwrap();
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}
