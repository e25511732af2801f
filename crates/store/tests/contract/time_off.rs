//! Time off: requests and decisions, busy time for new bookings, and cover
//! for the sessions already in the range.

use std::sync::Arc;

use circles_domain::Role;
use circles_domain::ids::{PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::{InvitationStatus, SeatStatus, SessionKind, SessionStatus};
use circles_domain::time_off::{TimeOffKind, TimeOffStatus};
use circles_store::StoreError;
use circles_store::model::{AuditCtx, NewTimeOff, SessionView, TimeOffFilter};
use circles_testkit::{Backend, backend_tests};
use futures::future::join_all;

use crate::availability::office_hours;
use crate::support::{Clinic, Harness, at, conflict_code, one_on_one, slot};

backend_tests!(
    a_request_counts_its_affected_sessions_and_refuses_overlapping_requests,
    approved_time_off_blocks_new_bookings_but_never_its_own_sessions,
    only_pending_requests_are_decided_and_only_open_ones_withdrawn,
    cover_ranks_free_therapists_first_then_by_sessions_then_by_shared_clients,
    approving_with_auto_reassign_moves_every_session_to_the_coverage_therapist,
    reassigning_is_all_or_nothing,
    an_auto_reassignment_that_clashes_still_approves_and_reports_why,
    cancelling_the_affected_sessions_frees_everyone,
    concurrent_overlapping_requests_admit_exactly_one,
);

fn request(therapist: PersonId, from: &str, to: &str, auto_reassign: bool) -> NewTimeOff {
    NewTimeOff {
        therapist_id: therapist,
        kind: TimeOffKind::Vacation,
        reason: "Family trip".into(),
        range: Interval::new(at(from), at(to)).unwrap(),
        auto_reassign,
    }
}

/// Five one-on-one sessions for the clinic's therapist, Tuesday to Saturday
/// of the first week of March 2027 at 15:00Z, with clients in turn.
async fn five_sessions(h: &Harness, c: &Clinic) -> Vec<SessionId> {
    let mut ids = Vec::new();
    for day in 0..5 {
        let start = format!("2027-03-0{}T15:00:00Z", day + 2);
        let client = c.clients[day % c.clients.len()];
        let booking = one_on_one(c.therapist, client, slot(&start, 50));
        ids.push(h.store.create_session(&AuditCtx::operator(), c.org, booking).await.unwrap().id);
    }
    ids
}

const WEEK_FROM: &str = "2027-03-02T00:00:00Z";
const WEEK_TO: &str = "2027-03-07T00:00:00Z";

async fn a_request_counts_its_affected_sessions_and_refuses_overlapping_requests(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let sessions = five_sessions(&h, &c).await;
    let requested =
        h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, false)).await.unwrap();
    assert_eq!(requested.status, TimeOffStatus::Pending);
    assert_eq!(requested.affected_sessions, 5, "requesting is never refused because of sessions");
    assert_eq!(requested.kind, TimeOffKind::Vacation);
    let affected = h.store.affected_sessions(c.org, requested.id).await.unwrap();
    assert_eq!(affected.iter().map(|a| a.session_id).collect::<Vec<_>>(), sessions);
    assert!(affected.iter().all(|a| a.status == SessionStatus::Scheduled && a.seats_taken == 1));

    let overlapping = h
        .store
        .request_time_off(&ctx, c.org, request(c.therapist, "2027-03-06T00:00:00Z", "2027-03-09T00:00:00Z", false))
        .await;
    let Err(StoreError::Conflict(conflict)) = overlapping else { panic!("expected a conflict") };
    assert_eq!(conflict.code, "time_off_overlap");
    assert_eq!(conflict.details["overlapping_id"], requested.id.to_string());
    // Touching is not overlapping; another therapist's time off never clashes.
    h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_TO, "2027-03-08T00:00:00Z", false)).await.unwrap();
    let other = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    h.store.request_time_off(&ctx, c.org, request(other, WEEK_FROM, WEEK_TO, false)).await.unwrap();
    // A denied request frees its range for a new one.
    h.store.deny_time_off(&ctx, c.org, requested.id, "Short-staffed".into()).await.unwrap();
    h.store.request_time_off(&ctx, c.org, request(c.therapist, "2027-03-03T00:00:00Z", WEEK_TO, false)).await.unwrap();

    let mine = TimeOffFilter { therapist: Some(c.therapist), limit: 10, ..Default::default() };
    let listed = h.store.list_time_off(c.org, mine.clone()).await.unwrap();
    let starts: Vec<String> = listed.iter().map(|t| t.starts_at.to_string()).collect();
    assert_eq!(starts, ["2027-03-07T00:00:00Z", "2027-03-03T00:00:00Z", "2027-03-02T00:00:00Z"], "newest first");
    let denied = TimeOffFilter { status: Some(TimeOffStatus::Denied), ..mine };
    let listed = h.store.list_time_off(c.org, denied).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].decision_reason.as_deref(), Some("Short-staffed"));
    assert!(matches!(
        h.store.request_time_off(&ctx, c.org, request(c.clients[0], WEEK_FROM, WEEK_TO, false)).await,
        Err(StoreError::Invalid(i)) if i.0[0].field == "therapist_id"
    ));
    // The sessions were never touched.
    for id in sessions {
        assert_eq!(
            h.store.session(&ctx, c.org, id, SessionView::Staff).await.unwrap().status,
            SessionStatus::Scheduled
        );
    }
}

