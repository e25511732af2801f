//! My schedule: a week of days (columns on a desktop, stacked on a phone)
//! or an agenda list; one-on-one and group sessions together.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::error::{PageError, PageResult};
use super::layout::page;
use super::time;
use super::viewer::{Ctx, Viewer};
use crate::http::extract::{Path, Query};
use crate::routes::schedule::{ScheduleEntryView, ScheduleQuery, org_schedule};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct WeekQuery {
    /// Any day of the week to show (`YYYY-MM-DD`); this week by default.
    week: Option<String>,
    /// `agenda` for a list of four weeks.
    view: Option<String>,
}

/// The viewer's sessions between two instants, as the API lists them: every
/// page of the window (a week or a month shows whole).
pub async fn entries(
    state: &AppState,
    ctx: &Ctx,
    from: Timestamp,
    to: Timestamp,
) -> PageResult<Vec<ScheduleEntryView>> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let query = ScheduleQuery {
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            person_id: None,
            include_cancelled: None,
            limit: Some(500),
            cursor,
        };
        let page = org_schedule(State(state.clone()), ctx.member.clone(), Query(query)).await?.0;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

pub fn modality(raw: &str) -> &'static str {
    match raw {
        "VIRTUAL" => "Online",
        _ => "In person",
    }
}

pub fn status_tag(status: &str) -> Markup {
    let words = match status {
        "PROPOSED" => "awaiting therapists",
        "SCHEDULED" => "scheduled",
        "IN_PROGRESS" => "in progress",
        "COMPLETED" => "held",
        "CANCELLED" => "cancelled",
        other => other,
    };
    html! { span class={"tag " (status.to_lowercase())} { (words) } }
}

/// Who else is on each session of `entries`: the therapists who accepted
/// it, and for the therapist of a one-on-one, its client.
pub fn others(ctx: &Ctx, entries: &[ScheduleEntryView]) -> HashMap<Uuid, String> {
    let me = ctx.member.person_id.0;
    entries
        .iter()
        .map(|e| {
            let mut people: Vec<&str> =
                e.therapists.iter().filter(|t| t.therapist_id != me).map(|t| t.therapist_name.as_str()).collect();
            if e.kind == "one_on_one" && e.role == "therapist" {
                people.extend(e.with_name.as_deref());
            }
            (e.session_id, people.join(", "))
        })
        .filter(|(_, with)| !with.is_empty())
        .collect()
}

/// One session in a day column or the agenda.
pub fn slot(ctx: &Ctx, e: &ScheduleEntryView, with_day: bool, with: &HashMap<Uuid, String>) -> Markup {
    let group = e.kind != "one_on_one";
    let when = if with_day {
        time::span(e.starts_at, e.ends_at, &ctx.tz)
    } else {
        time::clock_span(e.starts_at, e.ends_at, &ctx.tz)
    };
    let cancelled = e.status == "CANCELLED";
    html! {
        a.slot.group[group].cancelled[cancelled] href=(ctx.path(&format!("/sessions/{}", e.session_id))) {
            span.time { (when) }
            span.what { (e.title) }
            span.meta {
                @if group { "Group · " (e.seats_taken) "/" (e.capacity) " seats" } @else { "One-on-one" }
                " · " (modality(&e.modality))
                @if e.role == "therapist" && e.participation == "PENDING" { " · invitation waiting" }
            }
            @if let Some(people) = with.get(&e.session_id) { span.meta { "with " (people) } }
            @if cancelled || e.status == "PROPOSED" { span.meta { (status_tag(&e.status)) } }
        }
    }
}

fn week_nav(ctx: &Ctx, monday: Date, agenda: bool) -> Markup {
    let prev = monday.checked_sub(7.days()).unwrap_or(monday);
    let next = monday.checked_add(7.days()).unwrap_or(monday);
    let view = if agenda { "&view=agenda" } else { "" };
    html! {
        nav.pager aria-label="Weeks" {
            a href=(ctx.path(&format!("/schedule?week={prev}{view}"))) { "← Previous week" }
            a href=(ctx.path(&format!("/schedule?{}", if agenda { "view=agenda" } else { "" }))) { "This week" }
            a href=(ctx.path(&format!("/schedule?week={next}{view}"))) { "Next week →" }
            @if agenda {
                a href=(ctx.path(&format!("/schedule?week={monday}"))) { "Show as a week" }
            } @else {
                a href=(ctx.path(&format!("/schedule?week={monday}&view=agenda"))) { "Show as a list" }
            }
        }
    }
}

/// Days from `first` for `days`, each with its sessions.
fn by_day<'a>(
    entries: &'a [ScheduleEntryView],
    first: Date,
    days: i64,
    tz: &TimeZone,
) -> Vec<(Date, Vec<&'a ScheduleEntryView>)> {
    (0..days)
        .filter_map(|n| first.checked_add(n.days()).ok())
        .map(|day| (day, entries.iter().filter(|e| time::local_date(e.starts_at, tz) == day).collect()))
        .collect()
}

pub fn week_markup(
    ctx: &Ctx,
    entries: &[ScheduleEntryView],
    with: &HashMap<Uuid, String>,
    monday: Date,
    today: Date,
) -> Markup {
    html! {
        div.week {
            @for (day, list) in by_day(entries, monday, 7, &ctx.tz) {
                section.day.today[day == today] aria-labelledby={"d-" (day)} {
                    h2 id={"d-" (day)} { (time::short_day(day)) }
                    @if list.is_empty() { p.empty { "Nothing" } }
                    @for e in list { (slot(ctx, e, false, with)) }
                }
            }
        }
    }
}

pub fn agenda_markup(
    ctx: &Ctx,
    entries: &[ScheduleEntryView],
    with: &HashMap<Uuid, String>,
    first: Date,
    days: i64,
) -> Markup {
    let days = by_day(entries, first, days, &ctx.tz);
    html! {
        @if entries.is_empty() { p.empty { "No sessions in these weeks." } }
        @for (day, list) in days.iter().filter(|(_, l)| !l.is_empty()) {
            section aria-labelledby={"a-" (day)} {
                h2 id={"a-" (day)} { (time::day(*day)) }
                @for e in list { (slot(ctx, e, false, with)) }
            }
        }
    }
}

pub async fn schedule(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<Uuid>,
    axum::extract::Query(query): axum::extract::Query<WeekQuery>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let today = time::local_date(state.clock.now(), &ctx.tz);
    let day = match query.week.as_deref() {
        Some(raw) => {
            raw.parse::<Date>().map_err(|_| PageError::bad_request("The week must be a date like 2027-03-01."))?
        }
        None => today,
    };
    let monday = time::monday_of(day);
    let agenda = query.view.as_deref() == Some("agenda");
    let days = if agenda { 28 } else { 7 };
    let end = monday.checked_add(days.days()).unwrap_or(monday);
    let (from, to) = (time::start_of(monday, &ctx.tz), time::start_of(end, &ctx.tz));
    let found = entries(&state, &ctx, from, to).await?;
    let with = others(&ctx, &found);
    let last = end.checked_sub(1.day()).unwrap_or(end);
    let heading = format!("{} – {}", time::short_day(monday), time::short_day(last));
    let body = html! {
        h1 { "My schedule" }
        p.muted { (heading) ". Group sessions show seats taken out of capacity; cancelled ones are struck through." }
        (week_nav(&ctx, monday, agenda))
        @if agenda { (agenda_markup(&ctx, &found, &with, monday, days)) } @else { (week_markup(&ctx, &found, &with, monday, today)) }
    };
    Ok(page(&ctx, "My schedule", "Schedule", body))
}
