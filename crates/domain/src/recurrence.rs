//! Recurring series: a small subset of RFC 5545's RRULE, anchored at a civil
//! date and time in an IANA zone, expanded into concrete sessions.
//!
//! Expansion happens in *floating* local time. rrule is given a DTSTART
//! labelled UTC whose wall-clock fields are the series' local date and time,
//! so it does pure calendar arithmetic and never meets a DST transition. Each
//! civil date-time it yields is then placed in the series' zone by jiff, with
//! RFC 5545's rules: a time skipped by a spring-forward gap moves forward by
//! the length of the gap (02:30 → 03:30), and a time repeated by a fall-back
//! fold takes its first (earlier) occurrence.
//!
//! rrule 0.14 does expand correctly with a real zone whose transitions happen
//! at 02:00, such as America/New_York. It drops occurrences, though, whose
//! local time falls in a gap or fold that starts at midnight, as in
//! America/Havana (`tests/recurrence_dst.rs` shows this). Floating time avoids
//! that and leaves jiff's time-zone database as the only one we consult.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use rrule::{Frequency, NWeekday, RRule, RRuleSetIter, Unvalidated, Weekday};
use serde::{Deserialize, Serialize};

use crate::civil::{has_layout, parse_date, parse_time};
use crate::input::TimeZoneName;
use crate::validation::{Invalid, Validator};

/// No call returns more occurrences than this.
pub const MAX_OCCURRENCES: usize = 5_000;

/// Expansion stops this many years after `start_date`, whatever the rule says.
pub const HORIZON_YEARS: i64 = 10;

/// A recurring series as clients send it and as it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrenceInput {
    /// e.g. `FREQ=WEEKLY;BYDAY=TH`.
    pub rrule: String,
    /// `YYYY-MM-DD`: no occurrence comes before this date.
    pub start_date: String,
    /// `HH:MM` or `HH:MM:SS`, local wall-clock time in `timezone`.
    pub start_time: String,
    pub timezone: String,
    pub duration_minutes: i64,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub end_date: Option<String>,
    /// `YYYY-MM-DD` dates whose occurrence is cancelled.
    #[serde(default)]
    pub exdates: Vec<String>,
}

/// A valid recurring series.
///
/// `start_date` need not match the rule: the first occurrence is the first
/// date on or after it that the rule selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    rule: Rule,
    start: DateTime,
    timezone: TimeZoneName,
    duration_minutes: i64,
    end_date: Option<Date>,
    /// Sorted and without duplicates.
    exdates: Vec<Date>,
}

/// One occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The nominal local start (civil date + the series' start time) — the RFC 5545 RECURRENCE-ID.
    /// It identifies the occurrence even if the actual start was shifted by a DST gap.
    pub recurrence_id: DateTime,
    pub starts_at: Timestamp,
    /// starts_at + duration in absolute time.
    pub ends_at: Timestamp,
    /// True when the nominal local time did not exist (DST gap) and the start was moved forward.
    pub shifted: bool,
}

impl Recurrence {
    pub const DURATION_MINUTES: RangeInclusive<i64> = 5..=1440;

    /// Validates every field, reporting all problems at once.
    pub fn parse(input: &RecurrenceInput) -> Result<Recurrence, Invalid> {
        let mut v = Validator::default();
        let rule = v.check("rrule", Rule::parse(&input.rrule));
        let start_date = v.check("start_date", parse_date(&input.start_date));
        let start_time = v.check("start_time", parse_time(&input.start_time));
        let timezone = v.check("timezone", TimeZoneName::parse(&input.timezone));
        let duration_minutes = v.check("duration_minutes", parse_duration(input.duration_minutes));
        let end_date = v.check_opt("end_date", input.end_date.as_deref().map(parse_date));
        let exdates: Vec<Option<Date>> = input
            .exdates
            .iter()
            .enumerate()
            .map(|(i, raw)| v.check(&format!("exdates[{i}]"), parse_date(raw)))
            .collect();
        if let (Some(start), Some(Some(end))) = (start_date, end_date)
            && end < start
        {
            v.reject("end_date", "must not be before start_date");
        }

        let recurrence = v.done(|| {
            let mut exdates = exdates.into_iter().collect::<Option<Vec<Date>>>()?;
            exdates.sort();
            exdates.dedup();
            Some(Recurrence {
                rule: rule?,
                start: start_date?.to_datetime(start_time?),
                timezone: timezone?,
                duration_minutes: duration_minutes?,
                end_date: end_date?,
                exdates,
            })
        })?;
        // A rule such as `FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31` started in
        // April never matches; refusing it beats storing a series with no sessions.
        if recurrence.expand().next().is_none() {
            return Err(Invalid::field("rrule", "selects no date between start_date and the end of the series"));
        }
        Ok(recurrence)
    }

