//! Groups: therapy groups and communities, their rules, staff and members.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::Role;
use circles_domain::authz::{Action, GroupRelation};
use circles_domain::civil::parse_date;
use circles_domain::group::{GroupSettings, GroupType, SettingsInput};
use circles_domain::ids::{GroupId, MembershipId, PersonId};
use circles_domain::input::{Label, free_text};
use circles_domain::local_time::local_time;
use circles_domain::recurrence::{Recurrence, RecurrenceInput};
use circles_domain::session::{DetailsInput, Modality};
use circles_domain::validation::Validator;
use circles_store::model::{Group, GroupFields, GroupMember, GroupUpdate, Keyset, NewGroup};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, name_cursor, page_mapped, page_of, parse_name_cursor, parse_time_cursor, time_cursor};
use super::query::page_limit;
use super::sessions::distinct_people;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberCounts {
    pub active: i64,
    pub waitlisted: i64,
    pub pending_screening: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// THERAPY, SUPPORT, EDUCATION, SKILLS or COMMUNITY.
    #[serde(rename = "type")]
    pub group_type: String,
    /// active or archived.
    pub status: String,
    pub open: bool,
    pub capacity: Option<i64>,
    pub requires_screening: bool,
    pub target_population: Option<String>,
    pub age_range: Option<String>,
    pub modality: Option<String>,
    pub virtual_link: Option<String>,
    pub location: Option<String>,
    pub address: Option<String>,
    #[schema(value_type = Object)]
    pub settings: GroupSettings,
    #[schema(value_type = Option<Object>)]
    pub recurrence: Option<RecurrenceInput>,
    pub moderator_ids: Vec<Uuid>,
    /// The moderators' names, in the order of `moderator_ids`.
    pub moderator_names: Vec<String>,
    pub facilitator_ids: Vec<Uuid>,
    /// The facilitators' names, in the order of `facilitator_ids`.
    pub facilitator_names: Vec<String>,
    pub members: MemberCounts,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// On the organisation's clock.
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub created_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub archived_at: Option<Timestamp>,
    pub archived_at_local: Option<String>,
}

impl GroupView {
    /// `g`, its record times read in `zone` (the organisation's).
    pub fn new(g: Group, zone: &str) -> Self {
        let f = g.fields;
        Self {
            id: g.id.0,
            name: f.name,
            description: f.description,
            group_type: f.group_type.as_str().into(),
            status: g.status.wire().into(),
            open: f.open,
            capacity: f.capacity,
            requires_screening: f.requires_screening,
            target_population: f.target_population,
            age_range: f.age_range,
            modality: f.modality.map(|m| m.as_str().into()),
            virtual_link: f.virtual_link,
            location: f.location,
            address: f.address,
            settings: f.settings,
            recurrence: f.recurrence,
            moderator_ids: g.moderator_ids.into_iter().map(|p| p.0).collect(),
            moderator_names: g.moderator_names,
            facilitator_ids: g.facilitator_ids.into_iter().map(|p| p.0).collect(),
            facilitator_names: g.facilitator_names,
            members: MemberCounts {
                active: g.active_members,
                waitlisted: g.waitlisted_members,
                pending_screening: g.pending_screening,
            },
            created_at: g.created_at,
            created_at_local: local_time(g.created_at, zone),
            archived_at: g.archived_at,
            archived_at_local: g.archived_at.map(|t| local_time(t, zone)),
        }
    }
}

/// A group as sent by clients. On create, `name` is required; on update,
/// every field is optional and absent ones keep their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    /// Required when creating a group.
    #[schema(format = "text-line", max_length = 200)]
    pub name: Option<String>,
    #[schema(format = "free-text", max_length = 5000)]
    pub description: Option<String>,
    /// THERAPY, SUPPORT, EDUCATION, SKILLS or COMMUNITY (the default).
    #[serde(rename = "type")]
    pub group_type: Option<String>,
    pub open: Option<bool>,
    /// Most active members at once. Left out, it stays as it is; null
    /// clears it (no limit).
    #[serde(default, deserialize_with = "present_or_null")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1, maximum = 500)]
    pub capacity: Option<Option<i64>>,
    pub requires_screening: Option<bool>,
    #[schema(format = "text-line-or-blank", max_length = 200)]
    pub target_population: Option<String>,
    #[schema(format = "text-line-or-blank", max_length = 50)]
    pub age_range: Option<String>,
    /// VIRTUAL or IN_PERSON; blank clears it.
    pub modality: Option<String>,
    /// Blank clears it.
    #[schema(format = "http-url-or-blank", max_length = 2000)]
    pub virtual_link: Option<String>,
    /// Blank clears it.
    #[schema(format = "text-line-or-blank", max_length = 200)]
    pub location: Option<String>,
    /// Blank clears it.
    #[schema(format = "text-line-or-blank", max_length = 500)]
    pub address: Option<String>,
    #[schema(value_type = Option<super::body_docs::GroupSettingsChange>)]
    pub settings: Option<SettingsInput>,
    #[schema(value_type = Option<super::body_docs::SeriesRecurrence>)]
    pub recurrence: Option<RecurrenceInput>,
    /// Each a therapist of this organisation.
    pub facilitator_ids: Option<Vec<Uuid>>,
    /// Each an admin or moderator of this organisation.
    pub moderator_ids: Option<Vec<Uuid>>,
}

