//! A client's own group memberships, across organisations: current and
//! past periods (a graduated client keeps reading theirs), with their
//! attendance.

use axum::extract::State;
use circles_domain::attendance::MemberStats;
use circles_store::model::OwnMembership;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{Page, PageQuery, page_of, time_cursor};
use super::views::Problem;
use crate::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::Query;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnMembershipView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub organisation: String,
    pub group_id: Uuid,
    #[schema(example = "Wednesday Grief Group")]
    pub group_name: String,
    /// PENDING_SCREENING, ACTIVE, WAITLISTED, INACTIVE or GRADUATED.
    pub status: String,
    pub join_date: String,
    pub leave_date: Option<String>,
    pub exit_reason: Option<String>,
    /// Sessions offered, attended, no-shows, late cancellations, unmarked
    /// seats and sessions held without a seat (these five add up to the
    /// sessions offered), the marked seats, and both rates over them (0 while
    /// nothing is marked).
    #[schema(value_type = Object)]
    pub stats: MemberStats,
}

impl From<OwnMembership> for OwnMembershipView {
    fn from(own: OwnMembership) -> Self {
        let m = own.member;
        Self {
            id: m.id.0,
            org_id: own.org_id.0,
            organisation: own.org_name,
            group_id: m.group_id.0,
            group_name: own.group_name,
            status: m.status.as_str().into(),
            join_date: m.join_date.to_string(),
            leave_date: m.leave_date.map(|d| d.to_string()),
            exit_reason: m.exit_reason,
            stats: own.stats,
        }
    }
}

/// The caller's group memberships in every organisation, past ones
/// included, each with their attendance statistics.
#[utoipa::path(get, path = "/api/v1/me/memberships", tag = "me",
    params(PageQuery), responses((status = 200, body = Page<OwnMembershipView>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn my_memberships(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<OwnMembershipView>>> {
    let (limit, page) = query.keyset()?;
    let own = state.store.account_memberships(caller.principal.account_id, page).await?;
    Ok(axum::Json(page_of(own, limit, |o| time_cursor(o.member.created_at, o.member.id.0))))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(my_memberships))
}
