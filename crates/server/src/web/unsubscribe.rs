//! One-click unsubscribe (RFC 8058). Every e-mail of a kind a person may turn
//! off carries a link in its `List-Unsubscribe` header and its footer. A mail
//! program unsubscribes with one POST to it (`List-Unsubscribe=One-Click`);
//! a person who opens the link sees what it would stop and a button.
//! Opening changes nothing, since mail scanners fetch every link.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use circles_store::StoreError;
use maud::{Markup, html};

use super::layout::bare;
use super::messages::kind_label;
use crate::auth::token;
use crate::http::error::ApiError;
use crate::state::AppState;

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, Html(bare(title, body).into_string())).into_response()
}

fn unknown() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Unsubscribe",
        html! {
            h1 { "This link does not work" }
            p { "Sign in to Circles and choose what you are sent under “Messages and calendar” on your profile." }
        },
    )
}

/// `GET /unsubscribe/{token}`: what the link stops, and a button.
pub async fn show(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    match state.store.unsubscribe_link_kind(token::hash(&raw)).await {
        Ok(kind) => page(
            StatusCode::OK,
            "Unsubscribe",
            html! {
                h1 { "Stop e-mails like this?" }
                p { "You will no longer be sent e-mails of this kind: " strong { (kind_label(kind.as_str())) } "." }
                p.muted { "They still appear in your Circles inbox, and messages about where you have to be are always sent." }
                form.card method="post" {
                    div.actions { button type="submit" { "Stop these e-mails" } }
                }
            },
        ),
        Err(StoreError::NotFound(_)) => unknown(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST /unsubscribe/{token}`: from the page's button, or from a mail
/// program's one-click request (which carries no cookie and no origin).
pub async fn confirm(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    match state.store.unsubscribe(token::hash(&raw)).await {
        Ok(kind) => page(
            StatusCode::OK,
            "Unsubscribed",
            html! {
                h1 { "You are unsubscribed" }
                p { "You will no longer be sent e-mails of this kind: " strong { (kind_label(kind.as_str())) } "." }
                p.muted { "To have them again, sign in and tick it under “Messages and calendar” on your profile." }
            },
        ),
        Err(StoreError::NotFound(_)) => unknown(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
