//! Live rules: what the event log records and for how long, where a
//! listener stands in it (its cursor), and when a member may check in to a
//! running session.
//!
//! Events are numbered per organisation (`seq`), in commit order, so a
//! listener's place is one number per organisation it belongs to. The
//! cursor is what an SSE stream sends as each event's `id` and reads back
//! from `Last-Event-ID`.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::ids::OrgId;
use crate::session::SessionStatus;
use crate::spelling::spelled_enum;

spelled_enum!(
    /// What happened. Every event carries ids and times only; a listener
    /// fetches what it needs through the ordinary (audited) routes.
    EventKind {
        /// An inbox entry was written for the listener (invitations, seats,
        /// offers, session changes: everything that notifies).
        Notification = "NOTIFICATION",
        /// A member checked in to a running session, or staff confirmed it.
        Presence = "PRESENCE",
        /// A check-in's answer window opened or closed in a session the
        /// listener holds a seat in.
        CheckInWindow = "CHECK_IN_WINDOW",
    }
);

/// How long events stay readable for a listener that reconnects: the
/// promise is 24 hours; the margin covers a pruning job that ran late.
pub const RETENTION: SignedDuration = SignedDuration::from_hours(48);

/// Most events one resume replays; a listener further behind is told to
/// reload what it shows instead.
pub const RESUME_LIMIT: i64 = 5_000;

/// Where a listener stands: the last event number seen per organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCursor(BTreeMap<OrgId, i64>);

impl EventCursor {
    /// Reads `org:seq,org:seq`; `None` for anything else (a cursor from a
    /// stranger's stream is ignored, not an error).
    pub fn parse(text: &str) -> Option<Self> {
        let mut positions = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (org, seq) = part.split_once(':')?;
            let org = org.parse::<uuid::Uuid>().ok()?;
            let seq = seq.parse::<i64>().ok().filter(|s| *s >= 0)?;
            positions.insert(OrgId::from(org), seq);
        }
        Some(Self(positions))
    }

    pub fn get(&self, org: OrgId) -> Option<i64> {
        self.0.get(&org).copied()
    }

    /// Records `seq` as seen in `org` unless the cursor is already past it;
    /// answers whether it moved (a listener skips what it has seen).
    pub fn advance(&mut self, org: OrgId, seq: i64) -> bool {
        let at = self.0.entry(org).or_insert(0);
        if seq > *at {
            *at = seq;
            true
        } else {
            false
        }
    }

    /// Keeps only the organisations in `orgs`.
    pub fn retain(&mut self, orgs: &[OrgId]) {
        self.0.retain(|org, _| orgs.contains(org));
    }
}

impl std::fmt::Display for EventCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (org, seq)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{seq}", org.0)?;
        }
        Ok(())
    }
}

/// Why a member may not check in now; `None` when they may. A member who
/// holds a seat checks in at any time while the session runs: coming late
/// is recorded as lateness. The group's `late_join_minutes` governs taking
/// a seat in a running session (see `session::closed_to_seats`), not
/// arriving for one already held.
pub fn check_in_refusal(status: SessionStatus) -> Option<String> {
    match status {
        SessionStatus::InProgress => None,
        SessionStatus::Proposed | SessionStatus::Scheduled => {
            Some("this session has not started yet; check in once it is running".into())
        }
        SessionStatus::Completed => Some("this session has ended".into()),
        SessionStatus::Cancelled => Some("this session was cancelled".into()),
    }
}

/// Whole minutes between the start and a check-in (never negative).
pub fn minutes_late(starts_at: Timestamp, checked_in_at: Timestamp) -> i64 {
    checked_in_at.duration_since(starts_at).as_mins().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_cursor_reads_back_what_it_writes() {
        let (a, b) = (OrgId::new(), OrgId::new());
        let mut cursor = EventCursor::default();
        assert!(cursor.advance(a, 3));
        assert!(cursor.advance(b, 7));
        assert!(!cursor.advance(a, 2), "an older event does not move the cursor");
        let parsed = EventCursor::parse(&cursor.to_string()).unwrap();
        assert_eq!(parsed, cursor);
        assert_eq!(parsed.get(a), Some(3));
        assert_eq!(EventCursor::parse("nonsense"), None);
        assert_eq!(EventCursor::parse(&format!("{}:-1", a.0)), None);
        assert_eq!(EventCursor::parse(""), Some(EventCursor::default()));
    }

    #[test]
    fn seat_holders_check_in_while_the_session_runs_however_late() {
        let start = at("2027-03-01T14:00:00Z");
        let ten_past = at("2027-03-01T14:10:00Z");
        assert_eq!(check_in_refusal(SessionStatus::InProgress), None);
        assert!(check_in_refusal(SessionStatus::Scheduled).is_some());
        assert!(check_in_refusal(SessionStatus::Completed).is_some());
        assert!(check_in_refusal(SessionStatus::Cancelled).is_some());
        assert_eq!(minutes_late(start, ten_past), 10);
        assert_eq!(minutes_late(start, at("2027-03-01T13:58:00Z")), 0);
    }
}
