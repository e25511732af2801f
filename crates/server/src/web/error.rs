//! What a page answers when something goes wrong: a sign-in redirect for a
//! missing session, otherwise a page that says what happened, with the
//! status the API would have answered.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::http::error::ApiError;

#[derive(Debug)]
pub enum PageError {
    /// No (or an expired) session: back to the sign-in page.
    SignIn,
    /// A problem document turned into words.
    Problem { status: StatusCode, detail: String },
}

pub type PageResult<T> = Result<T, PageError>;

impl PageError {
    pub fn not_found() -> Self {
        Self::Problem { status: StatusCode::NOT_FOUND, detail: "There is nothing here.".into() }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::Problem { status: StatusCode::BAD_REQUEST, detail: detail.into() }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::UNAUTHORIZED => Self::SignIn,
            // Another organisation's data, or a route that does not exist:
            // one answer, so nothing can be learnt from the difference.
            StatusCode::NOT_FOUND => Self::not_found(),
            status => Self::Problem { status, detail: sentence(&e.detail) },
        }
    }
}

/// "too many login attempts" → "Too many login attempts."
pub fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let Some(first) = chars.next() else { return String::new() };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/").into_response(),
            Self::Problem { status, detail } => {
                let title = match status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::CONFLICT => "That cannot be done now",
                    s if s.is_client_error() => "That did not work",
                    _ => "Something went wrong",
                };
                let body = super::layout::bare(
                    title,
                    html! {
                        h1 { (title) }
                        p { (detail) }
                        p { a href="/" { "Back to the start" } }
                    },
                );
                (status, super::layout::Html(body)).into_response()
            }
        }
    }
}
