//! Signing in and out with the API's own login (same rate limits, same
//! session cookie), and moving between organisations.

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::error::{PageError, PageResult};
use super::form::{Errors, Fields, Input, Submitted, same_origin};
use super::join_invitations;
use super::layout::{Html, bare};
use super::viewer::{Viewer, cookie};
use crate::auth::RequestMeta;
use crate::http::extract::Json;
use crate::routes::auth::{LoginRequest, login, logout};
use crate::state::AppState;

/// Binds the sign-in form to the browser that loaded it (there is no
/// session yet to derive a form token from).
const LOGIN_COOKIE: &str = "circles_login";

fn sign_in_form(token: &str, email: &str, errors: &Errors) -> Markup {
    bare(
        "Sign in",
        html! {
            h1 { "Sign in to Circles" }
            (errors.summary())
            form.stack.card method="post" action="/signin" novalidate {
                input type="hidden" name="_token" value=(token);
                (Input::new("email", "E-mail").kind("email").value(email).required().render(errors))
                (Input::new("password", "Password").kind("password").required().render(errors))
                div.actions { button type="submit" { "Sign in" } }
            }
            p { a href="/password-reset" { "Forgot your password?" } }
        },
    )
}

fn login_cookie(value: &str, max_age: u32) -> String {
    format!("{LOGIN_COOKIE}={value}; Path=/signin; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

fn sign_in_page(status: StatusCode, email: &str, errors: &Errors) -> Response {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let mut response = (status, Html(sign_in_form(&token, email, errors))).into_response();
    response.headers_mut().append(SET_COOKIE, login_cookie(&token, 3600).parse().expect("ascii"));
    response
}

/// `GET /`: the sign-in page, or the viewer's first organisation.
pub async fn start(State(state): State<AppState>, viewer: Result<Viewer, PageError>) -> PageResult<Response> {
    let Ok(viewer) = viewer else { return Ok(sign_in_page(StatusCode::OK, "", &Errors::none())) };
    let memberships = state
        .store
        .memberships(viewer.caller.principal.account_id)
        .await
        .map_err(crate::http::error::ApiError::from)?;
    // An invitation waiting for an answer comes first: its e-mail sends the
    // invitee here.
    let invitations = join_invitations::waiting(&state, &viewer).await?;
    if !invitations.is_empty() {
        return Ok(join_invitations::page(&viewer, &invitations, memberships.first().map(|m| m.org.id.0)));
    }
    match memberships.first() {
        Some(first) => Ok(Redirect::to(&format!("/orgs/{}", first.org.id.0)).into_response()),
        None => Ok(Html(bare(
            "No organisation",
            html! {
                h1 { "You are signed in" }
                p { "You do not belong to any organisation yet. Ask your clinic's administrator to add you." }
            },
        ))
        .into_response()),
    }
}

/// `POST /signin`.
pub async fn sign_in(State(state): State<AppState>, req: Request) -> PageResult<Response> {
    let (mut parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(PageError::bad_request("Sign in from this site's own page."));
    }
    let meta = RequestMeta::from_request_parts(&mut parts, &state).await.expect("infallible");
    let expected = cookie(&parts, LOGIN_COOKIE).map(str::to_owned);
    let req = Request::from_parts(parts, body);
    let axum::extract::Form(pairs) = axum::extract::Form::<Vec<(String, String)>>::from_request(req, &state)
        .await
        .map_err(|e| PageError::bad_request(e.body_text()))?;
    let fields = Fields(pairs);
    let email = fields.get("email").unwrap_or_default().trim().to_owned();
    if expected.is_none() || expected.as_deref() != fields.get("_token") {
        let errors = Errors {
            form: Some(
                "Your browser must accept cookies from this site to sign in. Reload the page and try again.".into(),
            ),
            ..Errors::none()
        };
        return Ok(sign_in_page(StatusCode::BAD_REQUEST, &email, &errors));
    }
    let request =
        LoginRequest { email: email.clone(), password: fields.get("password").unwrap_or_default().to_owned() };
    match login(State(state), meta, Json(request)).await {
        Ok(answer) => {
            let mut response = Redirect::to("/").into_response();
            for value in answer.headers().get_all(SET_COOKIE) {
                response.headers_mut().append(SET_COOKIE, value.clone());
            }
            response.headers_mut().append(SET_COOKIE, login_cookie("", 0).parse().expect("ascii"));
            Ok(response)
        }
        Err(e) => Ok(sign_in_page(e.status, &email, &Errors::from_problem(&e))),
    }
}

/// `POST /signout`: ends the session like the API's logout.
pub async fn sign_out(State(state): State<AppState>, form: Submitted) -> PageResult<Response> {
    let answer = logout(State(state), form.viewer.caller).await?;
    let mut response = Redirect::to("/").into_response();
    for value in answer.headers().get_all(SET_COOKIE) {
        response.headers_mut().append(SET_COOKIE, value.clone());
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    org: Uuid,
}

/// `GET /switch?org=…`: the organisation switcher without JavaScript.
pub async fn switch(_viewer: Viewer, Query(query): Query<SwitchQuery>) -> Redirect {
    Redirect::to(&format!("/orgs/{}", query.org))
}
