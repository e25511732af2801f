//! Creating a group (optionally recurring) and its settings form: the
//! group's fields, staff and rules, sent to the API's own create and update
//! handlers, with each refusal next to the field it names.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use circles_domain::Role;
use circles_domain::civil::weekday_name;
use circles_domain::group::{SessionCreation, SettingsInput, WindowInput};
use circles_domain::recurrence::RecurrenceInput;
use circles_domain::waitlist::OfferMode;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::layout::page_with_status;
use super::names::Names;
use super::offer_mode;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::routes::groups::{GroupBody, GroupView, create_group, get_group, update_group};
use crate::state::AppState;

const TYPES: [(&str, &str); 5] = [
    ("COMMUNITY", "Community"),
    ("THERAPY", "Therapy group"),
    ("SUPPORT", "Support group"),
    ("EDUCATION", "Education group"),
    ("SKILLS", "Skills group"),
];

/// RFC 5545 day codes, in the order a week is read.
pub const DAYS: [(&str, &str); 7] = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
];

/// A day as people read it, from the API's lower-case weekday name.
pub fn day_label(weekday: jiff::civil::Weekday) -> &'static str {
    let name = weekday_name(weekday);
    DAYS.iter().find(|(_, label)| label.eq_ignore_ascii_case(name)).map_or(name, |(_, label)| label)
}

/// Empty window rows offered below the stored ones, for adding windows
/// without script.
const SPARE_WINDOWS: usize = 2;

/// One row of the time-window fields: day, start and end, as typed.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct WindowRow {
    pub day: String,
    pub start: String,
    pub end: String,
}

impl WindowRow {
    fn is_blank(&self) -> bool {
        [&self.day, &self.start, &self.end].iter().all(|v| v.trim().is_empty())
    }
}

/// The window rows a form sent, in order (each row sends all three fields).
fn sent_windows(fields: &Fields) -> Vec<WindowRow> {
    let (days, starts, ends) = (fields.all("win_day"), fields.all("win_start"), fields.all("win_end"));
    let at = |list: &[&str], i: usize| list.get(i).map(|v| v.trim().to_owned()).unwrap_or_default();
    (0..days.len().max(starts.len()).max(ends.len()))
        .map(|i| WindowRow { day: at(&days, i), start: at(&starts, i), end: at(&ends, i) })
        .collect()
}

/// The API's windows: every row with something in it, blank rows skipped,
/// so clearing every row clears the windows.
fn windows_input(fields: &Fields) -> Vec<WindowInput> {
    sent_windows(fields)
        .into_iter()
        .filter(|row| !row.is_blank())
        .map(|row| WindowInput { weekday: row.day, start_time: row.start, end_time: row.end })
        .collect()
}

/// What the form shows: a refused submission as typed, else the group as stored.
struct Values<'a> {
    sent: Option<&'a Fields>,
    group: Option<&'a GroupView>,
}

impl Values<'_> {
    fn text(&self, name: &str, stored: impl FnOnce(&GroupView) -> Option<String>) -> String {
        match self.sent {
            Some(fields) => fields.get(name).unwrap_or_default().to_owned(),
            None => self.group.and_then(stored).unwrap_or_default(),
        }
    }

    fn checked(&self, name: &str, stored: impl FnOnce(&GroupView) -> bool, default: bool) -> bool {
        match (self.sent, self.group) {
            (Some(fields), _) => fields.get(name).is_some(),
            (None, Some(group)) => stored(group),
            (None, None) => default,
        }
    }

    /// The rows as sent, else the stored windows and a few empty rows.
    fn windows(&self) -> Vec<WindowRow> {
        if let Some(fields) = self.sent {
            return sent_windows(fields);
        }
        let stored = self.group.map(|g| g.settings.allowed_time_windows.as_slice()).unwrap_or_default();
        stored
            .iter()
            .map(|w| WindowRow {
                day: weekday_name(w.weekday).to_owned(),
                start: w.start.strftime("%H:%M").to_string(),
                end: w.end.strftime("%H:%M").to_string(),
            })
            .chain(std::iter::repeat_n(WindowRow::default(), SPARE_WINDOWS))
            .collect()
    }

    /// The offer mode as sent (a refused count reads as none), else as stored.
    fn offer_mode(&self) -> Option<OfferMode> {
        match (self.sent, self.group) {
            (Some(fields), _) => offer_mode::sent(fields, "settings.offer_mode").unwrap_or(None),
            (None, Some(group)) => group.settings.offer_mode,
            (None, None) => None,
        }
    }

    fn chosen(&self, name: &str, stored: impl FnOnce(&GroupView) -> Vec<Uuid>) -> Vec<String> {
        match (self.sent, self.group) {
            (Some(fields), _) => fields.all(name).into_iter().map(str::to_owned).collect(),
            (None, Some(group)) => stored(group).into_iter().map(|id| id.to_string()).collect(),
            (None, None) => Vec::new(),
        }
    }
}

