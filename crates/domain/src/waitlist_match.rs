//! Matching freed seats and slots to waiting entries: what fits at all, how
//! well it fits (a score with its reasons), and who is offered first.

use std::cmp::Ordering;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::civil::{parse_date, parse_time, parse_weekday, weekday_name};
use crate::ids::PersonId;
use crate::waitlist::{Priority, PriorityFacts, PriorityWeights, priority_score, rank};

/// How an organisation weighs a match. The defaults are the published
/// components: provider 30%, day 20%, time 20%, sooner 15%, priority 15%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchWeights {
    pub provider: f64,
    pub day: f64,
    pub time: f64,
    pub sooner: f64,
    pub priority: f64,
    /// Openings further away than this earn no "sooner" points.
    pub horizon_days: i64,
}

impl Default for MatchWeights {
    fn default() -> Self {
        Self { provider: 0.3, day: 0.2, time: 0.2, sooner: 0.15, priority: 0.15, horizon_days: 30 }
    }
}

impl MatchWeights {
    pub fn check(&self) -> Result<(), Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("provider", self.provider),
            ("day", self.day),
            ("time", self.time),
            ("sooner", self.sooner),
            ("priority", self.priority),
        ] {
            if !(0.0..=1.0).contains(&value) {
                errors.push((field, "must be between 0 and 1".to_owned()));
            }
        }
        if !(1..=365).contains(&self.horizon_days) {
            errors.push(("horizon_days", "must be between 1 and 365".to_owned()));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// A local time window, `start` inclusive and `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: Time,
    pub end: Time,
}

/// What a client would like; `earliest`/`latest` are hard limits, the rest
/// earn points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preferences {
    pub therapist: Option<PersonId>,
    pub weekdays: Vec<Weekday>,
    pub windows: Vec<TimeWindow>,
    pub earliest: Option<Date>,
    pub latest: Option<Date>,
}

/// Preferences as they are stored and shown: the API's civil spelling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpelledPreferences {
    pub weekdays: Vec<String>,
    pub windows: Vec<SpelledWindow>,
    pub earliest: Option<String>,
    pub latest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpelledWindow {
    pub start: String,
    pub end: String,
}

impl Preferences {
    /// The wall-clock parts in their one spelling (the therapist is kept
    /// apart, as a reference).
    pub fn spelled(&self) -> SpelledPreferences {
        SpelledPreferences {
            weekdays: self.weekdays.iter().map(|d| weekday_name(*d).to_owned()).collect(),
            windows: self
                .windows
                .iter()
                .map(|w| SpelledWindow {
                    start: w.start.strftime("%H:%M").to_string(),
                    end: w.end.strftime("%H:%M").to_string(),
                })
                .collect(),
            earliest: self.earliest.map(|d| d.to_string()),
            latest: self.latest.map(|d| d.to_string()),
        }
    }

    /// Reads spelled preferences, naming every bad field (`weekdays[1]`,
    /// `windows[0].end`, …).
    pub fn parse(therapist: Option<PersonId>, spelled: &SpelledPreferences) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut weekdays = Vec::new();
        for (i, day) in spelled.weekdays.iter().enumerate() {
            match parse_weekday(day) {
                Ok(d) if !weekdays.contains(&d) => weekdays.push(d),
                Ok(_) => errors.push((format!("weekdays[{i}]"), "is named twice".to_owned())),
                Err(e) => errors.push((format!("weekdays[{i}]"), e)),
            }
        }
        let mut windows = Vec::new();
        for (i, w) in spelled.windows.iter().enumerate() {
            let start = parse_time(&w.start).map_err(|e| errors.push((format!("windows[{i}].start"), e))).ok();
            let end = parse_time(&w.end).map_err(|e| errors.push((format!("windows[{i}].end"), e))).ok();
            if let (Some(start), Some(end)) = (start, end) {
                if end <= start {
                    errors.push((format!("windows[{i}].end"), "must be after start".to_owned()));
                } else {
                    windows.push(TimeWindow { start, end });
                }
            }
        }
        let mut date = |field: &str, raw: &Option<String>| {
            raw.as_deref().and_then(|r| parse_date(r).map_err(|e| errors.push((field.to_owned(), e))).ok())
        };
        let earliest = date("earliest_date", &spelled.earliest);
        let latest = date("latest_date", &spelled.latest);
        if let (Some(e), Some(l)) = (earliest, latest)
            && l < e
        {
            errors.push(("latest_date".to_owned(), "must not be before earliest_date".to_owned()));
        }
        if errors.is_empty() { Ok(Preferences { therapist, weekdays, windows, earliest, latest }) } else { Err(errors) }
    }
}

