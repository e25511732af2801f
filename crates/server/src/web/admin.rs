//! An admin's pages: people (add, see one), and the audit log with filters
//! and a check of its hash chain.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use circles_domain::Role;
use circles_domain::authz::Action;
use jiff::civil::Date;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::error::{PageError, PageResult};
use super::form::{Errors, Fields, Input, Submitted, redirect_with, refused, token_input};
use super::layout::{page, page_with_status};
use super::names::Names;
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::routes::audit::{AuditFilter, list_events};
use crate::routes::people::{
    AddPersonRequest, PeopleFilter, RoleChange, add_person, change_role as api_change_role, get_person, list_people,
};
use crate::routes::views::PersonView;
use crate::state::AppState;

async fn people_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    sent: Option<&Fields>,
    errors: &Errors,
) -> PageResult<Response> {
    let people = list_people(
        State(state.clone()),
        ctx.member.clone(),
        Query(PeopleFilter { role: None, limit: Some(1000), cursor: None }),
    )
    .await?
    .0
    .items;
    let action = ctx.path("/people");
    let value = |name: &str| sent.and_then(|f| f.get(name)).unwrap_or_default().to_owned();
    let (name, email, role) = (value("name"), value("email"), value("role"));
    let roles: &[Role] = if ctx.role() == Role::Admin { &Role::ALL } else { &[Role::Client] };
    let body = html! {
        h1 { "People" }
        div.two {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "E-mail" } } }
                tbody { @for p in &people { tr {
                    td { a href=(ctx.path(&format!("/people/{}", p.id))) { (p.name) } }
                    td {
                        @if ctx.role() == Role::Admin && p.id != ctx.member.person_id.0 && p.account_id.is_some() {
                            (role_form(ctx, p))
                        } @else { (p.role.as_str()) }
                    }
                    td { (p.email) }
                } } }
            } }
            div {
                h2 { "Add a person" }
                (errors.summary())
                form.stack.card method="post" action=(action) novalidate {
                    (token_input(&ctx.viewer, &action))
                    (Input::new("name", "Name").value(&name).required().render(errors))
                    (Input::new("email", "E-mail").kind("email").value(&email).required().render(errors))
                    div.field {
                        label for="f-role" { "Role" }
                        select #f-role name="role" { @for r in roles { option value=(r.as_str()) selected[role == r.as_str()] { (r.as_str()) } } }
                    }
                    (Input::new("password", "First password (optional)").kind("password")
                        .hint("At least 10 characters; only for someone new to Circles.").render(errors))
                    div.actions { button type="submit" { "Add" } }
                }
            }
        }
    };
    Ok(page_with_status(ctx, status, "People", "People", body))
}

/// An admin's choice of someone's role, in their row of the table.
fn role_form(ctx: &Ctx, p: &PersonView) -> Markup {
    let action = ctx.path(&format!("/people/{}/role", p.id));
    let id = format!("role-{}", p.id);
    html! {
        form.inline method="post" action=(action) {
            (token_input(&ctx.viewer, &action))
            label.visually-hidden for=(id) { "Role of " (p.name) }
            select id=(id) name="role" {
                @for r in Role::ALL { option value=(r.as_str()) selected[r == p.role] { (r.as_str()) } }
            }
            " "
            button.secondary type="submit" aria-label={"Change the role of " (p.name)} { "Change" }
        }
    }
}

pub async fn change_role(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/people");
    let member = match super::viewer::member_in(&state, &form.viewer.caller, org).await {
        Ok(member) => member,
        Err(e) => return refused(&back, &e),
    };
    let body = RoleChange { role: form.fields.get("role").unwrap_or_default().to_owned() };
    match api_change_role(State(state.clone()), member, Path((org, id)), Json(body)).await {
        Ok(changed) => {
            Ok(redirect_with(&back, Flash::ok(format!("{} is now {}.", changed.0.name, changed.0.role.as_str()))))
        }
        Err(e) => refused(&back, &e),
    }
}

pub async fn people(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    people_page(&state, &ctx, StatusCode::OK, None, &Errors::none()).await
}

pub async fn add(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let body = AddPersonRequest {
        email: fields.get("email").unwrap_or_default().trim().to_owned(),
        name: fields.get("name").unwrap_or_default().trim().to_owned(),
        role: fields.get("role").unwrap_or_default().to_owned(),
        password: fields.text("password"),
    };
    match add_person(State(state.clone()), ctx.member.clone(), Json(body)).await {
        Ok((_, added)) => Ok(redirect_with(
            &ctx.path("/people"),
            Flash::ok(format!("{} is added as {}.", added.0.name, added.0.role.as_str())),
        )),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            people_page(&state, &ctx, e.status, Some(&fields), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&ctx.path("/people"), &e),
    }
}

