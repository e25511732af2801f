//! Groups and communities: the list, and one group's page with its rules
//! explained, statistics, members with screening, sessions, proposals
//! awaiting approval and the form to propose a session.

use super::viewer::member_in;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use circles_domain::Role;
use circles_domain::group::SessionCreation;
use jiff::SignedDuration;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::group_form::day_label;
use super::layout::{page, page_with_status};
use super::my_statistics::rate;
use super::names::Names;
use super::schedule::{modality, status_tag};
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::routes::group_sessions::{RejectRequest, approve as api_approve, reject as api_reject};
use crate::routes::groups::{GroupQuery, GroupView, MemberQuery, get_group, list_groups, list_members};
use crate::routes::roster::{GroupStatsView, group_stats};
use crate::routes::sessions::{CreateSessionRequest, SessionQuery, SessionView, create_session, list_sessions};
use crate::state::AppState;

/// A group's attendance in words; the rates show a dash until a seat is marked.
pub fn stats_facts(stats: &GroupStatsView) -> Markup {
    let s = &stats.stats;
    html! {
        dl.facts.card {
            dt { "Sessions held" } dd { (s.sessions_held) }
            dt { "Average attendance" } dd { (format!("{:.1}", s.average_attendance)) " members" }
            dt { "Not yet recorded" } dd { (s.unmarked) }
            dt { "Attendance rate" } dd { (rate(s.attendance_rate, s.marked)) }
            dt { "No-show rate" } dd { (rate(s.no_show_rate, s.marked)) }
            @for (status, count) in &stats.members_by_status {
                dt { "Members " (status.to_lowercase().replace('_', " ")) } dd { (count) }
            }
        }
    }
}

/// The group's sessions from now over the next `days`, at most `limit`.
pub async fn upcoming_sessions(
    state: &AppState,
    ctx: &Ctx,
    group: Uuid,
    days: i64,
    limit: i64,
) -> PageResult<Vec<SessionView>> {
    let now = state.clock.now();
    let query = SessionQuery {
        status: None,
        from: Some(now.to_string()),
        to: Some((now + SignedDuration::from_hours(24 * days)).to_string()),
        group_id: Some(group),
        created_by: None,
        cursor: None,
        limit: Some(limit),
    };
    Ok(list_sessions(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items)
}

pub async fn index(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let groups = list_groups(
        State(state.clone()),
        ctx.member.clone(),
        Query(GroupQuery { include_archived: None, limit: Some(1000), cursor: None }),
    )
    .await?
    .0
    .items;
    let title = if ctx.role() == Role::Client { "My groups" } else { "Groups and communities" };
    let body = html! {
        h1 { (title) }
        @if matches!(ctx.role(), Role::Admin | Role::Moderator) { p { a.button href=(ctx.path("/groups/new")) { "New group" } } }
        @if groups.is_empty() { p.empty { "No groups yet." } }
        div.cards {
            @for g in &groups {
                div.card {
                    h2 { a href=(ctx.path(&format!("/groups/{}", g.id))) { (g.name) } }
                    p.muted { (kind(&g.group_type)) " · " (if g.open { "open" } else { "closed" }) " · "
                        (g.members.active) " active members"
                        @if g.members.waitlisted > 0 { ", " (g.members.waitlisted) " waiting" } }
                    p { (g.description) }
                }
            }
        }
    };
    Ok(page(&ctx, title, if ctx.role() == Role::Client { "My groups" } else { "Groups" }, body))
}

/// "2026-11-30" → "Mon 30 Nov".
fn civil_day(raw: &str) -> String {
    raw.parse().map(time::short_day).unwrap_or_else(|_| raw.to_owned())
}

fn kind(raw: &str) -> &'static str {
    match raw {
        "THERAPY" => "Therapy group",
        "SUPPORT" => "Support group",
        "EDUCATION" => "Education group",
        "SKILLS" => "Skills group",
        _ => "Community",
    }
}

