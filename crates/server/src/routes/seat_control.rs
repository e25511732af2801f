//! Staff control of one seat: the group's moderators and facilitators, the
//! session's therapists and the organisation's admins seat a given client,
//! drop one with a reason, or confirm one; a client confirms their own seat.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::authz::Action;
use circles_domain::ids::{PersonId, SessionId};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::group_sessions::standing;
use super::sessions::SeatView;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path};
use crate::state::AppState;

/// Refuses unless the caller may manage the session's seats: first whether
/// they see the session at all, then whether they serve its group.
async fn require_seat_staff(state: &AppState, member: &Member, id: SessionId) -> ApiResult<()> {
    let (people, relation) = standing(state, member, id).await?;
    let visible = people.includes(member.person_id) || relation.moderator || relation.facilitator || relation.member;
    member.authorize(Action::ViewSession { participant: visible })?;
    let is_therapist = people.accepted_therapist(member.person_id);
    member.authorize(Action::ManageSeats { is_therapist, relation })?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSeatRequest {
    /// The client to seat: an active member of the session's group.
    pub client_id: Uuid,
}

/// Seats a given client on a scheduled (or running) group session, if a seat
/// is free and the client's calendar is clear; the client is told.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/seats", tag = "seats",
    request_body = AddSeatRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 201, body = SeatView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem,
            description = "session_not_open, not_a_member, already_seated, session_full or scheduling_conflict"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_seat(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<AddSeatRequest>,
) -> ApiResult<(StatusCode, axum::Json<SeatView>)> {
    let id = SessionId(session_id);
    require_seat_staff(&state, &member, id).await?;
    let seat = state.store.add_seat(&member.ctx, member.org_id(), id, PersonId(body.client_id)).await?;
    Ok((StatusCode::CREATED, axum::Json(seat.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DropSeatRequest {
    /// Why the seat is given up; the client reads it.
    #[schema(min_length = 1, format = "text-line", max_length = 1000)]
    pub reason: String,
}

/// Gives up a client's seat as `CANCELLED_BY_PROVIDER`, freeing their time;
/// the client is told the reason.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/seats/{person_id}/drop", tag = "seats",
    request_body = DropSeatRequest,
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 200, body = SeatView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_seated or session_not_open"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn drop_seat(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id, client_id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<DropSeatRequest>,
) -> ApiResult<axum::Json<SeatView>> {
    let reason = circles_domain::input::Label::parse(&body.reason, 1_000).map_err(|r| ApiError::field("reason", r))?;
    let id = SessionId(session_id);
    require_seat_staff(&state, &member, id).await?;
    let seat =
        state.store.drop_seat(&member.ctx, member.org_id(), id, PersonId(client_id), reason.into_string()).await?;
    Ok(axum::Json(seat.into()))
}

/// Confirms a seat (`REGISTERED` → `CONFIRMED`): the client their own, or
/// staff for them. Confirming again changes nothing.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/seats/{person_id}/confirm", tag = "seats",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 200, body = SeatView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_seated, seat_marked or session_not_open")),
    security(("bearer" = [])))]
pub async fn confirm_seat(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id, client_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<SeatView>> {
    let id = SessionId(session_id);
    let client = PersonId(client_id);
    if client != member.person_id {
        require_seat_staff(&state, &member, id).await?;
    } else {
        // One's own seat: it must be there to confirm (a stranger learns nothing).
        let (people, _) = standing(&state, &member, id).await?;
        if !people.clients.contains(&client) {
            return Err(ApiError::not_found("seat"));
        }
    }
    let seat = state.store.confirm_seat(&member.ctx, member.org_id(), id, client).await?;
    Ok(axum::Json(seat.into()))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(add_seat))
        .routes(utoipa_axum::routes!(drop_seat))
        .routes(utoipa_axum::routes!(confirm_seat))
}
