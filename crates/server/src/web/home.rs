//! Each role's home: what is coming up, and what waits for the viewer.

use axum::extract::State;
use axum::response::Response;
use circles_domain::Role;
use jiff::ToSpan;
use maud::html;
use uuid::Uuid;

use super::error::PageResult;
use super::layout::page;
use super::schedule::{entries, others, slot};
use super::time;
use super::viewer::{Ctx, Viewer};
use crate::http::extract::Path;
use crate::state::AppState;

pub async fn home(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let now = state.clock.now();
    let today = time::local_date(now, &ctx.tz);
    let horizon = time::start_of(today.checked_add(14.days()).unwrap_or(today), &ctx.tz);
    let coming = entries(&state, &ctx, now, horizon).await?;
    let with = others(&ctx, &coming);
    let tiles: &[(&str, &str, &str)] = match ctx.role() {
        Role::Client => &[
            ("/join", "Join a session", "Sessions in your groups and communities with free seats."),
            ("/my-groups", "My groups", "Your memberships and your attendance."),
        ],
        Role::Therapist => &[
            ("/invitations", "Invitations", "Group sessions waiting for your answer."),
            ("/time-off", "Time off", "Ask for time off and follow your requests."),
        ],
        Role::Moderator => {
            &[("/groups", "Groups", "Your communities and groups: propose sessions, approve proposals.")]
        }
        Role::Admin => &[
            ("/people", "People", "Add people and see their roles."),
            ("/groups", "Groups", "Groups, members and their sessions."),
            ("/time-off", "Time off", "Requests to decide, with the sessions they affect."),
            ("/audit", "Audit log", "Who did what, and a check that nothing was altered."),
        ],
    };
    let body = html! {
        h1 { "Welcome, " (ctx.name) }
        div.cards {
            @for (path, title, text) in tiles {
                div.card { h2 { a href=(ctx.path(path)) { (title) } } p.muted { (text) } }
            }
        }
        h2 { "Coming up in the next two weeks" }
        @if coming.is_empty() { p.empty { "Nothing scheduled." } }
        @for e in coming.iter().take(8) { (slot(&ctx, e, true, &with)) }
        p { a href=(ctx.path("/schedule")) { "See my whole schedule" } }
    };
    Ok(page(&ctx, "Home", "Home", body))
}