/// The group's rules in words, shown next to the proposal form; windows
/// are read in `zone`, the organisation's.
pub fn rules(g: &GroupView, zone: &str) -> Markup {
    let s = &g.settings;
    html! {
        ul {
            li { @match s.session_creation {
                SessionCreation::Moderators => "Only the group's moderators propose sessions.",
                SessionCreation::AllMembers => "Any member may propose a session.",
            } }
            @if s.approval_required { li { "A member's proposal waits for a moderator's approval." } }
            @if s.advance_notice_hours > 0 { li { "Propose at least " (s.advance_notice_hours) " hours ahead." } }
            @else { li { "Sessions may be proposed at short notice." } }
            @if s.allowed_time_windows.is_empty() { li { "Any day and time." } }
            @else {
                li { "Only within these hours (" (zone) "): "
                    @for (i, w) in s.allowed_time_windows.iter().enumerate() {
                        @if i > 0 { "; " }
                        (day_label(w.weekday)) "s " (w.start.strftime("%H:%M")) "–" (w.end.strftime("%H:%M"))
                    }
                    "."
                }
            }
            li { "Capacity " (s.default_capacity) " unless you choose otherwise (2–50); 15 to 180 minutes." }
            li { "Every invited therapist must accept before members can join." }
        }
    }
}

struct Draft<'a> {
    fields: Option<&'a Fields>,
}

impl Draft<'_> {
    fn get(&self, name: &str) -> &str {
        self.fields.and_then(|f| f.get(name)).unwrap_or_default()
    }
}

fn propose_form(ctx: &Ctx, g: &GroupView, names: &Names, draft: &Draft, errors: &Errors) -> Markup {
    let action = ctx.path(&format!("/groups/{}/propose", g.id));
    let chosen = draft.fields.map(|f| f.all("therapist_ids")).unwrap_or_default();
    let default_capacity = g.settings.default_capacity.to_string();
    let capacity = if draft.get("capacity").is_empty() { default_capacity.as_str() } else { draft.get("capacity") };
    let duration = if draft.get("duration_minutes").is_empty() { "90" } else { draft.get("duration_minutes") };
    let group_modality = g.modality.as_deref().unwrap_or("IN_PERSON");
    let chosen_modality = if draft.get("modality").is_empty() { group_modality } else { draft.get("modality") };
    html! {
        (errors.summary())
        form.stack method="post" action=(action) novalidate {
            (token_input(&ctx.viewer, &action))
            (Input::new("title", "Title").value(draft.get("title")).required().render(errors))
            div.field.invalid[errors.field("description").is_some()] {
                label for="f-description" { "Description (optional)" }
                textarea #f-description name="description" { (draft.get("description")) }
            }
            (Input::new("starts_at", "Starts").kind("datetime-local").value(draft.get("starts_at")).required()
                .hint(&format!("Local time, {}.", ctx.zone)).render(errors))
            (Input::new("duration_minutes", "Length in minutes").kind("number").value(duration).required().render(errors))
            (Input::new("capacity", "Seats").kind("number").value(capacity).required().render(errors))
            div.field.invalid[errors.field("modality").is_some()] {
                label for="f-modality" { "How" }
                select #f-modality name="modality" {
                    option value="VIRTUAL" selected[chosen_modality == "VIRTUAL"] { "Online" }
                    option value="IN_PERSON" selected[chosen_modality == "IN_PERSON"] { "In person" }
                }
            }
            (Input::new("virtual_link", "Video link (online)").kind("url")
                .value(if draft.fields.is_some() { draft.get("virtual_link") } else { g.virtual_link.as_deref().unwrap_or_default() })
                .render(errors))
            (Input::new("location", "Room (in person)")
                .value(if draft.fields.is_some() { draft.get("location") } else { g.location.as_deref().unwrap_or_default() })
                .render(errors))
            fieldset.invalid[errors.field("therapist_ids").is_some()] aria-describedby="therapists-error" {
                legend { "Therapists to invite" }
                div.checks {
                    @for id in &g.facilitator_ids {
                        @let value = id.to_string();
                        label { input type="checkbox" name="therapist_ids" value=(value) checked[chosen.contains(&value.as_str())]; " " (names.of(*id)) }
                    }
                }
                @if let Some(e) = errors.field("therapist_ids") { span.error #therapists-error { (e) } }
            }
            div.actions { button type="submit" { "Propose the session" } }
        }
    }
}

