//! A therapist's weekly working hours: rules in local wall-clock time,
//! expanded into windows of real instants.
//!
//! A rule says "Mondays 09:00–17:00 in America/New_York". Its windows stay
//! at 09:00–17:00 on the wall clock whatever the UTC offset that day, so the
//! expansion works on the zone's offsets over the searched stretch of time:
//! a window is every instant whose local time lies in `[start, end)` on that
//! date. A time skipped by a spring-forward gap simply has no instants; a
//! time repeated by a fall-back fold may give a window in two pieces. Nothing
//! in a window is ever outside the rule in local time.
//!
//! A therapist without rules is unrestricted: available whenever they are
//! not busy or away.

use jiff::civil::{Date, Weekday};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::civil::{parse_date, parse_weekday, weekday_name};
use crate::input::{Label, TimeZoneName};
use crate::interval::Interval;
use crate::session::Modality;
use crate::validation::{Invalid, Validator};

/// A therapist keeps at most this many rules.
pub const MAX_RULES: usize = 100;
/// `max_sessions` is between 1 and this.
pub const MAX_SESSIONS_PER_WINDOW: i64 = 100;
const LOCATION_MAX: usize = 200;
const DAY: i64 = 86_400;

/// A wall-clock time of day as minutes since midnight; `24:00` (1440) ends a
/// window at the next midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinuteOfDay(u16);

impl MinuteOfDay {
    pub const MIDNIGHT: MinuteOfDay = MinuteOfDay(0);
    pub const END_OF_DAY: MinuteOfDay = MinuteOfDay(1440);

    /// `HH:MM`, from `00:00` to `24:00`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let digits = raw.len() == 5 && raw.as_bytes()[2] == b':';
        let (hours, minutes) = match (digits, raw.get(..2), raw.get(3..)) {
            (true, Some(h), Some(m)) => (h.parse::<u16>(), m.parse::<u16>()),
            _ => return Err(format!("`{raw}` is not a time of day in HH:MM form")),
        };
        match (hours, minutes) {
            (Ok(h), Ok(m)) if h < 24 && m < 60 => Ok(Self(h * 60 + m)),
            (Ok(24), Ok(0)) => Ok(Self::END_OF_DAY),
            _ => Err(format!("`{raw}` is not a time of day from 00:00 to 24:00")),
        }
    }

    pub fn from_minutes(minutes: i64) -> Option<Self> {
        u16::try_from(minutes).ok().filter(|m| *m <= 1440).map(Self)
    }

    pub fn minutes(self) -> i64 {
        i64::from(self.0)
    }

    /// `HH:MM`.
    pub fn hhmm(self) -> String {
        format!("{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// One weekly window of availability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyRule {
    pub weekday: Weekday,
    pub start: MinuteOfDay,
    pub end: MinuteOfDay,
    /// The kind of session offered; `None` offers both.
    pub modality: Option<Modality>,
    pub location: Option<String>,
    /// At most this many sessions start in the window on any one day.
    pub max_sessions: Option<u32>,
    /// The first and last dates (inclusive) the rule applies on.
    pub effective_from: Option<Date>,
    pub effective_to: Option<Date>,
}

impl WeeklyRule {
    pub fn applies_on(&self, date: Date) -> bool {
        date.weekday() == self.weekday
            && self.effective_from.is_none_or(|from| date >= from)
            && self.effective_to.is_none_or(|to| date <= to)
    }

    /// Whether a session of `modality` (any, if `None`) may be booked here.
    pub fn offers(&self, modality: Option<Modality>) -> bool {
        match (self.modality, modality) {
            (Some(offered), Some(wanted)) => offered == wanted,
            _ => true,
        }
    }

    /// Two rules overlap when some date has both and their hours overlap.
    pub fn overlaps(&self, other: &WeeklyRule) -> bool {
        self.weekday == other.weekday
            && self.start < other.end
            && other.start < self.end
            && self.shares_dates_with(other)
    }

    /// Whether some date lies in both rules' effective ranges (an open end
    /// reaches forever).
    fn shares_dates_with(&self, other: &WeeklyRule) -> bool {
        let latest_start = self.effective_from.max(other.effective_from);
        let earliest_end = match (self.effective_to, other.effective_to) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        latest_start.zip(earliest_end).is_none_or(|(start, end)| start <= end)
    }

    /// `monday 09:00–17:00`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}–{}", weekday_name(self.weekday), self.start.hhmm(), self.end.hhmm())
    }
}

