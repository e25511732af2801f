//! The text rules of `circles_domain::input` as JSON Schema, spelled once.
//!
//! A request field marks which rule the server applies to it with a format
//! name (`#[schema(format = "text-line")]`); this pass replaces the marker
//! with what the rule means in JSON Schema, so the document states exactly
//! what the server refuses:
//!
//! - `text-line` (`Label`: names, titles, places): not blank, no control
//!   characters;
//! - `text-line-or-blank`: the same, where a blank value clears the field;
//! - `free-text` (`free_text`: descriptions, notes, reasons): no control
//!   characters other than tab, line feed and carriage return;
//! - `free-text-not-blank`: the same, with something other than white space;
//! - `http-url`: a link for a virtual session;
//! - `clock-time`, `clock-hh-mm`, `clock-hh-mm-or-24`: times of day;
//! - `password-policy`: not only white space;
//! - `rrule`: a recurrence rule;
//! - `time-cursor`: a list's `next_cursor` (`routes::page::time_cursor`);
//!   `name-cursor`, `arrival-cursor`, `rank-cursor` and `position-cursor`
//!   likewise for lists in those orders;
//! - `fhir-date`: a FHIR `date` search value, its prefix and a date or a
//!   date-time with its offset (`fhir::params::StartRange::narrow`);
//! - `fhir-practitioner`, `fhir-patient`, `fhir-person`, `fhir-schedule`:
//!   a reference to one (`fhir::params::reference_id`), relative or bare;
//! - `time-zone`: one of the IANA names of the `TimeZoneName` schema, the
//!   zones this server knows.
//!
//! Control characters are Unicode's category Cc, U+0000–U+001F and
//! U+007F–U+009F (what Rust's `char::is_control` means).

use circles_domain::input::TimeZoneName;
use utoipa::openapi::schema::{ArrayItems, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Not blank (at least one character that is neither white space nor a
/// control character), and no control character anywhere.
pub const TEXT_LINE: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// No control character anywhere; blank is allowed.
pub const TEXT_LINE_OR_BLANK: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";
/// No control character other than tab, line feed and carriage return.
pub const FREE_TEXT: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
/// Free text that must say something: one character that is neither white
/// space nor a control character.
pub const FREE_TEXT_NOT_BLANK: &str =
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
/// An `http://` or `https://` link with something after the scheme. The
/// server takes any character but white space and control characters; the
/// document asks for printable ASCII (percent-encode the rest), so that
/// `maxLength` counts the bytes the server limits.
pub const HTTP_URL: &str = r"^https?://[!-~]+$";
/// [`HTTP_URL`], or blank (spaces only) to clear a stored link.
pub const HTTP_URL_OR_BLANK: &str = r"^(https?://[!-~]+| *)$";
/// `civil::parse_time`: `HH:MM` or `HH:MM:SS` on a 24-hour clock.
pub const CLOCK_TIME: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$";
/// `availability::WallClock` where a window starts: `00:00` to `23:59`.
pub const CLOCK_HH_MM: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";
/// Where a window ends: `24:00` too, for midnight.
pub const CLOCK_HH_MM_OR_24: &str = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";
/// `recurrence::Rule`: the server takes FREQ (DAILY, WEEKLY or MONTHLY),
/// INTERVAL (1 to 52), COUNT (1 to 730), BYDAY, BYMONTHDAY, UNTIL and
/// WKST, in any order and case; the pattern states their common core.
pub const RRULE: &str = concat!(
    r"^FREQ=(DAILY|MONTHLY|WEEKLY(;BYDAY=(MO|TU|WE|TH|FR|SA|SU)(,(MO|TU|WE|TH|FR|SA|SU))*)?)",
    r"(;INTERVAL=([1-9]|[1-4][0-9]|5[0-2]))?",
    r"(;COUNT=([1-9]|[1-9][0-9]|[1-6][0-9][0-9]|7[0-2][0-9]|730))?$"
);
/// `page::time_cursor`: microseconds since the epoch, a dot, an id.
pub const TIME_CURSOR: &str =
    r"^-?[0-9]{1,17}\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// A FHIR `date` search value between the years 1900 and 2999 (the
/// server also refuses a day the calendar lacks, such as 30 February).
pub const FHIR_DATE: &str = concat!(
    r"^(eq|ge|gt|le|lt)?(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-4]):[0-5][0-9]))?$"
);
const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// A reference to one of `types` (`Practitioner/{id}`), or the bare id.
fn fhir_reference(types: &str) -> String {
    format!("^(({types})/)?{UUID}$")
}

/// `page::name_cursor`: a name in URL-safe base64 (no padding), a dot, an id.
pub const NAME_CURSOR: &str = r"^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// `page::arrival_cursor`: the position of an event in the order it arrived.
pub const ARRIVAL_CURSOR: &str = r"^[0-9]{1,18}$";
/// `page::rank_cursor`: pinned (0 or 1), the score in millionths of a
/// point, microseconds since the epoch of joining the list, and an id, dotted.
pub const RANK_CURSOR: &str = r"^[01]\.-?[0-9]{1,17}\.-?[0-9]{1,17}\.[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// `page::position_cursor`: how many items of a ranked list the pages
/// before gave.
pub const POSITION_CURSOR: &str = r"^[0-9]{1,6}$";
/// `input::Password`: something other than white space (its length is
/// `minLength`/`maxLength`).
pub const PASSWORD_POLICY: &str = r"\S";

const TIME_ZONE_SCHEMA: &str = "TimeZoneName";

pub fn document_text_rules(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for schema in components.schemas.values_mut() {
        apply(schema);
    }
    components.schemas.insert(TIME_ZONE_SCHEMA.to_owned(), time_zone_schema());
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                parameter.schema.iter_mut().for_each(apply);
            }
            if let Some(body) = operation.request_body.as_mut() {
                body.content.values_mut().filter_map(|c| c.schema.as_mut()).for_each(apply);
            }
        }
    }
}