fn check(name: &str, label: &str, on: bool, hint: Option<&str>) -> Markup {
    let id = format!("f-{}", name.replace('.', "-"));
    html! {
        div.field.checks {
            label for=(id) { input id=(id) type="checkbox" name=(name) value="true" checked[on]; " " (label) }
            @if let Some(hint) = hint { span.hint { (hint) } }
        }
    }
}

fn people_choice(
    legend: &str,
    name: &str,
    people: &[&crate::routes::views::PersonView],
    chosen: &[String],
    errors: &Errors,
) -> Markup {
    let error_id = format!("{name}-error");
    html! {
        fieldset.invalid[errors.field(name).is_some()] aria-describedby=[errors.field(name).map(|_| error_id.as_str())] {
            legend { (legend) }
            @if people.is_empty() { p.muted { "Nobody to choose yet." } }
            div.checks {
                @for p in people {
                    @let value = p.id.to_string();
                    label { input type="checkbox" name=(name) value=(value) checked[chosen.contains(&value)]; " " (p.name) }
                }
            }
            @if let Some(e) = errors.field(name) { span.error id=(error_id) { (e) } }
        }
    }
}

fn form(ctx: &Ctx, action: &str, values: &Values, names: &Names, errors: &Errors, creating: bool) -> Markup {
    let v = values;
    let group_type = v.text("type", |g| Some(g.group_type.clone()));
    let modality = v.text("modality", |g| g.modality.clone());
    let creation = v.text("session_creation", |g| {
        Some(match g.settings.session_creation {
            SessionCreation::Moderators => "MODERATORS".into(),
            SessionCreation::AllMembers => "ALL_MEMBERS".into(),
        })
    });
    let name = v.text("name", |g| Some(g.name.clone()));
    let capacity = v.text("capacity", |g| g.capacity.map(|c| c.to_string()));
    let link = v.text("virtual_link", |g| g.virtual_link.clone());
    let location = v.text("location", |g| g.location.clone());
    let population = v.text("target_population", |g| g.target_population.clone());
    let notice = v.text("advance_notice_hours", |g| Some(g.settings.advance_notice_hours.to_string()));
    let default_capacity = v.text("default_capacity", |g| Some(g.settings.default_capacity.to_string()));
    let late_join = v.text("late_join_minutes", |g| Some(g.settings.late_join_minutes.to_string()));
    let therapists = names.with_role(Role::Therapist);
    let moderators = names.with_role(Role::Moderator);
    html! {
        (errors.summary())
        form.stack method="post" action=(action) novalidate {
            (token_input(&ctx.viewer, action))
            fieldset {
                legend { "The group" }
                (Input::new("name", "Name").value(&name).required().render(errors))
                div.field.invalid[errors.field("description").is_some()] {
                    label for="f-description" { "Description" }
                    textarea #f-description name="description" { (v.text("description", |g| Some(g.description.clone()))) }
                    @if let Some(e) = errors.field("description") { span.error { (e) } }
                }
                div.field.invalid[errors.field("type").is_some()] {
                    label for="f-type" { "Kind" }
                    select #f-type name="type" {
                        @for (value, label) in TYPES { option value=(value) selected[group_type == value] { (label) } }
                    }
                }
                (check("open", "Open to new members", v.checked("open", |g| g.open, true), None))
                (check("requires_screening", "Members are screened before joining",
                    v.checked("requires_screening", |g| g.requires_screening, false), None))
                (Input::new("capacity", "Most active members").kind("number").value(&capacity)
                    .hint("Leave empty for no limit.").render(errors))
                (Input::new("target_population", "Who it is for (optional)").value(&population).render(errors))
                div.field.invalid[errors.field("modality").is_some()] {
                    label for="f-modality" { "How it meets" }
                    select #f-modality name="modality" {
                        option value="" selected[modality.is_empty()] { "Not set" }
                        option value="VIRTUAL" selected[modality == "VIRTUAL"] { "Online" }
                        option value="IN_PERSON" selected[modality == "IN_PERSON"] { "In person" }
                    }
                }
                (Input::new("virtual_link", "Video link (online)").kind("url").value(&link).render(errors))
                (Input::new("location", "Room (in person)").value(&location).render(errors))
            }
            (people_choice("Facilitating therapists", "facilitator_ids", &therapists,
                &v.chosen("facilitator_ids", |g| g.facilitator_ids.clone()), errors))
            @if ctx.role() == Role::Admin {
                (people_choice("Moderators", "moderator_ids", &moderators,
                    &v.chosen("moderator_ids", |g| g.moderator_ids.clone()), errors))
            }
            fieldset {
                legend { "Rules for sessions" }
                div.field.invalid[errors.field("settings.session_creation").is_some()] {
                    label for="f-session-creation" { "Who proposes sessions" }
                    select #f-session-creation name="session_creation" {
                        option value="MODERATORS" selected[creation != "ALL_MEMBERS"] { "The group’s moderators" }
                        option value="ALL_MEMBERS" selected[creation == "ALL_MEMBERS"] { "Any member" }
                    }
                }
                (check("approval_required", "A member’s proposal waits for a moderator’s approval",
                    v.checked("approval_required", |g| g.settings.approval_required, false), None))
                (Input::new("advance_notice_hours", "Hours of notice for a proposal").kind("number").value(&notice)
                    .api("settings.advance_notice_hours").render(errors))
                (Input::new("default_capacity", "Seats in a session unless chosen otherwise").kind("number")
                    .value(&default_capacity).api("settings.default_capacity").render(errors))
                (check("allow_instant", "Members may start a drop-in session now",
                    v.checked("allow_instant", |g| g.settings.allow_instant, true), None))
                (check("allow_peer_led", "A drop-in session may run without a facilitator",
                    v.checked("allow_peer_led", |g| g.settings.allow_peer_led, false), None))
                (check("instant_ignores_windows", "A drop-in session may start outside the group’s time windows",
                    v.checked("instant_ignores_windows", |g| g.settings.instant_ignores_windows, false), None))
                (Input::new("late_join_minutes", "Minutes after the start a member may still take a free seat").kind("number")
                    .value(&late_join).api("settings.late_join_minutes").render(errors))
                (check("refuse_outside_working_hours", "Refuse to generate sessions outside a facilitator’s working hours",
                    v.checked("refuse_outside_working_hours", |g| g.settings.refuse_outside_working_hours, false),
                    Some("Otherwise they are generated and the report warns.")))
            }
            fieldset {
                legend { "Waitlist" }
                (offer_mode::fields(v.offer_mode(), Some("As the organisation’s waitlist settings say"), errors,
                    "settings.offer_mode"))
            }
            (window_fields(ctx, &v.windows(), errors))
            @if creating { (recurrence_fields(ctx, v, errors)) }
            div.actions { button type="submit" { @if creating { "Create the group" } @else { "Save the settings" } } }
        }
    }
}

