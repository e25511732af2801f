//! Practitioner, Patient, Group, Schedule and Slot.
//!
//! People appear with their id and name only (FHIR's minimum): the JSON API
//! decides who may see whom, and these resources show no more than it does.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{instant, reference};
use crate::interval::Interval;

/// A person as a FHIR resource shows them.
pub struct PersonFacts<'a> {
    pub id: Uuid,
    pub name: &'a str,
    /// A member of the organisation (not an invitation still unanswered).
    pub active: bool,
}

fn person(resource_type: &str, p: &PersonFacts<'_>) -> Value {
    json!({
        "resourceType": resource_type,
        "id": p.id.to_string(),
        "active": p.active,
        "name": [{ "text": p.name }],
    })
}

/// A therapist.
pub fn practitioner(p: &PersonFacts<'_>) -> Value {
    person("Practitioner", p)
}

/// A client, minimal: id and name.
pub fn patient(p: &PersonFacts<'_>) -> Value {
    person("Patient", p)
}

/// One client's membership of a therapy group.
pub struct MemberFacts {
    pub client: Uuid,
    pub join_date: Date,
    pub leave_date: Option<Date>,
    /// Counted as a member today (pending screening, active, waitlisted).
    pub current: bool,
}

/// A therapy group; `members` only for callers who may read its roster.
pub struct GroupFacts<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub active: bool,
    pub active_members: i64,
    pub members: Option<Vec<MemberFacts>>,
}

/// A therapy group: an actual group of persons, with its members (their
/// period in the group, and whether they are in it today) for staff.
pub fn group(g: &GroupFacts<'_>) -> Value {
    let mut group = json!({
        "resourceType": "Group",
        "id": g.id.to_string(),
        "active": g.active,
        "type": "person",
        "actual": true,
        "name": g.name,
        "quantity": g.active_members.max(0),
    });
    if let Some(members) = &g.members
        && !members.is_empty()
    {
        let members: Vec<Value> = members
            .iter()
            .map(|m| {
                let mut period = json!({ "start": m.join_date.to_string() });
                if let Some(leave) = m.leave_date {
                    period["end"] = json!(leave.to_string());
                }
                json!({ "entity": reference("Patient", m.client, None), "period": period, "inactive": !m.current })
            })
            .collect();
        group["member"] = json!(members);
    }
    group
}

/// A therapist's schedule: one per therapist, sharing the therapist's id,
/// so `Schedule/{id}` and `Practitioner/{id}` are the same person.
pub fn schedule(therapist: &PersonFacts<'_>) -> Value {
    json!({
        "resourceType": "Schedule",
        "id": therapist.id.to_string(),
        "active": therapist.active,
        "actor": [reference("Practitioner", therapist.id, Some(therapist.name))],
        "comment": format!("{}'s working hours, less what is booked or away", therapist.name),
    })
}

/// A slot is not stored: it is a therapist, a start and a length the
/// free-slot search found, or the time a live hold has. Its id spells those
/// three, so reading it again looks for that one start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotId {
    pub therapist: Uuid,
    pub start: Timestamp,
    pub minutes: i64,
}

impl SlotId {
    pub fn end(&self) -> Timestamp {
        self.start + SignedDuration::from_mins(self.minutes)
    }

    /// The slot the time a live hold has makes: the held start and length
    /// (in whole minutes, rounded up), whatever length a search asked for.
    pub fn held(therapist: Uuid, time: &Interval) -> SlotId {
        let seconds = time.length().as_secs();
        SlotId { therapist, start: time.start, minutes: (seconds + 59) / 60 }
    }
}

impl fmt::Display for SlotId {
    /// `{therapist}.{unix seconds}.{minutes}`: FHIR ids allow letters,
    /// digits, `-` and `.`, at most 64 characters (this is at most 55).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.therapist, self.start.as_second(), self.minutes)
    }
}

impl FromStr for SlotId {
    type Err = &'static str;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        const NOT_A_SLOT: &str = "is not a slot id";
        let mut parts = raw.split('.');
        let (Some(therapist), Some(start), Some(minutes), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(NOT_A_SLOT);
        };
        let therapist = Uuid::parse_str(therapist).map_err(|_| NOT_A_SLOT)?;
        let start = start.parse::<i64>().ok().and_then(|s| Timestamp::from_second(s).ok()).ok_or(NOT_A_SLOT)?;
        let minutes = minutes.parse::<i64>().ok().filter(|m| (1..=24 * 60).contains(m)).ok_or(NOT_A_SLOT)?;
        Ok(SlotId { therapist, start, minutes })
    }
}

/// Every `Slot.status` code of R4. A derived slot is only ever `free` or
/// `busy-tentative`: a search for the others is valid and finds nothing.
pub const SLOT_STATUS_CODES: [&str; 5] = ["busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"];

/// What a derived slot's time is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// The free-slot search finds it: it can be held and booked.
    Free,
    /// A live hold has it: taken unless the hold lapses or is released.
    BusyTentative,
}

impl SlotStatus {
    pub fn code(self) -> &'static str {
        match self {
            SlotStatus::Free => "free",
            SlotStatus::BusyTentative => "busy-tentative",
        }
    }

    /// Whether a search's `status` value (none: any) asks for this status.
    pub fn asked_for(self, status: Option<&str>) -> bool {
        status.is_none_or(|code| code == self.code())
    }
}

