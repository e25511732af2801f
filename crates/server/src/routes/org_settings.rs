//! An organisation's own rules, set by its admins.

use axum::extract::State;
use circles_domain::Role;
use circles_domain::checkin::aggregate::{K_MAX, K_MIN};
use circles_domain::reminder::ReminderOffsets;
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
    /// When sessions' people are reminded: minutes before the start, one to
    /// four, each from 5 (five minutes) to 20160 (fourteen days), none
    /// twice. Absent: unchanged.
    #[schema(min_items = 1, max_items = 4, value_type = Option<Vec<i64>>)]
    pub reminder_offsets_minutes: Option<Vec<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgSettingsView {
    pub refuse_late_attendance: bool,
    /// The fewest answers to a check-in before members see group results.
    pub check_in_k: i64,
    /// Minutes before a session its people are reminded, longest first
    /// (`[1440, 60]`: a day and an hour before, unless changed).
    pub reminder_offsets_minutes: Vec<i64>,
    /// The same in words: `["24 hours", "1 hour"]`.
    pub reminder_offsets_words: Vec<String>,
}

/// `90` → `1 hour 30 minutes`; `2880` → `2 days`.
pub fn offset_words(minutes: i64) -> String {
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let unit = |n: i64, one: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {one}s")),
    };
    // A whole number of days under two reads better in hours ("24 hours").
    let (days, hours) = if days == 1 && hours == 0 && mins == 0 { (0, 24) } else { (days, hours) };
    [unit(days, "day"), unit(hours, "hour"), unit(mins, "minute")].into_iter().flatten().collect::<Vec<_>>().join(" ")
}

async fn settings_of(state: &AppState, org: circles_domain::ids::OrgId) -> ApiResult<OrgSettingsView> {
    let offsets = state.store.reminder_offsets(org).await?;
    Ok(OrgSettingsView {
        refuse_late_attendance: state.store.refuses_late_attendance(org).await?,
        check_in_k: state.store.check_in_k(org).await?,
        reminder_offsets_minutes: offsets.minutes().to_vec(),
        reminder_offsets_words: offsets.minutes().iter().map(|m| offset_words(*m)).collect(),
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
    let offsets = match &body.reminder_offsets_minutes {
        Some(minutes) => Some(
            ReminderOffsets::parse(minutes).map_err(|reason| ApiError::field("reminder_offsets_minutes", reason))?,
        ),
        None => None,
    };
    if let Some(refuse) = body.refuse_late_attendance {
        state.store.set_refuse_late_attendance(&member.ctx, member.org_id(), refuse).await?;
    }
    if let Some(k) = body.check_in_k {
        state.store.set_check_in_k(&member.ctx, member.org_id(), k).await?;
    }
    if let Some(offsets) = &offsets {
        state.store.set_reminder_offsets(&member.ctx, member.org_id(), offsets).await?;
    }
    Ok(axum::Json(settings_of(&state, member.org_id()).await?))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(get_settings, update_settings))
}
