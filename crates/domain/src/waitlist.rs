//! Waitlists: who waits for what, in which order, and how an offer of a freed
//! seat or slot moves from sent to answered.
//!
//! The priority of an entry is derived whenever it is read ([`priority`]),
//! never stored by a job, so it is always current; every score carries its
//! breakdown in words. Matching a freed seat or slot to entries lives in
//! [`crate::waitlist_match`].

use std::cmp::Ordering;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, PersonId, SessionId};
use crate::session::Modality;
use crate::spelling::spelled_enum;

spelled_enum!(
    /// How pressing a client's need is, as staff judged it.
    Urgency { Low = "LOW", Medium = "MEDIUM", High = "HIGH", Urgent = "URGENT" }
);

impl Urgency {
    /// The share of the urgency weight this level earns.
    pub fn level(self) -> f64 {
        match self {
            Urgency::Low => 0.25,
            Urgency::Medium => 0.5,
            Urgency::High => 0.75,
            Urgency::Urgent => 1.0,
        }
    }
}

spelled_enum!(
    /// `ACTIVE → OFFERED → MATCHED`, back to `ACTIVE` when an offer is
    /// declined, withdrawn or lapses; `CANCELLED` or `EXPIRED` end it.
    EntryStatus {
        Active = "ACTIVE",
        Offered = "OFFERED",
        Matched = "MATCHED",
        Cancelled = "CANCELLED",
        Expired = "EXPIRED",
    }
);

impl EntryStatus {
    /// The statuses of an entry still waiting: one of these per client and
    /// target at most.
    pub const WAITING: &'static [EntryStatus] = &[EntryStatus::Active, EntryStatus::Offered];

    pub fn is_waiting(self) -> bool {
        Self::WAITING.contains(&self)
    }

    /// Whether an entry may move from `self` to `next`.
    pub fn can_become(self, next: EntryStatus) -> bool {
        use EntryStatus::*;
        matches!(
            (self, next),
            (Active, Offered | Cancelled | Expired) | (Offered, Active | Matched | Cancelled | Expired)
        )
    }
}

spelled_enum!(
    /// What an entry waits for.
    TargetKind {
        /// A seat in any upcoming session of a group.
        Group = "GROUP",
        /// A seat in one group session.
        GroupSession = "GROUP_SESSION",
        /// A one-on-one appointment with a given therapist or anyone.
        OneOnOne = "ONE_ON_ONE",
    }
);

/// What an entry waits for, with what that target needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Group(GroupId),
    GroupSession(SessionId),
    /// `therapist: None` takes any therapist.
    OneOnOne {
        therapist: Option<PersonId>,
        modality: Option<Modality>,
        duration_minutes: i64,
    },
}

/// One-on-one appointments last between these many minutes.
pub const MIN_DURATION_MINUTES: i64 = 15;
pub const MAX_DURATION_MINUTES: i64 = 240;

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Group(_) => TargetKind::Group,
            Target::GroupSession(_) => TargetKind::GroupSession,
            Target::OneOnOne { .. } => TargetKind::OneOnOne,
        }
    }

    /// One text per distinct target: two waiting entries of one client with
    /// the same key are duplicates.
    pub fn key(&self) -> String {
        match self {
            Target::Group(g) => format!("group:{g}"),
            Target::GroupSession(s) => format!("session:{s}"),
            Target::OneOnOne { therapist, modality, duration_minutes } => format!(
                "one_on_one:{}:{}:{duration_minutes}",
                therapist.map_or_else(|| "any".to_owned(), |t| t.to_string()),
                modality.map_or("any", |m| m.as_str())
            ),
        }
    }

    /// Checks a one-on-one duration.
    pub fn check_duration(minutes: i64) -> Result<(), String> {
        if (MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) {
            Ok(())
        } else {
            Err(format!("must be between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES} minutes"))
        }
    }
}

/// How an organisation weighs the parts of a priority score. The defaults are
/// the published formula: wait 40% (full after 30 days), urgency 30%,
/// referral 20%, minus 10% per declined offer up to 30%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityWeights {
    pub wait: f64,
    pub wait_cap_days: i64,
    pub urgency: f64,
    pub referral: f64,
    pub decline_step: f64,
    pub decline_cap: f64,
}