/// A rule as a request carries it.
#[derive(Debug, Clone, Default)]
pub struct RuleInput<'a> {
    pub weekday: &'a str,
    pub start_time: &'a str,
    pub end_time: &'a str,
    pub modality: Option<&'a str>,
    pub location: Option<&'a str>,
    pub max_sessions: Option<i64>,
    pub effective_from: Option<&'a str>,
    pub effective_to: Option<&'a str>,
}

impl WeeklyRule {
    /// Validates one rule, recording problems under `rules[i].…` in `v`.
    pub fn parse(v: &mut Validator, field: &str, input: &RuleInput<'_>) -> Option<WeeklyRule> {
        let weekday = v.check(&format!("{field}.weekday"), parse_weekday(input.weekday));
        let start = v.check(&format!("{field}.start_time"), MinuteOfDay::parse(input.start_time));
        let end = v.check(&format!("{field}.end_time"), MinuteOfDay::parse(input.end_time));
        let modality = v.check_opt(&format!("{field}.modality"), input.modality.map(str::parse::<Modality>));
        let location = v.check_opt(
            &format!("{field}.location"),
            input.location.map(|l| Label::parse(l, LOCATION_MAX).map(Label::into_string)),
        );
        let max_sessions = v.check_opt(
            &format!("{field}.max_sessions"),
            input.max_sessions.map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_SESSIONS_PER_WINDOW).contains(&i64::from(*n)))
                    .ok_or_else(|| format!("must be between 1 and {MAX_SESSIONS_PER_WINDOW}"))
            }),
        );
        let from = v.check_opt(&format!("{field}.effective_from"), input.effective_from.map(parse_date));
        let to = v.check_opt(&format!("{field}.effective_to"), input.effective_to.map(parse_date));
        if let (Some(start), Some(end)) = (start, end) {
            if start == MinuteOfDay::END_OF_DAY {
                v.reject(&format!("{field}.start_time"), "must be before 24:00");
            } else if end <= start {
                v.reject(&format!("{field}.end_time"), "must be after start_time (a rule stays within one day)");
            }
        }
        if let (Some(Some(from)), Some(Some(to))) = (from, to)
            && to < from
        {
            v.reject(&format!("{field}.effective_to"), "must not be before effective_from");
        }
        Some(WeeklyRule {
            weekday: weekday?,
            start: start?,
            end: end?,
            modality: modality?,
            location: location?,
            max_sessions: max_sessions?,
            effective_from: from?,
            effective_to: to?,
        })
    }
}

/// A therapist's whole week: the zone its wall-clock times are in, and the
/// rules, none of which overlap another.
#[derive(Debug, Clone)]
pub struct WeeklyAvailability {
    timezone: TimeZoneName,
    zone: TimeZone,
    rules: Vec<WeeklyRule>,
}

impl PartialEq for WeeklyAvailability {
    fn eq(&self, other: &Self) -> bool {
        self.timezone == other.timezone && self.rules == other.rules
    }
}

