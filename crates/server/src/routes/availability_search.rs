//! The free-slot search's query and its answer.
//!
//! A search is bounded before any work (therapists × days, see
//! `circles_domain::search`) and answered in pages of at most
//! `MAX_ENTRIES_PER_PAGE` entries. The answer is written while it is found,
//! therapist by therapist, on a blocking thread that hands the connection
//! small chunks through a short channel: however large the page, the server
//! holds one therapist's starts and a few chunks, never the whole response.

use std::io::{self, Write};

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use circles_domain::availability::ZoneOffsets;
use circles_domain::ids::PersonId;
use circles_domain::input::{TimeZoneName, instant};
use circles_domain::interval::Interval;
use circles_domain::local_time::local_time;
use circles_domain::search::{
    MAX_DAYS, MAX_THERAPIST_DAYS, MAX_THERAPISTS, PageBudget, days_spanned, free_intervals, therapists_per_page,
    too_many_therapist_days,
};
use circles_domain::session::Modality;
use circles_domain::validation::Validator;
use circles_store::model::{AvailabilitySearch, Labels, SearchPage};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::availability::{DEFAULT_DURATION, DURATION_MINUTES, minutes, query_problem};
use crate::http::error::{ApiError, ApiResult};
use crate::http::rfc3339::{Local, LocalList, Utc, UtcList};

const DEFAULT_DAYS: i64 = 7;
const DEFAULT_STEP: i64 = 15;
const STEP_MINUTES: std::ops::RangeInclusive<i64> = 5..=240;
/// The answer goes to the connection in chunks of about this size, at most
/// [`CHUNKS_IN_FLIGHT`] of them waiting at once.
const CHUNK_BYTES: usize = 64 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;
/// Availability pages computed and written at once on one server; more wait.
/// Four keep two cores busy while bounding the memory of the largest
/// searches (`tests/search_memory.rs`).
pub const SEARCHES_AT_ONCE: usize = 4;

/// The limits below are `circles_domain::search`'s; a test checks that the
/// OpenAPI document states the same numbers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Comma-separated therapist ids, at most 500, and at most 21000
    /// therapist-days with the searched days (500 therapists over 42 days,
    /// 338 over 62): more is 422 `search_too_large`. Every therapist of the
    /// organisation by default, a page of at most that many at a time. Each
    /// id is a therapist of this organisation.
    #[param(
        pattern = "^ *[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12} *(, *[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12} *)*$"
    )]
    pub therapist_ids: Option<String>,
    /// First possible start (RFC 3339); now by default.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Starts are before this (RFC 3339), after `from`; 7 days after `from`
    /// by default, at most 62 days after it.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Length of the wanted session: 5 to 720 minutes, 60 by default.
    #[param(value_type = Option<u32>, minimum = 5, maximum = 720)]
    pub duration_minutes: Option<String>,
    /// Grid step from each working window's start: 5 to 240 minutes, 15 by default.
    #[param(value_type = Option<u32>, minimum = 5, maximum = 240)]
    pub step_minutes: Option<String>,
    /// `VIRTUAL` or `IN_PERSON`: only working hours offering it.
    pub modality: Option<String>,
    /// `starts` (every free start, the default) or `intervals` (free
    /// stretches, far shorter on a fine grid).
    #[param(value_type = Option<SearchFormat>)]
    pub format: Option<String>,
    /// Where the page starts: the `next_cursor` of the page before.
    #[param(value_type = Option<Uuid>)]
    pub cursor: Option<String>,
}

/// How free time is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchFormat {
    /// Every free start time.
    Starts,
    /// Free intervals: runs of starts `step_minutes` apart, from the first
    /// start to the end of the last one's session.
    Intervals,
}

impl std::str::FromStr for SearchFormat {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "starts" => Ok(SearchFormat::Starts),
            "intervals" => Ok(SearchFormat::Intervals),
            _ => Err("must be `starts` or `intervals`"),
        }
    }
}

/// A validated search: what to ask the store, and how to answer.
pub struct Search {
    pub store: AvailabilitySearch,
    pub format: SearchFormat,
}

fn therapist_list(v: &mut Validator, raw: &str) -> Vec<PersonId> {
    let mut ids = Vec::new();
    for (i, raw) in raw.split(',').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
        match raw.parse::<Uuid>() {
            Ok(id) if !ids.contains(&PersonId(id)) => ids.push(PersonId(id)),
            Ok(_) => {}
            Err(_) => v.reject("therapist_ids", format!("item {i} (`{raw}`) is not an id")),
        }
    }
    if ids.len() > MAX_THERAPISTS {
        v.reject("therapist_ids", format!("lists at most {MAX_THERAPISTS} therapists"));
    }
    ids
}

