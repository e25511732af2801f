//! Working hours: a therapist's week, the free-slot search over many
//! therapists, and one-on-one bookings kept inside the hours.

use circles_domain::Role;
use circles_domain::availability::{RuleInput, WeeklyAvailability};
use circles_domain::ids::PersonId;
use circles_domain::input::TimeZoneName;
use circles_domain::session::{Modality, SessionKind};
use circles_domain::time_off::TimeOffKind;
use circles_store::model::{AuditCtx, AvailabilitySearch, NewHold, NewTimeOff};
use circles_store::{Store, StoreError};
use circles_testkit::{Backend, backend_tests};
use jiff::{SignedDuration, Timestamp};

use crate::support::{Harness, at, conflict_code, details, one_on_one, slot};

backend_tests!(
    a_week_is_replaced_whole_and_read_back,
    one_on_one_bookings_and_holds_keep_to_working_hours,
    a_window_takes_at_most_max_sessions_a_day,
    the_search_removes_busy_time_time_off_and_full_windows,
    a_search_costs_the_same_statements_for_one_or_sixty_therapists,
    free_at_lists_therapists_free_for_the_whole_duration,
    searching_for_someone_who_is_not_a_therapist_names_the_field,
    a_search_pages_through_therapists_in_id_order_from_a_cursor,
);

/// `(weekday, start, end)` rules in New York, the harness organisation's zone.
pub fn week(rules: &[(&str, &str, &str)]) -> WeeklyAvailability {
    let inputs: Vec<RuleInput<'_>> = rules
        .iter()
        .map(|&(weekday, start_time, end_time)| RuleInput { weekday, start_time, end_time, ..RuleInput::default() })
        .collect();
    WeeklyAvailability::parse("America/New_York", &inputs).unwrap()
}

/// Weekdays 09:00–12:00 and 13:00–17:00.
pub fn office_hours() -> WeeklyAvailability {
    let days = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    let rules: Vec<(&str, &str, &str)> =
        days.iter().flat_map(|&d| [(d, "09:00", "12:00"), (d, "13:00", "17:00")]).collect();
    week(&rules)
}

pub fn search(therapists: Option<Vec<PersonId>>, from: &str, to: &str, minutes: i64) -> AvailabilitySearch {
    AvailabilitySearch {
        therapists,
        from: at(from),
        to: at(to),
        duration: SignedDuration::from_mins(minutes),
        step: SignedDuration::from_mins(15),
        modality: None,
        zone: TimeZoneName::parse("America/New_York").unwrap(),
        cursor: None,
        page_size: circles_domain::search::MAX_THERAPISTS,
    }
}

fn times(starts: &[Timestamp]) -> Vec<String> {
    starts.iter().map(|s| s.to_string()).collect()
}

async fn a_week_is_replaced_whole_and_read_back(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let never_set = h.store.availability(c.org, c.therapist).await.unwrap();
    assert!(never_set.week.is_unrestricted());
    assert_eq!(never_set.week.timezone().as_str(), "America/New_York", "the organisation's zone");
    assert_eq!(never_set.updated_at, None);

    let set = h.store.set_availability(&ctx, c.org, c.therapist, office_hours()).await.unwrap();
    assert_eq!(set.week, office_hours());
    let read = h.store.availability(c.org, c.therapist).await.unwrap();
    assert_eq!(read.week, office_hours());
    assert_eq!(read.updated_at, Some(circles_domain::Clock::now(h.clock.as_ref())));

    let mut evenings = RuleInput { weekday: "tuesday", start_time: "18:00", end_time: "21:00", ..Default::default() };
    evenings.modality = Some("VIRTUAL");
    evenings.max_sessions = Some(2);
    evenings.location = Some("Zoom");
    evenings.effective_from = Some("2027-03-01");
    evenings.effective_to = Some("2027-06-30");
    let replacement = WeeklyAvailability::parse("Europe/London", &[evenings]).unwrap();
    h.store.set_availability(&ctx, c.org, c.therapist, replacement.clone()).await.unwrap();
    let read = h.store.availability(c.org, c.therapist).await.unwrap();
    assert_eq!(read.week, replacement, "every field round-trips and the old rules are gone");

    for not_a_therapist in [c.clients[0], PersonId::new()] {
        let found = h.store.availability(c.org, not_a_therapist).await;
        assert!(matches!(found, Err(StoreError::NotFound("therapist"))), "{found:?}");
        let set = h.store.set_availability(&ctx, c.org, not_a_therapist, office_hours()).await;
        assert!(matches!(&set, Err(StoreError::Invalid(i)) if i.0[0].field == "therapist_id"), "{set:?}");
    }
    let events = h.store.audit_events(c.org, None, 100).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "availability.set").count(), 2);
}