/// The allowed time windows: one fieldset per row (day, from, until), each
/// error beside its input. The API numbers only the rows that were filled
/// in, so a row's errors are found under that number.
pub(super) fn window_fields(ctx: &Ctx, rows: &[WindowRow], errors: &Errors) -> Markup {
    let mut filled = 0;
    let numbered: Vec<(usize, Option<usize>, &WindowRow)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let api = (!row.is_blank()).then(|| {
                filled += 1;
                filled - 1
            });
            (i, api, row)
        })
        .collect();
    html! {
        fieldset.windows {
            legend { "When sessions may take place (optional)" }
            p.hint { "A session must lie inside one of these windows; with none, any day and time is allowed. "
                "Empty a row to remove it. Times are in " (ctx.member.org.timezone) "." }
            @for (i, api, row) in numbered {
                @let error_of = |part: &str| api.and_then(|j| errors.field(&format!("settings.allowed_time_windows[{j}].{part}")));
                @let (day_error, start_error, end_error) = (error_of("weekday"), error_of("start_time"), error_of("end_time"));
                @let id = |part: &str| format!("f-win-{i}-{part}");
                fieldset.window {
                    legend { "Window " (i + 1) }
                    div.field.invalid[day_error.is_some()] {
                        label for=(id("day")) { "Day" }
                        select id=(id("day")) name="win_day" aria-invalid=[day_error.map(|_| "true")]
                            aria-describedby=[day_error.map(|_| id("day-error"))] {
                            option value="" selected[row.day.is_empty()] { "None" }
                            @for (_, label) in DAYS {
                                @let value = label.to_ascii_lowercase();
                                option value=(value) selected[row.day.eq_ignore_ascii_case(&value)] { (label) }
                            }
                        }
                        @if let Some(e) = day_error { span.error id=(id("day-error")) { (e) } }
                    }
                    @for (part, label, value, error) in [("start", "From", &row.start, start_error), ("end", "Until", &row.end, end_error)] {
                        div.field.invalid[error.is_some()] {
                            label for=(id(part)) { (label) }
                            input id=(id(part)) name={"win_" (part)} type="time" value=(value)
                                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| id(&format!("{part}-error")))];
                            @if let Some(e) = error { span.error id=(id(&format!("{part}-error"))) { (e) } }
                        }
                    }
                }
            }
        }
    }
}

