//! Waitlists: clients waiting for a group seat, one group session's seat or
//! a one-on-one slot, served by an explained priority; statistics and
//! settings. Suggestions both ways are in `waitlist_suggestions.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::Role;
use circles_domain::authz::Action;
use circles_domain::ids::{GroupId, PersonId, SessionId, WaitlistEntryId};
use circles_domain::input::free_text;
use circles_domain::session::Modality;
use circles_domain::validation::Validator;
use circles_domain::waitlist::{EntryStatus, Target, TargetKind, Urgency, WaitlistSettings};
use circles_domain::waitlist_match::{Preferences, SpelledPreferences, SpelledWindow};
use circles_store::model::{Entry, EntryFilter, EntryUpdate, Keyset, NewEntry, ServingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, page_mapped, parse_rank_cursor, rank_cursor};
use super::query::{page_limit, query_parsed};
use super::views::Problem;
use super::waitlist_views::{StatsView, visible_to};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;
use circles_domain::local_time::local_time;

/// Clinical notes are at most this long.
const NOTES_MAX: usize = 4000;

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    #[schema(example = "09:00", format = "clock-time")]
    pub start: String,
    /// After `start`.
    #[schema(example = "12:00", format = "clock-time")]
    pub end: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntryRequest {
    /// Who waits, a client of this organisation: the caller when a client
    /// asks for themself, and required when staff put someone on a waitlist.
    pub client_id: Option<Uuid>,
    /// GROUP, GROUP_SESSION or ONE_ON_ONE.
    #[schema(example = "GROUP")]
    pub target: String,
    /// For GROUP, and required for it: a group of this organisation.
    pub group_id: Option<Uuid>,
    /// For GROUP_SESSION, and required for it.
    pub session_id: Option<Uuid>,
    /// For ONE_ON_ONE: this therapist only, a therapist of this organisation
    /// (any therapist when absent).
    pub therapist_id: Option<Uuid>,
    /// For ONE_ON_ONE: VIRTUAL or IN_PERSON (either when absent).
    pub modality: Option<String>,
    /// For ONE_ON_ONE: 15 to 240 minutes.
    #[schema(minimum = 15, maximum = 240)]
    pub duration_minutes: Option<i64>,
    /// LOW, MEDIUM (default), HIGH or URGENT.
    pub urgency: Option<String>,
    pub preferred_therapist_id: Option<Uuid>,
    /// Weekday names, e.g. `monday`.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Local time windows, `HH:MM`.
    #[serde(default)]
    pub windows: Vec<WindowBody>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub earliest_date: Option<String>,
    /// Not before `earliest_date`.
    #[schema(format = Date)]
    pub latest_date: Option<String>,
    #[serde(default)]
    pub referral: bool,
    /// Clinical notes: staff only.
    #[schema(format = "free-text", max_length = 4000)]
    pub notes: Option<String>,
    /// Whether freed places are offered automatically (default true).
    pub auto_match: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateEntryRequest {
    pub urgency: Option<String>,
    pub preferred_therapist_id: Option<Uuid>,
    pub weekdays: Option<Vec<String>>,
    pub windows: Option<Vec<WindowBody>>,
    #[schema(format = Date)]
    pub earliest_date: Option<String>,
    /// Not before `earliest_date`.
    #[schema(format = Date)]
    pub latest_date: Option<String>,
    pub referral: Option<bool>,
    #[schema(format = "free-text", max_length = 4000)]
    pub notes: Option<String>,
    pub auto_match: Option<bool>,
    /// Pin to the top with this reason (admins); an empty reason unpins.
    #[schema(format = "free-text", max_length = 500)]
    pub pin_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    #[schema(example = "09:00")]
    pub start: String,
    #[schema(example = "12:00")]
    pub end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    /// GROUP, GROUP_SESSION or ONE_ON_ONE.
    pub kind: String,
    pub group_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub therapist_id: Option<Uuid>,
    pub modality: Option<String>,
    #[schema(minimum = 15, maximum = 240)]
    pub duration_minutes: Option<i64>,
    /// The group's or session's name, or the therapist's.
    pub name: Option<String>,
    /// `name` again under the name of what it names, beside its id.
    pub group_name: Option<String>,
    pub session_title: Option<String>,
    pub therapist_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScorePartView {
    pub factor: String,
    pub reason: String,
    pub points: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriorityView {
    /// 0 to 1, derived when read.
    pub score: f64,
    /// The breakdown in words.
    #[schema(example = "waited 12 days: 0.16; urgency HIGH: 0.225; not referred: 0; score 0.385")]
    pub explanation: String,
    pub parts: Vec<ScorePartView>,
    pub pinned_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_name: String,
    pub target: TargetView,
    pub urgency: String,
    pub preferred_therapist_id: Option<Uuid>,
    pub preferred_therapist_name: Option<String>,
    pub weekdays: Vec<String>,
    pub windows: Vec<WindowView>,
    pub earliest_date: Option<String>,
    pub latest_date: Option<String>,
    pub referral: bool,
    /// Staff only; absent for clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub auto_match: bool,
    /// ACTIVE, OFFERED, MATCHED, CANCELLED or EXPIRED.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
    pub added_at_local: String,
    pub decline_count: i64,
    pub offer_count: i64,
    pub matched_session_id: Option<Uuid>,
    pub matched_session_title: Option<String>,
    pub priority: PriorityView,
}

impl EntryView {
    pub fn new(e: Entry, staff: bool) -> Self {
        let (group_id, session_id, therapist_id, modality, duration_minutes) = match e.target {
            Target::Group(g) => (Some(g.0), None, None, None, None),
            Target::GroupSession(s) => (None, Some(s.0), None, None, None),
            Target::OneOnOne { therapist, modality, duration_minutes } => {
                (None, None, therapist.map(|t| t.0), modality.map(|m| m.as_str().to_owned()), Some(duration_minutes))
            }
        };
        let spelled = e.preferences.spelled();
        Self {
            id: e.id.0,
            client_id: e.client_id.0,
            client_name: e.client_name,
            target: TargetView {
                kind: e.target.kind().as_str().into(),
                group_id,
                session_id,
                therapist_id,
                modality,
                duration_minutes,
                group_name: group_id.and(e.target_name.clone()),
                session_title: session_id.and(e.target_name.clone()),
                therapist_name: therapist_id.and(e.target_name.clone()),
                name: e.target_name,
            },
            urgency: e.urgency.as_str().into(),
            preferred_therapist_id: e.preferences.therapist.map(|t| t.0),
            preferred_therapist_name: e.preferred_therapist_name,
            weekdays: spelled.weekdays,
            windows: spelled.windows.into_iter().map(|w| WindowView { start: w.start, end: w.end }).collect(),
            earliest_date: spelled.earliest,
            latest_date: spelled.latest,
            referral: e.referral,
            notes: if staff { e.notes } else { None },
            auto_match: e.auto_match,
            status: e.status.as_str().into(),
            added_at_local: local_time(e.added_at, &e.timezone),
            added_at: e.added_at,
            decline_count: e.decline_count,
            offer_count: e.offer_count,
            matched_session_id: e.matched_session_id.map(|s| s.0),
            matched_session_title: e.matched_session_title,
            priority: PriorityView {
                score: e.priority.score,
                explanation: e.priority.explain(),
                parts: e
                    .priority
                    .parts
                    .into_iter()
                    .map(|p| ScorePartView { factor: p.factor.into(), reason: p.reason, points: p.points })
                    .collect(),
                pinned_reason: e.priority.pinned,
            },
        }
    }
}

fn is_staff(member: &Member) -> bool {
    member.role != Role::Client
}

fn spelled_windows(windows: &[WindowBody]) -> Vec<SpelledWindow> {
    windows.iter().map(|w| SpelledWindow { start: w.start.clone(), end: w.end.clone() }).collect()
}

fn parse_preferences(v: &mut Validator, therapist: Option<Uuid>, spelled: &SpelledPreferences) -> Option<Preferences> {
    match Preferences::parse(therapist.map(PersonId), spelled) {
        Ok(p) => Some(p),
        Err(errors) => {
            for (field, reason) in errors {
                v.reject(&field, reason);
            }
            None
        }
    }
}

fn parse_notes(v: &mut Validator, notes: Option<&str>, staff: bool) -> Option<Option<String>> {
    match notes {
        None => Some(None),
        Some(_) if !staff => {
            v.reject("notes", "only staff write clinical notes");
            None
        }
        Some(text) => v.check("notes", free_text(text, NOTES_MAX)).map(Some),
    }
}

fn parse_entry(body: &CreateEntryRequest, member: &Member) -> Result<NewEntry, ApiError> {
    let mut v = Validator::default();
    let kind = v.check("target", body.target.parse::<TargetKind>());
    let urgency = v.check_opt("urgency", body.urgency.as_deref().map(str::parse::<Urgency>));
    let target = match kind {
        Some(TargetKind::Group) => match body.group_id {
            Some(g) => Some(Target::Group(GroupId(g))),
            None => {
                v.reject("group_id", "is required for a GROUP waitlist");
                None
            }
        },
        Some(TargetKind::GroupSession) => match body.session_id {
            Some(s) => Some(Target::GroupSession(SessionId(s))),
            None => {
                v.reject("session_id", "is required for a GROUP_SESSION waitlist");
                None
            }
        },
        Some(TargetKind::OneOnOne) => {
            let modality = v.check_opt("modality", body.modality.as_deref().map(str::parse::<Modality>));
            let duration = body.duration_minutes.unwrap_or(50);
            let duration_ok = v.check("duration_minutes", Target::check_duration(duration)).is_some();
            match (modality, duration_ok) {
                (Some(modality), true) => Some(Target::OneOnOne {
                    therapist: body.therapist_id.map(PersonId),
                    modality,
                    duration_minutes: duration,
                }),
                _ => None,
            }
        }
        None => None,
    };
    let spelled = SpelledPreferences {
        weekdays: body.weekdays.clone(),
        windows: spelled_windows(&body.windows),
        earliest: body.earliest_date.clone(),
        latest: body.latest_date.clone(),
    };
    let preferences = parse_preferences(&mut v, body.preferred_therapist_id, &spelled);
    let notes = parse_notes(&mut v, body.notes.as_deref(), is_staff(member));
    let client = match (body.client_id, member.role) {
        (Some(c), _) => Some(PersonId(c)),
        (None, Role::Client) => Some(member.person_id),
        (None, _) => {
            v.reject("client_id", "is required when staff put someone on a waitlist");
            None
        }
    };
    Ok(v.done(|| {
        Some(NewEntry {
            client_id: client?,
            target: target?,
            urgency: urgency?.unwrap_or(Urgency::Medium),
            preferences: preferences?,
            referral: body.referral,
            notes: notes?,
            auto_match: body.auto_match.unwrap_or(true),
            by_client: member.role == Role::Client,
        })
    })?)
}

/// Puts a client on a waitlist. Clients add themselves where the
/// organisation allows it; staff add anyone. A second waiting entry for the
/// same target is 409 `duplicate_entry`.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/waitlist", tag = "waitlist", request_body = CreateEntryRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = EntryView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "duplicate_entry"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_entry(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CreateEntryRequest>,
) -> ApiResult<(StatusCode, axum::Json<EntryView>)> {
    let input = parse_entry(&body, &member)?;
    member.authorize(Action::WaitlistOwn { is_self: input.client_id == member.person_id })?;
    if input.by_client && !state.store.waitlist_settings(member.org_id()).await?.clients_may_join {
        return Err(ApiError::forbidden("this organisation's staff put clients on waitlists"));
    }
    let entry = state.store.create_entry(&member.ctx, member.org_id(), input).await?;
    Ok((StatusCode::CREATED, axum::Json(EntryView::new(entry, is_staff(&member)))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntryQuery {
    /// ACTIVE, OFFERED, MATCHED, CANCELLED or EXPIRED.
    pub status: Option<String>,
    /// Entries for this group (its seats and its sessions' seats).
    pub group_id: Option<Uuid>,
    /// One client's entries (clients always see only their own).
    pub client_id: Option<Uuid>,
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before: the entries served after it,
    /// as priorities stand when the page is read.
    #[param(format = "rank-cursor")]
    pub cursor: Option<String>,
}

/// The waitlist in serving order: pinned entries, then by score, then the
/// earlier entry. Clients see their own entries.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/waitlist", tag = "waitlist",
    params(("org_id" = Uuid, Path), EntryQuery),
    responses((status = 200, body = Page<EntryView>), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_entries(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<EntryQuery>,
) -> ApiResult<axum::Json<Page<EntryView>>> {
    let status = query_parsed::<EntryStatus>("status", query.status.as_deref())?;
    let limit = page_limit(query.limit, 100, 500)?;
    let after = parse_rank_cursor(query.cursor.as_deref())?;
    let client = if is_staff(&member) { query.client_id.map(PersonId) } else { Some(member.person_id) };
    let filter = EntryFilter { client, status, group: query.group_id.map(GroupId) };
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let entries = state.store.entries_page(&member.ctx, member.org_id(), filter, page).await?;
    let staff = is_staff(&member);
    let cursor = |e: &Entry| rank_cursor(&ServingKey::of(e));
    Ok(axum::Json(page_mapped(entries, limit, cursor, |e| EntryView::new(e, staff))))
}

pub(super) async fn entry_for(state: &AppState, member: &Member, id: Uuid) -> ApiResult<Entry> {
    let entry = state.store.entry(&member.ctx, member.org_id(), WaitlistEntryId(id)).await?;
    visible_to(member, entry.client_id, "waitlist entry")?;
    Ok(entry)
}

/// One entry with its priority and the reasons for it.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/waitlist/{entry_id}", tag = "waitlist",
    params(("org_id" = Uuid, Path), ("entry_id" = Uuid, Path)),
    responses((status = 200, body = EntryView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_entry(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, entry_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<EntryView>> {
    let entry = entry_for(&state, &member, entry_id).await?;
    Ok(axum::Json(EntryView::new(entry, is_staff(&member))))
}

/// Changes an entry's urgency, preferences, notes or automatic matching;
/// admins pin it to the top with a reason (audited).
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/waitlist/{entry_id}", tag = "waitlist",
    request_body = UpdateEntryRequest, params(("org_id" = Uuid, Path), ("entry_id" = Uuid, Path)),
    responses((status = 200, body = EntryView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "entry_closed"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_entry(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, entry_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateEntryRequest>,
) -> ApiResult<axum::Json<EntryView>> {
    let entry = entry_for(&state, &member, entry_id).await?;
    if body.pin_reason.is_some() {
        member.authorize(Action::AdministerWaitlist)?;
    }
    let staff = is_staff(&member);
    let mut v = Validator::default();
    let urgency = v.check_opt("urgency", body.urgency.as_deref().map(str::parse::<Urgency>));
    let touches_preferences = body.weekdays.is_some()
        || body.windows.is_some()
        || body.earliest_date.is_some()
        || body.latest_date.is_some()
        || body.preferred_therapist_id.is_some();
    let current = entry.preferences.spelled();
    let spelled = SpelledPreferences {
        weekdays: body.weekdays.clone().unwrap_or(current.weekdays),
        windows: body.windows.as_deref().map(spelled_windows).unwrap_or(current.windows),
        earliest: body.earliest_date.clone().or(current.earliest),
        latest: body.latest_date.clone().or(current.latest),
    };
    let therapist = body.preferred_therapist_id.or(entry.preferences.therapist.map(|t| t.0));
    let preferences = parse_preferences(&mut v, therapist, &spelled);
    let notes = parse_notes(&mut v, body.notes.as_deref(), staff);
    let pin = match body.pin_reason.as_deref().map(str::trim) {
        None => Some(None),
        Some("") => Some(Some(None)),
        Some(reason) => v.check("pin_reason", free_text(reason, 500)).map(|r| Some(Some(r))),
    };
    let update = v.done(|| {
        Some(EntryUpdate {
            urgency: urgency?,
            preferences: if touches_preferences { Some(preferences?) } else { None },
            referral: body.referral,
            notes: notes?.map(Some),
            auto_match: body.auto_match,
            pin: pin?,
        })
    })?;
    let entry = state.store.update_entry(&member.ctx, member.org_id(), entry.id, update).await?;
    Ok(axum::Json(EntryView::new(entry, staff)))
}

/// Takes the client off the waitlist; a live offer of theirs is withdrawn.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/waitlist/{entry_id}", tag = "waitlist",
    params(("org_id" = Uuid, Path), ("entry_id" = Uuid, Path)),
    responses((status = 200, body = EntryView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "entry_closed")),
    security(("bearer" = [])))]
pub async fn cancel_entry(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, entry_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<EntryView>> {
    let entry = entry_for(&state, &member, entry_id).await?;
    let entry = state.store.cancel_entry(&member.ctx, member.org_id(), entry.id).await?;
    Ok(axum::Json(EntryView::new(entry, is_staff(&member))))
}

/// Time to match, offers sent, accepted, declined and expired, and freed
/// seats refilled (and how fast), for the organisation, per group and per
/// therapist.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/waitlist/stats", tag = "waitlist",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = StatsView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn stats(State(state): State<AppState>, member: Member) -> ApiResult<axum::Json<StatsView>> {
    member.authorize(Action::ManageWaitlist)?;
    Ok(axum::Json(state.store.waitlist_stats(member.org_id()).await?.into()))
}

/// The organisation's waitlist settings: priority and match weights, the
/// offer mode, offer expiry and grace delay.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/waitlist/settings", tag = "waitlist",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_settings(State(state): State<AppState>, member: Member) -> ApiResult<axum::Json<WaitlistSettings>> {
    member.authorize(Action::ManageWaitlist)?;
    Ok(axum::Json(state.store.waitlist_settings(member.org_id()).await?))
}

/// Replaces the organisation's waitlist settings (admins; audited).
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/waitlist/settings", tag = "waitlist",
    request_body = super::body_docs::WaitlistSettingsBody, params(("org_id" = Uuid, Path)),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<WaitlistSettings>,
) -> ApiResult<axum::Json<WaitlistSettings>> {
    member.authorize(Action::AdministerWaitlist)?;
    let mut v = Validator::default();
    if let Err(errors) = body.check() {
        for (field, reason) in errors {
            v.reject(&field, reason);
        }
    }
    v.done(|| Some(()))?;
    Ok(axum::Json(state.store.set_waitlist_settings(&member.ctx, member.org_id(), body).await?))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_entry, list_entries))
        .routes(utoipa_axum::routes!(stats))
        .routes(utoipa_axum::routes!(get_settings, put_settings))
        .routes(utoipa_axum::routes!(get_entry, update_entry, cancel_entry))
}
