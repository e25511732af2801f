//! Times as a person reads them: in the viewer's zone, with the zone's
//! abbreviation ("Thu 10 Dec, 18:00 EST"), never a bare UTC instant.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// The named zone, or UTC if the name is unknown to this build's tz database.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

fn zoned(at: Timestamp, tz: &TimeZone) -> Zoned {
    at.to_zoned(tz.clone())
}

/// "Thu 10 Dec, 18:00 EST".
pub fn when(at: Timestamp, tz: &TimeZone) -> String {
    zoned(at, tz).strftime("%a %-d %b, %H:%M %Z").to_string()
}

/// "Thu 10 Dec, 18:00–19:30 EST" (the end's day is named when it differs).
pub fn span(start: Timestamp, end: Timestamp, tz: &TimeZone) -> String {
    let (s, e) = (zoned(start, tz), zoned(end, tz));
    if s.date() == e.date() {
        format!("{}–{}", s.strftime("%a %-d %b, %H:%M"), e.strftime("%H:%M %Z"))
    } else {
        format!("{} – {}", s.strftime("%a %-d %b, %H:%M"), e.strftime("%a %-d %b, %H:%M %Z"))
    }
}

/// "18:00–19:30".
pub fn clock_span(start: Timestamp, end: Timestamp, tz: &TimeZone) -> String {
    format!("{}–{}", zoned(start, tz).strftime("%H:%M"), zoned(end, tz).strftime("%H:%M"))
}

/// "Thursday 10 December".
pub fn day(date: Date) -> String {
    date.strftime("%A %-d %B").to_string()
}

/// "Thu 10 Dec".
pub fn short_day(date: Date) -> String {
    date.strftime("%a %-d %b").to_string()
}

/// The zone's abbreviation at `at` ("EST"), for column headings.
pub fn abbreviation(at: Timestamp, tz: &TimeZone) -> String {
    zoned(at, tz).strftime("%Z").to_string()
}

/// The local date of an instant.
pub fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    zoned(at, tz).date()
}

/// The instant a local day begins (DST-safe: jiff picks the day's first moment).
pub fn start_of(date: Date, tz: &TimeZone) -> Timestamp {
    date.to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or_else(|_| Timestamp::UNIX_EPOCH)
}

/// The Monday of the week holding `date`.
pub fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(jiff::Span::new().days(back)).unwrap_or(date)
}

/// A `datetime-local` input's value ("2027-03-01T18:00") read in `tz`.
pub fn parse_local_input(raw: &str, tz: &TimeZone) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = raw.trim().parse().ok()?;
    civil.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

/// The value a `datetime-local` input shows for an instant.
pub fn local_input(at: Timestamp, tz: &TimeZone) -> String {
    zoned(at, tz).strftime("%Y-%m-%dT%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_winter_evening_in_new_york_reads_with_its_abbreviation() {
        let tz = zone("America/New_York");
        let at: Timestamp = "2026-12-10T23:00:00Z".parse().unwrap();
        assert_eq!(when(at, &tz), "Thu 10 Dec, 18:00 EST");
        let end: Timestamp = "2026-12-11T00:30:00Z".parse().unwrap();
        assert_eq!(span(at, end, &tz), "Thu 10 Dec, 18:00–19:30 EST");
    }

    #[test]
    fn a_local_input_is_read_in_the_viewers_zone() {
        let tz = zone("America/New_York");
        let at = parse_local_input("2027-07-01T18:00", &tz).unwrap();
        assert_eq!(at.to_string(), "2027-07-01T22:00:00Z");
        assert_eq!(local_input(at, &tz), "2027-07-01T18:00");
    }

    #[test]
    fn weeks_start_on_monday() {
        let thursday: Date = "2026-12-10".parse().unwrap();
        assert_eq!(monday_of(thursday).to_string(), "2026-12-07");
    }
}
