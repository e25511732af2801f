//! An organisation's own rules, set by its admins.

use axum::extract::State;
use circles_domain::Role;
use circles_domain::checkin::aggregate::{K_MAX, K_MIN};
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
    /// (by default it is accepted and flagged `late_entry`). Absent: unchanged.
    pub refuse_late_attendance: Option<bool>,
    /// The fewest answers to a check-in before members see group results
    /// (3 to 50; 5 unless changed). Absent: unchanged.
    #[schema(minimum = 3, maximum = 50)]
    pub check_in_k: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgSettingsView {
    pub refuse_late_attendance: bool,
    /// The fewest answers to a check-in before members see group results.
    pub check_in_k: i64,
}

async fn settings_of(state: &AppState, org: circles_domain::ids::OrgId) -> ApiResult<OrgSettingsView> {
    Ok(OrgSettingsView {
        refuse_late_attendance: state.store.refuses_late_attendance(org).await?,
        check_in_k: state.store.check_in_k(org).await?,
    })
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
    Ok(axum::Json(settings_of(&state, member.org_id()).await?))
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
    // Every value is checked before anything is written.
    if let Some(k) = body.check_in_k
        && !(K_MIN..=K_MAX).contains(&k)
    {
        return Err(ApiError::field("check_in_k", format!("must be from {K_MIN} to {K_MAX}")));
    }
    if let Some(refuse) = body.refuse_late_attendance {
        state.store.set_refuse_late_attendance(&member.ctx, member.org_id(), refuse).await?;
    }
    if let Some(k) = body.check_in_k {
        state.store.set_check_in_k(&member.ctx, member.org_id(), k).await?;
    }
    Ok(axum::Json(settings_of(&state, member.org_id()).await?))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(get_settings, update_settings))
}
