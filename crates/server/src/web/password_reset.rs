//! A forgotten password in pages: asking for a reset link, and choosing a
//! new password with it. Each form calls the API's own handler, so the rate
//! limit, the password rules and the refusals are the API's. There is no
//! session yet, so each form is bound to the browser that loaded it by a
//! cookie, like the sign-in form.

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::error::{PageError, PageResult};
use super::form::{Errors, Fields, Input, TOKEN_FIELD, same_origin};
use super::layout::{Html, bare};
use super::viewer::cookie;
use crate::auth::{RequestMeta, token};
use crate::http::error::ApiError;
use crate::http::extract::Json;
use crate::routes::password_reset::{ResetConfirm, ResetRequest, confirm_reset, refused, request_reset};
use crate::state::AppState;
use circles_domain::local_time::local_time;

const FORM_COOKIE: &str = "circles_reset";

fn with_form_cookie(status: StatusCode, page: impl FnOnce(&str) -> Markup) -> Response {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let mut response = (status, Html(page(&token))).into_response();
    let cookie = format!("{FORM_COOKIE}={token}; Path=/password-reset; HttpOnly; SameSite=Strict; Max-Age=3600");
    response.headers_mut().append(SET_COOKIE, cookie.parse().expect("ascii"));
    response
}

fn stale_form() -> Errors {
    Errors {
        form: Some("Your browser must accept cookies from this site. Reload the page and try again.".into()),
        ..Errors::none()
    }
}

/// The posted fields, if the form came from our own page in this browser.
async fn read_form(state: &AppState, req: Request) -> PageResult<(RequestMeta, Fields, bool)> {
    let (mut parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(PageError::bad_request("Send this form from this site's own page."));
    }
    let meta = RequestMeta::from_request_parts(&mut parts, state).await.expect("infallible");
    let expected = cookie(&parts, FORM_COOKIE).map(str::to_owned);
    let req = Request::from_parts(parts, body);
    let axum::extract::Form(pairs) = axum::extract::Form::<Vec<(String, String)>>::from_request(req, state)
        .await
        .map_err(|e| PageError::bad_request(e.body_text()))?;
    let fields = Fields(pairs);
    let bound = expected.is_some() && expected.as_deref() == fields.get(TOKEN_FIELD);
    Ok((meta, fields, bound))
}

fn request_page(status: StatusCode, email: &str, errors: &Errors) -> Response {
    with_form_cookie(status, |token| {
        bare(
            "Forgot your password?",
            html! {
                h1 { "Forgot your password?" }
                p { "Give the e-mail address you sign in with. We will send a link that lets you choose a new password." }
                (errors.summary())
                form.stack.card method="post" action="/password-reset" novalidate {
                    input type="hidden" name=(TOKEN_FIELD) value=(token);
                    (Input::new("email", "E-mail").kind("email").value(email).required().render(errors))
                    div.actions { button type="submit" { "Send the link" } }
                }
                p { a href="/" { "Back to sign in" } }
            },
        )
    })
}

/// `GET /password-reset`: the form that asks for a link.
pub async fn ask() -> Response {
    request_page(StatusCode::OK, "", &Errors::none())
}

/// `POST /password-reset`.
pub async fn send(State(state): State<AppState>, req: Request) -> PageResult<Response> {
    let (meta, fields, bound) = read_form(&state, req).await?;
    let email = fields.get("email").unwrap_or_default().trim().to_owned();
    if !bound {
        return Ok(request_page(StatusCode::BAD_REQUEST, &email, &stale_form()));
    }
    match request_reset(State(state), meta, Json(ResetRequest { email: email.clone() })).await {
        Ok(_) => Ok(Redirect::to("/password-reset/sent").into_response()),
        Err(e) => Ok(request_page(e.status, &email, &Errors::from_problem(&e))),
    }
}

/// `GET /password-reset/sent`: the same words whether or not an account has
/// the address.
pub async fn sent() -> Html {
    Html(bare(
        "Check your e-mail",
        html! {
            h1 { "Check your e-mail" }
            p { "If an account has that address, a link to choose a new password is on its way. It works once, for an hour." }
            p { a href="/" { "Back to sign in" } }
        },
    ))
}

fn link_refused(e: &ApiError) -> Response {
    let page = bare(
        "Reset your password",
        html! {
            h1 { "This link does not work" }
            p { (super::error::sentence(&e.detail)) }
            p { a href="/password-reset" { "Ask for a new link" } }
        },
    );
    (e.status, Html(page)).into_response()
}

fn choose_page(status: StatusCode, raw: &str, until: &str, errors: &Errors) -> Response {
    let action = format!("/password-reset/{raw}");
    with_form_cookie(status, |token| {
        bare(
            "Choose a new password",
            html! {
                h1 { "Choose a new password" }
                p.muted { "This link works once, until " (until) ". Choosing a password signs you out everywhere else." }
                (errors.summary())
                form.stack.card method="post" action=(action) novalidate {
                    input type="hidden" name=(TOKEN_FIELD) value=(token);
                    (Input::new("new_password", "New password").kind("password").required()
                        .hint("At least 10 characters.").render(errors))
                    div.actions { button type="submit" { "Set the password" } }
                }
            },
        )
    })
}

/// When the link stops working, in words, or the page that refuses it.
async fn check_link(state: &AppState, raw: &str) -> Result<String, Response> {
    match state.store.reset_link(token::hash(raw)).await {
        Ok(Ok(link)) => Ok(local_time(link.expires_at, link.timezone.as_deref().unwrap_or("UTC"))),
        Ok(Err(refusal)) => Err(link_refused(&refused(refusal))),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// `GET /password-reset/{token}`: the form, or why the link does not work.
/// Opening it changes nothing (mail scanners fetch links).
pub async fn choose(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    match check_link(&state, &raw).await {
        Ok(until) => choose_page(StatusCode::OK, &raw, &until, &Errors::none()),
        Err(page) => page,
    }
}

/// `POST /password-reset/{token}`.
pub async fn set(State(state): State<AppState>, Path(raw): Path<String>, req: Request) -> PageResult<Response> {
    let (meta, fields, bound) = read_form(&state, req).await?;
    let until = match check_link(&state, &raw).await {
        Ok(until) => until,
        Err(page) => return Ok(page),
    };
    if !bound {
        return Ok(choose_page(StatusCode::BAD_REQUEST, &raw, &until, &stale_form()));
    }
    let body = ResetConfirm { token: raw.clone(), new_password: fields.get("new_password").unwrap_or_default().into() };
    match confirm_reset(State(state), meta, Json(body)).await {
        Ok(_) => Ok(Redirect::to("/password-reset/done").into_response()),
        Err(e) if e.errors.is_empty() => Ok(link_refused(&e)),
        Err(e) => Ok(choose_page(e.status, &raw, &until, &Errors::from_problem(&e))),
    }
}

/// `GET /password-reset/done`.
pub async fn done() -> Html {
    Html(bare(
        "Password set",
        html! {
            h1 { "Your new password is set" }
            p { "You were signed out everywhere else. Sign in with the new password." }
            p { a href="/" { "Sign in" } }
        },
    ))
}
