//! Slots: a therapist's free time as the free-slot search finds it, cut
//! into slots of the asked length laid end to end from each working
//! window's start (`free`), and the time live holds have, one slot per held
//! time at the length held (`busy-tentative`: the hold may lapse). Nothing
//! is stored; a slot's id names its therapist, start and length, and
//! reading it looks for that start again.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use circles_domain::authz::Action;
use circles_domain::fhir::params::{StartRange, reference_id};
use circles_domain::fhir::resources::{self, SLOT_STATUS_CODES, SlotId, SlotStatus};
use circles_domain::ids::PersonId;
use circles_domain::input::TimeZoneName;
use circles_domain::search::{MAX_DAYS, days_spanned, therapists_per_page};
use circles_store::model::AvailabilitySearch;
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::{Fhir, SearchQuery, base_url};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Path;
use crate::routes::query::bad_query;
use crate::state::AppState;

/// Slot lengths accepted, in minutes, and the default (the free-slot
/// search's own bounds).
pub const MINUTES: std::ops::RangeInclusive<i64> = 5..=720;
pub const DEFAULT_MINUTES: i64 = 60;
/// The grid step never exceeds what the free-slot search accepts.
const MAX_STEP_MINUTES: i64 = 240;
/// Searched when no end is given.
const DEFAULT_DAYS: i64 = 7;

/// The free slots of `therapists` (every therapist when `None`) starting in
/// `[from, to)`, `minutes` long, earliest first. A refused therapist is
/// named as the caller's `field` (the search calls them `therapist_ids`).
pub async fn free_slots(
    state: &AppState,
    member: &Member,
    (field, therapists): (&str, Option<Vec<PersonId>>),
    from: Timestamp,
    to: Timestamp,
    minutes: i64,
) -> ApiResult<Vec<SlotId>> {
    member.authorize(Action::SearchAvailability)?;
    let zone = TimeZoneName::parse(&member.org.timezone).map_err(ApiError::internal)?;
    let search = AvailabilitySearch {
        therapists,
        from,
        to,
        duration: SignedDuration::from_mins(minutes),
        step: SignedDuration::from_mins(minutes.min(MAX_STEP_MINUTES)),
        modality: None,
        zone,
        cursor: None,
        page_size: therapists_per_page(days_spanned(from, to)),
    };
    let page = state.store.search_availability(member.org_id(), search).await.map_err(|e| {
        let mut e = ApiError::from(e);
        for refused in &mut e.errors {
            if refused.field.starts_with("therapist_ids") {
                refused.field = field.into();
            }
        }
        e
    })?;
    let mut slots: Vec<SlotId> = page
        .into_free_starts()
        .into_iter()
        .flat_map(|free| {
            free.starts.into_iter().map(move |start| SlotId { therapist: free.therapist_id.0, start, minutes })
        })
        .collect();
    slots.sort_by_key(|s| (s.start, s.therapist));
    Ok(slots)
}

/// Checks a search stretch: after its start, at most [`MAX_DAYS`] long.
pub fn stretch(field: &str, from: Timestamp, to: Timestamp) -> ApiResult<()> {
    if to <= from {
        return Err(ApiError::field(field, "the end must be after the start"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_DAYS) {
        return Err(ApiError::field(field, format!("a search spans at most {MAX_DAYS} days")));
    }
    Ok(())
}

/// The slots live holds make of `therapist`'s time starting in `[from, to)`.
async fn held_slots(
    state: &AppState,
    member: &Member,
    therapist: Uuid,
    from: Timestamp,
    to: Timestamp,
) -> ApiResult<Vec<SlotId>> {
    member.authorize(Action::SearchAvailability)?;
    let held = state.store.held_times(member.org_id(), PersonId(therapist), from, to).await?;
    Ok(held.iter().map(|time| SlotId::held(therapist, time)).collect())
}

/// A slot, if it is still free or a live hold has it.
#[utoipa::path(get, path = "/fhir/{org_id}/Slot/{id}", tag = "fhir",
    params(("org_id" = Uuid, Path), ("id" = String, Path)),
    responses((status = 200, description = "Slot", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "OperationOutcome: no such slot, or neither free nor held any more")),
    security(("bearer" = [])))]
