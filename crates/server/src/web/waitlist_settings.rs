//! The organisation's waitlist rules on its settings page: how freed seats
//! are offered, for how long, after what grace, and whether clients may
//! join waitlists themselves. Saving sends `PUT /waitlist/settings` with
//! the weights left as they are.

use axum::extract::State;
use axum::response::Response;
use circles_domain::waitlist::WaitlistSettings;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Errors, Input, Submitted, redirect_with, refused, token_input};
use super::offer_mode;
use super::viewer::{Ctx, Flash};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path};
use crate::routes::waitlist::{get_settings, put_settings};
use crate::state::AppState;

/// The section of the settings page, filled in with `settings`.
pub fn section(ctx: &Ctx, settings: &WaitlistSettings) -> Markup {
    let action = ctx.path("/settings/waitlist");
    let errors = Errors::none();
    let expiry = settings.offer_expiry_minutes.to_string();
    let grace = settings.grace_seconds.to_string();
    html! {
        h2 { "Waitlist" }
        form.stack.card method="post" action=(action) {
            (token_input(&ctx.viewer, &action))
            (offer_mode::fields(Some(settings.mode), None, &errors, "mode"))
            p.hint { "A group may choose its own way in its settings." }
            (Input::new("offer_expiry_minutes", "Minutes an offer stays open").kind("number").value(&expiry)
                .hint("From 5 minutes to 7 days (10080).").required().render(&errors))
            (Input::new("grace_seconds", "Seconds to wait after a cancellation before offering the seat").kind("number")
                .value(&grace).hint("An undone cancellation within this time sends nothing.").required().render(&errors))
            div.field.checks {
                label for="f-clients-may-join" {
                    input #f-clients-may-join type="checkbox" name="clients_may_join" value="true"
                        checked[settings.clients_may_join];
                    " Clients may put themselves on waitlists"
                }
            }
            div.actions { button type="submit" { "Save waitlist settings" } }
        }
    }
}

fn number(submitted: &Submitted, name: &str) -> Result<i64, ApiError> {
    submitted
        .fields
        .text(name)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError::field(name, "must be a whole number"))
}

pub async fn save(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let back = format!("/orgs/{org}/settings");
    let member = match super::viewer::member_in(&state, &form.viewer.caller, org).await {
        Ok(member) => member,
        Err(e) => return refused(&back, &e),
    };
    let mut settings = match get_settings(State(state.clone()), member.clone()).await {
        Ok(current) => current.0,
        Err(e) => return refused(&back, &e),
    };
    let sent = offer_mode::sent(&form.fields, "mode")
        .and_then(|mode| Ok((mode, number(&form, "offer_expiry_minutes")?, number(&form, "grace_seconds")?)));
    match sent {
        Ok((mode, expiry, grace)) => {
            settings.mode = mode.unwrap_or(settings.mode);
            settings.offer_expiry_minutes = expiry;
            settings.grace_seconds = grace;
        }
        Err(e) => return refused(&back, &e),
    }
    settings.clients_may_join = form.fields.get("clients_may_join") == Some("true");
    match put_settings(State(state.clone()), member, Json(settings)).await {
        Ok(_) => Ok(redirect_with(&back, Flash::ok("Saved the waitlist settings."))),
        Err(e) => refused(&back, &e),
    }
}
