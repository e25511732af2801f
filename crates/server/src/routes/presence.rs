//! The live session room's routes: a member checks in to a running
//! session; the session's therapists (and the group's moderators) see who
//! is present and confirm it into attendance.

use axum::extract::State;
use circles_domain::ids::{PersonId, SessionId};
use circles_domain::local_time::local_time;
use circles_domain::session::SeatStatus;
use circles_store::model::{AttendanceMark, Presence};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{Page, PageQuery, page_mapped, time_cursor};
use super::seats::may_mark;
use super::sessions::SeatView;
use super::views::{Items, Problem};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceView {
    pub person_id: Uuid,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub checked_in_at: jiff::Timestamp,
    /// `checked_in_at` on the organisation's clock.
    pub checked_in_at_local: String,
    /// Whole minutes after the start.
    pub minutes_late: i64,
    /// Whether staff confirmed it into attendance (the seat is ATTENDED).
    pub attended: bool,
}

impl PresenceView {
    fn of(p: Presence, zone: &str) -> Self {
        Self {
            person_id: p.person_id.0,
            name: p.name,
            checked_in_at_local: local_time(p.checked_in_at, zone),
            checked_in_at: p.checked_in_at,
            minutes_late: p.minutes_late,
            attended: p.attended,
        }
    }
}

/// The caller checks in ("I'm here") to a running session where they hold
/// a seat. Checking in again answers the first check-in.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/presence", tag = "seats",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = PresenceView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "no_seat, check_in_closed")),
    security(("bearer" = [])))]
pub async fn check_in(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<PresenceView>> {
    let presence = state.store.check_in(&member.ctx, member.org_id(), SessionId(session_id), member.person_id).await?;
    Ok(axum::Json(PresenceView::of(presence, &member.org.timezone)))
}

/// Who has checked in, earliest first (then by person id): for the
/// session's therapists and the group's moderators. The cursor is the last
/// check-in's time and person.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/presence", tag = "seats",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<PresenceView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn present(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<PresenceView>>> {
    let (limit, page) = query.keyset::<PersonId>()?;
    let id = SessionId(session_id);
    may_mark(&state, &member, id).await?;
    let listed = state.store.presence_page(&member.ctx, member.org_id(), id, page).await?;
    let cursor = |p: &Presence| time_cursor(p.checked_in_at, p.person_id.0);
    Ok(axum::Json(page_mapped(listed, limit, cursor, |p| PresenceView::of(p, &member.org.timezone))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// Whom to confirm; omit for everyone who checked in.
    pub client_ids: Option<Vec<Uuid>>,
}

/// Confirms check-ins into attendance: each present client's seat becomes
/// ATTENDED with the minutes they came late.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/presence/confirm", tag = "seats",
    request_body = ConfirmRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = Items<SeatView>), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "session_not_started"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(request): Json<ConfirmRequest>,
) -> ApiResult<axum::Json<Items<SeatView>>> {
    let id = SessionId(session_id);
    may_mark(&state, &member, id).await?;
    let present = state.store.presence(&member.ctx, member.org_id(), id).await?;
    let marks = marks_for(&present, request.client_ids.as_deref())?;
    let seats = state.store.mark_attendance(&member.ctx, member.org_id(), id, marks).await?;
    Ok(axum::Json(Items::of(seats)))
}

/// Attendance marks for the chosen present clients (all when `chosen` is
/// `None`); naming someone who has not checked in is refused.
fn marks_for(present: &[Presence], chosen: Option<&[Uuid]>) -> ApiResult<Vec<AttendanceMark>> {
    let picked: Vec<&Presence> = match chosen {
        None => present.iter().collect(),
        Some(ids) => {
            let mut picked = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let found = present.iter().find(|p| p.person_id == PersonId(*id)).ok_or_else(|| {
                    ApiError::field(&format!("client_ids[{i}]"), "has not checked in to this session")
                })?;
                picked.push(found);
            }
            picked
        }
    };
    if picked.is_empty() {
        return Err(ApiError::field("client_ids", "nobody has checked in to confirm"));
    }
    Ok(picked
        .into_iter()
        .map(|p| AttendanceMark {
            client_id: p.person_id,
            status: SeatStatus::Attended,
            minutes_late: Some(p.minutes_late),
            minutes_left_early: None,
            note: None,
        })
        .collect())
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(check_in, present))
        .routes(utoipa_axum::routes!(confirm))
}
