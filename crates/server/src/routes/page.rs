//! Cursor pagination: a list answers one page and, when more follow, the
//! `next_cursor` to pass back as `cursor` for the next one.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use circles_domain::ids::{SessionId, WaitlistEntryId};
use circles_store::model::{Keyset, ServingKey};
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
    let (micros, id) = raw.split_once('.').ok_or_else(refused)?;
    let at = micros.parse::<i64>().ok().and_then(|m| Timestamp::from_microsecond(m).ok()).ok_or_else(refused)?;
    let id = id.parse::<uuid::Uuid>().map_err(|_| refused())?;
    Ok(Some((at, I::from(id))))
}

/// Where a list sorted by name (then id) left off: `<name>.<id>`, the name
/// in URL-safe base64 so that any name travels in a query string.
pub fn name_cursor(name: &str, id: uuid::Uuid) -> String {
    format!("{}.{}", URL_SAFE_NO_PAD.encode(name), id)
}

/// Reads names in cursors leniently: any bytes under any trailing bits still
/// name a place in the order, so every cursor of the documented form is
/// answered (the page after that place), not only the ones written here.
const NAME_READER: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Reads a cursor written by [`name_cursor`], as the list's own id type.
pub fn parse_name_cursor<I: From<uuid::Uuid>>(raw: Option<&str>) -> ApiResult<Option<(String, I)>> {
    let Some(raw) = raw else { return Ok(None) };
    let (name, id) = raw.split_once('.').ok_or_else(refused)?;
    // A NUL cannot be bound as text on PostgreSQL; it sorts first anyway.
    let name = NAME_READER
        .decode(name)
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', "\u{FFFD}"))
        .map_err(|_| refused())?;
    let id = id.parse::<uuid::Uuid>().map_err(|_| refused())?;
    Ok(Some((name, I::from(id))))
}

/// Where a list sorted by arrival (the audit trail) left off: the position
/// of its last event.
pub fn arrival_cursor(arrival: i64) -> String {
    arrival.to_string()
}

/// Reads a cursor written by [`arrival_cursor`].
pub fn parse_arrival_cursor(raw: Option<&str>) -> ApiResult<Option<i64>> {
    raw.map(|r| r.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(refused)).transpose()
}

/// Where a list in serving order (pinned first, then by score, then who
/// joined earlier, then id) left off: `<pinned>.<score µpoints>.<joined µs>.<id>`.
/// Scores are compared to six decimals, so millionths carry them exactly.
pub fn rank_cursor(key: &ServingKey) -> String {
    let score = (key.score * 1e6).round() as i64;
    format!("{}.{}.{}.{}", u8::from(key.pinned), score, key.added_at.as_microsecond(), key.id.0)
}

/// Reads a cursor written by [`rank_cursor`].
pub fn parse_rank_cursor(raw: Option<&str>) -> ApiResult<Option<ServingKey>> {
    let Some(raw) = raw else { return Ok(None) };
    let parts: Vec<&str> = raw.split('.').collect();
    let [pinned, score, joined, id] = parts[..] else { return Err(refused()) };
    let pinned = match pinned {
        "0" => false,
        "1" => true,
        _ => return Err(refused()),
    };
    let score = score.parse::<i64>().map_err(|_| refused())? as f64 / 1e6;
    let added_at = joined.parse::<i64>().ok().and_then(|m| Timestamp::from_microsecond(m).ok()).ok_or_else(refused)?;
    let id = WaitlistEntryId(id.parse::<uuid::Uuid>().map_err(|_| refused())?);
    Ok(Some(ServingKey { pinned, score, added_at, id }))
}

/// Where a ranked list computed when it is read (cover, suggestions, freed
/// places) left off: how many of its items the pages before gave. Each such
/// list ends its order in an id, so while nothing it ranks changes, one
/// position names one place in it; the next page is read from the ranking
/// as it stands then.
pub fn position_cursor(given: usize) -> String {
    given.to_string()
}

/// Reads a cursor written by [`position_cursor`]: 0 when absent. One to six
/// digits (what the document's pattern says); no ranked list is longer.
pub fn parse_position_cursor(raw: Option<&str>) -> ApiResult<usize> {
    let Some(raw) = raw else { return Ok(0) };
    let digits = (1..=6).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| raw.parse::<usize>().ok()).flatten().ok_or_else(refused)
}

/// The page of a ranked list starting at `start` (at most `limit` items),
/// with the cursor after it when more follow. `ranked` may hold the whole
/// list or only its first `start + limit + 1` items.
pub fn page_at<S, T>(ranked: Vec<S>, start: usize, limit: usize, view: impl FnMut(S) -> T) -> Page<T> {
    let more = ranked.len() > start.saturating_add(limit);
    let items: Vec<T> = ranked.into_iter().skip(start).take(limit).map(view).collect();
    let next_cursor = more.then(|| position_cursor(start + items.len()));
    Page { items, next_cursor }
}

