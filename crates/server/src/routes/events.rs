//! `GET /api/v1/events`: the caller's live events as Server-Sent Events.
//!
//! Each event's `id` is the caller's cursor (`org:seq` per organisation);
//! a client that reconnects sends it back as `Last-Event-ID` and first gets
//! what it missed from the log, then live events. Data carries ids and
//! times only: a page fetches what it shows through the ordinary routes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use circles_domain::live::EventCursor;
use circles_domain::local_time::local_time;
use futures::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::views::Problem;
use crate::auth::Caller;
use crate::http::error::ApiResult;
use crate::live::stream::{self, Item};
use crate::state::AppState;

/// A comment line this often keeps proxies and browsers from closing a
/// quiet stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The data of one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventData {
    /// NOTIFICATION or PRESENCE (also the SSE event name).
    pub kind: String,
    pub org_id: Uuid,
    /// The event's number in its organisation's log.
    pub seq: i64,
    pub session_id: Option<Uuid>,
    /// Ids and times of what happened, by kind: a notification's
    /// `notification_kind`, `session_id`, `group_id`; a
    /// check-in's `session_id`, `person_id`, `checked_in_at`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// `created_at` on the clock of the listener's organisation.
    pub created_at_local: String,
}

/// The caller's live events (`text/event-stream`): their notifications,
/// presence in sessions they run or attend. `Last-Event-ID` resumes after
/// the event that carried it, for at least 24 hours. A listener that falls
/// far behind gets a `resume` event (data: the cursor) and is disconnected;
/// it reconnects with that cursor.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "the id of the last event received")),
    responses((status = 200, content_type = "text/event-stream", body = EventData,
        description = "one `data:` line per event, named by its kind"),
        (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn events(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> ApiResult<Response> {
    let memberships = state.store.memberships(caller.principal.account_id).await?;
    let zones: Vec<(circles_domain::ids::OrgId, String)> =
        memberships.iter().map(|m| (m.org.id, m.org.timezone.clone())).collect();
    let people = memberships.iter().map(|m| (m.org.id, m.person_id)).collect();
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(EventCursor::parse);
    let items = stream::open(state.hub.clone(), people, resume).await?;
    let events = items.map(move |item| {
        let event = match item {
            Item::Event { event: fanned, cursor } => {
                let event = &fanned.event;
                let data = fanned.rendered.get_or_init(|| {
                    let zone = zones.iter().find(|(org, _)| *org == event.org_id).map_or("UTC", |(_, z)| z.as_str());
                    let data = EventData {
                        kind: event.kind.clone(),
                        org_id: event.org_id.0,
                        seq: event.seq,
                        session_id: event.session_id.map(|s| s.0),
                        payload: serde_json::from_str(&event.payload).unwrap_or_default(),
                        created_at: event.created_at,
                        created_at_local: local_time(event.created_at, zone),
                    };
                    serde_json::to_string(&data).expect("serialisable")
                });
                SseEvent::default().id(cursor).event(event.kind.as_str()).data(data)
            }
            Item::Resume { cursor } => SseEvent::default().event("resume").data(cursor),
            Item::Failed { cursor } => SseEvent::default().event("resume").data(cursor),
        };
        Ok::<_, Infallible>(event)
    });
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    let h = response.headers_mut();
    // nginx would otherwise hold events back to fill its buffer.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Never compressed: a compressor would buffer the stream.
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("identity"));
    Ok(response)
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(events))
}
