use circles_domain::Role;
use circles_domain::session::{InvitationStatus, SeatStatus, SessionKind, SessionStatus};
use circles_store::model::{AuditCtx, Canceller, SessionFilter, SessionView};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Harness, at, conflict_code, one_on_one, slot};

backend_tests!(
    a_booking_occupies_the_therapist_and_the_client,
    back_to_back_sessions_do_not_conflict,
    a_conflict_lists_the_clash_and_free_start_times,
    cancelling_frees_the_slot_at_once,
    a_proposed_group_session_does_not_occupy_invited_therapists,
    a_group_seat_and_a_one_on_one_clash_for_the_same_client,
    people_must_have_the_right_role_in_the_organisation,
    the_clock_moves_sessions_to_in_progress_and_completed,
    a_schedule_merges_therapist_and_client_sessions_in_order,
    an_account_schedule_spans_organisations,
    a_client_cancelling_late_is_recorded_as_late,
    a_one_on_one_booking_runs_a_fixed_handful_of_statements,
);

async fn a_booking_occupies_the_therapist_and_the_client(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let session = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Scheduled);
    assert_eq!(session.kind, SessionKind::OneOnOne);
    assert_eq!(session.therapists[0].status, InvitationStatus::Accepted);
    assert_eq!(session.seats[0].status, SeatStatus::Registered);
    assert_eq!(session.seats_taken, 1);

    let therapist_busy = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T15:30:00Z", 50)))
        .await;
    assert_eq!(conflict_code(&therapist_busy), Some("scheduling_conflict"));
    let other_therapist = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    let client_busy = h
        .store
        .create_session(&ctx, c.org, one_on_one(other_therapist, c.clients[0], slot("2027-03-02T15:30:00Z", 50)))
        .await;
    assert_eq!(conflict_code(&client_busy), Some("scheduling_conflict"));
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn back_to_back_sessions_do_not_conflict(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T09:00:00Z", 60)))
        .await
        .unwrap();
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T10:00:00Z", 60)))
        .await
        .unwrap();
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T08:00:00Z", 60)))
        .await
        .unwrap();
}

async fn a_conflict_lists_the_clash_and_free_start_times(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T10:00:00Z", 60)))
        .await
        .unwrap();
    let clash = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T10:30:00Z", 60)))
        .await;
    let Err(circles_store::StoreError::Conflict(conflict)) = clash else {
        panic!("expected a conflict, got {clash:?}")
    };
    let conflicts = conflict.details["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["person_id"], c.therapist.to_string());
    assert_eq!(conflicts[0]["kind"], "session");
    assert_eq!(conflicts[0]["starts_at"], "2027-03-02T10:00:00Z");
    assert_eq!(conflicts[0]["ends_at"], "2027-03-02T11:00:00Z");
    assert!(conflicts[0].get("client_id").is_none(), "no other client's identity");
    let hints: Vec<String> =
        conflict.details["retry_hints"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_owned()).collect();
    assert!(hints.len() >= 3, "{hints:?}");
    assert_eq!(hints[0], "2027-03-02T11:00:00Z", "the first free start on the 15-minute grid");
    // Every hint is bookable.
    for hint in &hints {
        let wanted =
            circles_domain::interval::Interval::starting_at(hint.parse().unwrap(), SignedDuration::from_mins(60))
                .unwrap();
        let fits = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], wanted)).await;
        assert!(fits.is_ok(), "hint {hint} is free: {fits:?}");
        h.store.cancel_session(&ctx, c.org, fits.unwrap().id, "checking".into(), Canceller::Provider).await.unwrap();
    }
}

async fn cancelling_frees_the_slot_at_once(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 60);
    let first = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], wanted)).await.unwrap();
    let cancelled = h.store.cancel_session(&ctx, c.org, first.id, "illness".into(), Canceller::Provider).await.unwrap();
    assert_eq!(cancelled.status, SessionStatus::Cancelled);
    assert_eq!(cancelled.seats[0].status, SeatStatus::CancelledByProvider);
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("illness"));
    h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], wanted)).await.unwrap();
    let again = h.store.cancel_session(&ctx, c.org, first.id, "twice".into(), Canceller::Provider).await;
    assert_eq!(conflict_code(&again), Some("illegal_transition"));
}

