//! Series planning: which occurrences a generation creates and which
//! members each one seats. The store loads the facts and writes the plan;
//! these rules decide it.
//!
//! The series' rules allow at most one occurrence per local date (no rule
//! part selects hours), so a group holds at most one generated session per
//! date: an occurrence is new when no session of the group was generated
//! for its date before, whatever time that session was at or has moved to.

use std::collections::BTreeSet;

use jiff::civil::Date;

use crate::availability::WeeklyAvailability;
use crate::group::MembershipStatus;
use crate::interval::Interval;
use crate::recurrence::{Occurrence, Recurrence};
use crate::session::Modality;
use crate::slots::{Fit, fit};

/// The occurrences among `occurrences` whose date has no generated session
/// yet (`generated` lists the dates that have one), in order.
pub fn fresh<'a>(occurrences: &'a [Occurrence], generated: &BTreeSet<Date>) -> Vec<&'a Occurrence> {
    occurrences.iter().filter(|o| !generated.contains(&o.recurrence_id.date())).collect()
}

/// One membership period, as far as seating is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub status: MembershipStatus,
    pub join_date: Date,
    pub leave_date: Option<Date>,
}

impl Period {
    /// Whether this period gives a seat on a session on `date`: the member
    /// took part (was not waitlisted or unscreened), had joined, and had not
    /// yet left (the leave date is their first day away).
    pub fn seated_on(&self, date: Date) -> bool {
        !matches!(self.status, MembershipStatus::PendingScreening | MembershipStatus::Waitlisted)
            && self.join_date <= date
            && self.leave_date.is_none_or(|left| left > date)
    }
}

/// Whether replacing the series `old` by `new` would move occurrences that
/// may already have sessions (a new rule, start, zone or length). Such a
/// change goes through a split from a chosen date, which moves the sessions
/// with it; changing only cancelled dates or the end does not.
pub fn reshapes(old: Option<&Recurrence>, new: Option<&Recurrence>) -> bool {
    match (old, new) {
        (Some(old), Some(new)) => !old.places_like(new),
        (None, None) => false,
        _ => true,
    }
}

/// Whether a session over `slot` lies outside a facilitator's working
/// hours for its modality (a week without rules restricts nothing). How
/// many sessions a window already holds is not considered: a group's
/// sessions are planned, not squeezed in.
pub fn outside_working_hours(week: &WeeklyAvailability, slot: Interval, modality: Modality) -> bool {
    fit(week, &[], slot, modality) == Fit::OutsideHours
}

#[cfg(test)]
mod tests {
    use jiff::civil::{date, time};

    use super::*;
    use crate::recurrence::RecurrenceInput;

    fn biweekly_wednesdays() -> Recurrence {
        Recurrence::parse(&RecurrenceInput {
            rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE".into(),
            start_date: "2027-01-06".into(),
            start_time: "18:00".into(),
            timezone: "America/New_York".into(),
            duration_minutes: 90,
            end_date: None,
            exdates: vec![],
        })
        .unwrap()
    }

    fn dates(series: &Recurrence, n: usize) -> Vec<Date> {
        series.first(n).iter().map(|o| o.recurrence_id.date()).collect()
    }

    #[test]
    fn a_split_from_an_off_week_keeps_the_fortnightly_phase() {
        let old = biweekly_wednesdays();
        // 2027-01-06, 01-20, 02-03, 02-17: a split "from" Monday 2027-01-25
        // resumes on Wednesday 2027-02-03, not on 2027-01-27.
        let new = old.continue_from(date(2027, 1, 25), time(19, 0, 0, 0), 60).unwrap();
        assert_eq!(dates(&new, 3), [date(2027, 2, 3), date(2027, 2, 17), date(2027, 3, 3)]);
        assert_eq!(new.start_time(), time(19, 0, 0, 0));
        assert_eq!(new.duration_minutes(), 60);
    }

