//! Half-open time intervals and the search for free start times.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// `[start, end)`: a session ending at 10:00 does not overlap one starting at
/// 10:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// No busy interval is longer than this. Sessions and holds are far shorter;
/// the bound lets overlap queries use an index on start times alone.
pub const MAX_BUSY_SPAN: SignedDuration = SignedDuration::from_hours(24);

impl Interval {
    /// `None` unless `end` is after `start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Option<Self> {
        (end > start).then_some(Self { start, end })
    }

    pub fn starting_at(start: Timestamp, length: SignedDuration) -> Option<Self> {
        Self::new(start, start.checked_add(length).ok()?)
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    pub fn length(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }
}

/// Sorts and merges overlapping or touching intervals.
pub fn merge(intervals: impl IntoIterator<Item = Interval>) -> Vec<Interval> {
    let mut sorted: Vec<Interval> = intervals.into_iter().collect();
    sorted.sort();
    let mut merged: Vec<Interval> = Vec::with_capacity(sorted.len());
    for interval in sorted {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}

/// The parts of `from` that none of `taken` covers, in order.
pub fn subtract(from: impl IntoIterator<Item = Interval>, taken: impl IntoIterator<Item = Interval>) -> Vec<Interval> {
    let taken = merge(taken);
    let mut left = Vec::new();
    for piece in merge(from) {
        let mut start = piece.start;
        for t in taken.iter().filter(|t| t.overlaps(&piece)) {
            if let Some(gap) = Interval::new(start, t.start) {
                left.push(gap);
            }
            start = start.max(t.end);
        }
        if let Some(rest) = Interval::new(start, piece.end) {
            left.push(rest);
        }
    }
    left
}

/// Back-to-back pieces of `length` cut from the start of each of `gaps`,
/// at most `limit` of them; a gap's remainder shorter than `length` is
/// left out.
pub fn slices(gaps: &[Interval], length: SignedDuration, limit: usize) -> Vec<Interval> {
    let mut pieces = Vec::new();
    if length <= SignedDuration::ZERO {
        return pieces;
    }
    for gap in gaps {
        let mut start = gap.start;
        while let Some(piece) = Interval::starting_at(start, length).filter(|p| p.end <= gap.end) {
            if pieces.len() >= limit {
                return pieces;
            }
            pieces.push(piece);
            start = piece.end;
        }
    }
    pieces
}

/// What to search for free start times.
#[derive(Debug, Clone, Copy)]
pub struct FreeSearch {
    /// Candidates are `from`, `from + step`, `from + 2·step`, …
    pub from: Timestamp,
    pub duration: SignedDuration,
    pub step: SignedDuration,
    /// No candidate starts at or after this.
    pub until: Timestamp,
    pub limit: usize,
}

/// Start times on the search grid whose whole duration avoids `busy`
/// (merged and sorted, as from [`merge`]), earliest first. `allowed` filters
/// candidates further (working hours, say).
pub fn free_starts(busy: &[Interval], search: FreeSearch, mut allowed: impl FnMut(Interval) -> bool) -> Vec<Timestamp> {
    let mut found = Vec::new();
    if search.step <= SignedDuration::ZERO || search.duration <= SignedDuration::ZERO {
        return found;
    }
    let mut candidate = search.from;
    // Busy intervals ending at or before the candidate can never matter again.
    let mut first_relevant = 0;
    while candidate < search.until && found.len() < search.limit {
        let Some(slot) = Interval::starting_at(candidate, search.duration) else { break };
        while first_relevant < busy.len() && busy[first_relevant].end <= candidate {
            first_relevant += 1;
        }
        match busy[first_relevant..].iter().find(|b| b.overlaps(&slot)) {
            // Jump to the first grid point at or after the clash ends.
            Some(clash) => candidate = next_grid_point(search.from, search.step, clash.end),
            None => {
                if allowed(slot) {
                    found.push(candidate);
                }
                candidate += search.step;
            }
        }
    }
    found
}

fn next_grid_point(origin: Timestamp, step: SignedDuration, at_least: Timestamp) -> Timestamp {
    let elapsed = at_least.duration_since(origin).as_nanos();
    let step_nanos = step.as_nanos();
    let steps = (elapsed + step_nanos - 1).div_euclid(step_nanos).max(0);
    origin + SignedDuration::from_nanos_i128(steps * step_nanos)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    fn iv(from: i64, to: i64) -> Interval {
        Interval::new(at(from), at(to)).unwrap()
    }

    fn mins(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert!(!iv(0, 60).overlaps(&iv(60, 120)));
        assert!(iv(0, 61).overlaps(&iv(60, 120)));
        assert!(iv(10, 20).overlaps(&iv(0, 120)));
    }

    #[test]
    fn subtracting_leaves_the_uncovered_parts() {
        let left = subtract([iv(0, 240)], [iv(60, 90), iv(80, 120), iv(200, 300)]);
        assert_eq!(left, vec![iv(0, 60), iv(120, 200)]);
        assert_eq!(subtract([iv(0, 60)], [iv(0, 60)]), vec![]);
        assert_eq!(subtract([iv(0, 60)], []), vec![iv(0, 60)]);
    }

    #[test]
    fn slices_are_cut_back_to_back_and_capped() {
        let cut = slices(&[iv(0, 130), iv(200, 250)], mins(50), 10);
        assert_eq!(cut, vec![iv(0, 50), iv(50, 100), iv(200, 250)]);
        assert_eq!(slices(&[iv(0, 500)], mins(50), 2), vec![iv(0, 50), iv(50, 100)]);
    }

    #[test]
    fn empty_and_backwards_intervals_do_not_exist() {
        assert!(Interval::new(at(5), at(5)).is_none());
        assert!(Interval::new(at(5), at(4)).is_none());
    }

    #[test]
    fn merging_joins_overlapping_and_touching_intervals() {
        assert_eq!(merge([iv(50, 70), iv(0, 10), iv(10, 20), iv(60, 65)]), [iv(0, 20), iv(50, 70)]);
    }

    #[test]
    fn free_starts_resume_on_the_grid_after_a_clash() {
        let busy = merge([iv(0, 60), iv(100, 130)]);
        let search = FreeSearch { from: at(30), duration: mins(30), step: mins(15), until: at(300), limit: 4 };
        // 30 clashes until 60; 60 fits (60–90); 75 would end at 105 (clash) → resume at 135.
        assert_eq!(free_starts(&busy, search, |_| true), [at(60), at(135), at(150), at(165)]);
    }

    #[test]
    fn free_starts_respect_the_filter_and_the_horizon() {
        let search = FreeSearch { from: at(0), duration: mins(30), step: mins(30), until: at(120), limit: 10 };
        let only_even_hours = |slot: Interval| (slot.start.as_second() / 60 - 1_800_000_000 / 60) % 60 == 0;
        assert_eq!(free_starts(&[], search, only_even_hours), [at(0), at(60)]);
    }

    proptest! {
        #[test]
        fn free_starts_never_overlap_busy_time(
            raw in prop::collection::vec((0i64..2000, 1i64..180), 0..30),
            from in 0i64..500,
            duration in 5i64..120,
            step in prop::sample::select(vec![5i64, 10, 15, 30, 60]),
        ) {
            let busy = merge(raw.iter().map(|&(s, len)| iv(s, s + len)));
            let search = FreeSearch { from: at(from), duration: mins(duration), step: mins(step), until: at(2500), limit: 20 };
            let starts = free_starts(&busy, search, |_| true);
            for pair in starts.windows(2) {
                prop_assert!(pair[0] < pair[1]);
            }
            for start in &starts {
                let slot = Interval::starting_at(*start, mins(duration)).unwrap();
                prop_assert!(busy.iter().all(|b| !b.overlaps(&slot)), "{slot:?} overlaps busy time");
                prop_assert!(*start >= at(from) && *start < at(2500));
                prop_assert_eq!((start.as_second() - at(from).as_second()) % (step * 60), 0, "on the grid");
            }
            // Nothing free on the grid was skipped before the last hint.
            if let Some(last) = starts.last() {
                let mut t = at(from);
                while t < *last {
                    let slot = Interval::starting_at(t, mins(duration)).unwrap();
                    let free = busy.iter().all(|b| !b.overlaps(&slot));
                    prop_assert_eq!(free, starts.contains(&t), "grid point {:?}", t);
                    t += mins(step);
                }
            }
        }

        #[test]
        fn merged_intervals_are_sorted_and_disjoint(raw in prop::collection::vec((0i64..2000, 1i64..180), 0..40)) {
            let input: Vec<Interval> = raw.iter().map(|&(s, len)| iv(s, s + len)).collect();
            let merged = merge(input.clone());
            for pair in merged.windows(2) {
                prop_assert!(pair[0].end < pair[1].start);
            }
            for original in &input {
                prop_assert!(merged.iter().any(|m| m.start <= original.start && original.end <= m.end));
            }
        }
    }
}
