//! An admin's page for the organisation's own rules: what
//! `PATCH /orgs/{org}/settings` offers, with the current choice checked.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::layout::page;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::http::extract::Path;
use crate::routes::org_settings::{OrgSettingsBody, get_settings, update_settings};
use crate::state::AppState;

pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let settings = get_settings(State(state.clone()), ctx.member.clone()).await?.0;
    let waitlist = crate::routes::waitlist::get_settings(State(state.clone()), ctx.member.clone()).await?.0;
    let action = ctx.path("/settings");
    let reminders = settings.reminder_offsets_minutes.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let body = html! {
        h1 { "Organisation settings" }
        div.card { dl.facts {
            dt { "Name" } dd { (ctx.member.org.name) }
            dt { "Time zone" } dd { (ctx.member.org.timezone) " (people may choose their own on their profile)" }
        } }
        h2 { "Attendance" }
        form.stack.card method="post" action=(action) {
            (token_input(&ctx.viewer, &action))
            div.field.checks {
                label for="f-refuse-late" {
                    input #f-refuse-late type="checkbox" name="refuse_late_attendance" value="true"
                        checked[settings.refuse_late_attendance] aria-describedby="f-refuse-late-hint";
                    " Refuse attendance recorded more than 30 days after a session"
                }
                span.hint #f-refuse-late-hint { "When unchecked, late entries are accepted and flagged as late in the audit log." }
            }
            h2 { "Check-ins" }
            div.field {
                label for="f-check-in-k" { "Fewest answers before members see group results" }
                input #f-check-in-k type="number" name="check_in_k" min="3" max="50" required
                    value=(settings.check_in_k) aria-describedby="f-check-in-k-hint";
                span.hint #f-check-in-k-hint {
                    "Below this many answers, members see only their own; staff always see the group's."
                }
            }
            h2 { "Reminders" }
            div.field {
                label for="f-reminders" { "Remind people this many minutes before each session" }
                input #f-reminders type="text" name="reminder_offsets_minutes" required inputmode="numeric"
                    value=(reminders) aria-describedby="f-reminders-hint";
                span.hint #f-reminders-hint {
                    "One to four numbers separated by commas, each from 5 to 20160 (14 days); 1440 is a day. Now: "
                    (settings.reminder_offsets_words.join(" and ")) " before."
                }
            }
            div.actions { button type="submit" { "Save settings" } }
        }
        (super::waitlist_settings::section(&ctx, &waitlist))
    };
    Ok(page(&ctx, "Organisation settings", "Settings", body))
}

pub async fn save(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let back = format!("/orgs/{org}/settings");
    let member = match super::viewer::member_in(&state, &form.viewer.caller, org).await {
        Ok(member) => member,
        Err(e) => return refused(&back, &e),
    };
    // An unchecked box is simply absent from the form.
    let refuse = form.fields.get("refuse_late_attendance") == Some("true");
    let k = match form.fields.get("check_in_k").map(|k| k.trim().parse::<i64>()) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => return refused(&back, &ApiError::field("check_in_k", "must be a whole number")),
    };
    let offsets = match form.fields.get("reminder_offsets_minutes") {
        None => None,
        Some(text) => match text.split(',').map(|m| m.trim().parse::<i64>()).collect::<Result<Vec<_>, _>>() {
            Ok(minutes) => Some(minutes),
            Err(_) => {
                let e = ApiError::field("reminder_offsets_minutes", "must be whole numbers separated by commas");
                return refused(&back, &e);
            }
        },
    };
    let body =
        OrgSettingsBody { refuse_late_attendance: Some(refuse), check_in_k: k, reminder_offsets_minutes: offsets };
    match update_settings(State(state.clone()), member, Json(body)).await {
        Ok(saved) => {
            let text = if saved.0.refuse_late_attendance {
                "Saved: attendance more than 30 days late is now refused."
            } else {
                "Saved: late attendance is accepted and flagged."
            };
            Ok(redirect_with(&back, Flash::ok(text)))
        }
        Err(e) => refused(&back, &e),
    }
}
