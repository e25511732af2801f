//! A therapist's invitations to facilitate group sessions.

use axum::extract::State;
use circles_domain::ids::InvitationId;
use circles_domain::local_time::local_time;
use circles_domain::session::{InvitationStatus, SessionKind};
use circles_store::model::{Invitation, InvitationFilter, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, page_of, parse_session_cursor, session_cursor};
use super::query::{bad_query, page_limit, query_parsed};
use super::sessions::SessionView;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub session_id: Uuid,
    #[schema(example = "Tuesday grief circle")]
    pub session_title: String,
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: String,
    /// PENDING, ACCEPTED or DECLINED.
    pub status: String,
    pub message: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub invited_at: jiff::Timestamp,
    /// On the session's clock.
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub invited_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<jiff::Timestamp>,
    pub responded_at_local: Option<String>,
    pub session: SessionView,
}

impl From<Invitation> for InvitationView {
    fn from(i: Invitation) -> Self {
        let a = i.assignment;
        let zone = &i.session.timezone;
        Self {
            id: a.id.0,
            session_id: a.session_id.0,
            session_title: i.session.title.clone(),
            therapist_id: a.therapist_id.0,
            therapist_name: a.therapist_name,
            status: a.status.wire().into(),
            message: a.message,
            invited_at_local: local_time(a.invited_at, zone),
            invited_at: a.invited_at,
            responded_at_local: a.responded_at.map(|t| local_time(t, zone)),
            responded_at: a.responded_at,
            session: i.session.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InvitationQuery {
    /// PENDING (answerable now: not awaiting a moderator's approval, not
    /// cancelled), ACCEPTED or DECLINED, in any case.
    pub status: Option<String>,
    /// `group` or `instant`. One-on-one appointments are never invitations.
    pub kind: Option<String>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// The caller's invitations to facilitate group and instant sessions,
/// soonest session first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/invitations", tag = "invitations",
    params(("org_id" = Uuid, Path), InvitationQuery),
    responses((status = 200, body = Page<InvitationView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<InvitationQuery>,
) -> ApiResult<axum::Json<Page<InvitationView>>> {
    let status = query_parsed::<InvitationStatus>("status", query.status.as_deref())?;
    let kind = query_parsed::<SessionKind>("kind", query.kind.as_deref())?;
    if kind == Some(SessionKind::OneOnOne) {
        return Err(bad_query("kind", "must be group or instant: one-on-one appointments are not invitations"));
    }
    let limit = page_limit(query.limit, 100, 500)?;
    let after = parse_session_cursor(query.cursor.as_deref())?;
    let filter = InvitationFilter { status, kind, after, limit: limit + 1 };
    let invitations = state.store.invitations(member.org_id(), member.person_id, filter).await?;
    Ok(axum::Json(page_of(invitations, limit, |i| session_cursor(i.session.starts_at, i.session.id))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondRequest {
    /// `accept` or `decline`.
    #[schema(pattern = "^(accept|decline)$")]
    pub action: String,
    /// Optional words to the moderator (a reason when declining).
    #[schema(format = "free-text", max_length = 1000)]
    pub message: Option<String>,
}

/// Accepts (after checking the caller's calendar: 409 with retry hints on a
/// clash) or declines an invitation. Someone else's invitation is 404.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/invitations/{invitation_id}/respond", tag = "invitations",
    request_body = RespondRequest, params(("org_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 200, body = InvitationView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "scheduling_conflict, already_responded, invitation_closed or awaiting_approval"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn respond(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, invitation_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<RespondRequest>,
) -> ApiResult<axum::Json<InvitationView>> {
    let response = match body.action.as_str() {
        "accept" => Response::Accept,
        "decline" => Response::Decline,
        _ => return Err(ApiError::field("action", "must be accept or decline")),
    };
    let message = body
        .message
        .as_deref()
        .map(|m| circles_domain::input::free_text(m.trim(), 1_000))
        .transpose()
        .map_err(|r| ApiError::field("message", r))?;
    let invitation = state
        .store
        .respond_invitation(
            &member.ctx,
            member.org_id(),
            InvitationId(invitation_id),
            member.person_id,
            response,
            message,
        )
        .await?;
    Ok(axum::Json(invitation.into()))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list)).routes(utoipa_axum::routes!(respond))
}
