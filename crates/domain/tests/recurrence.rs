//! How a recurring series expands: which dates, where it ends, what is
//! skipped, and properties that hold for any zone, start and rule.

use circles_domain::recurrence::{MAX_OCCURRENCES, Occurrence, Recurrence, RecurrenceInput};
use jiff::civil::{Date, DateTime, date, time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

/// Thursdays at 14:00 in New York, 90 minutes, from Thursday 2027-02-04.
fn thursdays() -> RecurrenceInput {
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

fn series(input: RecurrenceInput) -> Recurrence {
    Recurrence::parse(&input).unwrap_or_else(|invalid| panic!("{invalid}"))
}

fn with_rule(rrule: &str) -> Recurrence {
    series(RecurrenceInput { rrule: rrule.into(), ..thursdays() })
}

fn dates(occurrences: &[Occurrence]) -> Vec<Date> {
    occurrences.iter().map(|o| o.recurrence_id.date()).collect()
}

fn instant(rfc3339: &str) -> Timestamp {
    rfc3339.parse().unwrap()
}

#[test]
fn weekly_on_thursday_gives_thursdays_at_the_start_time() {
    let occurrences = with_rule("FREQ=WEEKLY;BYDAY=TH").first(5);
    assert_eq!(
        dates(&occurrences),
        [date(2027, 2, 4), date(2027, 2, 11), date(2027, 2, 18), date(2027, 2, 25), date(2027, 3, 4)]
    );
    assert_eq!(occurrences[0].starts_at, instant("2027-02-04T14:00:00-05:00"));
    assert_eq!(occurrences[0].ends_at, instant("2027-02-04T15:30:00-05:00"));
    assert!(occurrences.iter().all(|o| o.recurrence_id.time() == time(14, 0, 0, 0) && !o.shifted));
}

#[test]
fn the_first_occurrence_is_the_first_matching_date_on_or_after_start_date() {
    let from_monday = series(RecurrenceInput { start_date: "2027-02-01".into(), ..thursdays() });
    assert_eq!(dates(&from_monday.first(2)), [date(2027, 2, 4), date(2027, 2, 11)]);
}

#[test]
fn weekly_without_byday_repeats_on_the_start_weekday() {
    assert_eq!(dates(&with_rule("FREQ=WEEKLY").first(2)), [date(2027, 2, 4), date(2027, 2, 11)]);
}

#[test]
fn interval_two_is_every_other_week() {
    assert_eq!(
        dates(&with_rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH").first(4)),
        [date(2027, 2, 4), date(2027, 2, 18), date(2027, 3, 4), date(2027, 3, 18)]
    );
}

#[test]
fn daily_with_byday_keeps_only_those_weekdays() {
    // 2027-02-04 is a Thursday.
    assert_eq!(
        dates(&with_rule("FREQ=DAILY;BYDAY=MO,TH").first(4)),
        [date(2027, 2, 4), date(2027, 2, 8), date(2027, 2, 11), date(2027, 2, 15)]
    );
}

#[test]
fn monthly_on_the_second_tuesday() {
    let series = series(RecurrenceInput {
        rrule: "FREQ=MONTHLY;BYDAY=2TU".into(),
        start_date: "2027-01-01".into(),
        ..thursdays()
    });
    assert_eq!(
        dates(&series.first(5)),
        [date(2027, 1, 12), date(2027, 2, 9), date(2027, 3, 9), date(2027, 4, 13), date(2027, 5, 11)]
    );
}

#[test]
fn monthly_on_the_last_friday() {
    let series = series(RecurrenceInput {
        rrule: "FREQ=MONTHLY;BYDAY=-1FR".into(),
        start_date: "2027-01-01".into(),
        ..thursdays()
    });
    assert_eq!(
        dates(&series.first(5)),
        [date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 26), date(2027, 4, 30), date(2027, 5, 28)]
    );
}

#[test]
fn monthly_on_the_31st_skips_shorter_months() {
    let on_31st = [date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31), date(2027, 7, 31), date(2027, 8, 31)];
    let by_month_day = series(RecurrenceInput {
        rrule: "FREQ=MONTHLY;BYMONTHDAY=31".into(),
        start_date: "2027-01-01".into(),
        ..thursdays()
    });
    assert_eq!(dates(&by_month_day.first(5)), on_31st);
    // Without BYMONTHDAY the start date's day is used, with the same RFC 5545 result.
    let from_31st =
        series(RecurrenceInput { rrule: "FREQ=MONTHLY".into(), start_date: "2027-01-31".into(), ..thursdays() });
    assert_eq!(dates(&from_31st.first(5)), on_31st);
}

#[test]
fn monthly_on_the_last_day_counts_from_the_end() {
    let series = series(RecurrenceInput {
        rrule: "FREQ=MONTHLY;BYMONTHDAY=-1".into(),
        start_date: "2028-01-01".into(),
        ..thursdays()
    });
    assert_eq!(dates(&series.first(3)), [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]);
}

#[test]
fn count_gives_exactly_that_many() {
    let series = with_rule("FREQ=WEEKLY;BYDAY=TH;COUNT=12");
    let occurrences = series.first(100);
    assert_eq!(occurrences.len(), 12);
    assert_eq!(occurrences.last().unwrap().recurrence_id.date(), date(2027, 4, 22));
    assert_eq!(series.occurrences_between(Timestamp::MIN, Timestamp::MAX), occurrences);
}

#[test]
fn cancelled_dates_are_skipped_but_still_count_towards_count() {
    let series = series(RecurrenceInput {
        rrule: "FREQ=WEEKLY;BYDAY=TH;COUNT=4".into(),
        exdates: vec!["2027-02-11".into(), "2027-02-25".into(), "2027-03-01".into()],
        ..thursdays()
    });
    assert_eq!(dates(&series.first(10)), [date(2027, 2, 4), date(2027, 2, 18)]);
}

#[test]
fn with_exdate_cancels_one_occurrence() {
    let series = with_rule("FREQ=WEEKLY;BYDAY=TH").with_exdate(date(2027, 2, 11));
    assert_eq!(dates(&series.first(3)), [date(2027, 2, 4), date(2027, 2, 18), date(2027, 2, 25)]);
}

#[test]
fn until_as_a_date_includes_that_whole_local_day() {
    let occurrences = with_rule("FREQ=WEEKLY;BYDAY=TH;UNTIL=20270304").first(100);
    assert_eq!(dates(&occurrences).last(), Some(&date(2027, 3, 4)));
    assert_eq!(occurrences.len(), 5);
}

#[test]
fn until_as_a_local_time_is_compared_with_the_local_start() {
    assert_eq!(dates(&with_rule("FREQ=WEEKLY;UNTIL=20270304T140000").first(100)).last(), Some(&date(2027, 3, 4)));
    assert_eq!(dates(&with_rule("FREQ=WEEKLY;UNTIL=20270304T135959").first(100)).last(), Some(&date(2027, 2, 25)));
}

#[test]
fn until_in_utc_is_compared_with_the_start_instant() {
    // 14:00 EST on 2027-03-04 is 19:00 UTC.
    assert_eq!(dates(&with_rule("FREQ=WEEKLY;UNTIL=20270304T190000Z").first(100)).last(), Some(&date(2027, 3, 4)));
    assert_eq!(dates(&with_rule("FREQ=WEEKLY;UNTIL=20270304T185959Z").first(100)).last(), Some(&date(2027, 2, 25)));
}

#[test]
fn end_date_is_inclusive() {
    let series = series(RecurrenceInput { end_date: Some("2027-03-04".into()), ..thursdays() });
    assert_eq!(dates(&series.first(100)).last(), Some(&date(2027, 3, 4)));
}

#[test]
fn the_earlier_of_until_and_end_date_ends_the_series() {
    let last = |rrule: &str, end_date: &str| {
        let series = series(RecurrenceInput { rrule: rrule.into(), end_date: Some(end_date.into()), ..thursdays() });
        series.first(100).last().unwrap().recurrence_id.date()
    };
    assert_eq!(last("FREQ=WEEKLY;UNTIL=20270401", "2027-03-11"), date(2027, 3, 11));
    assert_eq!(last("FREQ=WEEKLY;UNTIL=20270311", "2027-04-01"), date(2027, 3, 11));
}

#[test]
fn occurrences_between_is_half_open() {
    let series = with_rule("FREQ=WEEKLY;BYDAY=TH");
    let feb_11 = instant("2027-02-11T14:00:00-05:00");
    let mar_4 = instant("2027-03-04T14:00:00-05:00");
    assert_eq!(
        dates(&series.occurrences_between(feb_11, mar_4)),
        [date(2027, 2, 11), date(2027, 2, 18), date(2027, 2, 25)]
    );
    let one_second = SignedDuration::from_secs(1);
    assert_eq!(
        dates(&series.occurrences_between(feb_11 + one_second, mar_4 + one_second)),
        [date(2027, 2, 18), date(2027, 2, 25), date(2027, 3, 4)]
    );
    assert_eq!(series.occurrences_between(feb_11, feb_11), []);
}

#[test]
fn an_occurrence_in_progress_at_from_is_not_included() {
    // Only the start matters: the 14:00–15:30 session has started by 14:30.
    let series = with_rule("FREQ=WEEKLY;BYDAY=TH");
    let during_first = instant("2027-02-04T14:30:00-05:00");
    assert_eq!(dates(&series.occurrences_between(during_first, instant("2027-02-12T00:00:00Z"))), [date(2027, 2, 11)]);
}

#[test]
fn an_endless_series_stops_ten_years_after_start_date() {
    let daily = series(RecurrenceInput { rrule: "FREQ=DAILY".into(), start_date: "2027-01-01".into(), ..thursdays() });
    let occurrences = daily.first(usize::MAX);
    // 2027-01-01 through 2037-01-01: 3,650 days plus three leap days, plus the last day.
    assert_eq!(occurrences.len(), 3654);
    assert_eq!(occurrences.last().unwrap().recurrence_id.date(), date(2037, 1, 1));
    assert_eq!(daily.occurrences_between(instant("2037-01-02T00:00:00Z"), Timestamp::MAX), []);
}

// Properties -----------------------------------------------------------------

const ZONES: [&str; 10] = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "UTC",
];

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// A rule from the supported subset, without an end. Monthly rules name a
/// weekday (1st to 4th, or last), which every month has, so COUNT is reached
/// within the horizon whatever the start date.
fn rule() -> impl Strategy<Value = String> {
    let weekly_days = prop::option::of(prop::sample::subsequence(DAYS.to_vec(), 1..=7).prop_map(|days| days.join(",")));
    let monthly_day =
        (prop_oneof![1..=4i8, Just(-1)], prop::sample::select(DAYS.to_vec())).prop_map(|(n, day)| format!("{n}{day}"));
    let freq_and_byday = prop_oneof![
        Just(("DAILY", None)),
        weekly_days.prop_map(|days| ("WEEKLY", days)),
        monthly_day.prop_map(|day| ("MONTHLY", Some(day))),
    ];
    (freq_and_byday, 1..=4u8).prop_map(|((freq, byday), interval)| match byday {
        Some(byday) => format!("FREQ={freq};INTERVAL={interval};BYDAY={byday}"),
        None => format!("FREQ={freq};INTERVAL={interval}"),
    })
}

