//! Check-ins: short questionnaires attached to sessions, answered by the
//! members, scored and banded for the facilitator, and summarised for the
//! group without exposing any one member.
//!
//! A check-in attaches a questionnaire to one session or to every session
//! of a group, before or after the session, with an answer window in minutes
//! relative to the start (before) or the end (after). Answers are validated
//! here against the questionnaire; [`aggregate`] holds the privacy rules of
//! group results.

pub mod access;
pub mod aggregate;
mod custom;
mod instruments;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::QuestionnaireId;
use crate::spelling::spelled_enum;
use crate::validation::{Invalid, Validator};

pub use custom::{CustomInput, ITEM_KINDS, ItemInput, OptionInput};
pub use instruments::{builtin, builtins};

spelled_enum!(
    /// The questionnaires built in for every organisation.
    Builtin {
        Mood = "mood",
        Phq9 = "phq9",
        Gad7 = "gad7",
        SessionRating = "session_rating",
    }
);

spelled_enum!(
    /// Whether a check-in is answered before the session or after it.
    Phase {
        Before = "BEFORE",
        After = "AFTER",
    }
);

/// Which questionnaire: a built-in by key, or an organisation's own by id.
/// Stored and sent as one text: the key or the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionnaireRef {
    Builtin(Builtin),
    Custom(QuestionnaireId),
}

impl QuestionnaireRef {
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(b) = text.parse::<Builtin>() {
            return Ok(Self::Builtin(b));
        }
        text.parse::<QuestionnaireId>().map(Self::Custom).map_err(|_| {
            format!("must be a built-in questionnaire ({}) or a questionnaire's id", spelled(Builtin::ALL))
        })
    }
}

fn spelled(all: &[Builtin]) -> String {
    all.iter().map(|b| b.wire()).collect::<Vec<_>>().join(", ")
}

impl std::fmt::Display for QuestionnaireRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Builtin(b) => f.write_str(b.wire()),
            Self::Custom(id) => id.fmt(f),
        }
    }
}

/// One answer option of a choice item, with the number it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub label: String,
    pub value: i32,
}

/// What kind of answer an item takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemKind {
    /// A whole number from `min` to `max`.
    Scale { min: i32, max: i32, min_label: String, max_label: String },
    /// One of the options, answered by its value.
    Choice { options: Vec<ChoiceOption> },
    /// Short free text: never scored, never aggregated, sealed at rest.
    Text { max_chars: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The item's name in answers: `q1`, `q2`, … in order.
    pub key: String,
    pub prompt: String,
    pub kind: ItemKind,
    pub required: bool,
}

impl Item {
    pub fn is_numeric(&self) -> bool {
        !matches!(self.kind, ItemKind::Text { .. })
    }
}

/// A severity band of totals, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    pub min: i32,
    pub max: i32,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Questionnaire {
    pub id: QuestionnaireRef,
    pub title: String,
    pub instructions: String,
    pub items: Vec<Item>,
    /// Severity bands of the total (empty: the total is not banded).
    pub bands: Vec<Band>,
    /// Whether a rising total is good news (mood) or bad (PHQ-9), for trends.
    pub higher_is_better: bool,
    /// The item whose answer above its lowest value raises a safety alert.
    pub safety_item: Option<String>,
}

/// Validated answers: numbers for scale and choice items, text for text
/// items; skipped optional items are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub values: BTreeMap<String, i32>,
    pub texts: BTreeMap<String, String>,
}

/// What a set of answers means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// Sum of the numeric answers; `None` when the questionnaire has none.
    pub total: Option<i32>,
    pub band: Option<String>,
    /// The answers need a clinician's attention now (PHQ-9 item 9 above 0).
    pub safety_alert: bool,
}

