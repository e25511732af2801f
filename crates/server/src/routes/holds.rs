//! Holds: reserve a therapist and a client for one slot or a whole series,
//! then confirm into sessions or release.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::authz::Action;
use circles_domain::ids::{HoldId, PersonId};
use circles_domain::input::instant;
use circles_domain::interval::{Interval, MAX_BUSY_SPAN};
use circles_domain::local_time::local_time;
use circles_domain::recurrence::{Recurrence, RecurrenceInput};
use circles_domain::session::{DetailsInput, SessionDetails};
use circles_domain::validation::Validator;
use circles_store::model::{Hold, Labels, Mentions, NewHold};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sessions::{SessionView, parse_timezone};
use super::views::{Items, Problem};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path};
use crate::state::AppState;

/// How long a hold lasts unless asked otherwise, and at most.
pub const DEFAULT_HOLD_SECONDS: i64 = 300;
pub const MAX_HOLD_SECONDS: i64 = 3600;
/// A series holds at most this many occurrences at once.
pub const MAX_OCCURRENCES: usize = 104;

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct SlotBody {
    #[schema(format = DateTime, example = "2027-03-01T14:00:00-05:00")]
    pub starts_at: String,
    #[schema(format = DateTime, example = "2027-03-01T14:50:00-05:00")]
    pub ends_at: String,
}

/// Rules between fields, which the schema cannot state: every slot starts
/// in the future and ends after it starts, at most 24 hours later; send
/// either occurrences or recurrence, not both; slots do not overlap one
/// another; `client_id` differs from `therapist_id`. A VIRTUAL hold needs
/// `virtual_link`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHoldRequest {
    pub therapist_id: Uuid,
    pub client_id: Uuid,
    /// The (first) slot.
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// Every slot of a series; when given, it replaces `starts_at`/`ends_at`
    /// as the list of slots (which should include the first one).
    #[schema(min_items = 1, max_items = 104)]
    pub occurrences: Option<Vec<SlotBody>>,
    /// A recurring series instead of a list: an RRULE such as
    /// `FREQ=WEEKLY;COUNT=12` repeating the first slot's local time in
    /// `timezone` (DST-correct).
    pub recurrence: Option<HoldRecurrence>,
    /// Seconds until the hold lapses: 30 to 3600, 300 by default.
    #[schema(minimum = 30, maximum = 3600)]
    pub hold_seconds: Option<i64>,
    #[schema(format = "text-line", max_length = 200)]
    pub title: Option<String>,
    #[schema(format = "free-text", max_length = 5000)]
    pub description: Option<String>,
    pub modality: Option<String>,
    #[schema(format = "http-url", max_length = 2000)]
    pub virtual_link: Option<String>,
    #[schema(format = "text-line", max_length = 200)]
    pub location: Option<String>,
    #[schema(format = "text-line", max_length = 500)]
    pub address: Option<String>,
    #[schema(format = "time-zone")]
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRecurrence {
    #[schema(min_length = 1, example = "FREQ=WEEKLY;COUNT=12", format = "rrule")]
    pub rrule: String,
    /// Last local date (inclusive), as an alternative to COUNT/UNTIL.
    #[schema(format = Date)]
    pub end_date: Option<String>,
}

/// One held slot, on the organisation's clock beside UTC.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    #[schema(example = "Thu 10 Dec, 18:00 EST")]
    pub starts_at_local: String,
    #[schema(example = "Thu 10 Dec, 19:00 EST")]
    pub ends_at_local: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub hold_id: Uuid,
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: Option<String>,
    /// A hold reaches only its two parties and the organisation's staff.
    pub client_id: Uuid,
    #[schema(example = "Sam Okafor")]
    pub client_name: Option<String>,
    /// live, confirmed, released or expired (as the clock has it).
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// On the organisation's clock.
    #[schema(example = "Thu 10 Dec, 17:05 EST")]
    pub expires_at_local: String,
    pub occurrences: Vec<SlotView>,
}

