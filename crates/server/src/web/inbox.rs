//! The notifications inbox.

use super::viewer::member_in;
use axum::extract::State;
use axum::response::Response;
use maud::html;
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::layout::page;
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::extract::{Path, Query};
use crate::routes::notifications::{InboxQuery, inbox as api_inbox, mark_all_read, mark_read};
use crate::state::AppState;

pub async fn inbox(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let query = InboxQuery { unread: None, limit: Some(100), cursor: None };
    let items = api_inbox(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items;
    let all_action = ctx.path("/notifications/read-all");
    let body = html! {
        h1 { "Notifications" }
        @if ctx.unread > 0 {
            form method="post" action=(all_action) {
                (token_input(&ctx.viewer, &all_action))
                button.secondary type="submit" { "Mark all as read" }
            }
        }
        @if items.is_empty() { p.empty { "Nothing yet." } }
        ul.plain {
            @for n in &items {
                li {
                    h2.h3 {
                        @if !n.read { span.tag.pending { "new" } " " }
                        (n.title)
                    }
                    p { (n.body) }
                    p.muted {
                        (time::when(n.created_at, &ctx.tz))
                        @if let Some(session) = n.session_id {
                            " · " a href=(ctx.path(&format!("/sessions/{session}"))) { "Open the session" }
                        }
                    }
                    @if !n.read {
                        @let action = ctx.path(&format!("/notifications/{}/read", n.id));
                        form method="post" action=(action) {
                            (token_input(&ctx.viewer, &action))
                            button.secondary type="submit" aria-label={"Mark “" (n.title) "” as read"} { "Mark as read" }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, "Notifications", "", body))
}

pub async fn read(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/notifications");
    match mark_read(State(state.clone()), member_in(&state, &form.viewer.caller, org).await?, Path((org, id))).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Marked as read."))),
        Err(e) => refused(&back, &e),
    }
}

pub async fn read_all(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let back = format!("/orgs/{org}/notifications");
    match mark_all_read(State(state.clone()), member_in(&state, &form.viewer.caller, org).await?).await {
        Ok(marked) => Ok(redirect_with(&back, Flash::ok(format!("{} marked as read.", marked.0.marked)))),
        Err(e) => refused(&back, &e),
    }
}
