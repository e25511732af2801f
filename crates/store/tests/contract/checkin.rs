//! Check-ins: answers validated, scored and editable within the window; a
//! group's check-in in every session of the group; the safety alert to the
//! clinicians only, in the answer's transaction; free text sealed at rest;
//! every read and write of answers audited.

use std::collections::BTreeMap;

use circles_domain::Role;
use circles_domain::checkin::{Builtin, CustomInput, Phase, QuestionnaireRef, WindowOffsets};
use circles_domain::ids::{CheckInId, GroupId, OrgId, PersonId, QuestionnaireId, SessionId};
use circles_domain::session::SessionKind;
use circles_store::StoreError;
use circles_store::model::{Approval, AuditCtx, CheckInResponse, CheckInTarget, NewCheckIn, NewSession, PastAnswer};
use circles_testkit::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::support::{Harness, conflict_code, details, slot};

backend_tests!(
    checkin_answers_are_validated_scored_and_editable_only_within_the_window,
    checkin_a_group_check_in_applies_to_every_session_and_builds_a_trend,
    checkin_a_safety_answer_alerts_the_clinicians_and_nobody_else_once,
    checkin_free_text_is_sealed_at_rest_and_every_answer_read_is_audited,
    checkin_group_numbers_carry_no_text_and_k_stays_in_bounds,
    checkin_past_answers_are_recorded_once_for_seated_members_of_closed_windows,
);

struct Circle {
    org: OrgId,
    admin: PersonId,
    therapist: PersonId,
    facilitator: PersonId,
    group: GroupId,
    clients: Vec<PersonId>,
}

async fn circle(h: &Harness, slug: &str, clients: usize) -> Circle {
    let (org, admin) = h.org(slug).await;
    let therapist = h.person(org.id, &format!("t@{slug}.example"), Role::Therapist).await.id;
    let facilitator = h.person(org.id, &format!("f@{slug}.example"), Role::Therapist).await.id;
    let group = h.group(org.id, vec![therapist, facilitator]).await;
    let mut ids = Vec::new();
    for i in 0..clients {
        ids.push(h.person(org.id, &format!("c{i}@{slug}.example"), Role::Client).await.id);
    }
    Circle { org: org.id, admin: admin.id, therapist, facilitator, group, clients: ids }
}

/// A session of the circle's group starting at `start`, with every client seated.
async fn session(h: &Harness, c: &Circle, start: &str) -> SessionId {
    let input = NewSession {
        kind: SessionKind::Group,
        details: details("Tuesday circle"),
        interval: slot(start, 60),
        timezone: "America/New_York".into(),
        capacity: 12,
        group_id: Some(c.group),
        therapist_ids: vec![c.therapist],
        client_ids: c.clients.clone(),
        therapists_must_accept: false,
        approval: Approval::NotNeeded,
    };
    h.store.create_session(&AuditCtx::operator(), c.org, input).await.unwrap().id
}

async fn attach(h: &Harness, c: &Circle, q: QuestionnaireRef, target: CheckInTarget) -> CheckInId {
    let new = NewCheckIn {
        questionnaire: q,
        target,
        phase: Phase::Before,
        offsets: WindowOffsets::default_for(Phase::Before),
    };
    h.store.attach_check_in(&AuditCtx::operator(), c.org, new).await.unwrap().id
}

fn phq9(values: [i64; 9]) -> BTreeMap<String, Value> {
    values.iter().enumerate().map(|(i, v)| (format!("q{}", i + 1), json!(v))).collect()
}

fn mood(value: i64) -> BTreeMap<String, Value> {
    BTreeMap::from([("q1".to_owned(), json!(value))])
}

/// How many of the organisation's audit events record `action`.
async fn audited(h: &Harness, org: OrgId, action: &str) -> usize {
    h.store.audit_events(org, None, 10_000).await.unwrap().iter().filter(|e| e.action == action).count()
}

