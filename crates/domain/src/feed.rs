//! Calendar subscription feeds: which sessions a person's feed holds, how
//! much of each it shows, and how often calendars should come back for it.

use jiff::{SignedDuration, Timestamp};

use crate::Role;
use crate::spelling::spelled_enum;

spelled_enum!(
    /// How much a feed tells about each session. A feed link travels to
    /// calendar servers and shared calendars, so what it shows is chosen.
    FeedPrivacy {
        /// Titles, places and links, as the person sees them in Circles.
        Full = "full",
        /// Only that the time is taken: "Group session" or "Busy".
        Limited = "limited",
    }
);

/// How far back a feed reaches: recent sessions stay visible for a month.
pub const FEED_PAST: SignedDuration = SignedDuration::from_hours(30 * 24);
/// How far ahead a feed reaches.
pub const FEED_AHEAD: SignedDuration = SignedDuration::from_hours(365 * 24);
/// How often a subscribed calendar should fetch the feed again.
pub const FEED_REFRESH: SignedDuration = SignedDuration::from_hours(1);

/// The stretch of time a feed fetched at `now` covers.
pub fn feed_window(now: Timestamp) -> (Timestamp, Timestamp) {
    (now - FEED_PAST, now + FEED_AHEAD)
}

/// The privacy a new feed gets when its owner does not choose: anyone who is
/// a client anywhere gets the limited feed, since a calendar shared with a
/// family or an employer should not name a therapy group; staff see titles.
pub fn default_privacy(roles: impl IntoIterator<Item = Role>) -> FeedPrivacy {
    if roles.into_iter().any(|r| r == Role::Client) { FeedPrivacy::Limited } else { FeedPrivacy::Full }
}

/// What a feed names a session.
pub fn feed_summary(privacy: FeedPrivacy, title: &str, in_a_group: bool) -> String {
    match privacy {
        FeedPrivacy::Full => title.to_owned(),
        FeedPrivacy::Limited if in_a_group => "Group session".to_owned(),
        FeedPrivacy::Limited => "Busy".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_get_the_limited_feed_unless_they_choose() {
        assert_eq!(default_privacy([Role::Therapist, Role::Client]), FeedPrivacy::Limited);
        assert_eq!(default_privacy([Role::Therapist, Role::Admin]), FeedPrivacy::Full);
        assert_eq!(default_privacy([]), FeedPrivacy::Full);
    }

    #[test]
    fn a_limited_feed_names_no_group() {
        assert_eq!(feed_summary(FeedPrivacy::Limited, "Anxiety group", true), "Group session");
        assert_eq!(feed_summary(FeedPrivacy::Limited, "Dana and Ana", false), "Busy");
        assert_eq!(feed_summary(FeedPrivacy::Full, "Anxiety group", true), "Anxiety group");
    }

    #[test]
    fn the_window_is_a_month_back_and_a_year_ahead() {
        let now: Timestamp = "2027-06-01T00:00:00Z".parse().unwrap();
        let (from, to) = feed_window(now);
        assert_eq!(from.to_string(), "2027-05-02T00:00:00Z");
        assert_eq!(to.to_string(), "2028-05-31T00:00:00Z");
    }
}