/// Start times are often in the small hours, where DST gaps and folds are.
fn start_time() -> impl Strategy<Value = String> {
    (prop_oneof![3 => 0..4u8, 1 => 0..24u8], prop::sample::select(vec![0u8, 15, 30, 45, 59]))
        .prop_map(|(hour, minute)| format!("{hour:02}:{minute:02}"))
}

fn start_date() -> impl Strategy<Value = Date> {
    (2026..=2030i16, 1..=12i8, 1..=28i8).prop_map(|(y, m, d)| date(y, m, d))
}

/// With `lead`, that many days before the zone's first transition after
/// `date`, so that even short series cross gaps and folds.
fn before_next_transition(zone: &TimeZone, date: Date, lead: Option<i32>) -> Date {
    let Some(lead) = lead else { return date };
    let after = date.to_zoned(zone.clone()).unwrap().timestamp();
    match zone.following(after).next() {
        Some(transition) => zone.to_datetime(transition.timestamp()).date() - lead.days(),
        None => date,
    }
}

fn input(rrule: String, start_date: Date, start_time: String, zone: &str, duration_minutes: i64) -> RecurrenceInput {
    RecurrenceInput {
        rrule,
        start_date: start_date.to_string(),
        start_time,
        timezone: zone.into(),
        duration_minutes,
        end_date: None,
        exdates: vec![],
    }
}

