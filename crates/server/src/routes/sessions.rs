//! Sessions: book, list, read, cancel.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::Role;
use circles_domain::authz::Action;
use circles_domain::ids::{GroupId, PersonId, SessionId};
use circles_domain::input::{TimeZoneName, free_text, instant};
use circles_domain::interval::Interval;
use circles_domain::local_time::local_time;
use circles_domain::session::{DetailsInput, SessionDetails, SessionKind, SessionStatus};
use circles_domain::validation::Validator;
use circles_store::model::{
    Approval, Assignment, Canceller, NewSession, Seat, Session, SessionFilter, SessionPeople, SessionView as StoreView,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, page_of, parse_session_cursor, session_cursor};
use super::query::{page_limit, query_instant, query_parsed};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentView {
    /// The invitation's id (answer it at `/invitations/{id}/respond`).
    pub id: Uuid,
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: String,
    #[schema(example = "ACCEPTED")]
    pub status: String,
    pub message: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<Timestamp>,
    /// On the session's clock.
    #[schema(example = "Mon 7 Dec, 09:12 EST")]
    pub responded_at_local: Option<String>,
}

impl AssignmentView {
    /// `a`, its answer read on the clock of `zone` (the session's).
    pub fn new(a: Assignment, zone: &str) -> Self {
        Self {
            id: a.id.0,
            therapist_id: a.therapist_id.0,
            therapist_name: a.therapist_name,
            status: a.status.wire().into(),
            message: a.message,
            responded_at_local: a.responded_at.map(|t| local_time(t, zone)),
            responded_at: a.responded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeatView {
    pub id: Uuid,
    pub client_id: Uuid,
    /// Seats reach only staff and the seat's own client.
    #[schema(example = "Sam Okafor")]
    pub client_name: String,
    #[schema(example = "REGISTERED")]
    pub status: String,
    pub minutes_late: Option<i64>,
    pub minutes_left_early: Option<i64>,
    pub note: Option<String>,
    /// Attendance was recorded more than 30 days after the session ended.
    pub late_entry: bool,
}

impl From<Seat> for SeatView {
    fn from(s: Seat) -> Self {
        Self {
            id: s.id.0,
            client_id: s.client_id.0,
            client_name: s.client_name,
            status: s.status.wire().into(),
            minutes_late: s.minutes_late,
            minutes_left_early: s.minutes_left_early,
            note: s.note,
            late_entry: s.late_entry,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    #[schema(example = "SCHEDULED")]
    pub status: String,
    #[schema(example = "one_on_one")]
    pub kind: String,
    #[schema(example = "IN_PERSON")]
    pub modality: String,
    pub title: String,
    pub description: String,
    /// UTC.
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// The session's IANA zone, and its start and end on the clock there.
    pub timezone: String,
    #[schema(example = "Thu 10 Dec, 18:00 EST")]
    pub starts_at_local: String,
    #[schema(example = "Thu 10 Dec, 19:30 EST")]
    pub ends_at_local: String,
    pub capacity: i64,
    pub seats_taken: i64,
    pub group_id: Option<Uuid>,
    /// The group's name, for a group session.
    #[schema(example = "Tuesday grief circle")]
    pub group_name: Option<String>,
    pub series_id: Option<Uuid>,
    pub recurrence_id: Option<String>,
    pub virtual_link: Option<String>,
    pub location: Option<String>,
    pub address: Option<String>,
    pub therapists: Vec<AssignmentView>,
    /// Every seat for staff; only the caller's own for a client.
    pub seats: Vec<SeatView>,
    /// Who booked or proposed the session (none for generated sessions).
    pub created_by: Option<Uuid>,
    pub created_by_name: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Record times on the session's clock, like its start.
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub created_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Timestamp>,
    pub cancelled_at_local: Option<String>,
    pub cancel_reason: Option<String>,
    /// `PENDING` while a member's proposal waits for a moderator, then
    /// `APPROVED` or `REJECTED`.
    #[schema(example = "PENDING")]
    pub approval: Option<String>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            id: s.id.0,
            status: s.status.wire().into(),
            kind: s.kind.as_str().into(),
            modality: s.modality.as_str().into(),
            title: s.title,
            description: s.description,
            starts_at_local: local_time(s.starts_at, &s.timezone),
            ends_at_local: local_time(s.ends_at, &s.timezone),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            therapists: s.therapists.into_iter().map(|a| AssignmentView::new(a, &s.timezone)).collect(),
            created_at_local: local_time(s.created_at, &s.timezone),
            cancelled_at_local: s.cancelled_at.map(|t| local_time(t, &s.timezone)),
            timezone: s.timezone,
            capacity: s.capacity,
            seats_taken: s.seats_taken,
            group_id: s.group_id.map(|g| g.0),
            group_name: s.group_name,
            series_id: s.series_id.map(|g| g.0),
            recurrence_id: s.recurrence_id,
            virtual_link: s.virtual_link,
            location: s.location,
            address: s.address,
            seats: s.seats.into_iter().map(Into::into).collect(),
            created_by: s.created_by.map(|p| p.0),
            created_by_name: s.created_by_name,
            created_at: s.created_at,
            cancelled_at: s.cancelled_at,
            cancel_reason: s.cancel_reason,
            approval: s.approval.map(|a| a.to_ascii_uppercase()),
        }
    }
}

/// Rules between fields, which the schema cannot state: `starts_at` is in
/// the future. A one-on-one session has exactly one therapist, one client
/// and one seat, belongs to no group and needs its `duration_minutes`. A group or instant session names
/// its `group_id`, invites at least one of the group's facilitators, lists
/// no `client_ids` (members take seats by joining) and has a capacity of 2
/// to 50; an instant session starts now, so it leaves `starts_at` out. A
/// VIRTUAL session needs `virtual_link`. Every id is listed once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    #[schema(format = "text-line", max_length = 200)]
    pub title: Option<String>,
    #[schema(format = "free-text", max_length = 5000)]
    pub description: Option<String>,
    /// `one_on_one` (the default).
    pub kind: Option<String>,
    /// `VIRTUAL` (needs `virtual_link`) or `IN_PERSON` (the default).
    pub modality: Option<String>,
    /// RFC 3339 with offset, e.g. `2027-03-01T14:00:00-05:00`: required
    /// unless the session is instant (left out: it starts now).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// 15–240 for one-on-one sessions, 15–180 for group sessions (an
    /// instant one lasts 60 by default).
    #[schema(minimum = 15, maximum = 240)]
    pub duration_minutes: Option<i64>,
    pub capacity: Option<i64>,
    pub group_id: Option<Uuid>,
    #[serde(default)]
    pub therapist_ids: Vec<Uuid>,
    #[serde(default)]
    pub client_ids: Vec<Uuid>,
    #[schema(format = "http-url", max_length = 2000)]
    pub virtual_link: Option<String>,
    #[schema(format = "text-line", max_length = 200)]
    pub location: Option<String>,
    #[schema(format = "text-line", max_length = 500)]
    pub address: Option<String>,
    /// IANA zone the session is shown in; the organisation's by default.
    #[schema(format = "time-zone")]
    pub timezone: Option<String>,
}

/// One-on-one appointments last between these bounds (a domain rule).
pub use circles_domain::session::ONE_ON_ONE_MINUTES;

pub fn parse_timezone(v: &mut Validator, raw: Option<&str>, org_zone: &str) -> Option<String> {
    v.check("timezone", TimeZoneName::parse(raw.unwrap_or(org_zone))).map(|z| z.as_str().to_owned())
}

pub fn parse_start(v: &mut Validator, field: &str, raw: &str, now: Timestamp) -> Option<Timestamp> {
    match instant(raw) {
        Ok(start) if start <= now => {
            v.reject(field, "must be in the future");
            None
        }
        parsed => v.check(field, parsed),
    }
}

fn parse_duration(v: &mut Validator, minutes: i64, bounds: std::ops::RangeInclusive<i64>) -> Option<SignedDuration> {
    if bounds.contains(&minutes) {
        Some(SignedDuration::from_mins(minutes))
    } else {
        v.reject("duration_minutes", format!("must be between {} and {} minutes", bounds.start(), bounds.end()));
        None
    }
}

/// Ids that must be distinct, as typed person ids.
pub fn distinct_people(v: &mut Validator, field: &str, ids: &[Uuid]) -> Vec<PersonId> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if !seen.insert(*id) {
            v.reject(field, format!("{id} is listed twice"));
        }
    }
    ids.iter().map(|&id| PersonId(id)).collect()
}