fn sessions_list(ctx: &Ctx, sessions: &[SessionView], names: &Names) -> Markup {
    html! {
        @if sessions.is_empty() { p.empty { "No sessions coming up." } }
        ul.plain {
            @for s in sessions {
                li {
                    a href=(ctx.path(&format!("/sessions/{}", s.id))) { (s.title) }
                    " — " (time::span(s.starts_at, s.ends_at, &ctx.tz)) " " (status_tag(&s.status))
                    br;
                    span.muted {
                        (modality(&s.modality)) " · " (s.seats_taken) "/" (s.capacity) " seats"
                        @for (i, t) in s.therapists.iter().enumerate() {
                            @if i > 0 { ", " } @else { " · " }
                            (names.of(t.therapist_id)) " (" (super::session::invitation_words(&t.status)) ")"
                        }
                    }
                    @if s.approval.as_deref() == Some("pending") && ctx.is_staff() { (approval_forms(ctx, s)) }
                }
            }
        }
    }
}

fn approval_forms(ctx: &Ctx, s: &SessionView) -> Markup {
    let approve = ctx.path(&format!("/sessions/{}/approve", s.id));
    let reject = ctx.path(&format!("/sessions/{}/reject", s.id));
    html! {
        div.actions {
            span.tag.pending { "awaiting approval" }
            form.inline method="post" action=(approve) {
                (token_input(&ctx.viewer, &approve))
                button type="submit" aria-label={"Approve " (s.title)} { "Approve" }
            }
            form.inline method="post" action=(reject) {
                (token_input(&ctx.viewer, &reject))
                label for={"r-" (s.id)} { "Reason" } " "
                input id={"r-" (s.id)} name="reason" required;
                " "
                button.danger type="submit" aria-label={"Reject " (s.title)} { "Reject" }
            }
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    group: Uuid,
    status: StatusCode,
    draft: Draft<'_>,
    errors: &Errors,
) -> PageResult<Response> {
    let g = get_group(State(state.clone()), ctx.member.clone(), Path((ctx.org(), group))).await?.0;
    let names = Names::load(state, ctx).await?;
    let sessions = upcoming_sessions(state, ctx, group, 60, 50).await?;
    // Statistics and the roster are for the group's staff; others simply do not see them.
    let stats = group_stats(State(state.clone()), ctx.member.clone(), Path((ctx.org(), group))).await.ok().map(|s| s.0);
    let members = if ctx.is_staff() {
        list_members(
            State(state.clone()),
            ctx.member.clone(),
            Path((ctx.org(), group)),
            Query(MemberQuery { limit: Some(1000), cursor: None }),
        )
        .await
        .ok()
        .map(|m| m.0.items)
    } else {
        None
    };
    let manages = ctx.role() == Role::Admin
        || (ctx.role() == Role::Moderator && g.moderator_ids.contains(&ctx.member.person_id.0));
    let may_propose = match ctx.role() {
        Role::Admin => true,
        Role::Moderator => g.moderator_ids.contains(&ctx.member.person_id.0),
        _ => g.settings.session_creation == SessionCreation::AllMembers,
    };
    let body = html! {
        h1 { (g.name) }
        p.muted { (kind(&g.group_type)) " · " (if g.open { "open to new members" } else { "closed" })
            @if g.requires_screening { " · screening before joining" } }
        p { (g.description) }
        @if manages {
            p { a href=(ctx.path(&format!("/groups/{}/settings", g.id))) { "Settings and rules" }
                @if g.recurrence.is_some() { " · " a href=(ctx.path(&format!("/groups/{}/series", g.id))) { "The series" } } }
        }
        div.two {
            div {
                h2 { "Sessions in the next 60 days" }
                (sessions_list(ctx, &sessions, &names))
                @if let Some(stats) = &stats {
                    h2 #stats { "Attendance" }
                    (stats_facts(stats))
                    p { a href=(ctx.path(&format!("/groups/{}/statistics", g.id))) { "Attendance and check-ins over time" } }
                }
                @if let Some(members) = &members {
                    h2 { "Members" }
                    div.table-wrap { table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Since" } th scope="col" { "Screening" } } }
                        tbody { @for m in members { tr {
                            td { (names.of(m.client_id)) }
                            td { (m.status.to_lowercase().replace('_', " ")) }
                            td { (civil_day(&m.join_date)) @if let Some(left) = &m.leave_date { " – " (civil_day(left)) } }
                            td { @match &m.screening {
                                Some(s) => { (if s.approved { "approved" } else { "not approved" }) " on " (civil_day(&s.date)) }
                                None => {
                                    @if m.status == "PENDING_SCREENING" { (super::roster::screening_form(ctx, &g, m, names.of(m.client_id))) }
                                    @else if g.requires_screening { "not yet" } @else { "not needed" }
                                }
                            } }
                        } } }
                    } }
                    @if manages { (super::roster::forms(ctx, &g, members, &names)) }
                }
            }
            div {
                h2 { "The group's rules" }
                div.card { (rules(&g, &ctx.member.org.timezone)) }
                @if may_propose {
                    h2 #propose { "Propose a session" }
                    div.card { (propose_form(ctx, &g, &names, &draft, errors)) }
                }
            }
        }
    };
    Ok(page_with_status(ctx, status, &g.name, if ctx.role() == Role::Client { "My groups" } else { "Groups" }, body))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, group)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render(&state, &ctx, group, StatusCode::OK, Draft { fields: None }, &Errors::none()).await
}

