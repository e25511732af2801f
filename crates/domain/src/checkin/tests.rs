use std::collections::BTreeMap;

use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::aggregate::{K_DEFAULT, Withheld, for_member, group_results, summarise};
use super::*;

fn all(values: &[i64]) -> BTreeMap<String, Value> {
    values.iter().enumerate().map(|(i, v)| (format!("q{}", i + 1), json!(v))).collect()
}

fn scored(which: Builtin, values: &[i64]) -> Score {
    let q = builtin(which);
    q.score(&q.validate(&all(values)).unwrap())
}

#[test]
fn phq9_totals_fall_in_the_published_bands() {
    let table: [(&[i64], i32, &str); 7] = [
        (&[0, 0, 0, 0, 0, 0, 0, 0, 0], 0, "minimal"),
        (&[1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal"),
        (&[1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),
        (&[2, 2, 2, 2, 1, 0, 0, 0, 0], 9, "mild"),
        (&[2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate"),
        (&[3, 3, 3, 3, 3, 2, 1, 1, 0], 19, "moderately severe"),
        (&[3, 3, 3, 3, 3, 3, 3, 3, 3], 27, "severe"),
    ];
    for (answers, total, band) in table {
        let s = scored(Builtin::Phq9, answers);
        assert_eq!((s.total, s.band.as_deref()), (Some(total), Some(band)), "{answers:?}");
    }
    let q = builtin(Builtin::Phq9);
    for (total, band) in [(14, "moderate"), (15, "moderately severe"), (20, "severe")] {
        assert_eq!(q.band(total).as_deref(), Some(band), "{total}");
    }
}

#[test]
fn gad7_totals_fall_in_the_published_bands() {
    let q = builtin(Builtin::Gad7);
    let table =
        [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"), (15, "severe")];
    for (total, band) in table {
        assert_eq!(q.band(total).as_deref(), Some(band), "{total}");
    }
    let s = scored(Builtin::Gad7, &[3, 3, 3, 3, 3, 3, 3]);
    assert_eq!((s.total, s.band.as_deref()), (Some(21), Some("severe")));
    assert_eq!(q.items.len(), 7);
}

#[test]
fn phq9_item_nine_above_zero_is_a_safety_alert_and_nothing_else_is() {
    assert!(scored(Builtin::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1]).safety_alert);
    assert!(!scored(Builtin::Phq9, &[3, 3, 3, 3, 3, 3, 3, 3, 0]).safety_alert);
    assert!(!scored(Builtin::Gad7, &[3, 3, 3, 3, 3, 3, 3]).safety_alert);
    assert!(!scored(Builtin::Mood, &[0]).safety_alert);
}

#[test]
fn mood_and_session_rating_are_totalled_without_bands() {
    let s = scored(Builtin::Mood, &[7]);
    assert_eq!((s.total, s.band), (Some(7), None));
    let s = scored(Builtin::SessionRating, &[10, 9, 8, 7]);
    assert_eq!((s.total, s.band), (Some(34), None));
}

#[test]
fn answers_name_every_field_that_is_wrong() {
    let q = builtin(Builtin::Phq9);
    let mut answers = all(&[0, 4, 0, -1, 0, 0, 0, 0]);
    answers.insert("q3".into(), json!("often"));
    answers.insert("q10".into(), json!(1));
    let err = q.validate(&answers).unwrap_err();
    let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["answers.q10", "answers.q2", "answers.q3", "answers.q4", "answers.q9"]);
    assert_eq!(err.0[4].reason, "is required");
    let mood = builtin(Builtin::Mood);
    assert_eq!(mood.validate(&all(&[11])).unwrap_err().0[0].reason, "must be a whole number from 0 to 10");
}

fn custom() -> Questionnaire {
    let input: CustomInput = serde_json::from_value(json!({
        "title": "Week check",
        "items": [
            {"prompt": "Energy", "kind": "scale", "min": 1, "max": 5},
            {"prompt": "Slept well?", "kind": "choice", "options": [{"label": "No", "value": 0}, {"label": "Yes", "value": 1}]},
            {"prompt": "Anything to add?", "kind": "text", "max_chars": 20, "required": false}
        ]
    }))
    .unwrap();
    input.parse(crate::ids::QuestionnaireId::new()).unwrap()
}

#[test]
fn custom_questionnaires_take_scale_choice_and_short_text_items() {
    let q = custom();
    let answers = q.validate(&BTreeMap::from([
        ("q1".into(), json!(4)),
        ("q2".into(), json!(1)),
        ("q3".into(), json!("  tired  ")),
    ]));
    let answers = answers.unwrap();
    assert_eq!(answers.texts["q3"], "tired");
    assert_eq!(q.score(&answers).total, Some(5));
    let too_long =
        BTreeMap::from([("q1".into(), json!(1)), ("q2".into(), json!(2)), ("q3".into(), json!("x".repeat(21)))]);
    let fields: Vec<String> = q.validate(&too_long).unwrap_err().0.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["answers.q2", "answers.q3"]);
    let skipped = q.validate(&BTreeMap::from([("q1".into(), json!(1)), ("q2".into(), json!(0))])).unwrap();
    assert!(skipped.texts.is_empty());
}

#[test]
fn custom_questionnaires_are_refused_field_by_field() {
    let input: CustomInput = serde_json::from_value(json!({
        "title": " ",
        "items": [
            {"prompt": "Energy", "kind": "scale", "min": 5, "max": 5},
            {"prompt": "Pick", "kind": "choice", "options": [{"label": "A", "value": 0}, {"label": "A", "value": 1}]},
            {"prompt": "", "kind": "slider"}
        ]
    }))
    .unwrap();
    let fields: Vec<String> =
        input.parse(crate::ids::QuestionnaireId::new()).unwrap_err().0.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["title", "items[0].max", "items[1].options[1]", "items[2].prompt", "items[2].kind"]);
}

#[test]
fn questionnaires_are_named_by_builtin_key_or_id() {
    assert_eq!(QuestionnaireRef::parse("phq9"), Ok(QuestionnaireRef::Builtin(Builtin::Phq9)));
    let id = crate::ids::QuestionnaireId::new();
    assert_eq!(QuestionnaireRef::parse(&id.to_string()), Ok(QuestionnaireRef::Custom(id)));
    assert!(QuestionnaireRef::parse("phq10").unwrap_err().contains("phq9"));
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn windows_are_minutes_from_the_start_before_and_from_the_end_after() {
    let (start, end) = (at("2026-03-02T10:00:00Z"), at("2026-03-02T11:30:00Z"));
    let before = WindowOffsets::parse(Phase::Before, Some(-60), Some(10)).unwrap().window(Phase::Before, start, end);
    assert_eq!((before.opens_at, before.closes_at), (at("2026-03-02T09:00:00Z"), at("2026-03-02T10:10:00Z")));
    let after = WindowOffsets::default_for(Phase::After).window(Phase::After, start, end);
    assert_eq!((after.opens_at, after.closes_at), (at("2026-03-02T11:20:00Z"), at("2026-03-03T11:30:00Z")));
    assert_eq!(before.state(at("2026-03-02T08:59:59Z")), WindowState::NotYetOpen);
    assert_eq!(before.state(at("2026-03-02T10:09:59Z")), WindowState::Open);
    assert_eq!(before.state(at("2026-03-02T10:10:00Z")), WindowState::Closed);
    let wrong = WindowOffsets::parse(Phase::Before, Some(10), Some(10)).unwrap_err();
    assert_eq!(wrong.0[0].field, "closes_minutes");
    assert_eq!(WindowOffsets::parse(Phase::After, Some(-20_000), None).unwrap_err().0[0].field, "opens_minutes");
}

#[test]
fn trends_read_better_or_worse_by_what_the_questionnaire_measures() {
    let phq9 = builtin(Builtin::Phq9);
    assert_eq!(phq9.trend(&[15, 12, 9]), Trend { change: Some(-3), direction: Some(Direction::Better) });
    assert_eq!(builtin(Builtin::Mood).trend(&[5, 3]).direction, Some(Direction::Worse));
    assert_eq!(phq9.trend(&[4, 4]).direction, Some(Direction::Same));
    assert_eq!(phq9.trend(&[4]), Trend { change: None, direction: None });
}

#[test]
fn summaries_give_mean_median_and_every_scale_point() {
    let s = summarise(vec![3, 1, 2, 2], Some((0..=3).collect())).unwrap();
    assert_eq!((s.count, s.mean, s.median), (4, 2.0, 2.0));
    assert_eq!(s.distribution, [(0, 0), (1, 1), (2, 2), (3, 1)]);
    assert_eq!(summarise(vec![1, 2], None).unwrap().median, 1.5);
    assert_eq!(summarise(Vec::new(), None), None);
}

#[test]
fn group_results_never_carry_free_text() {
    let q = custom();
    let answer = |t: &str| Answers {
        values: BTreeMap::from([("q1".into(), 3), ("q2".into(), 1)]),
        texts: BTreeMap::from([("q3".into(), t.into())]),
    };
    let results = group_results(&q, &[answer("private one"), answer("private two")]);
    let keys: Vec<&str> = results.items.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["q1", "q2"]);
    assert!(!format!("{results:?}").contains("private"));
}

fn mood(values: &[i32]) -> Vec<Answers> {
    values.iter().map(|v| Answers { values: BTreeMap::from([("q1".into(), *v)]), ..Default::default() }).collect()
}

fn closed_window() -> (Window, Timestamp) {
    let w = Window { opens_at: at("2026-03-02T09:00:00Z"), closes_at: at("2026-03-02T10:00:00Z") };
    (w, at("2026-03-02T10:00:00Z"))
}

#[test]
fn members_see_group_results_only_after_the_window_closes() {
    let q = builtin(Builtin::Mood);
    let (w, closed) = closed_window();
    let open = at("2026-03-02T09:59:59Z");
    assert_eq!(for_member(&q, &mood(&[1, 2, 3, 4, 5, 6]), 5, &w, open).unwrap_err(), Withheld::WindowOpen);
    assert_eq!(for_member(&q, &mood(&[1, 2, 3, 4, 5, 6]), 5, &w, closed).unwrap().total.unwrap().mean, 3.5);
}

proptest! {
    #[test]
    fn below_k_answers_members_see_nothing_aggregate(k in 3i64..12, values in proptest::collection::vec(0..=10i32, 0..40)) {
        let q = builtin(Builtin::Mood);
        let (w, closed) = closed_window();
        let shown = for_member(&q, &mood(&values), k, &w, closed);
        if (values.len() as i64) < k {
            prop_assert_eq!(shown.unwrap_err(), Withheld::TooFew);
        } else {
            let results = shown.unwrap();
            prop_assert_eq!(results.answered, values.len());
            let total = results.total.unwrap();
            prop_assert_eq!(total.distribution.iter().map(|(_, n)| n).sum::<usize>(), values.len());
            prop_assert!(total.mean >= 0.0 && total.mean <= 10.0);
        }
    }

    #[test]
    fn k_minus_one_answers_never_show_anything(values in proptest::collection::vec(0..=10i32, (K_DEFAULT - 1) as usize)) {
        let (w, closed) = closed_window();
        prop_assert_eq!(for_member(&builtin(Builtin::Mood), &mood(&values), K_DEFAULT, &w, closed).unwrap_err(), Withheld::TooFew);
    }
}

#[test]
fn window_edges_fall_due_once_they_come_and_pass_after_the_grace() {
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    let window = Window { opens_at: at("2026-03-02T10:00:00Z"), closes_at: at("2026-03-02T10:30:00Z") };
    assert!(window.due_edges(at("2026-03-02T09:59:59Z")).is_empty());
    assert_eq!(window.due_edges(at("2026-03-02T10:00:00Z")), [(WindowEdge::Opened, window.opens_at)]);
    assert_eq!(
        window.due_edges(at("2026-03-02T10:45:00Z")),
        [(WindowEdge::Opened, window.opens_at), (WindowEdge::Closed, window.closes_at)]
    );
    assert_eq!(window.due_edges(at("2026-03-02T11:15:00Z")), [(WindowEdge::Closed, window.closes_at)]);
    assert!(window.due_edges(at("2026-03-02T11:31:00Z")).is_empty());
}