/// One person and their coming sessions. A record the viewer may not read
/// answers like one that does not exist.
pub async fn person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let found =
        get_person(State(state.clone()), ctx.member.clone(), Path((org, id))).await.map_err(|e| match e.status {
            StatusCode::FORBIDDEN => PageError::not_found(),
            _ => e.into(),
        })?;
    let p = found.0;
    let body = html! {
        h1 { (p.name) }
        div.card { dl.facts {
            dt { "Role" } dd { (p.role.as_str()) }
            dt { "E-mail" } dd { (p.email) }
            dt { "Since" } dd { (time::when(p.created_at, &ctx.tz)) }
        } }
    };
    Ok(page(&ctx, &p.name, "People", body))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    subject: Option<String>,
    action: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(org): Path<Uuid>,
    axum::extract::Query(query): axum::extract::Query<AuditQuery>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let subject = query.subject.as_deref().filter(|s| !s.is_empty()).and_then(|s| s.parse::<Uuid>().ok());
    let filter = AuditFilter { subject_id: subject, limit: Some(1000), cursor: None };
    let events = list_events(State(state.clone()), ctx.member.clone(), Query(filter)).await?.0.items;
    let names = Names::load(&state, &ctx).await?;
    let action = query.action.clone().unwrap_or_default();
    let day = |raw: &Option<String>| raw.as_deref().and_then(|d| d.parse::<Date>().ok());
    let (from, until) = (day(&query.from), day(&query.until));
    let shown: Vec<_> = events
        .iter()
        .filter(|e| action.is_empty() || e.action.contains(action.trim()))
        .filter(|e| {
            let date = time::local_date(e.occurred_at, &ctx.tz);
            from.is_none_or(|f| date >= f) && until.is_none_or(|u| date <= u)
        })
        .take(300)
        .collect();
    let verify = ctx.path("/audit/verify");
    let clients = names.with_role(Role::Client);
    let body = html! {
        h1 { "Audit log" }
        form.inline method="post" action=(verify) {
            (token_input(&ctx.viewer, &verify))
            button.secondary type="submit" { "Verify the chain" }
        }
        form.card method="get" action=(ctx.path("/audit")) {
            div.actions {
                div.field { label for="f-subject" { "About client" }
                    select #f-subject name="subject" {
                        option value="" { "Anyone" }
                        @for c in &clients { option value=(c.id) selected[subject == Some(c.id)] { (c.name) } }
                    } }
                div.field { label for="f-action" { "Action contains" } input #f-action name="action" value=(action); }
                div.field { label for="f-from" { "From" } input #f-from type="date" name="from" value=[from.map(|d| d.to_string())]; }
                div.field { label for="f-until" { "Until" } input #f-until type="date" name="until" value=[until.map(|d| d.to_string())]; }
                button type="submit" { "Filter" }
            }
        }
        p.muted { (shown.len()) " events shown, newest first." }
        div.table-wrap { table {
            thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "About" } } }
            tbody { @for e in &shown { tr {
                td { (time::when(e.occurred_at, &ctx.tz)) }
                td { @match e.actor_person_id { Some(p) => (names.of(p)), None => "the system" } }
                td { (e.action) " " span.muted { (e.record_type) } }
                td { @if let Some(s) = e.subject_person_id { (names.of(s)) } }
            } } }
        } }
    };
    Ok(page(&ctx, "Audit log", "Audit log", body))
}

pub async fn verify(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let back = format!("/orgs/{org}/audit");
    let member = match form.viewer.caller.member(&state, circles_domain::ids::OrgId(org)).await {
        Ok(m) => m,
        Err(e) => return refused(&back, &e),
    };
    if let Err(e) = member.authorize(Action::ViewAudit) {
        return refused(&back, &e);
    }
    let reports = state.store.verify_audit(Some(member.org_id())).await.map_err(ApiError::from)?;
    let flash = match reports.iter().find_map(|r| r.error.clone()) {
        None => Flash::ok(format!(
            "The chain is intact: {} events verified.",
            reports.iter().map(|r| r.events).sum::<i64>()
        )),
        Some(broken) => Flash::error(format!("The chain is broken: {broken}")),
    };
    Ok(redirect_with(&back, flash))
}