impl WeeklyAvailability {
    /// Validates a whole week as a request sends it. Overlapping rules are
    /// refused naming the later one, `rules[i]`, and the one it overlaps.
    pub fn parse(timezone: &str, rules: &[RuleInput<'_>]) -> Result<WeeklyAvailability, Invalid> {
        let mut v = Validator::default();
        let timezone = v.check("timezone", TimeZoneName::parse(timezone));
        if rules.len() > MAX_RULES {
            v.reject("rules", format!("a week has at most {MAX_RULES} rules"));
        }
        let parsed: Vec<Option<WeeklyRule>> =
            rules.iter().enumerate().map(|(i, rule)| WeeklyRule::parse(&mut v, &format!("rules[{i}]"), rule)).collect();
        for (i, rule) in parsed.iter().enumerate() {
            let Some(rule) = rule else { continue };
            if let Some((j, earlier)) = parsed[..i]
                .iter()
                .enumerate()
                .find_map(|(j, e)| e.as_ref().filter(|e| e.overlaps(rule)).map(|e| (j, e)))
            {
                v.reject(
                    &format!("rules[{i}]"),
                    format!("{} overlaps rules[{j}] ({})", rule.describe(), earlier.describe()),
                );
            }
        }
        v.done(|| Some(Self::from_parts(timezone?, parsed.into_iter().collect::<Option<Vec<_>>>()?)))
    }

    /// A week read back from storage, already valid.
    pub fn from_parts(timezone: TimeZoneName, mut rules: Vec<WeeklyRule>) -> WeeklyAvailability {
        rules.sort_by_key(|r| (r.weekday.to_monday_zero_offset(), r.start, r.effective_from));
        let zone = timezone.zone();
        Self { timezone, zone, rules }
    }

    pub fn timezone(&self) -> &TimeZoneName {
        &self.timezone
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Sorted by weekday (Monday first) and start.
    pub fn rules(&self) -> &[WeeklyRule] {
        &self.rules
    }

    /// No rules: the therapist is available whenever they are not busy.
    pub fn is_unrestricted(&self) -> bool {
        self.rules.is_empty()
    }

    /// The windows that overlap `span`, in order. `offsets` must cover
    /// `span` (see [`ZoneOffsets::covering`]) and be of this week's zone.
    pub fn windows(&self, span: Interval, offsets: &ZoneOffsets) -> Vec<Window> {
        let mut windows = Vec::new();
        if self.rules.is_empty() {
            return windows;
        }
        // Every date whose wall-clock day could reach into the span.
        let first = civil_day(span.start, offsets.offset_at(span.start)) - 1;
        let last = civil_day(span.end, offsets.offset_at(span.end)) + 1;
        let mut pieces = Vec::with_capacity(2);
        for day in first..=last {
            let date = date_of_day(day);
            for (index, rule) in self.rules.iter().enumerate() {
                if !rule.applies_on(date) {
                    continue;
                }
                let midnight = day * DAY;
                pieces.clear();
                offsets.wall_clock_range(
                    midnight + rule.start.minutes() * 60,
                    midnight + rule.end.minutes() * 60,
                    &mut pieces,
                );
                let Some(whole) = pieces.first().zip(pieces.last()).and_then(|(a, b)| interval(a.0, b.1)) else {
                    continue;
                };
                for &(start, end) in &pieces {
                    if let Some(piece) = interval(start, end).filter(|p| p.overlaps(&span)) {
                        windows.push(Window {
                            interval: piece,
                            whole,
                            rule: index,
                            date,
                            modality: rule.modality,
                            max_sessions: rule.max_sessions,
                        });
                    }
                }
            }
        }
        windows.sort_by_key(|w| w.interval.start);
        windows
    }
}

/// A stretch of real time in which a rule makes the therapist available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub interval: Interval,
    /// The rule's whole window that day; differs from `interval` only when a
    /// fall-back fold splits it in two. `max_sessions` counts over it.
    pub whole: Interval,
    /// Index into [`WeeklyAvailability::rules`].
    pub rule: usize,
    pub date: Date,
    pub modality: Option<Modality>,
    pub max_sessions: Option<u32>,
}

impl Window {
    pub fn offers(&self, modality: Option<Modality>) -> bool {
        match (self.modality, modality) {
            (Some(offered), Some(wanted)) => offered == wanted,
            _ => true,
        }
    }

