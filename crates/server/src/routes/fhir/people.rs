//! Practitioner, Patient, Schedule and Group: read and search, with the
//! JSON API's rules for who finds whom (`routes::people::read_person`,
//! `authz::people_scope`) and for who reads a group's roster.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use circles_domain::Role;
use circles_domain::authz::{Action, GroupRelation, people_scope};
use circles_domain::fhir::params::reference_id;
use circles_domain::fhir::resources::{self, GroupFacts, MemberFacts, PersonFacts};
use circles_domain::group::GroupStatus;
use circles_domain::ids::PersonId;
use circles_domain::org_invitation::PersonStatus;
use circles_store::model::{Group, Person};
use serde_json::Value;
use uuid::Uuid;

use super::{Fhir, SearchQuery, base_url, page_after};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Path;
use crate::routes::groups::visible_group;
use crate::routes::people::read_person;
use crate::routes::query::bad_query;
use crate::state::AppState;

fn facts(p: &Person) -> PersonFacts<'_> {
    PersonFacts { id: p.id.0, name: &p.name, active: p.status == PersonStatus::Active }
}

/// One person of `role`, as the caller may read them; anyone else is 404.
async fn one_with_role(state: &AppState, member: &Member, id: Uuid, role: Role, what: &str) -> ApiResult<Person> {
    let person = read_person(state, member, PersonId(id)).await.map_err(|e| match e.code {
        "not_found" => ApiError::not_found(what),
        _ => e,
    })?;
    if person.role != role {
        return Err(ApiError::not_found(what));
    }
    Ok(person)
}

/// Everyone of `role` the caller finds (a client lists only therapists).
async fn all_with_role(state: &AppState, member: &Member, role: Role) -> ApiResult<Vec<Person>> {
    member.authorize(Action::ListPeople { role_filter: Some(role) })?;
    let scope = people_scope(member.role);
    Ok(state.store.list_people(&member.ctx, member.org_id(), Some(role), scope, member.person_id).await?)
}

