//! Seats, invitations and moves on single sessions: joining a group
//! session, answering a facilitation invitation, rescheduling.

use circles_domain::Role;
use circles_domain::group::GroupType;
use circles_domain::session::{InvitationStatus, SeatStatus, SessionKind, SessionStatus};
use circles_store::StoreError;
use circles_store::model::{Approval, AuditCtx, GroupFields, NewGroup, NewSession, Response};
use circles_testkit::{Backend, backend_tests};
use jiff::civil::date;

use crate::support::{Harness, conflict_code, details, one_on_one, slot};

backend_tests!(
    a_member_joins_a_group_session_once_and_an_outsider_not_at_all,
    accepting_the_last_invitation_schedules_the_proposal_and_answers_once,
    rescheduling_moves_everyones_time_and_refuses_a_clash,
    a_unique_violation_is_a_conflict_named_by_its_constraint,
);

fn proposal(group: circles_domain::ids::GroupId, therapist: circles_domain::ids::PersonId) -> NewSession {
    NewSession {
        kind: SessionKind::Group,
        details: details("Circle"),
        interval: slot("2027-03-10T23:00:00Z", 60),
        timezone: "America/New_York".into(),
        capacity: 4,
        group_id: Some(group),
        therapist_ids: vec![therapist],
        client_ids: vec![],
        therapists_must_accept: true,
        approval: Approval::NotNeeded,
    }
}

async fn therapy_group(
    h: &Harness,
    org: circles_domain::ids::OrgId,
    therapist: circles_domain::ids::PersonId,
) -> circles_domain::ids::GroupId {
    let fields = GroupFields {
        name: "Tuesday circle".into(),
        description: String::new(),
        group_type: GroupType::Therapy,
        open: true,
        capacity: Some(4),
        requires_screening: false,
        target_population: None,
        age_range: None,
        modality: None,
        virtual_link: None,
        location: Some("Room 2".into()),
        address: None,
        settings: Default::default(),
        recurrence: None,
    };
    let input = NewGroup { fields, moderator_ids: Vec::new(), facilitator_ids: vec![therapist] };
    h.store.create_group(&AuditCtx::operator(), org, input).await.unwrap().id
}