async fn approved_time_off_blocks_new_bookings_but_never_its_own_sessions(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    five_sessions(&h, &c).await;
    let pending = h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, false)).await.unwrap();
    // Pending time off does not block.
    let booked = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T18:00:00Z", 50)))
        .await
        .unwrap();
    let approval = h.store.approve_time_off(&ctx, c.org, pending.id, None).await.unwrap();
    assert_eq!(approval.time_off.status, TimeOffStatus::Approved);
    assert_eq!(approval.time_off.affected_sessions, 6, "approval is never refused because of sessions");
    assert_eq!(approval.reassignment, None);
    assert!(approval.time_off.decided_at.is_some());

    let refused = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-04T18:00:00Z", 50)))
        .await;
    let Err(StoreError::Conflict(conflict)) = refused else { panic!("expected a conflict, got {refused:?}") };
    assert_eq!(conflict.code, "scheduling_conflict");
    assert_eq!(conflict.details["conflicts"][0]["kind"], "time_off");
    assert_eq!(conflict.details["conflicts"][0]["starts_at"], WEEK_FROM);
    assert_eq!(conflict.details["conflicts"][0]["ends_at"], WEEK_TO);
    assert_eq!(conflict.details["retry_hints"][0], WEEK_TO, "the first start after the time off");
    // Cancelling a session in the range frees it: affected goes down.
    h.store
        .cancel_session(&ctx, c.org, booked.id, "away".into(), circles_store::model::Canceller::Provider)
        .await
        .unwrap();
    assert_eq!(h.store.time_off(c.org, pending.id).await.unwrap().affected_sessions, 5);
    // The time off is not in busy_intervals: its rows are at most a day long.
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM busy_intervals WHERE kind NOT IN ('session', 'hold')").await, 0);
}