    /// Occurrences whose start instant lies in `[from, to)`, in order.
    pub fn occurrences_between(&self, from: Timestamp, to: Timestamp) -> Vec<Occurrence> {
        self.scheduled()
            .filter(|o| o.starts_at >= from)
            .take_while(|o| o.starts_at < to)
            .take(MAX_OCCURRENCES)
            .collect()
    }

    /// The first `n` occurrences of the series (fewer if COUNT, UNTIL or `end_date` ends it).
    pub fn first(&self, n: usize) -> Vec<Occurrence> {
        self.scheduled().take(n.min(MAX_OCCURRENCES)).collect()
    }

    /// The rule as upper-case text, parts in a fixed order, without an `RRULE:` prefix.
    pub fn rrule(&self) -> &str {
        &self.rule.text
    }

    pub fn start_date(&self) -> Date {
        self.start.date()
    }

    pub fn start_time(&self) -> Time {
        self.start.time()
    }

    pub fn timezone(&self) -> &TimeZoneName {
        &self.timezone
    }

    pub fn duration_minutes(&self) -> i64 {
        self.duration_minutes
    }

    pub fn end_date(&self) -> Option<Date> {
        self.end_date
    }

    /// Cancelled dates, sorted.
    pub fn exdates(&self) -> &[Date] {
        &self.exdates
    }

    /// A copy of the series with the occurrence on `date` cancelled.
    pub fn with_exdate(&self, date: Date) -> Recurrence {
        let mut copy = self.clone();
        if let Err(at) = copy.exdates.binary_search(&date) {
            copy.exdates.insert(at, date);
        }
        copy
    }

    /// The series from `from` on, at a new local start time and length
    /// (RFC 5545's THISANDFUTURE): it keeps its phase and its dates. It
    /// restarts at its first occurrence on or after `from` (a cancelled one
    /// counts), so an `INTERVAL=2` week count carries on rather than
    /// restarting on `from`; a COUNT becomes the date of its last
    /// occurrence. Problems are reported under `from`, `start_time` and
    /// `duration_minutes`.
    pub fn continue_from(&self, from: Date, start_time: Time, duration_minutes: i64) -> Result<Recurrence, Invalid> {
        let mut all = self.expand().map(|o| o.recurrence_id.date());
        let Some(first) = all.find(|&date| date >= from) else {
            return Err(Invalid::field("from", "the series has no occurrence on or after this date"));
        };
        let counted = self.rule.text.split(';').any(|part| part.starts_with("COUNT="));
        let (rrule, end_date) = if counted {
            let last = all.last().unwrap_or(first);
            let rule = self.rule.text.split(';').filter(|part| !part.starts_with("COUNT=")).collect::<Vec<_>>();
            (rule.join(";"), Some(self.end_date.map_or(last, |end| end.min(last))))
        } else {
            (self.rule.text.clone(), self.end_date)
        };
        let input = RecurrenceInput {
            rrule,
            start_date: first.to_string(),
            start_time: start_time.strftime("%H:%M:%S").to_string(),
            timezone: self.timezone.to_string(),
            duration_minutes,
            end_date: end_date.map(|d| d.to_string()),
            exdates: self.exdates.iter().filter(|&&d| d >= first).map(Date::to_string).collect(),
        };
        Recurrence::parse(&input)
    }

    /// Whether `other` places occurrences differently: another rule, start,
    /// zone or length. Cancelled dates and the end may differ.
    pub fn places_like(&self, other: &Recurrence) -> bool {
        self.rule.text == other.rule.text
            && self.start == other.start
            && self.timezone == other.timezone
            && self.duration_minutes == other.duration_minutes
    }

