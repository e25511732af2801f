//! Appointments: a Circles session (one-on-one or group), a live hold, or a
//! proposal `$find` makes, as FHIR R4 `Appointment`s.
//!
//! A group session names its group as R5's `Appointment.subject`, carried
//! in R4 by the official cross-version extension, and states its capacity
//! and seats taken with Circles' own extensions.

use jiff::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{EXTENSION_BASE, instant, reference};
use crate::session::{InvitationStatus, SeatStatus, SessionKind, SessionStatus};

/// R5's `Appointment.subject` in an R4 resource (FHIR's cross-version
/// extension for that element).
pub const R5_SUBJECT: &str = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.subject";

/// Every `Appointment.status` code of R4, for refusing anything else in a
/// search. Circles produces proposed, pending, booked, fulfilled, cancelled
/// and noshow; a search for the others is valid and finds nothing.
pub const STATUS_CODES: [&str; 10] = [
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
];

/// The appointment's status for a session as the clock has it. A session
/// under way is still `booked` (FHIR's `arrived` is about a patient who
/// checked in); a finished one-on-one whose client did not come is `noshow`.
pub fn session_status(kind: SessionKind, status: SessionStatus, seats: &[SeatStatus]) -> &'static str {
    match status {
        SessionStatus::Proposed => "proposed",
        SessionStatus::Scheduled | SessionStatus::InProgress => "booked",
        SessionStatus::Completed if kind == SessionKind::OneOnOne && seats == [SeatStatus::NoShow] => "noshow",
        SessionStatus::Completed => "fulfilled",
        SessionStatus::Cancelled => "cancelled",
    }
}

/// The session status a search for `code` can narrow the database query
/// to, when one status holds all its matches.
pub fn narrows_to(code: &str) -> Option<SessionStatus> {
    match code {
        "proposed" => Some(SessionStatus::Proposed),
        "fulfilled" | "noshow" => Some(SessionStatus::Completed),
        "cancelled" => Some(SessionStatus::Cancelled),
        _ => None,
    }
}

/// A therapist's answer to their invitation to the session.
pub fn therapist_status(status: InvitationStatus) -> &'static str {
    match status {
        InvitationStatus::Pending => "needs-action",
        InvitationStatus::Accepted => "accepted",
        InvitationStatus::Declined => "declined",
    }
}

/// A client's seat as a participant's answer: registered and not yet
/// confirmed is tentative; a cancelled seat is declined.
pub fn seat_status(status: SeatStatus) -> &'static str {
    match status {
        SeatStatus::Registered => "tentative",
        SeatStatus::Confirmed | SeatStatus::Attended | SeatStatus::NoShow => "accepted",
        SeatStatus::CancelledByClient | SeatStatus::CancelledByProvider | SeatStatus::LateCancelled => "declined",
    }
}

/// Someone on the appointment, with their own answer.
pub struct Participant<'a> {
    pub id: Uuid,
    pub name: Option<&'a str>,
    /// accepted, declined, tentative or needs-action.
    pub status: &'static str,
}

/// Everything an appointment shows.
pub struct AppointmentFacts<'a> {
    /// `None` for a proposal, which is not stored anywhere.
    pub id: Option<String>,
    pub status: &'static str,
    pub title: &'a str,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The zone the times are written in (the session's or organisation's).
    pub zone: &'a str,
    pub created: Option<Timestamp>,
    pub cancel_reason: Option<&'a str>,
    pub practitioners: Vec<Participant<'a>>,
    pub patients: Vec<Participant<'a>>,
    /// A group session's group.
    pub group: Option<Uuid>,
    /// A group session's (capacity, seats taken).
    pub seats: Option<(i64, i64)>,
    /// A live hold's expiry.
    pub hold_expires: Option<Timestamp>,
    /// The free slot a proposal fills (its `Slot` id).
    pub slot: Option<String>,
}

fn participant(resource_type: &str, p: &Participant<'_>) -> Value {
    json!({ "actor": reference(resource_type, p.id, p.name), "required": "required", "status": p.status })
}

