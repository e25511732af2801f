//! The live session room: while a session runs, a member says "I'm here";
//! the session's therapists watch who is present (the list refreshes on
//! each `PRESENCE` event, through `live.js`) and confirm it into
//! attendance. Everything works without JavaScript: the list is current
//! whenever the page loads.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use circles_domain::Role;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::layout::page;
use super::session::load;
use super::time;
use super::viewer::{Ctx, Flash, Viewer, member_in};
use crate::http::extract::{Json, Path, Query};
use crate::routes::page::PageQuery;
use crate::routes::presence::{
    ConfirmRequest, PresenceView, check_in as api_check_in, confirm as api_confirm, present as api_present,
};
use crate::state::AppState;

pub async fn room(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let session = load(&state, &ctx, id).await?;
    // Staff who mark attendance see who is present; anyone else is refused
    // by the same rule as the API, and sees their own side of the room.
    let present =
        match api_present(State(state.clone()), ctx.member.clone(), Path((org, id)), Query(PageQuery::longest())).await
        {
            Ok(list) => Some(list.0.items),
            Err(e) if e.status == StatusCode::FORBIDDEN => None,
            Err(e) => return Err(e.into()),
        };
    let base = format!("/sessions/{id}/room");
    let body = html! {
        h1 { "Live room: " (session.title) }
        p.muted { (time::span(session.starts_at, session.ends_at, &ctx.tz)) " · " (session.status.to_lowercase().replace('_', " ")) }
        @if ctx.role() == Role::Client {
            form.inline method="post" action=(ctx.path(&format!("{base}/check-in"))) {
                (token_input(&ctx.viewer, &ctx.path(&format!("{base}/check-in"))))
                button type="submit" { "I'm here" }
            }
        }
        @if let Some(present) = present {
            (presence_list(&ctx, &present))
            @if !present.is_empty() {
                form.inline method="post" action=(ctx.path(&format!("{base}/confirm"))) {
                    (token_input(&ctx.viewer, &ctx.path(&format!("{base}/confirm"))))
                    button type="submit" { "Confirm everyone present into attendance" }
                }
            }
            p { a href=(ctx.path(&format!("/sessions/{id}/attendance"))) { "Attendance sheet (filled in from who is here)" } }
        }
        p { a href=(ctx.path(&format!("/sessions/{id}"))) { "Back to the session" } }
    };
    Ok(page(&ctx, "Live room", "Schedule", body))
}

/// The list `live.js` replaces when someone checks in.
fn presence_list(ctx: &Ctx, present: &[PresenceView]) -> Markup {
    html! {
        section #presence data-live-room aria-live="polite" {
            h2 { "Present (" (present.len()) ")" }
            @if present.is_empty() { p.empty { "Nobody has checked in yet." } }
            @else {
                ul {
                    @for p in present {
                        li {
                            (p.name) " — since " (time::when(p.checked_in_at, &ctx.tz))
                            @if p.minutes_late > 0 { " (" (p.minutes_late) " min late)" }
                            @if p.attended { " · attendance confirmed" }
                        }
                    }
                }
            }
        }
    }
}

pub async fn check_in(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let member = member_in(&state, &form.viewer.caller, org).await?;
    let room = format!("/orgs/{org}/sessions/{id}/room");
    match api_check_in(State(state), member, Path((org, id))).await {
        Ok(p) => {
            let late = if p.minutes_late > 0 {
                format!(", {} minutes after the start", p.minutes_late)
            } else {
                String::new()
            };
            Ok(redirect_with(&room, Flash::ok(format!("You are checked in{late}."))))
        }
        Err(e) => refused(&room, &e),
    }
}

pub async fn confirm(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let member = member_in(&state, &form.viewer.caller, org).await?;
    let room = format!("/orgs/{org}/sessions/{id}/room");
    match api_confirm(State(state), member, Path((org, id)), Json(ConfirmRequest { client_ids: None })).await {
        Ok(seats) => Ok(redirect_with(&room, Flash::ok(format!("Attendance confirmed for {}.", seats.0.items.len())))),
        Err(e) => refused(&room, &e),
    }
}
