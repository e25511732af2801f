//! Search parameters and operation `Parameters`, read into Circles' terms.
//! Each function refuses what it cannot read with a reason for the field.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use uuid::Uuid;

/// `_count` when none is given, and the most a page holds.
pub const DEFAULT_COUNT: usize = 20;
pub const MAX_COUNT: usize = 100;

/// Where an appointment's start may lie: `[from, to)`, either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl StartRange {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }

    fn narrow_from(&mut self, from: Timestamp) {
        self.from = Some(self.from.map_or(from, |f| f.max(from)));
    }

    fn narrow_to(&mut self, to: Timestamp) {
        self.to = Some(self.to.map_or(to, |t| t.min(to)));
    }

    /// Narrows the range by one `date` value: a prefix (`eq` by default,
    /// `ge`, `gt`, `le`, `lt`) and a date or date-time. A date is the whole
    /// day on the organisation's clock; a date-time without seconds or
    /// offset is refused (FHIR requires the offset when there is a time).
    pub fn narrow(&mut self, raw: &str, zone: &str) -> Result<(), String> {
        let (prefix, value) = match raw.get(..2) {
            Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &raw[2..]),
            Some("ne" | "sa" | "eb" | "ap") => return Err("supports the prefixes eq, ge, gt, le and lt".into()),
            _ => ("eq", raw),
        };
        let (low, high) = precision_range(value, zone)?;
        match prefix {
            "ge" => self.narrow_from(low),
            "gt" => self.narrow_from(high),
            "lt" => self.narrow_to(low),
            "le" => self.narrow_to(high),
            _ => {
                self.narrow_from(low);
                self.narrow_to(high);
            }
        }
        Ok(())
    }
}

/// The instants a date or date-time value stands for: a day is its local
/// midnight to the next; an instant is its second.
fn precision_range(value: &str, zone: &str) -> Result<(Timestamp, Timestamp), String> {
    if value.len() == 10 {
        let day: Date = value.parse().map_err(|_| format!("`{value}` is not a date (YYYY-MM-DD)"))?;
        let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
        let start = day.to_zoned(tz.clone()).map_err(|e| e.to_string())?.timestamp();
        let next = day.tomorrow().map_err(|e| e.to_string())?.to_zoned(tz).map_err(|e| e.to_string())?.timestamp();
        return Ok((start, next));
    }
    let at: Timestamp = value
        .parse()
        .map_err(|_| format!("`{value}` is not a date or a date-time with an offset (2027-03-01T09:00:00-05:00)"))?;
    Ok((at, at + SignedDuration::from_secs(1)))
}

/// `_count`: how many entries a page holds, 1 to [`MAX_COUNT`].
pub fn count(raw: Option<&str>) -> Result<usize, String> {
    match raw {
        None => Ok(DEFAULT_COUNT),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
            _ => Err(format!("must be a whole number from 1 to {MAX_COUNT}")),
        },
    }
}

/// The id a reference parameter names: `Type/{id}`, a full URL ending in
/// it, or the bare id, where `Type` is one of `types`.
pub fn reference_id(raw: &str, types: &[&str]) -> Result<Uuid, String> {
    let raw = raw.trim();
    let id = match raw.rsplit_once('/') {
        Some((head, id)) => {
            let resource_type = head.rsplit('/').next().unwrap_or(head);
            if !types.contains(&resource_type) {
                return Err(format!("must refer to {}", any_of(types)));
            }
            id
        }
        None => raw,
    };
    Uuid::parse_str(id).map_err(|_| format!("`{raw}` does not name {}", any_of(types)))
}

/// "a Practitioner or a Patient", "an Appointment".
fn any_of(types: &[&str]) -> String {
    let one = |t: &&str| if t.starts_with(['A', 'E', 'I', 'O', 'U']) { format!("an {t}") } else { format!("a {t}") };
    types.iter().map(one).collect::<Vec<_>>().join(" or ")
}

/// The parameter called `name` in a `Parameters` resource.
pub fn parameter<'a>(parameters: &'a Value, name: &str) -> Option<&'a Value> {
    parameters["parameter"].as_array()?.iter().find(|p| p["name"] == name)
}

/// Checks the body is a `Parameters` resource.
pub fn is_parameters(body: &Value) -> bool {
    body["resourceType"] == "Parameters" && body.get("parameter").is_none_or(Value::is_array)
}

/// A `valueDateTime` (or `valueInstant`) parameter, with its offset.
pub fn date_time(parameters: &Value, name: &str) -> Option<Result<Timestamp, String>> {
    let p = parameter(parameters, name)?;
    let raw = p["valueDateTime"].as_str().or_else(|| p["valueInstant"].as_str());
    Some(raw.ok_or_else(|| "must be a valueDateTime".to_owned()).and_then(|raw| {
        raw.parse::<Timestamp>()
            .map_err(|_| "must be a date-time with an offset (2027-03-01T09:00:00-05:00)".to_owned())
    }))
}

/// A reference parameter (`valueReference`, or a `valueString` holding the
/// reference), to one of `types`.
pub fn reference(parameters: &Value, name: &str, types: &[&str]) -> Option<Result<Uuid, String>> {
    let p = parameter(parameters, name)?;
    let raw = p["valueReference"]["reference"].as_str().or_else(|| p["valueString"].as_str());
    Some(raw.ok_or_else(|| "must be a valueReference".to_owned()).and_then(|r| reference_id(r, types)))
}

