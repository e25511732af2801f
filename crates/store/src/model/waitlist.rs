//! Waitlist entries, freed seats and slots, and offers.

use circles_domain::ids::{GroupId, OfferId, OpeningId, PersonId, SessionId, WaitlistEntryId};
use circles_domain::waitlist::{EntryStatus, OfferStatus, Priority, Target, Urgency};
use circles_domain::waitlist_match::{MatchScore, Preferences};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// A waitlist entry's id.
pub type EntryId = WaitlistEntryId;

#[derive(Debug, Clone)]
pub struct NewEntry {
    pub client_id: PersonId,
    pub target: Target,
    pub urgency: Urgency,
    pub preferences: Preferences,
    pub referral: bool,
    /// Clinical notes: staff only.
    pub notes: Option<String>,
    pub auto_match: bool,
    /// Whether the caller is the client themself (the organisation's
    /// settings may not allow it).
    pub by_client: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pin {
    pub reason: String,
    pub by: Option<PersonId>,
    pub at: Timestamp,
}

/// An entry as read, with its priority derived at the moment of reading.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: EntryId,
    pub client_id: PersonId,
    pub client_name: String,
    pub target: Target,
    /// The name of the group or session waited for, or the therapist's.
    pub target_name: Option<String>,
    /// The name of the therapist the client prefers, if any.
    pub preferred_therapist_name: Option<String>,
    /// The title of the session the entry was matched into.
    pub matched_session_title: Option<String>,
    pub urgency: Urgency,
    pub preferences: Preferences,
    pub referral: bool,
    pub notes: Option<String>,
    pub auto_match: bool,
    pub status: EntryStatus,
    pub added_at: Timestamp,
    pub decline_count: i64,
    pub offer_count: i64,
    pub matched_session_id: Option<SessionId>,
    pub matched_at: Option<Timestamp>,
    pub pin: Option<Pin>,
    pub priority: Priority,
    pub timezone: String,
}

/// What staff or the client may change on an entry; `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct EntryUpdate {
    pub urgency: Option<Urgency>,
    pub preferences: Option<Preferences>,
    pub referral: Option<bool>,
    pub notes: Option<Option<String>>,
    pub auto_match: Option<bool>,
    /// `Some(Some(reason))` pins, `Some(None)` unpins.
    pub pin: Option<Option<String>>,
}

/// Where an entry stands in serving order: pinned or not, its score (to six
/// decimals, as scores are compared), when it joined the list, and its id.
/// A page of the list starts after one of these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServingKey {
    pub pinned: bool,
    pub score: f64,
    pub added_at: Timestamp,
    pub id: EntryId,
}

impl ServingKey {
    pub fn of(entry: &Entry) -> Self {
        Self {
            pinned: entry.priority.pinned.is_some(),
            score: entry.priority.score,
            added_at: entry.added_at,
            id: entry.id,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub client: Option<PersonId>,
    pub status: Option<EntryStatus>,
    pub group: Option<GroupId>,
}

/// A seat or slot to offer: a seat on a group session, a place in a full
/// group (its membership), or a therapist's slot (a one-on-one appointment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Seat(SessionId),
    Membership(GroupId),
    Slot { therapist: PersonId, starts_at: Timestamp, ends_at: Timestamp },
}

/// An entry that fits a place, with its match.
#[derive(Debug, Clone)]
pub struct EntryMatch {
    pub entry: Entry,
    pub matched: MatchScore,
}

/// A place that fits an entry, with its match.
#[derive(Debug, Clone)]
pub struct PlaceMatch {
    pub place: Place,
    pub title: String,
    pub therapist_ids: Vec<PersonId>,
    pub therapist_names: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub matched: MatchScore,
}

/// A freed seat or slot waiting for staff to offer it, with the entries
/// that suit it best.
#[derive(Debug, Clone)]
pub struct FreedPlace {
    pub place: Place,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    /// Seats (or 1 for a slot) still free.
    pub free: i64,
    pub suggestions: Vec<EntryMatch>,
}

#[derive(Debug, Clone)]
pub struct NewOffer {
    pub entry_id: EntryId,
    pub place: Place,
    /// How long the offer stays open; the organisation's default otherwise.
    pub expires_in: Option<SignedDuration>,
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub id: OfferId,
    pub entry_id: EntryId,
    pub opening_id: OpeningId,
    pub client_id: PersonId,
    pub client_name: String,
    pub place: Place,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    /// As the clock has it: a live offer past its expiry has expired.
    pub status: OfferStatus,
    pub expires_at: Timestamp,
    pub match_score: f64,
    pub reasons: Vec<String>,
    pub decline_reason: Option<String>,
    /// The session the accepted offer booked (or whose seat it took).
    pub session_id: Option<SessionId>,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

/// What a client answers through an offer link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAnswer {
    Accept,
    Decline { reason: Option<String> },
}

#[derive(Debug, Clone, Default)]
pub struct OfferFilter {
    pub status: Option<OfferStatus>,
    pub client: Option<PersonId>,
}

/// How accepting an offer may also give up a later booking ("move me
/// earlier"): the client's seat on, or one-on-one, `release`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Acceptance {
    pub release: Option<SessionId>,
}

/// What one worker pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    pub offers_sent: u64,
    pub offers_expired: u64,
    pub openings_found: u64,
    pub openings_lapsed: u64,
}

/// Counts for one group or therapist, or the whole organisation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WaitlistCounts {
    pub waiting: i64,
    pub matched: i64,
    pub offers_sent: i64,
    pub offers_accepted: i64,
    pub offers_declined: i64,
    pub offers_expired: i64,
    pub offers_withdrawn: i64,
    pub freed: i64,
    pub refilled: i64,
    /// Mean seconds from an entry's creation to its match.
    pub mean_seconds_to_match: Option<f64>,
    /// Mean seconds from a seat or slot freeing to its refill.
    pub mean_seconds_to_refill: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct WaitlistStats {
    pub organisation: WaitlistCounts,
    pub groups: Vec<(GroupId, String, WaitlistCounts)>,
    pub therapists: Vec<(PersonId, String, WaitlistCounts)>,
}