fn recurrence_fields(ctx: &Ctx, v: &Values, errors: &Errors) -> Markup {
    let days = v.sent.map(|f| f.all("rec_day")).unwrap_or_default();
    let every = v.text("rec_every", |_| None);
    let duration = v.text("rec_duration", |_| None);
    let rule_error = errors.field("recurrence.rrule");
    html! {
        fieldset {
            legend { "Meets regularly (optional)" }
            p.hint { "Choose days and a first date to make this a series; its sessions are generated from the group’s page. Times are in " (ctx.zone) "." }
            fieldset.invalid[rule_error.is_some()] aria-describedby=[rule_error.map(|_| "rec-rule-error")] {
                legend { "On" }
                div.checks {
                    @for (code, day) in DAYS {
                        label { input type="checkbox" name="rec_day" value=(code) checked[days.contains(&code)]; " " (day) }
                    }
                }
                @if let Some(e) = rule_error { span.error #rec-rule-error { (e) } }
            }
            (Input::new("rec_every", "Every how many weeks").kind("number")
                .value(if every.is_empty() { "1" } else { every.as_str() }).api("recurrence.rrule").render(errors))
            (Input::new("rec_start_date", "First date").kind("date").value(&v.text("rec_start_date", |_| None))
                .api("recurrence.start_date").render(errors))
            (Input::new("rec_start_time", "Starts at").kind("time").value(&v.text("rec_start_time", |_| None))
                .api("recurrence.start_time").render(errors))
            (Input::new("rec_duration", "Length in minutes").kind("number")
                .value(if duration.is_empty() { "90" } else { duration.as_str() }).api("recurrence.duration_minutes").render(errors))
            (Input::new("rec_end_date", "Last date (optional)").kind("date").value(&v.text("rec_end_date", |_| None))
                .api("recurrence.end_date").render(errors))
        }
    }
}

fn number(fields: &Fields, name: &str, api: &str) -> Result<Option<i64>, ApiError> {
    match fields.text(name) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| ApiError::field(api, "must be a whole number")),
    }
}

/// A number every group has: blank keeps the default when creating, and is
/// refused when editing (there is nothing to clear it to).
fn setting(fields: &Fields, name: &str, api: &str, creating: bool) -> Result<Option<i64>, ApiError> {
    match number(fields, name, api)? {
        None if !creating => Err(ApiError::field(api, "is required")),
        found => Ok(found),
    }
}

/// An optional text field as sent: blank clears the stored value.
fn cleared_when_blank(fields: &Fields, name: &str) -> Option<String> {
    Some(fields.get(name).unwrap_or_default().trim().to_owned())
}

fn ids(fields: &Fields, name: &str) -> Vec<Uuid> {
    fields.all(name).iter().filter_map(|id| id.parse().ok()).collect()
}

