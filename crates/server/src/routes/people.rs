use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::Role;
use circles_domain::authz::{Action, PeopleScope, PersonFacts, finds_person, people_scope};
use circles_domain::ids::PersonId;
use circles_domain::input::{Email, Password, PersonName};
use circles_domain::local_time::local_time;
use circles_domain::validation::Validator;
use circles_store::model::{Keyset, NewPerson, Person};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, name_cursor, page_mapped, parse_name_cursor};
use super::query::{page_limit, query_parsed};
use super::views::{PersonView, Problem};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPersonRequest {
    #[schema(format = Email)]
    pub email: String,
    #[schema(min_length = 1, format = "text-line", max_length = 200)]
    pub name: String,
    /// admin, moderator, therapist or client.
    #[schema(pattern = "^(admin|moderator|therapist|client)$", example = "therapist")]
    pub role: String,
    /// At least 10 characters; only for a new account (an existing account
    /// keeps its own). Without one, the person cannot sign in until an
    /// operator sets a password.
    #[schema(min_length = 10, format = "password-policy", max_length = 1024)]
    pub password: Option<String>,
}

/// A person just added. The answer is the same whether or not the address
/// already had an account: what was typed, never the account's own name,
/// and no sign of whether they joined at once or were invited.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedPersonView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(value_type = String, example = "therapist")]
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// On the organisation's clock.
    pub created_at_local: String,
}

impl AddedPersonView {
    fn new(p: Person, zone: &str) -> Self {
        let created_at_local = local_time(p.created_at, zone);
        let (id, org_id, created_at) = (p.id.0, p.org_id.0, p.created_at);
        Self { id, org_id, email: p.email, name: p.name, role: p.role, created_at, created_at_local }
    }
}

/// Adds a person with a role. A new e-mail gets an account and joins at
/// once; an existing account is invited instead and joins when it accepts
/// (`/api/v1/me/org-invitations`), keeping its own name and password.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/people", tag = "people", request_body = AddPersonRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = AddedPersonView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_person(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<AddPersonRequest>,
) -> ApiResult<(StatusCode, axum::Json<AddedPersonView>)> {
    let mut v = Validator::default();
    let email = v.check("email", Email::parse(&body.email));
    let name = v.check("name", PersonName::parse(&body.name));
    let role = v.check("role", body.role.parse::<Role>());
    let password = v.check_opt("password", body.password.as_deref().map(Password::parse));
    let (email, name, role, password) = v.done(|| Some((email?, name?, role?, password?)))?;
    member.authorize(Action::AddPerson { role })?;
    let password_hash = match &password {
        Some(p) => Some(state.passwords.hash(p).await),
        None => None,
    };
    let input = NewPerson { email, name, role, password_hash };
    let person = state.store.add_or_invite_person(&member.ctx, member.org_id(), input).await?;
    Ok((StatusCode::CREATED, axum::Json(AddedPersonView::new(person, &member.org.timezone))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeopleFilter {
    /// Only people with this role.
    #[param(pattern = "^(admin|moderator|therapist|client)$")]
    pub role: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "name-cursor")]
    pub cursor: Option<String>,
}

/// People of the organisation by name, optionally of one role. Admins and moderators
/// also see who is invited and has not answered (`status: pending`); a
/// therapist sees the staff and the clients they serve.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/people", tag = "people",
    params(("org_id" = Uuid, Path), PeopleFilter),
    responses((status = 200, body = Page<PersonView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_people(
    State(state): State<AppState>,
    member: Member,
    Query(filter): Query<PeopleFilter>,
) -> ApiResult<axum::Json<Page<PersonView>>> {
    let role = query_parsed::<Role>("role", filter.role.as_deref())?;
    let limit = page_limit(filter.limit, 100, 1000)?;
    let after = parse_name_cursor::<PersonId>(filter.cursor.as_deref())?;
    member.authorize(Action::ListPeople { role_filter: role })?;
    let scope = people_scope(member.role);
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let people = state.store.people_page(&member.ctx, member.org_id(), role, scope, member.person_id, page).await?;
    let zone = &member.org.timezone;
    Ok(axum::Json(page_mapped(people, limit, |p| name_cursor(&p.name, p.id.0), |p| PersonView::new(p, zone))))
}

/// One person. Reading a client's record is audited. A therapist finds only
/// the staff and the clients they serve (a session, hold or group with
/// them); anyone else is 404 to them.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/people/{person_id}", tag = "people",
    params(("org_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 200, body = PersonView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_person(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, person_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<PersonView>> {
    let person = read_person(&state, &member, PersonId(person_id)).await?;
    Ok(axum::Json(PersonView::new(person, &member.org.timezone)))
}

/// One person as `member` may read them (the JSON API's and FHIR's single
/// reads): someone outside their scope is 404, and reading a client's
/// record is audited.
pub async fn read_person(state: &AppState, member: &Member, person_id: PersonId) -> ApiResult<Person> {
    let is_self = person_id == member.person_id;
    let scope = people_scope(member.role);
    // Decide before reading, so a refused read is not recorded as a read.
    let Some(target_role) = state.store.person_role(member.org_id(), person_id).await? else {
        // Not a member: perhaps invited, which those who see everyone see.
        let invited = match scope {
            PeopleScope::Everyone => state.store.invited_person(member.org_id(), person_id).await?,
            PeopleScope::StaffAndServedClients | PeopleScope::Members => None,
        };
        return invited.ok_or_else(|| ApiError::not_found("person"));
    };
    let served = scope == PeopleScope::StaffAndServedClients
        && target_role == Role::Client
        && !is_self
        && state.store.serves(member.org_id(), member.person_id, person_id).await?;
    if !finds_person(member.role, PersonFacts { is_self, role: target_role, served }) {
        return Err(ApiError::not_found("person"));
    }
    member.authorize(Action::ViewPerson { is_self, target_role })?;
    Ok(state.store.person(&member.ctx, member.org_id(), person_id).await?)
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(add_person, list_people))
        .routes(utoipa_axum::routes!(get_person, change_role))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// admin, moderator, therapist or client.
    #[schema(pattern = "^(admin|moderator|therapist|client)$", example = "moderator")]
    pub role: String,
}

/// Gives a member another role (admins only, never their own). Their
/// sessions, groups and history stay as they are.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/people/{person_id}", tag = "people", request_body = RoleChange,
    params(("org_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 200, body = PersonView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_role(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, person_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<RoleChange>,
) -> ApiResult<axum::Json<PersonView>> {
    let person_id = PersonId(person_id);
    // Someone of another organisation is not found, whoever asks.
    if state.store.person_role(member.org_id(), person_id).await?.is_none() {
        return Err(ApiError::not_found("person"));
    }
    member.authorize(Action::ChangeRole { is_self: person_id == member.person_id })?;
    let mut v = Validator::default();
    let role = v.check("role", body.role.parse::<Role>());
    let role = v.done(|| role)?;
    let person = state.store.change_role(&member.ctx, member.org_id(), person_id, role).await?;
    // This server's cached membership would keep the old role for a few seconds.
    state.auth_cache.forget_membership(person.account_id, member.org_id());
    Ok(axum::Json(PersonView::new(person, &member.org.timezone)))
}
