//! A client puts themself on a waitlist, where the organisation lets
//! clients do so: for a one-on-one appointment (with a therapist they name,
//! or anyone) or a place in one of their groups, with the days and hours
//! that suit them and the therapist they would like — or, from the list of
//! sessions to join, a seat in one full session. The API decides
//! everything; a refusal names the field.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::names::Names;
use super::viewer::{Ctx, Flash};
use crate::http::extract::{Json, Path, Query};
use crate::routes::groups::{GroupQuery, list_groups};
use crate::routes::waitlist::{CreateEntryRequest, WindowBody, create_entry};
use crate::state::AppState;

const DAYS: [(&str, &str); 7] = [
    ("monday", "Monday"),
    ("tuesday", "Tuesday"),
    ("wednesday", "Wednesday"),
    ("thursday", "Thursday"),
    ("friday", "Friday"),
    ("saturday", "Saturday"),
    ("sunday", "Sunday"),
];

/// The join form for a client's waitlist page, or a sentence saying staff
/// add clients when the organisation keeps that to them.
pub async fn form(state: &AppState, ctx: &Ctx) -> PageResult<Markup> {
    if !state
        .store
        .waitlist_settings(ctx.member.org_id())
        .await
        .map_err(crate::http::error::ApiError::from)?
        .clients_may_join
    {
        return Ok(html! { p.muted { "Staff put clients on waitlists here; ask your therapist or the front desk." } });
    }
    let names = Names::therapists(state, ctx).await?;
    let therapists = names.with_role(circles_domain::Role::Therapist);
    let query = GroupQuery { include_archived: None, limit: Some(1000), cursor: None };
    let groups = list_groups(State(state.clone()), ctx.member.clone(), Query(query)).await?.0.items;
    let action = ctx.path("/waitlist/join");
    Ok(html! {
        form.stack.card method="post" action=(action) aria-labelledby="join-heading" {
            h2 #join-heading { "Join a waitlist" }
            (token_input(&ctx.viewer, &action))
            div.field {
                label for="f-wait-for" { "I would like" }
                select #f-wait-for name="wait_for" {
                    option value="one_on_one" { "a one-on-one appointment" }
                    @for g in &groups { option value={"group:" (g.id)} { "a place in " (g.name) } }
                }
            }
            div.field {
                label for="f-therapist" { "With" }
                select #f-therapist name="therapist_id" aria-describedby="f-therapist-hint" {
                    option value="" { "any therapist" }
                    @for t in &therapists { option value=(t.id) { (t.name) } }
                }
                span.hint #f-therapist-hint { "For a one-on-one appointment: only this therapist, or whoever is free." }
            }
            div.field {
                label for="f-duration" { "Length of a one-on-one appointment" }
                select #f-duration name="duration_minutes" {
                    @for m in [30, 45, 50, 60, 90] { option value=(m) selected[m == 50] { (m) " minutes" } }
                }
            }
            fieldset {
                legend { "Days that suit me (none: any day)" }
                div.checks {
                    @for (code, day) in DAYS { label { input type="checkbox" name="weekdays" value=(code); " " (day) } }
                }
            }
            fieldset {
                legend { "Hours that suit me (optional; times in " (ctx.zone) ")" }
                div.field { label for="f-from" { "From" } input #f-from type="time" name="window_start"; }
                div.field { label for="f-to" { "Until" } input #f-to type="time" name="window_end"; }
            }
            div.field {
                label for="f-preferred" { "Therapist I would prefer (optional)" }
                select #f-preferred name="preferred_therapist_id" {
                    option value="" { "no preference" }
                    @for t in &therapists { option value=(t.id) { (t.name) } }
                }
            }
            div.actions { button type="submit" { "Join the waitlist" } }
        }
    })
}

fn id(fields: &super::form::Fields, name: &str) -> Option<Uuid> {
    fields.get(name).filter(|v| !v.is_empty()).and_then(|v| v.parse().ok())
}

/// `POST /orgs/{org}/waitlist/join`: the client joins a waitlist.
pub async fn join(State(state): State<AppState>, Path(org): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let ctx = Ctx::load(&state, viewer, org).await?;
    let back = ctx.path("/waitlist");
    let wait_for = fields.get("wait_for").unwrap_or("one_on_one");
    let group = wait_for.strip_prefix("group:").and_then(|g| g.parse().ok());
    // A seat in one full session, asked for from the list of sessions to join.
    let session: Option<Uuid> = wait_for.strip_prefix("session:").and_then(|s| s.parse().ok());
    let one_on_one = group.is_none() && session.is_none();
    let windows = match (fields.text("window_start"), fields.text("window_end")) {
        (Some(start), Some(end)) if !start.is_empty() || !end.is_empty() => vec![WindowBody { start, end }],
        _ => Vec::new(),
    };
    let body = CreateEntryRequest {
        client_id: None,
        target: match (group, session) {
            (Some(_), _) => "GROUP".into(),
            (None, Some(_)) => "GROUP_SESSION".into(),
            (None, None) => "ONE_ON_ONE".into(),
        },
        group_id: group,
        session_id: session,
        therapist_id: if one_on_one { id(&fields, "therapist_id") } else { None },
        modality: None,
        duration_minutes: if one_on_one { fields.get("duration_minutes").and_then(|d| d.parse().ok()) } else { None },
        urgency: None,
        preferred_therapist_id: id(&fields, "preferred_therapist_id"),
        weekdays: fields.all("weekdays").into_iter().map(str::to_owned).collect(),
        windows,
        earliest_date: None,
        latest_date: None,
        referral: false,
        notes: None,
        auto_match: None,
    };
    match create_entry(State(state.clone()), ctx.member.clone(), Json(body)).await {
        Ok(_) => Ok(redirect_with(
            &back,
            Flash::ok("You are on the waitlist. When a place frees up, it is held here for you."),
        )),
        Err(e) => match e.errors.first().and_then(|f| label_of(&f.field).map(|l| (l, &f.reason))) {
            // A refused field is named as the form labels it.
            Some((label, reason)) => Ok(redirect_with(&back, Flash::error(format!("{label}: {reason}.")))),
            None => refused(&back, &e),
        },
    }
}

/// The form's label for a field the API names.
fn label_of(field: &str) -> Option<&'static str> {
    Some(match field {
        f if f.starts_with("weekdays") => "Days that suit me",
        f if f.ends_with(".start") => "From",
        f if f.ends_with(".end") => "Until",
        "duration_minutes" => "Length of a one-on-one appointment",
        "therapist_id" => "With",
        "preferred_therapist_id" => "Therapist I would prefer",
        "group_id" | "session_id" => "I would like",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::label_of;

    #[test]
    fn refused_fields_are_named_as_the_form_labels_them() {
        assert_eq!(label_of("windows[0].end"), Some("Until"));
        assert_eq!(label_of("windows[0].start"), Some("From"));
        assert_eq!(label_of("weekdays[2]"), Some("Days that suit me"));
        assert_eq!(label_of("notes"), None);
    }
}
