//! A group's roster for its staff: enrol a client, record a screening, and
//! generate the recurring group's sessions for a stretch of dates.

use super::viewer::member_in;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::names::Names;
use super::viewer::{Ctx, Flash};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::routes::groups::{EnrolRequest, GroupMembershipView, GroupView, add_member};
use crate::routes::roster::{MembershipPatch, ScreeningBody, update_member};
use crate::routes::series::{GenerateRequest, generate as api_generate};
use crate::state::AppState;

/// The staff's forms under the members table.
pub fn forms(ctx: &Ctx, g: &GroupView, members: &[GroupMembershipView], names: &Names) -> Markup {
    let enrol = ctx.path(&format!("/groups/{}/members", g.id));
    let generate = ctx.path(&format!("/groups/{}/generate", g.id));
    let current: Vec<Uuid> = members
        .iter()
        .filter(|m| matches!(m.status.as_str(), "ACTIVE" | "WAITLISTED" | "PENDING_SCREENING"))
        .map(|m| m.client_id)
        .collect();
    let candidates: Vec<_> =
        names.with_role(circles_domain::Role::Client).into_iter().filter(|p| !current.contains(&p.id)).collect();
    html! {
        @if !candidates.is_empty() {
            form.actions.card method="post" action=(enrol) {
                (token_input(&ctx.viewer, &enrol))
                label for="f-enrol" { "Add a member" }
                select #f-enrol name="client_id" { @for c in &candidates { option value=(c.id) { (c.name) } } }
                label for="f-enrol-reason" { "Reason for adding to a closed group that has met (admins)" }
                input #f-enrol-reason type="text" name="override_reason";
                button type="submit" { "Add" }
            }
        }
        @if g.recurrence.is_some() {
            form.actions.card method="post" action=(generate) {
                (token_input(&ctx.viewer, &generate))
                div.field { label for="f-gen-from" { "Generate sessions from" } input #f-gen-from type="date" name="from" required; }
                div.field { label for="f-gen-to" { "until" } input #f-gen-to type="date" name="to" required; }
                button type="submit" { "Generate" }
            }
        }
    }
}

/// The screening form of one member waiting for it.
pub fn screening_form(ctx: &Ctx, g: &GroupView, m: &GroupMembershipView, name: &str) -> Markup {
    let action = ctx.path(&format!("/groups/{}/members/{}/screening", g.id, m.id));
    html! {
        form method="post" action=(action) {
            (token_input(&ctx.viewer, &action))
            label for={"s-" (m.id)} { "Notes on " (name) } " "
            input id={"s-" (m.id)} name="notes";
            " "
            button type="submit" name="approved" value="yes" aria-label={"Approve the screening of " (name)} { "Approve" }
            " "
            button.secondary type="submit" name="approved" value="no" aria-label={"Turn down the screening of " (name)} { "Turn down" }
        }
    }
}

fn back(org: Uuid, group: Uuid) -> String {
    format!("/orgs/{org}/groups/{group}")
}

pub async fn enrol(
    State(state): State<AppState>,
    Path((org, group)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Some(client_id) = form.fields.text("client_id").and_then(|c| c.parse().ok()) else {
        return refused(&back(org, group), &ApiError::field("client_id", "choose a client"));
    };
    match add_member(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, group)),
        Json(EnrolRequest { client_id, join_date: None, override_reason: form.fields.text("override_reason") }),
    )
    .await
    {
        Ok((_, added)) => {
            let status = added.0.status.to_lowercase().replace('_', " ");
            Ok(redirect_with(&back(org, group), Flash::ok(format!("Added; their membership is {status}."))))
        }
        Err(e) => refused(&back(org, group), &e),
    }
}

pub async fn screen(
    State(state): State<AppState>,
    Path((org, group, member)): Path<(Uuid, Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let approved = form.fields.get("approved") == Some("yes");
    let patch = MembershipPatch {
        status: None,
        leave_date: None,
        exit_reason: None,
        screening: Some(ScreeningBody {
            date: None,
            notes: form.fields.get("notes").unwrap_or_default().to_owned(),
            approved,
        }),
    };
    match update_member(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, group, member)),
        Json(patch),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(
            &back(org, group),
            Flash::ok(if approved { "Screening approved." } else { "Screening recorded as turned down." }),
        )),
        Err(e) => refused(&back(org, group), &e),
    }
}

pub async fn generate(
    State(state): State<AppState>,
    Path((org, group)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let request = GenerateRequest {
        from: form.fields.get("from").unwrap_or_default().to_owned(),
        to: form.fields.get("to").unwrap_or_default().to_owned(),
        skip_conflicts: false,
    };
    match api_generate(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, group)),
        Json(request),
    )
    .await
    {
        Ok(report) => {
            let made = report.0.created.len();
            Ok(redirect_with(
                &back(org, group),
                Flash::ok(format!("{made} sessions generated, each with a seat for every active member.")),
            ))
        }
        Err(e) => refused(&back(org, group), &e),
    }
}
