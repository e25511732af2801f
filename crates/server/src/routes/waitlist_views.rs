//! What waitlist suggestions, offers and statistics look like over HTTP:
//! names and local times with their zone next to every id and instant.

use circles_store::model::{
    EntryMatch, FreedPlace, Labels, Mentions, Offer, Place, PlaceMatch, WaitlistCounts, WaitlistStats,
};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::waitlist::EntryView;
use crate::auth::Member;
use crate::http::error::ApiResult;
use circles_domain::Role;
use circles_domain::ids::PersonId;
use circles_domain::local_time::local_time;

/// Clients see their own waitlist records only: another client's entry or
/// offer does not exist for them (404), whatever they ask of it.
pub fn visible_to(member: &Member, client: PersonId, what: &'static str) -> ApiResult<()> {
    if member.role == Role::Client && client != member.person_id {
        return Err(circles_store::StoreError::NotFound(what).into());
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    /// 0 to 1.
    pub score: f64,
    /// One reason per component, with its points.
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceView {
    /// SEAT (on a group session), GROUP (a place in a full group: its
    /// membership; the times are those of its next session) or SLOT (a
    /// one-on-one appointment).
    pub kind: String,
    pub session_id: Option<Uuid>,
    #[schema(example = "Tuesday grief circle")]
    pub session_title: Option<String>,
    pub group_id: Option<Uuid>,
    #[schema(example = "Grief support")]
    pub group_name: Option<String>,
    pub therapist_id: Option<Uuid>,
    #[schema(example = "Dana Reyes")]
    pub therapist_name: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    pub starts_at_local: String,
    pub ends_at_local: String,
    pub timezone: String,
}

/// What a place names: its session, group or therapist.
pub fn mention_place(mentions: &mut Mentions, place: &Place) {
    match *place {
        Place::Seat(s) => mentions.session(s),
        Place::Membership(g) => mentions.group(g),
        Place::Slot { therapist, .. } => mentions.person(therapist),
    };
}

/// What an offer names: its place and the session it booked.
pub fn mention_offer(mentions: &mut Mentions, offer: &Offer) {
    mention_place(mentions, &offer.place);
    mentions.session(offer.session_id);
}

fn place_view(place: Place, starts_at: Timestamp, ends_at: Timestamp, timezone: &str, labels: &Labels) -> PlaceView {
    let (kind, session_id, group_id, therapist_id) = match place {
        Place::Seat(s) => ("SEAT", Some(s), None, None),
        Place::Membership(g) => ("GROUP", None, Some(g), None),
        Place::Slot { therapist, .. } => ("SLOT", None, None, Some(therapist)),
    };
    PlaceView {
        kind: kind.into(),
        session_id: session_id.map(|s| s.0),
        session_title: session_id.and_then(|s| labels.session(s)),
        group_id: group_id.map(|g| g.0),
        group_name: group_id.and_then(|g| labels.group(g)),
        therapist_id: therapist_id.map(|t| t.0),
        therapist_name: therapist_id.and_then(|t| labels.person(t)),
        starts_at,
        ends_at,
        starts_at_local: local_time(starts_at, timezone),
        ends_at_local: local_time(ends_at, timezone),
        timezone: timezone.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceMatchView {
    pub title: String,
    pub place: PlaceView,
    pub therapist_names: Vec<String>,
    #[serde(rename = "match")]
    pub matched: MatchView,
}

impl PlaceMatchView {
    pub fn new(m: PlaceMatch, labels: &Labels) -> Self {
        Self {
            place: place_view(m.place, m.starts_at, m.ends_at, &m.timezone, labels),
            title: m.title,
            therapist_names: m.therapist_names,
            matched: MatchView { score: m.matched.score, reasons: m.matched.reasons },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryMatchView {
    pub entry: EntryView,
    #[serde(rename = "match")]
    pub matched: MatchView,
}

impl From<EntryMatch> for EntryMatchView {
    fn from(m: EntryMatch) -> Self {
        Self {
            entry: EntryView::new(m.entry, true),
            matched: MatchView { score: m.matched.score, reasons: m.matched.reasons },
        }
    }
}

/// A freed seat or slot no offer went out for (every one in manual mode),
/// with the waiting entries that suit it best, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FreedPlaceView {
    pub title: String,
    pub place: PlaceView,
    /// Seats (or 1 for a slot) still free.
    pub free: i64,
    /// At most five.
    pub suggestions: Vec<EntryMatchView>,
}

impl FreedPlaceView {
    pub fn new(f: FreedPlace, labels: &Labels) -> Self {
        Self {
            place: place_view(f.place, f.starts_at, f.ends_at, &f.timezone, labels),
            title: f.title,
            free: f.free,
            suggestions: f.suggestions.into_iter().map(EntryMatchView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub id: Uuid,
    pub entry_id: Uuid,
    pub client_id: Uuid,
    pub client_name: String,
    pub title: String,
    pub place: PlaceView,
    /// LIVE, ACCEPTED, DECLINED, EXPIRED or WITHDRAWN (as the clock has it).
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    pub expires_at_local: String,
    /// Seconds left while live, for a countdown.
    pub seconds_left: i64,
    #[serde(rename = "match")]
    pub matched: MatchView,
    pub decline_reason: Option<String>,
    /// The session the accepted offer booked.
    pub session_id: Option<Uuid>,
    pub session_title: Option<String>,
}

impl OfferView {
    pub fn new(o: Offer, now: Timestamp, labels: &Labels) -> Self {
        Self {
            id: o.id.0,
            entry_id: o.entry_id.0,
            client_id: o.client_id.0,
            client_name: o.client_name,
            title: o.title,
            place: place_view(o.place, o.starts_at, o.ends_at, &o.timezone, labels),
            status: o.status.as_str().into(),
            expires_at_local: local_time(o.expires_at, &o.timezone),
            seconds_left: if o.status == circles_domain::waitlist::OfferStatus::Live {
                o.expires_at.duration_since(now).as_secs().max(0)
            } else {
                0
            },
            expires_at: o.expires_at,
            matched: MatchView { score: o.match_score, reasons: o.reasons },
            decline_reason: o.decline_reason,
            session_id: o.session_id.map(|s| s.0),
            session_title: o.session_id.and_then(|s| labels.session(s)),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountsView {
    pub waiting: i64,
    pub matched: i64,
    pub offers_sent: i64,
    pub offers_accepted: i64,
    pub offers_declined: i64,
    pub offers_expired: i64,
    pub offers_withdrawn: i64,
    /// Seats and slots that freed.
    pub freed: i64,
    /// Of those, refilled from the waitlist.
    pub refilled: i64,
    pub mean_seconds_to_match: Option<f64>,
    pub mean_seconds_to_refill: Option<f64>,
}

impl From<WaitlistCounts> for CountsView {
    fn from(c: WaitlistCounts) -> Self {
        Self {
            waiting: c.waiting,
            matched: c.matched,
            offers_sent: c.offers_sent,
            offers_accepted: c.offers_accepted,
            offers_declined: c.offers_declined,
            offers_expired: c.offers_expired,
            offers_withdrawn: c.offers_withdrawn,
            freed: c.freed,
            refilled: c.refilled,
            mean_seconds_to_match: c.mean_seconds_to_match,
            mean_seconds_to_refill: c.mean_seconds_to_refill,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedCountsView {
    pub id: Uuid,
    pub name: String,
    pub counts: CountsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub organisation: CountsView,
    pub groups: Vec<NamedCountsView>,
    pub therapists: Vec<NamedCountsView>,
}

impl From<WaitlistStats> for StatsView {
    fn from(s: WaitlistStats) -> Self {
        Self {
            organisation: s.organisation.into(),
            groups: s
                .groups
                .into_iter()
                .map(|(id, name, counts)| NamedCountsView { id: id.0, name, counts: counts.into() })
                .collect(),
            therapists: s
                .therapists
                .into_iter()
                .map(|(id, name, counts)| NamedCountsView { id: id.0, name, counts: counts.into() })
                .collect(),
        }
    }
}