async fn a_proposed_group_session_does_not_occupy_invited_therapists(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let mut proposal = one_on_one(c.therapist, c.clients[0], slot("2027-03-02T10:00:00Z", 90));
    proposal.kind = SessionKind::Group;
    proposal.group_id = Some(h.group(c.org, vec![c.therapist]).await);
    proposal.capacity = 8;
    proposal.client_ids.clear();
    proposal.therapists_must_accept = true;
    let proposed = h.store.create_session(&ctx, c.org, proposal).await.unwrap();
    assert_eq!(proposed.status, SessionStatus::Proposed);
    assert_eq!(proposed.therapists[0].status, InvitationStatus::Pending);
    // A pending invitation does not make the therapist busy.
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T10:00:00Z", 60)))
        .await
        .unwrap();
}

async fn a_group_seat_and_a_one_on_one_clash_for_the_same_client(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let t2 = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    let ctx = AuditCtx::operator();
    let mut group = one_on_one(c.therapist, c.clients[0], slot("2027-03-02T14:00:00Z", 90));
    group.kind = SessionKind::Group;
    group.group_id = Some(h.group(c.org, vec![c.therapist]).await);
    group.capacity = 8;
    h.store.create_session(&ctx, c.org, group).await.unwrap();
    let clash =
        h.store.create_session(&ctx, c.org, one_on_one(t2, c.clients[0], slot("2027-03-02T15:00:00Z", 60))).await;
    assert_eq!(conflict_code(&clash), Some("scheduling_conflict"));
}