    /// The normalised input, which parses back to an equal series.
    pub fn to_input(&self) -> RecurrenceInput {
        let time_format = if self.start.second() == 0 { "%H:%M" } else { "%H:%M:%S" };
        RecurrenceInput {
            rrule: self.rule.text.clone(),
            start_date: self.start.date().to_string(),
            start_time: self.start.time().strftime(time_format).to_string(),
            timezone: self.timezone.to_string(),
            duration_minutes: self.duration_minutes,
            end_date: self.end_date.map(|d| d.to_string()),
            exdates: self.exdates.iter().map(Date::to_string).collect(),
        }
    }

    /// The occurrences that take place: the expansion without cancelled dates.
    fn scheduled(&self) -> impl Iterator<Item = Occurrence> + '_ {
        self.expand().filter(|o| self.exdates.binary_search(&o.recurrence_id.date()).is_err())
    }

    /// Every occurrence the rule selects, cancelled ones included (they still
    /// count towards COUNT, as in RFC 5545), up to the series' end.
    fn expand(&self) -> impl Iterator<Item = Occurrence> + '_ {
        let zone = self.timezone.zone();
        self.floating_starts()
            .into_iter()
            .flatten()
            .map_while(from_floating)
            .map_while(move |recurrence_id| self.occurrence_at(&zone, recurrence_id))
            .take_while(|o| !self.is_past_end(o))
    }

    /// The rule's starts in floating time, up to the horizon. UNTIL is left to
    /// [`Recurrence::is_past_end`], which knows the zone.
    fn floating_starts(&self) -> Option<RRuleSetIter> {
        let horizon = self.start.saturating_add(HORIZON_YEARS.years());
        let set = self.rule.calendar.clone().until(to_floating(horizon)?).build(to_floating(self.start)?).ok()?;
        // `limit` bounds rrule's search when the rule rarely or never matches.
        Some(set.limit().into_iter())
    }

    /// Places a nominal local start in the series' zone with jiff's
    /// `compatible` disambiguation, which is RFC 5545's.
    fn occurrence_at(&self, zone: &TimeZone, recurrence_id: DateTime) -> Option<Occurrence> {
        let ambiguous = zone.to_ambiguous_timestamp(recurrence_id);
        let shifted = matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. });
        let starts_at = ambiguous.compatible().ok()?;
        let ends_at = starts_at.checked_add(SignedDuration::from_mins(self.duration_minutes)).ok()?;
        Some(Occurrence { recurrence_id, starts_at, ends_at, shifted })
    }

    fn is_past_end(&self, occurrence: &Occurrence) -> bool {
        let date = occurrence.recurrence_id.date();
        let past_until = match self.rule.until {
            None => false,
            Some(Until::Date(until)) => date > until,
            Some(Until::Local(until)) => occurrence.recurrence_id > until,
            Some(Until::Instant(until)) => occurrence.starts_at > until,
        };
        past_until || self.end_date.is_some_and(|end| date > end)
    }
}

/// The parts of an RRULE, in the order the normalised text lists them.
const SUPPORTED_PARTS: [&str; 7] = ["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    text: String,
    /// Every part except UNTIL, whose meaning depends on the series' zone.
    calendar: RRule<Unvalidated>,
    until: Option<Until>,
}

/// UNTIL in its three RFC 5545 forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// `YYYYMMDD`: through that local date.
    Date(Date),
    /// `YYYYMMDDTHHMMSS`: up to that local wall-clock time.
    Local(DateTime),
    /// `YYYYMMDDTHHMMSSZ`: up to that instant.
    Instant(Timestamp),
}

