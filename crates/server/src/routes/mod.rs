//! The HTTP API: one module per resource, assembled into one router whose
//! OpenAPI document is generated from the same handler annotations.

pub mod audit;
pub mod auth;
pub mod availability;
mod availability_search;
pub mod deliveries;
mod error_docs;
pub mod feeds;
pub mod group_sessions;
pub mod groups;
pub mod health;
pub mod holds;
pub mod invitations;
pub mod me;
pub mod my_groups;
pub mod notifications;
pub mod offers;
pub mod org_invitations;
pub mod org_settings;
pub mod orgs;
pub mod page;
pub mod password;
pub mod people;
pub mod preferences;
pub mod query;
pub mod roster;
pub mod schedule;
pub mod seats;
pub mod series;
pub mod sessions;
pub mod time_off;
pub mod views;
pub mod waitlist;
pub mod waitlist_views;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Circles", description = "Group therapy scheduling: sessions, seats, invitations, availability — never double-booked."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth"), (name = "me"), (name = "organisations"), (name = "people"), (name = "sessions"),
        (name = "holds"), (name = "groups"), (name = "invitations"), (name = "seats"), (name = "series"), (name = "notifications"),
        (name = "schedule"), (name = "availability"), (name = "time off"), (name = "audit"), (name = "operations"), (name = "waitlist"),
        (name = "deliveries"),
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
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(me::me))
        .routes(routes!(me::create_token, me::list_tokens))
        .routes(routes!(me::revoke_token))
        .routes(routes!(org_invitations::list))
        .routes(routes!(org_invitations::accept))
        .routes(routes!(org_invitations::decline))
        .routes(routes!(password::change_password))
        .routes(routes!(orgs::create_org))
        .routes(routes!(orgs::get_org))
        .routes(routes!(org_settings::update_settings))
        .routes(routes!(people::add_person, people::list_people))
        .routes(routes!(people::get_person))
        .routes(routes!(sessions::create_session, sessions::list_sessions))
        .routes(routes!(sessions::get_session))
        .routes(routes!(sessions::cancel_session))
        .routes(routes!(schedule::org_schedule))
        .routes(routes!(schedule::my_schedule))
        .routes(routes!(my_groups::my_memberships))
        .routes(routes!(holds::create_hold))
        .routes(routes!(holds::get_hold, holds::release_hold))
        .routes(routes!(holds::confirm_hold))
        .routes(routes!(groups::create_group, groups::list_groups))
        .routes(routes!(groups::get_group, groups::update_group))
        .routes(routes!(groups::archive_group))
        .routes(routes!(groups::add_member, groups::list_members))
        .routes(routes!(roster::update_member))
        .routes(routes!(roster::cancel_future_seats))
        .routes(routes!(roster::seat_upcoming))
        .routes(routes!(roster::member_stats))
        .routes(routes!(roster::group_stats))
        .routes(routes!(series::generate))
        .routes(routes!(series::split))
        .routes(routes!(series::reschedule))
        .routes(routes!(group_sessions::invite))
        .routes(routes!(group_sessions::withdraw))
        .routes(routes!(group_sessions::approve))
        .routes(routes!(group_sessions::reject))
        .routes(routes!(seats::join))
        .routes(routes!(seats::leave))
        .routes(routes!(seats::attendance))
        .routes(routes!(invitations::list))
        .routes(routes!(invitations::respond))
        .routes(routes!(notifications::inbox))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(notifications::mark_all_read))
        .routes(routes!(availability::set_availability, availability::get_availability))
        .routes(routes!(availability::search))
        .routes(routes!(availability::free_at))
        .routes(routes!(time_off::request_time_off, time_off::list_time_off))
        .routes(routes!(time_off::get_time_off))
        .routes(routes!(time_off::affected))
        .routes(routes!(time_off::approve))
        .routes(routes!(time_off::deny))
        .routes(routes!(time_off::cancel))
        .routes(routes!(time_off::coverage))
        .routes(routes!(time_off::reassign))
        .routes(routes!(time_off::cancel_affected))
        .routes(routes!(audit::list_events))
        .routes(routes!(waitlist::create_entry, waitlist::list_entries))
        .routes(routes!(waitlist::stats))
        .routes(routes!(waitlist::get_settings, waitlist::put_settings))
        .routes(routes!(waitlist::get_entry, waitlist::update_entry, waitlist::cancel_entry))
        .routes(routes!(waitlist::entry_suggestions))
        .routes(routes!(waitlist::freed_suggestions))
        .routes(routes!(offers::send_offer, offers::list_offers))
        .routes(routes!(offers::get_offer))
        .routes(routes!(offers::accept))
        .routes(routes!(offers::decline))
        .routes(routes!(offers::withdraw))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::retry_delivery))
        .routes(routes!(preferences::get_preferences, preferences::put_preferences))
        .routes(routes!(feeds::create_feed, feeds::list_feeds))
        .routes(routes!(feeds::rotate_feed))
        .routes(routes!(feeds::revoke_feed))
        .routes(routes!(feeds::fetch_feed))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::update_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::webhook_log))
        .routes(routes!(webhooks::redeliver))
}

/// The router with the OpenAPI document served at `/api/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, mut openapi) = api().split_for_parts();
    error_docs::document_shared_errors(&mut openapi);
    let document = Arc::new(openapi.to_pretty_json().expect("the OpenAPI document serialises"));
    router.route(
        "/api/openapi.json",
        get(move || {
            let document = document.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], document.as_str().to_owned()) }
        }),
    )
}