impl HoldView {
    /// `h` with its two parties named from `labels`, its times read in `zone`.
    fn new(h: Hold, labels: &Labels, zone: &str) -> Self {
        let slot = |s: Interval| SlotView {
            starts_at: s.start,
            ends_at: s.end,
            starts_at_local: local_time(s.start, zone),
            ends_at_local: local_time(s.end, zone),
        };
        Self {
            hold_id: h.id.0,
            therapist_id: h.therapist_id.0,
            therapist_name: labels.person(h.therapist_id),
            client_id: h.client_id.0,
            client_name: labels.person(h.client_id),
            status: h.status.wire().into(),
            expires_at: h.expires_at,
            expires_at_local: local_time(h.expires_at, zone),
            occurrences: h.slots.into_iter().map(slot).collect(),
        }
    }

    /// `h` as `member` reads it: its parties named in one read.
    async fn read(state: &AppState, member: &Member, h: Hold) -> ApiResult<Self> {
        let mut mentions = Mentions::default();
        mentions.person(h.therapist_id).person(h.client_id);
        let labels = state.store.labels(member.org_id(), mentions).await?;
        Ok(Self::new(h, &labels, &member.org.timezone))
    }
}

fn parse_slot(v: &mut Validator, field: &str, starts_at: &str, ends_at: &str, now: Timestamp) -> Option<Interval> {
    let start = v.check(&format!("{field}starts_at"), instant(starts_at));
    let end = v.check(&format!("{field}ends_at"), instant(ends_at));
    let (start, end) = (start?, end?);
    if start <= now {
        v.reject(&format!("{field}starts_at"), "must be in the future");
        return None;
    }
    match Interval::new(start, end) {
        Some(slot) if slot.length() <= MAX_BUSY_SPAN => Some(slot),
        Some(_) => {
            v.reject(&format!("{field}ends_at"), "a slot lasts at most 24 hours");
            None
        }
        None => {
            v.reject(&format!("{field}ends_at"), "must be after starts_at");
            None
        }
    }
}

/// The slots of a recurring hold: the first slot's local time repeated by
/// the rule, in the hold's zone.
fn expand(v: &mut Validator, first: Interval, zone: &str, rule: &HoldRecurrence) -> Option<Vec<Interval>> {
    let local = first.start.to_zoned(jiff::tz::TimeZone::get(zone).ok()?);
    let input = RecurrenceInput {
        rrule: rule.rrule.clone(),
        start_date: local.date().to_string(),
        start_time: local.time().strftime("%H:%M:%S").to_string(),
        timezone: zone.to_owned(),
        duration_minutes: first.length().as_mins(),
        end_date: rule.end_date.clone(),
        exdates: Vec::new(),
    };
    let recurrence = match Recurrence::parse(&input) {
        Ok(r) => r,
        Err(invalid) => {
            v.absorb("recurrence", invalid);
            return None;
        }
    };
    let occurrences = recurrence.first(MAX_OCCURRENCES + 1);
    if occurrences.len() > MAX_OCCURRENCES {
        v.reject(
            "recurrence.rrule",
            format!("a hold covers at most {MAX_OCCURRENCES} occurrences; add COUNT or UNTIL"),
        );
        return None;
    }
    Some(occurrences.iter().filter_map(|o| Interval::new(o.starts_at, o.ends_at)).collect())
}

