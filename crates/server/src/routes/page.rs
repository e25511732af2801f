//! Cursor pagination: a list answers one page and, when more follow, the
//! `next_cursor` to pass back as `cursor` for the next one.

use circles_domain::ids::SessionId;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::query::bad_query;
use crate::http::error::ApiResult;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where a list sorted by an instant (then id) left off:
/// `<instant µs>.<id>`. Every list's cursor has this one form; each list
/// says which instant it sorts by (a session's start, a notification's
/// arrival, …) and the store reads the page after it in one statement.
pub fn time_cursor(at: Timestamp, id: uuid::Uuid) -> String {
    format!("{}.{}", at.as_microsecond(), id)
}

/// Reads a cursor written by [`time_cursor`], as the list's own id type.
pub fn parse_time_cursor<I: From<uuid::Uuid>>(raw: Option<&str>) -> ApiResult<Option<(Timestamp, I)>> {
    let Some(raw) = raw else { return Ok(None) };
    let refused = || bad_query("cursor", "is not a cursor this list gave out");
    let (micros, id) = raw.split_once('.').ok_or_else(refused)?;
    let at = micros.parse::<i64>().ok().and_then(|m| Timestamp::from_microsecond(m).ok()).ok_or_else(refused)?;
    let id = id.parse::<uuid::Uuid>().map_err(|_| refused())?;
    Ok(Some((at, I::from(id))))
}

/// Where a list sorted by start (then id) left off.
pub fn session_cursor(starts_at: Timestamp, id: SessionId) -> String {
    time_cursor(starts_at, id.0)
}

/// Reads a cursor written by [`session_cursor`].
pub fn parse_session_cursor(raw: Option<&str>) -> ApiResult<Option<(Timestamp, SessionId)>> {
    Ok(parse_time_cursor::<uuid::Uuid>(raw)?.map(|(at, id)| (at, SessionId(id))))
}

/// The page of `fetched` (read with one row more than `limit`) and the
/// cursor after its last item when more rows follow.
pub fn page_of<S, T: From<S>>(mut fetched: Vec<S>, limit: i64, key: impl Fn(&S) -> String) -> Page<T> {
    let more = fetched.len() as i64 > limit;
    fetched.truncate(limit as usize);
    let next_cursor = if more { fetched.last().map(key) } else { None };
    Page { items: fetched.into_iter().map(Into::into).collect(), next_cursor }
}
