//! Working hours: a therapist's week, free start times for many therapists
//! at once, and who is free at a given instant.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::availability::{RuleInput, WeeklyAvailability};
use circles_domain::civil::weekday_name;
use circles_domain::ids::PersonId;
use circles_domain::input::instant;
use circles_domain::interval::Interval;
use circles_domain::local_time::local_time;
use circles_domain::session::Modality;
use circles_domain::validation::Validator;
use circles_domain::{Invalid, Role};
use circles_store::model::{Labels, TherapistWeek};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use super::availability_search::SearchQuery;
use super::availability_search::{SearchView, parse_search, respond};
use super::labels::labels_of;
use super::query::{bad_query, page_limit};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

pub(super) const DEFAULT_DURATION: i64 = 60;
pub(super) const DURATION_MINUTES: std::ops::RangeInclusive<i64> = 5..=720;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// `monday` … `sunday`.
    #[schema(example = "monday")]
    pub weekday: String,
    /// Local wall-clock time, `HH:MM`.
    #[schema(min_length = 1, example = "09:00", format = "clock-hh-mm")]
    pub start_time: String,
    /// Local wall-clock time, `HH:MM` (`24:00` for midnight); after `start_time`.
    #[schema(example = "17:00", format = "clock-hh-mm-or-24")]
    pub end_time: String,
    /// `VIRTUAL` or `IN_PERSON`; `null` offers both.
    #[schema(example = "IN_PERSON")]
    pub modality: Option<String>,
    #[schema(format = "text-line", max_length = 200)]
    pub location: Option<String>,
    /// At most this many sessions start in the window on one day.
    #[schema(minimum = 1, maximum = 100)]
    pub max_sessions: Option<i64>,
    /// First and last date (inclusive, `YYYY-MM-DD`) the rule applies.
    #[schema(format = Date)]
    pub effective_from: Option<String>,
    #[schema(format = Date)]
    pub effective_to: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekBody {
    /// IANA zone the times are in; the organisation's by default.
    #[schema(example = "America/New_York", format = "time-zone")]
    pub timezone: Option<String>,
    /// The whole week; rules on the same day must not overlap. An empty list
    /// clears the week: a therapist without rules may be booked at any time.
    pub rules: Vec<RuleBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeekView {
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: Option<String>,
    pub timezone: String,
    /// No rules: available at any time.
    pub rules: Vec<RuleBody>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    /// On the week's own clock.
    pub updated_at_local: Option<String>,
}

impl WeekView {
    /// `w`, its therapist named from `labels`.
    fn new(w: TherapistWeek, labels: &Labels) -> Self {
        let rules = w
            .week
            .rules()
            .iter()
            .map(|r| RuleBody {
                weekday: weekday_name(r.weekday).into(),
                start_time: r.start.hhmm(),
                end_time: r.end.hhmm(),
                modality: r.modality.map(|m| m.as_str().into()),
                location: r.location.clone(),
                max_sessions: r.max_sessions.map(i64::from),
                effective_from: r.effective_from.map(|d| d.to_string()),
                effective_to: r.effective_to.map(|d| d.to_string()),
            })
            .collect();
        let zone = w.week.timezone().to_string();
        Self {
            therapist_id: w.therapist_id.0,
            therapist_name: labels.person(w.therapist_id),
            updated_at_local: w.updated_at.map(|t| local_time(t, &zone)),
            timezone: zone,
            rules,
            updated_at: w.updated_at,
        }
    }
}

/// 404 unless `id` is a therapist of the caller's organisation — checked
/// before anything else, so another organisation's therapist is never 403.
async fn therapist(state: &AppState, member: &Member, id: Uuid) -> ApiResult<PersonId> {
    match state.store.person_role(member.org_id(), PersonId(id)).await? {
        Some(Role::Therapist) => Ok(PersonId(id)),
        _ => Err(ApiError::not_found("therapist")),
    }
}

fn parse_week(body: &WeekBody, org_zone: &str) -> Result<WeeklyAvailability, Invalid> {
    let rules: Vec<RuleInput<'_>> = body
        .rules
        .iter()
        .map(|r| RuleInput {
            weekday: &r.weekday,
            start_time: &r.start_time,
            end_time: &r.end_time,
            modality: r.modality.as_deref(),
            location: r.location.as_deref(),
            max_sessions: r.max_sessions,
            effective_from: r.effective_from.as_deref(),
            effective_to: r.effective_to.as_deref(),
        })
        .collect();
    WeeklyAvailability::parse(body.timezone.as_deref().unwrap_or(org_zone), &rules)
}

/// Replaces a therapist's whole week of working hours at once. Overlapping
/// rules are refused naming them (`rules[2]`). Admins and moderators set
/// anyone's; a therapist sets their own.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/therapists/{therapist_id}/availability", tag = "availability",
    request_body = WeekBody, params(("org_id" = Uuid, Path), ("therapist_id" = Uuid, Path)),
    responses((status = 200, body = WeekView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_availability(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, therapist_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<WeekBody>,
) -> ApiResult<axum::Json<WeekView>> {
    let therapist = therapist(&state, &member, therapist_id).await?;
    let week = parse_week(&body, &member.org.timezone)?;
    member.authorize(Action::ManageAvailability { is_self: therapist == member.person_id })?;
    let stored = state.store.set_availability(&member.ctx, member.org_id(), therapist, week).await?;
    let labels = labels_of(&state, member.org_id(), &[therapist], |m, t| _ = m.person(*t)).await?;
    Ok(axum::Json(WeekView::new(stored, &labels)))
}

/// A therapist's week of working hours.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/therapists/{therapist_id}/availability", tag = "availability",
    params(("org_id" = Uuid, Path), ("therapist_id" = Uuid, Path)),
    responses((status = 200, body = WeekView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_availability(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, therapist_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<WeekView>> {
    let therapist = therapist(&state, &member, therapist_id).await?;
    member.authorize(Action::ViewAvailability)?;
    let week = state.store.availability(member.org_id(), therapist).await?;
    let labels = labels_of(&state, member.org_id(), &[therapist], |m, t| _ = m.person(*t)).await?;
    Ok(axum::Json(WeekView::new(week, &labels)))
}

/// Query parameters are 400 `invalid_query`, naming every refused one.
pub(super) fn query_problem(invalid: Invalid) -> ApiError {
    let mut error = ApiError::bad_request("invalid_query", invalid.to_string());
    error.errors = invalid.0;
    error
}

pub(super) fn minutes(
    v: &mut Validator,
    field: &str,
    raw: Option<&str>,
    default: i64,
    bounds: std::ops::RangeInclusive<i64>,
) -> Option<SignedDuration> {
    let Some(raw) = raw else { return Some(SignedDuration::from_mins(default)) };
    match raw.trim().parse::<i64>() {
        Ok(n) if bounds.contains(&n) => Some(SignedDuration::from_mins(n)),
        _ => {
            v.reject(field, format!("must be a whole number of minutes from {} to {}", bounds.start(), bounds.end()));
            None
        }
    }
}

/// Free start times (or free intervals, `format=intervals`) over up to 62
/// days: inside working hours (any time for a therapist without rules), not
/// busy with sessions or live holds, not on approved time off, and within
/// each window's `max_sessions`. The grid runs from each working window's
/// start. A search covers at most 21000 therapist-days (500 therapists over
/// 42 days; more listed in `therapist_ids` is 422 `search_too_large`, which
/// says how to narrow it); a page lists at most 250000 entries and
/// `next_cursor` leads to the rest. Without `therapist_ids`, every therapist
/// of the organisation, a page at a time.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/availability", tag = "availability",
    params(("org_id" = Uuid, Path), SearchQuery),
    responses((status = 200, body = SearchView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem,
            description = "a listed id is not a therapist of the organisation, or the search covers more than 21000 therapist-days (`search_too_large`)")),
    security(("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<SearchQuery>,
) -> ApiResult<axum::response::Response> {
    let search = parse_search(&query, &member.org.timezone, state.clock.now())?;
    member.authorize(Action::SearchAvailability)?;
    let turn = state.searches.clone().acquire_owned().await.map_err(ApiError::internal)?;
    let page = state.store.search_availability(member.org_id(), search.store.clone()).await?;
    let labels = labels_of(&state, member.org_id(), &page.therapists, |m, t| _ = m.person(*t)).await?;
    respond(search, page, labels, turn)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FreeAtQuery {
    /// The instant (RFC 3339).
    #[param(required = true, format = DateTime)]
    pub at: Option<String>,
    /// How long they must be free: 5 to 720 minutes, 60 by default.
    #[param(value_type = Option<u32>, minimum = 5, maximum = 720)]
    pub duration_minutes: Option<String>,
    /// `VIRTUAL` or `IN_PERSON`.
    #[param(pattern = "^(VIRTUAL|IN_PERSON)$")]
    pub modality: Option<String>,
    /// At most this many therapists (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before: the id of its last therapist.
    #[param(value_type = Option<Uuid>, format = Uuid)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FreeTherapistView {
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FreeAtView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// The slot on the organisation's clock.
    #[schema(example = "Thu 10 Dec, 18:00 EST")]
    pub at_local: String,
    pub ends_at_local: String,
    /// Therapists in id order.
    pub items: Vec<FreeTherapistView>,
    /// Pass as `cursor`, with the same other parameters, for the next page;
    /// absent on the last.
    #[schema(value_type = Option<Uuid>)]
    pub next_cursor: Option<Uuid>,
}

/// The therapists free for the whole of `[at, at + duration)`: in working
/// hours (offering `modality`), with room in the window, not busy, not away;
/// in id order, a page at a time.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/availability/free-at", tag = "availability",
    params(("org_id" = Uuid, Path), FreeAtQuery),
    responses((status = 200, body = FreeAtView), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn free_at(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<FreeAtQuery>,
) -> ApiResult<axum::Json<FreeAtView>> {
    let mut v = Validator::default();
    let at = match query.at.as_deref() {
        Some(raw) => v.check("at", instant(raw)),
        None => {
            v.reject("at", "is required");
            None
        }
    };
    let duration =
        minutes(&mut v, "duration_minutes", query.duration_minutes.as_deref(), DEFAULT_DURATION, DURATION_MINUTES);
    let modality = v.check_opt("modality", query.modality.as_deref().map(str::parse::<Modality>));
    let (slot, modality) =
        v.done(|| Some((Interval::starting_at(at?, duration?)?, modality?))).map_err(query_problem)?;
    let limit = page_limit(query.limit, 100, 500)? as usize;
    let after = query.cursor.as_deref().map(|c| c.parse::<PersonId>()).transpose();
    let after = after.map_err(|_| bad_query("cursor", "is not a cursor this list gave out"))?;
    member.authorize(Action::SearchAvailability)?;
    // Who is free is decided therapist by therapist as the calendars are
    // read; the page is the free ones after the cursor.
    let mut free = state.store.free_at(member.org_id(), slot, modality).await?;
    free.sort();
    free.retain(|t| after.is_none_or(|after| *t > after));
    let next_cursor = (free.len() > limit).then(|| free[limit - 1].0);
    free.truncate(limit);
    let labels = labels_of(&state, member.org_id(), &free, |m, t| _ = m.person(*t)).await?;
    let zone = &member.org.timezone;
    Ok(axum::Json(FreeAtView {
        at: slot.start,
        ends_at: slot.end,
        at_local: local_time(slot.start, zone),
        ends_at_local: local_time(slot.end, zone),
        items: free
            .into_iter()
            .map(|t| FreeTherapistView { therapist_id: t.0, therapist_name: labels.person(t) })
            .collect(),
        next_cursor,
    }))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(set_availability, get_availability))
        .routes(utoipa_axum::routes!(search))
        .routes(utoipa_axum::routes!(free_at))
}
