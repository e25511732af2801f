//! Appointments: sessions (one-on-one and group) and live holds, read and
//! searched with the JSON API's visibility rules. Every appointment shown
//! is read through `SessionStore::session`, which audits staff reads of
//! its seats like the JSON API's session reads.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use circles_domain::authz::Action;
use circles_domain::fhir::appointment::{
    self, AppointmentFacts, Participant, STATUS_CODES, narrows_to, seat_status, session_status, therapist_status,
};
use circles_domain::fhir::params::{StartRange, reference_id};
use circles_domain::ids::{PersonId, SessionId};
use circles_domain::session::SessionKind;
use circles_store::StoreError;
use circles_store::model::{Hold, HoldStatus, Session, SessionFilter};
use serde_json::Value;
use uuid::Uuid;

use super::{Fhir, SearchQuery, base_url};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Path;
use crate::routes::holds::hold_for;
use crate::routes::page::{parse_session_cursor, session_cursor};
use crate::routes::query::bad_query;
use crate::routes::sessions::{people_on, view_for};
use crate::state::AppState;

/// A session as an Appointment, with the seats the caller may see.
pub fn from_session(s: &Session) -> Value {
    let seat_statuses: Vec<_> = s.seats.iter().map(|seat| seat.status).collect();
    let is_group = s.kind != SessionKind::OneOnOne;
    appointment::appointment(&AppointmentFacts {
        id: Some(s.id.0.to_string()),
        status: session_status(s.kind, s.status, &seat_statuses),
        title: &s.title,
        start: s.starts_at,
        end: s.ends_at,
        zone: &s.timezone,
        created: Some(s.created_at),
        cancel_reason: s.cancel_reason.as_deref(),
        practitioners: s
            .therapists
            .iter()
            .map(|t| Participant {
                id: t.therapist_id.0,
                name: Some(&t.therapist_name),
                status: therapist_status(t.status),
            })
            .collect(),
        patients: s
            .seats
            .iter()
            .map(|seat| Participant {
                id: seat.client_id.0,
                name: Some(&seat.client_name),
                status: seat_status(seat.status),
            })
            .collect(),
        group: s.group_id.map(|g| g.0),
        seats: is_group.then_some((s.capacity, s.seats_taken)),
        hold_expires: None,
        slot: None,
    })
}

/// A hold as an Appointment: `pending` while live, `booked` once confirmed
/// (the session is its own Appointment), `cancelled` once released or
/// lapsed. A series hold shows its first slot.
pub fn from_hold(h: &Hold, title: &str, zone: &str) -> ApiResult<Value> {
    let first = h.slots.first().ok_or_else(|| ApiError::internal("a hold without slots"))?;
    let (status, hold_status) = match h.status {
        HoldStatus::Live => ("pending", "accepted"),
        HoldStatus::Confirmed => ("booked", "accepted"),
        HoldStatus::Released | HoldStatus::Expired => ("cancelled", "declined"),
    };
    Ok(appointment::appointment(&AppointmentFacts {
        id: Some(h.id.0.to_string()),
        status,
        title,
        start: first.start,
        end: first.end,
        zone,
        created: Some(h.created_at),
        cancel_reason: None,
        practitioners: vec![Participant { id: h.therapist_id.0, name: None, status: hold_status }],
        patients: vec![Participant { id: h.client_id.0, name: None, status: hold_status }],
        group: None,
        seats: None,
        hold_expires: (h.status == HoldStatus::Live).then_some(h.expires_at),
        slot: None,
    }))
}

/// What a held appointment is called until it is booked.
pub const HELD_TITLE: &str = "Held one-on-one session";

