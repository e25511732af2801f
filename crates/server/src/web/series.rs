//! A recurring group's series for its managers: the rule in words, the
//! coming occurrences (move one, or change the series from one on), and
//! generating sessions with the full report of what was made and skipped.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::group_form::DAYS;
use super::groups::upcoming_sessions;
use super::layout::page_with_status;
use super::names::Names;
use super::schedule::status_tag;
use super::time;
use super::viewer::{Ctx, Flash, Viewer, member_in};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::routes::groups::{GroupView, get_group};
use crate::routes::series::{
    GenerateRequest, GenerationView, RescheduleRequest, SplitRequest, generate, reschedule, split,
};
use crate::routes::sessions::SessionView;
use crate::state::AppState;

/// "FREQ=WEEKLY;BYDAY=MO,TH;INTERVAL=2" → "Every 2 weeks on Monday and Thursday".
pub fn rule_in_words(rrule: &str) -> String {
    let parts: Vec<(&str, &str)> = rrule.split(';').filter_map(|p| p.split_once('=')).collect();
    let part = |name: &str| parts.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let every: i64 = part("INTERVAL").and_then(|n| n.parse().ok()).unwrap_or(1);
    let unit = match part("FREQ") {
        Some("DAILY") => "day",
        Some("MONTHLY") => "month",
        _ => "week",
    };
    let mut words = if every == 1 { format!("Every {unit}") } else { format!("Every {every} {unit}s") };
    if let Some(days) = part("BYDAY") {
        let named: Vec<String> = days
            .split(',')
            .map(|code| {
                let (number, day) = code.split_at(code.len().saturating_sub(2));
                let day = DAYS.iter().find(|(c, _)| *c == day).map_or(code, |(_, name)| name);
                let nth = match number.trim_start_matches('+') {
                    "" => return day.to_owned(),
                    "1" => "first",
                    "2" => "second",
                    "3" => "third",
                    "4" => "fourth",
                    "5" => "fifth",
                    "-1" => "last",
                    "-2" => "second to last",
                    other => other,
                };
                format!("the {nth} {day}")
            })
            .collect();
        words.push_str(" on ");
        words.push_str(&match named.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        });
    }
    if let Some(day) = part("BYMONTHDAY") {
        words.push_str(&format!(" on day {day}"));
    }
    words
}

#[derive(Deserialize)]
pub struct SeriesQuery {
    /// Prefills the "from" date of the change form (an occurrence's date).
    from: Option<String>,
}

/// A report shown once, after generating or changing the series.
enum Report<'a> {
    None,
    Generated(&'a GenerationView),
    /// The generated sessions that moved with the series.
    Split(&'a [SessionView]),
}

struct Forms<'a> {
    split: Option<&'a Fields>,
    split_errors: Errors,
    generate: Option<&'a Fields>,
    generate_errors: Errors,
    from: Option<String>,
}

impl Default for Forms<'_> {
    fn default() -> Self {
        Self { split: None, split_errors: Errors::none(), generate: None, generate_errors: Errors::none(), from: None }
    }
}

fn sent<'a>(fields: Option<&'a Fields>, name: &str) -> &'a str {
    fields.and_then(|f| f.get(name)).unwrap_or_default()
}

fn generation_report(ctx: &Ctx, g: &GenerationView, names: &Names) -> Markup {
    html! {
        section.card #report aria-labelledby="report-title" {
            h2 #report-title { "What was generated" }
            p { (g.created.len()) " new sessions; " (g.already_generated) " of the range existed already and were left as they are." }
            @if !g.created.is_empty() {
                ul { @for s in &g.created {
                    li { a href=(ctx.path(&format!("/sessions/{}", s.id))) { (time::span(s.starts_at, s.ends_at, &ctx.tz)) } }
                } }
            }
            @if !g.skipped.is_empty() {
                h3 { "Not made: a therapist is busy" }
                ul { @for o in &g.skipped {
                    li { (time::span(o.starts_at, o.ends_at, &ctx.tz)) " — "
                        @for (i, c) in o.conflicts.iter().enumerate() {
                            @if i > 0 { "; " }
                            (names.of(c.person_id.0)) " is busy " (time::clock_span(c.starts_at, c.ends_at, &ctx.tz))
                        }
                    }
                } }
            }
            @if !g.seats_skipped.is_empty() {
                h3 { "Members left off a session: busy then" }
                ul { @for seat in &g.seats_skipped {
                    li { (names.of(seat.client_id.0)) " on " (seat.recurrence_id) }
                } }
            }
            @if !g.outside_working_hours.is_empty() {
                h3 { "Outside a facilitator’s working hours" }
                ul { @for o in &g.outside_working_hours {
                    li { (time::when(o.starts_at, &ctx.tz)) " — " (names.of(o.therapist_id.0)) }
                } }
            }
        }
    }
}

