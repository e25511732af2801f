//! A therapist's invitations (accept, or decline with a message) and the
//! attendance sheet of a session: one form for every seat.

use super::viewer::member_in;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use uuid::Uuid;

use super::error::{PageResult, sentence};
use super::form::{Errors, Fields, Submitted, redirect_with, refused, token_input};
use super::layout::{page, page_with_status};
use super::schedule::{modality, status_tag};
use super::session::{invitation_words, load, seat_words};
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::routes::invitations::{InvitationQuery, RespondRequest, list, respond as api_respond};
use crate::routes::seats::{AttendanceLine, attendance as api_attendance};
use crate::state::AppState;

pub async fn invitations(State(state): State<AppState>, viewer: Viewer, Path(org): Path<Uuid>) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let all = list(
        State(state.clone()),
        ctx.member.clone(),
        Query(InvitationQuery { status: None, kind: None, limit: None, cursor: None }),
    )
    .await?
    .0
    .items;
    let now = state.clock.now();
    let (waiting, answered): (Vec<_>, Vec<_>) =
        all.iter().filter(|i| i.session.ends_at > now).partition(|i| i.status == "PENDING");
    let body = html! {
        h1 { "Invitations" }
        h2 { "Waiting for your answer" }
        div #invitations-waiting data-live-refresh="NOTIFICATION" {
        @if waiting.is_empty() { p.empty { "No invitation is waiting." } }
        @for i in &waiting {
            @let action = ctx.path(&format!("/invitations/{}/respond", i.id));
            section.card aria-labelledby={"i-" (i.id)} {
                h3 id={"i-" (i.id)} { a href=(ctx.path(&format!("/sessions/{}", i.session_id))) { (i.session.title) } }
                p { (time::span(i.session.starts_at, i.session.ends_at, &ctx.tz)) " · " (modality(&i.session.modality))
                    " · " (i.session.capacity) " seats " (status_tag(&i.session.status)) }
                form.stack method="post" action=(action) {
                    (token_input(&ctx.viewer, &action))
                    div.field {
                        label for={"m-" (i.id)} { "Message to the moderator (optional; a reason when declining)" }
                        textarea id={"m-" (i.id)} name="message" {}
                    }
                    div.actions {
                        button type="submit" name="action" value="accept" { "Accept" }
                        button.secondary type="submit" name="action" value="decline" { "Decline" }
                    }
                }
            }
        }
        }
        h2 { "Answered" }
        @if answered.is_empty() { p.empty { "Nothing answered yet." } }
        ul.plain {
            @for i in &answered {
                li {
                    a href=(ctx.path(&format!("/sessions/{}", i.session_id))) { (i.session.title) }
                    " — " (time::span(i.session.starts_at, i.session.ends_at, &ctx.tz)) " — " (invitation_words(&i.status))
                }
            }
        }
    };
    Ok(page(&ctx, "Invitations", "Invitations", body))
}

/// A clash in words: when the therapist is already busy, in their zone.
pub fn refusal(e: &ApiError, tz: &jiff::tz::TimeZone) -> String {
    let mut text = sentence(&e.detail);
    if let Some(conflicts) = e.extra.get("conflicts").and_then(|c| c.as_array()) {
        let busy: Vec<String> = conflicts
            .iter()
            .filter_map(|c| {
                let start = c.get("starts_at")?.as_str()?.parse().ok()?;
                let end = c.get("ends_at")?.as_str()?.parse().ok()?;
                let what = match c.get("kind").and_then(|k| k.as_str()) {
                    Some("time_off") => "time off",
                    Some("hold") => "a held slot",
                    _ => "another session",
                };
                let title = c.get("title").and_then(|t| t.as_str()).map(|t| format!("“{t}”, ")).unwrap_or_default();
                Some(format!("{title}{what} {}", time::span(start, end, tz)))
            })
            .collect();
        if !busy.is_empty() {
            text = format!("{text} Already booked then: {}.", busy.join("; "));
        }
    }
    text
}

