//! Free start times: a therapist's availability windows, minus their busy
//! time, their time off and anyone else's busy time that must also be free,
//! within each window's session limit, on a grid.
//!
//! The grid is anchored at each window's start, so a window from 09:00
//! offers 09:00, 09:15, … on a 15-minute step whatever the search's `from`.
//! A therapist without rules has one window for the whole search, anchored
//! at local midnight. A slot must fit inside one window: it never spans a
//! gap between two rules.

use jiff::{SignedDuration, Timestamp};

use crate::availability::{WeeklyAvailability, Window, ZoneOffsets};
use crate::input::TimeZoneName;
use crate::interval::{FreeSearch, Interval, free_starts as grid_starts, merge};
use crate::session::Modality;

/// One therapist's time, as a search sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calendar<'a> {
    /// Their week; `None` (or a week without rules) is available at any time.
    pub week: Option<&'a WeeklyAvailability>,
    /// Sessions they are accepted on and their live holds, sorted by start:
    /// busy, and counted against a window's `max_sessions`.
    pub booked: &'a [Interval],
    /// Busy without counting as sessions: approved time off, and the busy
    /// time of anyone else who must be free too (the client). Any order.
    pub blocked: &'a [Interval],
}

impl Calendar<'_> {
    fn restricting_week(&self) -> Option<&WeeklyAvailability> {
        self.week.filter(|w| !w.is_unrestricted())
    }

    fn busy(&self) -> Vec<Interval> {
        merge(self.booked.iter().chain(self.blocked).copied())
    }
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct SlotSearch {
    /// Starts lie in `[from, to)`.
    pub from: Timestamp,
    pub to: Timestamp,
    pub duration: SignedDuration,
    pub step: SignedDuration,
    /// Only windows offering this kind of session.
    pub modality: Option<Modality>,
    /// No start before this: the present.
    pub not_before: Timestamp,
    /// Where the grid of a therapist without rules is anchored (local
    /// midnight on `from`'s date, say).
    pub grid_origin: Timestamp,
    /// At most this many starts per therapist.
    pub limit: usize,
}

/// Searches many therapists' calendars with one set of zone offsets per
/// time zone, so each therapist costs only integer arithmetic.
pub struct SlotFinder {
    search: SlotSearch,
    /// Windows that can hold a start: `[from, to + duration)`.
    span: Interval,
    offsets: Vec<(TimeZoneName, ZoneOffsets)>,
}

impl SlotFinder {
    /// `None` when the search cannot find anything (an empty range, a
    /// non-positive duration or step).
    pub fn new(search: SlotSearch) -> Option<SlotFinder> {
        if search.step <= SignedDuration::ZERO || search.duration <= SignedDuration::ZERO {
            return None;
        }
        let span = Interval::new(search.from, search.to.checked_add(search.duration).ok()?)?;
        Some(SlotFinder { search, span, offsets: Vec::new() })
    }

    fn windows(&mut self, week: &WeeklyAvailability) -> Vec<Window> {
        let offsets = match self.offsets.iter().position(|(zone, _)| zone == week.timezone()) {
            Some(i) => &self.offsets[i].1,
            None => {
                self.offsets.push((week.timezone().clone(), ZoneOffsets::covering(week.zone(), self.span)));
                &self.offsets.last().expect("just pushed").1
            }
        };
        week.windows(self.span, offsets)
    }

    /// The free starts of one therapist, earliest first.
    pub fn free_starts(&mut self, calendar: &Calendar<'_>) -> Vec<Timestamp> {
        let search = self.search.clone();
        let busy = calendar.busy();
        let earliest = search.from.max(search.not_before);
        let Some(week) = calendar.restricting_week() else {
            let anytime = Interval::new(search.grid_origin.min(earliest), self.span.end);
            return anytime.map_or_else(Vec::new, |window| starts_in(window, earliest, &busy, &search, search.limit));
        };
        let booked_starts: Vec<Timestamp> = calendar.booked.iter().map(|b| b.start).collect();
        let mut found = Vec::new();
        for window in self.windows(week) {
            if found.len() >= search.limit {
                break;
            }
            if !window.offers(search.modality) || window.is_full(&booked_starts) {
                continue;
            }
            found.extend(starts_in(window.interval, earliest, &busy, &search, search.limit - found.len()));
        }
        found
    }
}