async fn only_pending_requests_are_decided_and_only_open_ones_withdrawn(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let t = |from: &str, to: &str| request(c.therapist, from, to, false);
    let approved =
        h.store.request_time_off(&ctx, c.org, t("2027-03-02T00:00:00Z", "2027-03-03T00:00:00Z")).await.unwrap();
    h.store.approve_time_off(&ctx, c.org, approved.id, None).await.unwrap();
    let cancelled =
        h.store.request_time_off(&ctx, c.org, t("2027-03-04T00:00:00Z", "2027-03-05T00:00:00Z")).await.unwrap();
    assert_eq!(h.store.cancel_time_off(&ctx, c.org, cancelled.id).await.unwrap().status, TimeOffStatus::Cancelled);
    let pending =
        h.store.request_time_off(&ctx, c.org, t("2027-03-06T00:00:00Z", "2027-03-07T00:00:00Z")).await.unwrap();

    for id in [approved.id, cancelled.id] {
        assert_eq!(conflict_code(&h.store.approve_time_off(&ctx, c.org, id, None).await), Some("illegal_transition"));
        assert_eq!(
            conflict_code(&h.store.deny_time_off(&ctx, c.org, id, "no".into()).await),
            Some("illegal_transition")
        );
    }
    assert_eq!(conflict_code(&h.store.cancel_time_off(&ctx, c.org, cancelled.id).await), Some("illegal_transition"));
    let other = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    let early = h.store.reassign_affected(&ctx, c.org, pending.id, other).await;
    assert_eq!(conflict_code(&early), Some("illegal_transition"), "cover is arranged once approved");
    let early = h.store.cancel_affected(&ctx, c.org, pending.id, "x".into()).await;
    assert_eq!(conflict_code(&early), Some("illegal_transition"));
    let self_cover = h.store.approve_time_off(&ctx, c.org, pending.id, Some(c.therapist)).await;
    assert!(matches!(&self_cover, Err(StoreError::Invalid(i)) if i.0[0].field == "coverage_therapist_id"));
    let client_cover = h.store.approve_time_off(&ctx, c.org, pending.id, Some(c.clients[0])).await;
    assert!(matches!(&client_cover, Err(StoreError::Invalid(i)) if i.0[0].field == "coverage_therapist_id"));
    assert_eq!(h.store.time_off(c.org, pending.id).await.unwrap().status, TimeOffStatus::Pending, "nothing written");
    let unknown = h.store.approve_time_off(&ctx, c.org, circles_domain::ids::TimeOffId::new(), None).await;
    assert!(matches!(unknown, Err(StoreError::NotFound("time off"))));
    let actions: Vec<String> =
        h.store.audit_events(c.org, None, 100).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in ["time_off.request", "time_off.approve", "time_off.cancel"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

async fn cover_ranks_free_therapists_first_then_by_sessions_then_by_shared_clients(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 5).await;
    let ctx = AuditCtx::operator();
    let therapist = |email: &'static str| h.person(c.org, email, Role::Therapist);
    let (free, familiar, busy_once, office, away) = (
        therapist("free@r.example").await.id,
        therapist("familiar@r.example").await.id,
        therapist("busy@r.example").await.id,
        therapist("office@r.example").await.id,
        therapist("away@r.example").await.id,
    );
    // Before the absence: `familiar` has seen two of the clients, `free` none.
    for client in [0, 1] {
        let start = format!("2027-03-01T2{client}:00:00Z");
        h.store.create_session(&ctx, c.org, one_on_one(familiar, c.clients[client], slot(&start, 50))).await.unwrap();
    }
    let sessions = five_sessions(&h, &c).await;
    // `busy_once` is booked over Wednesday's session; `office` keeps office
    // hours, which 15:00Z (10:00 New York) on Saturday is outside; `away`
    // asked for the same week off.
    h.store
        .create_session(&ctx, c.org, one_on_one(busy_once, c.clients[4], slot("2027-03-03T15:30:00Z", 50)))
        .await
        .unwrap();
    h.store.set_availability(&ctx, c.org, office, office_hours()).await.unwrap();
    h.store.request_time_off(&ctx, c.org, request(away, WEEK_FROM, WEEK_TO, false)).await.unwrap();
    let time_off =
        h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, false)).await.unwrap();

    let ranked = h.store.coverage(c.org, time_off.id).await.unwrap();
    let order: Vec<PersonId> = ranked.iter().map(|r| r.therapist_id).collect();
    // `familiar` and `free` cover all five (familiar first: two shared
    // clients); `busy_once` (one shared client) and `office` four each;
    // `away` none.
    assert_eq!(order, [familiar, free, busy_once, office, away]);
    assert!(ranked[0].covers_all && ranked[1].covers_all && !ranked[2].covers_all);
    assert_eq!(ranked[0].shared_clients, 2);
    assert_eq!(ranked[0].can_cover, sessions);
    assert_eq!(ranked[0].name, "A Person");
    let busy = ranked.iter().find(|r| r.therapist_id == busy_once).unwrap();
    assert_eq!(busy.cannot_cover, [sessions[1]]);
    let office_hours = ranked.iter().find(|r| r.therapist_id == office).unwrap();
    assert_eq!(office_hours.cannot_cover, [sessions[4]], "Saturday is outside office hours");
    assert_eq!(ranked[4].can_cover.len(), 0);
    assert!(ranked.iter().all(|r| r.therapist_id != c.therapist), "the absent therapist is no cover");
}

