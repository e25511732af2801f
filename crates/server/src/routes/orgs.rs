use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::authz::Action;
use circles_domain::input::{OrgName, TimeZoneName};
use circles_domain::validation::Validator;
use circles_store::model::NewOrganisation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{OrganisationView, PersonView, Problem};
use crate::auth::{Caller, Member};
use crate::config::OrgCreation;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    #[schema(min_length = 1, example = "Riverside Counselling", format = "text-line", max_length = 200)]
    pub name: String,
    #[schema(example = "America/New_York", format = "time-zone")]
    pub timezone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrg {
    #[serde(flatten)]
    pub organisation: OrganisationView,
    /// The caller, now the organisation's admin.
    pub admin: PersonView,
}

/// Creates an organisation; the caller becomes its admin. Allowed only when
/// the platform lets anyone create organisations (`allow_org_creation`).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organisations", request_body = CreateOrgRequest,
    responses((status = 201, body = CreatedOrg),
        (status = 403, body = Problem, description = "`org_creation_restricted`: only operators create organisations"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateOrgRequest>,
) -> ApiResult<(StatusCode, axum::Json<CreatedOrg>)> {
    if state.settings.allow_org_creation != OrgCreation::Anyone {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "org_creation_restricted",
            "on this server organisations are created by its operators (`circles admin create-org`); \
             ask one to create yours",
        ));
    }
    let mut v = Validator::default();
    let name = v.check("name", OrgName::parse(&body.name));
    let timezone = v.check("timezone", TimeZoneName::parse(&body.timezone));
    let input =
        v.done(|| Some(NewOrganisation { name: name?, timezone: timezone?, admin: caller.principal.account_id }))?;
    let (org, admin) = state.store.create_organisation(&caller.ctx(), input).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedOrg { admin: PersonView::new(admin, &org.timezone), organisation: org.into() }),
    ))
}

/// One organisation the caller belongs to.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}", tag = "organisations",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = OrganisationView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_org(State(_state): State<AppState>, member: Member) -> ApiResult<axum::Json<OrganisationView>> {
    member.authorize(Action::ViewOrganisation)?;
    Ok(axum::Json(member.org.into()))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_org))
        .routes(utoipa_axum::routes!(get_org))
}
