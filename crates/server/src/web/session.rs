//! One session: when and where, its therapists and their invitation
//! states, its seats (all of them for staff, one's own for a client), and
//! what the viewer can do with it.

use super::viewer::member_in;
use axum::extract::State;
use axum::response::Response;
use circles_domain::Role;
use maud::{Markup, html};
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::layout::page;
use super::names::Names;
use super::schedule::{modality, status_tag};
use super::time;
use super::viewer::{Ctx, Flash, Viewer};
use crate::http::extract::{Json, Path};
use crate::routes::group_sessions::{self, InviteRequest};
use crate::routes::seats;
use crate::routes::sessions::{CancelRequest, SessionView, cancel_session, get_session};
use crate::state::AppState;

/// The session as the API shows it to the viewer. One the viewer may not
/// see answers like one that does not exist: a page never confirms that
/// someone else's appointment is there.
pub async fn load(state: &AppState, ctx: &Ctx, id: Uuid) -> PageResult<SessionView> {
    match get_session(State(state.clone()), ctx.member.clone(), Path((ctx.org(), id))).await {
        Ok(found) => Ok(found.0),
        Err(e) if e.status == axum::http::StatusCode::FORBIDDEN => Err(super::error::PageError::not_found()),
        Err(e) => Err(e.into()),
    }
}

pub fn seat_words(status: &str) -> &'static str {
    match status {
        "REGISTERED" => "registered",
        "CONFIRMED" => "confirmed",
        "ATTENDED" => "attended",
        "NO_SHOW" => "did not come",
        "LATE_CANCELLED" => "cancelled late",
        "CANCELLED_BY_CLIENT" => "cancelled by the client",
        "CANCELLED_BY_PROVIDER" => "cancelled by the clinic",
        _ => "other",
    }
}

pub fn invitation_words(status: &str) -> &'static str {
    match status {
        "PENDING" => "invited, no answer yet",
        "ACCEPTED" => "accepted",
        "DECLINED" => "declined",
        "WITHDRAWN" => "withdrawn",
        _ => "other",
    }
}

/// A seat that holds the client's time (they are coming).
pub fn holds_seat(status: &str) -> bool {
    matches!(status, "REGISTERED" | "CONFIRMED")
}

fn facts(ctx: &Ctx, s: &SessionView) -> Markup {
    html! {
        dl.facts {
            dt { "When" } dd { (time::span(s.starts_at, s.ends_at, &ctx.tz)) }
            dt { "Status" } dd { (status_tag(&s.status)) }
            dt { "Kind" } dd { @if s.kind == "one_on_one" { "One-on-one" } @else if s.kind == "instant" { "Drop-in group" } @else { "Group" } }
            dt { "Where" } dd {
                (modality(&s.modality))
                @if let Some(link) = &s.virtual_link { " · " a href=(link) rel="noopener noreferrer" { "video link" } }
                @if let Some(location) = &s.location { " · " (location) }
                @if let Some(address) = &s.address { ", " (address) }
            }
            @if s.kind != "one_on_one" { dt { "Seats" } dd { (s.seats_taken) " of " (s.capacity) " taken" } }
            @if let Some(reason) = &s.cancel_reason { dt { "Cancelled because" } dd { (reason) } }
            @if s.approval.as_deref() == Some("pending") { dt { "Approval" } dd { "waiting for a moderator" } }
        }
        @if !s.description.is_empty() { p { (s.description) } }
    }
}

/// The invitation board: moderators and admins manage who is invited
/// while the session is a proposal (the API decides whether they may).
fn shows_board(ctx: &Ctx, s: &SessionView) -> bool {
    s.status == "PROPOSED" && matches!(ctx.role(), Role::Admin | Role::Moderator)
}

/// The session's therapists and, for staff, its participants, named as the
/// session view names them; `therapists` to choose from on the board.
fn people(ctx: &Ctx, s: &SessionView, therapists: &Names) -> Markup {
    let board = shows_board(ctx, s);
    let invite = ctx.path(&format!("/sessions/{}/invitations", s.id));
    html! {
        h2 { "Therapists" }
        @if s.therapists.is_empty() { p.empty { "None yet." } }
        ul.plain {
            @for t in &s.therapists {
                li {
                    strong { (t.therapist_name) } " — " (invitation_words(&t.status))
                    @if let Some(m) = &t.message { br; span.muted { "“" (m) "”" } }
                    @if board {
                        @let withdraw = ctx.path(&format!("/sessions/{}/invitations/{}/withdraw", s.id, t.id));
                        " "
                        form.inline method="post" action=(withdraw) {
                            (token_input(&ctx.viewer, &withdraw))
                            button.link type="submit" aria-label={"Withdraw the invitation of " (t.therapist_name)} { "Withdraw" }
                        }
                    }
                }
            }
        }
        @if board {
            form.actions method="post" action=(invite) {
                (token_input(&ctx.viewer, &invite))
                label for="f-invite" { "Invite" }
                select #f-invite name="therapist_id" {
                    @for t in therapists.with_role(Role::Therapist) { option value=(t.id) { (t.name) } }
                }
                @let declined: Vec<_> = s.therapists.iter().filter(|t| t.status == "DECLINED").collect();
                @if let Some(first) = declined.first() {
                    input type="hidden" name="replaces" value=(first.id);
                }
                button.secondary type="submit" { @if declined.is_empty() { "Invite" } @else { "Invite in place of who declined" } }
            }
        }
        @if ctx.is_staff() && !s.seats.is_empty() {
            h2 { "Participants" }
            ul.plain {
                @for seat in &s.seats {
                    li {
                        strong { (seat.client_name) } " — " (seat_words(&seat.status))
                        @if let Some(late) = seat.minutes_late.filter(|m| *m > 0) { ", " (late) " min late" }
                        @if let Some(early) = seat.minutes_left_early.filter(|m| *m > 0) { ", left " (early) " min early" }
                    }
                }
            }
        }
    }
}

