//! Check-in pages: a session's check-ins; one check-in, where a member
//! answers while its window is open and sees their own answers, their trend
//! and the group's results beside their own (once shown); the session's
//! clinicians see every member's answers, band, trend and safety alert.
//! Everything goes through the API's handlers, so the rules are the API's.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use circles_domain::checkin::access::Standing;
use circles_domain::ids::SessionId;
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::error::{PageError, PageResult};
use super::form::{Fields, Submitted, redirect_with, refused, token_input};
use super::layout::page;
use super::time;
use super::viewer::{Ctx, Flash, Viewer, member_in};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::routes::check_in_answers::{
    AnswerRequest, answer as api_answer, answers as api_answers, results as api_results,
};
use crate::routes::check_in_views::{
    AnswersView, ItemView, QuestionnaireView, ResponseView, ResultsView, SessionCheckInView, SummaryView,
};
use crate::routes::check_ins::{list_questionnaires, session_check_ins, session_role};
use crate::routes::page::{PageQuery, RankedQuery};
use crate::state::AppState;

/// The questionnaire a session's check-in asks.
async fn questionnaire_of(
    state: &AppState,
    member: &crate::auth::Member,
    org: Uuid,
    session: Uuid,
    check_in: Uuid,
) -> crate::http::error::ApiResult<QuestionnaireView> {
    let all =
        session_check_ins(State(state.clone()), member.clone(), Path((org, session)), Query(PageQuery::longest()))
            .await?
            .0
            .items;
    let c = all.into_iter().find(|c| c.id == check_in).ok_or_else(|| ApiError::not_found("check-in"))?;
    let questionnaires =
        list_questionnaires(State(state.clone()), member.clone(), Query(RankedQuery::longest())).await?.0.items;
    questionnaires.into_iter().find(|q| q.id == c.questionnaire_id).ok_or_else(|| ApiError::not_found("questionnaire"))
}

/// A posted form as answers: scale and choice items as numbers (a value
/// that is not one goes as given, for the API to name), text as text;
/// blanks are unanswered.
fn answers_from(q: &QuestionnaireView, fields: &Fields) -> BTreeMap<String, Value> {
    q.items
        .iter()
        .filter_map(|item| {
            let raw = fields.text(&item.key)?;
            let value = match item.kind {
                "text" => Value::from(raw),
                _ => raw.parse::<i64>().map(Value::from).unwrap_or(Value::from(raw)),
            };
            Some((item.key.clone(), value))
        })
        .collect()
}

async fn listed(state: &AppState, ctx: &Ctx, session: Uuid) -> PageResult<Vec<SessionCheckInView>> {
    let found = session_check_ins(
        State(state.clone()),
        ctx.member.clone(),
        Path((ctx.org(), session)),
        Query(PageQuery::longest()),
    )
    .await;
    Ok(found.map_err(|e| if e.status.as_u16() == 403 { PageError::not_found() } else { e.into() })?.0.items)
}

fn window_words(c: &SessionCheckInView, ctx: &Ctx) -> String {
    let (opens, closes) = (time::when(c.opens_at, &ctx.tz), time::when(c.closes_at, &ctx.tz));
    match c.window.as_str() {
        "OPEN" => format!("open until {closes}"),
        "NOT_YET_OPEN" => format!("opens {opens}"),
        _ => format!("closed {closes}"),
    }
}

pub async fn index(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, session)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let all = listed(&state, &ctx, session).await?;
    let body = html! {
        h1 { "Check-ins" }
        // Follows answer windows opening and closing.
        div #check-ins data-live-refresh="CHECK_IN_WINDOW" {
            @if all.is_empty() { p.empty { "This session has no check-ins." } }
            @else {
                ul.cards {
                    @for c in &all {
                        li.card {
                            a href=(ctx.path(&format!("/sessions/{session}/check-ins/{}", c.id))) { (c.questionnaire_title) }
                            " · " (c.phase.to_lowercase()) " the session · " (window_words(c, &ctx))
                            @if c.answered { " · answered" }
                        }
                    }
                }
            }
        }
        p { a href=(ctx.path(&format!("/sessions/{session}"))) { "Back to the session" } }
    };
    Ok(page(&ctx, "Check-ins", "Schedule", body))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, session, check_in)): Path<(Uuid, Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let all = listed(&state, &ctx, session).await?;
    let c = all.into_iter().find(|c| c.id == check_in).ok_or_else(PageError::not_found)?;
    let questionnaires =
        list_questionnaires(State(state.clone()), ctx.member.clone(), Query(RankedQuery::longest())).await?.0.items;
    let q = questionnaires.into_iter().find(|q| q.id == c.questionnaire_id).ok_or_else(PageError::not_found)?;
    let path = Path((org, session, check_in));
    let answers = api_answers(State(state.clone()), ctx.member.clone(), Path(path.0)).await?.0;
    let results = api_results(State(state.clone()), ctx.member.clone(), path).await?.0;
    let staff = session_role(&state, &ctx.member, SessionId(session)).await? == Standing::Clinician;
    let mine = answers.responses.iter().find(|r| r.person_id == ctx.member.person_id.0);
    let action = ctx.path(&format!("/sessions/{session}/check-ins/{check_in}"));
    let body = html! {
        h1 { (q.title) }
        // The form appears when the window opens and goes when it closes;
        // results follow (never while someone is filling the form in).
        div #check-in data-live-refresh="CHECK_IN_WINDOW" {
            p.muted { (c.session_title) " · " (window_words(&c, &ctx)) }
            @if !q.instructions.is_empty() { p { (q.instructions) } }
            @if c.window == "OPEN" && !staff {
                form.stack.card method="post" action=(action) {
                    (token_input(&ctx.viewer, &action))
                    @for item in &q.items { (field(item, mine)) }
                    div.actions { button type="submit" { @if mine.is_some() { "Change my answers" } @else { "Send my answers" } } }
                }
            }
            @if let Some(me) = mine.filter(|_| !staff) { (own(me)) }
            @if staff { (everyone(&ctx, &answers)) }
            (group(&results))
        }
        p { a href=(ctx.path(&format!("/sessions/{session}/check-ins"))) { "All of this session's check-ins" } }
    };
    Ok(page(&ctx, &q.title, "Schedule", body))
}