/// Grid points of `window` (anchored at its start) from `earliest` whose
/// slot fits in the window and avoids `busy` (merged).
fn starts_in(
    window: Interval,
    earliest: Timestamp,
    busy: &[Interval],
    search: &SlotSearch,
    limit: usize,
) -> Vec<Timestamp> {
    let Ok(last_start) = window.end.checked_sub(search.duration) else { return Vec::new() };
    // A start may sit exactly at `last_start`; `until` is exclusive.
    let until = search.to.min(last_start + SignedDuration::from_nanos(1));
    let first = first_grid_point(window.start, search.step, earliest);
    if first >= until {
        return Vec::new();
    }
    let relevant = &busy[busy.partition_point(|b| b.end <= first)..];
    let grid = FreeSearch { from: first, duration: search.duration, step: search.step, until, limit };
    grid_starts(relevant, grid, |_| true)
}

/// The first of `origin`, `origin + step`, … at or after `at_least`.
fn first_grid_point(origin: Timestamp, step: SignedDuration, at_least: Timestamp) -> Timestamp {
    if at_least <= origin {
        return origin;
    }
    let step_nanos = step.as_nanos();
    let steps = (at_least.duration_since(origin).as_nanos() + step_nanos - 1) / step_nanos;
    origin + SignedDuration::from_nanos_i128(steps * step_nanos)
}

/// How a booking sits in a therapist's week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Inside a window that offers the session's modality and has room
    /// (or the therapist keeps no rules).
    Inside,
    /// Not inside any window offering that modality.
    OutsideHours,
    /// Inside a window that already holds its `max_sessions`.
    WindowFull { max_sessions: u32 },
}

/// Where `slot` falls in `week`, given the sessions already `booked`
/// (sorted by start). Busy time is not considered here.
pub fn fit(week: &WeeklyAvailability, booked: &[Interval], slot: Interval, modality: Modality) -> Fit {
    if week.is_unrestricted() {
        return Fit::Inside;
    }
    let offsets = ZoneOffsets::covering(week.zone(), slot);
    let booked_starts: Vec<Timestamp> = booked.iter().map(|b| b.start).collect();
    let mut outcome = Fit::OutsideHours;
    for window in week.windows(slot, &offsets) {
        let holds = window.interval.start <= slot.start && slot.end <= window.interval.end;
        if !holds || !window.offers(Some(modality)) {
            continue;
        }
        match window.max_sessions {
            Some(max) if window.is_full(&booked_starts) => outcome = Fit::WindowFull { max_sessions: max },
            _ => return Fit::Inside,
        }
    }
    outcome
}

