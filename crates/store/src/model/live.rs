//! Live events and presence, as the store returns them.

use circles_domain::ids::{OrgId, PersonId, SessionId};
use jiff::Timestamp;

/// One event of an organisation's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub org_id: OrgId,
    /// Its number in the organisation's log, in commit order.
    pub seq: i64,
    /// An `EventKind`, as stored.
    pub kind: String,
    pub session_id: Option<SessionId>,
    /// A JSON object of ids and times.
    pub payload: String,
    pub created_at: Timestamp,
    /// Everyone who may see it, sorted (when read for fan-out; when read for
    /// one listener, just them).
    pub recipients: Vec<PersonId>,
}

/// One member present in a running session.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub person_id: PersonId,
    pub name: String,
    pub checked_in_at: Timestamp,
    /// Whether staff confirmed it: the seat reads ATTENDED.
    pub attended: bool,
    /// Minutes after the start they checked in.
    pub minutes_late: i64,
}