fn split_report(ctx: &Ctx, moved: &[SessionView]) -> Markup {
    html! {
        section.card #report aria-labelledby="report-title" {
            h2 #report-title { "The series is changed" }
            @if moved.is_empty() { p { "No generated session had to move." } }
            @else {
                p { (moved.len()) " generated sessions moved with it:" }
                ul { @for s in moved {
                    li { a href=(ctx.path(&format!("/sessions/{}", s.id))) { (time::span(s.starts_at, s.ends_at, &ctx.tz)) } }
                } }
            }
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    group: Uuid,
    status: StatusCode,
    forms: Forms<'_>,
    report: Report<'_>,
) -> PageResult<Response> {
    let g: GroupView = get_group(State(state.clone()), ctx.member.clone(), Path((ctx.org(), group))).await?.0;
    let names = Names::load(state, ctx).await?;
    let sessions = upcoming_sessions(state, ctx, group, 90, 100).await?;
    let occurrences: Vec<_> = sessions.iter().filter(|s| s.recurrence_id.is_some()).collect();
    let split_action = ctx.path(&format!("/groups/{group}/series/split"));
    let generate_action = ctx.path(&format!("/groups/{group}/series/generate"));
    let from = forms.from.clone().unwrap_or_else(|| sent(forms.split, "from").to_owned());
    let chosen: Vec<String> = match forms.split {
        Some(fields) => fields.all("facilitator_ids").into_iter().map(str::to_owned).collect(),
        None => g.facilitator_ids.iter().map(Uuid::to_string).collect(),
    };
    let body = html! {
        h1 { "The series of " (g.name) }
        p { a href=(ctx.path(&format!("/groups/{group}"))) { "Back to the group" } }
        @match &report {
            Report::None => {},
            Report::Generated(generation) => (generation_report(ctx, generation, &names)),
            Report::Split(moved) => (split_report(ctx, moved)),
        }
        @match &g.recurrence {
            None => p.empty { "This group has no series." },
            Some(r) => div.card { dl.facts {
                dt { "When" } dd { (rule_in_words(&r.rrule)) ", " (r.start_time) " " (r.timezone) }
                dt { "Length" } dd { (r.duration_minutes) " minutes" }
                dt { "From" } dd { (r.start_date.parse().map(time::day).unwrap_or_else(|_| r.start_date.clone())) }
                dt { "Until" } dd { @match &r.end_date { Some(end) => (end.parse().map(time::day).unwrap_or_else(|_| end.clone())), None => "no end date" } }
                @if !r.exdates.is_empty() { dt { "Cancelled dates" } dd { (r.exdates.join(", ")) } }
                dt { "Facilitators" } dd {
                    @for (i, id) in g.facilitator_ids.iter().enumerate() { @if i > 0 { ", " } (names.of(*id)) }
                }
            } },
        }
        div.two {
            div {
                h2 { "Coming occurrences" }
                @if occurrences.is_empty() { p.empty { "None generated for the next 90 days." } }
                ul.plain { @for s in &occurrences {
                    @let day = time::local_date(s.starts_at, &ctx.tz).to_string();
                    @let move_action = ctx.path(&format!("/groups/{group}/series/move/{}", s.id));
                    @let input_id = format!("m-{}", s.id);
                    li {
                        a href=(ctx.path(&format!("/sessions/{}", s.id))) { (time::span(s.starts_at, s.ends_at, &ctx.tz)) }
                        " " (status_tag(&s.status)) br;
                        a href={(ctx.path(&format!("/groups/{group}/series")) ) "?from=" (day) "#split"} { "Change the series from this one on" }
                        details {
                            summary { "Move only this one" }
                            form.actions method="post" action=(move_action) {
                                (token_input(&ctx.viewer, &move_action))
                                label for=(input_id) { "New start (" (ctx.zone) ")" }
                                input id=(input_id) type="datetime-local" name="starts_at" value=(time::local_input(s.starts_at, &ctx.tz)) required;
                                button type="submit" { "Move" }
                            }
                        }
                    }
                } }
            }
            div {
                h2 #split { "Change the series from a date on" }
                p.muted { "Sessions already generated from that date move with it, all of them or none; past sessions never change." }
                (forms.split_errors.summary())
                form.stack.card method="post" action=(split_action) novalidate {
                    (token_input(&ctx.viewer, &split_action))
                    (Input::new("from", "From").kind("date").value(&from).required().render(&forms.split_errors))
                    (Input::new("start_time", "New start time").kind("time").value(sent(forms.split, "start_time"))
                        .hint(&format!("Leave empty to keep it; in {}.", g.recurrence.as_ref().map_or(ctx.zone.as_str(), |r| r.timezone.as_str())))
                        .render(&forms.split_errors))
                    (Input::new("duration_minutes", "New length in minutes").kind("number").value(sent(forms.split, "duration_minutes"))
                        .hint("Leave empty to keep it.").render(&forms.split_errors))
                    fieldset {
                        legend { "Facilitators from that date" }
                        div.checks { @for t in names.with_role(circles_domain::Role::Therapist) {
                            @let value = t.id.to_string();
                            label { input type="checkbox" name="facilitator_ids" value=(value) checked[chosen.contains(&value)]; " " (t.name) }
                        } }
                        @if let Some(e) = forms.split_errors.field("facilitator_ids") { span.error { (e) } }
                    }
                    div.actions { button type="submit" { "Change the series" } }
                }
                h2 #generate { "Generate sessions" }
                (forms.generate_errors.summary())
                form.stack.card method="post" action=(generate_action) novalidate {
                    (token_input(&ctx.viewer, &generate_action))
                    (Input::new("gen_from", "Generate from").kind("date").value(sent(forms.generate, "gen_from")).api("from").required()
                        .render(&forms.generate_errors))
                    (Input::new("gen_to", "Until").kind("date").value(sent(forms.generate, "gen_to")).api("to").required()
                        .hint("At most 366 days. A range generated before makes nothing twice.").render(&forms.generate_errors))
                    div.field.checks {
                        label for="f-skip" { input #f-skip type="checkbox" name="skip_conflicts" value="true"
                            checked[forms.generate.is_some_and(|f| f.get("skip_conflicts").is_some())];
                            " Make what can be made when a therapist is busy at some dates" }
                    }
                    div.actions { button type="submit" { "Generate" } }
                }
            }
        }
    };
    Ok(page_with_status(ctx, status, &format!("The series of {}", g.name), "Groups", body))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, group)): Path<(Uuid, Uuid)>,
    axum::extract::Query(query): axum::extract::Query<SeriesQuery>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let from = query.from.filter(|d| d.parse::<jiff::civil::Date>().is_ok());
    render(&state, &ctx, group, StatusCode::OK, Forms { from, ..Forms::default() }, Report::None).await
}