/// A slot on a therapist's schedule.
pub fn slot(id: &SlotId, status: SlotStatus, zone: &str) -> Value {
    json!({
        "resourceType": "Slot",
        "id": id.to_string(),
        "schedule": reference("Schedule", id.therapist, None),
        "status": status.code(),
        "start": instant(id.start, zone),
        "end": instant(id.end(), zone),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> PersonFacts<'static> {
        PersonFacts { id: Uuid::from_u128(7), name: "Ana Silva", active: true }
    }

    #[test]
    fn people_show_their_id_and_name() {
        let p = patient(&ana());
        assert_eq!(p["resourceType"], "Patient");
        assert_eq!(p["id"], Uuid::from_u128(7).to_string());
        assert_eq!(p["name"], json!([{ "text": "Ana Silva" }]));
        assert_eq!(practitioner(&ana())["resourceType"], "Practitioner");
    }

    #[test]
    fn a_schedule_is_its_therapists() {
        let s = schedule(&ana());
        assert_eq!(s["id"], s["actor"][0]["reference"].as_str().unwrap().trim_start_matches("Practitioner/"));
        assert_eq!(s["actor"][0]["display"], "Ana Silva");
    }

    #[test]
    fn group_members_appear_only_when_given() {
        let mut g = GroupFacts {
            id: Uuid::from_u128(1),
            name: "Tuesday circle",
            active: true,
            active_members: 2,
            members: None,
        };
        let without = group(&g);
        assert!(without.get("member").is_none());
        assert_eq!(without["quantity"], 2);
        g.members = Some(vec![MemberFacts {
            client: Uuid::from_u128(9),
            join_date: jiff::civil::date(2027, 1, 5),
            leave_date: Some(jiff::civil::date(2027, 6, 1)),
            current: false,
        }]);
        let with = group(&g);
        assert_eq!(with["member"][0]["entity"]["reference"], format!("Patient/{}", Uuid::from_u128(9)));
        assert_eq!(with["member"][0]["period"], json!({ "start": "2027-01-05", "end": "2027-06-01" }));
        assert_eq!(with["member"][0]["inactive"], true);
    }

    #[test]
    fn a_slot_id_round_trips_and_fits_a_fhir_id() {
        let id = SlotId { therapist: Uuid::now_v7(), start: "2027-03-01T14:00:00Z".parse().unwrap(), minutes: 50 };
        let text = id.to_string();
        assert!(text.len() <= 64 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
        assert_eq!(text.parse::<SlotId>(), Ok(id));
        assert_eq!(id.end(), "2027-03-01T14:50:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn a_malformed_slot_id_is_refused() {
        for bad in [
            "",
            "x.1.2",
            "00000000-0000-0000-0000-000000000000.1",
            "00000000-0000-0000-0000-000000000000.1.0",
            "00000000-0000-0000-0000-000000000000.z.5",
            "00000000-0000-0000-0000-000000000000.1.5.6",
        ] {
            assert!(bad.parse::<SlotId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_slot_is_free_on_its_schedule_in_local_time() {
        let id = SlotId { therapist: Uuid::from_u128(3), start: "2027-03-01T14:00:00Z".parse().unwrap(), minutes: 60 };
        let s = slot(&id, SlotStatus::Free, "America/New_York");
        assert_eq!(s["status"], "free");
        assert_eq!(slot(&id, SlotStatus::BusyTentative, "America/New_York")["status"], "busy-tentative");
        assert_eq!(s["start"], "2027-03-01T09:00:00-05:00");
        assert_eq!(s["end"], "2027-03-01T10:00:00-05:00");
        assert_eq!(s["schedule"]["reference"], format!("Schedule/{}", Uuid::from_u128(3)));
    }

    #[test]
    fn a_held_time_is_a_slot_of_the_length_held() {
        let start: Timestamp = "2027-03-01T14:00:00Z".parse().unwrap();
        let held = Interval::starting_at(start, SignedDuration::from_mins(50)).unwrap();
        let id = SlotId::held(Uuid::from_u128(3), &held);
        assert_eq!((id.start, id.minutes, id.end()), (start, 50, held.end));
        let odd = Interval::starting_at(start, SignedDuration::from_secs(50 * 60 + 1)).unwrap();
        assert_eq!(SlotId::held(Uuid::from_u128(3), &odd).minutes, 51, "covers all the time held");
    }

    #[test]
    fn a_status_search_asks_for_one_status_or_any() {
        assert!(SlotStatus::Free.asked_for(None) && SlotStatus::BusyTentative.asked_for(None));
        assert!(SlotStatus::BusyTentative.asked_for(Some("busy-tentative")));
        assert!(!SlotStatus::Free.asked_for(Some("busy-tentative")));
        assert!(!SlotStatus::Free.asked_for(Some("busy")) && !SlotStatus::BusyTentative.asked_for(Some("busy")));
        assert!(SLOT_STATUS_CODES.contains(&SlotStatus::Free.code()));
        assert!(SLOT_STATUS_CODES.contains(&SlotStatus::BusyTentative.code()));
    }
}