    #[test]
    fn a_counted_series_ends_on_its_last_date_after_a_split() {
        let old = Recurrence::parse(&RecurrenceInput {
            rrule: "FREQ=WEEKLY;BYDAY=MO;COUNT=4".into(),
            ..biweekly_wednesdays().to_input()
        })
        .unwrap();
        let before = dates(&old, 10);
        let new = old.continue_from(date(2027, 1, 19), time(18, 0, 0, 0), 90).unwrap();
        assert_eq!(dates(&new, 10), before[2..], "the remaining two Mondays, no more");
        assert_eq!(new.end_date(), Some(before[3]));
    }

    #[test]
    fn a_split_after_the_last_occurrence_is_refused_under_from() {
        let old = Recurrence::parse(&RecurrenceInput {
            end_date: Some("2027-02-01".into()),
            ..biweekly_wednesdays().to_input()
        })
        .unwrap();
        let invalid = old.continue_from(date(2027, 3, 1), time(18, 0, 0, 0), 90).unwrap_err();
        assert_eq!(invalid.0[0].field, "from");
    }

    #[test]
    fn an_occurrence_is_fresh_when_its_date_has_no_session() {
        let series = biweekly_wednesdays();
        let occurrences = series.first(3);
        // The second occurrence was generated, then moved to another time.
        let generated = BTreeSet::from([date(2027, 1, 20)]);
        let fresh: Vec<Date> = fresh(&occurrences, &generated).iter().map(|o| o.recurrence_id.date()).collect();
        assert_eq!(fresh, [date(2027, 1, 6), date(2027, 2, 3)]);
    }

    #[test]
    fn members_are_seated_from_their_join_date_until_the_day_they_leave() {
        let period = Period {
            status: MembershipStatus::Inactive,
            join_date: date(2027, 1, 10),
            leave_date: Some(date(2027, 2, 3)),
        };
        assert!(!period.seated_on(date(2027, 1, 6)), "before joining");
        assert!(period.seated_on(date(2027, 1, 20)));
        assert!(!period.seated_on(date(2027, 2, 3)), "the leave date is the first day away");
        let waiting = Period { status: MembershipStatus::Waitlisted, leave_date: None, ..period };
        assert!(!waiting.seated_on(date(2027, 1, 20)), "the waitlist takes no seats");
    }

    #[test]
    fn only_a_change_of_placement_reshapes_a_series() {
        let old = biweekly_wednesdays();
        let exdated = old.with_exdate(date(2027, 1, 20));
        assert!(!reshapes(Some(&old), Some(&exdated)));
        let later = old.continue_from(date(2027, 1, 6), time(19, 0, 0, 0), 90).unwrap();
        assert!(reshapes(Some(&old), Some(&later)));
        assert!(reshapes(None, Some(&old)));
        assert!(!reshapes(None, None));
    }

    #[test]
    fn an_evening_session_is_outside_a_daytime_week() {
        use crate::availability::RuleInput;
        let rule = RuleInput {
            weekday: "wednesday",
            start_time: "09:00",
            end_time: "17:00",
            modality: None,
            location: None,
            max_sessions: None,
            effective_from: None,
            effective_to: None,
        };
        let week = WeeklyAvailability::parse("America/New_York", &[rule]).unwrap();
        let series = biweekly_wednesdays();
        let evening = series.first(1)[0].clone();
        let slot = Interval::new(evening.starts_at, evening.ends_at).unwrap();
        assert!(outside_working_hours(&week, slot, Modality::InPerson), "18:00 is after 17:00");
        let morning = Interval::new(
            slot.start - jiff::SignedDuration::from_hours(8),
            slot.end - jiff::SignedDuration::from_hours(8),
        )
        .unwrap();
        assert!(!outside_working_hours(&week, morning, Modality::InPerson));
        let unrestricted = WeeklyAvailability::parse("America/New_York", &[]).unwrap();
        assert!(!outside_working_hours(&unrestricted, slot, Modality::InPerson));
    }
}
