//! A person's calendar subscription feed as iCalendar text, and the limit on
//! how often one feed link may be fetched.
//!
//! Each session is one VEVENT whose UID is the one its invitation e-mails
//! carry, in the session's own zone with a VTIMEZONE from the zone's real
//! rules. DTSTAMP is when the session last changed, so the text is the same
//! until something in it changes and its hash is a strong ETag.

use std::num::NonZeroU32;
use std::time::Duration;

use circles_domain::feed::{FEED_REFRESH, FeedPrivacy, feed_summary};
use circles_domain::ical::{Calendar, Event, EventStatus};
use circles_domain::session::{Modality, SessionKind, SessionStatus};
use circles_store::model::{FeedContents, FeedSession};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

/// The feed as a VCALENDAR document. `uid_domain` qualifies UIDs as the
/// e-mails do, so a calendar that has both sees one session.
pub fn feed_calendar(contents: &FeedContents, uid_domain: &str) -> String {
    let privacy = contents.feed.privacy;
    let events = contents.sessions.iter().map(|s| event(s, privacy, uid_domain)).collect();
    Calendar { method: None, name: Some("Circles sessions".into()), refresh: Some(FEED_REFRESH), events }.to_ics()
}

fn event(session: &FeedSession, privacy: FeedPrivacy, uid_domain: &str) -> Event {
    let in_a_group = session.group_id.is_some() || session.kind == SessionKind::Group;
    let full = privacy == FeedPrivacy::Full;
    let place = match session.modality {
        Modality::Virtual => session.virtual_link.clone(),
        Modality::InPerson => match (&session.location, &session.address) {
            (Some(room), Some(address)) => Some(format!("{room}, {address}")),
            (room, address) => room.clone().or_else(|| address.clone()),
        },
    };
    Event {
        uid: format!("{}@{uid_domain}", session.id),
        sequence: 0,
        stamp: session.updated_at,
        start: session.starts_at,
        end: session.ends_at,
        zone: TimeZone::get(&session.timezone).unwrap_or(TimeZone::UTC),
        summary: feed_summary(privacy, &session.title, in_a_group),
        description: full.then(|| format!("With {}", session.org_name)),
        location: place.filter(|_| full),
        url: None,
        status: match session.status {
            SessionStatus::Cancelled => EventStatus::Cancelled,
            SessionStatus::Proposed => EventStatus::Tentative,
            _ => EventStatus::Confirmed,
        },
        organizer: None,
        attendees: Vec::new(),
    }
}

/// A strong validator for the feed's text.
pub fn etag(ics: &str) -> String {
    let digest = Sha256::digest(ics.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` header names `etag` (or is `*`).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// Fetches per feed link, keyed by the token's hash (never the token).
pub struct FeedLimiter {
    per_token: DefaultKeyedRateLimiter<[u8; 32]>,
}

impl FeedLimiter {
    pub fn new(per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("non-zero"));
        Self { per_token: RateLimiter::keyed(quota) }
    }

    /// `Err(wait)` when this fetch is over the limit.
    pub fn check(&self, token_hash: &[u8; 32]) -> Result<(), Duration> {
        let clock = DefaultClock::default();
        self.per_token.check_key(token_hash).map_err(|not_until| not_until.wait_time_from(clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_forms_and_star() {
        let tag = etag("BEGIN:VCALENDAR");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("\"other\", W/{tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
    }

    #[test]
    fn one_link_is_limited_without_holding_back_another() {
        let limiter = FeedLimiter::new(2);
        assert!(limiter.check(&[1; 32]).is_ok());
        assert!(limiter.check(&[1; 32]).is_ok());
        assert!(limiter.check(&[1; 32]).is_err());
        assert!(limiter.check(&[2; 32]).is_ok());
    }
}
