//! Extractors whose rejections are problem documents that name the field.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body. Unknown fields, wrong types and missing fields are
/// 422 naming the field; malformed JSON is 400; too large is 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim())
            .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {inner}"));
        }
        let message = inner.to_string();
        let message = plain_words(message.split(" at line ").next().unwrap_or(&message));
        ApiError::field(&field_of(&path, &message), message)
    })?;
    de.end().map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde's words for a wrong type, without the names of the types inside
/// the server: `expected struct WindowInput` becomes `expected an object`.
fn plain_words(message: &str) -> String {
    let Some((before, expected)) = message.rsplit_once("expected ") else { return message.to_owned() };
    let kind = expected.split_whitespace().next().unwrap_or_default();
    let plain = match kind {
        "struct" | "map" => "an object",
        "enum" => "one of the allowed values",
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        _ => return message.to_owned(),
    };
    format!("{before}expected {plain}")
}

/// Names the field a deserialisation error is about. An unknown field's
/// path already ends with its name; a missing field is reported at its
/// parent's path. The document root is called `body`.
fn field_of(path: &str, message: &str) -> String {
    let parent = if path == "." { "" } else { path };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
    }
    if parent.is_empty() { "body".to_owned() } else { parent.to_owned() }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is too large")
    } else {
        ApiError::bad_request("unreadable_body", rejection.body_text())
    }
}

/// Query parameters; a bad one is 400 naming it.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Query(q.0)).map_err(
            |rejection: QueryRejection| {
                let mut error = ApiError::bad_request("invalid_query", rejection.body_text());
                error.errors.push(circles_domain::FieldError::new("query", rejection.body_text()));
                error
            },
        )
    }
}

/// Path parameters; an identifier that is not a UUID is 400 naming it.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(
            |rejection: PathRejection| {
                let text = rejection.body_text();
                let mut error = ApiError::bad_request("invalid_path_parameter", text.clone());
                let field = text.split('`').nth(1).unwrap_or("path").to_owned();
                error.errors.push(circles_domain::FieldError::new(field, text));
                error
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::plain_words;

    #[test]
    fn type_errors_name_no_internal_types() {
        assert_eq!(
            plain_words("invalid type: string \"x\", expected struct WindowInput"),
            "invalid type: string \"x\", expected an object"
        );
        assert_eq!(
            plain_words("invalid type: string \"9\", expected i64"),
            "invalid type: string \"9\", expected a whole number"
        );
        assert_eq!(plain_words("missing field `reason`"), "missing field `reason`");
        assert_eq!(
            plain_words("invalid type: integer `3`, expected a string"),
            "invalid type: integer `3`, expected a string"
        );
    }
}