impl Questionnaire {
    /// Checks `answers` (item key → JSON value) against the items: every
    /// required item answered, numbers in range, texts within length, no
    /// unknown item. Each problem names its field, `answers.<key>`.
    pub fn validate(&self, answers: &BTreeMap<String, serde_json::Value>) -> Result<Answers, Invalid> {
        let mut v = Validator::default();
        let mut out = Answers::default();
        for key in answers.keys().filter(|k| !self.items.iter().any(|i| &i.key == *k)) {
            v.reject(&format!("answers.{key}"), "is not an item of this questionnaire");
        }
        for item in &self.items {
            let field = format!("answers.{}", item.key);
            match answers.get(&item.key).filter(|a| !a.is_null()) {
                None if item.required => v.reject(&field, "is required"),
                None => {}
                Some(answer) => match item.answer(answer) {
                    Ok(Answer::Value(n)) => {
                        out.values.insert(item.key.clone(), n);
                    }
                    Ok(Answer::Text(t)) => {
                        out.texts.insert(item.key.clone(), t);
                    }
                    Err(reason) => v.reject(&field, reason),
                },
            }
        }
        v.done(|| Some(out))
    }

    /// Total, band and safety alert of validated answers.
    pub fn score(&self, answers: &Answers) -> Score {
        let numeric = self.items.iter().any(Item::is_numeric);
        let total = numeric.then(|| answers.values.values().sum::<i32>());
        let band = total.and_then(|t| self.band(t));
        let safety_alert = self.safety_item.as_ref().is_some_and(|key| {
            let lowest = self.items.iter().find(|i| &i.key == key).and_then(Item::lowest);
            matches!((answers.values.get(key), lowest), (Some(v), Some(low)) if *v > low)
        });
        Score { total, band, safety_alert }
    }

    /// The severity band a total falls in, if the questionnaire has bands.
    pub fn band(&self, total: i32) -> Option<String> {
        self.bands.iter().find(|b| (b.min..=b.max).contains(&total)).map(|b| b.label.clone())
    }
}

enum Answer {
    Value(i32),
    Text(String),
}

impl Item {
    fn answer(&self, answer: &serde_json::Value) -> Result<Answer, String> {
        let whole = || answer.as_i64().and_then(|n| i32::try_from(n).ok());
        match &self.kind {
            ItemKind::Scale { min, max, .. } => whole()
                .filter(|n| (*min..=*max).contains(n))
                .map(Answer::Value)
                .ok_or_else(|| format!("must be a whole number from {min} to {max}")),
            ItemKind::Choice { options } => {
                whole().filter(|n| options.iter().any(|o| o.value == *n)).map(Answer::Value).ok_or_else(|| {
                    let values: Vec<String> = options.iter().map(|o| o.value.to_string()).collect();
                    format!("must be one of the options' values: {}", values.join(", "))
                })
            }
            ItemKind::Text { max_chars } => match answer.as_str().map(str::trim) {
                Some(t) if t.chars().count() > *max_chars => Err(format!("must be at most {max_chars} characters")),
                Some("") if self.required => Err("is required".into()),
                Some(t) => Ok(Answer::Text(t.to_owned())),
                None => Err("must be text".into()),
            },
        }
    }

    fn lowest(&self) -> Option<i32> {
        match &self.kind {
            ItemKind::Scale { min, .. } => Some(*min),
            ItemKind::Choice { options } => options.iter().map(|o| o.value).min(),
            ItemKind::Text { .. } => None,
        }
    }
}

/// The widest window offset: a week either side of the session.
pub const WINDOW_LIMIT_MINUTES: i64 = 7 * 24 * 60;

/// When a check-in may be answered, as minutes from its anchor (the start
/// for `BEFORE`, the end for `AFTER`); negative is earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOffsets {
    pub opens: i64,
    pub closes: i64,
}

impl WindowOffsets {
    /// The usual window: from a day before the start until 15 minutes in;
    /// after the session, from 10 minutes before its end until a day later.
    pub fn default_for(phase: Phase) -> Self {
        match phase {
            Phase::Before => Self { opens: -24 * 60, closes: 15 },
            Phase::After => Self { opens: -10, closes: 24 * 60 },
        }
    }

