//! Time off: a therapist asks and follows their requests; an admin sees
//! each request's affected sessions and who could cover, approves with a
//! cover, moves the sessions to them, or denies.

use super::viewer::member_in;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use circles_domain::Role;
use maud::html;
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::layout::{page, page_with_status};
use super::names::Names;
use super::schedule::status_tag;
use super::therapist::refusal;
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::routes::page::{PageQuery, RankedQuery};
use crate::routes::time_off::{
    ApproveRequest, ReasonRequest, ReassignRequest, TimeOffQuery, TimeOffRequest, TimeOffView, affected,
    approve as api_approve, coverage, deny as api_deny, get_time_off, list_time_off, reassign as api_reassign,
    request_time_off,
};
use crate::state::AppState;

const KINDS: [(&str, &str); 5] = [
    ("VACATION", "Vacation"),
    ("SICK", "Sick"),
    ("CONFERENCE", "Conference"),
    ("PERSONAL", "Personal"),
    ("OTHER", "Other"),
];

fn state_tag(status: &str) -> maud::Markup {
    status_tag(&status.to_lowercase())
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    sent: Option<&Fields>,
    errors: &Errors,
) -> PageResult<Response> {
    let query = TimeOffQuery { therapist_id: None, status: None, limit: Some(100), cursor: None };
    let requests = list_time_off(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items;
    let names = Names::therapists(state, ctx).await?;
    let action = ctx.path("/time-off");
    let value = |name: &str| sent.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let (starts, ends, reason) = (value("starts_at"), value("ends_at"), value("reason"));
    let admin = ctx.role() == Role::Admin;
    let body = html! {
        h1 { "Time off" }
        @if ctx.role() == Role::Therapist {
            h2 { "Ask for time off" }
            (errors.summary())
            form.stack.card method="post" action=(action) novalidate {
                (token_input(&ctx.viewer, &action))
                div.field {
                    label for="f-type" { "Kind" }
                    select #f-type name="type" { @for (v, l) in KINDS { option value=(v) selected[value("type") == v] { (l) } } }
                }
                (Input::new("starts_at", "From").kind("datetime-local").value(&starts).required().hint(&format!("Local time, {}.", ctx.zone)).render(errors))
                (Input::new("ends_at", "Until").kind("datetime-local").value(&ends).required().render(errors))
                (Input::new("reason", "Reason (optional)").value(&reason).render(errors))
                div.actions { button type="submit" { "Send the request" } }
            }
        }
        h2 { @if admin { "Requests" } @else { "My requests" } }
        @if requests.is_empty() { p.empty { "No requests." } }
        ul.plain {
            @for r in &requests {
                li {
                    @if admin { strong { (names.of(r.therapist_id)) } " — " }
                    (kind_words(&r.kind)) ", " (time::span(r.starts_at, r.ends_at, &ctx.tz)) " " (state_tag(&r.status))
                    br;
                    span.muted { (r.affected_sessions) " sessions affected"
                        @if let Some(c) = r.coverage_therapist_id { " · cover: " (names.of(c)) }
                        @if let Some(why) = &r.decision_reason { " · " (why) } }
                    " "
                    @if admin { a href=(ctx.path(&format!("/time-off/{}", r.id))) aria-label={"Decide on the request of " (names.of(r.therapist_id))} { "Open" } }
                }
            }
        }
    };
    Ok(page_with_status(ctx, status, "Time off", "Time off", body))
}

fn kind_words(raw: &str) -> &'static str {
    KINDS.iter().find(|(v, _)| *v == raw).map_or("Other", |(_, l)| l)
}

pub async fn index(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    render(&state, &ctx, StatusCode::OK, None, &Errors::none()).await
}

