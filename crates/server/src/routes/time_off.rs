//! Time off: a therapist asks, an admin decides, and the sessions in the
//! range are moved to a coverage therapist or cancelled.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::authz::Action;
use circles_domain::ids::{PersonId, SessionId, TimeOffId};
use circles_domain::input::{free_text, instant};
use circles_domain::time_off::{REASON_MAX, TimeOffKind, TimeOffStatus, absence};
use circles_domain::validation::Validator;
use circles_store::model::{
    AffectedSession, BusyConflict, CoverageCandidate, Labels, NewTimeOff, Reassignment, TimeOff, TimeOffApproval,
    TimeOffFilter,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::labels::labels_of;
use super::page::{Page, PageQuery, RankedQuery, page_at, page_of, parse_time_cursor, session_cursor, time_cursor};
use super::query::{page_limit, query_parsed};
use super::views::{Items, Problem};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;
use circles_domain::local_time::local_time;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeOffRequest {
    /// Who is away, a therapist of this organisation; the caller by default.
    pub therapist_id: Option<Uuid>,
    /// VACATION, SICK, CONFERENCE, PERSONAL or OTHER.
    #[serde(rename = "type")]
    #[schema(pattern = "^(VACATION|SICK|CONFERENCE|PERSONAL|OTHER)$", example = "VACATION")]
    pub kind: String,
    /// Need not be detailed.
    #[schema(format = "free-text")]
    pub reason: Option<String>,
    /// RFC 3339 with offset; may have begun already.
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// RFC 3339 with offset; after `starts_at`, in the future, at most 366
    /// days after `starts_at`.
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// On approval with a coverage therapist, move the affected sessions to them.
    #[serde(default)]
    pub auto_reassign: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOffView {
    pub id: Uuid,
    pub therapist_id: Uuid,
    pub therapist_name: String,
    #[serde(rename = "type")]
    #[schema(example = "VACATION")]
    pub kind: String,
    pub reason: String,
    /// The start on the organisation's clock ("Thu 10 Dec, 18:00 EST").
    pub starts_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    pub ends_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// PENDING, APPROVED, DENIED or CANCELLED.
    #[schema(example = "PENDING")]
    pub status: String,
    pub auto_reassign: bool,
    pub coverage_therapist_id: Option<Uuid>,
    pub coverage_therapist_name: Option<String>,
    pub requested_by: Option<Uuid>,
    pub requested_by_name: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_by_name: Option<String>,
    pub decided_at_local: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    /// Why it was denied.
    pub decision_reason: Option<String>,
    /// Sessions the therapist is still on in the range: what needs cover.
    pub affected_sessions: i64,
    pub created_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<TimeOff> for TimeOffView {
    fn from(t: TimeOff) -> Self {
        let local = |at: Timestamp| local_time(at, &t.timezone);
        Self {
            id: t.id.0,
            therapist_id: t.therapist_id.0,
            therapist_name: t.therapist_name,
            kind: t.kind.as_str().into(),
            reason: t.reason,
            starts_at_local: local(t.starts_at),
            starts_at: t.starts_at,
            ends_at_local: local(t.ends_at),
            ends_at: t.ends_at,
            status: t.status.wire().into(),
            auto_reassign: t.auto_reassign,
            coverage_therapist_id: t.coverage_therapist_id.map(|p| p.0),
            coverage_therapist_name: t.coverage_therapist_name,
            requested_by: t.requested_by.map(|p| p.0),
            requested_by_name: t.requested_by_name,
            decided_by: t.decided_by.map(|p| p.0),
            decided_by_name: t.decided_by_name,
            decided_at_local: t.decided_at.map(local),
            decided_at: t.decided_at,
            decision_reason: t.decision_reason,
            affected_sessions: t.affected_sessions,
            created_at_local: local(t.created_at),
            created_at: t.created_at,
        }
    }
}

fn parse_request(body: &TimeOffRequest, me: PersonId, now: Timestamp) -> Result<NewTimeOff, ApiError> {
    let mut v = Validator::default();
    let kind = v.check("type", body.kind.parse::<TimeOffKind>());
    let reason = v.check("reason", free_text(body.reason.as_deref().unwrap_or_default().trim(), REASON_MAX));
    let starts_at = v.check("starts_at", instant(&body.starts_at));
    let ends_at = v.check("ends_at", instant(&body.ends_at));
    let range = absence(&mut v, starts_at, ends_at, now);
    Ok(v.done(|| {
        Some(NewTimeOff {
            therapist_id: body.therapist_id.map_or(me, PersonId),
            kind: kind?,
            reason: reason?,
            range: range?,
            auto_reassign: body.auto_reassign,
        })
    })?)
}

/// Asks for time off. A therapist asks for their own; an admin may ask for
/// them. An overlapping pending or approved request of the same therapist
/// is 409 `time_off_overlap`; sessions in the range never refuse it (they
/// are counted as `affected_sessions`).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/time-off", tag = "time off", request_body = TimeOffRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = TimeOffView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "time_off_overlap"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn request_time_off(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<TimeOffRequest>,
) -> ApiResult<(StatusCode, axum::Json<TimeOffView>)> {
    let input = parse_request(&body, member.person_id, state.clock.now())?;
    member.authorize(Action::RequestTimeOff { is_self: input.therapist_id == member.person_id })?;
    let created = state.store.request_time_off(&member.ctx, member.org_id(), input).await?;
    Ok((StatusCode::CREATED, axum::Json(created.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimeOffQuery {
    /// Only this therapist's requests (therapists see only their own).
    pub therapist_id: Option<Uuid>,
    /// PENDING, APPROVED, DENIED or CANCELLED.
    #[param(pattern = "^(PENDING|APPROVED|DENIED|CANCELLED)$")]
    pub status: Option<String>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// Time-off requests, latest start first. Admins and moderators see
/// everyone's; a therapist sees their own.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/time-off", tag = "time off",
    params(("org_id" = Uuid, Path), TimeOffQuery),
    responses((status = 200, body = Page<TimeOffView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_time_off(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<TimeOffQuery>,
) -> ApiResult<axum::Json<Page<TimeOffView>>> {
    let status = query_parsed::<TimeOffStatus>("status", query.status.as_deref())?;
    let limit = page_limit(query.limit, 100, 500)?;
    // Asking for nobody in particular means "mine" unless one may see all.
    let sees_all = member.authorize(Action::ViewTimeOff { is_self: false }).is_ok();
    let therapist = query.therapist_id.map(PersonId).or((!sees_all).then_some(member.person_id));
    member.authorize(Action::ViewTimeOff { is_self: therapist == Some(member.person_id) })?;
    let after = parse_time_cursor::<Uuid>(query.cursor.as_deref())?.map(|(at, id)| (at, TimeOffId(id)));
    // One more than the page, to know whether another follows.
    let filter = TimeOffFilter { therapist, status, after, limit: limit + 1 };
    let requests = state.store.list_time_off(member.org_id(), filter).await?;
    Ok(axum::Json(page_of(requests, limit, |t| time_cursor(t.starts_at, t.id.0))))
}

/// The request, after checking the member may see it (404 before 403).
async fn visible(state: &AppState, member: &Member, id: Uuid) -> ApiResult<TimeOff> {
    let time_off = state.store.time_off(member.org_id(), TimeOffId(id)).await?;
    member.authorize(Action::ViewTimeOff { is_self: time_off.therapist_id == member.person_id })?;
    Ok(time_off)
}

/// One time-off request.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}", tag = "time off",
    params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 200, body = TimeOffView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_time_off(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<TimeOffView>> {
    Ok(axum::Json(visible(&state, &member, id).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AffectedSessionView {
    pub session_id: Uuid,
    #[schema(example = "one_on_one")]
    pub kind: String,
    #[schema(example = "SCHEDULED")]
    pub status: String,
    pub title: String,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    pub timezone: String,
    #[schema(example = "Thu 10 Dec, 18:00 EST")]
    pub starts_at_local: String,
    pub ends_at_local: String,
    #[schema(example = "IN_PERSON")]
    pub modality: String,
    pub group_id: Option<Uuid>,
    #[schema(example = "Grief support")]
    pub group_name: Option<String>,
    pub seats_taken: i64,
}

impl From<AffectedSession> for AffectedSessionView {
    fn from(a: AffectedSession) -> Self {
        Self {
            session_id: a.session_id.0,
            kind: a.kind.as_str().into(),
            status: a.status.wire().into(),
            title: a.title,
            starts_at_local: local_time(a.starts_at, &a.timezone),
            ends_at_local: local_time(a.ends_at, &a.timezone),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            timezone: a.timezone,
            modality: a.modality.as_str().into(),
            group_id: a.group_id.map(|g| g.0),
            group_name: a.group_name,
            seats_taken: a.seats_taken,
        }
    }
}

/// The sessions the therapist is still on in the range (not cancelled, not
/// over): what needs cover, soonest first (then by session id).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/affected", tag = "time off",
    params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<AffectedSessionView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn affected(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<AffectedSessionView>>> {
    let (limit, page) = query.keyset::<SessionId>()?;
    let time_off = visible(&state, &member, id).await?;
    let listed = state.store.affected_page(member.org_id(), time_off.id, page).await?;
    Ok(axum::Json(page_of(listed, limit, |a| session_cursor(a.starts_at, a.session_id))))
}

/// The request, for an admin's decision (404 before 403).
async fn for_decision(state: &AppState, member: &Member, id: Uuid) -> ApiResult<TimeOffId> {
    let time_off = state.store.time_off(member.org_id(), TimeOffId(id)).await?;
    member.authorize(Action::DecideTimeOff)?;
    Ok(time_off.id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Another therapist to cover; with `auto_reassign` on the request, the
    /// affected sessions move to them at once.
    #[serde(default)]
    pub coverage_therapist_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictView {
    pub person_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub person_name: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// On the organisation's clock.
    #[schema(example = "Thu 10 Dec, 18:00 EST")]
    pub starts_at_local: String,
    pub ends_at_local: String,
    /// session, hold or time_off.
    pub kind: String,
}

impl ConflictView {
    fn new(c: BusyConflict, labels: &Labels, zone: &str) -> Self {
        Self {
            person_id: c.person_id.0,
            person_name: labels.person(c.person_id),
            starts_at_local: local_time(c.starts_at, zone),
            ends_at_local: local_time(c.ends_at, zone),
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            kind: c.kind.as_str().into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReassignmentView {
    pub coverage_therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub coverage_therapist_name: Option<String>,
    /// Sessions now the coverage therapist's.
    pub moved: Vec<Uuid>,
    /// Their titles, in the order of `moved`.
    pub moved_titles: Vec<String>,
    /// On approval: why nothing moved (the approval stands).
    pub conflicts: Vec<ConflictView>,
}

impl ReassignmentView {
    fn new(r: Reassignment, labels: &Labels, zone: &str) -> Self {
        Self {
            coverage_therapist_id: r.coverage_therapist_id.0,
            coverage_therapist_name: labels.person(r.coverage_therapist_id),
            moved_titles: r.moved.iter().map(|&s| labels.session(s).unwrap_or_default()).collect(),
            moved: r.moved.into_iter().map(|s| s.0).collect(),
            conflicts: r.conflicts.into_iter().map(|c| ConflictView::new(c, labels, zone)).collect(),
        }
    }

    /// `r` as `member` reads it: everyone it mentions named in one read.
    async fn read(state: &AppState, member: &Member, r: Reassignment) -> ApiResult<Self> {
        let labels = labels_of(state, member.org_id(), std::slice::from_ref(&r), |m, r| {
            m.person(r.coverage_therapist_id);
            r.conflicts.iter().for_each(|c| _ = m.person(c.person_id));
            r.moved.iter().for_each(|&s| _ = m.session(s));
        })
        .await?;
        Ok(Self::new(r, &labels, &member.org.timezone))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    pub time_off: TimeOffView,
    /// With `auto_reassign` and a coverage therapist: what happened to the
    /// affected sessions.
    pub reassignment: Option<ReassignmentView>,
}

impl ApprovalView {
    async fn read(state: &AppState, member: &Member, a: TimeOffApproval) -> ApiResult<Self> {
        let reassignment = match a.reassignment {
            Some(r) => Some(ReassignmentView::read(state, member, r).await?),
            None => None,
        };
        Ok(Self { time_off: a.time_off.into(), reassignment })
    }
}

/// Approves a pending request (admins). Approval is never refused because
/// of sessions in the range; from now on the range is busy time for new
/// bookings. With `auto_reassign` and a coverage therapist free for every
/// affected session, those sessions move to them in the same step;
/// otherwise the approval stands and `reassignment.conflicts` says why not.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/approve", tag = "time off",
    request_body = ApproveRequest, params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 200, body = ApprovalView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "illegal_transition"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ApproveRequest>,
) -> ApiResult<axum::Json<ApprovalView>> {
    let id = for_decision(&state, &member, id).await?;
    let coverage = body.coverage_therapist_id.map(PersonId);
    let approval = state.store.approve_time_off(&member.ctx, member.org_id(), id, coverage).await?;
    Ok(axum::Json(ApprovalView::read(&state, &member, approval).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(min_length = 1, format = "free-text-not-blank")]
    pub reason: String,
}

fn required_reason(raw: &str) -> ApiResult<String> {
    let reason = free_text(raw.trim(), REASON_MAX).map_err(|r| ApiError::field("reason", r))?;
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    Ok(reason)
}

/// Denies a pending request (admins), saying why.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/deny", tag = "time off",
    request_body = ReasonRequest, params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 200, body = TimeOffView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "illegal_transition"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn deny(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ReasonRequest>,
) -> ApiResult<axum::Json<TimeOffView>> {
    let reason = required_reason(&body.reason)?;
    let id = for_decision(&state, &member, id).await?;
    Ok(axum::Json(state.store.deny_time_off(&member.ctx, member.org_id(), id, reason).await?.into()))
}

/// Withdraws a pending request or approved time off: the therapist's own, or any for an admin.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/cancel", tag = "time off",
    params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 200, body = TimeOffView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "illegal_transition")),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<TimeOffView>> {
    let time_off = state.store.time_off(member.org_id(), TimeOffId(id)).await?;
    member.authorize(Action::CancelTimeOff { is_self: time_off.therapist_id == member.person_id })?;
    Ok(axum::Json(state.store.cancel_time_off(&member.ctx, member.org_id(), time_off.id).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageView {
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: String,
    /// Free for every affected session: in their hours, not busy, not away.
    pub covers_all: bool,
    pub can_cover: Vec<Uuid>,
    /// Their titles, in the order of `can_cover`.
    pub can_cover_titles: Vec<String>,
    pub cannot_cover: Vec<Uuid>,
    /// Their titles, in the order of `cannot_cover`.
    pub cannot_cover_titles: Vec<String>,
    /// Clients of the affected sessions they have had sessions with.
    pub shared_clients: u32,
}

impl CoverageView {
    fn new(c: CoverageCandidate, labels: &Labels) -> Self {
        let titles = |sessions: &[SessionId]| sessions.iter().map(|&s| labels.session(s).unwrap_or_default()).collect();
        Self {
            therapist_id: c.therapist_id.0,
            therapist_name: c.name,
            covers_all: c.covers_all,
            can_cover_titles: titles(&c.can_cover),
            cannot_cover_titles: titles(&c.cannot_cover),
            can_cover: c.can_cover.into_iter().map(|s| s.0).collect(),
            cannot_cover: c.cannot_cover.into_iter().map(|s| s.0).collect(),
            shared_clients: c.shared_clients,
        }
    }
}

/// Every other therapist as cover, best first: free for every affected
/// session, then by how many they can take, then by clients they know, then
/// by therapist id. The ranking is computed when read and paged by
/// position in it, 20 to a page unless `limit` asks otherwise.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/coverage", tag = "time off",
    params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path), RankedQuery),
    responses((status = 200, body = Page<CoverageView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn coverage(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
    Query(query): Query<RankedQuery>,
) -> ApiResult<axum::Json<Page<CoverageView>>> {
    let (start, limit) = query.window(COVER_PAGE)?;
    let id = for_decision(&state, &member, id).await?;
    let ranked = state.store.coverage(member.org_id(), id).await?;
    let shown = &ranked[start.min(ranked.len())..(start + limit).min(ranked.len())];
    let labels = labels_of(&state, member.org_id(), shown, |m, c| {
        c.can_cover.iter().chain(&c.cannot_cover).for_each(|&s| _ = m.session(s));
    })
    .await?;
    Ok(axum::Json(page_at(ranked, start, limit, |c| CoverageView::new(c, &labels))))
}

/// Cover candidates come twenty to a page unless asked otherwise.
const COVER_PAGE: i64 = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    pub coverage_therapist_id: Uuid,
}

/// Moves every affected session of approved time off to the coverage
/// therapist — all of them or, on any clash, none (409 listing the clashes).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/reassign", tag = "time off",
    request_body = ReassignRequest, params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 200, body = ReassignmentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "scheduling_conflict or illegal_transition"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn reassign(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ReassignRequest>,
) -> ApiResult<axum::Json<ReassignmentView>> {
    let id = for_decision(&state, &member, id).await?;
    let coverage = PersonId(body.coverage_therapist_id);
    let reassignment = state.store.reassign_affected(&member.ctx, member.org_id(), id, coverage).await?;
    Ok(axum::Json(ReassignmentView::read(&state, &member, reassignment).await?))
}

/// Cancels every affected session of approved time off, freeing everyone's time.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/time-off/{time_off_id}/cancel-affected", tag = "time off",
    request_body = ReasonRequest, params(("org_id" = Uuid, Path), ("time_off_id" = Uuid, Path)),
    responses((status = 200, body = Items<AffectedSessionView>), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "illegal_transition"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel_affected(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<ReasonRequest>,
) -> ApiResult<axum::Json<Items<AffectedSessionView>>> {
    let reason = required_reason(&body.reason)?;
    let id = for_decision(&state, &member, id).await?;
    Ok(axum::Json(Items::of(state.store.cancel_affected(&member.ctx, member.org_id(), id, reason).await?)))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(request_time_off, list_time_off))
        .routes(utoipa_axum::routes!(get_time_off))
        .routes(utoipa_axum::routes!(affected))
        .routes(utoipa_axum::routes!(approve))
        .routes(utoipa_axum::routes!(deny))
        .routes(utoipa_axum::routes!(cancel))
        .routes(utoipa_axum::routes!(coverage))
        .routes(utoipa_axum::routes!(reassign))
        .routes(utoipa_axum::routes!(cancel_affected))
}
