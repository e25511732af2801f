//! Recurring therapy groups: generating a series, splitting it from a date,
//! and the roster changes that seat members on it.

use circles_domain::Role;
use circles_domain::group::{GroupType, MembershipStatus};
use circles_domain::ids::{GroupId, OrgId, PersonId};
use circles_domain::recurrence::RecurrenceInput;
use circles_store::model::{AuditCtx, GroupFields, MembershipChange, NewGroup, NewHold, ScreeningInput, SeriesChange};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use jiff::civil::{Date, date, time};

use crate::support::{Harness, details, one_on_one, slot};

backend_tests!(
    generation_makes_one_session_per_date_and_seats_the_members_of_that_date,
    generation_retires_an_expired_hold_in_the_series_way,
    a_fortnightly_split_from_an_off_week_keeps_its_weeks,
    a_screening_rejection_before_the_join_date_closes_the_membership,
    seating_a_new_member_skips_clashes_and_retires_expired_holds,
);

/// Fortnightly on Wednesdays at 18:00 New York time from 2027-03-03: the
/// 3rd and 17th of March, the 31st, the 14th and 28th of April.
fn fortnightly() -> RecurrenceInput {
    RecurrenceInput {
        rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE".into(),
        start_date: "2027-03-03".into(),
        start_time: "18:00".into(),
        timezone: "America/New_York".into(),
        duration_minutes: 60,
        end_date: None,
        exdates: vec![],
    }
}

struct TherapyGroup {
    org: OrgId,
    group: GroupId,
    therapist: PersonId,
    clients: Vec<PersonId>,
}

async fn therapy_group(h: &Harness, screening: bool, clients: usize) -> TherapyGroup {
    let c = h.clinic("r", clients).await;
    let fields = GroupFields {
        name: "Thursday circle".into(),
        description: String::new(),
        group_type: GroupType::Therapy,
        open: true,
        capacity: Some(8),
        requires_screening: screening,
        target_population: None,
        age_range: None,
        modality: None,
        virtual_link: None,
        location: Some("Room 2".into()),
        address: None,
        settings: Default::default(),
        recurrence: Some(fortnightly()),
    };
    let input = NewGroup { fields, moderator_ids: Vec::new(), facilitator_ids: vec![c.therapist] };
    let group = h.store.create_group(&AuditCtx::operator(), c.org, input).await.unwrap().id;
    TherapyGroup { org: c.org, group, therapist: c.therapist, clients: c.clients }
}

async fn enrol(h: &Harness, g: &TherapyGroup, client: usize, join: Date) -> circles_store::model::GroupMember {
    h.store.add_member(&AuditCtx::operator(), g.org, g.group, g.clients[client], join, None).await.unwrap()
}

fn local_dates(sessions: &[circles_store::model::Session]) -> Vec<String> {
    sessions.iter().map(|s| s.recurrence_id.clone().unwrap()[..10].to_owned()).collect()
}

