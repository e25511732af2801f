//! What check-in routes send: questionnaires, check-ins as they apply to a
//! session, answers with their score and trend, group results. Times come
//! with their form on the organisation's clock; people with their names.

use std::collections::BTreeMap;

use circles_domain::checkin::aggregate::{GroupResults, Summary};
use circles_domain::checkin::{ItemKind, Questionnaire, QuestionnaireRef};
use circles_domain::local_time::local_time;
use circles_store::model::{CheckIn, CheckInResponse, CheckInTarget, SessionCheckIn, TrendPoint};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct ChoiceView {
    pub label: String,
    /// What answering this option sends and scores.
    pub value: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    /// The item's name in answers (`q1`, `q2`, …).
    pub key: String,
    pub prompt: String,
    /// `scale`, `choice` or `text`.
    pub kind: &'static str,
    pub required: bool,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub min_label: Option<String>,
    pub max_label: Option<String>,
    pub options: Option<Vec<ChoiceView>>,
    pub max_chars: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BandView {
    pub min: i32,
    pub max: i32,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireView {
    /// A built-in's key (`mood`, `phq9`, `gad7`, `session_rating`) or the
    /// organisation's questionnaire's id.
    pub id: String,
    pub builtin: bool,
    pub title: String,
    pub instructions: String,
    pub items: Vec<ItemView>,
    /// Severity bands of the total (empty when the total is not banded).
    pub bands: Vec<BandView>,
    pub higher_is_better: bool,
}

impl From<Questionnaire> for QuestionnaireView {
    fn from(q: Questionnaire) -> Self {
        let items = q
            .items
            .into_iter()
            .map(|i| {
                let mut view = ItemView {
                    key: i.key,
                    prompt: i.prompt,
                    kind: "text",
                    required: i.required,
                    min: None,
                    max: None,
                    min_label: None,
                    max_label: None,
                    options: None,
                    max_chars: None,
                };
                match i.kind {
                    ItemKind::Scale { min, max, min_label, max_label } => {
                        (view.kind, view.min, view.max) = ("scale", Some(min), Some(max));
                        (view.min_label, view.max_label) = (Some(min_label), Some(max_label));
                    }
                    ItemKind::Choice { options } => {
                        view.kind = "choice";
                        view.options =
                            Some(options.into_iter().map(|o| ChoiceView { label: o.label, value: o.value }).collect());
                    }
                    ItemKind::Text { max_chars } => view.max_chars = Some(max_chars),
                }
                view
            })
            .collect();
        Self {
            builtin: matches!(q.id, QuestionnaireRef::Builtin(_)),
            id: q.id.to_string(),
            title: q.title,
            instructions: q.instructions,
            items,
            bands: q.bands.into_iter().map(|b| BandView { min: b.min, max: b.max, label: b.label }).collect(),
            higher_is_better: q.higher_is_better,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInView {
    pub id: Uuid,
    pub questionnaire_id: String,
    pub questionnaire_title: String,
    /// Set when attached to one session.
    pub session_id: Option<Uuid>,
    /// Set when attached to every session of a group.
    pub group_id: Option<Uuid>,
    /// `BEFORE` or `AFTER` the session.
    pub phase: String,
    /// Minutes from the start (before) or the end (after) when answers open.
    pub opens_minutes: i64,
    pub closes_minutes: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    pub created_at_local: String,
}

impl CheckInView {
    pub fn of(c: CheckIn, zone: &str) -> Self {
        let (session_id, group_id) = match c.target {
            CheckInTarget::Session(s) => (Some(s.0), None),
            CheckInTarget::Group(g) => (None, Some(g.0)),
        };
        Self {
            id: c.id.0,
            questionnaire_id: c.questionnaire.to_string(),
            questionnaire_title: c.title,
            session_id,
            group_id,
            phase: c.phase.wire().into(),
            opens_minutes: c.offsets.opens,
            closes_minutes: c.offsets.closes,
            created_at_local: local_time(c.created_at, zone),
            created_at: c.created_at,
        }
    }
}

/// A check-in as it applies to one session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCheckInView {
    pub id: Uuid,
    pub questionnaire_id: String,
    pub questionnaire_title: String,
    pub phase: String,
    pub session_id: Uuid,
    pub session_title: String,
    #[schema(value_type = String, format = DateTime)]
    pub session_starts_at: jiff::Timestamp,
    pub session_starts_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub opens_at: jiff::Timestamp,
    pub opens_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub closes_at: jiff::Timestamp,
    pub closes_at_local: String,
    /// `NOT_YET_OPEN`, `OPEN` or `CLOSED`, now.
    pub window: String,
    /// Whether the caller has answered it.
    pub answered: bool,
}

impl SessionCheckInView {
    pub fn of(c: SessionCheckIn, zone: &str, now: jiff::Timestamp) -> Self {
        Self {
            id: c.check_in.id.0,
            questionnaire_id: c.check_in.questionnaire.to_string(),
            questionnaire_title: c.check_in.title,
            phase: c.check_in.phase.wire().into(),
            session_id: c.session_id.0,
            session_title: c.session_title,
            session_starts_at_local: local_time(c.session_starts_at, zone),
            session_starts_at: c.session_starts_at,
            opens_at_local: local_time(c.window.opens_at, zone),
            opens_at: c.window.opens_at,
            closes_at_local: local_time(c.window.closes_at, zone),
            closes_at: c.window.closes_at,
            window: c.window.state(now).wire().into(),
            answered: c.answered,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendView {
    /// The member's totals for this questionnaire, oldest first, up to
    /// this session.
    pub totals: Vec<i32>,
    /// Latest total minus the one before.
    pub change: Option<i32>,
    /// `BETTER`, `WORSE` or `SAME`, by what the questionnaire measures.
    pub direction: Option<String>,
}

impl TrendView {
    pub fn of(q: &Questionnaire, totals: Vec<i32>) -> Self {
        let trend = q.trend(&totals);
        Self { totals, change: trend.change, direction: trend.direction.map(|d| d.wire().into()) }
    }
}

/// One member's answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseView {
    pub person_id: Uuid,
    pub name: String,
    /// Item key → the number (scale, choice) or text given.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
    pub total: Option<i32>,
    pub band: Option<String>,
    /// Shown to clinicians only: the answers need attention now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_alert: Option<bool>,
    #[schema(value_type = String, format = DateTime)]
    pub answered_at: jiff::Timestamp,
    pub answered_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    pub updated_at_local: String,
    pub trend: TrendView,
}

impl ResponseView {
    pub fn of(q: &Questionnaire, r: CheckInResponse, zone: &str, clinician: bool) -> Self {
        let mut answers: BTreeMap<String, serde_json::Value> =
            r.answers.values.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
        answers.extend(r.answers.texts.into_iter().map(|(k, t)| (k, t.into())));
        Self {
            person_id: r.person_id.0,
            name: r.name,
            answers,
            total: r.score.total,
            band: r.score.band,
            safety_alert: clinician.then_some(r.score.safety_alert),
            answered_at_local: local_time(r.answered_at, zone),
            answered_at: r.answered_at,
            updated_at_local: local_time(r.updated_at, zone),
            updated_at: r.updated_at,
            trend: TrendView::of(q, r.history),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswersView {
    pub check_in: SessionCheckInView,
    /// Everyone's for the session's clinicians; only the caller's for a member.
    pub responses: Vec<ResponseView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountView {
    pub value: i32,
    pub count: usize,
}

/// Mean, median and distribution, with the caller's own value beside them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub answered: usize,
    pub mean: f64,
    pub median: f64,
    pub distribution: Vec<CountView>,
    /// The caller's own answer (or total), when they answered.
    pub own: Option<i32>,
}

impl SummaryView {
    fn of(s: Summary, own: Option<i32>) -> Self {
        Self {
            answered: s.count,
            mean: s.mean,
            median: s.median,
            distribution: s.distribution.into_iter().map(|(value, count)| CountView { value, count }).collect(),
            own,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemResultView {
    pub key: String,
    pub prompt: String,
    pub summary: SummaryView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsView {
    pub check_in: SessionCheckInView,
    /// Whether group results are shown to the caller.
    pub shown: bool,
    /// Why they are not, when they are not.
    pub withheld_reason: Option<String>,
    /// Per numeric item (free text is never summarised).
    pub items: Vec<ItemResultView>,
    pub total: Option<SummaryView>,
    /// The caller's own total and band, whether or not group results are shown.
    pub own_total: Option<i32>,
    pub own_band: Option<String>,
}

impl ResultsView {
    pub fn items(
        q: &Questionnaire,
        results: GroupResults,
        own: Option<&circles_domain::checkin::Answers>,
    ) -> (Vec<ItemResultView>, Option<SummaryView>) {
        let own_total = own.and_then(|a| q.score(a).total);
        let items = results
            .items
            .into_iter()
            .map(|(key, summary)| {
                let prompt = q.items.iter().find(|i| i.key == key).map(|i| i.prompt.clone()).unwrap_or_default();
                let mine = own.and_then(|a| a.values.get(&key).copied());
                ItemResultView { key, prompt, summary: SummaryView::of(summary, mine) }
            })
            .collect();
        (items, results.total.map(|t| SummaryView::of(t, own_total)))
    }
}

/// One point of the caller's trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPointView {
    pub session_id: Uuid,
    pub session_title: String,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: jiff::Timestamp,
    pub starts_at_local: String,
    pub total: Option<i32>,
    pub band: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyTrendView {
    pub questionnaire_id: String,
    pub questionnaire_title: String,
    pub points: Vec<TrendPointView>,
    pub change: Option<i32>,
    pub direction: Option<String>,
}

impl MyTrendView {
    pub fn of(q: &Questionnaire, points: Vec<TrendPoint>, zone: &str) -> Self {
        let totals: Vec<i32> = points.iter().filter_map(|p| p.total).collect();
        let trend = TrendView::of(q, totals);
        Self {
            questionnaire_id: q.id.to_string(),
            questionnaire_title: q.title.clone(),
            points: points
                .into_iter()
                .map(|p| TrendPointView {
                    session_id: p.session_id.0,
                    session_title: p.session_title,
                    starts_at_local: local_time(p.starts_at, zone),
                    starts_at: p.starts_at,
                    total: p.total,
                    band: p.band,
                })
                .collect(),
            change: trend.change,
            direction: trend.direction,
        }
    }
}
