//! A group's roster over time: screening, leaving, the waitlist, seating on
//! generated sessions, and attendance statistics.

use axum::extract::State;
use circles_domain::Role;
use circles_domain::attendance::{GroupStats, MemberStats};
use circles_domain::authz::Action;
use circles_domain::civil::parse_date;
use circles_domain::group::MembershipStatus;
use circles_domain::ids::MembershipId;
use circles_domain::input::free_text;
use circles_domain::validation::Validator;
use circles_store::model::{MembershipChange, ScreeningInput, SeatingReport};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::groups::{GroupMembershipView, today, visible_group};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, Path};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningBody {
    /// `YYYY-MM-DD`; today by default.
    #[schema(format = Date)]
    pub date: Option<String>,
    #[serde(default)]
    #[schema(format = "free-text", max_length = 5000)]
    pub notes: String,
    pub approved: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipPatch {
    /// ACTIVE, WAITLISTED, INACTIVE or GRADUATED.
    pub status: Option<String>,
    /// `YYYY-MM-DD`: the membership ends; seats after it are kept until
    /// cancelled with `cancel-future-seats`.
    #[schema(format = Date)]
    pub leave_date: Option<String>,
    #[schema(format = "free-text", max_length = 1000)]
    pub exit_reason: Option<String>,
    pub screening: Option<ScreeningBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipUpdateView {
    pub membership: GroupMembershipView,
    /// Seats still held on or after the leave date.
    pub future_seats: i64,
    /// Places this change freed in the group: each is offered, through the
    /// waitlist, to the best-placed waiting member (who accepts to become
    /// active).
    pub freed_places: u64,
}

fn date(v: &mut Validator, field: &str, raw: &str) -> Option<Date> {
    v.check(field, parse_date(raw))
}

/// Records screening, a leave date or a status change. A member who ends
/// their membership keeps their future seats until `cancel-future-seats`;
/// the answer says how many. A freed place goes through the waitlist: the
/// next pass offers it to the best-placed waiting member (`freed_places`).
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}", tag = "groups",
    request_body = MembershipPatch, params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 200, body = MembershipUpdateView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_member(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id, member_id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<MembershipPatch>,
) -> ApiResult<axum::Json<MembershipUpdateView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    if body.screening.is_some() && body.status.is_none() && body.leave_date.is_none() {
        member.authorize(Action::ScreenMember { relation })?;
    } else {
        member.authorize(Action::ManageGroup { relation })?;
    }
    let mut v = Validator::default();
    let status = v.check_opt("status", body.status.as_deref().map(str::parse::<MembershipStatus>));
    let leave_date = match &body.leave_date {
        Some(raw) => date(&mut v, "leave_date", raw).map(Some),
        None => Some(None),
    };
    let exit_reason = v.check_opt("exit_reason", body.exit_reason.as_deref().map(|r| free_text(r, 1_000)));
    let screening = match &body.screening {
        Some(s) => {
            let on = match &s.date {
                Some(raw) => date(&mut v, "screening.date", raw),
                None => Some(today(&state, &member)),
            };
            let notes = v.check("screening.notes", free_text(&s.notes, 5_000));
            Some(on.zip(notes).map(|(date, notes)| ScreeningInput { date, notes, approved: s.approved }))
        }
        None => Some(None),
    };
    // Ending a membership without a date ends it today.
    let ends = status.flatten().is_some_and(|s| matches!(s, MembershipStatus::Inactive | MembershipStatus::Graduated));
    let change = v.done(|| {
        let leave_date = leave_date?.or(ends.then(|| today(&state, &member)));
        Some(MembershipChange { status: status?, leave_date, exit_reason: exit_reason?, screening: screening? })
    })?;
    let update =
        state.store.update_member(&member.ctx, member.org_id(), group.id, MembershipId(member_id), change).await?;
    Ok(axum::Json(MembershipUpdateView {
        membership: update.member.into(),
        future_seats: update.future_seats,
        freed_places: update.freed_places,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledSeats {
    pub cancelled: u64,
}

/// Cancels the seats a departed member still holds on or after their leave date.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}/cancel-future-seats", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 200, body = CancelledSeats), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "no_leave_date")),
    security(("bearer" = [])))]
pub async fn cancel_future_seats(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id, member_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<CancelledSeats>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    let cancelled =
        state.store.cancel_future_seats(&member.ctx, member.org_id(), group.id, MembershipId(member_id)).await?;
    Ok(axum::Json(CancelledSeats { cancelled }))
}

/// Seats a member on the group's upcoming sessions (a new member is not
/// added to sessions generated before they joined unless asked), checking
/// their calendar for each; sessions that clash or are full are listed.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}/seat-upcoming", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn seat_upcoming(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id, member_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<SeatingReport>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    Ok(axum::Json(state.store.seat_in_upcoming(&member.ctx, member.org_id(), group.id, MembershipId(member_id)).await?))
}

/// A member's attendance since joining: sessions offered, attended, the
/// attendance rate, no-shows and the current streak. Clients may read their own.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/groups/{group_id}/members/{member_id}/stats", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path), ("member_id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn member_stats(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id, member_id)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<MemberStats>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    let client = state.store.member_client(member.org_id(), group.id, MembershipId(member_id)).await?;
    let own = member.role == Role::Client && client == member.person_id;
    if !own {
        member.authorize(Action::ViewRoster { relation })?;
    }
    Ok(axum::Json(state.store.member_stats(&member.ctx, member.org_id(), group.id, MembershipId(member_id)).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupStatsView {
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub stats: GroupStats,
    /// Memberships by status (past periods included).
    pub members_by_status: std::collections::BTreeMap<String, i64>,
}

/// Sessions held, average attendance, the no-show rate and members by status.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/groups/{group_id}/stats", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 200, body = GroupStatsView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn group_stats(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<GroupStatsView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ViewRoster { relation })?;
    let report = state.store.group_stats(member.org_id(), group.id).await?;
    Ok(axum::Json(GroupStatsView { stats: report.stats, members_by_status: report.members_by_status }))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(update_member))
        .routes(utoipa_axum::routes!(cancel_future_seats))
        .routes(utoipa_axum::routes!(seat_upcoming))
        .routes(utoipa_axum::routes!(member_stats))
        .routes(utoipa_axum::routes!(group_stats))
}
