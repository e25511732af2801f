//! The pages: server-rendered HTML for every role, on the same use cases and
//! authorization as the API. A page handler parses a form, calls the API's
//! own handler function (so the rules, refusals and problem details are the
//! API's), and renders the view it returns in the viewer's time zone with
//! names. Forms work without JavaScript: POST → 303 → GET.

mod admin;
pub mod assets;
mod check_ins;
mod client;
mod error;
mod form;
mod group_form;
mod group_statistics;
mod groups;
mod home;
mod hours;
mod inbox;
mod join_invitations;
mod layout;
mod messages;
mod my_statistics;
mod names;
mod offer_link;
mod offer_mode;
mod org_settings;
mod outbox;
mod password_reset;
mod profile;
#[cfg(test)]
mod render_tests;
mod room;
mod roster;
mod schedule;
mod series;
mod session;
mod signin;
mod therapist;
pub mod time;
mod timeoff;
mod unsubscribe;
mod viewer;
mod waitlist;
mod waitlist_join;
mod waitlist_settings;
mod waitlist_stats;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::state::AppState;

/// No inline script or style, nothing from elsewhere, forms only to us.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every page response: strict CSP, and never stored (pages show client
/// data) unless the handler said otherwise (the digested assets).
async fn page_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Every page route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(&assets::STYLE_FILE, get(assets::style))
        .route(&assets::SCRIPT_FILE, get(assets::script))
        .route(&assets::LIVE_SCRIPT_FILE, get(assets::live_script))
        .route("/", get(signin::start))
        .route("/signin", post(signin::sign_in))
        .route("/signout", post(signin::sign_out))
        .route("/offer-links/{org}/{token}", get(offer_link::show).post(offer_link::answer))
        .route("/unsubscribe/{token}", get(unsubscribe::show).post(unsubscribe::confirm))
        .route("/invitations-to-join/{invitation}/accept", post(join_invitations::join))
        .route("/invitations-to-join/{invitation}/decline", post(join_invitations::refuse))
        .route("/password-reset", get(password_reset::ask).post(password_reset::send))
        .route("/password-reset/sent", get(password_reset::sent))
        .route("/password-reset/done", get(password_reset::done))
        .route("/password-reset/{token}", get(password_reset::choose).post(password_reset::set))
        .route("/switch", get(signin::switch))
        .route("/profile", get(profile::redirect_home))
        .route("/orgs/{org}", get(home::home))
        .route("/orgs/{org}/schedule", get(schedule::schedule))
        .route("/orgs/{org}/sessions/{session}", get(session::show))
        .route("/orgs/{org}/sessions/{session}/join", post(session::join))
        .route("/orgs/{org}/sessions/{session}/leave", post(session::leave))
        .route("/orgs/{org}/sessions/{session}/cancel", post(session::cancel))
        .route("/orgs/{org}/sessions/{session}/invitations", post(session::invite))
        .route("/orgs/{org}/sessions/{session}/invitations/{invitation}/withdraw", post(session::withdraw))
        .route("/orgs/{org}/sessions/{session}/attendance", get(therapist::attendance).post(therapist::mark))
        .route("/orgs/{org}/sessions/{session}/room", get(room::room))
        .route("/orgs/{org}/sessions/{session}/check-ins", get(check_ins::index))
        .route("/orgs/{org}/sessions/{session}/check-ins/{check_in}", get(check_ins::show).post(check_ins::save))
        .route("/orgs/{org}/sessions/{session}/room/check-in", post(room::check_in))
        .route("/orgs/{org}/sessions/{session}/room/confirm", post(room::confirm))
        .route("/orgs/{org}/sessions/{session}/approve", post(groups::approve))
        .route("/orgs/{org}/sessions/{session}/reject", post(groups::reject))
        .route("/orgs/{org}/join", get(client::joinable))
        .route("/orgs/{org}/my-groups", get(groups::index))
        .route("/orgs/{org}/groups", get(groups::index))
        .route("/orgs/{org}/groups/new", get(group_form::new).post(group_form::create))
        .route("/orgs/{org}/groups/{group}", get(groups::show))
        .route("/orgs/{org}/groups/{group}/settings", get(group_form::settings).post(group_form::save))
        .route("/orgs/{org}/groups/{group}/statistics", get(group_statistics::show))
        .route("/orgs/{org}/groups/{group}/series", get(series::show))
        .route("/orgs/{org}/groups/{group}/series/split", post(series::change))
        .route("/orgs/{org}/groups/{group}/series/generate", post(series::make))
        .route("/orgs/{org}/groups/{group}/series/move/{session}", post(series::move_one))
        .route("/orgs/{org}/groups/{group}/propose", post(groups::propose))
        .route("/orgs/{org}/groups/{group}/members", post(roster::enrol))
        .route("/orgs/{org}/groups/{group}/members/{member}/screening", post(roster::screen))
        .route("/orgs/{org}/groups/{group}/generate", post(roster::generate))
        .route("/orgs/{org}/invitations", get(therapist::invitations))
        .route("/orgs/{org}/invitations/{invitation}/respond", post(therapist::respond))
        .route("/orgs/{org}/time-off", get(timeoff::index).post(timeoff::request))
        .route("/orgs/{org}/time-off/{request}", get(timeoff::decide_page))
        .route("/orgs/{org}/time-off/{request}/approve", post(timeoff::approve))
        .route("/orgs/{org}/time-off/{request}/deny", post(timeoff::deny))
        .route("/orgs/{org}/time-off/{request}/reassign", post(timeoff::reassign))
        .route("/orgs/{org}/hours", get(hours::show).post(hours::save))
        .route("/orgs/{org}/people", get(admin::people).post(admin::add))
        .route("/orgs/{org}/people/{person}", get(admin::person))
        .route("/orgs/{org}/people/{person}/role", post(admin::change_role))
        .route("/orgs/{org}/audit", get(admin::audit))
        .route("/orgs/{org}/settings", get(org_settings::show).post(org_settings::save))
        .route("/orgs/{org}/settings/waitlist", post(waitlist_settings::save))
        .route("/orgs/{org}/my-attendance", get(my_statistics::show))
        .route("/orgs/{org}/waitlist", get(waitlist::index))
        .route("/orgs/{org}/waitlist/stats", get(waitlist_stats::show))
        .route("/orgs/{org}/waitlist/join", post(waitlist_join::join))
        .route("/orgs/{org}/waitlist/{entry}", get(waitlist::entry))
        .route("/orgs/{org}/waitlist/{entry}/offer", post(waitlist::offer))
        .route("/orgs/{org}/waitlist/{entry}/pin", post(waitlist::pin))
        .route("/orgs/{org}/waitlist/{entry}/leave", post(waitlist::leave))
        .route("/orgs/{org}/waitlist/offers/{offer}/{answer}", post(waitlist::answer))
        .route("/orgs/{org}/audit/verify", post(admin::verify))
        .route("/orgs/{org}/notifications", get(inbox::inbox))
        .route("/orgs/{org}/notifications/read-all", post(inbox::read_all))
        .route("/orgs/{org}/notifications/{notification}/read", post(inbox::read))
        .route("/orgs/{org}/profile", get(profile::profile))
        .route("/orgs/{org}/profile/password", post(profile::change_password))
        .route("/orgs/{org}/profile/timezone", post(profile::set_timezone))
        .route("/orgs/{org}/profile/tokens", post(profile::create_token))
        .route("/orgs/{org}/profile/tokens/{token}/revoke", post(profile::revoke_token))
        .route("/orgs/{org}/profile/messages", get(messages::show).post(messages::save))
        .route("/orgs/{org}/profile/feeds", post(messages::create))
        .route("/orgs/{org}/profile/feeds/{feed}/rotate", post(messages::rotate))
        .route("/orgs/{org}/profile/feeds/{feed}/revoke", post(messages::revoke))
        .route("/orgs/{org}/deliveries", get(outbox::deliveries))
        .route("/orgs/{org}/deliveries/{delivery}/retry", post(outbox::retry))
        .route("/orgs/{org}/webhooks", get(outbox::webhooks).post(outbox::add_webhook))
        .route("/orgs/{org}/webhooks/{hook}", get(outbox::log))
        .route("/orgs/{org}/webhooks/{hook}/switch", post(outbox::switch))
        .route("/orgs/{org}/webhooks/{hook}/rotate", post(outbox::rotate))
        .route("/orgs/{org}/webhooks/{hook}/messages/{message}/redeliver", post(outbox::send_again))
        .layer(middleware::from_fn(page_headers))
}