fn number(fields: &Fields, name: &str) -> Result<Option<i64>, ApiError> {
    match fields.text(name) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| ApiError::field(name, "must be a whole number")),
    }
}

pub async fn propose(
    State(state): State<AppState>,
    Path((org, group)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let request = (|| -> Result<CreateSessionRequest, ApiError> {
        let starts_at = match fields.text("starts_at") {
            None => String::new(),
            Some(raw) => time::parse_local_input(&raw, &ctx.tz)
                .map(|at| at.to_string())
                .ok_or_else(|| ApiError::field("starts_at", "must be a date and time"))?,
        };
        let therapist_ids = fields.all("therapist_ids").iter().filter_map(|id| id.parse().ok()).collect();
        let modality = fields.text("modality");
        let online = modality.as_deref() == Some("VIRTUAL");
        Ok(CreateSessionRequest {
            title: fields.text("title"),
            description: fields.text("description"),
            kind: Some("group".into()),
            modality,
            starts_at,
            duration_minutes: number(&fields, "duration_minutes")?,
            capacity: number(&fields, "capacity")?,
            group_id: Some(group),
            therapist_ids,
            client_ids: Vec::new(),
            // Only the place that fits the chosen way of meeting is sent.
            virtual_link: fields.text("virtual_link").filter(|_| online),
            location: fields.text("location").filter(|_| !online),
            address: None,
            timezone: None,
        })
    })();
    let outcome = match request {
        Ok(request) => create_session(State(state.clone()), ctx.member.clone(), Json(request)).await.map(|(_, s)| s.0),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(session) => Ok(redirect_with(
            &ctx.path(&format!("/sessions/{}", session.id)),
            Flash::ok("Proposed. The therapists are invited; members can join once every one of them accepts."),
        )),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT => {
            render(&state, &ctx, group, e.status, Draft { fields: Some(&fields) }, &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path(&format!("/groups/{group}")), &e),
    }
}

async fn group_of(state: &AppState, form: &Submitted, org: Uuid, id: Uuid) -> String {
    let back = match member_in(state, &form.viewer.caller, org).await {
        Ok(member) => crate::routes::sessions::get_session(State(state.clone()), member, Path((org, id))).await,
        Err(e) => Err(e),
    };
    match back.ok().and_then(|s| s.0.group_id) {
        Some(group) => format!("/orgs/{org}/groups/{group}"),
        None => format!("/orgs/{org}/sessions/{id}"),
    }
}

pub async fn approve(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = group_of(&state, &form, org, id).await;
    match api_approve(State(state.clone()), member_in(&state, &form.viewer.caller, org).await?, Path((org, id))).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Approved: the therapists are invited."))),
        Err(e) => refused(&back, &e),
    }
}

pub async fn reject(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = group_of(&state, &form, org, id).await;
    let reason = form.fields.get("reason").unwrap_or_default().to_owned();
    match api_reject(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, id)),
        Json(RejectRequest { reason }),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Rejected; the member who proposed it is told why."))),
        Err(e) => refused(&back, &e),
    }
}