pub fn appointment(a: &AppointmentFacts<'_>) -> Value {
    let participants: Vec<Value> = a
        .practitioners
        .iter()
        .map(|p| participant("Practitioner", p))
        .chain(a.patients.iter().map(|p| participant("Patient", p)))
        .collect();
    let mut appointment = json!({
        "resourceType": "Appointment",
        "status": a.status,
        "description": a.title,
        "start": instant(a.start, a.zone),
        "end": instant(a.end, a.zone),
        "minutesDuration": a.end.duration_since(a.start).as_mins().max(1),
        "participant": participants,
    });
    if let Some(id) = &a.id {
        appointment["id"] = json!(id);
    }
    if let Some(slot) = &a.slot {
        appointment["slot"] = json!([reference("Slot", slot, None)]);
    }
    if let Some(created) = a.created {
        appointment["created"] = json!(instant(created, a.zone));
    }
    if let Some(reason) = a.cancel_reason.filter(|r| !r.is_empty())
        && matches!(a.status, "cancelled" | "noshow")
    {
        appointment["cancelationReason"] = json!({ "text": reason });
    }
    let mut extensions = Vec::new();
    if let Some(group) = a.group {
        extensions.push(json!({ "url": R5_SUBJECT, "valueReference": reference("Group", group, None) }));
    }
    if let Some((capacity, taken)) = a.seats {
        extensions.push(json!({ "url": format!("{EXTENSION_BASE}/capacity"), "valueUnsignedInt": capacity.max(0) }));
        extensions.push(json!({ "url": format!("{EXTENSION_BASE}/seats-taken"), "valueUnsignedInt": taken.max(0) }));
    }
    if let Some(expires) = a.hold_expires {
        extensions
            .push(json!({ "url": format!("{EXTENSION_BASE}/hold-expires"), "valueInstant": instant(expires, a.zone) }));
    }
    if !extensions.is_empty() {
        appointment["extension"] = json!(extensions);
    }
    appointment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn one_on_one() -> AppointmentFacts<'static> {
        AppointmentFacts {
            id: Some("s1".into()),
            status: "booked",
            title: "Intake",
            start: at("2027-03-01T14:00:00Z"),
            end: at("2027-03-01T14:50:00Z"),
            zone: "America/New_York",
            created: Some(at("2027-02-01T10:00:00Z")),
            cancel_reason: Some("illness"),
            practitioners: vec![Participant { id: Uuid::from_u128(1), name: Some("Dana Reyes"), status: "accepted" }],
            patients: vec![Participant { id: Uuid::from_u128(2), name: Some("Ana Silva"), status: "accepted" }],
            group: None,
            seats: None,
            hold_expires: None,
            slot: None,
        }
    }

    #[test]
    fn statuses_follow_the_session_and_the_clock() {
        use SessionKind::*;
        assert_eq!(session_status(OneOnOne, SessionStatus::Proposed, &[]), "proposed");
        assert_eq!(session_status(OneOnOne, SessionStatus::Scheduled, &[]), "booked");
        assert_eq!(session_status(Group, SessionStatus::InProgress, &[]), "booked");
        assert_eq!(session_status(OneOnOne, SessionStatus::Completed, &[SeatStatus::NoShow]), "noshow");
        assert_eq!(session_status(Group, SessionStatus::Completed, &[SeatStatus::NoShow]), "fulfilled");
        assert_eq!(session_status(OneOnOne, SessionStatus::Completed, &[SeatStatus::Attended]), "fulfilled");
        assert_eq!(session_status(Group, SessionStatus::Cancelled, &[]), "cancelled");
        for code in ["proposed", "booked", "fulfilled", "cancelled", "noshow"] {
            assert!(STATUS_CODES.contains(&code));
        }
        assert_eq!(narrows_to("noshow"), Some(SessionStatus::Completed));
        assert_eq!(narrows_to("booked"), None, "booked is scheduled or under way");
    }

    #[test]
    fn participants_answer_for_themselves() {
        assert_eq!(therapist_status(InvitationStatus::Pending), "needs-action");
        assert_eq!(therapist_status(InvitationStatus::Declined), "declined");
        assert_eq!(seat_status(SeatStatus::Registered), "tentative");
        assert_eq!(seat_status(SeatStatus::Attended), "accepted");
        assert_eq!(seat_status(SeatStatus::LateCancelled), "declined");
    }

    #[test]
    fn a_one_on_one_lists_its_therapist_and_client_in_local_time() {
        let a = appointment(&one_on_one());
        assert_eq!(a["id"], "s1");
        assert_eq!(a["start"], "2027-03-01T09:00:00-05:00");
        assert_eq!(a["minutesDuration"], 50);
        assert_eq!(
            a["participant"][0]["actor"],
            json!({ "reference": format!("Practitioner/{}", Uuid::from_u128(1)), "display": "Dana Reyes" })
        );
        assert_eq!(a["participant"][1]["actor"]["reference"], format!("Patient/{}", Uuid::from_u128(2)));
        assert!(a.get("extension").is_none());
        assert!(a.get("cancelationReason").is_none(), "only a cancelled appointment gives a reason");
    }

    #[test]
    fn a_cancelled_appointment_says_why() {
        let mut facts = one_on_one();
        facts.status = "cancelled";
        assert_eq!(appointment(&facts)["cancelationReason"], json!({ "text": "illness" }));
    }

    #[test]
    fn a_group_session_names_its_group_as_the_r5_subject_with_its_capacity() {
        let mut facts = one_on_one();
        facts.group = Some(Uuid::from_u128(5));
        facts.seats = Some((12, 7));
        let a = appointment(&facts);
        let ext = a["extension"].as_array().unwrap();
        assert_eq!(ext[0]["url"], R5_SUBJECT);
        assert_eq!(ext[0]["valueReference"]["reference"], format!("Group/{}", Uuid::from_u128(5)));
        assert_eq!(ext[1]["valueUnsignedInt"], 12);
        assert_eq!(ext[2]["valueUnsignedInt"], 7);
    }

    #[test]
    fn a_proposal_has_no_id_and_a_hold_says_when_it_lapses() {
        let mut facts = one_on_one();
        facts.id = None;
        facts.status = "proposed";
        facts.slot = Some("t.1.60".into());
        assert!(appointment(&facts).get("id").is_none());
        assert_eq!(appointment(&facts)["slot"], json!([{ "reference": "Slot/t.1.60" }]));
        facts.hold_expires = Some(at("2027-02-01T10:05:00Z"));
        assert_eq!(appointment(&facts)["extension"][0]["valueInstant"], "2027-02-01T05:05:00-05:00");
    }
}
