//! `/api/v1/me/org-invitations`: organisations that want the caller's account
//! to join them. Nobody is linked into an organisation without saying yes.

use axum::extract::State;
use circles_domain::Role;
use circles_domain::ids::PersonId;
use circles_domain::org_invitation::OrgInvitationStatus;
use circles_store::model::OrgInvitation;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{Page, PageQuery, page_of, time_cursor};
use super::views::{MembershipView, Problem};
use crate::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::{Path, Query};
use crate::state::AppState;
use circles_domain::local_time::local_time;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgInvitationView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    /// The organisation's IANA time zone, in which `*_local` times are given.
    pub timezone: String,
    /// The role the account would have there.
    #[schema(value_type = String, example = "therapist")]
    pub role: Role,
    /// `pending`, `accepted` or `declined`.
    #[schema(value_type = String, example = "pending")]
    pub status: OrgInvitationStatus,
    /// Who sent the invitation.
    pub invited_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub invited_at: Timestamp,
    /// `invited_at` on the organisation's wall clock, with its offset.
    pub invited_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<Timestamp>,
    pub responded_at_local: Option<String>,
}

impl From<OrgInvitation> for OrgInvitationView {
    fn from(i: OrgInvitation) -> Self {
        Self {
            id: i.id.0,
            org_id: i.org.id.0,
            invited_at_local: local_time(i.created_at, &i.org.timezone),
            responded_at_local: i.responded_at.map(|t| local_time(t, &i.org.timezone)),
            org_name: i.org.name,
            timezone: i.org.timezone,
            role: i.role,
            status: i.status,
            invited_by: i.invited_by,
            invited_at: i.created_at,
            responded_at: i.responded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnsweredOrgInvitation {
    pub invitation: OrgInvitationView,
    /// The caller's new membership, when accepted.
    pub membership: Option<MembershipView>,
}

/// The organisations waiting for the caller to accept or decline joining.
#[utoipa::path(get, path = "/api/v1/me/org-invitations", tag = "me",
    params(PageQuery),
    responses((status = 200, body = Page<OrgInvitationView>), (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<OrgInvitationView>>> {
    let (limit, page) = query.keyset()?;
    let invitations = state.store.org_invitations(caller.principal.account_id, page).await?;
    Ok(axum::Json(page_of(invitations, limit, |i| time_cursor(i.created_at, i.id.0))))
}

async fn answer(state: &AppState, caller: &Caller, id: Uuid, accept: bool) -> ApiResult<AnsweredOrgInvitation> {
    let (invitation, membership) =
        state.store.answer_org_invitation(&caller.ctx(), caller.principal.account_id, PersonId(id), accept).await?;
    let membership = match membership {
        Some(m) => Some(MembershipView::new(m, &state.store.account(caller.principal.account_id).await?.name)),
        None => None,
    };
    Ok(AnsweredOrgInvitation { invitation: invitation.into(), membership })
}

/// Joins the organisation with the invited role.
#[utoipa::path(post, path = "/api/v1/me/org-invitations/{invitation_id}/accept", tag = "me",
    params(("invitation_id" = Uuid, Path)),
    responses((status = 200, body = AnsweredOrgInvitation),
        (status = 404, body = Problem, description = "no such invitation for this account"),
        (status = 409, body = Problem, description = "`invitation_answered` or `already_a_member`")),
    security(("bearer" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<AnsweredOrgInvitation>> {
    Ok(axum::Json(answer(&state, &caller, id, true).await?))
}

/// Says no: the account does not join, and the organisation sees `declined`.
#[utoipa::path(post, path = "/api/v1/me/org-invitations/{invitation_id}/decline", tag = "me",
    params(("invitation_id" = Uuid, Path)),
    responses((status = 200, body = AnsweredOrgInvitation),
        (status = 404, body = Problem, description = "no such invitation for this account"),
        (status = 409, body = Problem, description = "`invitation_answered`")),
    security(("bearer" = [])))]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<AnsweredOrgInvitation>> {
    Ok(axum::Json(answer(&state, &caller, id, false).await?))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list))
        .routes(utoipa_axum::routes!(accept))
        .routes(utoipa_axum::routes!(decline))
}