fn parse_one_on_one(body: &CreateSessionRequest, org_zone: &str, now: Timestamp) -> Result<NewSession, ApiError> {
    let mut v = Validator::default();
    let details = SessionDetails::parse(
        &mut v,
        &DetailsInput {
            title: body.title.as_deref(),
            description: body.description.as_deref(),
            modality: body.modality.as_deref(),
            virtual_link: body.virtual_link.as_deref(),
            location: body.location.as_deref(),
            address: body.address.as_deref(),
        },
        "One-on-one session",
        false,
    );
    let start = parse_start(&mut v, "starts_at", &body.starts_at, now);
    let duration = match body.duration_minutes {
        Some(minutes) => parse_duration(&mut v, minutes, ONE_ON_ONE_MINUTES),
        None => {
            v.reject("duration_minutes", "is required");
            None
        }
    };
    if body.capacity.is_some_and(|c| c != 1) {
        v.reject("capacity", "a one-on-one session has exactly one seat");
    }
    if body.group_id.is_some() {
        v.reject("group_id", "a one-on-one session belongs to no group");
    }
    if body.therapist_ids.len() != 1 {
        v.reject("therapist_ids", "a one-on-one session has exactly one therapist");
    }
    if body.client_ids.len() != 1 {
        v.reject("client_ids", "a one-on-one session has exactly one client");
    }
    let therapists = distinct_people(&mut v, "therapist_ids", &body.therapist_ids);
    let clients = distinct_people(&mut v, "client_ids", &body.client_ids);
    let timezone = parse_timezone(&mut v, body.timezone.as_deref(), org_zone);
    Ok(v.done(|| {
        Some(NewSession {
            kind: SessionKind::OneOnOne,
            details: details?,
            interval: Interval::starting_at(start?, duration?)?,
            timezone: timezone?,
            capacity: 1,
            group_id: None,
            therapist_ids: therapists,
            client_ids: clients,
            therapists_must_accept: false,
            approval: Approval::NotNeeded,
        })
    })?)
}

