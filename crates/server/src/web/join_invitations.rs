//! Invitations to join an organisation, for the signed-in account: shown on
//! the start page while any waits (where the invitation e-mail's link leads),
//! each with Accept and Decline, which are the API's own answers.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use uuid::Uuid;

use super::error::PageResult;
use super::form::{Submitted, redirect_with, refused, token_input};
use super::layout::{Html, bare};
use super::viewer::{Flash, Viewer};
use crate::routes::org_invitations::{OrgInvitationView, accept, decline, list};
use crate::routes::page::PageQuery;
use crate::state::AppState;

/// The invitations waiting for the viewer's answer.
pub async fn waiting(state: &AppState, viewer: &Viewer) -> PageResult<Vec<OrgInvitationView>> {
    let page =
        list(State(state.clone()), viewer.caller.clone(), crate::http::extract::Query(PageQuery::longest())).await?;
    Ok(page.0.items)
}

/// The page listing `invitations`, with a way on to the viewer's own
/// organisation if they have one.
pub fn page(viewer: &Viewer, invitations: &[OrgInvitationView], first_org: Option<Uuid>) -> Response {
    Html(bare(
        "Invitations to join",
        html! {
            h1 { "Invitations to join" }
            p { "Nothing is shared with an organisation until you accept its invitation." }
            @for invitation in invitations {
                section.card aria-labelledby={"inv-" (invitation.id)} {
                    h2 id={"inv-" (invitation.id)} { (invitation.org_name) }
                    p { (invitation.invited_by) " invited you to join as " (invitation.role.as_str()) " on " (invitation.invited_at_local) "." }
                    div.actions {
                        @let accept = format!("/invitations-to-join/{}/accept", invitation.id);
                        @let decline = format!("/invitations-to-join/{}/decline", invitation.id);
                        form method="post" action=(accept) {
                            (token_input(viewer, &accept))
                            button type="submit" { "Accept and join " (invitation.org_name) }
                        }
                        form method="post" action=(decline) {
                            (token_input(viewer, &decline))
                            button.secondary type="submit" { "Decline" }
                        }
                    }
                }
            }
            @if let Some(org) = first_org {
                p { a href={"/orgs/" (org)} { "Answer later and go on" } }
            }
        },
    ))
    .into_response()
}

/// `POST /invitations-to-join/{invitation}/accept`: joins, and opens the
/// organisation.
pub async fn join(State(state): State<AppState>, Path(id): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    match accept(State(state), form.viewer.caller, crate::http::extract::Path(id)).await {
        Ok(answered) => {
            let org = answered.0.invitation.org_id;
            let flash = Flash::ok(format!("You joined {}.", answered.0.invitation.org_name));
            Ok(redirect_with(&format!("/orgs/{org}"), flash))
        }
        Err(e) => refused("/", &e),
    }
}

/// `POST /invitations-to-join/{invitation}/decline`.
pub async fn refuse(State(state): State<AppState>, Path(id): Path<Uuid>, form: Submitted) -> PageResult<Response> {
    match decline(State(state), form.viewer.caller, crate::http::extract::Path(id)).await {
        Ok(_) => Ok(Redirect::to("/").into_response()),
        Err(e) => refused("/", &e),
    }
}
