//! Civil (wall-clock) values as the API spells them: weekday names,
//! `YYYY-MM-DD` dates and `HH:MM` times. One spelling everywhere, so a group's
//! windows, a therapist's week and a series read the same way.

use jiff::civil::{Date, Time, Weekday};

/// Every weekday with its name, Monday first.
pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
];

pub fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS.iter().find(|(_, d)| *d == day).map_or("?", |(name, _)| name)
}

/// A weekday by its English name, in any case.
pub fn parse_weekday(raw: &str) -> Result<Weekday, String> {
    let lower = raw.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, day)| *day)
        .ok_or_else(|| format!("`{raw}` is not a day: use {}", WEEKDAYS.map(|(name, _)| name).join(", ")))
}

/// Exactly `YYYY-MM-DD`; jiff alone would also take a date-time.
pub fn parse_date(raw: &str) -> Result<Date, String> {
    let raw = raw.trim();
    if !has_layout(raw, "9999-99-99") {
        return Err(format!("`{raw}` is not a date in YYYY-MM-DD form"));
    }
    Date::strptime("%Y-%m-%d", raw).map_err(|e| format!("`{raw}` is not a valid date: {e}"))
}

/// `HH:MM` on a 24-hour clock (`HH:MM:SS` is taken too).
pub fn parse_time(raw: &str) -> Result<Time, String> {
    let raw = raw.trim();
    let format = if has_layout(raw, "99:99") {
        "%H:%M"
    } else if has_layout(raw, "99:99:99") {
        "%H:%M:%S"
    } else {
        return Err(format!("`{raw}` is not a time of day in HH:MM form"));
    };
    Time::strptime(format, raw).map_err(|e| format!("`{raw}` is not a valid time of day: {e}"))
}

/// Whether `raw` has `pattern`'s shape, where `9` in the pattern stands for
/// any digit and every other character for itself.
pub(crate) fn has_layout(raw: &str, pattern: &str) -> bool {
    raw.len() == pattern.len()
        && raw.bytes().zip(pattern.bytes()).all(|(r, p)| if p == b'9' { r.is_ascii_digit() } else { r == p })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_read_back_as_written() {
        for (name, day) in WEEKDAYS {
            assert_eq!(weekday_name(day), name);
            assert_eq!(parse_weekday(&name.to_uppercase()), Ok(day));
        }
        assert_eq!(
            parse_weekday("mon").unwrap_err(),
            "`mon` is not a day: use monday, tuesday, wednesday, thursday, friday, saturday, sunday"
        );
    }

    #[test]
    fn dates_and_times_need_the_documented_layout() {
        for bad in ["27-2-4", "2027-2-4", "20270204", "2027-02-04T14:00", "-2027-02-04", ""] {
            assert_eq!(
                parse_date(bad).unwrap_err(),
                format!("`{bad}` is not a date in YYYY-MM-DD form"),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(
            parse_date("2027-02-29").unwrap_err(),
            "`2027-02-29` is not a valid date: invalid date: parameter 'day' for `2027-02` is invalid, \
             must be in range `1..=28`"
        );
        for bad in ["9:00", "0900", "14:00:00.5", "2pm", ""] {
            assert_eq!(parse_time(bad).unwrap_err(), format!("`{bad}` is not a time of day in HH:MM form"));
        }
        assert!(parse_time("24:00").unwrap_err().starts_with("`24:00` is not a valid time of day"));
        assert_eq!(parse_time("00:00"), Ok(jiff::civil::time(0, 0, 0, 0)));
        assert_eq!(parse_time("23:59:59"), Ok(jiff::civil::time(23, 59, 59, 0)));
    }
}
