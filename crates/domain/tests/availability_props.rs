//! Properties of the free-slot search, over random weeks, busy time and
//! searches in zones with and without daylight-saving time — including the
//! days their clocks change.

use circles_domain::availability::{RuleInput, WeeklyAvailability, WeeklyRule};
use circles_domain::interval::Interval;
use circles_domain::session::Modality;
use circles_domain::slots::{Calendar, SlotFinder, SlotSearch};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

const ZONES: [&str; 6] =
    ["America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Havana", "Asia/Kolkata", "UTC"];
/// Days on or next to a transition in one of the zones, and an ordinary one.
const STARTS: [&str; 6] = ["2027-03-13", "2027-11-06", "2027-03-27", "2027-10-30", "2027-04-03", "2027-06-15"];
const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

#[derive(Debug, Clone)]
struct RawRule {
    day: usize,
    start: i64,
    length: i64,
    max_sessions: Option<i64>,
    virtual_only: Option<bool>,
}

fn raw_rule() -> impl Strategy<Value = RawRule> {
    (0usize..7, 0i64..288, 1i64..120, prop::option::weighted(0.3, 1i64..3), prop::option::of(any::<bool>())).prop_map(
        |(day, start, length, max_sessions, virtual_only)| RawRule {
            day,
            start: start * 5,
            length: length * 5,
            max_sessions,
            virtual_only,
        },
    )
}

fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A valid week from random rules: later rules that overlap earlier ones are dropped.
fn week(zone: &str, raw: &[RawRule]) -> WeeklyAvailability {
    let mut kept: Vec<RawRule> = Vec::new();
    for rule in raw {
        let end = (rule.start + rule.length).min(1440);
        if end <= rule.start {
            continue;
        }
        let clash = kept.iter().any(|k| k.day == rule.day && k.start < end && rule.start < k.start + k.length);
        if !clash {
            kept.push(RawRule { length: end - rule.start, ..rule.clone() });
        }
    }
    let texts: Vec<(String, String)> = kept
        .iter()
        .map(|r| (hhmm(r.start), if r.start + r.length == 1440 { "24:00".into() } else { hhmm(r.start + r.length) }))
        .collect();
    let inputs: Vec<RuleInput<'_>> = kept
        .iter()
        .zip(&texts)
        .map(|(r, (start, end))| RuleInput {
            weekday: DAYS[r.day],
            start_time: start,
            end_time: end,
            modality: r.virtual_only.map(|v| if v { "VIRTUAL" } else { "IN_PERSON" }),
            max_sessions: r.max_sessions,
            ..RuleInput::default()
        })
        .collect();
    WeeklyAvailability::parse(zone, &inputs).unwrap_or_else(|e| panic!("{e}"))
}

fn local(at: Timestamp, zone: &TimeZone) -> DateTime {
    at.to_zoned(zone.clone()).datetime()
}

/// The rule (and its date) whose local window holds wall-clock time `t`.
fn rule_holding(week: &WeeklyAvailability, t: DateTime) -> Option<(usize, &WeeklyRule, Date)> {
    let minutes = i64::from(t.hour()) * 60 + i64::from(t.minute());
    week.rules().iter().enumerate().find_map(|(i, r)| {
        (r.applies_on(t.date()) && r.start.minutes() <= minutes && minutes < r.end.minutes()).then_some((
            i,
            r,
            t.date(),
        ))
    })
}

fn interval_at(base: Timestamp, (offset, length): (i64, i64)) -> Interval {
    Interval::starting_at(base + SignedDuration::from_mins(offset), SignedDuration::from_mins(length)).unwrap()
}