impl Rule {
    fn parse(raw: &str) -> Result<Rule, String> {
        // No part of an RRULE contains spaces, so all of them can go.
        let upper = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        let body = upper.strip_prefix("RRULE:").unwrap_or(&upper);
        if body.is_empty() {
            return Err("is required".into());
        }
        let mut parts = BTreeMap::new();
        for part in body.split(';').filter(|part| !part.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("`{part}` is not a NAME=VALUE part"));
            };
            if !SUPPORTED_PARTS.contains(&key) {
                return Err(format!("{key} is not supported (use {})", SUPPORTED_PARTS.join(", ")));
            }
            if parts.insert(key, value).is_some() {
                return Err(format!("{key} is given more than once"));
            }
        }

        let freq = match parts.get("FREQ") {
            None => return Err("FREQ is required".into()),
            Some(&"DAILY") => Frequency::Daily,
            Some(&"WEEKLY") => Frequency::Weekly,
            Some(&"MONTHLY") => Frequency::Monthly,
            Some(other) => return Err(format!("FREQ={other} is not supported (use DAILY, WEEKLY or MONTHLY)")),
        };
        let mut calendar = RRule::new(freq);
        if let Some(value) = parts.get("INTERVAL") {
            calendar = calendar.interval(number("INTERVAL", value, 1..=52)?);
        }
        if let Some(value) = parts.get("COUNT") {
            calendar = calendar.count(number("COUNT", value, 1..=730)?);
        }
        if let Some(value) = parts.get("BYDAY") {
            let days = value.split(',').map(|day| by_day(day, freq)).collect::<Result<_, _>>()?;
            calendar = calendar.by_weekday(days);
        }
        if let Some(value) = parts.get("BYMONTHDAY") {
            if freq != Frequency::Monthly {
                return Err("BYMONTHDAY is only supported with FREQ=MONTHLY".into());
            }
            let days = value.split(',').map(by_month_day).collect::<Result<_, _>>()?;
            calendar = calendar.by_month_day(days);
        }
        if let Some(value) = parts.get("WKST") {
            let day = weekday(value).ok_or_else(|| format!("WKST={value} is not a day (MO..SU)"))?;
            calendar = calendar.week_start(day);
        }
        let until = parts.get("UNTIL").map(|value| parse_until(value)).transpose()?;

        if parts.contains_key("COUNT") && until.is_some() {
            return Err("COUNT and UNTIL cannot be combined".into());
        }
        // Together they select only days matching both (e.g. BYMONTHDAY=1 with
        // BYDAY=2TU never matches), which is rarely what anyone means.
        if parts.contains_key("BYDAY") && parts.contains_key("BYMONTHDAY") {
            return Err("BYDAY and BYMONTHDAY cannot be combined".into());
        }

        let text = SUPPORTED_PARTS.iter().filter_map(|key| Some(format!("{key}={}", parts.get(key)?)));
        Ok(Rule { text: text.collect::<Vec<_>>().join(";"), calendar, until })
    }
}

fn number<T: FromStr + PartialOrd + Display>(name: &str, value: &str, range: RangeInclusive<T>) -> Result<T, String> {
    value
        .parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("{name} must be a whole number from {} to {}", range.start(), range.end()))
}

/// `TH` for every Thursday, or (monthly only) `2TU` for the second Tuesday
/// and `-1FR` for the last Friday.
fn by_day(value: &str, freq: Frequency) -> Result<NWeekday, String> {
    let split = value.len().saturating_sub(2);
    let Some(day) = value.get(split..).and_then(weekday) else {
        return Err(format!("BYDAY={value}: days are MO, TU, WE, TH, FR, SA or SU"));
    };
    let ordinal = &value[..split];
    if ordinal.is_empty() {
        return Ok(NWeekday::Every(day));
    }
    if freq != Frequency::Monthly {
        return Err(format!("BYDAY={value}: a numbered day such as 2TU needs FREQ=MONTHLY"));
    }
    match ordinal.parse::<i16>() {
        Ok(n) if (1..=5).contains(&n.abs()) => Ok(NWeekday::Nth(n, day)),
        _ => Err(format!("BYDAY={value}: the number must be 1 to 5, or -1 to -5 counting from the end")),
    }
}