pub async fn request(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let instant = |name: &str| -> Result<String, ApiError> {
        let raw = fields.text(name).ok_or_else(|| ApiError::field(name, "is required"))?;
        time::parse_local_input(&raw, &ctx.tz)
            .map(|t| t.to_string())
            .ok_or_else(|| ApiError::field(name, "must be a date and time"))
    };
    let outcome = match (instant("starts_at"), instant("ends_at")) {
        (Ok(starts_at), Ok(ends_at)) => {
            let body = TimeOffRequest {
                therapist_id: None,
                kind: fields.get("type").unwrap_or_default().to_owned(),
                reason: fields.text("reason"),
                starts_at,
                ends_at,
                auto_reassign: false,
            };
            request_time_off(State(state.clone()), ctx.member.clone(), Json(body)).await.map(|_| ())
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(redirect_with(&ctx.path("/time-off"), Flash::ok("Your request is sent to the administrators."))),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            render(&state, &ctx, e.status, Some(&fields), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path("/time-off"), &e),
    }
}

pub async fn decide_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let caller = || ctx.member.clone();
    let request: TimeOffView = get_time_off(State(state.clone()), caller(), Path((org, id))).await?.0;
    // The longest pages: the sessions listed say how many more there are.
    let sessions =
        affected(State(state.clone()), caller(), Path((org, id)), Query(PageQuery::longest())).await?.0.items;
    let candidates =
        coverage(State(state.clone()), caller(), Path((org, id)), Query(RankedQuery::longest())).await?.0.items;
    let unlisted = request.affected_sessions - sessions.len() as i64;
    let names = Names::therapists(&state, &ctx).await?;
    let base = format!("/time-off/{id}");
    let (approve, deny, reassign) = (
        ctx.path(&format!("{base}/approve")),
        ctx.path(&format!("{base}/deny")),
        ctx.path(&format!("{base}/reassign")),
    );
    let cover_select = |id: &str| {
        html! {
            label for=(id) { "Cover" }
            select id=(id) name="coverage_therapist_id" {
                @for c in &candidates {
                    option value=(c.therapist_id) selected[Some(c.therapist_id) == request.coverage_therapist_id] {
                        (c.therapist_name) " — " @if c.covers_all { "free for every session" } @else { "free for " (c.can_cover.len()) " of " (request.affected_sessions) }
                        @if c.shared_clients > 0 { ", knows " (c.shared_clients) " of the clients" }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { "Time off of " (names.of(request.therapist_id)) }
        div.card { dl.facts {
            dt { "When" } dd { (time::span(request.starts_at, request.ends_at, &ctx.tz)) }
            dt { "Kind" } dd { (kind_words(&request.kind)) }
            dt { "Status" } dd { (state_tag(&request.status)) }
            @if !request.reason.is_empty() { dt { "Reason" } dd { (request.reason) } }
            @if let Some(c) = request.coverage_therapist_id { dt { "Cover" } dd { (names.of(c)) } }
        } }
        h2 { "Sessions affected" }
        @if sessions.is_empty() { p.empty { "None: nothing needs cover." } }
        ul.plain { @for s in &sessions { li {
            a href=(ctx.path(&format!("/sessions/{}", s.session_id))) { (s.title) } " — " (time::span(s.starts_at, s.ends_at, &ctx.tz))
            @if s.kind != "one_on_one" { " · " (s.seats_taken) " seats taken" }
        } } }
        @if unlisted > 0 { p.muted { "And " (unlisted) " more, later in the range." } }
        @if request.status == "PENDING" {
            h2 { "Decide" }
            form.stack.card method="post" action=(approve) {
                (token_input(&ctx.viewer, &approve))
                @if !candidates.is_empty() && !sessions.is_empty() { div.field { (cover_select("f-cover")) } }
                div.actions { button type="submit" { "Approve" } }
            }
            form.stack.card method="post" action=(deny) {
                (token_input(&ctx.viewer, &deny))
                div.field { label for="f-deny" { "Reason for denying" } input #f-deny name="reason" required; }
                div.actions { button.danger type="submit" { "Deny" } }
            }
        }
        @if request.status == "APPROVED" && !sessions.is_empty() && !candidates.is_empty() {
            h2 { "Move the affected sessions" }
            form.stack.card method="post" action=(reassign) {
                (token_input(&ctx.viewer, &reassign))
                div.field { (cover_select("f-reassign")) }
                div.actions { button type="submit" { "Move every affected session to this therapist" } }
            }
        }
    };
    Ok(page(&ctx, "Time off", "Time off", body))
}

fn cover(fields: &Fields) -> Option<Uuid> {
    fields.text("coverage_therapist_id").and_then(|id| id.parse().ok())
}

pub async fn approve(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/time-off/{id}");
    let body = ApproveRequest { coverage_therapist_id: cover(&form.fields) };
    match api_approve(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, id)),
        Json(body),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Approved. The therapist and the named cover are told."))),
        Err(e) => refused(&back, &e),
    }
}

pub async fn deny(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/time-off/{id}");
    let body = ReasonRequest { reason: form.fields.get("reason").unwrap_or_default().to_owned() };
    match api_deny(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, id)),
        Json(body),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Denied; the therapist is told why."))),
        Err(e) => refused(&back, &e),
    }
}

pub async fn reassign(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/time-off/{id}");
    let Some(coverage_therapist_id) = cover(&form.fields) else {
        return refused(&back, &ApiError::field("coverage_therapist_id", "choose who covers"));
    };
    let viewer = form.viewer;
    match api_reassign(
        State(state.clone()),
        member_in(&state, &viewer.caller, org).await?,
        Path((org, id)),
        Json(ReassignRequest { coverage_therapist_id }),
    )
    .await
    {
        Ok(moved) => Ok(redirect_with(
            &back,
            Flash::ok(format!("{} sessions moved; their clients are told.", moved.0.moved.len())),
        )),
        Err(e) if e.status == StatusCode::CONFLICT => {
            let ctx = Ctx::load(&state, viewer, org).await?;
            Ok(redirect_with(&back, Flash::error(refusal(&e, &ctx.tz))))
        }
        Err(e) => refused(&back, &e),
    }
}