/// The changed parts only: an empty time or length keeps it, and the
/// facilitators are sent only when the choice differs from the group's.
fn split_request(fields: &Fields, current: &[Uuid]) -> Result<SplitRequest, ApiError> {
    let duration_minutes = match fields.text("duration_minutes") {
        None => None,
        Some(raw) => Some(raw.parse().map_err(|_| ApiError::field("duration_minutes", "must be a whole number"))?),
    };
    let mut chosen: Vec<Uuid> = fields.all("facilitator_ids").iter().filter_map(|id| id.parse().ok()).collect();
    let mut before = current.to_vec();
    chosen.sort();
    before.sort();
    Ok(SplitRequest {
        from: fields.get("from").unwrap_or_default().to_owned(),
        start_time: fields.text("start_time"),
        duration_minutes,
        facilitator_ids: (chosen != before).then_some(chosen),
    })
}

pub async fn change(
    State(state): State<AppState>,
    Path((org, group)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let current = get_group(State(state.clone()), ctx.member.clone(), Path((org, group))).await?.0.facilitator_ids;
    let outcome = match split_request(&fields, &current) {
        Ok(body) => split(State(state.clone()), ctx.member.clone(), Path((org, group)), Json(body)).await,
        Err(e) => Err(e),
    };
    match outcome {
        // The change is done; the page shows what moved (sending it again changes nothing more).
        Ok(done) => render(&state, &ctx, group, StatusCode::OK, Forms::default(), Report::Split(&done.0.moved)).await,
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let forms = Forms { split: Some(&fields), split_errors: Errors::from_problem(&e), ..Forms::default() };
            render(&state, &ctx, group, e.status, forms, Report::None).await
        }
        Err(e) => refused(&ctx.path(&format!("/groups/{group}/series")), &e),
    }
}

