use circles_domain::interval::Interval;
use circles_domain::session::SessionStatus;
use circles_store::model::{AuditCtx, HoldStatus, NewHold};
use circles_testkit::{Backend, backend_tests};
use jiff::{SignedDuration, Timestamp};

use crate::support::{Clinic, Harness, conflict_code, details, one_on_one, slot};

backend_tests!(
    a_hold_blocks_the_slot_until_confirmed_as_a_session,
    an_expired_hold_stops_blocking_at_its_expiry_without_any_job,
    confirming_an_expired_or_released_hold_is_a_conflict,
    releasing_a_hold_frees_its_time,
    a_recurring_hold_is_all_or_nothing,
    the_expiry_job_retires_holds_and_audits_them,
);

fn hold(c: &Clinic, client: usize, slots: Vec<Interval>, expires_at: Timestamp) -> NewHold {
    NewHold {
        therapist_id: c.therapist,
        client_id: c.clients[client],
        slots,
        expires_at,
        details: details("Intake"),
        timezone: "America/New_York".into(),
    }
}

fn in_minutes(h: &Harness, minutes: i64) -> Timestamp {
    circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_mins(minutes)
}

async fn a_hold_blocks_the_slot_until_confirmed_as_a_session(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let held = h.store.create_hold(&ctx, c.org, hold(&c, 0, vec![wanted], in_minutes(&h, 5))).await.unwrap();
    assert_eq!(held.status, HoldStatus::Live);

    let competing = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], wanted)).await;
    let Err(circles_store::StoreError::Conflict(conflict)) = competing else { panic!("expected a conflict") };
    assert_eq!(conflict.details["conflicts"][0]["kind"], "hold");
    let second_hold = h.store.create_hold(&ctx, c.org, hold(&c, 1, vec![wanted], in_minutes(&h, 5))).await;
    assert_eq!(conflict_code(&second_hold), Some("scheduling_conflict"), "two holds never share a slot");

    let sessions = h.store.confirm_hold(&ctx, c.org, held.id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].status, SessionStatus::Scheduled);
    assert_eq!((sessions[0].starts_at, sessions[0].ends_at), (wanted.start, wanted.end));
    assert_eq!(sessions[0].title, "Intake");
    assert_eq!(h.store.hold(c.org, held.id).await.unwrap().status, HoldStatus::Confirmed);
    // The session now holds the time; the hold does not any more.
    let busy_rows = h.db.scalar("SELECT COUNT(*) FROM busy_intervals WHERE kind = 'hold'").await;
    assert_eq!(busy_rows, 0);
    assert_eq!(h.overlapping_busy_pairs().await, 0);
    let again = h.store.confirm_hold(&ctx, c.org, held.id).await;
    assert_eq!(conflict_code(&again), Some("hold_confirmed"));
}

async fn an_expired_hold_stops_blocking_at_its_expiry_without_any_job(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let held = h.store.create_hold(&ctx, c.org, hold(&c, 0, vec![wanted], in_minutes(&h, 5))).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(5));
    assert_eq!(h.store.hold(c.org, held.id).await.unwrap().status, HoldStatus::Expired, "expired at the instant");
    let session = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], wanted)).await.unwrap();
    assert_eq!(session.status, SessionStatus::Scheduled);
    let expiries = h.store.audit_events(c.org, Some(c.clients[0]), 100).await.unwrap();
    assert!(expiries.iter().any(|e| e.action == "hold.expire"), "the expiry is audited");
}

async fn confirming_an_expired_or_released_hold_is_a_conflict(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let expired = h
        .store
        .create_hold(&ctx, c.org, hold(&c, 0, vec![slot("2027-03-02T10:00:00Z", 50)], in_minutes(&h, 1)))
        .await
        .unwrap();
    let released = h
        .store
        .create_hold(&ctx, c.org, hold(&c, 0, vec![slot("2027-03-02T12:00:00Z", 50)], in_minutes(&h, 60)))
        .await
        .unwrap();
    h.store.release_hold(&ctx, c.org, released.id).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(conflict_code(&h.store.confirm_hold(&ctx, c.org, expired.id).await), Some("hold_expired"));
    assert_eq!(conflict_code(&h.store.confirm_hold(&ctx, c.org, released.id).await), Some("hold_released"));
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}

async fn releasing_a_hold_frees_its_time(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 50);
    let held = h.store.create_hold(&ctx, c.org, hold(&c, 0, vec![wanted], in_minutes(&h, 5))).await.unwrap();
    let released = h.store.release_hold(&ctx, c.org, held.id).await.unwrap();
    assert_eq!(released.status, HoldStatus::Released);
    assert_eq!(h.store.release_hold(&ctx, c.org, held.id).await.unwrap().status, HoldStatus::Released, "idempotent");
    h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], wanted)).await.unwrap();
}

async fn a_recurring_hold_is_all_or_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let first = slot("2027-03-02T15:00:00Z", 50);
    let weekly: Vec<Interval> = (0..12)
        .map(|week| {
            Interval::starting_at(first.start + SignedDuration::from_hours(24 * 7 * week), first.length()).unwrap()
        })
        .collect();
    // One week is taken already: nothing is held.
    let blocker = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], weekly[7])).await.unwrap();
    let refused = h.store.create_hold(&ctx, c.org, hold(&c, 0, weekly.clone(), in_minutes(&h, 10))).await;
    assert_eq!(conflict_code(&refused), Some("scheduling_conflict"));
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM holds").await, 0);
    // Free that week: all twelve are held, then confirmed as one series.
    h.store
        .cancel_session(&ctx, c.org, blocker.id, "moved".into(), circles_store::model::Canceller::Provider)
        .await
        .unwrap();
    let held = h.store.create_hold(&ctx, c.org, hold(&c, 0, weekly.clone(), in_minutes(&h, 10))).await.unwrap();
    assert_eq!(held.slots, weekly);
    let sessions = h.store.confirm_hold(&ctx, c.org, held.id).await.unwrap();
    assert_eq!(sessions.len(), 12);
    let series = sessions[0].series_id.expect("one series");
    assert!(sessions.iter().all(|s| s.series_id == Some(series)));
}

async fn the_expiry_job_retires_holds_and_audits_them(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    for hour in 10..13 {
        h.store
            .create_hold(
                &ctx,
                c.org,
                hold(&c, 0, vec![slot(&format!("2027-03-02T{hour}:00:00Z"), 50)], in_minutes(&h, 5)),
            )
            .await
            .unwrap();
    }
    assert_eq!(h.store.expire_holds().await.unwrap(), 0, "nothing has expired yet");
    h.clock.advance(SignedDuration::from_mins(6));
    assert_eq!(h.store.expire_holds().await.unwrap(), 3);
    assert_eq!(h.store.expire_holds().await.unwrap(), 0);
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM busy_intervals").await, 0);
    let events = h.store.audit_events(c.org, None, 100).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "hold.expire").count(), 3);
    assert_eq!(h.store.verify_audit(Some(c.org)).await.unwrap()[0].error, None);
}
