//! Posted forms: the cross-site refusal, the per-form token, the fields, and
//! the problem document's field errors placed next to the inputs they name.

use std::collections::BTreeMap;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::error::{PageError, PageResult, sentence};
use super::viewer::{FLASH_COOKIE, Flash, Viewer};
use crate::http::error::ApiError;

pub const TOKEN_FIELD: &str = "_token";

/// Refuses a form sent from another site: browsers say where a request
/// comes from in `Sec-Fetch-Site` and `Origin`.
pub fn same_origin(parts: &Parts) -> bool {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The fields of a posted form, in order (a sheet repeats names).
#[derive(Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A field's value with blank treated as absent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// A form posted by a signed-in viewer from one of our own pages, with a
/// valid token for the path it was posted to.
pub struct Submitted {
    pub viewer: Viewer,
    pub fields: Fields,
}

impl<S: Send + Sync> FromRequest<S> for Submitted {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> PageResult<Self> {
        let (mut parts, body) = req.into_parts();
        if !same_origin(&parts) {
            return Err(PageError::Problem {
                status: axum::http::StatusCode::FORBIDDEN,
                detail: "Forms can only be sent from this site's own pages.".into(),
            });
        }
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let path = parts.uri.path().to_owned();
        let req = Request::from_parts(parts, body);
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| PageError::bad_request(e.body_text()))?;
        let fields = Fields(pairs);
        viewer.check_form_token(&path, fields.get(TOKEN_FIELD))?;
        Ok(Self { viewer, fields })
    }
}

/// The errors of a refused form: per field, and one for the whole form.
#[derive(Debug, Default)]
pub struct Errors {
    pub fields: BTreeMap<String, String>,
    pub form: Option<String>,
}

impl Errors {
    pub fn none() -> Self {
        Self::default()
    }

    /// Field errors stay with their field; anything else is said above the form.
    pub fn from_problem(e: &ApiError) -> Self {
        let mut errors = Self::default();
        for field in &e.errors {
            errors.fields.entry(field.field.clone()).or_insert_with(|| sentence(&field.reason));
        }
        if errors.fields.is_empty() {
            errors.form = Some(sentence(&e.detail));
        } else {
            errors.form = Some("Please correct the fields marked below.".into());
        }
        errors
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The message above a form, announced to screen readers.
    pub fn summary(&self) -> Markup {
        html! {
            @if let Some(message) = &self.form {
                p.notice.error role="alert" { (message) }
            }
        }
    }
}

/// The hidden token field of a form that posts to `action`.
pub fn token_input(viewer: &Viewer, action: &str) -> Markup {
    html! { input type="hidden" name=(TOKEN_FIELD) value=(viewer.form_token(action)); }
}

/// One labelled input with its error next to it (linked for screen readers).
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub hint: Option<&'a str>,
    /// The API's name for this field when it differs from the input's.
    pub api_field: Option<&'a str>,
    /// The id of a `datalist` of suggestions.
    pub list: Option<&'a str>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Self { name, label, kind: "text", value: "", required: false, hint: None, api_field: None, list: None }
    }

    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }

    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The API's name for this field (its errors are shown here).
    pub fn api(mut self, field: &'a str) -> Self {
        self.api_field = Some(field);
        self
    }

    pub fn list(mut self, datalist: &'a str) -> Self {
        self.list = Some(datalist);
        self
    }

    pub fn render(&self, errors: &Errors) -> Markup {
        let error = errors.field(self.api_field.unwrap_or(self.name));
        let id = format!("f-{}", self.name);
        let described = match (error.is_some(), self.hint.is_some()) {
            (true, _) => Some(format!("{id}-error")),
            (false, true) => Some(format!("{id}-hint")),
            _ => None,
        };
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) { (self.label) }
                @if let Some(hint) = self.hint { span.hint id={(id) "-hint"} { (hint) } }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value) required[self.required] list=[self.list]
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[described];
                @if let Some(error) = error { span.error id={(id) "-error"} { (error) } }
            }
        }
    }
}

/// 303 to `to`, carrying a one-line message.
pub fn redirect_with(to: &str, flash: Flash) -> Response {
    let cookie = format!("{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60", flash.encode());
    ([(axum::http::header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

/// After a refused action without fields to mark: back to the page, saying why.
pub fn refused(to: &str, e: &ApiError) -> PageResult<Response> {
    match e.status.as_u16() {
        401 => Err(PageError::SignIn),
        404 => Err(PageError::not_found()),
        _ => {
            let mut text = sentence(&e.detail);
            if let Some(first) = e.errors.first() {
                text = sentence(&format!("{}: {}", first.field.replace('_', " "), first.reason));
            }
            Ok(redirect_with(to, Flash::error(text)))
        }
    }
}
