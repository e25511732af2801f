//! The HTTP API: one module per resource, assembled into one router whose
//! OpenAPI document is generated from the same handler annotations.

pub mod audit;
pub mod auth;
pub mod availability;
pub(crate) mod availability_search;
mod body_docs;
pub mod check_in_answers;
pub mod check_in_views;
pub mod check_ins;
mod closed_sets;
pub mod deliveries;
mod error_docs;
pub mod fhir;
pub mod group_statistics;

pub mod events;
pub mod feeds;
pub mod group_sessions;
pub mod groups;
pub mod health;
pub mod holds;
pub mod invitations;
mod labels;
pub mod me;
pub mod my_groups;
pub mod notifications;
pub mod offers;
pub mod org_invitations;
pub mod org_settings;
pub mod orgs;
pub mod page;
pub mod password;
pub mod password_reset;
pub mod people;
pub mod preferences;
pub mod presence;
pub mod query;
pub mod roster;
pub mod schedule;
pub mod seat_control;
pub mod seats;
pub mod series;
pub mod sessions;
mod text_docs;
pub mod time_off;
pub mod views;
pub mod waitlist;
pub mod waitlist_suggestions;
pub mod waitlist_views;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Circles", description = "Group therapy scheduling: sessions, seats, invitations, availability — never double-booked."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth"), (name = "me"), (name = "organisations"), (name = "people"), (name = "sessions"),
        (name = "holds"), (name = "groups"), (name = "invitations"), (name = "seats"), (name = "series"), (name = "notifications"),
        (name = "schedule"), (name = "availability"), (name = "time off"), (name = "audit"), (name = "operations"), (name = "waitlist"),
        (name = "deliveries"), (name = "events"),
        (name = "fhir", description = "FHIR R4 scheduling (application/fhir+json); errors are OperationOutcomes"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, with its OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(auth::routes())
        .merge(me::routes())
        .merge(org_invitations::routes())
        .merge(password::routes())
        .merge(password_reset::routes())
        .merge(orgs::routes())
        .merge(org_settings::routes())
        .merge(people::routes())
        .merge(sessions::routes())
        .merge(schedule::routes())
        .merge(my_groups::routes())
        .merge(holds::routes())
        .merge(groups::routes())
        .merge(roster::routes())
        .merge(group_statistics::routes())
        .merge(series::routes())
        .merge(group_sessions::routes())
        .merge(seats::routes())
        .merge(seat_control::routes())
        .merge(invitations::routes())
        .merge(notifications::routes())
        .merge(availability::routes())
        .merge(time_off::routes())
        .merge(audit::routes())
        .merge(waitlist::routes())
        .merge(waitlist_suggestions::routes())
        .merge(offers::routes())
        .merge(deliveries::routes())
        .merge(preferences::routes())
        .merge(events::routes())
        .merge(presence::routes())
        .merge(check_ins::routes())
        .merge(check_in_answers::routes())
        .merge(fhir::routes())
        .merge(feeds::routes())
        .merge(webhooks::routes())
}

/// The router with the OpenAPI document served at `/api/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, mut openapi) = api().split_for_parts();
    error_docs::document_shared_errors(&mut openapi);
    closed_sets::document_closed_sets(&mut openapi);
    text_docs::document_text_rules(&mut openapi);
    let document = Arc::new(openapi.to_pretty_json().expect("the OpenAPI document serialises"));
    router.route(
        "/api/openapi.json",
        get(move || {
            let document = document.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], document.as_str().to_owned()) }
        }),
    )
}