/// `client` answers check-in `ci` of session `s`, as themselves.
async fn answer(
    h: &Harness,
    org: OrgId,
    s: SessionId,
    ci: CheckInId,
    client: PersonId,
    answers: BTreeMap<String, Value>,
) -> circles_store::Result<CheckInResponse> {
    let ctx = AuditCtx { person_id: Some(client), ..AuditCtx::default() };
    h.store.answer_check_in(&ctx, org, s, ci, client, &answers).await
}

async fn checkin_answers_are_validated_scored_and_editable_only_within_the_window(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = circle(&h, "w", 2).await;
    // The clock stands at 2027-03-01T12:00Z: the default window (a day
    // before the start until 15 minutes in) is open.
    let s = session(&h, &c, "2027-03-02T10:00:00Z").await;
    let ci = attach(&h, &c, QuestionnaireRef::Builtin(Builtin::Phq9), CheckInTarget::Session(s)).await;
    let client = c.clients[0];

    let listed = h.store.session_check_ins(c.org, s, client).await.unwrap();
    assert_eq!((listed.len(), listed[0].check_in.title.as_str(), listed[0].answered), (1, "PHQ-9", false));
    assert_eq!(h.store.open_check_ins(c.org, client).await.unwrap().len(), 1);

    let wrong = answer(&h, c.org, s, ci, client, mood(3)).await;
    let Err(StoreError::Invalid(invalid)) = wrong else { panic!("expected field errors, got {wrong:?}") };
    assert!(invalid.0.iter().any(|e| e.field == "answers.q9" && e.reason == "is required"));

    let first = answer(&h, c.org, s, ci, client, phq9([1, 1, 1, 1, 1, 1, 1, 0, 0])).await.unwrap();
    assert_eq!((first.score.total, first.score.band.as_deref()), (Some(7), Some("mild")));
    let again = answer(&h, c.org, s, ci, client, phq9([2, 2, 2, 2, 2, 2, 2, 2, 0])).await.unwrap();
    assert_eq!(again.score.band.as_deref(), Some("moderately severe"));
    assert_eq!(again.answered_at, first.answered_at, "one response per member, changed in place");
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM check_in_responses").await, 1);
    assert!(h.store.session_check_ins(c.org, s, client).await.unwrap()[0].answered);

    let stranger = h.person(c.org, "s@w.example", Role::Client).await.id;
    let refused = answer(&h, c.org, s, ci, stranger, phq9([0; 9])).await;
    assert_eq!(conflict_code(&refused), Some("no_seat"));

    h.clock.set("2027-03-02T10:15:00Z".parse().unwrap());
    let late = answer(&h, c.org, s, ci, client, phq9([0; 9])).await;
    assert_eq!(conflict_code(&late), Some("check_in_closed"));
    assert!(h.store.open_check_ins(c.org, client).await.unwrap().is_empty());
}

async fn checkin_a_group_check_in_applies_to_every_session_and_builds_a_trend(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = circle(&h, "g", 1).await;
    let client = c.clients[0];
    let first = session(&h, &c, "2027-03-02T10:00:00Z").await;
    let second = session(&h, &c, "2027-03-09T10:00:00Z").await;
    let ci = attach(&h, &c, QuestionnaireRef::Builtin(Builtin::Mood), CheckInTarget::Group(c.group)).await;
    for s in [first, second] {
        let listed = h.store.session_check_ins(c.org, s, client).await.unwrap();
        assert_eq!(listed.iter().map(|l| l.check_in.id).collect::<Vec<_>>(), [ci]);
    }
    answer(&h, c.org, first, ci, client, mood(4)).await.unwrap();
    h.clock.set("2027-03-08T12:00:00Z".parse().unwrap());
    let later = answer(&h, c.org, second, ci, client, mood(7)).await.unwrap();
    assert_eq!(later.history, [4, 7]);
    let trend = h
        .store
        .check_in_trend(&AuditCtx::operator(), c.org, client, QuestionnaireRef::Builtin(Builtin::Mood))
        .await
        .unwrap();
    assert_eq!(
        trend.iter().map(|p| (p.session_id, p.total)).collect::<Vec<_>>(),
        [(first, Some(4)), (second, Some(7))]
    );

    let elsewhere = circle(&h, "other", 1).await;
    let foreign = h.store.session_check_ins(elsewhere.org, first, client).await;
    assert!(matches!(foreign, Err(StoreError::NotFound(_))));
    let foreign = h.store.check_in_answers(&AuditCtx::operator(), elsewhere.org, first, ci, None).await;
    assert!(matches!(foreign, Err(StoreError::NotFound(_))));
}