pub async fn make(
    State(state): State<AppState>,
    Path((org, group)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let request = GenerateRequest {
        from: fields.get("gen_from").unwrap_or_default().to_owned(),
        to: fields.get("gen_to").unwrap_or_default().to_owned(),
        skip_conflicts: fields.get("skip_conflicts").is_some(),
    };
    match generate(State(state.clone()), ctx.member.clone(), Path((org, group)), Json(request)).await {
        // Generating the same range again makes nothing twice, so the report
        // is shown on this response rather than carried across a redirect.
        Ok(made) => render(&state, &ctx, group, StatusCode::OK, Forms::default(), Report::Generated(&made.0)).await,
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let forms =
                Forms { generate: Some(&fields), generate_errors: Errors::from_problem(&e), ..Forms::default() };
            render(&state, &ctx, group, e.status, forms, Report::None).await
        }
        Err(e) => refused(&ctx.path(&format!("/groups/{group}/series")), &e),
    }
}

/// Moves one occurrence; the rest of the series stays.
pub async fn move_one(
    State(state): State<AppState>,
    Path((org, group, session)): Path<(Uuid, Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/groups/{group}/series");
    let member = match member_in(&state, &form.viewer.caller, org).await {
        Ok(member) => member,
        Err(e) => return refused(&back, &e),
    };
    let zone = state.store.preferences(form.viewer.caller.principal.account_id).await.map_err(ApiError::from)?.timezone;
    let tz = time::zone(zone.as_deref().unwrap_or(&member.org.timezone));
    let Some(at) = form.fields.text("starts_at").and_then(|raw| time::parse_local_input(&raw, &tz)) else {
        return refused(&back, &ApiError::field("starts_at", "must be a date and time"));
    };
    let request = RescheduleRequest { starts_at: at.to_string(), duration_minutes: None };
    match reschedule(State(state.clone()), member, Path((org, session)), Json(request)).await {
        Ok(moved) => Ok(redirect_with(
            &back,
            Flash::ok(format!("Moved to {}; the rest of the series stays.", time::when(moved.0.starts_at, &tz))),
        )),
        Err(e) => refused(&back, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::rule_in_words;

    #[test]
    fn a_rule_reads_as_words() {
        assert_eq!(rule_in_words("FREQ=WEEKLY;BYDAY=TH"), "Every week on Thursday");
        assert_eq!(
            rule_in_words("FREQ=WEEKLY;BYDAY=MO,WE,FR;INTERVAL=2"),
            "Every 2 weeks on Monday, Wednesday and Friday"
        );
        assert_eq!(rule_in_words("FREQ=MONTHLY;BYDAY=2TU"), "Every month on the second Tuesday");
        assert_eq!(rule_in_words("FREQ=MONTHLY;BYMONTHDAY=15"), "Every month on day 15");
    }
}
