//! The questionnaires every organisation has without making them: a mood
//! scale, the PHQ-9 and GAD-7 (public-domain screening instruments, with
//! their published item wording, 0–3 answer scale and severity bands) and a
//! four-item session rating written for Circles.

use super::{Band, Builtin, ChoiceOption, Item, ItemKind, Questionnaire, QuestionnaireRef};

/// The PHQ-9's and GAD-7's answer scale, as published.
fn frequency() -> ItemKind {
    let labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"];
    ItemKind::Choice {
        options: labels.iter().zip(0..).map(|(label, value)| ChoiceOption { label: (*label).into(), value }).collect(),
    }
}

fn items(prompts: &[&str], kind: impl Fn() -> ItemKind) -> Vec<Item> {
    prompts
        .iter()
        .enumerate()
        .map(|(i, prompt)| Item { key: format!("q{}", i + 1), prompt: (*prompt).into(), kind: kind(), required: true })
        .collect()
}

fn bands(edges: &[(i32, i32, &str)]) -> Vec<Band> {
    edges.iter().map(|(min, max, label)| Band { min: *min, max: *max, label: (*label).into() }).collect()
}

const PHQ9: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so fidgety \
     or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
];

const GAD7: [&str; 7] = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
];

const SESSION_RATING: [&str; 4] = [
    "I felt heard and respected in the group today",
    "We spent the time on things that matter to me",
    "The way the session was run suited me",
    "Overall, today's session was worth my time",
];

fn zero_to_ten(low: &str, high: &str) -> ItemKind {
    ItemKind::Scale { min: 0, max: 10, min_label: low.into(), max_label: high.into() }
}

/// The built-in questionnaire `which`.
pub fn builtin(which: Builtin) -> Questionnaire {
    let id = QuestionnaireRef::Builtin(which);
    match which {
        Builtin::Mood => Questionnaire {
            id,
            title: "Mood".into(),
            instructions: "How is your mood right now?".into(),
            items: items(&["Mood right now"], || zero_to_ten("Very low", "Very good")),
            bands: Vec::new(),
            higher_is_better: true,
            safety_item: None,
        },
        Builtin::Phq9 => Questionnaire {
            id,
            title: "PHQ-9".into(),
            instructions: "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
                .into(),
            items: items(&PHQ9, frequency),
            bands: bands(&[
                (0, 4, "minimal"),
                (5, 9, "mild"),
                (10, 14, "moderate"),
                (15, 19, "moderately severe"),
                (20, 27, "severe"),
            ]),
            higher_is_better: false,
            // Item 9 asks about thoughts of death or self-harm: any answer
            // above "Not at all" is for a clinician to see at once.
            safety_item: Some("q9".into()),
        },
        Builtin::Gad7 => Questionnaire {
            id,
            title: "GAD-7".into(),
            instructions: "Over the last 2 weeks, how often have you been bothered by the following problems?".into(),
            items: items(&GAD7, frequency),
            bands: bands(&[(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]),
            higher_is_better: false,
            safety_item: None,
        },
        Builtin::SessionRating => Questionnaire {
            id,
            title: "Session rating".into(),
            instructions: "How was today's session for you? 0 is not at all, 10 is completely.".into(),
            items: items(&SESSION_RATING, || zero_to_ten("Not at all", "Completely")),
            bands: Vec::new(),
            higher_is_better: true,
            safety_item: None,
        },
    }
}

/// Every built-in questionnaire, in the order they are listed.
pub fn builtins() -> Vec<Questionnaire> {
    Builtin::ALL.iter().map(|b| builtin(*b)).collect()
}
