//! Instants as a person reads them: on the clock of the session's zone,
//! with the zone's abbreviation, so nobody converts from UTC in their head.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The zone named `zone`, or UTC when the name is unknown (zones are
/// validated on the way in, so this only guards against a retired name).
fn zone_or_utc(zone: &str) -> TimeZone {
    TimeZone::get(zone).unwrap_or(TimeZone::UTC)
}

/// `Thu 10 Dec, 18:00 EST`: weekday, day, month, 24-hour clock and the
/// zone's abbreviation at that instant (EST in winter, EDT in summer).
pub fn local_time(at: Timestamp, zone: &str) -> String {
    at.to_zoned(zone_or_utc(zone)).strftime("%a %-d %b, %H:%M %Z").to_string()
}

/// `18:00`: the clock alone, for sentences about a day already named.
pub fn local_clock(at: Timestamp, zone: &str) -> String {
    at.to_zoned(zone_or_utc(zone)).strftime("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().unwrap()
    }

    #[test]
    fn a_winter_evening_in_new_york_reads_as_eastern_standard_time() {
        assert_eq!(local_time(at("2026-12-10T23:00:00Z"), "America/New_York"), "Thu 10 Dec, 18:00 EST");
    }

    #[test]
    fn the_same_wall_clock_in_summer_carries_daylight_time() {
        assert_eq!(local_time(at("2027-06-10T22:00:00Z"), "America/New_York"), "Thu 10 Jun, 18:00 EDT");
    }

    #[test]
    fn single_digit_days_are_not_padded() {
        assert_eq!(local_time(at("2027-03-01T14:00:00Z"), "Europe/London"), "Mon 1 Mar, 14:00 GMT");
    }

    #[test]
    fn the_local_date_can_differ_from_the_utc_date() {
        // 02:30 UTC on Friday is still Thursday evening in Los Angeles.
        assert_eq!(local_time(at("2026-12-11T02:30:00Z"), "America/Los_Angeles"), "Thu 10 Dec, 18:30 PST");
    }

    #[test]
    fn an_unknown_zone_falls_back_to_utc_and_says_so() {
        assert_eq!(local_time(at("2026-12-10T23:00:00Z"), "Nowhere/Atlantis"), "Thu 10 Dec, 23:00 UTC");
    }

    #[test]
    fn the_clock_alone_is_the_local_hour_and_minute() {
        assert_eq!(local_clock(at("2026-12-10T23:05:00Z"), "America/New_York"), "18:05");
    }
}