/// The page parameters of a ranked list, computed when read: `limit` is at
/// most [`RankedQuery::MAX`]; each list states its default.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankedQuery {
    /// At most this many (at most 100; each list states its default).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before: a position in the ranking, read
    /// again as it stands when the page is read.
    #[param(format = "position-cursor")]
    pub cursor: Option<String>,
}

impl RankedQuery {
    /// The longest page of a ranked list.
    pub const MAX: i64 = 100;

    /// The longest first page a ranked list gives: what pages show at once.
    pub fn longest() -> Self {
        Self { limit: Some(Self::MAX), cursor: None }
    }

    /// Where the page starts and how long it is (`default` when no `limit`
    /// is given).
    pub fn window(&self, default: i64) -> ApiResult<(usize, usize)> {
        let limit = super::query::page_limit(self.limit, default, Self::MAX)?;
        let start = parse_position_cursor(self.cursor.as_deref())?;
        Ok((start, limit as usize))
    }
}

fn refused() -> crate::http::error::ApiError {
    bad_query("cursor", "is not a cursor this list gave out")
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
pub fn page_of<S, T: From<S>>(fetched: Vec<S>, limit: i64, key: impl Fn(&S) -> String) -> Page<T> {
    page_mapped(fetched, limit, key, Into::into)
}

/// [`page_of`] for views built with more than the row (a time zone, the
/// reader's standing).
pub fn page_mapped<S, T>(
    mut fetched: Vec<S>,
    limit: i64,
    key: impl Fn(&S) -> String,
    view: impl FnMut(S) -> T,
) -> Page<T> {
    let more = fetched.len() as i64 > limit;
    fetched.truncate(limit as usize);
    let next_cursor = if more { fetched.last().map(key) } else { None };
    Page { items: fetched.into_iter().map(view).collect(), next_cursor }
}

/// The page parameters of a list with nothing else to filter by, newest or
/// oldest first by when each item was made.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// At most this many (default 100, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The longest first page a list gives: what pages show at once.
    pub fn longest() -> Self {
        Self { limit: Some(500), cursor: None }
    }

    /// The page's limit, and the keyset to read it with: one row more than
    /// the limit, to know whether another page follows.
    pub fn keyset<I: From<uuid::Uuid>>(&self) -> ApiResult<(i64, Keyset<(Timestamp, I)>)> {
        let limit = super::query::page_limit(self.limit, 100, 500)?;
        let after = parse_time_cursor::<I>(self.cursor.as_deref())?;
        Ok((limit, Keyset { after, limit: limit + 1 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ranking_pages_by_position_and_the_last_page_has_no_cursor() {
        let ranked = || (10..17).collect::<Vec<i32>>();
        let first = page_at(ranked(), 0, 3, |n| n);
        assert_eq!((first.items, first.next_cursor.as_deref()), (vec![10, 11, 12], Some("3")));
        let start = parse_position_cursor(Some("3")).unwrap();
        let second = page_at(ranked(), start, 3, |n| n);
        assert_eq!((second.items, second.next_cursor.as_deref()), (vec![13, 14, 15], Some("6")));
        let last = page_at(ranked(), 6, 3, |n| n);
        assert_eq!((last.items, last.next_cursor), (vec![16], None));
        // Exactly a page left: no cursor to an empty page.
        assert_eq!(page_at(ranked(), 4, 3, |n| n).next_cursor, None);
        // Read only as far as one past the page, as suggestions are.
        let cut: Vec<i32> = ranked().into_iter().take(3 + 3 + 1).collect();
        assert_eq!(page_at(cut, 3, 3, |n| n).next_cursor.as_deref(), Some("6"));
        // Past the end (the ranking shrank): an empty last page.
        let past = page_at(ranked(), 40, 3, |n| n);
        assert_eq!((past.items, past.next_cursor), (Vec::<i32>::new(), None));
    }

    #[test]
    fn a_position_cursor_is_one_to_six_digits() {
        assert_eq!(parse_position_cursor(None).unwrap(), 0);
        assert_eq!(parse_position_cursor(Some("0")).unwrap(), 0);
        assert_eq!(parse_position_cursor(Some("999999")).unwrap(), 999_999);
        for bad in ["", "-1", "+1", "1.5", "1000000", " 1", "x"] {
            let refused = parse_position_cursor(Some(bad)).unwrap_err();
            assert_eq!(refused.errors[0].field, "cursor", "{bad:?}");
        }
    }
}