/// Books a one-on-one session (`kind` one_on_one, the default), proposes a
/// group session (`group`, with invited `therapist_ids` who must all accept)
/// or starts a drop-in one now (`instant`). A clash with anyone's busy time
/// is 409 listing the clashes and `retry_hints`.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions", tag = "sessions", request_body = CreateSessionRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "scheduling_conflict with `conflicts` and `retry_hints`"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_session(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CreateSessionRequest>,
) -> ApiResult<(StatusCode, axum::Json<SessionView>)> {
    let kind = body
        .kind
        .as_deref()
        .unwrap_or("one_on_one")
        .parse::<SessionKind>()
        .map_err(|reason| ApiError::field("kind", reason))?;
    let session = match kind {
        SessionKind::OneOnOne => {
            let input = parse_one_on_one(&body, &member.org.timezone, state.clock.now())?;
            member.authorize(Action::BookOneOnOne {
                as_therapist: input.therapist_ids == [member.person_id],
                as_client: input.client_ids == [member.person_id],
            })?;
            state.store.create_session(&member.ctx, member.org_id(), input).await?
        }
        SessionKind::Group | SessionKind::Instant => {
            super::group_sessions::create(&state, &member, &body, kind).await?
        }
    };
    Ok((StatusCode::CREATED, axum::Json(session.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// proposed, scheduled, in_progress, completed or cancelled (as the clock has it).
    pub status: Option<String>,
    /// Sessions ending after this instant (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Sessions starting before this instant (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    pub group_id: Option<Uuid>,
    /// Only sessions this person booked or proposed.
    pub created_by: Option<Uuid>,
    /// At most this many (default 200, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// Sessions of the organisation (staff) or the caller's own (therapists and
/// clients), sorted by start.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions", tag = "sessions",
    params(("org_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = Page<SessionView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<SessionQuery>,
) -> ApiResult<axum::Json<Page<SessionView>>> {
    let status = query_parsed::<SessionStatus>("status", query.status.as_deref())?;
    let limit = page_limit(query.limit, 200, 1000)?;
    let sees_all = member.authorize(Action::ListAllSessions).is_ok();
    let filter = SessionFilter {
        status,
        from: query_instant("from", query.from.as_deref())?,
        to: query_instant("to", query.to.as_deref())?,
        group_id: query.group_id.map(GroupId),
        created_by: query.created_by.map(PersonId),
        visible_to: (!sees_all).then_some(member.person_id),
        after: parse_session_cursor(query.cursor.as_deref())?,
        // One more than the page, to know whether another follows.
        limit: limit + 1,
    };
    let sessions = state.store.list_sessions(member.org_id(), filter).await?;
    Ok(axum::Json(page_of(sessions, limit, |s| session_cursor(s.starts_at, s.id))))
}

/// Who is on the session, after checking the member may see it at all: its
/// participants, its group's staff, and its group's members once it is no
/// longer a mere proposal.
pub async fn people_on(state: &AppState, member: &Member, id: SessionId) -> ApiResult<SessionPeople> {
    let (people, relation) = super::group_sessions::standing(state, member, id).await?;
    let in_group =
        relation.moderator || relation.facilitator || (relation.member && people.status != SessionStatus::Proposed);
    member.authorize(Action::ViewSession { participant: people.includes(member.person_id) || in_group })?;
    Ok(people)
}

/// Staff see every seat; a client sees only their own.
pub fn view_for(member: &Member) -> StoreView {
    if member.role == Role::Client { StoreView::Client(member.person_id) } else { StoreView::Staff }
}

/// One session with its therapists and seats (as the caller may see them).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/sessions/{session_id}", tag = "sessions",
    params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_session(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<SessionView>> {
    let id = SessionId(session_id);
    people_on(&state, &member, id).await?;
    let session = state.store.session(&member.ctx, member.org_id(), id, view_for(&member)).await?;
    Ok(axum::Json(session.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schema(min_length = 1, format = "free-text-not-blank", max_length = 1000)]
    pub reason: String,
}

/// Cancels a session: every seat is cancelled and everyone's time is free
/// at once. A one-on-one's client may cancel their own appointment.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/sessions/{session_id}/cancel", tag = "sessions",
    request_body = CancelRequest, params(("org_id" = Uuid, Path), ("session_id" = Uuid, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "illegal_transition"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel_session(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, session_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<CancelRequest>,
) -> ApiResult<axum::Json<SessionView>> {
    let reason = free_text(body.reason.trim(), 1_000).map_err(|r| ApiError::field("reason", r))?;
    if reason.is_empty() {
        return Err(ApiError::field("reason", "is required"));
    }
    let id = SessionId(session_id);
    let (people, relation) = super::group_sessions::standing(&state, &member, id).await?;
    let in_group =
        relation.moderator || relation.facilitator || (relation.member && people.status != SessionStatus::Proposed);
    member.authorize(Action::ViewSession { participant: people.includes(member.person_id) || in_group })?;
    // A whole group session is the group's: its moderators, an admin or its
    // creator cancel it; a facilitator withdraws instead.
    member.authorize(match people.group_id {
        Some(_) => Action::CancelGroupSession { relation, is_creator: people.created_by == Some(member.person_id) },
        None => Action::CancelSession {
            is_therapist: people.therapists.iter().any(|(t, _)| *t == member.person_id),
            is_own_appointment: people.kind == SessionKind::OneOnOne && people.clients.contains(&member.person_id),
        },
    })?;
    // A member who ends the group session they started cancels it for
    // everyone: the other members' seats are not their own cancellations.
    let by = if member.role == Role::Client && people.group_id.is_none() {
        Canceller::Client(member.person_id)
    } else {
        Canceller::Provider
    };
    let mut cancelled = state.store.cancel_session(&member.ctx, member.org_id(), id, reason, by).await?;
    if let StoreView::Client(me) = view_for(&member) {
        cancelled.seats.retain(|seat| seat.client_id == me);
    }
    Ok(axum::Json(cancelled.into()))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_session, list_sessions))
        .routes(utoipa_axum::routes!(get_session))
        .routes(utoipa_axum::routes!(cancel_session))
}
