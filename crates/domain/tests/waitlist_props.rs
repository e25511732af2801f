//! Properties of waitlist priority and matching over random entries.

use circles_domain::ids::PersonId;
use circles_domain::waitlist::{PriorityFacts, PriorityWeights, Urgency, priority, rank};
use circles_domain::waitlist_match::{
    Candidate, MatchWeights, Opening, Preferences, Waiting, best_for, fitting_in_order, score,
};
use jiff::civil::{DateTime, Weekday};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

const URGENCIES: [Urgency; 4] = [Urgency::Low, Urgency::Medium, Urgency::High, Urgency::Urgent];
const DAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

fn now() -> Timestamp {
    "2027-03-01T12:00:00Z".parse().unwrap()
}

#[derive(Debug, Clone)]
struct Entry {
    minutes_ago: i64,
    urgency: usize,
    referral: bool,
    declines: i64,
    pinned: bool,
    preferred_therapist: Option<usize>,
    days: Vec<usize>,
    available: bool,
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        0i64..60 * 24 * 60,
        0usize..4,
        any::<bool>(),
        0i64..5,
        prop::bool::weighted(0.1),
        prop::option::of(0usize..3),
        prop::collection::vec(0usize..7, 0..3),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(minutes_ago, urgency, referral, declines, pinned, preferred_therapist, days, available)| {
            Entry { minutes_ago, urgency, referral, declines, pinned, preferred_therapist, days, available }
        })
}

proptest! {
    /// The chosen candidate is available, fits, and no other available
    /// candidate would go before it.
    #[test]
    fn the_offer_goes_to_the_best_eligible_entry(entries in prop::collection::vec(entry(), 1..40), hours_ahead in 1i64..24 * 40) {
        let therapists = [PersonId::new(), PersonId::new(), PersonId::new()];
        let starts_at = now() + SignedDuration::from_hours(hours_ahead);
        let local_start: DateTime = starts_at.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        let opening = Opening {
            starts_at,
            local_start,
            local_end: local_start + SignedDuration::from_mins(60),
            therapists: vec![therapists[0]],
        };
        let candidates: Vec<Candidate<usize>> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let facts = PriorityFacts {
                    added_at: now() - SignedDuration::from_mins(e.minutes_ago),
                    urgency: URGENCIES[e.urgency],
                    referral: e.referral,
                    decline_count: e.declines,
                    pinned: e.pinned.then(|| "staff decision".to_owned()),
                };
                Candidate {
                    key: i,
                    added_at: facts.added_at,
                    priority: priority(&PriorityWeights::default(), &facts, now()),
                    prefs: Preferences {
                        therapist: e.preferred_therapist.map(|t| therapists[t]),
                        weekdays: e.days.iter().map(|d| DAYS[*d]).collect(),
                        ..Preferences::default()
                    },
                    available: e.available,
                }
            })
            .collect();
        let weights = MatchWeights::default();
        let ranked = best_for(&weights, &opening, &candidates, now(), candidates.len());
        prop_assert_eq!(ranked.len(), candidates.iter().filter(|c| c.available).count());
        if let Some(first) = ranked.first() {
            let chosen = &candidates[first.key];
            prop_assert!(chosen.available);
            for other in candidates.iter().filter(|c| c.available && c.key != first.key) {
                let m = score(&weights, &other.prefs, &other.priority, &opening, now());
                let beats = (other.priority.pinned.is_some() && chosen.priority.pinned.is_none())
                    || (other.priority.pinned.is_some() == chosen.priority.pinned.is_some()
                        && (m.score > first.matched.score
                            || (m.score == first.matched.score
                                && rank((&other.priority, other.added_at), (&chosen.priority, chosen.added_at)).is_lt())));
                prop_assert!(!beats, "entry {} would go before the chosen {}", other.key, first.key);
            }
        }
        for r in &ranked {
            prop_assert!((0.0..=1.0).contains(&r.matched.score));
            prop_assert_eq!(r.matched.reasons.len(), 5);
        }
        // The fast ranking the store uses for long waitlists gives the same
        // entries in the same order, with the same scores.
        let facts: Vec<PriorityFacts> = entries.iter().map(|e| PriorityFacts {
            added_at: now() - SignedDuration::from_mins(e.minutes_ago),
            urgency: URGENCIES[e.urgency],
            referral: e.referral,
            decline_count: e.declines,
            pinned: e.pinned.then(|| "staff decision".to_owned()),
        }).collect();
        let waiting: Vec<Waiting<'_, usize>> = candidates
            .iter()
            .filter(|c| c.available)
            .map(|c| Waiting { key: c.key, facts: &facts[c.key], prefs: &c.prefs })
            .collect();
        let fast = fitting_in_order(&weights, &PriorityWeights::default(), &opening, &waiting, now());
        let fast: Vec<(usize, f64)> = fast.iter().map(|f| (f.key, f.score)).collect();
        let slow: Vec<(usize, f64)> = ranked.iter().map(|r| (r.key, r.matched.score)).collect();
        prop_assert_eq!(fast, slow);
    }

    /// Waiting longer never lowers a score; declining never raises it.
    #[test]
    fn waiting_helps_and_declining_costs(days in 0i64..90, more in 0i64..90, urgency in 0usize..4, referral: bool, declines in 0i64..6) {
        let facts = |days: i64, declines: i64| PriorityFacts {
            added_at: now() - SignedDuration::from_hours(24 * days),
            urgency: URGENCIES[urgency],
            referral,
            decline_count: declines,
            pinned: None,
        };
        let w = PriorityWeights::default();
        let base = priority(&w, &facts(days, declines), now());
        prop_assert!(priority(&w, &facts(days + more, declines), now()).score >= base.score);
        prop_assert!(priority(&w, &facts(days, declines + 1), now()).score <= base.score);
        prop_assert!((0.0..=1.0).contains(&base.score));
        let sum: f64 = base.parts.iter().map(|p| p.points).sum();
        prop_assert!((sum.clamp(0.0, 1.0) - base.score).abs() < 1e-5, "the breakdown adds up to the score");
    }
}