fn by_month_day(value: &str) -> Result<i8, String> {
    value
        .parse::<i8>()
        .ok()
        .filter(|day| (1..=31).contains(&day.abs()))
        .ok_or_else(|| format!("BYMONTHDAY={value}: days are 1 to 31, or -1 to -31 counting from the end"))
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn parse_until(value: &str) -> Result<Until, String> {
    let until = if has_layout(value, "99999999") {
        Date::strptime("%Y%m%d", value).map(Until::Date)
    } else if has_layout(value, "99999999T999999") {
        DateTime::strptime("%Y%m%dT%H%M%S", value).map(Until::Local)
    } else if has_layout(value, "99999999T999999Z") {
        DateTime::strptime("%Y%m%dT%H%M%SZ", value).and_then(|dt| Offset::UTC.to_timestamp(dt)).map(Until::Instant)
    } else {
        return Err(format!("UNTIL={value} must be YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ"));
    };
    until.map_err(|e| format!("UNTIL={value}: {e}"))
}

fn parse_duration(minutes: i64) -> Result<i64, String> {
    let range = Recurrence::DURATION_MINUTES;
    if range.contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!("must be from {} to {} minutes", range.start(), range.end()))
    }
}

/// Whether `raw` is laid out like `pattern`, in which `9` stands for any digit.
/// jiff's strptime alone would accept `27-2-4` as a date.
/// rrule's view of a local date-time: the same wall-clock fields, labelled UTC.
fn to_floating(dt: DateTime) -> Option<chrono::DateTime<rrule::Tz>> {
    let second = Offset::UTC.to_timestamp(dt).ok()?.as_second();
    Some(chrono::DateTime::from_timestamp(second, 0)?.with_timezone(&rrule::Tz::UTC))
}

