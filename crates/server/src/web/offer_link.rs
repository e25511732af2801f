//! The page a waitlist offer's e-mail links to: it answers the offer
//! without signing in, by the link's one-time token. Looking acts on
//! nothing — mail scanners fetch links — the page only shows the offer and
//! a form; posting the form (from this page only) accepts or declines.

use axum::extract::{Form, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use circles_domain::ids::OrgId;
use circles_domain::local_time::local_time;
use circles_domain::waitlist::OfferStatus;
use circles_store::StoreError;
use circles_store::model::{LinkAnswer, Offer};
use maud::{Markup, html};
use uuid::Uuid;

use super::form::same_origin;
use super::layout::bare;
use crate::auth::token;
use crate::http::error::ApiError;
use crate::state::AppState;

fn token_hash(raw: &str) -> String {
    hex::encode(token::hash(raw))
}

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, Html(bare(title, body).into_string())).into_response()
}

fn unusable() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Offer link",
        html! {
            h1 { "This link no longer works" }
            p { "It has been used already, or the offer it answers has closed or expired. Sign in to Circles to see your offers." }
        },
    )
}

fn what(offer: &Offer) -> Markup {
    html! {
        dl {
            dt { "Place" } dd { (offer.title) }
            dt { "When" } dd { (local_time(offer.starts_at, &offer.timezone)) }
            dt { "Held for you until" } dd { (local_time(offer.expires_at, &offer.timezone)) }
        }
    }
}

/// `GET /offer-links/{org}/{token}`: the offer and a form to answer it.
pub async fn show(State(state): State<AppState>, Path((org, raw)): Path<(Uuid, String)>) -> Response {
    let offer = match state.store.offer_by_link(OrgId(org), &token_hash(&raw)).await {
        Ok(offer) if offer.status == OfferStatus::Live => offer,
        Ok(_) | Err(StoreError::NotFound(_)) => return unusable(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    page(
        StatusCode::OK,
        "Your waitlist offer",
        html! {
            h1 { "A place is held for you" }
            (what(&offer))
            form.stack.card method="post" {
                label for="reason" { "If you decline, you may say why (optional)" }
                textarea #reason name="reason" maxlength="500" {}
                div.actions {
                    button type="submit" name="answer" value="accept" { "Accept the place" }
                    button type="submit" name="answer" value="decline" { "Decline" }
                }
            }
        },
    )
}

/// `POST /offer-links/{org}/{token}`: accepts or declines, using the link up.
pub async fn answer(State(state): State<AppState>, Path((org, raw)): Path<(Uuid, String)>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return page(
            StatusCode::FORBIDDEN,
            "Offer link",
            html! { p { "Answer the offer from the page its link opens." } },
        );
    }
    let Ok(Form(fields)) = Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), &state).await
    else {
        return page(StatusCode::BAD_REQUEST, "Offer link", html! { p { "The form could not be read." } });
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned());
    let answer = match field("answer").as_deref() {
        Some("accept") => LinkAnswer::Accept,
        Some("decline") => {
            let reason = field("reason").filter(|r| !r.is_empty()).map(|r| r.chars().take(500).collect());
            LinkAnswer::Decline { reason }
        }
        _ => return page(StatusCode::BAD_REQUEST, "Offer link", html! { p { "Choose accept or decline." } }),
    };
    match state.store.answer_offer_link(OrgId(org), &token_hash(&raw), answer).await {
        Ok(offer) if offer.status == OfferStatus::Accepted => page(
            StatusCode::OK,
            "Place accepted",
            html! {
                h1 { "The place is yours" }
                (what(&offer))
                p { "It is in your Circles schedule." }
            },
        ),
        Ok(_) => page(
            StatusCode::OK,
            "Offer declined",
            html! {
                h1 { "You declined the offer" }
                p { "You stay on the waitlist; the place goes to the next person waiting." }
            },
        ),
        Err(StoreError::NotFound(_)) => unusable(),
        Err(e) => {
            let e = ApiError::from(e);
            page(e.status, "Offer link", html! { h1 { "The offer could not be answered" } p { (e.detail) } })
        }
    }
}