async fn search_people(
    state: &AppState,
    member: &Member,
    headers: &HeaderMap,
    query: SearchQuery,
    role: Role,
    map: fn(&PersonFacts<'_>) -> Value,
) -> ApiResult<Fhir> {
    let count = query.count()?;
    let people = all_with_role(state, member, role).await?;
    let (page, next) = page_after(people, |p| p.id.0.to_string(), query.one("_cursor")?, count);
    let resources = page.iter().map(|p| map(&facts(p))).collect();
    Ok(query.bundle(&base_url(state, headers, member), resources, next.as_deref(), None))
}

/// A therapist.
#[utoipa::path(get, path = "/fhir/{org_id}/Practitioner/{id}", tag = "fhir",
    params(("org_id" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, description = "Practitioner", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn read_practitioner(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Fhir> {
    let person = one_with_role(&state, &member, id, Role::Therapist, "Practitioner").await?;
    Ok(Fhir::ok(resources::practitioner(&facts(&person))))
}

/// The organisation's therapists.
#[utoipa::path(get, path = "/fhir/{org_id}/Practitioner", tag = "fhir",
    params(("org_id" = Uuid, Path), ("_count" = Option<u32>, Query, minimum = 1, maximum = 100), ("_cursor" = Option<String>, Query)),
    responses((status = 200, description = "searchset Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "OperationOutcome"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn search_practitioners(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Fhir> {
    let query = SearchQuery::parse("Practitioner", raw.as_deref())?;
    search_people(&state, &member, &headers, query, Role::Therapist, resources::practitioner).await
}

/// A client, minimal (id and name), to those who may read them; the read
/// is audited like the JSON API's.
#[utoipa::path(get, path = "/fhir/{org_id}/Patient/{id}", tag = "fhir",
    params(("org_id" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, description = "Patient", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn read_patient(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Fhir> {
    let person = one_with_role(&state, &member, id, Role::Client, "Patient").await?;
    Ok(Fhir::ok(resources::patient(&facts(&person))))
}

/// The clients the caller finds (staff; a therapist only those they serve).
#[utoipa::path(get, path = "/fhir/{org_id}/Patient", tag = "fhir",
    params(("org_id" = Uuid, Path), ("_count" = Option<u32>, Query, minimum = 1, maximum = 100), ("_cursor" = Option<String>, Query)),
    responses((status = 200, description = "searchset Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "OperationOutcome"), (status = 403, description = "OperationOutcome"),
        (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn search_patients(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Fhir> {
    let query = SearchQuery::parse("Patient", raw.as_deref())?;
    search_people(&state, &member, &headers, query, Role::Client, resources::patient).await
}

/// A therapist's schedule (its id is the therapist's).
#[utoipa::path(get, path = "/fhir/{org_id}/Schedule/{id}", tag = "fhir",
    params(("org_id" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, description = "Schedule", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn read_schedule(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Fhir> {
    let therapist = one_with_role(&state, &member, id, Role::Therapist, "Schedule").await?;
    Ok(Fhir::ok(resources::schedule(&facts(&therapist))))
}

/// One schedule per therapist; `actor` picks one therapist's.
#[utoipa::path(get, path = "/fhir/{org_id}/Schedule", tag = "fhir",
    params(("org_id" = Uuid, Path), ("actor" = Option<String>, Query, format = "fhir-practitioner"), ("_count" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("_cursor" = Option<String>, Query)),
    responses((status = 200, description = "searchset Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "OperationOutcome"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn search_schedules(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Fhir> {
    let query = SearchQuery::parse("Schedule", raw.as_deref())?;
    let count = query.count()?;
    let actor = match query.one("actor")? {
        Some(raw) => Some(reference_id(raw, &["Practitioner"]).map_err(|why| bad_query("actor", why))?),
        None => None,
    };
    let mut therapists = all_with_role(&state, &member, Role::Therapist).await?;
    if let Some(actor) = actor {
        therapists.retain(|t| t.id.0 == actor);
    }
    let (page, next) = page_after(therapists, |p| p.id.0.to_string(), query.one("_cursor")?, count);
    let resources = page.iter().map(|t| resources::schedule(&facts(t))).collect();
    Ok(query.bundle(&base_url(&state, &headers, &member), resources, next.as_deref(), None))
}

async fn group_resource(state: &AppState, member: &Member, group: &Group, relation: GroupRelation) -> ApiResult<Value> {
    let members = if member.authorize(Action::ViewRoster { relation }).is_ok() {
        let roster = state.store.members(&member.ctx, member.org_id(), group.id).await?;
        Some(
            roster
                .into_iter()
                .map(|m| MemberFacts {
                    client: m.client_id.0,
                    join_date: m.join_date,
                    leave_date: m.leave_date,
                    current: m.status.is_current(),
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(resources::group(&GroupFacts {
        id: group.id.0,
        name: &group.fields.name,
        active: group.status == GroupStatus::Active,
        active_members: group.active_members,
        members,
    }))
}

/// A therapy group, with its members for those who read its roster.
#[utoipa::path(get, path = "/fhir/{org_id}/Group/{id}", tag = "fhir",
    params(("org_id" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, description = "Group", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "OperationOutcome"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn read_group(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Fhir> {
    let (group, relation) = visible_group(&state, &member, id).await?;
    Ok(Fhir::ok(group_resource(&state, &member, &group, relation).await?))
}

/// The groups the caller sees (members listed for those who manage all).
#[utoipa::path(get, path = "/fhir/{org_id}/Group", tag = "fhir",
    params(("org_id" = Uuid, Path), ("_count" = Option<u32>, Query, minimum = 1, maximum = 100), ("_cursor" = Option<String>, Query)),
    responses((status = 200, description = "searchset Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "OperationOutcome"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn search_groups(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Fhir> {
    let query = SearchQuery::parse("Group", raw.as_deref())?;
    let count = query.count()?;
    let sees_all = member.authorize(Action::ViewGroup { relation: GroupRelation::default() }).is_ok();
    let groups = state.store.list_groups(member.org_id(), (!sees_all).then_some(member.person_id), false).await?;
    let (page, next) = page_after(groups, |g| g.id.0.to_string(), query.one("_cursor")?, count);
    let mut resources = Vec::with_capacity(page.len());
    for group in &page {
        resources.push(group_resource(&state, &member, group, GroupRelation::default()).await?);
    }
    Ok(query.bundle(&base_url(&state, &headers, &member), resources, next.as_deref(), None))
}