impl Default for PriorityWeights {
    fn default() -> Self {
        Self { wait: 0.4, wait_cap_days: 30, urgency: 0.3, referral: 0.2, decline_step: 0.1, decline_cap: 0.3 }
    }
}

impl PriorityWeights {
    /// Every weight is a share between 0 and 1; the cap is 1 to 365 days.
    pub fn check(&self) -> Result<(), Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("wait", self.wait),
            ("urgency", self.urgency),
            ("referral", self.referral),
            ("decline_step", self.decline_step),
            ("decline_cap", self.decline_cap),
        ] {
            if !(0.0..=1.0).contains(&value) {
                errors.push((field, "must be between 0 and 1".to_owned()));
            }
        }
        if !(1..=365).contains(&self.wait_cap_days) {
            errors.push(("wait_cap_days", "must be between 1 and 365".to_owned()));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// What a priority score is computed from.
#[derive(Debug, Clone)]
pub struct PriorityFacts {
    pub added_at: Timestamp,
    pub urgency: Urgency,
    pub referral: bool,
    pub decline_count: i64,
    /// An admin's reason for putting the entry first.
    pub pinned: Option<String>,
}

/// One part of a score: what it is, in words, and what it adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorePart {
    pub factor: &'static str,
    pub reason: String,
    pub points: f64,
}

/// A score between 0 and 1 and how it came about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priority {
    pub score: f64,
    pub parts: Vec<ScorePart>,
    pub pinned: Option<String>,
}

/// Scores are compared and shown to this many decimals, so float noise
/// never decides an order.
fn round(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") }
}

/// The four parts of a priority, as numbers: days waited, and the wait,
/// urgency, referral and decline points.
fn priority_points(weights: &PriorityWeights, facts: &PriorityFacts, now: Timestamp) -> (i64, [f64; 4]) {
    let waited = (now.as_second() - facts.added_at.as_second()).max(0) / 86_400;
    let wait = waited.min(weights.wait_cap_days) as f64 / weights.wait_cap_days as f64 * weights.wait;
    let urgency = facts.urgency.level() * weights.urgency;
    let referral = if facts.referral { weights.referral } else { 0.0 };
    let decline = (facts.decline_count.max(0) as f64 * weights.decline_step).min(weights.decline_cap);
    (waited, [wait, urgency, referral, decline])
}

/// The priority score of an entry at `now` without its breakdown in words:
/// the same number [`priority`] gives, for ranking many entries cheaply.
pub fn priority_score(weights: &PriorityWeights, facts: &PriorityFacts, now: Timestamp) -> f64 {
    let (_, [wait, urgency, referral, decline]) = priority_points(weights, facts, now);
    round((wait + urgency + referral - decline).clamp(0.0, 1.0))
}

/// The priority of an entry at `now`.
pub fn priority(weights: &PriorityWeights, facts: &PriorityFacts, now: Timestamp) -> Priority {
    let (waited, [wait, urgency, referral, decline]) = priority_points(weights, facts, now);
    let mut parts = vec![
        ScorePart {
            factor: "wait",
            reason: if waited >= weights.wait_cap_days {
                format!("waited {} (full after {})", plural(waited, "day"), plural(weights.wait_cap_days, "day"))
            } else {
                format!("waited {}", plural(waited, "day"))
            },
            points: round(wait),
        },
        ScorePart { factor: "urgency", reason: format!("urgency {}", facts.urgency), points: round(urgency) },
        ScorePart {
            factor: "referral",
            reason: if facts.referral { "referred".to_owned() } else { "not referred".to_owned() },
            points: round(referral),
        },
    ];
    if facts.decline_count > 0 {
        parts.push(ScorePart {
            factor: "declines",
            reason: format!("declined {}", plural(facts.decline_count, "offer")),
            points: round(-decline),
        });
    }
    Priority { score: priority_score(weights, facts, now), parts, pinned: facts.pinned.clone() }
}