async fn one_on_one_bookings_and_holds_keep_to_working_hours(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    h.store.set_availability(&ctx, c.org, c.therapist, office_hours()).await.unwrap();
    // Tuesday 2027-03-02: 09:00 New York is 14:00Z.
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T14:00:00Z", 60)))
        .await
        .unwrap();

    let lunch = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T16:30:00Z", 60)))
        .await;
    let Err(StoreError::Conflict(refusal)) = lunch else { panic!("expected outside_availability, got {lunch:?}") };
    assert_eq!(refusal.code, "outside_availability");
    let hints: Vec<&str> =
        refusal.details["retry_hints"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    // After 11:30 the next hour that fits is 13:00 New York (18:00Z).
    assert_eq!(
        hints,
        [
            "2027-03-02T18:00:00Z",
            "2027-03-02T18:15:00Z",
            "2027-03-02T18:30:00Z",
            "2027-03-02T18:45:00Z",
            "2027-03-02T19:00:00Z"
        ]
    );
    for hint in &hints {
        let fits = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot(hint, 60))).await;
        let session = fits.unwrap_or_else(|e| panic!("hint {hint} should be bookable: {e:?}"));
        h.store
            .cancel_session(&ctx, c.org, session.id, "checking".into(), circles_store::model::Canceller::Provider)
            .await
            .unwrap();
    }
    // A clash inside the hours hints inside the hours too.
    let clash = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T14:30:00Z", 60)))
        .await;
    let Err(StoreError::Conflict(clash)) = clash else { panic!("expected a clash") };
    assert_eq!(clash.code, "scheduling_conflict");
    let hints: Vec<&str> =
        clash.details["retry_hints"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    assert_eq!(
        hints,
        [
            "2027-03-02T15:00:00Z",
            "2027-03-02T15:15:00Z",
            "2027-03-02T15:30:00Z",
            "2027-03-02T15:45:00Z",
            "2027-03-02T16:00:00Z"
        ]
    );
    // Late in the morning window, the next hint that fits is after lunch.
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:30:00Z", 90)))
        .await
        .unwrap();
    let late = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-02T16:00:00Z", 60)))
        .await;
    let Err(StoreError::Conflict(late)) = late else { panic!("expected a clash") };
    assert_eq!(late.details["retry_hints"][0], "2027-03-02T18:00:00Z", "13:00 New York, not 12:00 in the lunch gap");

    // Saturday, and a hold straddling the end of the day.
    let saturday = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], slot("2027-03-06T15:00:00Z", 60)))
        .await;
    assert_eq!(conflict_code(&saturday), Some("outside_availability"));
    let hold = NewHold {
        therapist_id: c.therapist,
        client_id: c.clients[1],
        slots: vec![slot("2027-03-03T21:30:00Z", 60)],
        expires_at: at("2027-03-01T12:05:00Z"),
        details: details("Intake"),
        timezone: "America/New_York".into(),
    };
    assert_eq!(conflict_code(&h.store.create_hold(&ctx, c.org, hold).await), Some("outside_availability"));

    // A virtual-only evening refuses an in-person session but takes a virtual one.
    let mut rules = office_hours().rules().to_vec();
    rules.push(week(&[("wednesday", "18:00", "20:00")]).rules()[0].clone());
    rules.last_mut().unwrap().modality = Some(Modality::Virtual);
    let with_evening = WeeklyAvailability::from_parts(TimeZoneName::parse("America/New_York").unwrap(), rules);
    h.store.set_availability(&ctx, c.org, c.therapist, with_evening).await.unwrap();
    let evening = slot("2027-03-03T23:00:00Z", 60);
    let in_person = h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[1], evening)).await;
    assert_eq!(conflict_code(&in_person), Some("outside_availability"));
    let mut video = one_on_one(c.therapist, c.clients[1], evening);
    video.details.modality = Modality::Virtual;
    video.details.virtual_link = Some("https://meet.example/x".into());
    h.store.create_session(&ctx, c.org, video).await.unwrap();

    // Group sessions are only checked for clashes; a therapist without rules is unrestricted.
    let mut group = one_on_one(c.therapist, c.clients[0], slot("2027-03-06T15:00:00Z", 90));
    group.kind = SessionKind::Group;
    group.capacity = 8;
    group.group_id = Some(h.group(c.org, vec![c.therapist]).await);
    h.store.create_session(&ctx, c.org, group).await.unwrap();
    let anytime = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    h.store
        .create_session(&ctx, c.org, one_on_one(anytime, c.clients[1], slot("2027-03-07T03:00:00Z", 60)))
        .await
        .unwrap();
}