async fn people_must_have_the_right_role_in_the_organisation(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let elsewhere = h.clinic("e", 1).await;
    let ctx = AuditCtx::operator();
    let wanted = slot("2027-03-02T10:00:00Z", 60);
    for (therapist, client, field) in [
        (c.clients[1], c.clients[0], "therapist_ids"),
        (c.therapist, c.therapist, "client_ids"),
        (c.clients[0], c.clients[0], "client_ids"),
        (elsewhere.therapist, c.clients[0], "therapist_ids"),
        (c.therapist, elsewhere.clients[0], "client_ids"),
    ] {
        match h.store.create_session(&ctx, c.org, one_on_one(therapist, client, wanted)).await {
            Err(circles_store::StoreError::Invalid(invalid)) => assert_eq!(invalid.0[0].field, field),
            other => panic!("expected {field} to be refused, got {other:?}"),
        }
    }
    let sessions = h.store.list_sessions(c.org, SessionFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert!(sessions.is_empty(), "nothing was written");
}

async fn the_clock_moves_sessions_to_in_progress_and_completed(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let start = circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_hours(1);
    let interval = circles_domain::interval::Interval::starting_at(start, SignedDuration::from_mins(60)).unwrap();
    let session = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], interval)).await.unwrap();
    let status_now = || async { h.store.session(&ctx, c.org, session.id, SessionView::Staff).await.unwrap().status };
    assert_eq!(status_now().await, SessionStatus::Scheduled);
    h.clock.advance(SignedDuration::from_mins(61));
    assert_eq!(status_now().await, SessionStatus::InProgress);
    let in_progress = h
        .store
        .list_sessions(
            c.org,
            SessionFilter { status: Some(SessionStatus::InProgress), limit: 10, ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(in_progress.len(), 1, "filters use the clock too");
    h.clock.advance(SignedDuration::from_mins(60));
    assert_eq!(status_now().await, SessionStatus::Completed);
    let cancel = h.store.cancel_session(&ctx, c.org, session.id, "late".into(), Canceller::Provider).await;
    assert_eq!(conflict_code(&cancel), Some("illegal_transition"), "a completed session cannot be cancelled");
}

async fn a_schedule_merges_therapist_and_client_sessions_in_order(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let t2 = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    let ctx = AuditCtx::operator();
    let late = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-03T15:00:00Z", 60)))
        .await
        .unwrap();
    let early = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T15:00:00Z", 60)))
        .await
        .unwrap();
    let cancelled = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-04T15:00:00Z", 60)))
        .await
        .unwrap();
    h.store.cancel_session(&ctx, c.org, cancelled.id, "x".into(), Canceller::Provider).await.unwrap();
    h.store.create_session(&ctx, c.org, one_on_one(t2, c.clients[0], slot("2027-03-02T17:00:00Z", 60))).await.unwrap();

    let (from, to) = (at("2027-03-01T00:00:00Z"), at("2027-03-10T00:00:00Z"));
    let therapist = h.store.schedule(c.org, c.therapist, from, to, false).await.unwrap();
    let ids: Vec<_> = therapist.iter().map(|e| e.session_id).collect();
    assert_eq!(ids, [early.id, late.id], "sorted, cancelled left out when asked");
    assert!(therapist.iter().all(|e| e.role == "therapist"));

    let with_cancelled = h.store.schedule(c.org, c.therapist, from, to, true).await.unwrap();
    let kept = with_cancelled.iter().find(|e| e.session_id == cancelled.id).expect("the cancelled session stays");
    assert_eq!(kept.status, SessionStatus::Cancelled);
    assert_eq!(with_cancelled.len(), 3);

    let client = h.store.schedule(c.org, c.clients[0], from, to, false).await.unwrap();
    let starts: Vec<_> = client.iter().map(|e| e.starts_at.to_string()).collect();
    assert_eq!(starts, ["2027-03-02T17:00:00Z", "2027-03-03T15:00:00Z"]);
    assert!(client.iter().all(|e| e.role == "client" && e.participation == "REGISTERED"));
    assert!(client.iter().all(|e| e.with_name.as_deref() == Some("A Person")), "a one-on-one names the other person");
    let therapists: Vec<Vec<_>> = client.iter().map(|e| e.therapists.iter().map(|(id, _)| *id).collect()).collect();
    assert_eq!(therapists, [vec![t2], vec![c.therapist]], "each entry names the therapists who accepted it");
    assert!(client.iter().flat_map(|e| &e.therapists).all(|(_, name)| name == "A Person"));

    let window = h
        .store
        .schedule(c.org, c.clients[0], at("2027-03-03T15:59:00Z"), at("2027-03-03T16:00:00Z"), false)
        .await
        .unwrap();
    assert_eq!(window.len(), 1, "a session overlapping the window counts");
}

async fn an_account_schedule_spans_organisations(backend: Backend) {
    let h = Harness::new(backend).await;
    let a = h.clinic("a", 1).await;
    let b = h.clinic("b", 1).await;
    let ctx = AuditCtx::operator();
    // The same account is a client in both organisations.
    let shared = h.person(b.org, "c0@a.example", Role::Client).await;
    h.store
        .create_session(&ctx, a.org, one_on_one(a.therapist, a.clients[0], slot("2027-03-02T15:00:00Z", 60)))
        .await
        .unwrap();
    h.store
        .create_session(&ctx, b.org, one_on_one(b.therapist, shared.id, slot("2027-03-02T12:00:00Z", 60)))
        .await
        .unwrap();
    let entries = h
        .store
        .account_schedule(shared.account_id, at("2027-03-01T00:00:00Z"), at("2027-03-05T00:00:00Z"), true)
        .await
        .unwrap();
    let orgs: Vec<_> = entries.iter().map(|e| e.org_id).collect();
    assert_eq!(orgs, [b.org, a.org], "both organisations, in time order");
}

async fn a_client_cancelling_late_is_recorded_as_late(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let now = circles_domain::Clock::now(h.clock.as_ref());
    let soon = circles_domain::interval::Interval::starting_at(
        now + SignedDuration::from_hours(3),
        SignedDuration::from_mins(50),
    )
    .unwrap();
    let session = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], soon)).await.unwrap();
    let cancelled =
        h.store.cancel_session(&ctx, c.org, session.id, "sick".into(), Canceller::Client(c.clients[0])).await.unwrap();
    assert_eq!(cancelled.seats[0].status, SeatStatus::LateCancelled);
}

async fn a_one_on_one_booking_runs_a_fixed_handful_of_statements(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let before = h.store.statements_run();
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    // Precheck, lock, working hours, busy time, four inserts, the audit
    // event, the confirmation in the inbox and the outbox, its live event
    // (the organisation's next number, the event, its recipients), and the
    // look-up of the webhook endpoints the event is owed to (so webhook
    // events commit with the change): a new statement on this path must
    // earn its place.
    let used = h.store.statements_run() - before;
    assert!(used <= 15, "a one-on-one booking ran {used} statements");
}