    /// Whether the window has no room left, given the starts of the
    /// sessions already booked (sorted).
    pub fn is_full(&self, booked_starts: &[Timestamp]) -> bool {
        let Some(max) = self.max_sessions else { return false };
        let from = booked_starts.partition_point(|s| *s < self.whole.start);
        let to = booked_starts.partition_point(|s| *s < self.whole.end);
        to - from >= max as usize
    }
}

fn interval(start: i64, end: i64) -> Option<Interval> {
    Interval::new(Timestamp::from_second(start).ok()?, Timestamp::from_second(end).ok()?)
}

/// Days since 1970-01-01 of the wall-clock date at `at` with `offset` seconds.
fn civil_day(at: Timestamp, offset: i64) -> i64 {
    (at.as_second() + offset).div_euclid(DAY)
}

fn date_of_day(day: i64) -> Date {
    let epoch = Date::constant(1970, 1, 1);
    epoch.checked_add(day.days()).unwrap_or(epoch)
}

/// A zone's UTC offsets over a stretch of time, so that many windows can be
/// placed with integer arithmetic alone.
#[derive(Debug, Clone)]
pub struct ZoneOffsets {
    /// `(from, offset)` in seconds: `offset` holds from `from` (Unix
    /// seconds) until the next entry. The first entry holds from the start
    /// of time.
    changes: Vec<(i64, i64)>,
}

impl ZoneOffsets {
    /// Offsets of `zone` over `span` and two days either side of it.
    pub fn covering(zone: &TimeZone, span: Interval) -> ZoneOffsets {
        let margin = SignedDuration::from_hours(48);
        let from = span.start.checked_sub(margin).unwrap_or(span.start);
        let until = span.end.checked_add(margin).unwrap_or(span.end);
        let mut changes = vec![(i64::MIN, seconds(zone.to_offset(from)))];
        for transition in zone.following(from) {
            if transition.timestamp() > until {
                break;
            }
            changes.push((transition.timestamp().as_second(), seconds(transition.offset())));
        }
        ZoneOffsets { changes }
    }

    /// The offset in seconds at `at`.
    pub fn offset_at(&self, at: Timestamp) -> i64 {
        let t = at.as_second();
        let i = self.changes.partition_point(|(from, _)| *from <= t);
        self.changes[i.saturating_sub(1)].1
    }

    /// The instants whose wall-clock time lies in `[start, end)` (both
    /// local seconds since 1970-01-01T00:00 on the wall clock), as disjoint
    /// `(start, end)` Unix-second ranges in order.
    fn wall_clock_range(&self, start: i64, end: i64, out: &mut Vec<(i64, i64)>) {
        for (i, &(from, offset)) in self.changes.iter().enumerate() {
            let until = self.changes.get(i + 1).map_or(i64::MAX, |next| next.0);
            let piece_start = (start - offset).max(from);
            let piece_end = (end - offset).min(until);
            if piece_start >= piece_end {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 == piece_start => last.1 = piece_end,
                _ => out.push((piece_start, piece_end)),
            }
        }
    }
}

fn seconds(offset: Offset) -> i64 {
    i64::from(offset.seconds())
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn rule(weekday: &str, start: &str, end: &str) -> RuleInput<'static> {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        RuleInput { weekday: leak(weekday), start_time: leak(start), end_time: leak(end), ..RuleInput::default() }
    }

    fn fields(invalid: Invalid) -> Vec<String> {
        invalid.0.into_iter().map(|e| e.field).collect()
    }

    fn local(at: Timestamp, zone: &str) -> String {
        at.to_zoned(TimeZone::get(zone).unwrap()).strftime("%Y-%m-%d %H:%M%:z").to_string()
    }

    fn span(from: &str, to: &str) -> Interval {
        Interval::new(from.parse().unwrap(), to.parse().unwrap()).unwrap()
    }