/// A field sent as null is `Some(None)` (clear it); one left out stays
/// `None` through `#[serde(default)]` (keep it).
fn present_or_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A text field as sent, unless blank.
fn sent(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().filter(|text| !text.trim().is_empty())
}

/// A text field sent blank: the group's value is cleared.
fn blank(raw: &Option<String>) -> bool {
    raw.as_deref().is_some_and(|text| text.trim().is_empty())
}

fn optional_label(
    v: &mut Validator,
    field: &str,
    raw: &Option<String>,
    current: Option<String>,
    max: usize,
) -> Option<Option<String>> {
    match raw {
        None => Some(current),
        Some(text) if text.trim().is_empty() => Some(None),
        Some(text) => v.check(field, Label::parse(text, max)).map(|l| Some(l.into_string())),
    }
}

/// The fields of `body` over `current` (all defaults when creating).
fn parse_fields(body: &GroupBody, current: Option<&Group>, v: &mut Validator) -> Option<GroupFields> {
    let name = match (&body.name, current) {
        (Some(name), _) => v.check("name", Label::parse(name, 200)).map(Label::into_string),
        (None, Some(group)) => Some(group.fields.name.clone()),
        (None, None) => {
            v.reject("name", "is required");
            None
        }
    };
    let description = match &body.description {
        Some(d) => v.check("description", free_text(d, 5_000)),
        None => Some(current.map(|g| g.fields.description.clone()).unwrap_or_default()),
    };
    let group_type = match &body.group_type {
        Some(t) => v.check("type", t.parse::<GroupType>()),
        None => Some(current.map_or(GroupType::Community, |g| g.fields.group_type)),
    };
    let capacity = match (body.capacity, current) {
        (Some(Some(c)), _) if !(1..=500).contains(&c) => {
            v.reject("capacity", "must be between 1 and 500");
            None
        }
        (Some(c), _) => Some(c),
        (None, group) => Some(group.and_then(|g| g.fields.capacity)),
    };
    let modality = match &body.modality {
        _ if blank(&body.modality) => Some(None),
        Some(m) => v.check("modality", m.parse::<Modality>()).map(Some),
        None => Some(current.and_then(|g| g.fields.modality)),
    };
    // Link and location are checked as a session's would be; blank ones clear.
    let details = DetailsInput {
        title: Some("group"),
        virtual_link: sent(&body.virtual_link),
        location: sent(&body.location),
        address: sent(&body.address),
        ..DetailsInput::default()
    };
    let mut details_v = Validator::default();
    let parsed_details = circles_domain::session::SessionDetails::parse(&mut details_v, &details, "group", false);
    if let Err(invalid) = details_v.done(|| Some(())) {
        for error in invalid.0 {
            v.reject(&error.field, error.reason);
        }
    }
    let base_settings = current.map(|g| g.fields.settings.clone()).unwrap_or_default();
    let settings = match &body.settings {
        Some(input) => GroupSettings::apply(&base_settings, input, v, "settings"),
        None => Some(base_settings),
    };
    let recurrence = match &body.recurrence {
        Some(input) => match Recurrence::parse(input) {
            Ok(recurrence) => Some(Some(recurrence.to_input())),
            Err(invalid) => {
                v.absorb("recurrence", invalid);
                None
            }
        },
        None => Some(current.and_then(|g| g.fields.recurrence.clone())),
    };
    let target_population = optional_label(
        v,
        "target_population",
        &body.target_population,
        current.and_then(|g| g.fields.target_population.clone()),
        200,
    );
    let age_range =
        optional_label(v, "age_range", &body.age_range, current.and_then(|g| g.fields.age_range.clone()), 50);
    let details = parsed_details?;
    Some(GroupFields {
        name: name?,
        description: description?,
        group_type: group_type?,
        open: body.open.unwrap_or(current.is_none_or(|g| g.fields.open)),
        capacity: capacity?,
        requires_screening: body.requires_screening.unwrap_or(current.is_some_and(|g| g.fields.requires_screening)),
        target_population: target_population?,
        age_range: age_range?,
        modality: modality?,
        virtual_link: kept(
            &body.virtual_link,
            details.virtual_link,
            current.and_then(|g| g.fields.virtual_link.clone()),
        ),
        location: kept(&body.location, details.location, current.and_then(|g| g.fields.location.clone())),
        address: kept(&body.address, details.address, current.and_then(|g| g.fields.address.clone())),
        settings: settings?,
        recurrence: recurrence?,
    })
}