/// One item as form controls, with the member's earlier answer chosen.
fn field(item: &ItemView, mine: Option<&ResponseView>) -> Markup {
    let before = mine.and_then(|m| m.answers.get(&item.key));
    let id = format!("f-{}", item.key);
    html! {
        fieldset.field {
            legend { (item.prompt) @if !item.required { " (optional)" } }
            @match item.kind {
                "text" => {
                    input id=(id) type="text" name=(item.key) maxlength=[item.max_chars]
                        value=[before.and_then(Value::as_str)] aria-label=(item.prompt);
                }
                _ => {
                    div.checks {
                        @for (value, label) in choices(item) {
                            label {
                                input type="radio" name=(item.key) value=(value) required[item.required]
                                    checked[before.and_then(Value::as_i64) == Some(i64::from(value))];
                                " " (label)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The values a scale or choice item offers, with their words.
fn choices(item: &ItemView) -> Vec<(i32, String)> {
    if let Some(options) = &item.options {
        return options.iter().map(|o| (o.value, o.label.clone())).collect();
    }
    let (min, max) = (item.min.unwrap_or(0), item.max.unwrap_or(10));
    (min..=max)
        .map(|v| {
            let words = match (v == min, v == max) {
                (true, _) => item.min_label.as_deref().filter(|l| !l.is_empty()).map(|l| format!("{v} — {l}")),
                (_, true) => item.max_label.as_deref().filter(|l| !l.is_empty()).map(|l| format!("{v} — {l}")),
                _ => None,
            };
            (v, words.unwrap_or_else(|| v.to_string()))
        })
        .collect()
}

fn score(total: Option<i32>, band: Option<&str>) -> String {
    match (total, band) {
        (Some(t), Some(b)) => format!("{t} ({b})"),
        (Some(t), None) => t.to_string(),
        _ => "—".into(),
    }
}

fn trend_words(r: &ResponseView) -> String {
    let totals: Vec<String> = r.trend.totals.iter().map(i32::to_string).collect();
    match &r.trend.direction {
        Some(d) => format!("{} ({})", totals.join(" → "), d.to_lowercase()),
        None => totals.join(" → "),
    }
}

fn own(me: &ResponseView) -> Markup {
    html! {
        section.card #own-answers {
            h2 { "Your answers" }
            p { "Your total: " (score(me.total, me.band.as_deref())) }
            p { "Your totals so far: " (trend_words(me)) }
        }
    }
}

fn everyone(ctx: &Ctx, answers: &AnswersView) -> Markup {
    html! {
        section #answers {
            h2 { "Members' answers (" (answers.responses.len()) ")" }
            @if answers.responses.is_empty() { p.empty { "Nobody has answered yet." } }
            @else {
                table {
                    thead { tr { th { "Member" } th { "Total" } th { "Trend" } th { "Answered" } th { "Attention" } } }
                    tbody {
                        @for r in &answers.responses {
                            tr {
                                td { (r.name) }
                                td { (score(r.total, r.band.as_deref())) }
                                td { (trend_words(r)) }
                                td { (time::when(r.updated_at, &ctx.tz)) }
                                td { @if r.safety_alert == Some(true) { strong { "Needs follow-up today" } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn summary_cells(s: &SummaryView) -> Markup {
    let spread: Vec<String> = s.distribution.iter().map(|c| format!("{}: {}", c.value, c.count)).collect();
    html! {
        td { (s.mean) } td { (s.median) } td { (spread.join(" · ")) }
        td { (s.own.map_or("—".to_owned(), |v| v.to_string())) }
    }
}

fn group(results: &ResultsView) -> Markup {
    html! {
        section #group-results {
            h2 { "The group's results" }
            @if !results.shown {
                p.empty { (results.withheld_reason.as_deref().unwrap_or("Not shown.")) }
            } @else {
                table {
                    thead { tr { th { "Question" } th { "Mean" } th { "Median" } th { "Answers" } th { "Yours" } } }
                    tbody {
                        @for item in &results.items { tr { td { (item.prompt) } (summary_cells(&item.summary)) } }
                        @if let Some(total) = &results.total { tr { th { "Total" } (summary_cells(total)) } }
                    }
                }
            }
        }
    }
}

pub async fn save(
    State(state): State<AppState>,
    Path((org, session, check_in)): Path<(Uuid, Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/sessions/{session}/check-ins/{check_in}");
    let member = member_in(&state, &form.viewer.caller, org).await?;
    let q = match questionnaire_of(&state, &member, org, session, check_in).await {
        Ok(q) => q,
        Err(e) => return refused(&back, &e),
    };
    let answers = answers_from(&q, &form.fields);
    let path = Path((org, session, check_in));
    match api_answer(State(state), member, path, Json(AnswerRequest { answers })).await {
        Ok(saved) => {
            let total = saved.0.total.map(|t| format!(" Your total: {t}.")).unwrap_or_default();
            Ok(redirect_with(&back, Flash::ok(format!("Thank you, your answers are saved.{total}"))))
        }
        Err(e) => refused(&back, &e),
    }
}