pub(crate) fn parse_hold(body: &CreateHoldRequest, org_zone: &str, now: Timestamp) -> Result<NewHold, ApiError> {
    let mut v = Validator::default();
    let first = parse_slot(&mut v, "", &body.starts_at, &body.ends_at, now);
    let timezone = parse_timezone(&mut v, body.timezone.as_deref(), org_zone);
    if body.occurrences.is_some() && body.recurrence.is_some() {
        v.reject("recurrence", "send either occurrences or recurrence, not both");
    }
    let slots = match (&body.occurrences, &body.recurrence) {
        (None, Some(rule)) => match (first, &timezone) {
            (Some(first), Some(zone)) => expand(&mut v, first, zone, rule),
            _ => None,
        },
        (None, None) => first.map(|s| vec![s]),
        (Some(list), _) if list.is_empty() || list.len() > MAX_OCCURRENCES => {
            v.reject("occurrences", format!("must list between 1 and {MAX_OCCURRENCES} slots"));
            None
        }
        (Some(list), _) => {
            let parsed: Vec<Option<Interval>> = list
                .iter()
                .enumerate()
                .map(|(i, s)| parse_slot(&mut v, &format!("occurrences[{i}]."), &s.starts_at, &s.ends_at, now))
                .collect();
            let mut slots: Option<Vec<Interval>> = parsed.into_iter().collect();
            if let Some(slots) = &mut slots {
                slots.sort();
                if slots.windows(2).any(|pair| pair[0].overlaps(&pair[1])) {
                    v.reject("occurrences", "slots must not overlap one another");
                }
            }
            slots
        }
    };
    let seconds = body.hold_seconds.unwrap_or(DEFAULT_HOLD_SECONDS);
    if !(30..=MAX_HOLD_SECONDS).contains(&seconds) {
        v.reject("hold_seconds", format!("must be between 30 and {MAX_HOLD_SECONDS}"));
    }
    if body.therapist_id == body.client_id {
        v.reject("client_id", "must differ from therapist_id");
    }
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
    Ok(v.done(|| {
        Some(NewHold {
            therapist_id: PersonId(body.therapist_id),
            client_id: PersonId(body.client_id),
            slots: slots?,
            expires_at: now + SignedDuration::from_secs(seconds),
            details: details?,
            timezone: timezone?,
        })
    })?)
}

/// Reserves a therapist and a client for one slot or a whole series — all
/// of it or none — until the hold is confirmed, released or lapses.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/holds", tag = "holds", request_body = CreateHoldRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = HoldView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "scheduling_conflict with `conflicts` and `retry_hints`"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_hold(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CreateHoldRequest>,
) -> ApiResult<(StatusCode, axum::Json<HoldView>)> {
    let input = parse_hold(&body, &member.org.timezone, state.clock.now())?;
    member.authorize(Action::BookOneOnOne {
        as_therapist: input.therapist_id == member.person_id,
        as_client: input.client_id == member.person_id,
    })?;
    let hold = state.store.create_hold(&member.ctx, member.org_id(), input).await?;
    Ok((StatusCode::CREATED, axum::Json(HoldView::read(&state, &member, hold).await?)))
}

pub(crate) async fn hold_for(state: &AppState, member: &Member, id: Uuid) -> ApiResult<Hold> {
    let hold = state.store.hold(member.org_id(), HoldId(id)).await?;
    let is_party = hold.therapist_id == member.person_id || hold.client_id == member.person_id;
    member.authorize(Action::ManageHold { is_party })?;
    Ok(hold)
}

/// One hold.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/holds/{hold_id}", tag = "holds",
    params(("org_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 200, body = HoldView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_hold(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, hold_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<HoldView>> {
    let hold = hold_for(&state, &member, hold_id).await?;
    Ok(axum::Json(HoldView::read(&state, &member, hold).await?))
}

/// Turns a live hold into its session(s), atomically. An expired, released
/// or already confirmed hold is 409.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/holds/{hold_id}/confirm", tag = "holds",
    params(("org_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 201, body = Items<SessionView>), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "hold_expired, hold_released or hold_confirmed")),
    security(("bearer" = [])))]
pub async fn confirm_hold(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, hold_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<(StatusCode, axum::Json<Items<SessionView>>)> {
    let hold = hold_for(&state, &member, hold_id).await?;
    let sessions = state.store.confirm_hold(&member.ctx, member.org_id(), hold.id).await?;
    Ok((StatusCode::CREATED, axum::Json(Items::of(sessions))))
}

/// Releases a hold, giving its time back (idempotent).
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/holds/{hold_id}", tag = "holds",
    params(("org_id" = Uuid, Path), ("hold_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "hold_confirmed")),
    security(("bearer" = [])))]
pub async fn release_hold(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, hold_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let hold = hold_for(&state, &member, hold_id).await?;
    state.store.release_hold(&member.ctx, member.org_id(), hold.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_hold))
        .routes(utoipa_axum::routes!(get_hold, release_hold))
        .routes(utoipa_axum::routes!(confirm_hold))
}