impl Priority {
    /// The breakdown in words: `waited 12 days: 0.16; urgency HIGH: 0.225;
    /// not referred: 0; score 0.385`.
    pub fn explain(&self) -> String {
        let mut text: Vec<String> = Vec::with_capacity(self.parts.len() + 2);
        if let Some(reason) = &self.pinned {
            text.push(format!("pinned to the top: {reason}"));
        }
        text.extend(self.parts.iter().map(|p| format!("{}: {}", p.reason, p.points)));
        text.push(format!("score {}", self.score));
        text.join("; ")
    }
}

/// Who goes first: pinned entries, then the higher score, then whoever
/// joined the list earlier. `Ordering::Less` means `a` goes first.
pub fn rank(a: (&Priority, Timestamp), b: (&Priority, Timestamp)) -> Ordering {
    b.0.pinned
        .is_some()
        .cmp(&a.0.pinned.is_some())
        .then_with(|| b.0.score.total_cmp(&a.0.score))
        .then_with(|| a.1.cmp(&b.1))
}

spelled_enum!(
    /// An offer holds a seat or slot for one client until it is answered or
    /// lapses. Only `LIVE` ones hold anything.
    OfferStatus {
        Live = "LIVE",
        Accepted = "ACCEPTED",
        Declined = "DECLINED",
        Expired = "EXPIRED",
        Withdrawn = "WITHDRAWN",
    }
);

spelled_enum!(
    /// A freed seat or slot on its way to the waitlist: waiting for an
    /// offer, offered to someone, taken, or gone unoffered.
    OpeningStatus {
        Waiting = "WAITING",
        Offering = "OFFERING",
        Filled = "FILLED",
        Lapsed = "LAPSED",
    }
);

/// What can happen to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferEvent {
    Accept,
    Decline,
    /// Staff take it back, or another client took the seat first.
    Withdraw,
    /// Its time ran out.
    Expire,
}

impl OfferStatus {
    /// The status as the clock has it: a live offer past its expiry has
    /// expired, whether or not a job has noticed.
    pub fn at(self, expires_at: Timestamp, now: Timestamp) -> OfferStatus {
        if self == OfferStatus::Live && expires_at <= now { OfferStatus::Expired } else { self }
    }

    /// The status after `event`, or why it cannot happen (a stable code and
    /// a sentence). Only a live offer changes.
    pub fn after(self, event: OfferEvent) -> Result<OfferStatus, (&'static str, String)> {
        match self {
            OfferStatus::Live => Ok(match event {
                OfferEvent::Accept => OfferStatus::Accepted,
                OfferEvent::Decline => OfferStatus::Declined,
                OfferEvent::Withdraw => OfferStatus::Withdrawn,
                OfferEvent::Expire => OfferStatus::Expired,
            }),
            OfferStatus::Expired => Err(("offer_expired", "the offer expired".to_owned())),
            closed => Err(("offer_closed", format!("the offer is already {}", closed.as_str().to_lowercase()))),
        }
    }

    /// What the entry becomes when its offer becomes `self`.
    pub fn entry_after(self) -> EntryStatus {
        match self {
            OfferStatus::Live => EntryStatus::Offered,
            OfferStatus::Accepted => EntryStatus::Matched,
            OfferStatus::Declined | OfferStatus::Expired | OfferStatus::Withdrawn => EntryStatus::Active,
        }
    }
}

/// How freed seats and slots are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum OfferMode {
    /// One client at a time; the next when one declines or lets it lapse.
    OneAtATime,
    /// `k` clients at once; the first to accept wins and the others'
    /// offers are withdrawn.
    Parallel { k: u32 },
    /// Staff send offers from the suggestions.
    Manual,
}

/// At most this many clients are offered one seat at once.
pub const MAX_PARALLEL: u32 = 10;

impl OfferMode {
    /// How many more offers a freed seat or slot should go out to, given how
    /// many live offers it has.
    pub fn to_send(self, live: usize) -> usize {
        let wanted = match self {
            OfferMode::OneAtATime => 1,
            OfferMode::Parallel { k } => k.clamp(1, MAX_PARALLEL) as usize,
            OfferMode::Manual => 0,
        };
        wanted.saturating_sub(live)
    }

