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
    let parsed = serde_path_to_error::deserialize(&mut de);
    let value = match parsed {
        Ok(value) => value,
        // JSON has one number type: `30.0` is the integer 30 (JSON Schema
        // says so too), but serde refuses it for an integer field. Only then
        // is the body read again with such numbers written as integers.
        Err(e) if e.inner().to_string().starts_with("invalid type: floating point") => {
            let mut tree: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
            integral_floats_as_integers(&mut tree);
            return serde_path_to_error::deserialize(tree)
                .map_err(|e| field_error(e.path().to_string(), e.into_inner()));
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {inner}")));
            }
            return Err(field_error(path, inner));
        }
    };
    de.end().map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

fn field_error(path: String, inner: serde_json::Error) -> ApiError {
    let message = inner.to_string();
    let message = plain_words(message.split(" at line ").next().unwrap_or(&message));
    ApiError::field(&field_of(&path, &message), message)
}

/// Rewrites every number with no fractional part that fits a 64-bit
/// integer (`30.0`, `-2e3`) as that integer.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // 2^63 and 2^64 as floats: the ranges an i64 and a u64 hold.
            if f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                *value = Value::from(f as i64);
            } else if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                *value = Value::from(f as u64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
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
    use super::{parse_json, plain_words};

    #[derive(serde::Deserialize, Debug)]
    struct Minutes {
        minutes: u32,
        share: f64,
    }

    #[test]
    fn integral_floats_are_integers() {
        let parsed: Minutes = parse_json(br#"{"minutes": 30.0, "share": 0.5}"#).unwrap();
        assert_eq!((parsed.minutes, parsed.share), (30, 0.5));
        let parsed: Minutes = parse_json(br#"{"minutes": 6e1, "share": 2.0}"#).unwrap();
        assert_eq!((parsed.minutes, parsed.share), (60, 2.0));
        let refused = parse_json::<Minutes>(br#"{"minutes": 30.5, "share": 1}"#).unwrap_err();
        assert_eq!(refused.errors[0].field, "minutes");
        assert!(refused.errors[0].reason.contains("expected a whole number"), "{:?}", refused.errors);
        let refused = parse_json::<Minutes>(br#"{"minutes": -1.0, "share": 1}"#).unwrap_err();
        assert_eq!(refused.errors[0].field, "minutes");
    }

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