async fn a_member_joins_a_group_session_once_and_an_outsider_not_at_all(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("j", 2).await;
    let ctx = AuditCtx::operator();
    let group = therapy_group(&h, c.org, c.therapist).await;
    h.store.add_member(&ctx, c.org, group, c.clients[0], date(2027, 3, 1), None).await.unwrap();
    let mut input = proposal(group, c.therapist);
    input.therapists_must_accept = false;
    let session = h.store.create_session(&ctx, c.org, input).await.unwrap();
    assert_eq!(session.status, SessionStatus::Scheduled);

    let seat = h.store.join_session(&ctx, c.org, session.id, c.clients[0]).await.unwrap();
    assert_eq!((seat.client_id, seat.status), (c.clients[0], SeatStatus::Registered));
    let again = h.store.join_session(&ctx, c.org, session.id, c.clients[0]).await;
    assert_eq!(conflict_code(&again), Some("already_joined"));
    let outsider = h.store.join_session(&ctx, c.org, session.id, c.clients[1]).await;
    assert!(matches!(outsider, Err(StoreError::NotFound(_))), "{outsider:?}");
    let busy = h.db.scalar(&format!("SELECT COUNT(*) FROM busy_intervals WHERE person_id = '{}'", c.clients[0])).await;
    assert_eq!(busy, 1, "the seat holds the member's time once");

    // Leaving and joining again reuses the seat.
    h.store.leave_session(&ctx, c.org, session.id, c.clients[0]).await.unwrap();
    let back = h.store.join_session(&ctx, c.org, session.id, c.clients[0]).await.unwrap();
    assert_eq!((back.id, back.status), (seat.id, SeatStatus::Registered));
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn accepting_the_last_invitation_schedules_the_proposal_and_answers_once(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("i", 0).await;
    let ctx = AuditCtx::operator();
    let group = therapy_group(&h, c.org, c.therapist).await;
    let session = h.store.create_session(&ctx, c.org, proposal(group, c.therapist)).await.unwrap();
    assert_eq!(session.status, SessionStatus::Proposed);
    let invitation = session.therapists[0].id;
    let busy = format!("SELECT COUNT(*) FROM busy_intervals WHERE person_id = '{}'", c.therapist);
    assert_eq!(h.db.scalar(&busy).await, 0, "an invited therapist is not yet busy");

    let stranger = h.person(c.org, "t2@i.example", Role::Therapist).await.id;
    let theirs = h.store.respond_invitation(&ctx, c.org, invitation, stranger, Response::Accept, None).await;
    assert!(matches!(theirs, Err(StoreError::NotFound(_))), "only the invited therapist answers: {theirs:?}");

    let answered = h
        .store
        .respond_invitation(&ctx, c.org, invitation, c.therapist, Response::Accept, Some("Glad to".into()))
        .await
        .unwrap();
    assert_eq!(answered.assignment.status, InvitationStatus::Accepted);
    assert_eq!(answered.session.status, SessionStatus::Scheduled, "the only invitation was accepted");
    assert_eq!(h.db.scalar(&busy).await, 1, "accepting holds the therapist's time");

    let twice = h.store.respond_invitation(&ctx, c.org, invitation, c.therapist, Response::Decline, None).await;
    assert!(twice.is_err(), "an invitation is answered once: {twice:?}");
    assert_eq!(h.db.scalar(&busy).await, 1);
}

async fn rescheduling_moves_everyones_time_and_refuses_a_clash(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("m", 1).await;
    let ctx = AuditCtx::operator();
    let first = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-10T15:00:00Z", 50)))
        .await
        .unwrap();
    let second = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-11T15:00:00Z", 50)))
        .await
        .unwrap();

    let moved = h.store.reschedule_session(&ctx, c.org, first.id, slot("2027-03-12T15:00:00Z", 50)).await.unwrap();
    assert_eq!(moved.starts_at, "2027-03-12T15:00:00Z".parse().unwrap());
    assert_eq!(moved.seats.len(), 1, "the client moves with it");

    // The old time is free again: the second session may move into it.
    h.store.reschedule_session(&ctx, c.org, second.id, slot("2027-03-10T15:00:00Z", 50)).await.unwrap();
    // The new time is taken: nothing may move onto it.
    let clash = h.store.reschedule_session(&ctx, c.org, second.id, slot("2027-03-12T15:30:00Z", 50)).await;
    assert_eq!(conflict_code(&clash), Some("scheduling_conflict"), "{clash:?}");
    let kept = h.store.session(&ctx, c.org, second.id, circles_store::model::SessionView::Staff).await.unwrap();
    assert_eq!(kept.starts_at, "2027-03-10T15:00:00Z".parse().unwrap(), "a refused move changes nothing");
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn a_unique_violation_is_a_conflict_named_by_its_constraint(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("u", 2).await;
    let ctx = AuditCtx::operator();
    let group = therapy_group(&h, c.org, c.therapist).await;
    let mut input = proposal(group, c.therapist);
    input.therapists_must_accept = false;
    let session = h.store.create_session(&ctx, c.org, input).await.unwrap();
    for &client in &c.clients {
        h.store.add_member(&ctx, c.org, group, client, date(2027, 3, 1), None).await.unwrap();
        h.store.join_session(&ctx, c.org, session.id, client).await.unwrap();
    }

    // Giving the second seat to the first client breaks (org, session, client).
    let write = format!(
        "UPDATE seats SET client_id = '{}' WHERE org_id = '{}' AND session_id = '{}' AND client_id = '{}'",
        c.clients[0], c.org, session.id, c.clients[1]
    );
    let refused = h.db.write_through_backend(&write).await;
    assert_eq!(conflict_code(&refused), Some("already_joined"), "{refused:?}");
    let seats = format!("SELECT COUNT(*) FROM seats WHERE client_id = '{}'", c.clients[1]);
    assert_eq!(h.db.scalar(&seats).await, 1, "nothing was written");
}