    fn week(zone: &str, rules: &[RuleInput<'_>]) -> WeeklyAvailability {
        WeeklyAvailability::parse(zone, rules).unwrap_or_else(|e| panic!("{e}"))
    }

    fn windows(week: &WeeklyAvailability, from: &str, to: &str) -> Vec<String> {
        let span = span(from, to);
        let offsets = ZoneOffsets::covering(week.zone(), span);
        let zone = week.timezone().as_str();
        week.windows(span, &offsets)
            .iter()
            .map(|w| format!("{} → {}", local(w.interval.start, zone), local(w.interval.end, zone)))
            .collect()
    }

    #[test]
    fn times_of_day_are_hh_mm_up_to_midnight() {
        assert_eq!(MinuteOfDay::parse("09:30").unwrap().minutes(), 570);
        assert_eq!(MinuteOfDay::parse("24:00").unwrap(), MinuteOfDay::END_OF_DAY);
        for bad in ["9:30", "24:01", "12:60", "noon", "", "09:30:00"] {
            assert!(MinuteOfDay::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(MinuteOfDay::parse("07:05").unwrap().hhmm(), "07:05");
    }

    #[test]
    fn every_bad_field_is_named_with_its_rule() {
        let bad = RuleInput {
            weekday: "funday",
            start_time: "9am",
            end_time: "25:00",
            modality: Some("PHONE"),
            location: Some(" "),
            max_sessions: Some(0),
            effective_from: Some("2027-13-01"),
            effective_to: Some("soon"),
        };
        let invalid = WeeklyAvailability::parse("Mars/Base", &[rule("monday", "09:00", "17:00"), bad]).unwrap_err();
        assert_eq!(
            fields(invalid),
            [
                "timezone",
                "rules[1].weekday",
                "rules[1].start_time",
                "rules[1].end_time",
                "rules[1].modality",
                "rules[1].location",
                "rules[1].max_sessions",
                "rules[1].effective_from",
                "rules[1].effective_to",
            ]
        );
        let backwards = WeeklyAvailability::parse("UTC", &[rule("monday", "17:00", "09:00")]).unwrap_err();
        assert_eq!(fields(backwards), ["rules[0].end_time"]);
        let mut dates = rule("monday", "09:00", "17:00");
        dates.effective_from = Some("2027-05-01");
        dates.effective_to = Some("2027-04-01");
        assert_eq!(fields(WeeklyAvailability::parse("UTC", &[dates]).unwrap_err()), ["rules[0].effective_to"]);
    }

    #[test]
    fn overlapping_rules_are_refused_naming_both() {
        let rules = [
            rule("monday", "09:00", "12:00"),
            rule("monday", "13:00", "17:00"),
            rule("Monday", "11:30", "14:00"),
            rule("tuesday", "11:30", "14:00"),
        ];
        let invalid = WeeklyAvailability::parse("America/New_York", &rules).unwrap_err();
        assert_eq!(invalid.0.len(), 1);
        assert_eq!(invalid.0[0].field, "rules[2]");
        assert_eq!(invalid.0[0].reason, "monday 11:30–14:00 overlaps rules[0] (monday 09:00–12:00)");
    }

    #[test]
    fn touching_rules_and_rules_in_different_seasons_do_not_overlap() {
        let mut summer = rule("monday", "08:00", "12:00");
        summer.effective_from = Some("2027-06-01");
        summer.effective_to = Some("2027-08-31");
        let mut winter = rule("monday", "09:00", "13:00");
        winter.effective_from = Some("2027-09-01");
        let week = week("UTC", &[rule("monday", "13:00", "17:00"), summer, winter, rule("monday", "17:00", "24:00")]);
        assert_eq!(week.rules().len(), 4);
        let mut forever = rule("monday", "10:00", "11:00");
        forever.effective_to = Some("2027-06-01");
        let clash = WeeklyAvailability::parse("UTC", &[rule("monday", "08:00", "12:00"), forever]);
        assert!(clash.is_err(), "open-ended and dated rules on the same day overlap");
    }

    #[test]
    fn nine_to_five_stays_nine_to_five_across_both_transitions() {
        let week = week("America/New_York", &[rule("monday", "09:00", "17:00"), rule("sunday", "09:00", "12:00")]);
        assert_eq!(
            windows(&week, "2027-03-07T00:00:00Z", "2027-03-16T00:00:00Z"),
            [
                "2027-03-07 09:00-05:00 → 2027-03-07 12:00-05:00",
                "2027-03-08 09:00-05:00 → 2027-03-08 17:00-05:00",
                "2027-03-14 09:00-04:00 → 2027-03-14 12:00-04:00",
                "2027-03-15 09:00-04:00 → 2027-03-15 17:00-04:00",
            ]
        );
        assert_eq!(
            windows(&week, "2027-10-31T00:00:00Z", "2027-11-09T00:00:00Z"),
            [
                "2027-10-31 09:00-04:00 → 2027-10-31 12:00-04:00",
                "2027-11-01 09:00-04:00 → 2027-11-01 17:00-04:00",
                "2027-11-07 09:00-05:00 → 2027-11-07 12:00-05:00",
                "2027-11-08 09:00-05:00 → 2027-11-08 17:00-05:00",
            ]
        );
    }

    #[test]
    fn a_window_loses_the_hour_a_gap_skips_and_splits_around_a_fold() {
        // 2027-03-14: 02:00 → 03:00 in New York. 2027-11-07: 02:00 → 01:00.
        let week = week("America/New_York", &[rule("sunday", "01:30", "03:30")]);
        let spring = windows(&week, "2027-03-14T00:00:00Z", "2027-03-15T00:00:00Z");
        assert_eq!(spring, ["2027-03-14 01:30-05:00 → 2027-03-14 03:30-04:00"]);
        let spring_span = span("2027-03-14T00:00:00Z", "2027-03-15T00:00:00Z");
        let w = week.windows(spring_span, &ZoneOffsets::covering(week.zone(), spring_span))[0];
        assert_eq!(w.interval.length(), SignedDuration::from_mins(60), "the skipped hour does not exist");
        // In the fold, 01:30–02:00 happens twice: once on each offset.
        let autumn = windows(&week, "2027-11-07T00:00:00Z", "2027-11-08T00:00:00Z");
        assert_eq!(
            autumn,
            ["2027-11-07 01:30-04:00 → 2027-11-07 01:00-05:00", "2027-11-07 01:30-05:00 → 2027-11-07 03:30-05:00"]
        );
        let inside_gap = week_of("America/New_York", "sunday", "02:10", "02:50");
        assert!(windows(&inside_gap, "2027-03-14T00:00:00Z", "2027-03-15T00:00:00Z").is_empty());
    }

    fn week_of(zone: &str, day: &str, start: &str, end: &str) -> WeeklyAvailability {
        week(zone, &[rule(day, start, end)])
    }

    #[test]
    fn rules_apply_only_between_their_effective_dates() {
        let mut dated = rule("wednesday", "10:00", "11:00");
        dated.effective_from = Some("2027-03-10");
        dated.effective_to = Some("2027-03-17");
        let week = week("UTC", &[dated]);
        let found = windows(&week, "2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z");
        assert_eq!(
            found,
            ["2027-03-10 10:00+00:00 → 2027-03-10 11:00+00:00", "2027-03-17 10:00+00:00 → 2027-03-17 11:00+00:00"]
        );
        assert!(week.rules()[0].applies_on(date(2027, 3, 17)));
        assert!(!week.rules()[0].applies_on(date(2027, 3, 24)));
    }

    #[test]
    fn a_window_until_midnight_ends_at_the_next_day() {
        let week = week_of("Asia/Kolkata", "friday", "20:00", "24:00");
        assert_eq!(
            windows(&week, "2027-03-05T00:00:00Z", "2027-03-06T00:00:00Z"),
            ["2027-03-05 20:00+05:30 → 2027-03-06 00:00+05:30"]
        );
    }
}