/// A detail as sent (checked), cleared when sent blank, else as it was.
fn kept(raw: &Option<String>, checked: Option<String>, current: Option<String>) -> Option<String> {
    if blank(raw) { None } else { checked.or(current) }
}

fn people(v: &mut Validator, field: &str, ids: &Option<Vec<Uuid>>) -> Option<Vec<PersonId>> {
    ids.as_ref().map(|ids| distinct_people(v, field, ids))
}

/// Creates a group; a moderator creating one becomes one of its moderators.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups", tag = "groups", request_body = GroupBody,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = GroupView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_group(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<GroupBody>,
) -> ApiResult<(StatusCode, axum::Json<GroupView>)> {
    member.authorize(Action::CreateGroup)?;
    let mut v = Validator::default();
    let fields = parse_fields(&body, None, &mut v);
    let mut moderators = people(&mut v, "moderator_ids", &body.moderator_ids).unwrap_or_default();
    let facilitators = people(&mut v, "facilitator_ids", &body.facilitator_ids).unwrap_or_default();
    let fields = v.done(|| fields)?;
    if member.role == Role::Moderator && !moderators.contains(&member.person_id) {
        moderators.push(member.person_id);
    }
    let input = NewGroup { fields, moderator_ids: moderators, facilitator_ids: facilitators };
    let group = state.store.create_group(&member.ctx, member.org_id(), input).await?;
    Ok((StatusCode::CREATED, axum::Json(GroupView::new(group, &member.org.timezone))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GroupQuery {
    /// Include archived groups.
    pub include_archived: Option<bool>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "name-cursor")]
    pub cursor: Option<String>,
}

/// Groups by name: every group for admins and moderators; for others, the
/// groups they facilitate or belong to.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/groups", tag = "groups",
    params(("org_id" = Uuid, Path), GroupQuery),
    responses((status = 200, body = Page<GroupView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_groups(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<GroupQuery>,
) -> ApiResult<axum::Json<Page<GroupView>>> {
    let limit = page_limit(query.limit, 100, 1000)?;
    let after = parse_name_cursor::<GroupId>(query.cursor.as_deref())?;
    let sees_all = member.authorize(Action::ViewGroup { relation: GroupRelation::default() }).is_ok();
    let visible_to = (!sees_all).then_some(member.person_id);
    let archived = query.include_archived.unwrap_or(false);
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let groups = state.store.groups_page(member.org_id(), visible_to, archived, page).await?;
    let zone = &member.org.timezone;
    Ok(axum::Json(page_mapped(groups, limit, |g| name_cursor(&g.fields.name, g.id.0), |g| GroupView::new(g, zone))))
}

/// The group and the caller's standing in it, after checking they may see it.
pub async fn visible_group(state: &AppState, member: &Member, id: Uuid) -> ApiResult<(Group, GroupRelation)> {
    let standing = state.store.group_standing(member.org_id(), GroupId(id), member.person_id).await?;
    member.authorize(Action::ViewGroup { relation: standing.relation })?;
    Ok((standing.group, standing.relation))
}

/// One group with its rules and staff.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/groups/{group_id}", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 200, body = GroupView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_group(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<GroupView>> {
    let (group, _) = visible_group(&state, &member, group_id).await?;
    Ok(axum::Json(GroupView::new(group, &member.org.timezone)))
}

/// Changes a group's description, rules or staff (its moderators or an admin).
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/groups/{group_id}", tag = "groups", request_body = GroupBody,
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 200, body = GroupView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_group(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<GroupBody>,
) -> ApiResult<axum::Json<GroupView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    let mut v = Validator::default();
    let fields = parse_fields(&body, Some(&group), &mut v);
    let moderators = people(&mut v, "moderator_ids", &body.moderator_ids);
    let facilitators = people(&mut v, "facilitator_ids", &body.facilitator_ids);
    let fields = v.done(|| fields)?;
    let update = GroupUpdate { fields, moderator_ids: moderators, facilitator_ids: facilitators };
    Ok(axum::Json(GroupView::new(
        state.store.update_group(&member.ctx, member.org_id(), group.id, update).await?,
        &member.org.timezone,
    )))
}

/// Archives a group: it keeps its history but takes no new sessions or members.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/archive", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 200, body = GroupView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn archive_group(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<GroupView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    Ok(axum::Json(GroupView::new(
        state.store.archive_group(&member.ctx, member.org_id(), group.id).await?,
        &member.org.timezone,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScreeningView {
    pub date: String,
    pub notes: String,
    pub approved: bool,
    pub screened_by: Option<Uuid>,
    pub screened_by_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupMembershipView {
    pub id: Uuid,
    pub group_id: Uuid,
    #[schema(example = "Grief support")]
    pub group_name: String,
    pub client_id: Uuid,
    /// The member's name; rosters reach only the group's staff and the member.
    #[schema(example = "Sam Okafor")]
    pub client_name: String,
    /// PENDING_SCREENING, ACTIVE, WAITLISTED, INACTIVE or GRADUATED.
    pub status: String,
    #[schema(format = Date)]
    pub join_date: String,
    #[schema(format = Date)]
    pub leave_date: Option<String>,
    /// INACTIVE or GRADUATED: what an active member becomes on a leave
    /// date still ahead (they stay ACTIVE until then).
    pub departs_as: Option<String>,
    pub exit_reason: Option<String>,
    pub screening: Option<ScreeningView>,
}

impl From<GroupMember> for GroupMembershipView {
    fn from(m: GroupMember) -> Self {
        Self {
            id: m.id.0,
            group_id: m.group_id.0,
            group_name: m.group_name,
            client_id: m.client_id.0,
            client_name: m.client_name,
            status: m.status.wire().into(),
            join_date: m.join_date.to_string(),
            leave_date: m.leave_date.map(|d| d.to_string()),
            departs_as: m.departs_as.map(|d| d.as_str().into()),
            exit_reason: m.exit_reason,
            screening: m.screening.map(|s| ScreeningView {
                date: s.date.to_string(),
                notes: s.notes,
                approved: s.approved,
                screened_by: s.screened_by.map(|p| p.0),
                screened_by_name: s.screened_by_name,
            }),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// A client of this organisation.
    pub client_id: Uuid,
    /// `YYYY-MM-DD`; today in the organisation's zone by default.
    #[schema(format = Date)]
    pub join_date: Option<String>,
    /// An admin's reason for adding someone to a closed group that has
    /// already met (recorded in the audit trail).
    #[schema(format = "text-line")]
    pub override_reason: Option<String>,
}

/// Enrols a client: pending screening if the group screens, waitlisted if
/// it is full, otherwise active. A closed group that has met takes new
/// members only from an admin giving `override_reason`.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/groups/{group_id}/members", tag = "groups", request_body = EnrolRequest,
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path)),
    responses((status = 201, body = GroupMembershipView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<EnrolRequest>,
) -> ApiResult<(StatusCode, axum::Json<GroupMembershipView>)> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ManageGroup { relation })?;
    let join_date = match &body.join_date {
        Some(raw) => parse_date(raw).map_err(|reason| ApiError::field("join_date", reason))?,
        None => today(&state, &member),
    };
    let override_reason = body.override_reason.as_deref().map(str::trim);
    if override_reason.is_some() && member.role != Role::Admin {
        return Err(ApiError::forbidden("only an admin adds members to a closed group that has already met"));
    }
    if override_reason == Some("") {
        return Err(ApiError::field("override_reason", "must say why"));
    }
    let enrolled = state
        .store
        .add_member(&member.ctx, member.org_id(), group.id, PersonId(body.client_id), join_date, override_reason)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(enrolled.into())))
}

/// Today's date where the organisation is.
pub fn today(state: &AppState, member: &Member) -> jiff::civil::Date {
    let zone = jiff::tz::TimeZone::get(&member.org.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    state.clock.now().to_zoned(zone).date()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MemberQuery {
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// Every membership of the group, past and current, oldest first (its
/// moderators, facilitators and admins; an audited read of each client's
/// record on the page).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/groups/{group_id}/members", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path), MemberQuery),
    responses((status = 200, body = Page<GroupMembershipView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<MemberQuery>,
) -> ApiResult<axum::Json<Page<GroupMembershipView>>> {
    let limit = page_limit(query.limit, 100, 1000)?;
    let after = parse_time_cursor::<Uuid>(query.cursor.as_deref())?.map(|(at, id)| (at, MembershipId(id)));
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ViewRoster { relation })?;
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let members = state.store.members_page(&member.ctx, member.org_id(), group.id, page).await?;
    Ok(axum::Json(page_of(members, limit, |m| time_cursor(m.created_at, m.id.0))))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_group, list_groups))
        .routes(utoipa_axum::routes!(get_group, update_group))
        .routes(utoipa_axum::routes!(archive_group))
        .routes(utoipa_axum::routes!(add_member, list_members))
}