pub async fn respond(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let back = format!("/orgs/{org}/invitations");
    let action = form.fields.get("action").unwrap_or_default().to_owned();
    let request = RespondRequest { action: action.clone(), message: form.fields.text("message") };
    let viewer = form.viewer;
    match api_respond(
        State(state.clone()),
        member_in(&state, &viewer.caller, org).await?,
        Path((org, id)),
        Json(request),
    )
    .await
    {
        Ok(answered) => {
            let when = time::when(answered.0.session.starts_at, &time::zone(&answered.0.session.timezone));
            let text = if action == "accept" {
                format!("You accepted “{}” on {when}.", answered.0.session.title)
            } else {
                format!("You declined “{}”; the moderator is told.", answered.0.session.title)
            };
            Ok(redirect_with(&back, Flash::ok(text)))
        }
        Err(e) if e.status == StatusCode::CONFLICT => {
            let ctx = Ctx::load(&state, viewer, org).await?;
            Ok(redirect_with(&back, Flash::error(refusal(&e, &ctx.tz))))
        }
        Err(e) => refused(&back, &e),
    }
}

const MARKS: [(&str, &str); 3] =
    [("ATTENDED", "Attended"), ("NO_SHOW", "Did not come"), ("LATE_CANCELLED", "Cancelled late")];

async fn sheet(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    status: StatusCode,
    sent: Option<&Fields>,
    errors: &Errors,
) -> PageResult<Response> {
    // Seats carry their clients' names, so the sheet needs no list of people
    // (a second audited read on every request).
    let session = load(state, ctx, id).await?;
    let action = ctx.path(&format!("/sessions/{id}/attendance"));
    let seats: Vec<_> = session.seats.iter().filter(|s| !s.status.starts_with("CANCELLED")).collect();
    // Filled in from the live room: who checked in attended, and how late.
    let present = state
        .store
        .presence(&ctx.member.ctx, ctx.member.org_id(), circles_domain::ids::SessionId(id))
        .await
        .map_err(crate::http::error::ApiError::from)?;
    let checked_in = |client: Uuid| present.iter().find(|p| p.person_id.0 == client);
    let unmarked = |status: &str| status == "REGISTERED" || status == "CONFIRMED";
    let prefilled = |seat: &&crate::routes::sessions::SeatView| match checked_in(seat.client_id) {
        _ if !unmarked(&seat.status) => seat.status.clone(),
        Some(_) => "ATTENDED".into(),
        None if !present.is_empty() => "NO_SHOW".into(),
        None => "ATTENDED".into(),
    };
    let late_from_room = |client: Uuid| checked_in(client).map(|p| p.minutes_late.to_string());
    let sent_value = |field: &str, i: usize| sent.and_then(|f| f.all(field).get(i).map(|v| v.to_string()));
    let body = html! {
        h1 { "Attendance: " (session.title) }
        p.muted { (time::span(session.starts_at, session.ends_at, &ctx.tz)) " · " (seats.len()) " seats" }
        (errors.summary())
        @if seats.is_empty() { p.empty { "Nobody holds a seat on this session." } }
        @else {
            form method="post" action=(action) {
                (token_input(&ctx.viewer, &action))
                div.table-wrap { table.sheet {
                    caption.muted { "One line per participant; everything is saved together." }
                    thead { tr {
                        th scope="col" { "Participant" } th scope="col" { "Attendance" }
                        th scope="col" { "Minutes late" } th scope="col" { "Minutes left early" } th scope="col" { "Note" }
                    } }
                    tbody {
                        @for (i, seat) in seats.iter().enumerate() {
                            @let name = seat.client_name.as_str();
                            @let current = sent_value("status", i).unwrap_or_else(|| prefilled(seat));
                            tr {
                                th scope="row" {
                                    (name)
                                    input type="hidden" name="client_id" value=(seat.client_id);
                                    br; span.muted { "now: " (seat_words(&seat.status)) }
                                }
                                td data-label="Attendance" {
                                    select name="status" aria-label={"Attendance of " (name)} {
                                        @for (value, label) in MARKS { option value=(value) selected[current == value] { (label) } }
                                    }
                                    (row_error(errors, i, "status"))
                                }
                                td data-label="Minutes late" {
                                    input type="number" min="0" max="1440" name="minutes_late" aria-label={"Minutes " (name) " was late"}
                                        value=(sent_value("minutes_late", i).unwrap_or_else(|| seat.minutes_late.map(|m| m.to_string()).or_else(|| late_from_room(seat.client_id)).unwrap_or_default()));
                                    (row_error(errors, i, "minutes_late"))
                                }
                                td data-label="Minutes left early" {
                                    input type="number" min="0" max="1440" name="minutes_left_early" aria-label={"Minutes " (name) " left early"}
                                        value=(sent_value("minutes_left_early", i).unwrap_or_else(|| seat.minutes_left_early.map(|m| m.to_string()).unwrap_or_default()));
                                    (row_error(errors, i, "minutes_left_early"))
                                }
                                td data-label="Note" {
                                    input type="text" name="note" aria-label={"Note about " (name)}
                                        value=(sent_value("note", i).unwrap_or_else(|| seat.note.clone().unwrap_or_default()));
                                    (row_error(errors, i, "note"))
                                }
                            }
                        }
                    }
                } }
                div.actions { button type="submit" { "Save attendance" } a href=(ctx.path(&format!("/sessions/{id}"))) { "Back to the session" } }
            }
        }
    };
    Ok(page_with_status(ctx, status, "Attendance", "Schedule", body))
}

