//! Taking and giving up seats on group sessions, and the attendance sheet.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::ids::{PersonId, SessionId};
use circles_domain::session::SeatStatus;
use circles_domain::validation::Validator;
use circles_store::model::{AttendanceMark, Keyset};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::group_sessions::standing;
use super::page::{Page, name_cursor, page_of, parse_name_cursor};
use super::query::page_limit;
use super::sessions::SeatView;
use super::views::{Items, Problem};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

/// Takes a seat on a scheduled group session (or a running drop-in one) if
/// one is free and the caller's calendar is clear (409 with retry hints
/// otherwise).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/join", tag = "seats",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SeatView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "session_not_open, session_full, already_joined or scheduling_conflict")),
    security(("bearer" = [])))]
pub async fn join(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SeatView>> {
    let id = SessionId(session_id);
    let (people, relation) = standing(&state, &member, id).await?;
    // Someone outside the group cannot see its sessions at all.
    if !(relation.member || relation.moderator || relation.facilitator || people.includes(member.person_id)) {
        return Err(ApiError::not_found("session"));
    }
    member.authorize(Action::JoinSession { relation })?;
    let seat = state.store.join_session(&member.ctx, member.org_id(), id, member.person_id).await?;
    Ok(axum::Json(seat.into()))
}

/// Gives up the caller's seat, freeing their time (a late cancellation
/// within 24 hours of the start).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/leave", tag = "seats",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SeatView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn leave(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SeatView>> {
    let id = SessionId(session_id);
    let (people, _) = standing(&state, &member, id).await?;
    if !people.includes(member.person_id) {
        return Err(ApiError::not_found("session"));
    }
    let seat = state.store.leave_session(&member.ctx, member.org_id(), id, member.person_id).await?;
    Ok(axum::Json(seat.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceLine {
    pub client_id: Uuid,
    /// ATTENDED, NO_SHOW or LATE_CANCELLED.
    #[schema(min_length = 1)]
    pub status: String,
    pub minutes_late: Option<i64>,
    pub minutes_left_early: Option<i64>,
    #[schema(format = "free-text", max_length = 2000)]
    pub note: Option<String>,
}

/// The attendance sheet: every seat on the session, whatever its status,
/// with its marks — by client name, then client id, a page at a time (the
/// cursor is the last seat's client name and id). For whoever marks the
/// session's attendance; an audited read of each client listed.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/attendance", tag = "seats",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), SheetQuery),
    responses((status = 200, body = Page<SeatView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn sheet(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<SheetQuery>,
) -> ApiResult<axum::Json<Page<SeatView>>> {
    let limit = page_limit(query.limit, 100, 500)?;
    let after = parse_name_cursor::<PersonId>(query.cursor.as_deref())?;
    let id = SessionId(session_id);
    may_mark(&state, &member, id).await?;
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let seats = state.store.attendance_sheet(&member.ctx, member.org_id(), id, page).await?;
    Ok(axum::Json(page_of(seats, limit, |s| name_cursor(&s.client_name, s.client_id.0))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SheetQuery {
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "name-cursor")]
    pub cursor: Option<String>,
}

/// The sheet (and the live room's presence) is for whoever marks the
/// session's attendance: its accepted therapists, the group's moderators
/// and facilitators, the org's admins.
pub(super) async fn may_mark(state: &AppState, member: &Member, id: SessionId) -> ApiResult<()> {
    let (people, relation) = standing(state, member, id).await?;
    let is_therapist = people.accepted_therapist(member.person_id);
    let visible = people.includes(member.person_id) || relation.moderator || relation.facilitator;
    member.authorize(Action::ViewSession { participant: visible })?;
    member.authorize(Action::MarkAttendance { is_therapist, relation })
}

/// Marks attendance for several clients at once, all or nothing. Entries
/// more than 30 days after the session are accepted and audited as late.
/// The answer is the seats marked, one per line sent, in their order; the
/// whole sheet reads with `GET`.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/attendance", tag = "seats",
    request_body = Vec<AttendanceLine>, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = Items<SeatView>), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "session_not_started"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn attendance(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(lines): Json<Vec<AttendanceLine>>,
) -> ApiResult<axum::Json<Items<SeatView>>> {
    let id = SessionId(session_id);
    may_mark(&state, &member, id).await?;
    let marks = parse_sheet(&lines)?;
    let seats = state.store.mark_attendance(&member.ctx, member.org_id(), id, marks).await?;
    Ok(axum::Json(Items::of(seats)))
}

fn parse_sheet(lines: &[AttendanceLine]) -> Result<Vec<AttendanceMark>, ApiError> {
    let mut v = Validator::default();
    if lines.is_empty() {
        v.reject("body", "list at least one client");
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut marks = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let at = |field: &str| format!("[{i}].{field}");
        if !seen.insert(line.client_id) {
            v.reject(&at("client_id"), "is listed twice");
        }
        let status = v.check(&at("status"), line.status.parse::<SeatStatus>());
        if let Some(status) = status
            && !matches!(status, SeatStatus::Attended | SeatStatus::NoShow | SeatStatus::LateCancelled)
        {
            v.reject(&at("status"), "must be ATTENDED, NO_SHOW or LATE_CANCELLED");
        }
        for (field, minutes) in [("minutes_late", line.minutes_late), ("minutes_left_early", line.minutes_left_early)] {
            if minutes.is_some_and(|m| !(0..=1_440).contains(&m)) {
                v.reject(&at(field), "must be between 0 and 1440");
            }
        }
        let note = v.check_opt(&at("note"), line.note.as_deref().map(|n| circles_domain::input::free_text(n, 2_000)));
        if let (Some(status), Some(note)) = (status, note) {
            marks.push(AttendanceMark {
                client_id: PersonId(line.client_id),
                status,
                minutes_late: line.minutes_late,
                minutes_left_early: line.minutes_left_early,
                note,
            });
        }
    }
    Ok(v.done(|| Some(marks))?)
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(join))
        .routes(utoipa_axum::routes!(leave))
        .routes(utoipa_axum::routes!(sheet, attendance))
}