prop_compose! {
    fn scenario()(
        zone in prop::sample::select(ZONES.to_vec()),
        start in prop::sample::select(STARTS.to_vec()),
        rules in prop::collection::vec(raw_rule(), 1..12),
        booked in prop::collection::vec((0i64..6000, 15i64..120), 0..12),
        away in prop::collection::vec((0i64..6000, 30i64..1500), 0..2),
        offset_minutes in 0i64..600,
        days in 1i64..5,
        duration in 5i64..150,
        step in prop::sample::select(vec![5i64, 10, 15, 30]),
        modality in prop::option::of(prop::bool::ANY),
    ) -> (String, String, Vec<RawRule>, Vec<(i64, i64)>, Vec<(i64, i64)>, i64, i64, i64, i64, Option<bool>) {
        (zone.to_owned(), start.to_owned(), rules, booked, away, offset_minutes, days, duration, step, modality)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn free_starts_are_inside_working_hours_free_and_within_limits(
        (zone_name, start_date, raw, booked_raw, away_raw, offset_minutes, days, duration, step, modality) in scenario()
    ) {
        let zone = TimeZone::get(&zone_name).unwrap();
        let week = week(&zone_name, &raw);
        let base = start_date.parse::<Date>().unwrap().to_zoned(zone.clone()).unwrap().timestamp();
        let mut booked: Vec<Interval> = booked_raw.iter().map(|&b| interval_at(base, b)).collect();
        booked.sort();
        let away: Vec<Interval> = away_raw.iter().map(|&a| interval_at(base, a)).collect();
        let from = base + SignedDuration::from_mins(offset_minutes);
        let to = from + SignedDuration::from_hours(24 * days);
        let modality = modality.map(|v| if v { Modality::Virtual } else { Modality::InPerson });
        let search = SlotSearch {
            from,
            to,
            duration: SignedDuration::from_mins(duration),
            step: SignedDuration::from_mins(step),
            modality,
            not_before: from,
            grid_origin: from,
            limit: usize::MAX,
        };
        let calendar = Calendar { week: Some(&week), booked: &booked, blocked: &away };
        let starts = SlotFinder::new(search).unwrap().free_starts(&calendar);

        for pair in starts.windows(2) {
            prop_assert!(pair[0] < pair[1], "sorted and distinct");
        }
        for &start in &starts {
            prop_assert!(start >= from && start < to);
            let slot = Interval::starting_at(start, SignedDuration::from_mins(duration)).unwrap();
            // Inside one rule's window in local time, at every minute of the slot.
            let (index, rule, date) = rule_holding(&week, local(start, &zone))
                .ok_or_else(|| TestCaseError::fail(format!("{} starts outside every rule", local(start, &zone))))?;
            let every_five_minutes = (0..).map(|k| start + SignedDuration::from_mins(5 * k)).take_while(|t| *t < slot.end);
            for t in every_five_minutes.chain([slot.end - SignedDuration::from_secs(1)]) {
                let held = rule_holding(&week, local(t, &zone)).map(|h| (h.0, h.2));
                prop_assert_eq!(held, Some((index, date)), "{} leaves rule {} ({})", local(t, &zone), index, rule.describe());
            }
            prop_assert!(rule.offers(modality), "modality");
            // Free of sessions and time off.
            prop_assert!(booked.iter().chain(&away).all(|b| !b.overlaps(&slot)), "{slot:?} overlaps busy time");
            // The window that day still has room.
            if let Some(max) = rule.max_sessions {
                let taken = booked.iter().filter(|b| rule_holding(&week, local(b.start, &zone)).is_some_and(|h| h.0 == index && h.2 == date)).count();
                prop_assert!(taken < max as usize, "{} sessions already in a window of at most {}", taken, max);
            }
        }
    }

    #[test]
    fn without_dst_every_free_grid_point_is_found(
        (_, start_date, raw, booked_raw, _, offset_minutes, days, duration, step, _) in scenario(),
        zone_name in prop::sample::select(vec!["UTC", "Asia/Kolkata"]),
    ) {
        let zone = TimeZone::get(zone_name).unwrap();
        let week = week(zone_name, &raw);
        let base = start_date.parse::<Date>().unwrap().to_zoned(zone.clone()).unwrap().timestamp();
        let mut booked: Vec<Interval> = booked_raw.iter().map(|&b| interval_at(base, b)).collect();
        booked.sort();
        let from = base + SignedDuration::from_mins(offset_minutes);
        let to = from + SignedDuration::from_hours(24 * days);
        let length = SignedDuration::from_mins(duration);
        let search = SlotSearch {
            from, to, duration: length, step: SignedDuration::from_mins(step), modality: None,
            not_before: from, grid_origin: from, limit: usize::MAX,
        };
        let calendar = Calendar { week: Some(&week), booked: &booked, blocked: &[] };
        let found = SlotFinder::new(search).unwrap().free_starts(&calendar);

        // The same answer, the slow way: every rule on every date, every grid point.
        let mut expected = Vec::new();
        let first_date = local(from, &zone).date() - 1.day();
        for day in 0..=days + 2 {
            let date = first_date + day.days();
            for rule in week.rules().iter().filter(|r| r.applies_on(date)) {
                let window_start = date.to_datetime(jiff::civil::Time::midnight()).to_zoned(zone.clone()).unwrap().timestamp()
                    + SignedDuration::from_mins(rule.start.minutes());
                let window_end = window_start + SignedDuration::from_mins(rule.end.minutes() - rule.start.minutes());
                let taken = booked.iter().filter(|b| b.start >= window_start && b.start < window_end).count();
                if rule.max_sessions.is_some_and(|max| taken >= max as usize) {
                    continue;
                }
                let mut t = window_start;
                while t + length <= window_end {
                    let slot = Interval::starting_at(t, length).unwrap();
                    if t >= from && t < to && booked.iter().all(|b| !b.overlaps(&slot)) {
                        expected.push(t);
                    }
                    t += SignedDuration::from_mins(step);
                }
            }
        }
        expected.sort();
        prop_assert_eq!(found, expected);
    }
}