async fn a_window_takes_at_most_max_sessions_a_day(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 3).await;
    let ctx = AuditCtx::operator();
    let mut limited = week(&[("tuesday", "09:00", "17:00")]);
    let mut rules = limited.rules().to_vec();
    rules[0].max_sessions = Some(2);
    limited = WeeklyAvailability::from_parts(limited.timezone().clone(), rules);
    h.store.set_availability(&ctx, c.org, c.therapist, limited).await.unwrap();
    for (client, start) in [(0, "2027-03-02T14:00:00Z"), (1, "2027-03-02T16:00:00Z")] {
        h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[client], slot(start, 60))).await.unwrap();
    }
    let third = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[2], slot("2027-03-02T19:00:00Z", 60)))
        .await;
    let Err(StoreError::Conflict(full)) = third else { panic!("expected a full window") };
    assert_eq!(full.code, "outside_availability");
    assert!(full.message.contains("already holds its 2 sessions"), "{}", full.message);
    assert_eq!(full.details["retry_hints"][0], "2027-03-09T14:00:00Z", "next Tuesday");
    let found = h
        .store
        .search_availability(c.org, search(None, "2027-03-02T00:00:00Z", "2027-03-10T00:00:00Z", 60))
        .await
        .unwrap()
        .into_free_starts();
    assert!(found[0].starts.iter().all(|s| *s >= at("2027-03-09T00:00:00Z")), "nothing left on the full day");
    assert_eq!(found[0].starts.len(), 29, "next Tuesday 09:00 to 16:00 every 15 minutes");
}