async fn approving_with_auto_reassign_moves_every_session_to_the_coverage_therapist(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let cover = h.person(c.org, "cover@r.example", Role::Therapist).await.id;
    let sessions = five_sessions(&h, &c).await;
    let time_off = h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, true)).await.unwrap();
    let approval = h.store.approve_time_off(&ctx, c.org, time_off.id, Some(cover)).await.unwrap();
    let reassignment = approval.reassignment.expect("auto_reassign with a coverage therapist");
    assert_eq!(reassignment.moved, sessions);
    assert!(reassignment.conflicts.is_empty());
    assert_eq!(approval.time_off.coverage_therapist_id, Some(cover));
    assert_eq!(approval.time_off.affected_sessions, 0, "nothing left to cover");

    for id in &sessions {
        let session = h.store.session(&ctx, c.org, *id, SessionView::Staff).await.unwrap();
        assert_eq!(session.therapists.len(), 1);
        assert_eq!(session.therapists[0].therapist_id, cover);
        assert_eq!(session.therapists[0].status, InvitationStatus::Accepted);
        assert_eq!(session.status, SessionStatus::Scheduled);
    }
    let from = at(WEEK_FROM);
    let to = at(WEEK_TO);
    assert_eq!(h.store.schedule(c.org, cover, from, to, false).await.unwrap().len(), 5);
    assert!(h.store.schedule(c.org, c.therapist, from, to, false).await.unwrap().is_empty());
    let busy_rows = |who: PersonId| {
        format!("SELECT COUNT(*) FROM busy_intervals WHERE CAST(person_id AS TEXT) = '{who}' AND kind = 'session'")
    };
    assert_eq!((h.db.scalar(&busy_rows(cover)).await, h.db.scalar(&busy_rows(c.therapist)).await), (5, 0));
    assert_eq!(h.overlapping_busy_pairs().await, 0);
    let reassigned = h.store.audit_events(c.org, None, 100).await.unwrap();
    let reassigned: Vec<_> = reassigned.iter().filter(|e| e.action == "session.reassign").collect();
    assert_eq!(reassigned.len(), 5);
    assert!(reassigned.iter().all(|e| e.subject_person_id.is_some()), "each names its client");
}

async fn reassigning_is_all_or_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 3).await;
    let ctx = AuditCtx::operator();
    let cover = h.person(c.org, "cover@r.example", Role::Therapist).await.id;
    let sessions = five_sessions(&h, &c).await;
    // The coverage therapist is busy over Friday's session.
    h.store
        .create_session(&ctx, c.org, one_on_one(cover, c.clients[2], slot("2027-03-05T15:20:00Z", 50)))
        .await
        .unwrap();
    let time_off =
        h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, false)).await.unwrap();
    h.store.approve_time_off(&ctx, c.org, time_off.id, None).await.unwrap();

    let refused = h.store.reassign_affected(&ctx, c.org, time_off.id, cover).await;
    let Err(StoreError::Conflict(conflict)) = refused else { panic!("expected a clash, got {refused:?}") };
    assert_eq!(conflict.code, "scheduling_conflict");
    assert_eq!(conflict.details["conflicts"][0]["starts_at"], "2027-03-05T15:20:00Z");
    assert_eq!(conflict.details["conflicts"][0]["person_id"], cover.to_string());
    for id in &sessions {
        let session = h.store.session(&ctx, c.org, *id, SessionView::Staff).await.unwrap();
        assert_eq!(session.therapists[0].therapist_id, c.therapist, "nothing moved");
    }
    assert_eq!(h.store.time_off(c.org, time_off.id).await.unwrap().affected_sessions, 5);

    // Another therapist, free all week, takes them all.
    let other = h.person(c.org, "other@r.example", Role::Therapist).await.id;
    let moved = h.store.reassign_affected(&ctx, c.org, time_off.id, other).await.unwrap();
    assert_eq!(moved.moved, sessions);
    assert_eq!(h.store.time_off(c.org, time_off.id).await.unwrap().coverage_therapist_id, Some(other));
}