    pub fn check(self) -> Result<(), String> {
        match self {
            OfferMode::Parallel { k } if !(1..=MAX_PARALLEL).contains(&k) => {
                Err(format!("k must be between 1 and {MAX_PARALLEL}"))
            }
            _ => Ok(()),
        }
    }
}

/// An organisation's waitlist settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitlistSettings {
    pub priority: PriorityWeights,
    pub matching: crate::waitlist_match::MatchWeights,
    pub mode: OfferMode,
    /// How long an offer stays open unless the offer says otherwise.
    pub offer_expiry_minutes: i64,
    /// How long after a seat frees before it is offered, so an undone
    /// cancellation sends nothing.
    pub grace_seconds: i64,
    /// Whether clients may put themselves on waitlists.
    pub clients_may_join: bool,
}

impl Default for WaitlistSettings {
    fn default() -> Self {
        Self {
            priority: PriorityWeights::default(),
            matching: crate::waitlist_match::MatchWeights::default(),
            mode: OfferMode::OneAtATime,
            offer_expiry_minutes: 120,
            grace_seconds: 180,
            clients_may_join: true,
        }
    }
}

/// Offers stay open between these many minutes.
pub const MIN_OFFER_MINUTES: i64 = 5;
pub const MAX_OFFER_MINUTES: i64 = 7 * 24 * 60;

impl WaitlistSettings {
    /// Every problem, by field path.
    pub fn check(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors: Vec<(String, String)> = Vec::new();
        if let Err(e) = self.priority.check() {
            errors.extend(e.into_iter().map(|(f, r)| (format!("priority.{f}"), r)));
        }
        if let Err(e) = self.matching.check() {
            errors.extend(e.into_iter().map(|(f, r)| (format!("matching.{f}"), r)));
        }
        if let Err(e) = self.mode.check() {
            errors.push(("mode.k".into(), e));
        }
        if let Err(e) = check_offer_minutes(self.offer_expiry_minutes) {
            errors.push(("offer_expiry_minutes".into(), e));
        }
        if !(0..=86_400).contains(&self.grace_seconds) {
            errors.push(("grace_seconds".into(), "must be between 0 and 86400".into()));
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    pub fn offer_expiry(&self) -> SignedDuration {
        SignedDuration::from_mins(self.offer_expiry_minutes)
    }
}

pub fn check_offer_minutes(minutes: i64) -> Result<(), String> {
    if (MIN_OFFER_MINUTES..=MAX_OFFER_MINUTES).contains(&minutes) {
        Ok(())
    } else {
        Err(format!("must be between {MIN_OFFER_MINUTES} and {MAX_OFFER_MINUTES} minutes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64, now: Timestamp) -> Timestamp {
        now - SignedDuration::from_hours(24 * days_ago)
    }

    fn facts(days_ago: i64, urgency: Urgency, referral: bool, declines: i64, now: Timestamp) -> PriorityFacts {
        PriorityFacts { added_at: at(days_ago, now), urgency, referral, decline_count: declines, pinned: None }
    }

    #[test]
    fn the_default_formula_is_the_published_one() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let p = priority(&PriorityWeights::default(), &facts(12, Urgency::High, false, 0, now), now);
        assert_eq!(p.score, 0.385);
        assert_eq!(p.explain(), "waited 12 days: 0.16; urgency HIGH: 0.225; not referred: 0; score 0.385");

        let p = priority(&PriorityWeights::default(), &facts(45, Urgency::Urgent, true, 0, now), now);
        assert_eq!(p.score, 0.9);
        assert_eq!(p.parts[0].reason, "waited 45 days (full after 30 days)");

        let p = priority(&PriorityWeights::default(), &facts(3, Urgency::Low, true, 1, now), now);
        assert_eq!(p.score, 0.215);
        assert_eq!(
            p.explain(),
            "waited 3 days: 0.04; urgency LOW: 0.075; referred: 0.2; declined 1 offer: -0.1; score 0.215"
        );
    }

    #[test]
    fn the_decline_penalty_stops_at_its_cap_and_the_score_at_zero() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let p = priority(&PriorityWeights::default(), &facts(0, Urgency::Low, false, 7, now), now);
        assert_eq!(p.parts[3].points, -0.3);
        assert_eq!(p.score, 0.0);
    }

    #[test]
    fn an_organisation_can_weigh_urgency_alone() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let weights = PriorityWeights { wait: 0.0, urgency: 1.0, referral: 0.0, ..PriorityWeights::default() };
        let p = priority(&weights, &facts(29, Urgency::Medium, true, 0, now), now);
        assert_eq!(p.score, 0.5);
        assert_eq!(
            PriorityWeights { wait: 1.5, wait_cap_days: 0, ..PriorityWeights::default() }.check().unwrap_err(),
            vec![
                ("wait", "must be between 0 and 1".to_owned()),
                ("wait_cap_days", "must be between 1 and 365".to_owned())
            ]
        );
    }

    #[test]
    fn pins_go_first_then_scores_then_the_earlier_entry() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        let high = priority(&PriorityWeights::default(), &facts(10, Urgency::Urgent, true, 0, now), now);
        let low = priority(&PriorityWeights::default(), &facts(10, Urgency::Low, false, 0, now), now);
        let mut pinned = low.clone();
        pinned.pinned = Some("discharged from hospital".into());
        assert_eq!(rank((&high, at(10, now)), (&low, at(10, now))), Ordering::Less);
        assert_eq!(rank((&pinned, at(10, now)), (&high, at(10, now))), Ordering::Less);
        assert!(pinned.explain().starts_with("pinned to the top: discharged from hospital; "));
        // Same score: the earlier entry goes first.
        let earlier = at(10, now) - SignedDuration::from_mins(1);
        assert_eq!(rank((&low, earlier), (&low, at(10, now))), Ordering::Less);
    }

