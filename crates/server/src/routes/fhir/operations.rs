//! The IHE Scheduling operations over Circles' free-slot search and holds:
//! `$find` (ITI-115) proposes appointments in free slots, `$hold` (ITI-116)
//! places a Circles hold (same expiry, same conflict rules: a clash is 409
//! with the retry hints), `$book` (ITI-117) confirms it into a session.
//! An `Idempotency-Key` on any of them replays the first answer (the
//! server-wide idempotency layer handles every POST).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use circles_domain::Role;
use circles_domain::authz::{Action, people_scope};
use circles_domain::fhir::appointment::{self, AppointmentFacts, Participant};
use circles_domain::fhir::bundle::{self, Entry};
use circles_domain::fhir::params::{self, MAX_COUNT, reference_id};
use circles_domain::ids::PersonId;
use circles_domain::validation::Validator;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::appointments::{from_hold, from_session};
use super::slots::{DEFAULT_MINUTES, MINUTES, free_slots, stretch};
use super::{Fhir, base_url};
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::routes::holds::{CreateHoldRequest, hold_for, parse_hold};
use crate::state::AppState;

/// The input of an operation: a FHIR `Parameters` resource, each input
/// named in `parameter`. JSON Schema cannot say which names an operation
/// needs (each operation's description does); it states the resource's shape.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirParameters)]
#[allow(dead_code)] // documents the body; handlers read it as JSON
pub struct ParametersDoc {
    resource_type: ParametersType,
    parameter: Vec<ParameterDoc>,
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
enum ParametersType {
    Parameters,
}

/// The inputs the operations read; `$find` the first six, `$hold` and
/// `$book` `appointment`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
enum ParameterName {
    #[serde(rename = "start")]
    Start,
    #[serde(rename = "end")]
    End,
    #[serde(rename = "practitioner")]
    Practitioner,
    #[serde(rename = "patient")]
    Patient,
    #[serde(rename = "minutesDuration")]
    MinutesDuration,
    #[serde(rename = "_count")]
    Count,
    #[serde(rename = "appointment")]
    Appointment,
}

/// One named input, with its value in the `value[x]` the operation names.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FhirParameter)]
#[allow(dead_code)]
struct ParameterDoc {
    name: ParameterName,
    #[schema(format = DateTime)]
    value_date_time: Option<String>,
    value_integer: Option<i64>,
    value_string: Option<String>,
    #[schema(value_type = Option<Object>)]
    value_reference: Option<Value>,
    #[schema(value_type = Option<Object>)]
    resource: Option<Value>,
}

fn parameters(body: &Value) -> ApiResult<&Value> {
    if params::is_parameters(body) {
        Ok(body)
    } else {
        Err(ApiError::field("resourceType", "send a Parameters resource"))
    }
}

/// `$find`'s input, read and checked.
struct Find {
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    practitioners: Option<Vec<PersonId>>,
    patient: Option<Uuid>,
    minutes: i64,
    count: usize,
}

fn parse_find(p: &Value) -> ApiResult<Find> {
    let mut v = Validator::default();
    let from = match params::date_time(p, "start") {
        Some(parsed) => v.check("start", parsed),
        None => {
            v.reject("start", "is required");
            None
        }
    };
    let to = match params::date_time(p, "end") {
        Some(parsed) => v.check("end", parsed),
        None => {
            v.reject("end", "is required");
            None
        }
    };
    let mut practitioners = Vec::new();
    for given in p["parameter"].as_array().into_iter().flatten().filter(|x| x["name"] == "practitioner") {
        let raw = given["valueReference"]["reference"].as_str().or_else(|| given["valueString"].as_str()).unwrap_or("");
        if let Some(id) = v.check("practitioner", reference_id(raw, &["Practitioner"])) {
            practitioners.push(PersonId(id));
        }
    }
    let patient = params::reference(p, "patient", &["Patient"]).and_then(|r| v.check("patient", r));
    let minutes = match params::integer(p, "minutesDuration") {
        None => Some(DEFAULT_MINUTES),
        Some(parsed) => v.check("minutesDuration", parsed).and_then(|m| {
            if MINUTES.contains(&m) {
                Some(m)
            } else {
                v.reject("minutesDuration", format!("must be {} to {} minutes", MINUTES.start(), MINUTES.end()));
                None
            }
        }),
    };
    let count = match params::integer(p, "_count") {
        None => Some(params::DEFAULT_COUNT),
        Some(parsed) => v.check("_count", parsed).and_then(|n| {
            let n = usize::try_from(n).ok().filter(|n| (1..=MAX_COUNT).contains(n));
            if n.is_none() {
                v.reject("_count", format!("must be 1 to {MAX_COUNT}"));
            }
            n
        }),
    };
    Ok(v.done(|| {
        Some(Find {
            from: from?,
            to: to?,
            practitioners: (!practitioners.is_empty()).then_some(practitioners),
            patient,
            minutes: minutes?,
            count: count?,
        })
    })?)
}

/// Proposed appointments in free slots (ITI-115), from the `Parameters`
/// named `start` and `end` (required; each a `valueDateTime` with its
/// offset), `practitioner` (repeatable; every therapist by default; each a
/// therapist of this organisation) and `patient` (each a `Practitioner` or
/// `Patient` reference or id, as a `valueReference`), `minutesDuration` (a
/// `valueInteger` of 5 to 720 minutes, 60 by default) and `_count` (a
/// `valueInteger` of 1 to 100). `start` and `end` leave a range whose end
/// is after its start, and a search spans at most 62 days.
#[utoipa::path(post, path = "/fhir/{org_id}/Appointment/$find", tag = "fhir",
    params(("org_id" = Uuid, Path)), request_body(content = ParametersDoc, content_type = "application/fhir+json",
        description = "Parameters"),
    responses((status = 200, description = "searchset Bundle of proposed Appointments", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "OperationOutcome"), (status = 404, description = "OperationOutcome"),
        (status = 422, description = "OperationOutcome naming the refused parameter")),
    security(("bearer" = [])))]