/// A malformed parameter is 400 `invalid_query` naming every refused one;
/// a well-formed search that asks for too much is 422 `search_too_large`.
pub fn parse_search(query: &SearchQuery, org_zone: &str, now: Timestamp) -> ApiResult<Search> {
    let mut v = Validator::default();
    let therapists = query.therapist_ids.as_deref().map(|list| therapist_list(&mut v, list));
    let from = v.check_opt("from", query.from.as_deref().map(instant)).map(|f| f.unwrap_or(now));
    let to = v.check_opt("to", query.to.as_deref().map(instant));
    let duration =
        minutes(&mut v, "duration_minutes", query.duration_minutes.as_deref(), DEFAULT_DURATION, DURATION_MINUTES);
    let step = minutes(&mut v, "step_minutes", query.step_minutes.as_deref(), DEFAULT_STEP, STEP_MINUTES);
    let modality = v.check_opt("modality", query.modality.as_deref().map(str::parse::<Modality>));
    let format = v.check_opt("format", query.format.as_deref().map(str::parse::<SearchFormat>));
    let cursor = v.check_opt(
        "cursor",
        query.cursor.as_deref().map(|c| c.trim().parse::<Uuid>().map(PersonId).map_err(|_| "is not a cursor")),
    );
    let zone = v.check("timezone", TimeZoneName::parse(org_zone));
    let window = match (from, to) {
        (Some(from), Some(to)) => {
            let to = to.unwrap_or(from + SignedDuration::from_hours(24 * DEFAULT_DAYS));
            if to <= from {
                v.reject("to", "must be after from");
            } else if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_DAYS) {
                v.reject("to", format!("a search spans at most {MAX_DAYS} days"));
            }
            Some((from, to))
        }
        _ => None,
    };
    let search = v
        .done(|| {
            let (from, to) = window?;
            let store = AvailabilitySearch {
                therapists,
                from,
                to,
                duration: duration?,
                step: step?,
                modality: modality?,
                zone: zone?,
                cursor: cursor?,
                page_size: therapists_per_page(days_spanned(from, to)),
            };
            Some(Search { store, format: format?.unwrap_or(SearchFormat::Starts) })
        })
        .map_err(query_problem)?;
    let days = days_spanned(search.store.from, search.store.to);
    if let Some(why) = search.store.therapists.as_ref().and_then(|ids| too_many_therapist_days(ids.len(), days)) {
        let mut error = ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "search_too_large", why.clone());
        error.errors.push(circles_domain::FieldError::new("therapist_ids", why));
        return Err(error.with("limits", json!({ "therapist_days": MAX_THERAPIST_DAYS, "days": MAX_DAYS })));
    }
    Ok(search)
}

#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "describes the streamed answer in the OpenAPI document")]
pub struct FreeStartsView {
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: Option<String>,
    /// Free start times, UTC, earliest first.
    #[schema(value_type = Vec<String>, example = json!(["2027-03-01T14:00:00Z"]))]
    pub starts: Vec<Timestamp>,
    /// The same instants in the organisation's zone, with their offset.
    #[schema(value_type = Vec<String>, example = json!(["2027-03-01T09:00:00-05:00"]))]
    pub starts_local: Vec<Timestamp>,
}

/// A free stretch: a session of `duration_minutes` may start at
/// `starts_at`, and every `step_minutes` after it, as long as it ends by
/// `ends_at`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "describes the streamed answer in the OpenAPI document")]
pub struct FreeIntervalView {
    #[schema(value_type = String, format = DateTime, example = "2027-03-01T14:00:00Z")]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime, example = "2027-03-01T17:00:00Z")]
    pub ends_at: Timestamp,
    /// `starts_at` in the organisation's zone, with its offset.
    #[schema(value_type = String, example = "2027-03-01T09:00:00-05:00")]
    pub starts_at_local: Timestamp,
    #[schema(value_type = String, example = "2027-03-01T12:00:00-05:00")]
    pub ends_at_local: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "describes the streamed answer in the OpenAPI document")]
pub struct FreeIntervalsView {
    pub therapist_id: Uuid,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: Option<String>,
    /// Earliest first.
    pub intervals: Vec<FreeIntervalView>,
}

/// One therapist: starts (`format=starts`) or intervals (`format=intervals`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "describes the streamed answer in the OpenAPI document")]
pub enum SearchItemView {
    Starts(FreeStartsView),
    Intervals(FreeIntervalsView),
}

/// One page of free time. A page lists at most 250000 entries (start times,
/// or intervals); a search with more goes on in the page at `next_cursor`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "describes the streamed answer in the OpenAPI document")]
pub struct SearchView {
    /// The organisation's zone, which the `*_local` forms are in.
    pub timezone: String,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// The window on the organisation's clock.
    #[schema(example = "Mon 1 Mar, 00:00 EST")]
    pub from_local: String,
    pub to_local: String,
    pub duration_minutes: i64,
    pub step_minutes: i64,
    pub format: SearchFormat,
    /// Therapists in id order.
    pub items: Vec<SearchItemView>,
    /// Pass as `cursor`, with the same other parameters, for the next page;
    /// `null` on the last.
    #[schema(value_type = Option<Uuid>)]
    pub next_cursor: Option<Uuid>,
}

