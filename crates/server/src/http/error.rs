//! Errors as RFC 9457 problem documents.
//!
//! Every error response is `application/problem+json` with a stable,
//! machine-readable `code`; validation errors list each refused field.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use circles_domain::{FieldError, Invalid};
use circles_store::StoreError;
use circles_store::sql::db::DbError;
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra members, e.g. `conflicts` and `retry_hints` on a scheduling 409.
    pub extra: Map<String, Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), errors: Vec::new(), extra: Map::new(), headers: Vec::new() }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in: send `Authorization: Bearer <token>`")
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", reason)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// One or more fields were refused (422).
    pub fn invalid(invalid: Invalid) -> Self {
        let detail = invalid.to_string();
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail);
        error.errors = invalid.0;
        error
    }

    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(Invalid::field(field, reason))
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::invalid(invalid)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(conflict) => {
                let mut error = ApiError::conflict(conflict.code, conflict.message);
                error.extra = conflict.details;
                error
            }
            StoreError::Invalid(invalid) => ApiError::invalid(invalid),
            StoreError::Db(DbError::Unavailable(why)) => {
                tracing::error!(error = %why, "database unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "the database is not reachable")
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            StoreError::Db(DbError::Retryable(why)) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", format!("the database is busy; retry ({why})"))
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            StoreError::Db(other) => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let object = body.as_object_mut().expect("a JSON object");
        if !self.errors.is_empty() {
            object.insert("errors".into(), json!(self.errors));
        }
        object.extend(self.extra);
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}