async fn the_search_removes_busy_time_time_off_and_full_windows(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 3).await;
    let ctx = AuditCtx::operator();
    let anytime = h.person(c.org, "t2@r.example", Role::Therapist).await.id;
    h.store.set_availability(&ctx, c.org, c.therapist, week(&[("wednesday", "09:00", "12:00")])).await.unwrap();
    // Wednesday 2027-03-03, New York 09:00 = 14:00Z: a session 10:00–10:50 local,
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-03T15:00:00Z", 50)))
        .await
        .unwrap();
    // a live hold 11:30–12:00 and one that has expired by the time of the search.
    let hold = |client: usize, start: &str, expires: &str| NewHold {
        therapist_id: c.therapist,
        client_id: c.clients[client],
        slots: vec![slot(start, 30)],
        expires_at: at(expires),
        details: details("Hold"),
        timezone: "America/New_York".into(),
    };
    h.store.create_hold(&ctx, c.org, hold(1, "2027-03-03T16:30:00Z", "2027-03-01T13:00:00Z")).await.unwrap();
    h.store.create_hold(&ctx, c.org, hold(2, "2027-03-03T14:00:00Z", "2027-03-01T12:01:00Z")).await.unwrap();
    h.clock.advance(SignedDuration::from_mins(2));
    let found = h
        .store
        .search_availability(c.org, search(Some(vec![c.therapist]), "2027-03-03T00:00:00Z", "2027-03-04T00:00:00Z", 30))
        .await
        .unwrap()
        .into_free_starts();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].therapist_id, c.therapist);
    assert_eq!(
        times(&found[0].starts),
        ["2027-03-03T14:00:00Z", "2027-03-03T14:15:00Z", "2027-03-03T14:30:00Z", "2027-03-03T16:00:00Z"],
        "09:00–10:00 (the expired hold no longer counts), then 11:00 before the hold at 11:30"
    );

    // Approved time off removes the rest of the day; pending time off does not.
    let off = |from: &str, to: &str| NewTimeOff {
        therapist_id: anytime,
        kind: TimeOffKind::Conference,
        reason: String::new(),
        range: circles_domain::interval::Interval::new(at(from), at(to)).unwrap(),
        auto_reassign: false,
    };
    let approved =
        h.store.request_time_off(&ctx, c.org, off("2027-03-03T05:00:00Z", "2027-03-04T05:00:00Z")).await.unwrap();
    h.store.approve_time_off(&ctx, c.org, approved.id, None).await.unwrap();
    h.store.request_time_off(&ctx, c.org, off("2027-03-04T05:00:00Z", "2027-03-05T05:00:00Z")).await.unwrap();
    let found = h
        .store
        .search_availability(c.org, search(Some(vec![anytime]), "2027-03-03T04:00:00Z", "2027-03-04T06:00:00Z", 60))
        .await
        .unwrap()
        .into_free_starts();
    // A therapist without rules: the grid runs from local midnight, every 15 minutes.
    assert_eq!(
        times(&found[0].starts),
        [
            "2027-03-03T04:00:00Z",
            "2027-03-04T05:00:00Z",
            "2027-03-04T05:15:00Z",
            "2027-03-04T05:30:00Z",
            "2027-03-04T05:45:00Z"
        ]
    );
    let every = h
        .store
        .search_availability(c.org, search(None, "2027-03-03T00:00:00Z", "2027-03-04T00:00:00Z", 30))
        .await
        .unwrap()
        .into_free_starts();
    let mut expected = vec![c.therapist, anytime];
    expected.sort();
    assert_eq!(every.iter().map(|f| f.therapist_id).collect::<Vec<_>>(), expected, "every therapist, in id order");
}

async fn a_search_costs_the_same_statements_for_one_or_sixty_therapists(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let mut therapists = vec![c.therapist];
    for i in 1..60 {
        therapists.push(h.person(c.org, &format!("t{i}@r.example"), Role::Therapist).await.id);
    }
    for (i, &therapist) in therapists.iter().enumerate() {
        if i % 3 != 0 {
            h.store.set_availability(&ctx, c.org, therapist, office_hours()).await.unwrap();
        }
        let client = h.person(c.org, &format!("c{i}x@r.example"), Role::Client).await.id;
        h.store
            .create_session(&ctx, c.org, one_on_one(therapist, client, slot("2027-03-02T15:00:00Z", 60)))
            .await
            .unwrap();
    }
    let org = c.org;
    let cost = |store: &std::sync::Arc<dyn Store>, therapists: Vec<PersonId>| {
        let store = store.clone();
        async move {
            let before = store.statements_run();
            let found = store
                .search_availability(org, search(Some(therapists), "2027-03-01T00:00:00Z", "2027-04-12T00:00:00Z", 50))
                .await
                .unwrap()
                .into_free_starts();
            (store.statements_run() - before, found)
        }
    };
    let (one, found_one) = cost(&h.store, vec![c.therapist]).await;
    let (sixty, found_sixty) = cost(&h.store, therapists.clone()).await;
    let (all, found_all) = cost(&h.store, therapists.clone()).await;
    assert_eq!(found_one.len(), 1);
    assert_eq!((found_sixty.len(), found_all.len()), (60, 60));
    assert!(found_sixty.iter().all(|f| !f.starts.is_empty()));
    assert_eq!(one, sixty, "statements for 1 and for 60 therapists");
    assert_eq!(sixty, all);
    assert_eq!(one, 4, "therapists, weeks, busy rows, time off");
}

