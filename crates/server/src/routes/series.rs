//! Recurring groups: generating sessions, moving one occurrence, changing
//! the series from a date on.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::civil::{parse_date, parse_time};
use circles_domain::ids::SessionId;
use circles_domain::interval::Interval;
use circles_domain::validation::Validator;
use circles_store::model::{Generation, OutsideWorkingHours, SeriesChange, SkippedMemberSeat, SkippedOccurrence};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::group_sessions::standing;
use super::groups::{GroupView, visible_group};
use super::sessions::{SessionView, distinct_people, parse_start};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::http::extract::{Json, Path};
use crate::state::AppState;

/// The longest range one generation covers.
const MAX_GENERATION_DAYS: i64 = 366;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// First local date, `YYYY-MM-DD`.
    #[schema(format = Date, min_length = 1)]
    pub from: String,
    /// Last local date, inclusive: not before `from`, and a generation covers
    /// at most 366 days.
    #[schema(format = Date, min_length = 1)]
    pub to: String,
    /// Make what can be made and list the occurrences whose therapists are
    /// busy (by default nothing is made if any clash).
    #[serde(default)]
    pub skip_conflicts: bool,
}

/// What a generation made, each session in the same shape as `/sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerationView {
    pub created: Vec<SessionView>,
    /// Occurrences in the range generated before (never made twice).
    pub already_generated: i64,
    /// Occurrences left out because a facilitator is busy then.
    #[schema(value_type = Vec<Object>)]
    pub skipped: Vec<SkippedOccurrence>,
    /// Members left off a generated session because they are busy then.
    #[schema(value_type = Vec<Object>)]
    pub seats_skipped: Vec<SkippedMemberSeat>,
    /// Generated sessions outside a facilitator's working hours.
    #[schema(value_type = Vec<Object>)]
    pub outside_working_hours: Vec<OutsideWorkingHours>,
}

impl From<Generation> for GenerationView {
    fn from(g: Generation) -> Self {
        Self {
            created: g.created.into_iter().map(Into::into).collect(),
            already_generated: g.already_generated,
            skipped: g.skipped,
            seats_skipped: g.seats_skipped,
            outside_working_hours: g.outside_working_hours,
        }
    }
}

/// One session per occurrence of the group's recurrence in the range, each
/// with a seat for every member active on that date. Generating the same
/// range again makes nothing twice. Members busy at an occurrence are left
/// off it and listed.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/sessions/generate", tag = "series",
    request_body = GenerateRequest, params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 200, body = GenerationView),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "series_conflicts with the clashing `occurrences`, or no_recurrence"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn generate(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<GenerateRequest>,
) -> ApiResult<axum::Json<GenerationView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    let mut v = Validator::default();
    let from = v.check("from", parse_date(&body.from));
    let to = v.check("to", parse_date(&body.to));
    if let (Some(from), Some(to)) = (from, to) {
        let days = from.until(to).map(|span| span.get_days()).unwrap_or(i32::MAX);
        if to < from {
            v.reject("to", "must not be before from");
        } else if i64::from(days) > MAX_GENERATION_DAYS {
            v.reject("to", "a generation covers at most 366 days");
        }
    }
    let (from, to) = v.done(|| from.zip(to))?;
    let generation =
        state.store.generate_sessions(&member.ctx, member.org_id(), group.id, from, to, body.skip_conflicts).await?;
    Ok(axum::Json(generation.into()))
}

/// Change at least one of `start_time`, `duration_minutes` and
/// `facilitator_ids`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitRequest {
    /// The first local date the change applies to, `YYYY-MM-DD`.
    #[schema(format = Date, min_length = 1)]
    pub from: String,
    /// New local start time, `HH:MM`.
    #[schema(format = "clock-time")]
    pub start_time: Option<String>,
    #[schema(minimum = 15, maximum = 180)]
    pub duration_minutes: Option<i64>,
    /// New facilitators from that date on.
    pub facilitator_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SplitView {
    pub group: GroupView,
    /// Generated sessions that moved with the series.
    pub moved: Vec<SessionView>,
}

/// Changes the series' time, length or facilitators from one date on.
/// Sessions already generated for later dates move with it, all of them or
/// none (409 listing the clashes); past sessions never change.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/series/split", tag = "series",
    request_body = SplitRequest, params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 200, body = SplitView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn split(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<SplitRequest>,
) -> ApiResult<axum::Json<SplitView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    let mut v = Validator::default();
    let from = v.check("from", parse_date(&body.from));
    let start_time = v.check_opt("start_time", body.start_time.as_deref().map(parse_time));
    if body.duration_minutes.is_some_and(|m| !circles_domain::group::GROUP_MINUTES.contains(&m)) {
        v.reject("duration_minutes", "must be between 15 and 180 minutes");
    }
    if body.start_time.is_none() && body.duration_minutes.is_none() && body.facilitator_ids.is_none() {
        v.reject("body", "change at least one of start_time, duration_minutes, facilitator_ids");
    }
    let facilitators = body.facilitator_ids.as_ref().map(|ids| distinct_people(&mut v, "facilitator_ids", ids));
    let change = v.done(|| {
        Some(SeriesChange {
            from: from?,
            start_time: start_time?,
            duration_minutes: body.duration_minutes,
            facilitator_ids: facilitators,
        })
    })?;
    let outcome = state.store.split_series(&member.ctx, member.org_id(), group.id, change).await?;
    Ok(axum::Json(SplitView {
        group: GroupView::new(outcome.group, &member.org.timezone),
        moved: outcome.moved.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The new start, RFC 3339 with offset.
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// The new length; unchanged by default.
    pub duration_minutes: Option<i64>,
}

/// Moves one session (one occurrence of a series keeps its recurrence id),
/// checking everyone's calendar at the new time.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/reschedule", tag = "series",
    request_body = RescheduleRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn reschedule(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<RescheduleRequest>,
) -> ApiResult<axum::Json<SessionView>> {
    let id = SessionId(session_id);
    let (people, relation) = standing(&state, &member, id).await?;
    let in_group = relation.moderator || relation.facilitator || relation.member;
    member.authorize(Action::ViewSession { participant: people.includes(member.person_id) || in_group })?;
    let is_therapist = people.therapists.iter().any(|(t, _)| *t == member.person_id);
    member.authorize(Action::RescheduleSession { is_therapist, group: people.group_id.map(|_| relation) })?;
    let mut v = Validator::default();
    let start = parse_start(&mut v, "starts_at", &body.starts_at, state.clock.now());
    let minutes = body.duration_minutes.unwrap_or_else(|| people.ends_at.duration_since(people.starts_at).as_mins());
    if !circles_domain::session::ONE_ON_ONE_MINUTES.contains(&minutes) {
        v.reject("duration_minutes", "must be between 15 and 240 minutes");
    }
    let to = v.done(|| Interval::starting_at(start?, SignedDuration::from_mins(minutes)))?;
    let moved = state.store.reschedule_session(&member.ctx, member.org_id(), id, to).await?;
    Ok(axum::Json(moved.into()))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(generate))
        .routes(utoipa_axum::routes!(split))
        .routes(utoipa_axum::routes!(reschedule))
}