/// A session, or a hold made by `$hold`, as the caller may see it.
#[utoipa::path(get, path = "/fhir/{org_id}/Appointment/{id}", tag = "fhir",
    params(("org_id" = Uuid, Path), ("id" = Uuid, Path)),
    responses((status = 200, description = "Appointment", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "OperationOutcome"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn read_appointment(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Fhir> {
    match people_on(&state, &member, SessionId(id)).await {
        Ok(_) => {
            let session = state.store.session(&member.ctx, member.org_id(), SessionId(id), view_for(&member)).await?;
            Ok(Fhir::ok(from_session(&session)))
        }
        Err(e) if e.code == "not_found" => {
            let hold = hold_for(&state, &member, id).await.map_err(|e| match e.code {
                "not_found" => ApiError::not_found("Appointment"),
                _ => e,
            })?;
            Ok(Fhir::ok(from_hold(&hold, HELD_TITLE, &member.org.timezone)?))
        }
        Err(e) => Err(e),
    }
}

/// Who a search asks to be on the appointments.
#[derive(Default)]
struct Wanted {
    actor: Option<Uuid>,
    patient: Option<Uuid>,
    practitioner: Option<Uuid>,
}

impl Wanted {
    fn parse(query: &SearchQuery) -> ApiResult<Wanted> {
        let one = |name: &str, types: &[&str]| -> ApiResult<Option<Uuid>> {
            query.one(name)?.map(|raw| reference_id(raw, types).map_err(|why| bad_query(name, why))).transpose()
        };
        Ok(Wanted {
            actor: one("actor", &["Practitioner", "Patient"])?,
            patient: one("patient", &["Patient"])?,
            practitioner: one("practitioner", &["Practitioner"])?,
        })
    }

    /// One person the database query can narrow to.
    fn someone(&self) -> Option<Uuid> {
        self.patient.or(self.practitioner).or(self.actor)
    }

    fn matches(&self, s: &Session) -> bool {
        let therapist = |id: Uuid| s.therapists.iter().any(|t| t.therapist_id.0 == id);
        let client = |id: Uuid| s.seats.iter().any(|seat| seat.client_id.0 == id);
        self.patient.is_none_or(client)
            && self.practitioner.is_none_or(therapist)
            && self.actor.is_none_or(|id| therapist(id) || client(id))
    }
}

/// Appointments the caller may see, sorted by start, a page at a time.
#[utoipa::path(get, path = "/fhir/{org_id}/Appointment", tag = "fhir",
    params(("org_id" = Uuid, Path),
        ("date" = Option<String>, Query, format = "fhir-date",
            description = "A prefix (eq, ge, gt, le, lt) and a real calendar date or a date-time with its offset; repeatable, the values leave a range whose end is after its start"),
        ("actor" = Option<String>, Query, format = "fhir-person"),
        ("patient" = Option<String>, Query, format = "fhir-patient"),
        ("practitioner" = Option<String>, Query, format = "fhir-practitioner"),
        ("status" = Option<String>, Query),
        ("_count" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("_cursor" = Option<String>, Query, format = "time-cursor")),
    responses((status = 200, description = "searchset Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "OperationOutcome"), (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn search_appointments(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Fhir> {
    let query = SearchQuery::parse("Appointment", raw.as_deref())?;
    let count = query.count()?;
    let mut range = StartRange::default();
    for value in query.all("date") {
        range.narrow(value, &member.org.timezone).map_err(|why| bad_query("date", why))?;
    }
    let status = query.one("status")?.map(str::to_ascii_lowercase);
    if let Some(code) = &status
        && !STATUS_CODES.contains(&code.as_str())
    {
        return Err(bad_query("status", format!("must be one of {}", STATUS_CODES.join(", "))));
    }
    let wanted = Wanted::parse(&query)?;
    let sees_all = member.authorize(Action::ListAllSessions).is_ok();
    let visible_to = if sees_all { wanted.someone().map(PersonId) } else { Some(member.person_id) };
    let filter = SessionFilter {
        status: status.as_deref().and_then(narrows_to),
        // A session starting at or after `from` ends after it: the query
        // reads a little more, and the page keeps only true matches.
        from: range.from,
        to: range.to,
        group_id: None,
        created_by: None,
        visible_to,
        after: parse_session_cursor(query.one("_cursor")?)?,
        limit: count as i64 + 1,
    };
    let mut listed = state.store.list_sessions(member.org_id(), filter).await?;
    let next = (listed.len() > count).then(|| listed[count - 1].clone()).map(|s| session_cursor(s.starts_at, s.id));
    listed.truncate(count);
    let mut resources = Vec::with_capacity(listed.len());
    for listed in listed.iter().filter(|s| range.contains(s.starts_at)) {
        let session = match state.store.session(&member.ctx, member.org_id(), listed.id, view_for(&member)).await {
            Ok(session) => session,
            // Gone between the list and the read.
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let resource = from_session(&session);
        if wanted.matches(&session) && status.as_deref().is_none_or(|code| resource["status"] == code) {
            resources.push(resource);
        }
    }
    Ok(query.bundle(&base_url(&state, &headers, &member), resources, next.as_deref(), None))
}