    #[test]
    fn an_offer_is_answered_once() {
        let now: Timestamp = "2027-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(OfferStatus::Live.at(now, now), OfferStatus::Expired);
        assert_eq!(OfferStatus::Live.at(now + SignedDuration::from_secs(1), now), OfferStatus::Live);
        assert_eq!(OfferStatus::Live.after(OfferEvent::Accept), Ok(OfferStatus::Accepted));
        assert_eq!(OfferStatus::Expired.after(OfferEvent::Accept).unwrap_err().0, "offer_expired");
        assert_eq!(
            OfferStatus::Declined.after(OfferEvent::Accept).unwrap_err(),
            ("offer_closed", "the offer is already declined".to_owned())
        );
        assert_eq!(OfferStatus::Accepted.entry_after(), EntryStatus::Matched);
        assert_eq!(OfferStatus::Declined.entry_after(), EntryStatus::Active);
        assert!(EntryStatus::Offered.can_become(EntryStatus::Matched));
        assert!(!EntryStatus::Active.can_become(EntryStatus::Matched));
        assert!(!EntryStatus::Matched.can_become(EntryStatus::Active));
    }

    #[test]
    fn modes_say_how_many_offers_a_freed_seat_gets() {
        assert_eq!(OfferMode::OneAtATime.to_send(0), 1);
        assert_eq!(OfferMode::OneAtATime.to_send(1), 0);
        assert_eq!(OfferMode::Parallel { k: 3 }.to_send(1), 2);
        assert_eq!(OfferMode::Manual.to_send(0), 0);
        assert!(OfferMode::Parallel { k: 0 }.check().is_err());
        let json = serde_json::to_value(OfferMode::Parallel { k: 3 }).unwrap();
        assert_eq!(json, serde_json::json!({ "mode": "PARALLEL", "k": 3 }));
    }

    #[test]
    fn targets_have_one_key_each() {
        let t = Target::OneOnOne { therapist: None, modality: Some(Modality::Virtual), duration_minutes: 50 };
        assert_eq!(t.key(), "one_on_one:any:VIRTUAL:50");
        assert!(Target::check_duration(10).is_err());
        assert_eq!(WaitlistSettings::default().check(), Ok(()));
    }
}