async fn generation_makes_one_session_per_date_and_seats_the_members_of_that_date(backend: Backend) {
    let h = Harness::new(backend).await;
    let g = therapy_group(&h, false, 2).await;
    enrol(&h, &g, 0, date(2027, 3, 1)).await;
    enrol(&h, &g, 1, date(2027, 3, 20)).await;
    let ctx = AuditCtx::operator();

    let made =
        h.store.generate_sessions(&ctx, g.org, g.group, date(2027, 3, 1), date(2027, 4, 30), false).await.unwrap();
    assert_eq!(local_dates(&made.created), ["2027-03-03", "2027-03-17", "2027-03-31", "2027-04-14", "2027-04-28"]);
    let seated = |i: usize| made.created[i].seats.iter().map(|s| s.client_id).collect::<Vec<_>>();
    assert_eq!(seated(1), [g.clients[0]], "the second member joins on the 20th");
    assert_eq!(seated(2).len(), 2);
    assert!(made.created.iter().all(|s| s.therapists[0].therapist_id == g.therapist));

    let again =
        h.store.generate_sessions(&ctx, g.org, g.group, date(2027, 3, 1), date(2027, 5, 31), false).await.unwrap();
    assert_eq!(local_dates(&again.created), ["2027-05-12", "2027-05-26"]);
    assert_eq!(again.already_generated, 5, "nothing is made twice");
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn generation_retires_an_expired_hold_in_the_series_way(backend: Backend) {
    let h = Harness::new(backend).await;
    let g = therapy_group(&h, false, 1).await;
    enrol(&h, &g, 0, date(2027, 3, 1)).await;
    let ctx = AuditCtx::operator();
    // 18:00 New York on 2027-03-17 (daylight time) is 22:00 UTC.
    let in_the_way = NewHold {
        therapist_id: g.therapist,
        client_id: g.clients[0],
        slots: vec![slot("2027-03-17T22:00:00Z", 60)],
        expires_at: circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_mins(5),
        details: details("Intake"),
        timezone: "America/New_York".into(),
    };
    let hold = h.store.create_hold(&ctx, g.org, in_the_way).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(10));
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM busy_intervals WHERE kind = 'hold'").await, 2, "not yet retired");

    let made =
        h.store.generate_sessions(&ctx, g.org, g.group, date(2027, 3, 1), date(2027, 3, 31), false).await.unwrap();
    assert_eq!(local_dates(&made.created), ["2027-03-03", "2027-03-17", "2027-03-31"]);
    assert_eq!(made.created[1].seats.len(), 1, "the member is seated on the 17th");
    assert!(made.seats_skipped.is_empty() && made.skipped.is_empty());
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM busy_intervals WHERE kind = 'hold'").await, 0);
    let expired =
        h.db.scalar(&format!("SELECT COUNT(*) FROM holds WHERE id = '{}' AND status = 'expired'", hold.id)).await;
    assert_eq!(expired, 1, "the hold is closed as expired");
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn a_fortnightly_split_from_an_off_week_keeps_its_weeks(backend: Backend) {
    let h = Harness::new(backend).await;
    let g = therapy_group(&h, false, 1).await;
    enrol(&h, &g, 0, date(2027, 3, 1)).await;
    let ctx = AuditCtx::operator();
    h.store.generate_sessions(&ctx, g.org, g.group, date(2027, 3, 1), date(2027, 4, 30), false).await.unwrap();

    // Monday 2027-03-22 is in an off-week: the series resumes on the 31st.
    let change = SeriesChange {
        from: date(2027, 3, 22),
        start_time: Some(time(19, 0, 0, 0)),
        duration_minutes: None,
        facilitator_ids: None,
    };
    let split = h.store.split_series(&ctx, g.org, g.group, change).await.unwrap();
    assert_eq!(local_dates(&split.moved), ["2027-03-31", "2027-04-14", "2027-04-28"]);
    assert_eq!(split.moved[0].starts_at, "2027-03-31T23:00:00Z".parse().unwrap(), "19:00 daylight time");
    let recurrence = split.group.fields.recurrence.unwrap();
    assert_eq!((recurrence.start_date.as_str(), recurrence.start_time.as_str()), ("2027-03-31", "19:00"));

    let again =
        h.store.generate_sessions(&ctx, g.org, g.group, date(2027, 3, 1), date(2027, 5, 31), false).await.unwrap();
    assert_eq!(local_dates(&again.created), ["2027-05-12", "2027-05-26"], "no session in an off-week");
    let sessions = h.db.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE group_id = '{}'", g.group)).await;
    assert_eq!(sessions, 7);
    let seats = h.db.scalar(&format!("SELECT COUNT(*) FROM seats WHERE client_id = '{}'", g.clients[0])).await;
    assert_eq!(seats, 7, "one seat per date");
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn a_screening_rejection_before_the_join_date_closes_the_membership(backend: Backend) {
    let h = Harness::new(backend).await;
    let g = therapy_group(&h, true, 1).await;
    let member = enrol(&h, &g, 0, date(2027, 3, 15)).await;
    assert_eq!(member.status, MembershipStatus::PendingScreening);

    let rejection = MembershipChange {
        exit_reason: Some("needs individual work first".into()),
        screening: Some(ScreeningInput {
            date: date(2027, 3, 2),
            notes: "Not ready for a group".into(),
            approved: false,
        }),
        ..MembershipChange::default()
    };
    let updated = h.store.update_member(&AuditCtx::operator(), g.org, g.group, member.id, rejection).await.unwrap();
    let closed = updated.member;
    assert_eq!(closed.status, MembershipStatus::Inactive);
    assert_eq!(closed.exit_reason.as_deref(), Some("needs individual work first"));
    let screening = closed.screening.unwrap();
    assert_eq!((screening.date, screening.approved), (date(2027, 3, 2), false));
    assert_eq!(screening.notes, "Not ready for a group");
    assert_eq!(closed.leave_date, Some(date(2027, 3, 15)), "the period ends where it would have begun");
    assert_eq!(updated.future_seats, 0);
}

async fn seating_a_new_member_skips_clashes_and_retires_expired_holds(backend: Backend) {
    let h = Harness::new(backend).await;
    let g = therapy_group(&h, false, 2).await;
    let ctx = AuditCtx::operator();
    h.store.generate_sessions(&ctx, g.org, g.group, date(2027, 3, 1), date(2027, 4, 14), false).await.unwrap();
    let other = h.person(g.org, "other@r.example", Role::Therapist).await.id;
    // An appointment on the 17th (22:00 UTC) and an expired hold on the 31st.
    h.store
        .create_session(&ctx, g.org, one_on_one(other, g.clients[1], slot("2027-03-17T22:30:00Z", 50)))
        .await
        .unwrap();
    let hold = NewHold {
        therapist_id: other,
        client_id: g.clients[1],
        slots: vec![slot("2027-03-31T22:00:00Z", 60)],
        expires_at: circles_domain::Clock::now(h.clock.as_ref()) + SignedDuration::from_mins(5),
        details: details("Intake"),
        timezone: "America/New_York".into(),
    };
    h.store.create_hold(&ctx, g.org, hold).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(10));

    let member = enrol(&h, &g, 1, date(2027, 3, 1)).await;
    let report = h.store.seat_in_upcoming(&ctx, g.org, g.group, member.id).await.unwrap();
    assert_eq!(report.seated.len(), 3, "the 3rd, 31st and 14th: {report:?}");
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, "scheduling_conflict");
    assert_eq!(report.skipped[0].starts_at, "2027-03-17T22:00:00Z".parse().unwrap());
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM holds WHERE status = 'expired'").await, 1);
    assert_eq!(h.overlapping_busy_pairs().await, 0);

    let again = h.store.seat_in_upcoming(&ctx, g.org, g.group, member.id).await.unwrap();
    assert!(again.seated.is_empty(), "seats are never taken twice");
}