fn row_error(errors: &Errors, i: usize, field: &str) -> maud::Markup {
    html! { @if let Some(e) = errors.field(&format!("[{i}].{field}")) { br; span.error { (e) } } }
}

pub async fn attendance(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    sheet(&state, &ctx, id, StatusCode::OK, None, &Errors::none()).await
}

fn minutes(raw: Option<&&str>) -> Result<Option<i64>, ()> {
    match raw.map(|r| r.trim()).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => r.parse().map(Some).map_err(|_| ()),
    }
}

fn lines(fields: &Fields) -> Result<Vec<AttendanceLine>, ApiError> {
    let clients = fields.all("client_id");
    let (statuses, late, early, notes) =
        (fields.all("status"), fields.all("minutes_late"), fields.all("minutes_left_early"), fields.all("note"));
    let mut out = Vec::with_capacity(clients.len());
    for (i, client) in clients.iter().enumerate() {
        let number = |list: &[&str], field: &str| {
            minutes(list.get(i))
                .map_err(|_| ApiError::field(&format!("[{i}].{field}"), "must be a whole number of minutes"))
        };
        out.push(AttendanceLine {
            client_id: client
                .parse()
                .map_err(|_| ApiError::field(&format!("[{i}].client_id"), "is not a participant"))?,
            status: statuses.get(i).copied().unwrap_or_default().to_owned(),
            minutes_late: number(&late, "minutes_late")?,
            minutes_left_early: number(&early, "minutes_left_early")?,
            note: notes.get(i).map(|n| n.trim()).filter(|n| !n.is_empty()).map(str::to_owned),
        });
    }
    Ok(out)
}

pub async fn mark(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let Submitted { viewer, fields } = form;
    let outcome = match lines(&fields) {
        Ok(lines) => api_attendance(
            State(state.clone()),
            member_in(&state, &viewer.caller, org).await?,
            Path((org, id)),
            Json(lines),
        )
        .await
        .map(|s| s.0.items.len()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(count) => Ok(redirect_with(
            &format!("/orgs/{org}/sessions/{id}"),
            Flash::ok(format!("Attendance saved for {count} participants.")),
        )),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let ctx = Ctx::load(&state, viewer, org).await?;
            sheet(&state, &ctx, id, e.status, Some(&fields), &Errors::from_problem(&e)).await
        }
        Err(e) => refused(&format!("/orgs/{org}/sessions/{id}/attendance"), &e),
    }
}