/// The answer to `search`, streamed as it is found; `turn` (one of the
/// server's [`SEARCHES_AT_ONCE`]) is held until the whole page is written.
pub fn respond(
    search: Search,
    page: SearchPage,
    labels: Labels,
    turn: tokio::sync::OwnedSemaphorePermit,
) -> ApiResult<Response> {
    let span = Interval::new(search.store.from, search.store.to + search.store.duration)
        .ok_or_else(|| ApiError::internal("a validated search window"))?;
    let offsets = ZoneOffsets::covering(&search.store.zone.zone(), span);
    let (tx, rx) = mpsc::channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut out = Chunks { buf: Vec::with_capacity(CHUNK_BYTES * 2), tx };
        // An error here means the client went away; nothing is left to tell.
        if write_page(&mut out, &search, page, &offsets, &labels).is_ok() {
            let _ = out.flush();
        }
        drop(turn);
    });
    let chunks = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .map_err(ApiError::internal)
}

/// Bytes on their way to the connection, sent a chunk at a time.
struct Chunks {
    buf: Vec<u8>,
    tx: mpsc::Sender<io::Result<Vec<u8>>>,
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES * 2));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client gone"))
    }
}

fn write_page(
    out: &mut Chunks,
    search: &Search,
    mut page: SearchPage,
    offsets: &ZoneOffsets,
    labels: &Labels,
) -> io::Result<()> {
    let s = &search.store;
    let head = json!({
        "timezone": s.zone.as_str(),
        "from": s.from,
        "to": s.to,
        "from_local": local_time(s.from, s.zone.as_str()),
        "to_local": local_time(s.to, s.zone.as_str()),
        "duration_minutes": s.duration.as_mins(),
        "step_minutes": s.step.as_mins(),
        "format": search.format,
    })
    .to_string();
    // The head's closing brace gives way to the items.
    out.write_all(&head.as_bytes()[..head.len() - 1])?;
    out.write_all(b",\"items\":[")?;
    let mut budget = PageBudget::default();
    let mut next_cursor = page.next_therapist;
    let therapists = page.therapists.clone();
    for (i, &therapist) in therapists.iter().enumerate() {
        let starts = page.free_starts(therapist);
        let intervals = match search.format {
            SearchFormat::Starts => Vec::new(),
            SearchFormat::Intervals => free_intervals(&starts, s.step, s.duration),
        };
        let entries = if search.format == SearchFormat::Starts { starts.len() } else { intervals.len() };
        if !budget.admit(entries) {
            next_cursor = Some(therapist);
            break;
        }
        if i > 0 {
            out.write_all(b",")?;
        }
        let name = labels.person(therapist);
        let written = match search.format {
            SearchFormat::Starts => {
                serde_json::to_writer(&mut *out, &StartsItem { therapist, name, starts: &starts, offsets })
            }
            SearchFormat::Intervals => {
                serde_json::to_writer(&mut *out, &IntervalsItem { therapist, name, intervals: &intervals, offsets })
            }
        };
        written.map_err(io::Error::other)?;
    }
    out.write_all(b"],\"next_cursor\":")?;
    serde_json::to_writer(&mut *out, &next_cursor.map(|t| t.0)).map_err(io::Error::other)?;
    out.write_all(b"}")
}

struct StartsItem<'a> {
    therapist: PersonId,
    name: Option<String>,
    starts: &'a [Timestamp],
    offsets: &'a ZoneOffsets,
}

impl Serialize for StartsItem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut item = s.serialize_struct("FreeStarts", 4)?;
        item.serialize_field("therapist_id", &self.therapist.0)?;
        item.serialize_field("therapist_name", &self.name)?;
        item.serialize_field("starts", &UtcList(self.starts))?;
        item.serialize_field("starts_local", &LocalList { starts: self.starts, offsets: self.offsets })?;
        item.end()
    }
}

struct IntervalsItem<'a> {
    therapist: PersonId,
    name: Option<String>,
    intervals: &'a [Interval],
    offsets: &'a ZoneOffsets,
}

impl Serialize for IntervalsItem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct List<'a>(&'a [Interval], &'a ZoneOffsets);
        impl Serialize for List<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for &interval in self.0 {
                    seq.serialize_element(&FreeInterval(interval, self.1))?;
                }
                seq.end()
            }
        }
        struct FreeInterval<'a>(Interval, &'a ZoneOffsets);
        impl Serialize for FreeInterval<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut out = s.serialize_struct("FreeInterval", 4)?;
                out.serialize_field("starts_at", &Utc(self.0.start))?;
                out.serialize_field("ends_at", &Utc(self.0.end))?;
                out.serialize_field("starts_at_local", &Local { at: self.0.start, offsets: self.1 })?;
                out.serialize_field("ends_at_local", &Local { at: self.0.end, offsets: self.1 })?;
                out.end()
            }
        }
        let mut item = s.serialize_struct("FreeIntervals", 3)?;
        item.serialize_field("therapist_id", &self.therapist.0)?;
        item.serialize_field("therapist_name", &self.name)?;
        item.serialize_field("intervals", &List(self.intervals, self.offsets))?;
        item.end()
    }
}
