//! Splitting a series from any date, at any new time, any number of times,
//! and generating again leaves exactly one session on each date the series
//! always meant — never one in an off-week of a fortnightly group.

use std::collections::{BTreeMap, BTreeSet};

use circles_domain::recurrence::{Recurrence, RecurrenceInput};
use circles_domain::series;
use jiff::ToSpan;
use jiff::civil::{Date, DateTime, Time, date};
use proptest::prelude::*;

const ZONES: [&str; 3] = ["America/New_York", "Europe/London", "UTC"];
const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
/// The stretch that is generated, in days from the series' start.
const RANGE_DAYS: i64 = 150;

fn rule() -> impl Strategy<Value = String> {
    let weekly = (1u8..=3, prop::collection::btree_set(0usize..7, 1..=3)).prop_map(|(interval, days)| {
        let days: Vec<&str> = days.into_iter().map(|d| DAYS[d]).collect();
        format!("FREQ=WEEKLY;INTERVAL={interval};BYDAY={}", days.join(","))
    });
    let daily = (2u8..=9).prop_map(|interval| format!("FREQ=DAILY;INTERVAL={interval}"));
    let monthly = (1u8..=2, 1i8..=28).prop_map(|(i, d)| format!("FREQ=MONTHLY;INTERVAL={i};BYMONTHDAY={d}"));
    let counted = prop::option::weighted(0.3, 3u16..20);
    (prop_oneof![weekly, daily, monthly], counted).prop_map(|(rule, count)| match count {
        Some(n) => format!("{rule};COUNT={n}"),
        None => rule,
    })
}

#[derive(Debug, Clone)]
struct Split {
    /// Days after the series' start.
    from: i64,
    start_minutes: i64,
    duration_minutes: i64,
}

fn split() -> impl Strategy<Value = Split> {
    (0i64..RANGE_DAYS, 0i64..(24 * 4), 1i64..12).prop_map(|(from, quarter, half_hours)| Split {
        from,
        start_minutes: quarter * 15,
        duration_minutes: half_hours * 30,
    })
}

/// Generated sessions: the date each was generated for, and its local start.
type Sessions = BTreeMap<Date, Vec<DateTime>>;

fn generate(series: &Recurrence, from: Date, to: Date, sessions: &mut Sessions) {
    let zone = series.timezone().zone();
    let midnight = |d: Date| d.to_zoned(zone.clone()).unwrap().timestamp();
    let occurrences = series.occurrences_between(midnight(from), midnight(to.tomorrow().unwrap()));
    let generated: BTreeSet<Date> = sessions.keys().copied().collect();
    for occurrence in series::fresh(&occurrences, &generated) {
        sessions.entry(occurrence.recurrence_id.date()).or_default().push(occurrence.recurrence_id);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn splits_and_regeneration_leave_one_session_per_intended_date(
        rrule in rule(),
        zone in 0usize..ZONES.len(),
        start_offset in 0i64..60,
        splits in prop::collection::vec(split(), 1..4),
    ) {
        let start = date(2027, 1, 1).checked_add(start_offset.days()).unwrap();
        let end = start.checked_add(RANGE_DAYS.days()).unwrap();
        let original = Recurrence::parse(&RecurrenceInput {
            rrule,
            start_date: start.to_string(),
            start_time: "18:00".into(),
            timezone: ZONES[zone].into(),
            duration_minutes: 90,
            end_date: None,
            exdates: vec![],
        }).unwrap();
        let mut intended = Sessions::new();
        generate(&original, start, end, &mut intended);

        let mut sessions = intended.clone();
        let mut series = original.clone();
        for split in &splits {
            let from = start.checked_add(split.from.days()).unwrap();
            let time = Time::midnight().checked_add(split.start_minutes.minutes()).unwrap();
            let Ok(next) = series.continue_from(from, time, split.duration_minutes) else {
                // Nothing left to split: the series ended before `from`.
                prop_assert!(intended.keys().all(|&d| d < from));
                continue;
            };
            // Sessions from the split date on move to the new time.
            for (_, starts) in sessions.range_mut(from..) {
                for local in starts.iter_mut() {
                    *local = local.date().to_datetime(time);
                }
            }
            series = next;
            generate(&series, start, end, &mut sessions);
        }

        for (date, starts) in &sessions {
            prop_assert_eq!(starts.len(), 1, "one session on {}", date);
        }
        let made: Vec<&Date> = sessions.keys().collect();
        let meant: Vec<&Date> = intended.keys().collect();
        prop_assert_eq!(made, meant);
    }
}