async fn checkin_a_safety_answer_alerts_the_clinicians_and_nobody_else_once(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = circle(&h, "a", 2).await;
    let s = session(&h, &c, "2027-03-02T10:00:00Z").await;
    let ci = attach(&h, &c, QuestionnaireRef::Builtin(Builtin::Phq9), CheckInTarget::Session(s)).await;
    let (worried, other) = (c.clients[0], c.clients[1]);
    let answered = answer(&h, c.org, s, ci, worried, phq9([0, 0, 0, 0, 0, 0, 0, 0, 1])).await.unwrap();
    assert!(answered.score.safety_alert);
    let alerts = |p: PersonId| {
        let store = h.store.clone();
        async move {
            let inbox = store.notifications(c.org, p, false, 100).await.unwrap();
            inbox.iter().filter(|n| n.kind == "check_in_alert").count()
        }
    };
    for clinician in [c.therapist, c.facilitator, c.admin] {
        assert_eq!(alerts(clinician).await, 1, "{clinician:?}");
    }
    for member in [worried, other] {
        assert_eq!(alerts(member).await, 0, "{member:?}");
    }
    answer(&h, c.org, s, ci, worried, phq9([1, 0, 0, 0, 0, 0, 0, 0, 2])).await.unwrap();
    assert_eq!(alerts(c.therapist).await, 1, "a changed answer that still alerts does not alert twice");
    assert_eq!(audited(&h, c.org, "check_in.safety_alert").await, 1);
    let owed = "SELECT COUNT(*) FROM deliveries WHERE kind = 'check_in_alert'";
    assert_eq!(h.db.scalar(owed).await, 3, "an e-mail owed to each clinician through the outbox");
}

async fn checkin_free_text_is_sealed_at_rest_and_every_answer_read_is_audited(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = circle(&h, "t", 1).await;
    let client = c.clients[0];
    let s = session(&h, &c, "2027-03-02T10:00:00Z").await;
    let input: CustomInput = serde_json::from_value(json!({
        "title": "How was the week",
        "items": [
            {"prompt": "Energy", "kind": "scale", "min": 1, "max": 5},
            {"prompt": "Anything to tell us?", "kind": "text", "required": false}
        ]
    }))
    .unwrap();
    let q = input.parse(QuestionnaireId::new()).unwrap();
    h.store.create_questionnaire(&AuditCtx::operator(), c.org, &q).await.unwrap();
    let all = h.store.questionnaires(c.org).await.unwrap();
    assert_eq!(
        all.iter().map(|q| q.title.as_str()).collect::<Vec<_>>(),
        ["Mood", "PHQ-9", "GAD-7", "Session rating", "How was the week"]
    );
    let ci = attach(&h, &c, q.id, CheckInTarget::Session(s)).await;
    let answers = BTreeMap::from([("q1".to_owned(), json!(2)), ("q2".to_owned(), json!("slept badly all week"))]);
    answer(&h, c.org, s, ci, client, answers).await.unwrap();

    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM check_in_responses WHERE text_answers LIKE '%slept%'").await, 0);
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM check_in_responses WHERE text_answers IS NOT NULL").await, 1);
    assert_eq!(audited(&h, c.org, "check_in.read").await, 0);
    let read = h.store.check_in_answers(&AuditCtx::operator(), c.org, s, ci, None).await.unwrap();
    assert_eq!(read.responses[0].answers.texts["q2"], "slept badly all week");
    assert_eq!(read.responses[0].score.total, Some(2));
    assert_eq!(audited(&h, c.org, "check_in.read").await, 1);
    assert_eq!(audited(&h, c.org, "check_in.answer").await, 1);
}