fn from_floating(dt: chrono::DateTime<rrule::Tz>) -> Option<DateTime> {
    Some(Offset::UTC.to_datetime(Timestamp::from_second(dt.timestamp()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RecurrenceInput {
        RecurrenceInput {
            rrule: "FREQ=WEEKLY;BYDAY=TH".into(),
            start_date: "2027-02-04".into(),
            start_time: "14:00".into(),
            timezone: "America/New_York".into(),
            duration_minutes: 90,
            end_date: None,
            exdates: vec![],
        }
    }

    fn rrule_error(rrule: &str) -> String {
        let invalid = Recurrence::parse(&RecurrenceInput { rrule: rrule.into(), ..input() }).unwrap_err();
        assert_eq!(invalid.0.len(), 1, "{invalid}");
        assert_eq!(invalid.0[0].field, "rrule");
        invalid.0[0].reason.clone()
    }

    #[test]
    fn client_json_parses_with_optional_fields_defaulted() {
        let json = r#"{"rrule": "FREQ=WEEKLY;BYDAY=TH", "start_date": "2027-02-04", "start_time": "14:00",
            "timezone": "America/New_York", "duration_minutes": 90}"#;
        let parsed: RecurrenceInput = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, input());
    }

    #[test]
    fn unknown_json_fields_are_refused() {
        let json = r#"{"rrule": "FREQ=DAILY", "start_date": "2027-02-04", "start_time": "14:00",
            "timezone": "UTC", "duration_minutes": 90, "dtstart": "2027-02-04"}"#;
        let error = serde_json::from_str::<RecurrenceInput>(json).unwrap_err().to_string();
        assert!(error.starts_with("unknown field `dtstart`"), "{error}");
    }

    #[test]
    fn a_valid_series_exposes_its_parts() {
        let input = RecurrenceInput {
            end_date: Some("2027-06-30".into()),
            exdates: vec!["2027-03-04".into(), "2027-02-18".into()],
            ..input()
        };
        let series = Recurrence::parse(&input).unwrap();
        assert_eq!(series.rrule(), "FREQ=WEEKLY;BYDAY=TH");
        assert_eq!(series.start_date(), jiff::civil::date(2027, 2, 4));
        assert_eq!(series.start_time(), jiff::civil::time(14, 0, 0, 0));
        assert_eq!(series.timezone().as_str(), "America/New_York");
        assert_eq!(series.duration_minutes(), 90);
        assert_eq!(series.end_date(), Some(jiff::civil::date(2027, 6, 30)));
        assert_eq!(series.exdates(), [jiff::civil::date(2027, 2, 18), jiff::civil::date(2027, 3, 4)]);
    }

    #[test]
    fn input_is_normalised() {
        let messy = RecurrenceInput {
            rrule: " rrule:count=3; byday=mo, we;freq=weekly; ".into(),
            start_date: " 2027-02-04 ".into(),
            start_time: "09:30:00".into(),
            exdates: vec!["2027-02-10".into(), "2027-02-08".into(), "2027-02-10".into()],
            ..input()
        };
        let normalised = Recurrence::parse(&messy).unwrap().to_input();
        assert_eq!(
            normalised,
            RecurrenceInput {
                rrule: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3".into(),
                start_date: "2027-02-04".into(),
                start_time: "09:30".into(),
                exdates: vec!["2027-02-08".into(), "2027-02-10".into()],
                ..input()
            }
        );
    }

    #[test]
    fn normalised_input_parses_back_to_the_same_series() {
        let input = RecurrenceInput {
            rrule: "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231T235959Z".into(),
            start_time: "18:45:30".into(),
            end_date: Some("2027-10-01".into()),
            exdates: vec!["2027-05-28".into()],
            ..input()
        };
        let series = Recurrence::parse(&input).unwrap();
        assert_eq!(series.to_input().start_time, "18:45:30");
        assert_eq!(Recurrence::parse(&series.to_input()).unwrap(), series);
    }

    #[test]
    fn every_bad_field_is_named() {
        let input = RecurrenceInput {
            rrule: "FREQ=FORTNIGHTLY".into(),
            start_date: "2027-02-30".into(),
            start_time: "25:00".into(),
            timezone: "Mars/Olympus_Mons".into(),
            duration_minutes: 0,
            end_date: Some("soon".into()),
            exdates: vec!["2027-03-04".into(), "2027/03/11".into()],
        };
        let fields: Vec<String> = Recurrence::parse(&input).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["rrule", "start_date", "start_time", "timezone", "duration_minutes", "end_date", "exdates[1]"]
        );
    }

    #[test]
    fn duration_is_between_five_minutes_and_a_day() {
        for (minutes, ok) in [(4, false), (5, true), (1440, true), (1441, false), (-90, false)] {
            let result = Recurrence::parse(&RecurrenceInput { duration_minutes: minutes, ..input() });
            assert_eq!(result.is_ok(), ok, "{minutes} minutes");
        }
        let invalid = Recurrence::parse(&RecurrenceInput { duration_minutes: 0, ..input() }).unwrap_err();
        assert_eq!(invalid.to_string(), "duration_minutes: must be from 5 to 1440 minutes");
    }

    #[test]
    fn end_date_must_not_precede_start_date() {
        let invalid = Recurrence::parse(&RecurrenceInput { end_date: Some("2027-02-03".into()), ..input() });
        assert_eq!(invalid.unwrap_err().to_string(), "end_date: must not be before start_date");
    }

    #[test]
    fn frequencies_other_than_daily_weekly_monthly_are_refused() {
        for freq in ["YEARLY", "HOURLY", "MINUTELY", "SECONDLY"] {
            assert_eq!(
                rrule_error(&format!("FREQ={freq}")),
                format!("FREQ={freq} is not supported (use DAILY, WEEKLY or MONTHLY)")
            );
        }
        assert_eq!(rrule_error("BYDAY=TH"), "FREQ is required");
        assert_eq!(rrule_error(" "), "is required");
        assert_eq!(rrule_error("RRULE:"), "is required");
    }

    #[test]
    fn unsupported_parts_are_refused_by_name() {
        for part in ["BYHOUR=9", "BYMINUTE=30", "BYSETPOS=-1", "BYMONTH=3", "BYYEARDAY=100", "BYWEEKNO=10", "X-FOO=1"] {
            let name = part.split('=').next().unwrap();
            assert_eq!(
                rrule_error(&format!("FREQ=WEEKLY;{part}")),
                format!("{name} is not supported (use FREQ, INTERVAL, BYDAY, BYMONTHDAY, COUNT, UNTIL, WKST)")
            );
        }
        assert_eq!(rrule_error("FREQ=WEEKLY;BYDAY"), "`BYDAY` is not a NAME=VALUE part");
        assert_eq!(rrule_error("FREQ=WEEKLY;COUNT=2;COUNT=3"), "COUNT is given more than once");
    }

    #[test]
    fn count_and_until_together_are_refused() {
        assert_eq!(rrule_error("FREQ=WEEKLY;COUNT=5;UNTIL=20271231"), "COUNT and UNTIL cannot be combined");
    }

    #[test]
    fn byday_and_bymonthday_together_are_refused() {
        assert_eq!(rrule_error("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13"), "BYDAY and BYMONTHDAY cannot be combined");
    }

    #[test]
    fn values_out_of_range_are_refused() {
        let cases = [
            ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 52"),
            ("FREQ=WEEKLY;INTERVAL=53", "INTERVAL must be a whole number from 1 to 52"),
            ("FREQ=WEEKLY;INTERVAL=two", "INTERVAL must be a whole number from 1 to 52"),
            ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number from 1 to 730"),
            ("FREQ=DAILY;COUNT=731", "COUNT must be a whole number from 1 to 730"),
            ("FREQ=WEEKLY;BYDAY=TH,XX", "BYDAY=XX: days are MO, TU, WE, TH, FR, SA or SU"),
            ("FREQ=WEEKLY;BYDAY=2TU", "BYDAY=2TU: a numbered day such as 2TU needs FREQ=MONTHLY"),
            ("FREQ=MONTHLY;BYDAY=6TU", "BYDAY=6TU: the number must be 1 to 5, or -1 to -5 counting from the end"),
            ("FREQ=MONTHLY;BYDAY=0TU", "BYDAY=0TU: the number must be 1 to 5, or -1 to -5 counting from the end"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32: days are 1 to 31, or -1 to -31 counting from the end"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0: days are 1 to 31, or -1 to -31 counting from the end"),
            ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY is only supported with FREQ=MONTHLY"),
            ("FREQ=WEEKLY;WKST=SUN", "WKST=SUN is not a day (MO..SU)"),
            ("FREQ=WEEKLY;UNTIL=2027-12-31", "UNTIL=2027-12-31 must be YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ"),
        ];
        for (rule, reason) in cases {
            assert_eq!(rrule_error(rule), reason, "{rule}");
        }
    }

    #[test]
    fn supported_rules_are_accepted() {
        for rule in [
            "FREQ=DAILY",
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
            "FREQ=MONTHLY;BYDAY=+2TU,-1FR",
            "FREQ=MONTHLY;BYMONTHDAY=1,-1",
            "FREQ=WEEKLY;UNTIL=20271231",
            "FREQ=WEEKLY;UNTIL=20271231T140000",
            "FREQ=WEEKLY;UNTIL=20271231T190000Z",
            "RRULE:FREQ=WEEKLY;COUNT=730",
        ] {
            let parsed = Recurrence::parse(&RecurrenceInput { rrule: rule.into(), ..input() });
            assert!(parsed.is_ok(), "{rule}: {parsed:?}");
        }
    }

    #[test]
    fn a_series_without_any_occurrence_is_refused() {
        let reason = "selects no date between start_date and the end of the series";
        // Every twelfth month from April is always April, which has no 31st.
        let never = RecurrenceInput {
            rrule: "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31".into(),
            start_date: "2027-04-01".into(),
            ..input()
        };
        assert_eq!(Recurrence::parse(&never).unwrap_err().to_string(), format!("rrule: {reason}"));
        assert_eq!(rrule_error("FREQ=WEEKLY;UNTIL=20270101"), reason);
        // Thursdays only, but the series ends on the Wednesday after it starts.
        let too_short =
            RecurrenceInput { start_date: "2027-02-05".into(), end_date: Some("2027-02-10".into()), ..input() };
        assert_eq!(Recurrence::parse(&too_short).unwrap_err().to_string(), format!("rrule: {reason}"));
    }

    #[test]
    fn with_exdate_adds_a_date_once_and_keeps_them_sorted() {
        let series = Recurrence::parse(&input()).unwrap();
        let (feb_18, mar_4) = (jiff::civil::date(2027, 2, 18), jiff::civil::date(2027, 3, 4));
        let cancelled = series.with_exdate(mar_4).with_exdate(feb_18).with_exdate(mar_4);
        assert_eq!(cancelled.exdates(), [feb_18, mar_4]);
        assert_eq!(series.exdates(), []);
    }
}