pub async fn read_slot(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, String)>,
) -> ApiResult<Fhir> {
    let slot: SlotId = id.parse().map_err(|_| ApiError::not_found("Slot"))?;
    let found = free_slots(
        &state,
        &member,
        ("id", Some(vec![PersonId(slot.therapist)])),
        slot.start,
        slot.start + SignedDuration::from_secs(1),
        slot.minutes,
    )
    .await
    .map_err(|e| if e.status.as_u16() == 422 { ApiError::not_found("Slot") } else { e })?;
    let status = if found.contains(&slot) {
        SlotStatus::Free
    } else {
        let held = held_slots(&state, &member, slot.therapist, slot.start, slot.start + SignedDuration::from_secs(1));
        if !held.await?.contains(&slot) {
            return Err(ApiError::not_found("Slot"));
        }
        SlotStatus::BusyTentative
    };
    Ok(Fhir::ok(resources::slot(&slot, status, &member.org.timezone)))
}

/// A therapist's free and held slots (`schedule` required), a page at a time.
#[utoipa::path(get, path = "/fhir/{org_id}/Slot", tag = "fhir",
    params(("org_id" = Uuid, Path), ("schedule" = String, Query, format = "fhir-schedule"),
        ("start" = Option<String>, Query, format = "fhir-date",
            description = "A prefix (eq, ge, gt, le, lt) and a real calendar date or a date-time with its offset; repeatable, the values leave a range whose end is after its start; a search spans at most 62 days"),
        ("status" = Option<String>, Query), ("duration" = Option<u32>, Query, minimum = 5, maximum = 720), ("_count" = Option<u32>, Query, minimum = 1, maximum = 100)),
    responses((status = 200, description = "searchset Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "OperationOutcome"), (status = 404, description = "OperationOutcome"),
        (status = 422, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn search_slots(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Fhir> {
    let query = SearchQuery::parse("Slot", raw.as_deref())?;
    let count = query.count()?;
    let schedule = query.one("schedule")?.ok_or_else(|| bad_query("schedule", "is required: Schedule/{id}"))?;
    let therapist = reference_id(schedule, &["Schedule"]).map_err(|why| bad_query("schedule", why))?;
    let mut range = StartRange::default();
    for value in query.all("start") {
        range.narrow(value, &member.org.timezone).map_err(|why| bad_query("start", why))?;
    }
    let minutes = match query.one("duration")? {
        None => DEFAULT_MINUTES,
        Some(raw) => raw.parse::<i64>().ok().filter(|m| MINUTES.contains(m)).ok_or_else(|| {
            bad_query("duration", format!("must be {} to {} minutes", MINUTES.start(), MINUTES.end()))
        })?,
    };
    let status = query.one("status")?;
    if let Some(code) = status
        && !SLOT_STATUS_CODES.contains(&code)
    {
        return Err(bad_query("status", format!("must be one of {}", SLOT_STATUS_CODES.join(", "))));
    }
    let now = state.clock.now();
    let from = range.from.unwrap_or(now).max(now);
    let to = range.to.unwrap_or(from + SignedDuration::from_hours(24 * DEFAULT_DAYS));
    stretch("start", from, to)?;
    // A derived slot is only ever free or held.
    let mut slots: Vec<(SlotId, SlotStatus)> = Vec::new();
    if SlotStatus::Free.asked_for(status) {
        let schedule = ("schedule", Some(vec![PersonId(therapist)]));
        let free = match free_slots(&state, &member, schedule, from, to, minutes).await {
            // A schedule nobody keeps matches no slot, as any search for a
            // reference to nothing matches nothing.
            Err(e) if e.errors.iter().any(|refused| refused.field == "schedule") => Vec::new(),
            found => found?,
        };
        slots.extend(free.into_iter().map(|slot| (slot, SlotStatus::Free)));
    }
    if SlotStatus::BusyTentative.asked_for(status) {
        let held = held_slots(&state, &member, therapist, from, to).await?;
        slots.extend(held.into_iter().map(|slot| (slot, SlotStatus::BusyTentative)));
    }
    // Held time is never free, so no two slots share a start.
    slots.sort_by_key(|(slot, _)| slot.start);
    let next = (slots.len() > count).then(|| format!("ge{}", slots[count].0.start));
    slots.truncate(count);
    let resources = slots.iter().map(|(slot, status)| resources::slot(slot, *status, &member.org.timezone)).collect();
    let base = base_url(&state, &headers, &member);
    // The next page starts at the next slot; the search's end stays.
    let next = next.map(|next| {
        let mut pairs = query.pairs_without("start");
        pairs.push(("start".into(), next));
        pairs.push(("start".into(), format!("lt{to}")));
        format!("{base}/Slot?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    });
    Ok(query.bundle_linking(&base, resources, next.as_deref(), None))
}
