//! How much one free-slot search may cost, and how its answer is paged.
//!
//! A search's work grows with therapists × days (the rows read, the windows
//! placed) and its answer with the start times found. Both are bounded here,
//! once: a request covers at most [`MAX_THERAPIST_DAYS`], and one response
//! carries at most [`MAX_ENTRIES_PER_PAGE`] start times (or free intervals).
//! What does not fit is paged by therapist: a page ends before the therapist
//! whose entries would overflow it, and the next page starts with them.

use jiff::{SignedDuration, Timestamp};

use crate::interval::Interval;

/// A search names at most this many therapists.
pub const MAX_THERAPISTS: usize = 500;
/// A search spans at most this many days.
pub const MAX_DAYS: i64 = 62;
/// Therapists × days one request may cover: 500 therapists over 42 days.
pub const MAX_THERAPIST_DAYS: i64 = 21_000;
/// Entries (start times, or free intervals) one response may carry.
pub const MAX_ENTRIES_PER_PAGE: usize = 250_000;

/// Whole days that `[from, to)` touches, counting a part day as one.
pub fn days_spanned(from: Timestamp, to: Timestamp) -> i64 {
    let seconds = to.duration_since(from).as_secs().max(0);
    (seconds + 86_399) / 86_400
}

/// How many therapists one page may cover over `days`.
pub fn therapists_per_page(days: i64) -> usize {
    let by_days = usize::try_from(MAX_THERAPIST_DAYS / days.max(1)).unwrap_or(usize::MAX);
    by_days.clamp(1, MAX_THERAPISTS)
}

/// Why `therapists` named therapists over `days` are too many for one
/// request, if they are: what a client reads to narrow the search.
pub fn too_many_therapist_days(therapists: usize, days: i64) -> Option<String> {
    let asked = i64::try_from(therapists).unwrap_or(i64::MAX).saturating_mul(days);
    if asked <= MAX_THERAPIST_DAYS {
        return None;
    }
    Some(format!(
        "{therapists} therapists over {days} days are {asked} therapist-days; a search covers at most \
         {MAX_THERAPIST_DAYS}: list at most {} therapists for {days} days, narrow from/to to at most {} days \
         for {therapists}, or leave therapist_ids out and follow next_cursor through every therapist",
        therapists_per_page(days),
        (MAX_THERAPIST_DAYS / i64::try_from(therapists).unwrap_or(i64::MAX).max(1)).max(1),
    ))
}

/// Counts a page's entries, therapist by therapist.
#[derive(Debug, Clone)]
pub struct PageBudget {
    left: usize,
    therapists: usize,
}

impl Default for PageBudget {
    fn default() -> Self {
        PageBudget::new(MAX_ENTRIES_PER_PAGE)
    }
}

impl PageBudget {
    pub fn new(entries: usize) -> PageBudget {
        PageBudget { left: entries, therapists: 0 }
    }

    /// Whether a therapist with `entries` still fits on the page (and
    /// counts them if so). The first therapist of a page always fits, so
    /// every page makes progress.
    pub fn admit(&mut self, entries: usize) -> bool {
        if self.therapists > 0 && entries > self.left {
            return false;
        }
        self.left = self.left.saturating_sub(entries);
        self.therapists += 1;
        true
    }
}

/// Free start times on a grid of `step` folded into the stretches they
/// cover: starts `step` apart join one interval, from the first start to
/// the end of the last start's session. Every start of the grid in
/// `[interval.start, interval.end − duration]` is free, and no other is.
pub fn free_intervals(starts: &[Timestamp], step: SignedDuration, duration: SignedDuration) -> Vec<Interval> {
    let mut runs: Vec<(Timestamp, Timestamp)> = Vec::new();
    for &start in starts {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(step).ok() == Some(start) => *last = start,
            _ => runs.push((start, start)),
        }
    }
    runs.into_iter()
        .filter_map(|(first, last)| Interval::starting_at(first, last.duration_since(first) + duration))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn mins(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    #[test]
    fn the_benchmarked_search_fits_in_one_request() {
        assert_eq!(too_many_therapist_days(MAX_THERAPISTS, 42), None);
        assert_eq!(therapists_per_page(42), MAX_THERAPISTS);
        assert_eq!(therapists_per_page(MAX_DAYS), 338);
        assert_eq!(therapists_per_page(1), MAX_THERAPISTS);
    }

    #[test]
    fn too_many_therapist_days_says_how_to_narrow() {
        let why = too_many_therapist_days(500, 62).unwrap();
        assert!(why.contains("31000 therapist-days"), "{why}");
        assert!(why.contains("at most 21000"), "{why}");
        assert!(why.contains("at most 338 therapists for 62 days"), "{why}");
        assert!(why.contains("at most 42 days for 500"), "{why}");
        assert!(why.contains("next_cursor"), "{why}");
    }

    #[test]
    fn days_count_part_days_as_whole() {
        assert_eq!(days_spanned(at("2027-03-01T00:00:00Z"), at("2027-03-01T00:00:01Z")), 1);
        assert_eq!(days_spanned(at("2027-03-01T00:00:00Z"), at("2027-04-12T00:00:00Z")), 42);
        assert_eq!(days_spanned(at("2027-03-01T00:00:00Z"), at("2027-04-12T00:00:01Z")), 43);
    }

    #[test]
    fn a_page_ends_before_the_therapist_who_would_overflow_it() {
        let mut page = PageBudget::new(10);
        assert!(page.admit(4));
        assert!(page.admit(6));
        assert!(!page.admit(1), "the page is full");
        let mut fresh = PageBudget::new(10);
        assert!(fresh.admit(25), "a page always takes its first therapist");
        assert!(fresh.admit(0), "a therapist with nothing free never overflows a page");
        assert!(!fresh.admit(1));
    }

    #[test]
    fn consecutive_starts_fold_into_intervals() {
        let starts = ["09:00", "09:15", "09:30", "11:00", "13:00", "13:15"].map(|t| at(&format!("2027-03-01T{t}:00Z")));
        let intervals = free_intervals(&starts, mins(15), mins(50));
        let text: Vec<String> =
            intervals.iter().map(|i| format!("{}–{}", i.start.strftime("%H:%M"), i.end.strftime("%H:%M"))).collect();
        assert_eq!(text, ["09:00–10:20", "11:00–11:50", "13:00–14:05"]);
        assert!(free_intervals(&[], mins(15), mins(50)).is_empty());
    }
}
