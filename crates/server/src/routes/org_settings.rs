//! An organisation's own rules, set by its admins.

use axum::extract::State;
use circles_domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgSettingsBody {
    /// Refuse attendance recorded more than 30 days after a session ended
    /// (by default it is accepted and flagged `late_entry`).
    pub refuse_late_attendance: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgSettingsView {
    pub refuse_late_attendance: bool,
}

/// The organisation's rules as they stand (admins only, like changing them).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/settings", tag = "organisations",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = OrgSettingsView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_settings(State(state): State<AppState>, member: Member) -> ApiResult<axum::Json<OrgSettingsView>> {
    if member.role != Role::Admin {
        return Err(ApiError::forbidden("only an admin reads the organisation's rules"));
    }
    let refuse = state.store.refuses_late_attendance(member.org_id()).await?;
    Ok(axum::Json(OrgSettingsView { refuse_late_attendance: refuse }))
}

/// Changes the organisation's rules (admins only).
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/settings", tag = "organisations", request_body = OrgSettingsBody,
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = OrgSettingsView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_settings(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<OrgSettingsBody>,
) -> ApiResult<axum::Json<OrgSettingsView>> {
    if member.role != Role::Admin {
        return Err(ApiError::forbidden("only an admin changes the organisation's rules"));
    }
    let refuse =
        state.store.set_refuse_late_attendance(&member.ctx, member.org_id(), body.refuse_late_attendance).await?;
    Ok(axum::Json(OrgSettingsView { refuse_late_attendance: refuse }))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(get_settings, update_settings))
}