pub async fn find(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Fhir> {
    let find = parse_find(parameters(&body)?)?;
    let now = state.clock.now();
    let from = find.from.max(now);
    stretch("end", from, find.to)?;
    let practitioners = ("practitioner", find.practitioners);
    let mut slots = free_slots(&state, &member, practitioners, from, find.to, find.minutes).await?;
    slots.truncate(find.count);
    let therapists = all_therapist_names(&state, &member).await?;
    let zone = &member.org.timezone;
    let entries = slots
        .iter()
        .map(|slot| Entry {
            full_url: None,
            resource: appointment::appointment(&AppointmentFacts {
                id: None,
                status: "proposed",
                title: "One-on-one session",
                start: slot.start,
                end: slot.end(),
                zone,
                created: None,
                cancel_reason: None,
                practitioners: vec![Participant {
                    id: slot.therapist,
                    name: therapists.get(&slot.therapist).map(String::as_str),
                    status: "needs-action",
                }],
                patients: find
                    .patient
                    .map(|id| Participant { id, name: None, status: "needs-action" })
                    .into_iter()
                    .collect(),
                group: None,
                seats: None,
                hold_expires: None,
                slot: Some(slot.to_string()),
            }),
        })
        .collect();
    let base = base_url(&state, &headers, &member);
    Ok(Fhir::ok(bundle::searchset(&format!("{base}/Appointment/$find"), None, None, entries)))
}

async fn all_therapist_names(state: &AppState, member: &Member) -> ApiResult<HashMap<Uuid, String>> {
    let scope = people_scope(member.role);
    let therapists =
        state.store.list_people(&member.ctx, member.org_id(), Some(Role::Therapist), scope, member.person_id).await?;
    Ok(therapists.into_iter().map(|t| (t.id.0, t.name)).collect())
}

/// The one participant of `resource_type` on an appointment.
fn participant(appointment: &Value, resource_type: &str, v: &mut Validator) -> Option<Uuid> {
    let prefix = format!("{resource_type}/");
    let found: Vec<&str> = appointment["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .filter(|r| r.starts_with(&prefix) || r.contains(&format!("/{prefix}")))
        .collect();
    match found.as_slice() {
        [one] => v.check("appointment.participant", reference_id(one, &[resource_type])),
        _ => {
            v.reject("appointment.participant", format!("must name exactly one {resource_type}"));
            None
        }
    }
}

/// Circles' hold fields under the names a FHIR client sent.
fn fhir_field(field: &str) -> String {
    match field {
        "starts_at" => "appointment.start".into(),
        "ends_at" => "appointment.end".into(),
        "therapist_id" | "client_id" => "appointment.participant".into(),
        "title" => "appointment.description".into(),
        other => format!("appointment.{other}"),
    }
}

/// Holds a proposed appointment's slot (ITI-116) for its Practitioner and
/// Patient: a Circles hold, lapsing after five minutes unless booked. A
/// clash is 409 with the next free starts as retry hints.
#[utoipa::path(post, path = "/fhir/{org_id}/Appointment/$hold", tag = "fhir",
    params(("org_id" = Uuid, Path)), request_body(content = ParametersDoc, content_type = "application/fhir+json",
        description = "Parameters with `appointment`: a proposed Appointment from $find, as $find proposed it \
            (its `start` and `end`, and exactly one Practitioner and one Patient among its participants)"),
    responses((status = 200, description = "the pending Appointment (its id is the hold's)", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "OperationOutcome"), (status = 404, description = "OperationOutcome"),
        (status = 409, description = "OperationOutcome with retry hints"), (status = 422, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn hold(State(state): State<AppState>, member: Member, Json(body): Json<Value>) -> ApiResult<Fhir> {
    let p = parameters(&body)?;
    let appointment = match params::resource(p, "appointment", "Appointment") {
        Some(found) => found.map_err(|why| ApiError::field("appointment", why))?,
        None => return Err(ApiError::field("appointment", "is required: the proposed Appointment")),
    };
    let mut v = Validator::default();
    let therapist = participant(appointment, "Practitioner", &mut v);
    let client = participant(appointment, "Patient", &mut v);
    let text = |name: &str| appointment[name].as_str().map(str::to_owned);
    for required in ["start", "end"] {
        if text(required).is_none() {
            v.reject(&format!("appointment.{required}"), "is required");
        }
    }
    let title = text("description").filter(|t| !t.trim().is_empty());
    let request = v.done(|| {
        Some(CreateHoldRequest {
            therapist_id: therapist?,
            client_id: client?,
            starts_at: text("start")?,
            ends_at: text("end")?,
            occurrences: None,
            recurrence: None,
            hold_seconds: None,
            title: title.clone(),
            description: None,
            modality: None,
            virtual_link: None,
            location: None,
            address: None,
            timezone: None,
        })
    })?;
    let input = parse_hold(&request, &member.org.timezone, state.clock.now()).map_err(|mut e| {
        for field in &mut e.errors {
            field.field = fhir_field(&field.field);
        }
        e
    })?;
    member.authorize(Action::BookOneOnOne {
        as_therapist: input.therapist_id == member.person_id,
        as_client: input.client_id == member.person_id,
    })?;
    let title = input.details.title.as_str().to_owned();
    let hold = state.store.create_hold(&member.ctx, member.org_id(), input).await?;
    Ok(Fhir::ok(from_hold(&hold, &title, &member.org.timezone)?))
}

/// Books a held appointment (ITI-117): confirms the hold into its session,
/// which is the booked Appointment returned. An expired, released or
/// already booked hold is 409.
#[utoipa::path(post, path = "/fhir/{org_id}/Appointment/$book", tag = "fhir",
    params(("org_id" = Uuid, Path)), request_body(content = ParametersDoc, content_type = "application/fhir+json",
        description = "Parameters with `appointment`: the pending Appointment from $hold (or a reference to it)"),
    responses((status = 200, description = "the booked Appointment", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "OperationOutcome"), (status = 404, description = "OperationOutcome"),
        (status = 409, description = "OperationOutcome: hold_expired, hold_released or hold_confirmed"),
        (status = 422, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn book(
    State(state): State<AppState>,
    member: Member,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Fhir> {
    let p = parameters(&body)?;
    let given = params::parameter(p, "appointment").ok_or_else(|| {
        ApiError::field("appointment", "is required: the pending Appointment from $hold, or a reference to it")
    })?;
    let raw = given["resource"]["id"].as_str().or_else(|| given["valueReference"]["reference"].as_str()).unwrap_or("");
    let id = reference_id(raw, &["Appointment"]).map_err(|why| ApiError::field("appointment", why))?;
    let hold = hold_for(&state, &member, id).await?;
    let sessions = state.store.confirm_hold(&member.ctx, member.org_id(), hold.id).await?;
    match sessions.as_slice() {
        [one] => Ok(Fhir::ok(from_session(one))),
        many => {
            let base = base_url(&state, &headers, &member);
            let entries = many
                .iter()
                .map(|s| Entry { full_url: Some(format!("{base}/Appointment/{}", s.id)), resource: from_session(s) })
                .collect();
            Ok(Fhir::ok(bundle::searchset(&format!("{base}/Appointment/$book"), None, Some(many.len()), entries)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_fields_are_named_as_the_fhir_client_sent_them() {
        assert_eq!(fhir_field("starts_at"), "appointment.start");
        assert_eq!(fhir_field("client_id"), "appointment.participant");
        assert_eq!(fhir_field("hold_seconds"), "appointment.hold_seconds");
    }

    #[test]
    fn find_requires_its_window_and_checks_the_rest() {
        let empty = serde_json::json!({ "resourceType": "Parameters", "parameter": [
            { "name": "minutesDuration", "valueInteger": 2 },
            { "name": "practitioner", "valueReference": { "reference": "Patient/x" } },
        ]});
        let error = parse_find(&empty).err().unwrap();
        let fields: Vec<&str> = error.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["start", "end", "practitioner", "minutesDuration"]);
    }
}