/// A freed seat or slot as matching sees it: its instants, its local
/// wall-clock start and end in the zone it is held in, and who runs it.
#[derive(Debug, Clone)]
pub struct Opening {
    pub starts_at: Timestamp,
    pub local_start: DateTime,
    pub local_end: DateTime,
    pub therapists: Vec<PersonId>,
}

/// How well an opening fits an entry, between 0 and 1, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchScore {
    pub score: f64,
    pub reasons: Vec<String>,
}

/// Why an opening does not fit an entry at all.
pub fn misfit(prefs: &Preferences, opening: &Opening, now: Timestamp) -> Option<String> {
    let date = opening.local_start.date();
    if opening.starts_at <= now {
        return Some("it has already started".into());
    }
    if let Some(earliest) = prefs.earliest
        && date < earliest
    {
        return Some(format!("it is before {earliest}, the earliest date wanted"));
    }
    if let Some(latest) = prefs.latest
        && date > latest
    {
        return Some(format!("it is after {latest}, the latest date wanted"));
    }
    None
}

fn round(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// How an opening meets each preference: `None` where the entry has no
/// preference, else whether it is met; and how near the opening is (1 now,
/// 0 at the horizon or later).
struct Verdicts {
    provider: Option<bool>,
    day: Option<bool>,
    time: Option<bool>,
    nearness: f64,
}

fn verdicts(weights: &MatchWeights, prefs: &Preferences, opening: &Opening, now: Timestamp) -> Verdicts {
    let day = opening.local_start.weekday();
    let (start, end) = (opening.local_start.time(), opening.local_end.time());
    let same_day = opening.local_end.date() == opening.local_start.date();
    let lead = opening.starts_at.duration_since(now).max(SignedDuration::ZERO);
    let horizon = SignedDuration::from_hours(24 * weights.horizon_days);
    Verdicts {
        provider: prefs.therapist.map(|t| opening.therapists.contains(&t)),
        day: (!prefs.weekdays.is_empty()).then(|| prefs.weekdays.contains(&day)),
        time: (!prefs.windows.is_empty())
            .then(|| prefs.windows.iter().any(|w| w.start <= start && same_day && end <= w.end)),
        nearness: 1.0 - (lead.as_secs_f64() / horizon.as_secs_f64()).min(1.0),
    }
}

impl Verdicts {
    /// The points of each component, in the order they are added and shown.
    fn points(&self, weights: &MatchWeights, priority: f64) -> [f64; 5] {
        let earned = |verdict: Option<bool>, weight: f64| if verdict == Some(false) { 0.0 } else { weight };
        [
            earned(self.provider, weights.provider),
            earned(self.day, weights.day),
            earned(self.time, weights.time),
            weights.sooner * self.nearness,
            weights.priority * priority,
        ]
    }
}

fn total(points: &[f64; 5]) -> f64 {
    round(points.iter().fold(0.0, |sum, p| sum + p).clamp(0.0, 1.0))
}

/// The match score of `opening` for an entry whose priority score is
/// `priority`, without the reasons: the number [`score`] gives, for ranking
/// many entries cheaply.
pub fn score_value(
    weights: &MatchWeights,
    prefs: &Preferences,
    priority: f64,
    opening: &Opening,
    now: Timestamp,
) -> f64 {
    total(&verdicts(weights, prefs, opening, now).points(weights, priority))
}

/// The match score of `opening` for an entry with `prefs` and `priority`.
pub fn score(
    weights: &MatchWeights,
    prefs: &Preferences,
    priority: &Priority,
    opening: &Opening,
    now: Timestamp,
) -> MatchScore {
    let v = verdicts(weights, prefs, opening, now);
    let points = v.points(weights, priority.score);
    let day = weekday_name(opening.local_start.weekday());
    let time = opening.local_start.time().strftime("%H:%M");
    let days = opening.starts_at.duration_since(now).max(SignedDuration::ZERO).as_secs() / 86_400;
    let words = [
        match v.provider {
            None => "any therapist will do".to_owned(),
            Some(true) => "with the preferred therapist".to_owned(),
            Some(false) => "not the preferred therapist".to_owned(),
        },
        match v.day {
            None => "any day will do".to_owned(),
            Some(true) => format!("on a preferred day ({day})"),
            Some(false) => format!("not on a preferred day ({day})"),
        },
        match v.time {
            None => "any time will do".to_owned(),
            Some(true) => format!("at a preferred time ({time})"),
            Some(false) => format!("not at a preferred time ({time})"),
        },
        format!("in {} day{}", days, if days == 1 { "" } else { "s" }),
        format!("priority {}", priority.score),
    ];
    let reasons = words.iter().zip(points).map(|(w, p)| format!("{w}: {}", round(p))).collect();
    MatchScore { score: total(&points), reasons }
}

/// One waiting entry as the offer chooser sees it.
#[derive(Debug, Clone)]
pub struct Candidate<K> {
    pub key: K,
    pub added_at: Timestamp,
    pub priority: Priority,
    pub prefs: Preferences,
    /// Whether the client can take it: their own calendar is free, and
    /// screening is done where the group asks for it.
    pub available: bool,
}

/// A candidate that fits, with its match.
#[derive(Debug, Clone)]
pub struct Ranked<K> {
    pub key: K,
    pub matched: MatchScore,
}

/// Everyone who can take `opening`, best first: by match score, then by the
/// priority order (pins, score, earlier entry). The first `limit`.
pub fn best_for<K: Clone>(
    weights: &MatchWeights,
    opening: &Opening,
    candidates: &[Candidate<K>],
    now: Timestamp,
    limit: usize,
) -> Vec<Ranked<K>> {
    let mut fitting: Vec<(&Candidate<K>, MatchScore)> = candidates
        .iter()
        .filter(|c| c.available && misfit(&c.prefs, opening, now).is_none())
        .map(|c| (c, score(weights, &c.prefs, &c.priority, opening, now)))
        .collect();
    fitting.sort_by(|(a, ma), (b, mb)| order(a, ma, b, mb));
    fitting.into_iter().take(limit).map(|(c, matched)| Ranked { key: c.key.clone(), matched }).collect()
}

/// A pinned entry goes first whatever the match; then the better match; then
/// the priority order.
fn order<K>(a: &Candidate<K>, ma: &MatchScore, b: &Candidate<K>, mb: &MatchScore) -> Ordering {
    b.priority
        .pinned
        .is_some()
        .cmp(&a.priority.pinned.is_some())
        .then_with(|| mb.score.total_cmp(&ma.score))
        .then_with(|| rank((&a.priority, a.added_at), (&b.priority, b.added_at)))
}

/// One waiting entry, borrowed, as the fast ranking reads it.
#[derive(Debug, Clone)]
pub struct Waiting<'a, K> {
    pub key: K,
    pub facts: &'a PriorityFacts,
    pub prefs: &'a Preferences,
}