/// Every IANA name `TimeZoneName::parse` takes, sorted.
pub fn known_time_zones() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| TimeZoneName::parse(name).is_ok())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn time_zone_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some("An IANA time-zone name that this server knows, e.g. `America/New_York`."))
        .enum_values(Some(known_time_zones()))
        .into()
}

fn apply(schema: &mut RefOr<Schema>) {
    let RefOr::T(inner) = schema else { return };
    match inner {
        Schema::Object(object) => {
            let marker = match &object.format {
                Some(SchemaFormat::Custom(name)) => Some(name.clone()),
                _ => None,
            };
            match marker.as_deref() {
                None => {}
                Some("time-zone") => {
                    let nullable =
                        matches!(&object.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
                    let description = object.description.clone();
                    let mut zone_ref = Ref::from_schema_name(TIME_ZONE_SCHEMA);
                    zone_ref.description = description.clone().unwrap_or_default();
                    let zone = RefOr::Ref(zone_ref);
                    *schema = if nullable {
                        OneOfBuilder::new()
                            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)))
                            .item(zone)
                            .description(description)
                            .into()
                    } else {
                        zone
                    };
                    return;
                }
                Some(name) if name.starts_with("fhir-") && name != "fhir-date" => {
                    let types = match name {
                        "fhir-practitioner" => "Practitioner",
                        "fhir-patient" => "Patient",
                        "fhir-person" => "Practitioner|Patient",
                        "fhir-schedule" => "Schedule",
                        other => panic!("unknown FHIR reference rule `{other}` in the OpenAPI document"),
                    };
                    object.format = None;
                    object.pattern = Some(fhir_reference(types));
                }
                Some(name) => {
                    let pattern = match name {
                        "text-line" => TEXT_LINE,
                        "text-line-or-blank" => TEXT_LINE_OR_BLANK,
                        "free-text" => FREE_TEXT,
                        "free-text-not-blank" => FREE_TEXT_NOT_BLANK,
                        "http-url" => HTTP_URL,
                        "http-url-or-blank" => HTTP_URL_OR_BLANK,
                        "clock-time" => CLOCK_TIME,
                        "clock-hh-mm" => CLOCK_HH_MM,
                        "clock-hh-mm-or-24" => CLOCK_HH_MM_OR_24,
                        "password-policy" => PASSWORD_POLICY,
                        "rrule" => RRULE,
                        "time-cursor" => TIME_CURSOR,
                        "fhir-date" => FHIR_DATE,
                        "name-cursor" => NAME_CURSOR,
                        "arrival-cursor" => ARRIVAL_CURSOR,
                        "rank-cursor" => RANK_CURSOR,
                        "position-cursor" => POSITION_CURSOR,
                        other => panic!("unknown text rule `{other}` in the OpenAPI document"),
                    };
                    object.format = None;
                    object.pattern = Some(pattern.to_owned());
                }
            }
            object.properties.values_mut().for_each(apply);
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                apply(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(apply),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(apply),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(apply),
        _ => {}
    }
}