/// A whole-number parameter (`valueInteger`, `valuePositiveInt` or
/// `valueUnsignedInt`).
pub fn integer(parameters: &Value, name: &str) -> Option<Result<i64, String>> {
    let p = parameter(parameters, name)?;
    let value = ["valueInteger", "valuePositiveInt", "valueUnsignedInt"].iter().find_map(|k| p[*k].as_i64());
    Some(value.ok_or_else(|| "must be a valueInteger".to_owned()))
}

/// A parameter carrying a resource of `resource_type`.
pub fn resource<'a>(parameters: &'a Value, name: &str, resource_type: &str) -> Option<Result<&'a Value, String>> {
    let p = parameter(parameters, name)?;
    let r = &p["resource"];
    Some(if r["resourceType"] == resource_type { Ok(r) } else { Err(format!("must carry an {resource_type}")) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_day_is_the_whole_local_day() {
        let mut r = StartRange::default();
        r.narrow("2027-03-01", "America/New_York").unwrap();
        assert_eq!(r.from, Some(at("2027-03-01T05:00:00Z")));
        assert_eq!(r.to, Some(at("2027-03-02T05:00:00Z")));
    }

    #[test]
    fn prefixes_bound_either_end_and_combine() {
        let mut r = StartRange::default();
        r.narrow("ge2027-03-01T09:00:00-05:00", "UTC").unwrap();
        r.narrow("lt2027-03-08", "UTC").unwrap();
        assert_eq!(r, StartRange { from: Some(at("2027-03-01T14:00:00Z")), to: Some(at("2027-03-08T00:00:00Z")) });
        assert!(r.contains(at("2027-03-01T14:00:00Z")));
        assert!(!r.contains(at("2027-03-08T00:00:00Z")));
        let mut r = StartRange::default();
        r.narrow("gt2027-03-01", "UTC").unwrap();
        r.narrow("le2027-03-02", "UTC").unwrap();
        assert_eq!(r, StartRange { from: Some(at("2027-03-02T00:00:00Z")), to: Some(at("2027-03-03T00:00:00Z")) });
    }

    #[test]
    fn narrowing_never_widens() {
        let mut r = StartRange::default();
        r.narrow("ge2027-03-05", "UTC").unwrap();
        r.narrow("ge2027-03-01", "UTC").unwrap();
        assert_eq!(r.from, Some(at("2027-03-05T00:00:00Z")));
    }

    #[test]
    fn unsupported_prefixes_and_malformed_dates_are_refused() {
        let mut r = StartRange::default();
        assert!(r.narrow("ne2027-03-01", "UTC").is_err());
        assert!(r.narrow("2027-13-01", "UTC").is_err());
        assert!(r.narrow("ge2027-03-01T09:00", "UTC").is_err());
        assert!(r.narrow("tomorrow", "UTC").is_err());
    }

    #[test]
    fn count_is_bounded() {
        assert_eq!(count(None), Ok(DEFAULT_COUNT));
        assert_eq!(count(Some("5")), Ok(5));
        assert!(count(Some("0")).is_err());
        assert!(count(Some("101")).is_err());
        assert!(count(Some("ten")).is_err());
    }

    #[test]
    fn references_name_their_type() {
        let id = Uuid::from_u128(4);
        assert_eq!(reference_id(&format!("Patient/{id}"), &["Patient"]), Ok(id));
        assert_eq!(reference_id(&format!("https://x/fhir/o/Patient/{id}"), &["Patient"]), Ok(id));
        assert_eq!(reference_id(&id.to_string(), &["Patient"]), Ok(id));
        assert!(reference_id(&format!("Group/{id}"), &["Patient"]).is_err());
        assert!(reference_id("Patient/nope", &["Patient"]).is_err());
    }

    #[test]
    fn parameters_are_read_by_name_and_type() {
        let id = Uuid::from_u128(8);
        let p = json!({ "resourceType": "Parameters", "parameter": [
            { "name": "start", "valueDateTime": "2027-03-01T09:00:00-05:00" },
            { "name": "end", "valueString": "soon" },
            { "name": "practitioner", "valueReference": { "reference": format!("Practitioner/{id}") } },
            { "name": "minutesDuration", "valuePositiveInt": 50 },
            { "name": "appointment", "resource": { "resourceType": "Appointment", "id": "h" } },
        ]});
        assert!(is_parameters(&p));
        assert!(!is_parameters(&json!({ "resourceType": "Appointment" })));
        assert_eq!(date_time(&p, "start"), Some(Ok(at("2027-03-01T14:00:00Z"))));
        assert!(date_time(&p, "end").unwrap().is_err());
        assert!(date_time(&p, "missing").is_none());
        assert_eq!(reference(&p, "practitioner", &["Practitioner"]), Some(Ok(id)));
        assert_eq!(integer(&p, "minutesDuration"), Some(Ok(50)));
        assert_eq!(resource(&p, "appointment", "Appointment").unwrap().unwrap()["id"], "h");
        assert!(resource(&p, "appointment", "Patient").unwrap().is_err());
    }
}
