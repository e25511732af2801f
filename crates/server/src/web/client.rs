//! Sessions a client can join: group sessions of their groups and
//! communities that are open, with seats and a join button each.

use axum::extract::State;
use axum::response::Response;
use jiff::SignedDuration;
use maud::html;
use uuid::Uuid;

use super::error::PageResult;
use super::form::token_input;
use super::layout::page;
use super::schedule::modality;
use super::session::holds_seat;
use super::time;
use super::viewer::{Ctx, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query};
use crate::routes::sessions::{SessionQuery, list_sessions};
use crate::state::AppState;

pub async fn joinable(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let now = state.clock.now();
    let query = SessionQuery {
        status: None,
        from: Some(now.to_string()),
        to: Some((now + SignedDuration::from_hours(24 * 30)).to_string()),
        group_id: None,
        created_by: None,
        cursor: None,
        limit: Some(200),
    };
    let sessions = list_sessions(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items;
    let may_wait = state.store.waitlist_settings(ctx.member.org_id()).await.map_err(ApiError::from)?.clients_may_join;
    let wait_action = ctx.path("/waitlist/join");
    let me = ctx.member.person_id.0;
    let open: Vec<_> = sessions
        .iter()
        .filter(|s| s.kind != "one_on_one" && matches!(s.status.as_str(), "SCHEDULED" | "IN_PROGRESS"))
        .collect();
    let body = html! {
        h1 { "Join a session" }
        p.muted { "Group sessions of your groups and communities in the next 30 days." }
        @if open.is_empty() { p.empty { "No session is open for joining right now." } }
        ul.plain {
            @for s in &open {
                @let seated = s.seats.iter().any(|seat| seat.client_id == me && holds_seat(&seat.status));
                @let full = s.seats_taken >= s.capacity;
                @let action = ctx.path(&format!("/sessions/{}/join", s.id));
                li {
                    h2.h3 { a href=(ctx.path(&format!("/sessions/{}", s.id))) { (s.title) } }
                    p { (time::span(s.starts_at, s.ends_at, &ctx.tz)) " · " (modality(&s.modality))
                        " · " (s.seats_taken) " of " (s.capacity) " seats taken"
                        @if !s.therapists.is_empty() { " · with "
                            @for (i, t) in s.therapists.iter().filter(|t| t.status == "ACCEPTED").enumerate() {
                                @if i > 0 { ", " } (t.therapist_name)
                            }
                        }
                    }
                    @if seated { p { span.tag.accepted { "you have a seat" } } }
                    @else {
                        form method="post" action=(action) {
                            (token_input(&ctx.viewer, &action))
                            button type="submit" aria-label={"Join " (s.title)} { @if full { "Try to join (full)" } @else { "Join" } }
                        }
                        @if full && may_wait {
                            form method="post" action=(wait_action) {
                                (token_input(&ctx.viewer, &wait_action))
                                input type="hidden" name="wait_for" value={"session:" (s.id)};
                                button.secondary type="submit" aria-label={"Wait for a seat in " (s.title)} {
                                    "Wait for a seat"
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, "Join a session", "Join a session", body))
}