/// Whether the therapist could take a session of `modality` over `slot`:
/// inside their hours, with room, and not busy or away.
pub fn is_free(calendar: &Calendar<'_>, slot: Interval, modality: Option<Modality>) -> bool {
    let clear = calendar.booked.iter().chain(calendar.blocked).all(|b| !b.overlaps(&slot));
    let inside = match (calendar.restricting_week(), modality) {
        (None, _) => true,
        (Some(week), Some(modality)) => fit(week, calendar.booked, slot, modality) == Fit::Inside,
        (Some(week), None) => [Modality::InPerson, Modality::Virtual]
            .into_iter()
            .any(|m| fit(week, calendar.booked, slot, m) == Fit::Inside),
    };
    clear && inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::availability::RuleInput;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn iv(from: &str, to: &str) -> Interval {
        Interval::new(at(from), at(to)).unwrap()
    }

    fn mins(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    fn rule<'a>(day: &'a str, start: &'a str, end: &'a str) -> RuleInput<'a> {
        RuleInput { weekday: day, start_time: start, end_time: end, ..RuleInput::default() }
    }

    fn search(from: &str, to: &str, minutes: i64) -> SlotSearch {
        SlotSearch {
            from: at(from),
            to: at(to),
            duration: mins(minutes),
            step: mins(15),
            modality: None,
            not_before: at(from),
            grid_origin: at(from),
            limit: 1000,
        }
    }

    fn hhmm(starts: &[Timestamp]) -> Vec<String> {
        starts.iter().map(|s| s.strftime("%d %H:%M").to_string()).collect()
    }

    #[test]
    fn starts_fit_inside_windows_and_skip_busy_time() {
        // UTC keeps the arithmetic visible. Monday 2027-03-01.
        let week =
            WeeklyAvailability::parse("UTC", &[rule("monday", "09:00", "11:00"), rule("monday", "13:00", "14:30")])
                .unwrap();
        let booked = [iv("2027-03-01T09:30:00Z", "2027-03-01T10:20:00Z")];
        let calendar = Calendar { week: Some(&week), booked: &booked, blocked: &[] };
        let mut finder = SlotFinder::new(search("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z", 30)).unwrap();
        assert_eq!(
            hhmm(&finder.free_starts(&calendar)),
            ["01 09:00", "01 10:30", "01 13:00", "01 13:15", "01 13:30", "01 13:45", "01 14:00"]
        );
    }

    #[test]
    fn a_full_window_offers_nothing_and_other_modalities_are_skipped() {
        let mut limited = rule("monday", "09:00", "12:00");
        limited.max_sessions = Some(1);
        let mut virtual_evening = rule("monday", "18:00", "19:00");
        virtual_evening.modality = Some("VIRTUAL");
        let week = WeeklyAvailability::parse("UTC", &[limited, virtual_evening]).unwrap();
        let booked = [iv("2027-03-01T11:00:00Z", "2027-03-01T11:30:00Z")];
        let calendar = Calendar { week: Some(&week), booked: &booked, blocked: &[] };
        let mut in_person = search("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z", 60);
        in_person.modality = Some(Modality::InPerson);
        assert!(SlotFinder::new(in_person).unwrap().free_starts(&calendar).is_empty());
        let mut any = search("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z", 60);
        any.limit = 10;
        assert_eq!(hhmm(&SlotFinder::new(any).unwrap().free_starts(&calendar)), ["01 18:00"]);
        let slot = iv("2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z");
        assert_eq!(fit(&week, &booked, slot, Modality::InPerson), Fit::WindowFull { max_sessions: 1 });
        assert_eq!(fit(&week, &[], slot, Modality::InPerson), Fit::Inside);
        let evening = iv("2027-03-01T18:00:00Z", "2027-03-01T19:00:00Z");
        assert_eq!(fit(&week, &[], evening, Modality::InPerson), Fit::OutsideHours);
        assert_eq!(fit(&week, &[], evening, Modality::Virtual), Fit::Inside);
        let spilling = iv("2027-03-01T11:30:00Z", "2027-03-01T12:30:00Z");
        assert_eq!(fit(&week, &[], spilling, Modality::InPerson), Fit::OutsideHours);
    }

    #[test]
    fn time_off_and_the_past_block_starts() {
        let week = WeeklyAvailability::parse("UTC", &[rule("monday", "09:00", "12:00")]).unwrap();
        let away = [iv("2027-03-01T00:00:00Z", "2027-03-01T10:00:00Z")];
        let calendar = Calendar { week: Some(&week), booked: &[], blocked: &away };
        let mut s = search("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z", 60);
        s.not_before = at("2027-03-01T10:05:00Z");
        assert_eq!(
            hhmm(&SlotFinder::new(s).unwrap().free_starts(&calendar)),
            ["01 10:15", "01 10:30", "01 10:45", "01 11:00"]
        );
    }

    #[test]
    fn without_rules_the_grid_runs_from_local_midnight() {
        let booked = [iv("2027-03-01T00:10:00Z", "2027-03-01T01:00:00Z")];
        let calendar = Calendar { week: None, booked: &booked, blocked: &[] };
        let mut s = search("2027-03-01T00:05:00Z", "2027-03-01T02:00:00Z", 30);
        s.grid_origin = at("2027-03-01T00:00:00Z");
        assert_eq!(
            hhmm(&SlotFinder::new(s).unwrap().free_starts(&calendar)),
            ["01 01:00", "01 01:15", "01 01:30", "01 01:45"]
        );
        assert!(is_free(&calendar, iv("2027-03-01T03:00:00Z", "2027-03-01T04:00:00Z"), None));
        assert!(!is_free(&calendar, iv("2027-03-01T00:30:00Z", "2027-03-01T01:30:00Z"), None));
    }

    #[test]
    fn the_limit_stops_the_search() {
        let calendar = Calendar::default();
        let mut s = search("2027-03-01T00:00:00Z", "2027-03-08T00:00:00Z", 30);
        s.limit = 3;
        assert_eq!(SlotFinder::new(s).unwrap().free_starts(&calendar).len(), 3);
    }
}
