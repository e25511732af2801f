//! A therapist's working hours (the weekly rules, edited as one form) and
//! their free slots over the next week, as the availability search finds them.

use axum::body::to_bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Submitted, redirect_with, refused, token_input};
use super::layout::page_with_status;
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::routes::availability::{RuleBody, SearchQuery, WeekBody, get_availability, search, set_availability};
use crate::state::AppState;

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const BLANK_ROWS: usize = 3;
const COLUMNS: [&str; 8] =
    ["weekday", "start_time", "end_time", "modality", "location", "max_sessions", "effective_from", "effective_to"];

fn capitalised(day: &str) -> String {
    let mut chars = day.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The free starts of the viewer over the next seven days, by local day.
async fn free_slots(state: &AppState, ctx: &Ctx) -> PageResult<Vec<(jiff::civil::Date, Vec<Timestamp>)>> {
    let query = SearchQuery {
        therapist_ids: Some(ctx.member.person_id.0.to_string()),
        from: None,
        to: None,
        duration_minutes: Some("50".into()),
        step_minutes: Some("60".into()),
        modality: None,
        format: None,
        cursor: None,
    };
    let answer = search(State(state.clone()), ctx.member.clone(), Query(query)).await?;
    let bytes = to_bytes(answer.into_body(), 16 * 1024 * 1024).await.map_err(ApiError::internal)?;
    let found: serde_json::Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    let starts: Vec<Timestamp> = found["items"][0]["starts"]
        .as_array()
        .map(|list| list.iter().filter_map(|s| s.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let mut days: Vec<(jiff::civil::Date, Vec<Timestamp>)> = Vec::new();
    for start in starts {
        let day = time::local_date(start, &ctx.tz);
        match days.last_mut() {
            Some((d, list)) if *d == day => list.push(start),
            _ => days.push((day, vec![start])),
        }
    }
    Ok(days)
}

fn row(i: usize, rule: Option<&RuleBody>, errors: &Errors) -> Markup {
    let value = |f: &str| -> String {
        rule.map(|r| match f {
            "weekday" => r.weekday.clone(),
            "start_time" => r.start_time.clone(),
            "end_time" => r.end_time.clone(),
            "modality" => r.modality.clone().unwrap_or_default(),
            "location" => r.location.clone().unwrap_or_default(),
            "max_sessions" => r.max_sessions.map(|m| m.to_string()).unwrap_or_default(),
            "effective_from" => r.effective_from.clone().unwrap_or_default(),
            _ => r.effective_to.clone().unwrap_or_default(),
        })
        .unwrap_or_default()
    };
    let n = i + 1;
    let error = |f: &str| errors.field(&format!("rules[{i}].{f}")).map(str::to_owned);
    html! {
        tr {
            td data-label="Day" {
                select name="weekday" aria-label={"Day of rule " (n)} {
                    option value="" { "—" }
                    @for d in WEEKDAYS { option value=(d) selected[value("weekday") == d] { (capitalised(d)) } }
                }
                @if let Some(e) = error("weekday") { br; span.error { (e) } }
            }
            td data-label="From" { input type="text" inputmode="numeric" size="5" name="start_time" value=(value("start_time")) aria-label={"Start of rule " (n)};
                @if let Some(e) = error("start_time") { br; span.error { (e) } } }
            td data-label="Until" { input type="text" inputmode="numeric" size="5" name="end_time" value=(value("end_time")) aria-label={"End of rule " (n) " (HH:MM, 24:00 for midnight)"};
                @if let Some(e) = error("end_time") { br; span.error { (e) } } }
            td data-label="How" {
                select name="modality" aria-label={"Kind of sessions in rule " (n)} {
                    option value="" { "Either" }
                    option value="VIRTUAL" selected[value("modality") == "VIRTUAL"] { "Online" }
                    option value="IN_PERSON" selected[value("modality") == "IN_PERSON"] { "In person" }
                }
            }
            td data-label="Where" { input type="text" name="location" value=(value("location")) aria-label={"Location of rule " (n)}; }
            td data-label="At most" { input type="number" min="1" name="max_sessions" value=(value("max_sessions")) aria-label={"Most sessions a day in rule " (n)};
                @if let Some(e) = error("max_sessions") { br; span.error { (e) } } }
            td data-label="From date" { input type="date" name="effective_from" value=(value("effective_from")) aria-label={"First day of rule " (n)}; }
            td data-label="Until date" { input type="date" name="effective_to" value=(value("effective_to")) aria-label={"Last day of rule " (n)};
                @if let Some(e) = error("effective_to") { br; span.error { (e) } } }
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    sent: Option<Vec<RuleBody>>,
    errors: &Errors,
) -> PageResult<Response> {
    let me = ctx.member.person_id.0;
    let rules = match sent {
        Some(rules) => rules,
        None => get_availability(State(state.clone()), ctx.member.clone(), Path((ctx.org(), me))).await?.0.rules,
    };
    let days = free_slots(state, ctx).await?;
    let action = ctx.path("/hours");
    let body = html! {
        h1 { "Working hours and free slots" }
        h2 { "Free for a 50-minute session in the next seven days" }
        @if days.is_empty() { p.empty { "No free slot in the next seven days." } }
        dl.facts.card {
            @for (day, starts) in &days {
                dt { (time::short_day(*day)) }
                dd { @for (i, s) in starts.iter().enumerate() { @if i > 0 { ", " } (time::clock_span(*s, *s + SignedDuration::from_mins(50), &ctx.tz)) } }
            }
        }
        h2 { "My week" }
        p.muted { "Local wall-clock times in " (ctx.member.org.timezone) ". Rules of one day must not overlap. "
            "With no rules at all you can be booked at any time you are free. Choose “—” as the day to remove a rule." }
        (errors.summary())
        form method="post" action=(action) {
            (token_input(&ctx.viewer, &action))
            div.table-wrap { table.sheet {
                caption.muted { "Weekly rules" }
                thead { tr { @for h in ["Day", "From", "Until", "How", "Where", "At most", "From date", "Until date"] { th scope="col" { (h) } } } }
                tbody {
                    @for (i, rule) in rules.iter().enumerate() { (row(i, Some(rule), errors)) }
                    @for i in rules.len()..rules.len() + BLANK_ROWS { (row(i, None, errors)) }
                }
            } }
            div.actions { button type="submit" { "Save my week" } }
        }
    };
    Ok(page_with_status(ctx, status, "Working hours", "Working hours", body))
}

pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render(&state, &ctx, StatusCode::OK, None, &Errors::none()).await
}

fn rules(fields: &Fields) -> Result<Vec<RuleBody>, ApiError> {
    let columns: Vec<Vec<&str>> = COLUMNS.iter().map(|c| fields.all(c)).collect();
    let cell = |c: usize, i: usize| columns[c].get(i).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut out = Vec::new();
    for i in 0..columns[0].len() {
        let Some(weekday) = cell(0, i) else { continue };
        let at = out.len();
        let max_sessions = match cell(5, i) {
            None => None,
            Some(raw) => Some(
                raw.parse()
                    .map_err(|_| ApiError::field(&format!("rules[{at}].max_sessions"), "must be a whole number"))?,
            ),
        };
        out.push(RuleBody {
            weekday,
            start_time: cell(1, i).unwrap_or_default(),
            end_time: cell(2, i).unwrap_or_default(),
            modality: cell(3, i),
            location: cell(4, i),
            max_sessions,
            effective_from: cell(6, i),
            effective_to: cell(7, i),
        });
    }
    Ok(out)
}

pub async fn save(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let (sent, outcome) = match rules(&fields) {
        Ok(list) => {
            let week = WeekBody { timezone: None, rules: list.iter().map(copy).collect() };
            let me = ctx.member.person_id.0;
            let saved = set_availability(State(state.clone()), ctx.member.clone(), Path((org, me)), Json(week)).await;
            (list, saved.map(|_| ()))
        }
        Err(e) => (Vec::new(), Err(e)),
    };
    match outcome {
        Ok(()) => Ok(redirect_with(&ctx.path("/hours"), Flash::ok("Your week is saved."))),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            render(&state, &ctx, e.status, Some(sent), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path("/hours"), &e),
    }
}

fn copy(r: &RuleBody) -> RuleBody {
    RuleBody {
        weekday: r.weekday.clone(),
        start_time: r.start_time.clone(),
        end_time: r.end_time.clone(),
        modality: r.modality.clone(),
        location: r.location.clone(),
        max_sessions: r.max_sessions,
        effective_from: r.effective_from.clone(),
        effective_to: r.effective_to.clone(),
    }
}