/// The API's body for what the form sent; a recurrence only when days or a
/// first date were given, read in the viewer's zone.
fn body(ctx: &Ctx, fields: &Fields, creating: bool) -> Result<GroupBody, ApiError> {
    let days = fields.all("rec_day");
    let recurrence = if creating && (!days.is_empty() || fields.text("rec_start_date").is_some()) {
        let every = number(fields, "rec_every", "recurrence.rrule")?.unwrap_or(1);
        let mut rrule = format!("FREQ=WEEKLY;BYDAY={}", days.join(","));
        if days.is_empty() {
            rrule = "FREQ=WEEKLY".into();
        }
        if every != 1 {
            rrule.push_str(&format!(";INTERVAL={every}"));
        }
        Some(RecurrenceInput {
            rrule,
            start_date: fields.text("rec_start_date").unwrap_or_default(),
            start_time: fields.text("rec_start_time").unwrap_or_default(),
            timezone: ctx.zone.clone(),
            duration_minutes: number(fields, "rec_duration", "recurrence.duration_minutes")?.unwrap_or(0),
            end_date: fields.text("rec_end_date"),
            exdates: Vec::new(),
        })
    } else {
        None
    };
    let settings = SettingsInput {
        session_creation: fields.text("session_creation"),
        approval_required: Some(fields.get("approval_required").is_some()),
        advance_notice_hours: setting(fields, "advance_notice_hours", "settings.advance_notice_hours", creating)?,
        allowed_time_windows: Some(windows_input(fields)),
        default_capacity: setting(fields, "default_capacity", "settings.default_capacity", creating)?,
        allow_instant: Some(fields.get("allow_instant").is_some()),
        refuse_outside_working_hours: Some(fields.get("refuse_outside_working_hours").is_some()),
        late_join_minutes: setting(fields, "late_join_minutes", "settings.late_join_minutes", creating)?,
        allow_peer_led: Some(fields.get("allow_peer_led").is_some()),
        instant_ignores_windows: Some(fields.get("instant_ignores_windows").is_some()),
        offer_mode: Some(offer_mode::sent(fields, "settings.offer_mode")?),
    };
    Ok(GroupBody {
        name: Some(fields.get("name").unwrap_or_default().to_owned()),
        description: Some(fields.get("description").unwrap_or_default().to_owned()),
        group_type: fields.text("type"),
        open: Some(fields.get("open").is_some()),
        // Blank is no limit: sent as null, which clears a stored limit.
        capacity: Some(number(fields, "capacity", "capacity")?),
        requires_screening: Some(fields.get("requires_screening").is_some()),
        // Sent blank, an optional field is cleared.
        target_population: cleared_when_blank(fields, "target_population"),
        age_range: None,
        modality: cleared_when_blank(fields, "modality"),
        virtual_link: cleared_when_blank(fields, "virtual_link"),
        location: cleared_when_blank(fields, "location"),
        address: None,
        settings: Some(settings),
        recurrence,
        facilitator_ids: Some(ids(fields, "facilitator_ids")),
        // Only an admin sees the moderators; others leave them as they are.
        moderator_ids: (ctx.role() == Role::Admin).then(|| ids(fields, "moderator_ids")),
    })
}

async fn render_new(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    sent: Option<&Fields>,
    errors: &Errors,
) -> PageResult<Response> {
    let names = Names::load(state, ctx).await?;
    let action = ctx.path("/groups/new");
    let body = html! {
        h1 { "New group" }
        div.card { (form(ctx, &action, &Values { sent, group: None }, &names, errors, true)) }
    };
    Ok(page_with_status(ctx, status, "New group", "Groups", body))
}

pub async fn new(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render_new(&state, &ctx, StatusCode::OK, None, &Errors::none()).await
}

pub async fn create(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let outcome = match body(&ctx, &fields, true) {
        Ok(body) => create_group(State(state.clone()), ctx.member.clone(), Json(body)).await.map(|(_, g)| g.0),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(group) => Ok(redirect_with(
            &ctx.path(&format!("/groups/{}", group.id)),
            Flash::ok(format!("{} is created.", group.name)),
        )),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            render_new(&state, &ctx, e.status, Some(&fields), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path("/groups"), &e),
    }
}

async fn render_settings(
    state: &AppState,
    ctx: &Ctx,
    group: Uuid,
    status: StatusCode,
    sent: Option<&Fields>,
    errors: &Errors,
) -> PageResult<Response> {
    let g = get_group(State(state.clone()), ctx.member.clone(), Path((ctx.org(), group))).await?.0;
    let names = Names::load(state, ctx).await?;
    let action = ctx.path(&format!("/groups/{group}/settings"));
    let body = html! {
        h1 { "Settings of " (g.name) }
        p { a href=(ctx.path(&format!("/groups/{group}"))) { "Back to the group" }
            @if g.recurrence.is_some() { " · " a href=(ctx.path(&format!("/groups/{group}/series"))) { "The series" } } }
        div.card { (form(ctx, &action, &Values { sent, group: Some(&g) }, &names, errors, false)) }
    };
    Ok(page_with_status(ctx, status, &format!("Settings of {}", g.name), "Groups", body))
}

pub async fn settings(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, group)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render_settings(&state, &ctx, group, StatusCode::OK, None, &Errors::none()).await
}

pub async fn save(
    State(state): State<AppState>,
    Path((org, group)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let outcome = match body(&ctx, &fields, false) {
        Ok(body) => update_group(State(state.clone()), ctx.member.clone(), Path((org, group)), Json(body)).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(saved) => Ok(redirect_with(
            &ctx.path(&format!("/groups/{group}")),
            Flash::ok(format!("The settings of {} are saved.", saved.0.name)),
        )),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            render_settings(&state, &ctx, group, e.status, Some(&fields), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path(&format!("/groups/{group}")), &e),
    }
}
