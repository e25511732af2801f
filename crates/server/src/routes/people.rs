use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::Role;
use circles_domain::authz::Action;
use circles_domain::ids::PersonId;
use circles_domain::input::{Email, Password, PersonName};
use circles_domain::validation::Validator;
use circles_store::model::NewPerson;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::query::query_parsed;
use super::views::{Items, PersonView, Problem};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPersonRequest {
    #[schema(format = Email)]
    pub email: String,
    #[schema(min_length = 1)]
    pub name: String,
    /// admin, moderator, therapist or client.
    #[schema(pattern = "^(admin|moderator|therapist|client)$", example = "therapist")]
    pub role: String,
    /// At least 10 characters; only for a new account. Without one, the
    /// person cannot sign in until an operator sets a password.
    #[schema(min_length = 10)]
    pub password: Option<String>,
}

/// Adds a person with a role, creating their account if the e-mail is new.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/people", tag = "people", request_body = AddPersonRequest,
    params(("org_id" = Uuid, Path)),
    responses((status = 201, body = PersonView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_person(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<AddPersonRequest>,
) -> ApiResult<(StatusCode, axum::Json<PersonView>)> {
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
    let person =
        state.store.add_person(&member.ctx, member.org_id(), NewPerson { email, name, role, password_hash }).await?;
    Ok((StatusCode::CREATED, axum::Json(person.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeopleFilter {
    /// Only people with this role.
    #[param(pattern = "^(admin|moderator|therapist|client)$")]
    pub role: Option<String>,
}

/// People of the organisation, optionally of one role.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/people", tag = "people",
    params(("org_id" = Uuid, Path), PeopleFilter),
    responses((status = 200, body = Items<PersonView>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_people(
    State(state): State<AppState>,
    member: Member,
    Query(filter): Query<PeopleFilter>,
) -> ApiResult<axum::Json<Items<PersonView>>> {
    let role = query_parsed::<Role>("role", filter.role.as_deref())?;
    member.authorize(Action::ListPeople { role_filter: role })?;
    Ok(axum::Json(Items::of(state.store.list_people(&member.ctx, member.org_id(), role).await?)))
}

/// One person. Reading a client's record is audited.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/people/{person_id}", tag = "people",
    params(("org_id" = Uuid, Path), ("person_id" = Uuid, Path)),
    responses((status = 200, body = PersonView), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_person(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, person_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<PersonView>> {
    let person_id = PersonId(person_id);
    // Decide before reading, so a refused read is not recorded as a read.
    let target_role =
        state.store.person_role(member.org_id(), person_id).await?.ok_or_else(|| ApiError::not_found("person"))?;
    member.authorize(Action::ViewPerson { is_self: person_id == member.person_id, target_role })?;
    let person = state.store.person(&member.ctx, member.org_id(), person_id).await?;
    Ok(axum::Json(person.into()))
}