async fn checkin_group_numbers_carry_no_text_and_k_stays_in_bounds(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = circle(&h, "k", 3).await;
    let s = session(&h, &c, "2027-03-02T10:00:00Z").await;
    let ci = attach(&h, &c, QuestionnaireRef::Builtin(Builtin::Mood), CheckInTarget::Session(s)).await;
    for (i, client) in c.clients.iter().enumerate() {
        answer(&h, c.org, s, ci, *client, mood(i as i64 + 5)).await.unwrap();
    }
    let numbers = h.store.check_in_numbers(c.org, s, ci, c.clients[0]).await.unwrap();
    assert_eq!(numbers.k, 5);
    assert_eq!(numbers.responses.len(), 3);
    assert!(numbers.check_in.answered, "as the reader sees it");
    assert!(numbers.responses.iter().all(|(_, a)| a.texts.is_empty()));
    let too_small = h.store.set_check_in_k(&AuditCtx::operator(), c.org, 2).await;
    assert!(matches!(too_small, Err(StoreError::Invalid(ref i)) if i.0[0].field == "check_in_k"));
    assert_eq!(h.store.set_check_in_k(&AuditCtx::operator(), c.org, 3).await.unwrap(), 3);
    assert_eq!(h.store.check_in_k(c.org).await.unwrap(), 3);
}

async fn checkin_past_answers_are_recorded_once_for_seated_members_of_closed_windows(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = circle(&h, "p", 2).await;
    // The clock stands at 2027-03-01T12:00Z: last week's window has closed,
    // tomorrow's is open.
    let past = session(&h, &c, "2027-02-22T10:00:00Z").await;
    let open = session(&h, &c, "2027-03-02T10:00:00Z").await;
    let ci = attach(&h, &c, QuestionnaireRef::Builtin(Builtin::Mood), CheckInTarget::Group(c.group)).await;
    let given = |session, member, value| PastAnswer {
        session,
        check_in: ci,
        member,
        answers: mood(value),
        answered_at: "2027-02-22T09:00:00Z".parse().unwrap(),
    };
    let ctx = AuditCtx::operator().acting_as(c.facilitator);
    let answers = [given(past, c.clients[0], 4), given(past, c.clients[1], 6)];
    assert_eq!(h.store.record_past_answers(&ctx, c.org, &answers).await.unwrap(), 2);
    let numbers = h.store.check_in_numbers(c.org, past, ci, c.facilitator).await.unwrap();
    let mut values: Vec<i32> = numbers.responses.iter().map(|(_, a)| a.values["q1"]).collect();
    values.sort();
    assert_eq!(values, [4, 6]);
    assert_eq!(audited(&h, c.org, "check_in.answer_recorded").await, 2);

    // An open window is the members' own; a second answer, or one from
    // someone without a seat, is refused, and nothing of the batch stays.
    let refused = h.store.record_past_answers(&ctx, c.org, &[given(open, c.clients[0], 5)]).await;
    assert_eq!(conflict_code(&refused), Some("check_in_not_closed"));
    let stranger = h.person(c.org, "s@p.example", Role::Client).await.id;
    let refused = h.store.record_past_answers(&ctx, c.org, &[given(past, stranger, 5)]).await;
    assert_eq!(conflict_code(&refused), Some("no_seat"));
    let twice = h.store.record_past_answers(&ctx, c.org, &[given(past, c.clients[0], 9)]).await;
    assert!(twice.is_err(), "one answer per member: {twice:?}");
    assert_eq!(h.db.scalar("SELECT COUNT(*) FROM check_in_responses").await, 2);
}