    /// Checks the offsets given (each falls back to the phase's default).
    pub fn parse(phase: Phase, opens: Option<i64>, closes: Option<i64>) -> Result<Self, Invalid> {
        let usual = Self::default_for(phase);
        let offsets = Self { opens: opens.unwrap_or(usual.opens), closes: closes.unwrap_or(usual.closes) };
        let mut v = Validator::default();
        for (field, value) in [("opens_minutes", offsets.opens), ("closes_minutes", offsets.closes)] {
            if value.abs() > WINDOW_LIMIT_MINUTES {
                v.reject(field, format!("must be within {WINDOW_LIMIT_MINUTES} minutes of the session"));
            }
        }
        if offsets.opens >= offsets.closes {
            v.reject("closes_minutes", "must be later than opens_minutes");
        }
        v.done(|| Some(offsets))
    }

    /// The window of a session from `starts_at` to `ends_at`.
    pub fn window(self, phase: Phase, starts_at: Timestamp, ends_at: Timestamp) -> Window {
        let anchor = match phase {
            Phase::Before => starts_at,
            Phase::After => ends_at,
        };
        let at = |minutes: i64| anchor.saturating_add(SignedDuration::from_mins(minutes)).unwrap_or(anchor);
        Window { opens_at: at(self.opens), closes_at: at(self.closes) }
    }
}

/// A check-in's answer window in one session: open from `opens_at`, closed
/// from `closes_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
}

spelled_enum!(
    /// Where a check-in's window stands.
    WindowState {
        NotYetOpen = "NOT_YET_OPEN",
        Open = "OPEN",
        Closed = "CLOSED",
    }
);

impl Window {
    pub fn state(&self, now: Timestamp) -> WindowState {
        if now < self.opens_at {
            WindowState::NotYetOpen
        } else if now < self.closes_at {
            WindowState::Open
        } else {
            WindowState::Closed
        }
    }

    /// Why answers are refused now, or `None` while the window is open.
    pub fn refusal(&self, now: Timestamp) -> Option<&'static str> {
        match self.state(now) {
            WindowState::NotYetOpen => Some("this check-in is not open for answers yet"),
            WindowState::Open => None,
            WindowState::Closed => Some("this check-in's answer window has closed"),
        }
    }
}

spelled_enum!(
    /// A moment in a window's life that members hear of live.
    WindowEdge {
        Opened = "OPENED",
        Closed = "CLOSED",
    }
);

/// How late an edge may still be announced: a server that was down longer
/// lets it pass (members see the window's state when they next look)
/// rather than announcing an opening long gone.
pub const EDGE_GRACE: SignedDuration = SignedDuration::from_hours(1);

impl Window {
    /// The edges that have come by `now` and not more than [`EDGE_GRACE`]
    /// before it, in order, each with its instant.
    pub fn due_edges(&self, now: Timestamp) -> Vec<(WindowEdge, Timestamp)> {
        [(WindowEdge::Opened, self.opens_at), (WindowEdge::Closed, self.closes_at)]
            .into_iter()
            .filter(|(_, at)| *at <= now && now.duration_since(*at) <= EDGE_GRACE)
            .collect()
    }
}

spelled_enum!(
    /// How a member's latest total compares with their previous one.
    Direction {
        Better = "BETTER",
        Worse = "WORSE",
        Same = "SAME",
    }
);

/// Where one member's totals are heading, across sessions in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trend {
    /// Latest total minus the previous one.
    pub change: Option<i32>,
    pub direction: Option<Direction>,
}

impl Questionnaire {
    /// The trend of `totals`, oldest first.
    pub fn trend(&self, totals: &[i32]) -> Trend {
        let [.., previous, latest] = totals else {
            return Trend { change: None, direction: None };
        };
        let change = latest - previous;
        let direction = match (change.signum(), self.higher_is_better) {
            (0, _) => Direction::Same,
            (1, true) | (-1, false) => Direction::Better,
            _ => Direction::Worse,
        };
        Trend { change: Some(change), direction: Some(direction) }
    }
}

#[cfg(test)]
mod tests;
