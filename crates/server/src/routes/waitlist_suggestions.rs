//! Suggestions both ways: the best places for a waiting entry, the best
//! waiting entries for a freed place, and the freed places staff still have
//! to offer. Each is a ranking computed when it is read, paged by position
//! in it (`page::position_cursor`); every ranking ends in a stable
//! tie-break, so a position names one place while nothing changes.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::ids::SessionId;
use uuid::Uuid;

use super::labels::labels_of;
use super::page::{Page, RankedQuery, page_at};
use super::views::Problem;
use super::waitlist::entry_for;
use super::waitlist_views::{EntryMatchView, FreedPlaceView, PlaceMatchView, mention_place};
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::http::extract::{Path, Query};
use crate::state::AppState;

/// Suggestions answer their five best unless asked for more.
const BEST: i64 = 5;
/// Each freed place comes with this many waiting entries that suit it.
const PER_PLACE: usize = 5;
/// Freed places come ten to a page unless asked otherwise.
const FREED_PAGE: i64 = 10;

/// The best seats or slots for an entry, with the match reasons: by match
/// score, then the sooner, then by place (its session, group or therapist
/// id) — five to a page unless `limit` asks otherwise.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/waitlist/{entry_id}/suggestions", tag = "waitlist",
    params(("org_id" = Uuid, Path), ("entry_id" = Uuid, Path), RankedQuery),
    responses((status = 200, body = Page<PlaceMatchView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn entry_suggestions(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, entry_id)): Path<(Uuid, Uuid)>,
    Query(page): Query<RankedQuery>,
) -> ApiResult<axum::Json<Page<PlaceMatchView>>> {
    let (start, limit) = page.window(BEST)?;
    // Another organisation's entry is 404 before any refusal.
    let entry = entry_for(&state, &member, entry_id).await?;
    member.authorize(Action::ManageWaitlist)?;
    // One more than the page, to know whether another follows.
    let found = state.store.entry_suggestions(member.org_id(), entry.id, start + limit + 1).await?;
    let labels = labels_of(&state, member.org_id(), &found, |m, p| mention_place(m, &p.place)).await?;
    Ok(axum::Json(page_at(found, start, limit, |p| PlaceMatchView::new(p, &labels))))
}

/// The best waiting entries for a free seat on a group session, or for the
/// slot a cancelled one-on-one session left: pinned entries first, then by
/// match score, then by priority, then the earlier on the list — five to a
/// page unless `limit` asks otherwise.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/freed/{session_id}/suggestions", tag = "waitlist",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), RankedQuery),
    responses((status = 200, body = Page<EntryMatchView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "not_offerable")),
    security(("bearer" = [])))]
pub async fn freed_suggestions(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Query(page): Query<RankedQuery>,
) -> ApiResult<axum::Json<Page<EntryMatchView>>> {
    let (start, limit) = page.window(BEST)?;
    state.store.session_people(member.org_id(), SessionId(session_id)).await?;
    member.authorize(Action::ManageWaitlist)?;
    let found = state.store.freed_suggestions(member.org_id(), SessionId(session_id), start + limit + 1).await?;
    Ok(axum::Json(page_at(found, start, limit, EntryMatchView::from)))
}

/// Freed seats and slots no offer went out for, still free and to come and
/// suiting someone waiting, soonest first (then by the id of the opening
/// that freed them), ten to a page unless `limit` asks otherwise, each with
/// the five waiting entries that suit it best. In manual mode every freed
/// place waits here for staff to send an offer (`POST /offers`); otherwise
/// those nobody fitted do.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/waitlist/freed", tag = "waitlist",
    params(("org_id" = Uuid, Path), RankedQuery),
    responses((status = 200, body = Page<FreedPlaceView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn freed_places(
    State(state): State<AppState>,
    member: Member,
    Query(page): Query<RankedQuery>,
) -> ApiResult<axum::Json<Page<FreedPlaceView>>> {
    let (start, limit) = page.window(FREED_PAGE)?;
    member.authorize(Action::ManageWaitlist)?;
    let found = state.store.freed_places(member.org_id(), start + limit + 1, PER_PLACE).await?;
    let labels = labels_of(&state, member.org_id(), &found, |m, f| mention_place(m, &f.place)).await?;
    Ok(axum::Json(page_at(found, start, limit, |f| FreedPlaceView::new(f, &labels))))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(freed_places))
        .routes(utoipa_axum::routes!(entry_suggestions))
        .routes(utoipa_axum::routes!(freed_suggestions))
}
