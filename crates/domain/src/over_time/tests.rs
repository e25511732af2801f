use jiff::civil::date;
use proptest::prelude::*;

use super::*;
use crate::checkin::Builtin;
use crate::session::SeatStatus::{Attended, NoShow, Registered};

fn at(rfc3339: &str) -> Timestamp {
    rfc3339.parse().unwrap()
}

fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

fn session(starts_at: &str, seats: &[crate::session::SeatStatus]) -> DatedSession {
    DatedSession { starts_at: at(starts_at), held: HeldSession { seats: seats.to_vec() } }
}

#[test]
fn weeks_start_on_monday_and_cover_both_ends() {
    assert_eq!(monday_of(date(2026, 3, 8)), date(2026, 3, 2), "a Sunday belongs to the week before");
    assert_eq!(monday_of(date(2026, 3, 9)), date(2026, 3, 9));
    let range = WeekRange::covering(date(2026, 3, 4), date(2026, 3, 16)).unwrap();
    assert_eq!(range.mondays().collect::<Vec<_>>(), [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]);
    assert_eq!(range.last_day(), date(2026, 3, 22));
}

#[test]
fn a_range_backwards_or_longer_than_two_years_is_refused() {
    assert!(WeekRange::covering(date(2026, 3, 9), date(2026, 3, 8)).is_err());
    assert!(WeekRange::covering(date(2026, 1, 5), date(2027, 12, 27)).is_ok());
    assert!(WeekRange::covering(date(2026, 1, 5), date(2028, 1, 3)).is_err());
    assert_eq!(WeekRange::ending(date(2026, 3, 11)).week_count(), DEFAULT_WEEKS);
    assert_eq!(WeekRange::ending(date(2026, 3, 11)).last(), date(2026, 3, 9));
}

#[test]
fn the_week_of_a_spring_dst_change_is_one_hour_short_on_the_local_clock() {
    // New York springs forward on Sunday 8 March 2026.
    let range = WeekRange::covering(date(2026, 3, 2), date(2026, 3, 2)).unwrap();
    let (start, end) = range.bounds(&new_york());
    assert_eq!(start, at("2026-03-02T05:00:00Z"));
    assert_eq!(end, at("2026-03-09T04:00:00Z"));
    assert_eq!(end.duration_since(start).as_hours(), 167);
}

#[test]
fn a_late_evening_session_counts_in_its_local_week_not_its_utc_one() {
    // Sunday 8 March, 21:00 in New York is Monday 01:00 UTC.
    let range = WeekRange::covering(date(2026, 3, 2), date(2026, 3, 9)).unwrap();
    let sessions = [
        session("2026-03-09T01:00:00Z", &[Attended, Attended, NoShow, Attended]),
        session("2026-03-10T22:00:00Z", &[Attended, Registered]),
        session("2026-05-01T22:00:00Z", &[Attended]),
    ];
    let weeks = weekly_attendance(range, &new_york(), &sessions);
    assert_eq!(weeks.len(), 2);
    assert_eq!((weeks[0].week_start, weeks[0].stats.sessions_held, weeks[0].rate()), (date(2026, 3, 2), 1, Some(0.75)));
    assert_eq!((weeks[1].week_start, weeks[1].stats.unmarked, weeks[1].rate()), (date(2026, 3, 9), 1, Some(1.0)));
}

#[test]
fn a_week_without_marked_seats_has_no_rate() {
    let range = WeekRange::covering(date(2026, 3, 2), date(2026, 3, 2)).unwrap();
    let weeks = weekly_attendance(range, &new_york(), &[session("2026-03-03T23:00:00Z", &[Registered])]);
    assert_eq!(weeks[0].rate(), None);
    assert_eq!(weeks[0].stats.sessions_held, 1);
}

#[test]
fn averages_are_per_questionnaire_and_session_and_skip_missing_totals() {
    let (a, b) = (SessionId::new(), SessionId::new());
    let mood = QuestionnaireRef::Builtin(Builtin::Mood);
    let phq9 = QuestionnaireRef::Builtin(Builtin::Phq9);
    let total = |questionnaire, session, starts_at: &str, total| SessionTotal {
        questionnaire,
        session,
        starts_at: at(starts_at),
        total,
    };
    let series = session_averages(&[
        total(mood, b, "2026-03-10T18:00:00Z", Some(6)),
        total(phq9, a, "2026-03-03T18:00:00Z", Some(10)),
        total(mood, a, "2026-03-03T18:00:00Z", Some(4)),
        total(mood, a, "2026-03-03T18:00:00Z", Some(5)),
        total(mood, a, "2026-03-03T18:00:00Z", None),
        total(phq9, a, "2026-03-03T18:00:00Z", Some(3)),
    ]);
    assert_eq!(series.len(), 2);
    let mood_series = series.iter().find(|s| s.questionnaire == mood).unwrap();
    let points: Vec<_> = mood_series.sessions.iter().map(|p| (p.session, p.answered, p.mean_total)).collect();
    assert_eq!(points, [(a, 3, Some(4.5)), (b, 1, Some(6.0))]);
    let phq9_series = series.iter().find(|s| s.questionnaire == phq9).unwrap();
    assert_eq!(phq9_series.sessions[0].mean_total, Some(6.5));
}

fn zone() -> impl Strategy<Value = TimeZone> {
    prop::sample::select(vec!["America/New_York", "Europe/London", "Australia/Sydney", "America/Santiago", "UTC"])
        .prop_map(|name| TimeZone::get(name).unwrap())
}

proptest! {
    #[test]
    fn every_session_in_range_lands_in_the_week_of_its_local_date(
        tz in zone(),
        first_day in 0i64..730,
        weeks in 1i64..30,
        offsets in prop::collection::vec(0i64..(40 * 7 * 24 * 60), 0..40),
    ) {
        let from = date(2025, 1, 1).checked_add(first_day.days()).unwrap();
        let to = from.checked_add(((weeks - 1) * 7).days()).unwrap();
        let range = WeekRange::covering(from, to).unwrap();
        let (start, end) = range.bounds(&tz);
        let base = from.to_zoned(tz.clone()).unwrap().timestamp();
        let sessions: Vec<DatedSession> = offsets
            .iter()
            .map(|m| DatedSession { starts_at: base + jiff::SignedDuration::from_mins(*m), held: HeldSession { seats: vec![Attended] } })
            .collect();
        let buckets = weekly_attendance(range, &tz, &sessions);
        prop_assert_eq!(buckets.len() as i64, range.week_count());
        let inside = sessions.iter().filter(|s| s.starts_at >= start && s.starts_at < end).count() as i64;
        prop_assert_eq!(buckets.iter().map(|w| w.stats.sessions_held).sum::<i64>(), inside);
        for (i, w) in buckets.iter().enumerate() {
            prop_assert_eq!(w.week_start.weekday(), jiff::civil::Weekday::Monday);
            let expected = sessions.iter().filter(|s| monday_of(s.starts_at.to_zoned(tz.clone()).date()) == w.week_start).count() as i64;
            prop_assert_eq!(w.stats.sessions_held, expected, "week {}", i);
        }
        // A local week is 168 hours give or take one DST change.
        for monday in range.mondays() {
            let one = WeekRange::covering(monday, monday).unwrap();
            let (s, e) = one.bounds(&tz);
            let hours = e.duration_since(s).as_hours();
            prop_assert!((167..=169).contains(&hours), "{} hours", hours);
        }
    }
}
