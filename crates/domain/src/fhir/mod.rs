//! FHIR R4 views of Circles' scheduling: pure functions from Circles' facts
//! to FHIR resources (as `serde_json` values), and from FHIR search and
//! operation parameters back to Circles' terms.
//!
//! Nothing here reads a database or knows about HTTP: the server gathers the
//! facts through the same store use cases as the JSON API and hands them to
//! these functions, so the mapping is tested here on its own.
//!
//! - `resources`: Practitioner, Patient, Group, Schedule and Slot.
//! - `appointment`: Appointment (one-on-one and group), statuses both ways.
//! - `bundle`: searchset Bundles with paging links, and OperationOutcome.
//! - `capability`: the CapabilityStatement — exactly what the server does.
//! - `params`: search parameters (`date` prefixes, references, `_count`)
//!   and the `Parameters` resource the operations take.

pub mod appointment;
pub mod bundle;
pub mod capability;
pub mod params;
pub mod resources;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The FHIR version served.
pub const FHIR_VERSION: &str = "4.0.1";

/// Circles' own extensions (session capacity, seats taken) are named under
/// this base. It names, it does not resolve.
pub const EXTENSION_BASE: &str = "https://circles.invalid/fhir/StructureDefinition";

/// An instant as FHIR writes it, on the clock of `zone` with its offset
/// (`2027-03-01T09:00:00-05:00`), so a person reading the raw resource sees
/// the local time; an unknown zone falls back to UTC.
pub fn instant(at: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    at.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A reference to another resource of the same server, with the name a
/// person reads.
pub fn reference(resource_type: &str, id: impl std::fmt::Display, display: Option<&str>) -> Value {
    let mut reference = json!({ "reference": format!("{resource_type}/{id}") });
    if let Some(display) = display.filter(|d| !d.is_empty()) {
        reference["display"] = json!(display);
    }
    reference
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_carry_the_local_offset() {
        let at: Timestamp = "2027-03-01T14:00:00Z".parse().unwrap();
        assert_eq!(instant(at, "America/New_York"), "2027-03-01T09:00:00-05:00");
        assert_eq!(instant(at, "Europe/London"), "2027-03-01T14:00:00+00:00");
        assert_eq!(instant(at, "Nowhere/Atlantis"), "2027-03-01T14:00:00+00:00");
    }

    #[test]
    fn references_name_the_resource_and_the_person() {
        assert_eq!(reference("Patient", "abc", Some("Ana")), json!({ "reference": "Patient/abc", "display": "Ana" }));
        assert_eq!(reference("Group", "g", None), json!({ "reference": "Group/g" }));
        assert_eq!(reference("Group", "g", Some("")), json!({ "reference": "Group/g" }));
    }
}