/// An entry that fits an opening, with its match score as a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<K> {
    pub key: K,
    pub score: f64,
}

/// Every entry that fits `opening`, in the order [`best_for`] gives, with
/// scores computed as numbers only: priorities and reasons in words are
/// left for the few that are offered ([`score`] gives them the same
/// number). This is what keeps a freed seat with thousands of waiting
/// entries cheap to rank.
pub fn fitting_in_order<K: Clone>(
    weights: &MatchWeights,
    priority_weights: &PriorityWeights,
    opening: &Opening,
    waiting: &[Waiting<'_, K>],
    now: Timestamp,
) -> Vec<Fit<K>> {
    struct Keyed<'w, 'a, K> {
        entry: &'w Waiting<'a, K>,
        pinned: bool,
        priority: f64,
        score: f64,
    }
    let mut fitting: Vec<Keyed<'_, '_, K>> = waiting
        .iter()
        .filter(|w| misfit(w.prefs, opening, now).is_none())
        .map(|w| {
            let priority = priority_score(priority_weights, w.facts, now);
            Keyed {
                entry: w,
                pinned: w.facts.pinned.is_some(),
                priority,
                score: score_value(weights, w.prefs, priority, opening, now),
            }
        })
        .collect();
    // The order of [`order`] and [`rank`], spelled over the numbers.
    fitting.sort_by(|a, b| {
        b.pinned
            .cmp(&a.pinned)
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| b.priority.total_cmp(&a.priority))
            .then_with(|| a.entry.facts.added_at.cmp(&b.entry.facts.added_at))
    });
    fitting.into_iter().map(|k| Fit { key: k.entry.key.clone(), score: k.score }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::waitlist::{PriorityFacts, PriorityWeights, Urgency, priority};

    fn opening(local: &str, now: Timestamp, therapist: PersonId) -> Opening {
        let local_start: DateTime = local.parse().unwrap();
        let starts_at = local_start.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
        let _ = now;
        Opening {
            starts_at,
            local_start,
            local_end: local_start + SignedDuration::from_mins(50),
            therapists: vec![therapist],
        }
    }

    fn prio(score_days: i64, urgency: Urgency, now: Timestamp) -> Priority {
        let facts = PriorityFacts {
            added_at: now - SignedDuration::from_hours(24 * score_days),
            urgency,
            referral: false,
            decline_count: 0,
            pinned: None,
        };
        priority(&PriorityWeights::default(), &facts, now)
    }

    #[test]
    fn a_perfect_fit_earns_every_component_with_reasons() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let t = PersonId::new();
        let o = opening("2027-03-01T15:00", now, t);
        let prefs = Preferences {
            therapist: Some(t),
            weekdays: vec![Weekday::Monday],
            windows: vec![TimeWindow { start: "14:00".parse().unwrap(), end: "17:00".parse().unwrap() }],
            ..Preferences::default()
        };
        let p = prio(30, Urgency::Urgent, now);
        assert_eq!(p.score, 0.7);
        let m = score(&MatchWeights::default(), &prefs, &p, &o, now);
        assert_eq!(m.score, 0.954375);
        assert_eq!(
            m.reasons,
            vec![
                "with the preferred therapist: 0.3",
                "on a preferred day (monday): 0.2",
                "at a preferred time (15:00): 0.2",
                "in 0 days: 0.149375",
                "priority 0.7: 0.105",
            ]
        );
        let elsewhere = Preferences { therapist: Some(PersonId::new()), weekdays: vec![Weekday::Friday], ..prefs };
        let m = score(&MatchWeights::default(), &elsewhere, &p, &o, now);
        assert_eq!(m.reasons[0], "not the preferred therapist: 0");
        assert_eq!(m.reasons[1], "not on a preferred day (monday): 0");
    }

    #[test]
    fn preferences_read_back_as_written_and_bad_fields_are_named() {
        let spelled = SpelledPreferences {
            weekdays: vec!["monday".into(), "thursday".into()],
            windows: vec![SpelledWindow { start: "09:00".into(), end: "12:30".into() }],
            earliest: Some("2027-03-01".into()),
            latest: None,
        };
        assert_eq!(Preferences::parse(None, &spelled).unwrap().spelled(), spelled);
        let bad = SpelledPreferences {
            weekdays: vec!["mon".into()],
            windows: vec![SpelledWindow { start: "12:00".into(), end: "09:00".into() }],
            earliest: Some("2027-03-05".into()),
            latest: Some("2027-03-01".into()),
        };
        let fields: Vec<String> = Preferences::parse(None, &bad).unwrap_err().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["weekdays[0]", "windows[0].end", "latest_date"]);
    }

    #[test]
    fn dates_outside_the_wanted_range_do_not_fit() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let o = opening("2027-03-10T09:00", now, PersonId::new());
        let prefs = Preferences { latest: Some("2027-03-09".parse().unwrap()), ..Preferences::default() };
        assert_eq!(misfit(&prefs, &o, now).unwrap(), "it is after 2027-03-09, the latest date wanted");
        let prefs = Preferences { earliest: Some("2027-03-11".parse().unwrap()), ..Preferences::default() };
        assert!(misfit(&prefs, &o, now).is_some());
        assert_eq!(misfit(&Preferences::default(), &o, now), None);
    }

    #[test]
    fn the_best_available_candidate_comes_first_and_ties_go_to_the_earlier_entry() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let o = opening("2027-03-03T10:00", now, PersonId::new());
        let candidate = |key: u32, days: i64, urgency, available| Candidate {
            key,
            added_at: now - SignedDuration::from_hours(24 * days) + SignedDuration::from_secs(i64::from(key)),
            priority: prio(days, urgency, now),
            prefs: Preferences::default(),
            available,
        };
        let cands = vec![
            candidate(1, 5, Urgency::Low, true),
            candidate(2, 5, Urgency::Urgent, false),
            candidate(3, 5, Urgency::High, true),
            candidate(4, 5, Urgency::High, true),
        ];
        let best: Vec<u32> = best_for(&MatchWeights::default(), &o, &cands, now, 5).iter().map(|r| r.key).collect();
        assert_eq!(best, vec![3, 4, 1]);
    }
}