/// Where a nominal local start is documented to happen: as is when it exists
/// once, at its first instance when a fold repeats it, and moved forward by the
/// length of the gap (`shifted`) when a gap skips it.
fn documented_start(zone: &TimeZone, recurrence_id: DateTime) -> (Timestamp, bool) {
    match zone.to_ambiguous_timestamp(recurrence_id).offset() {
        AmbiguousOffset::Unambiguous { offset } => (offset.to_timestamp(recurrence_id).unwrap(), false),
        AmbiguousOffset::Fold { before, .. } => (before.to_timestamp(recurrence_id).unwrap(), false),
        AmbiguousOffset::Gap { before, after } => {
            let moved_forward = recurrence_id + after.duration_since(before);
            (after.to_timestamp(moved_forward).unwrap(), true)
        }
    }
}

proptest! {
    #[test]
    fn every_occurrence_starts_at_its_wall_time_or_just_after_a_gap(
        zone in prop::sample::select(ZONES.to_vec()),
        start_date in start_date(),
        lead in prop::option::weighted(0.8, 0..=10i32),
        start_time in start_time(),
        rrule in rule(),
        count in 1..=24u32,
        duration_minutes in 5..=1440i64,
    ) {
        let tz = TimeZone::get(zone).unwrap();
        let start_date = before_next_transition(&tz, start_date, lead);
        let series = series(input(format!("{rrule};COUNT={count}"), start_date, start_time, zone, duration_minutes));
        let occurrences = series.first(MAX_OCCURRENCES);
        // At most 24 monthly occurrences 4 months apart stay within the 10-year horizon.
        prop_assert_eq!(occurrences.len(), count as usize);
        for o in &occurrences {
            prop_assert_eq!(o.recurrence_id.time(), series.start_time());
            prop_assert!(o.recurrence_id.date() >= start_date);
            if !o.shifted {
                prop_assert_eq!(tz.to_datetime(o.starts_at), o.recurrence_id);
            }
            prop_assert_eq!((o.starts_at, o.shifted), documented_start(&tz, o.recurrence_id));
            prop_assert_eq!(o.ends_at.duration_since(o.starts_at), SignedDuration::from_mins(duration_minutes));
        }
        for pair in occurrences.windows(2) {
            prop_assert!(pair[0].starts_at < pair[1].starts_at, "{:?} then {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn cancelled_occurrences_leave_count_minus_their_number(
        zone in prop::sample::select(ZONES.to_vec()),
        start_date in start_date(),
        lead in prop::option::weighted(0.8, 0..=10i32),
        start_time in start_time(),
        rrule in rule(),
        count in 1..=24u32,
        cancel in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let start_date = before_next_transition(&TimeZone::get(zone).unwrap(), start_date, lead);
        let uncancelled = input(format!("{rrule};COUNT={count}"), start_date, start_time, zone, 60);
        let all = series(uncancelled.clone()).first(MAX_OCCURRENCES);
        let mut cancelled: Vec<Date> = cancel.iter().map(|i| i.get(&all).recurrence_id.date()).collect();
        cancelled.sort();
        cancelled.dedup();
        let exdates = cancelled.iter().map(Date::to_string).collect();
        let remaining = series(RecurrenceInput { exdates, ..uncancelled }).first(MAX_OCCURRENCES);
        prop_assert_eq!(remaining.len(), count as usize - cancelled.len());
        prop_assert!(remaining.iter().all(|o| !cancelled.contains(&o.recurrence_id.date())));
    }

    #[test]
    fn nothing_starts_after_until_or_end_date(
        zone in prop::sample::select(ZONES.to_vec()),
        start_date in start_date(),
        start_time in start_time(),
        rrule in rule(),
        days in 0..=400i32,
        end_form in 0..3u8,
    ) {
        let end = start_date + days.days();
        let until_instant = end.at(12, 0, 0, 0).to_zoned(TimeZone::UTC).unwrap().timestamp();
        let endless = input(rrule.clone(), start_date, start_time, zone, 60);
        let (rrule, end_date) = match end_form {
            0 => (rrule, Some(end.to_string())),
            1 => (format!("{rrule};UNTIL={}", end.strftime("%Y%m%d")), None),
            _ => (format!("{rrule};UNTIL={}", end.strftime("%Y%m%dT120000Z")), None),
        };
        let within_end = |o: &Occurrence| match end_form {
            2 => o.starts_at <= until_instant,
            _ => o.recurrence_id.date() <= end,
        };
        let endless_occurrences = series(endless.clone()).first(MAX_OCCURRENCES);
        let expected: Vec<Occurrence> = endless_occurrences.into_iter().take_while(within_end).collect();
        match Recurrence::parse(&RecurrenceInput { rrule, end_date, ..endless }) {
            Ok(ended) => prop_assert_eq!(ended.first(MAX_OCCURRENCES), expected),
            // Ending before the first occurrence leaves nothing, which is refused.
            Err(invalid) => {
                prop_assert_eq!(expected, []);
                let reason = "rrule: selects no date between start_date and the end of the series";
                prop_assert_eq!(invalid.to_string(), reason);
            }
        }
    }

    #[test]
    fn occurrences_between_is_the_series_cut_to_the_window(
        zone in prop::sample::select(ZONES.to_vec()),
        start_date in start_date(),
        start_time in start_time(),
        rrule in rule(),
        from_hours in 0..=20_000i64,
        length_hours in 0..=5_000i64,
    ) {
        let series = series(input(format!("{rrule};COUNT=100"), start_date, start_time, zone, 60));
        let from = start_date.to_zoned(TimeZone::UTC).unwrap().timestamp() + SignedDuration::from_hours(from_hours);
        let to = from + SignedDuration::from_hours(length_hours);
        let expected: Vec<Occurrence> =
            series.first(MAX_OCCURRENCES).into_iter().filter(|o| from <= o.starts_at && o.starts_at < to).collect();
        prop_assert_eq!(series.occurrences_between(from, to), expected);
    }
}
