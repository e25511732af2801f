//! The unified schedule: one-on-one and group sessions in one sorted list.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::ids::{PersonId, SessionId};
use circles_store::model::{Keyset, ScheduleEntry, ScheduleWindow};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, PageQuery, page_of, session_cursor};
use super::query::{bad_query, query_instant};
use super::views::Problem;
use crate::auth::{Caller, Member};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Query;
use crate::state::AppState;
use circles_domain::local_time::local_time;

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleEntryView {
    pub session_id: Uuid,
    pub org_id: Uuid,
    pub person_id: Uuid,
    /// Whose schedule it is.
    #[schema(example = "Dana Reyes")]
    pub person_name: String,
    #[schema(example = "group")]
    pub kind: String,
    /// `CANCELLED` entries stay on the schedule (hide them with
    /// `include_cancelled=false`).
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
    #[schema(example = "Thu 10 Dec, 19:30 EST")]
    pub ends_at_local: String,
    #[schema(example = "VIRTUAL")]
    pub modality: String,
    /// Where to go: the room for an in-person session, the link for a virtual one.
    pub location: Option<String>,
    pub address: Option<String>,
    pub virtual_link: Option<String>,
    pub group_id: Option<Uuid>,
    #[schema(example = "Grief support")]
    pub group_name: Option<String>,
    /// In a one-on-one, the other person's name: the client for the
    /// therapist, the therapist for the client.
    #[schema(example = "Dana Reyes")]
    pub with_name: Option<String>,
    /// The therapists who accepted the session, by name.
    pub therapists: Vec<ScheduledTherapistView>,
    /// `therapist` or `client`.
    pub role: String,
    /// The person's own invitation or seat status.
    pub participation: String,
    pub seats_taken: i64,
    pub capacity: i64,
}

/// A therapist on a scheduled session.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduledTherapistView {
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: String,
}

impl From<ScheduleEntry> for ScheduleEntryView {
    fn from(e: ScheduleEntry) -> Self {
        Self {
            session_id: e.session_id.0,
            org_id: e.org_id.0,
            person_id: e.person_id.0,
            person_name: e.person_name,
            kind: e.kind.as_str().into(),
            status: e.status.wire().into(),
            title: e.title,
            starts_at_local: local_time(e.starts_at, &e.timezone),
            ends_at_local: local_time(e.ends_at, &e.timezone),
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            timezone: e.timezone,
            modality: e.modality.as_str().into(),
            location: e.location,
            address: e.address,
            virtual_link: e.virtual_link,
            group_id: e.group_id.map(|g| g.0),
            group_name: e.group_name,
            with_name: e.with_name,
            therapists: e
                .therapists
                .into_iter()
                .map(|(id, name)| ScheduledTherapistView { therapist_id: id.0, therapist_name: name })
                .collect(),
            role: e.role,
            participation: e.participation,
            seats_taken: e.seats_taken,
            capacity: e.capacity,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScheduleQuery {
    /// Start of the window (RFC 3339); now by default.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// End of the window (RFC 3339), after `from`; 30 days after `from` by
    /// default, at most 93.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Whose schedule (staff only); the caller's by default.
    pub person_id: Option<Uuid>,
    /// Whether cancelled sessions are listed (default true).
    pub include_cancelled: Option<bool>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before: the start and session id of
    /// its last entry.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Start of the window (RFC 3339); now by default.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// End of the window (RFC 3339), after `from`; 30 days after `from` by
    /// default, at most 93.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Whether cancelled sessions are listed (default true).
    pub include_cancelled: Option<bool>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before: the start and session id of
    /// its last entry.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

const DEFAULT_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 30);
const MAX_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 93);

fn window(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    cancelled: Option<bool>,
) -> ApiResult<ScheduleWindow> {
    let from = query_instant("from", from)?.unwrap_or_else(|| state.clock.now());
    let to = query_instant("to", to)?.unwrap_or(from + DEFAULT_WINDOW);
    if to <= from {
        return Err(bad_query("to", "must be after from"));
    }
    if to.duration_since(from) > MAX_WINDOW {
        return Err(bad_query("to", "may be at most 93 days after from"));
    }
    Ok(ScheduleWindow { from, to, include_cancelled: cancelled.unwrap_or(true) })
}

/// The page's limit and where it starts, read like every list's.
fn page(limit: Option<i64>, cursor: Option<String>) -> ApiResult<(i64, Keyset<(Timestamp, SessionId)>)> {
    PageQuery { limit, cursor }.keyset::<SessionId>()
}

/// A page of entries: sorted by start, then session id.
fn page_of_entries(entries: Vec<ScheduleEntry>, limit: i64) -> Page<ScheduleEntryView> {
    page_of(entries, limit, |e| session_cursor(e.starts_at, e.session_id))
}

/// One person's sessions in the organisation — one-on-one and group,
/// as therapist or client — sorted by start, then session id.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/schedule", tag = "schedule",
    params(("org_id" = Uuid, Path), ScheduleQuery),
    responses((status = 200, body = Page<ScheduleEntryView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn org_schedule(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<ScheduleQuery>,
) -> ApiResult<axum::Json<Page<ScheduleEntryView>>> {
    let (limit, page) = page(query.limit, query.cursor)?;
    let person = query.person_id.map_or(member.person_id, PersonId);
    member.authorize(Action::ViewSchedule { is_self: person == member.person_id })?;
    if person != member.person_id && state.store.person_role(member.org_id(), person).await?.is_none() {
        return Err(ApiError::not_found("person"));
    }
    let window = window(&state, query.from.as_deref(), query.to.as_deref(), query.include_cancelled)?;
    let entries = state.store.schedule_page(member.org_id(), person, window, page).await?;
    Ok(axum::Json(page_of_entries(entries, limit)))
}

/// The caller's sessions across every organisation they belong to, sorted
/// by start, then session id.
#[utoipa::path(get, path = "/api/v1/me/schedule", tag = "schedule", params(WindowQuery),
    responses((status = 200, body = Page<ScheduleEntryView>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn my_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<WindowQuery>,
) -> ApiResult<axum::Json<Page<ScheduleEntryView>>> {
    let (limit, page) = page(query.limit, query.cursor)?;
    let window = window(&state, query.from.as_deref(), query.to.as_deref(), query.include_cancelled)?;
    let entries = state.store.account_schedule_page(caller.principal.account_id, window, page).await?;
    Ok(axum::Json(page_of_entries(entries, limit)))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(org_schedule))
        .routes(utoipa_axum::routes!(my_schedule))
}