fn actions(ctx: &Ctx, s: &SessionView) -> Markup {
    let base = format!("/sessions/{}", s.id);
    let open = matches!(s.status.as_str(), "SCHEDULED" | "IN_PROGRESS");
    let mine = s.seats.iter().find(|seat| seat.client_id == ctx.member.person_id.0);
    let seated = mine.is_some_and(|seat| holds_seat(&seat.status));
    let group = s.kind != "one_on_one";
    let accepted_here = s.therapists.iter().any(|t| t.therapist_id == ctx.member.person_id.0 && t.status == "ACCEPTED");
    let marks = group && (accepted_here || matches!(ctx.role(), Role::Admin | Role::Moderator));
    html! {
        div.actions {
            @if ctx.role() == Role::Client && group && open && !seated {
                form.inline method="post" action=(ctx.path(&format!("{base}/join"))) {
                    (token_input(&ctx.viewer, &ctx.path(&format!("{base}/join"))))
                    button type="submit" { "Join this session" }
                }
            }
            @if seated && group {
                form.inline method="post" action=(ctx.path(&format!("{base}/leave"))) data-confirm="Give up your seat?" {
                    (token_input(&ctx.viewer, &ctx.path(&format!("{base}/leave"))))
                    button.secondary type="submit" { "Give up my seat" }
                }
            }
            @if group && s.status == "IN_PROGRESS" && (marks || seated) {
                a.button href=(ctx.path(&format!("{base}/room"))) { "Live room" }
            }
            @if marks && s.status != "CANCELLED" && s.status != "PROPOSED" {
                a.button href=(ctx.path(&format!("{base}/attendance"))) { "Attendance sheet" }
            }
            @if group && (marks || seated) && s.status != "CANCELLED" {
                a.button href=(ctx.path(&format!("{base}/check-ins"))) { "Check-ins" }
            }
        }
        @if s.status != "CANCELLED" && s.status != "COMPLETED" && (ctx.is_staff() || s.kind == "one_on_one") {
            details {
                summary { "Cancel this session" }
                form.stack method="post" action=(ctx.path(&format!("{base}/cancel"))) data-confirm="Cancel the session for everyone?" {
                    (token_input(&ctx.viewer, &ctx.path(&format!("{base}/cancel"))))
                    div.field {
                        label for="f-reason" { "Reason (everyone on the session is told)" }
                        textarea #f-reason name="reason" required {}
                    }
                    div.actions { button.danger type="submit" { "Cancel the session" } }
                }
            }
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> PageResult<Response> {
    let ctx = Ctx::load(&state, viewer, org).await?;
    let session = load(&state, &ctx, id).await?;
    // Only the board lists people beyond the session's own.
    let therapists =
        if shows_board(&ctx, &session) { Names::therapists(&state, &ctx).await? } else { Names::default() };
    let body = html! {
        h1 { (session.title) }
        div.two {
            div.card { (facts(&ctx, &session)) (actions(&ctx, &session)) }
            div.card #session-people data-live-refresh="NOTIFICATION" { (people(&ctx, &session, &therapists)) }
        }
    };
    Ok(page(&ctx, &session.title, "Schedule", body))
}

fn back(org: Uuid, id: Uuid) -> String {
    format!("/orgs/{org}/sessions/{id}")
}

pub async fn join(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    match seats::join(State(state.clone()), member_in(&state, &form.viewer.caller, org).await?, Path((org, id))).await {
        Ok(_) => Ok(redirect_with(&back(org, id), Flash::ok("You have a seat. It is in your schedule."))),
        Err(e) => refused(&back(org, id), &e),
    }
}

pub async fn leave(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    match seats::leave(State(state.clone()), member_in(&state, &form.viewer.caller, org).await?, Path((org, id))).await
    {
        Ok(_) => Ok(redirect_with(&back(org, id), Flash::ok("You gave up your seat; your time is free again."))),
        Err(e) => refused(&back(org, id), &e),
    }
}

pub async fn invite(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let therapist = form.fields.text("therapist_id").and_then(|t| t.parse().ok());
    let Some(therapist_id) = therapist else {
        return refused(&back(org, id), &crate::http::error::ApiError::field("therapist_id", "choose a therapist"));
    };
    let request = InviteRequest {
        therapist_id,
        replaces_invitation_id: form.fields.text("replaces").and_then(|r| r.parse().ok()),
    };
    match group_sessions::invite(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, id)),
        Json(request),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(&back(org, id), Flash::ok("Invited; the therapist is told."))),
        Err(e) => refused(&back(org, id), &e),
    }
}

pub async fn withdraw(
    State(state): State<AppState>,
    Path((org, id, invitation)): Path<(Uuid, Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    match group_sessions::withdraw(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, id, invitation)),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(&back(org, id), Flash::ok("The invitation is withdrawn."))),
        Err(e) => refused(&back(org, id), &e),
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    Path((org, id)): Path<(Uuid, Uuid)>,
    form: Submitted,
) -> PageResult<Response> {
    let reason = form.fields.get("reason").unwrap_or_default().to_owned();
    match cancel_session(
        State(state.clone()),
        member_in(&state, &form.viewer.caller, org).await?,
        Path((org, id)),
        Json(CancelRequest { reason }),
    )
    .await
    {
        Ok(_) => Ok(redirect_with(&back(org, id), Flash::ok("The session is cancelled and everyone on it is told."))),
        Err(e) => refused(&back(org, id), &e),
    }
}