async fn an_auto_reassignment_that_clashes_still_approves_and_reports_why(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 3).await;
    let ctx = AuditCtx::operator();
    let cover = h.person(c.org, "cover@r.example", Role::Therapist).await.id;
    let sessions = five_sessions(&h, &c).await;
    h.store
        .create_session(&ctx, c.org, one_on_one(cover, c.clients[2], slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    let time_off = h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, true)).await.unwrap();
    let approval = h.store.approve_time_off(&ctx, c.org, time_off.id, Some(cover)).await.unwrap();
    assert_eq!(approval.time_off.status, TimeOffStatus::Approved);
    let reassignment = approval.reassignment.unwrap();
    assert!(reassignment.moved.is_empty());
    assert_eq!(reassignment.conflicts.len(), 1);
    assert_eq!(reassignment.conflicts[0].starts_at, at("2027-03-02T15:00:00Z"));
    assert_eq!(approval.time_off.affected_sessions, sessions.len() as i64);
}

async fn cancelling_the_affected_sessions_frees_everyone(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    let sessions = five_sessions(&h, &c).await;
    // A co-facilitated group session in the range is affected too.
    let mut group = one_on_one(c.therapist, c.clients[1], slot("2027-03-02T18:00:00Z", 90));
    group.kind = SessionKind::Group;
    group.capacity = 6;
    group.group_id = Some(h.group(c.org, vec![c.therapist]).await);
    let group = h.store.create_session(&ctx, c.org, group).await.unwrap();
    let time_off =
        h.store.request_time_off(&ctx, c.org, request(c.therapist, WEEK_FROM, WEEK_TO, false)).await.unwrap();
    h.store.approve_time_off(&ctx, c.org, time_off.id, None).await.unwrap();
    let cancelled = h.store.cancel_affected(&ctx, c.org, time_off.id, "Therapist on leave".into()).await.unwrap();
    let mut expected = sessions.clone();
    expected.insert(1, group.id);
    assert_eq!(cancelled.iter().map(|a| a.session_id).collect::<Vec<_>>(), expected);
    assert!(cancelled.iter().all(|a| a.status == SessionStatus::Cancelled));
    for id in &expected {
        let session = h.store.session(&ctx, c.org, *id, SessionView::Staff).await.unwrap();
        assert_eq!(session.status, SessionStatus::Cancelled);
        assert_eq!(session.cancel_reason.as_deref(), Some("Therapist on leave"));
        assert!(session.seats.iter().all(|s| s.status == SeatStatus::CancelledByProvider));
    }
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM busy_intervals").await, 0, "everyone's time is free");
    assert_eq!(h.store.time_off(c.org, time_off.id).await.unwrap().affected_sessions, 0);
    let again = h.store.cancel_affected(&ctx, c.org, time_off.id, "again".into()).await.unwrap();
    assert!(again.is_empty());
}

async fn concurrent_overlapping_requests_admit_exactly_one(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 0).await;
    let attempts = (0..20).map(|i| {
        let store = Arc::clone(&h.store);
        let (org, therapist) = (c.org, c.therapist);
        let from = format!("2027-03-{:02}T00:00:00Z", 2 + i % 3);
        tokio::spawn(async move {
            store
                .request_time_off(&AuditCtx::operator(), org, request(therapist, &from, "2027-03-10T00:00:00Z", false))
                .await
        })
    });
    let outcomes: Vec<_> = join_all(attempts).await.into_iter().map(|r| r.unwrap()).collect();
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes.iter().filter(|o| conflict_code(o) == Some("time_off_overlap")).count();
    assert_eq!((won, refused), (1, 19), "{:?}", outcomes.iter().find(|o| o.is_err() && conflict_code(o).is_none()));
}
