//! Reading query strings: every refusal is `invalid_query` naming the
//! parameter, the same way on every listing.

use std::fmt::Display;
use std::str::FromStr;

use circles_domain::input::instant;
use jiff::Timestamp;

use crate::http::error::{ApiError, ApiResult};

/// A 400 that names the query parameter and why it was refused.
pub fn bad_query(field: &str, reason: impl Display) -> ApiError {
    let mut error = ApiError::bad_request("invalid_query", format!("{field} {reason}"));
    error.errors.push(circles_domain::FieldError::new(field, reason.to_string()));
    error
}

/// An optional RFC 3339 instant.
pub fn query_instant(field: &str, raw: Option<&str>) -> ApiResult<Option<Timestamp>> {
    raw.map(|r| instant(r).map_err(|reason| bad_query(field, reason))).transpose()
}

/// An optional value of a type with its own spelling (a status, a role).
pub fn query_parsed<T>(field: &str, raw: Option<&str>) -> ApiResult<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    raw.map(|r| r.parse::<T>().map_err(|reason| bad_query(field, reason))).transpose()
}

/// A page size: `default` when absent, refused outside `1..=max`.
pub fn page_limit(raw: Option<i64>, default: i64, max: i64) -> ApiResult<i64> {
    let limit = raw.unwrap_or(default);
    if (1..=max).contains(&limit) { Ok(limit) } else { Err(bad_query("limit", format!("must be between 1 and {max}"))) }
}