async fn free_at_lists_therapists_free_for_the_whole_duration(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let [anytime, mornings, video] = [
        h.person(c.org, "t2@r.example", Role::Therapist).await.id,
        h.person(c.org, "t3@r.example", Role::Therapist).await.id,
        h.person(c.org, "t4@r.example", Role::Therapist).await.id,
    ];
    h.store.set_availability(&ctx, c.org, mornings, week(&[("tuesday", "09:00", "12:00")])).await.unwrap();
    let mut rules = week(&[("tuesday", "09:00", "17:00")]).rules().to_vec();
    rules[0].modality = Some(Modality::Virtual);
    let virtual_week = WeeklyAvailability::from_parts(TimeZoneName::parse("America/New_York").unwrap(), rules);
    h.store.set_availability(&ctx, c.org, video, virtual_week).await.unwrap();
    // The first therapist is busy 11:30–12:30 New York on Tuesday.
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T16:30:00Z", 60)))
        .await
        .unwrap();
    let sorted = |mut ids: Vec<PersonId>| {
        ids.sort();
        ids
    };
    let at_eleven = slot("2027-03-02T16:00:00Z", 60);
    assert_eq!(h.store.free_at(c.org, at_eleven, None).await.unwrap(), sorted(vec![anytime, mornings, video]));
    assert_eq!(
        h.store.free_at(c.org, at_eleven, Some(Modality::InPerson)).await.unwrap(),
        sorted(vec![anytime, mornings])
    );
    assert_eq!(
        h.store.free_at(c.org, at_eleven, Some(Modality::Virtual)).await.unwrap(),
        sorted(vec![anytime, mornings, video])
    );
    let at_eleven_thirty = slot("2027-03-02T16:30:00Z", 60);
    assert_eq!(
        h.store.free_at(c.org, at_eleven_thirty, None).await.unwrap(),
        sorted(vec![anytime, video]),
        "mornings ends at 12:00 and the first therapist is busy"
    );
}

async fn searching_for_someone_who_is_not_a_therapist_names_the_field(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let elsewhere = h.clinic("e", 0).await;
    for stranger in [c.clients[0], elsewhere.therapist, PersonId::new()] {
        let found = h
            .store
            .search_availability(
                c.org,
                search(Some(vec![c.therapist, stranger]), "2027-03-02T00:00:00Z", "2027-03-03T00:00:00Z", 60),
            )
            .await;
        match found {
            Err(StoreError::Invalid(invalid)) => {
                assert_eq!(invalid.0[0].field, "therapist_ids");
                assert!(invalid.0[0].reason.contains(&stranger.to_string()));
            }
            other => panic!("expected therapist_ids to be refused, got {other:?}"),
        }
    }
}

async fn a_search_pages_through_therapists_in_id_order_from_a_cursor(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 0).await;
    let mut all = vec![c.therapist];
    for i in 2..=5 {
        all.push(h.person(c.org, &format!("t{i}@r.example"), Role::Therapist).await.id);
    }
    all.sort();
    let page = |therapists: Option<Vec<PersonId>>, cursor: Option<PersonId>| {
        let mut wanted = search(therapists, "2027-03-02T00:00:00Z", "2027-03-03T00:00:00Z", 60);
        wanted.cursor = cursor;
        wanted.page_size = 2;
        let store = h.store.clone();
        async move { store.search_availability(c.org, wanted).await.unwrap() }
    };

    // Every therapist, two at a time, in id order.
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let before = h.store.statements_run();
        let found = page(None, cursor).await;
        assert_eq!(h.store.statements_run() - before, 4, "a page costs what a whole search costs");
        assert!(found.therapists.len() <= 2);
        seen.extend(found.therapists.iter().copied());
        pages += 1;
        match found.next_therapist {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, all, "each therapist once, in order");
    assert_eq!(pages, 3);

    // A listed set pages the same way, and a cursor skips what came before it.
    let listed = vec![all[4], all[0], all[2]];
    let first = page(Some(listed.clone()), None).await;
    assert_eq!(first.therapists, [all[0], all[2]]);
    assert_eq!(first.next_therapist, Some(all[4]));
    let rest = page(Some(listed), first.next_therapist).await;
    assert_eq!(rest.therapists, [all[4]]);
    assert_eq!(rest.next_therapist, None);
    let found = rest.into_free_starts();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].starts.len(), 96, "a therapist without rules is free every 15 minutes of the day");
}
