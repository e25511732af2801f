//! Calendar subscription feeds as the store hands them out.

use circles_domain::feed::FeedPrivacy;
use circles_domain::ids::{AccountId, FeedId, GroupId, OrgId, SessionId};
use circles_domain::session::{Modality, SessionKind, SessionStatus};
use jiff::Timestamp;

/// One of a person's feed links; its token is never kept, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub id: FeedId,
    pub account_id: AccountId,
    pub privacy: FeedPrivacy,
    pub created_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    pub last_fetched_at: Option<Timestamp>,
}

/// A feed as it is fetched: whose it is, and the sessions it holds.
#[derive(Debug, Clone)]
pub struct FeedContents {
    pub feed: Feed,
    pub sessions: Vec<FeedSession>,
}

/// One session in a feed, in any organisation the person belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSession {
    pub org_id: OrgId,
    pub org_name: String,
    pub id: SessionId,
    pub kind: SessionKind,
    pub status: SessionStatus,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub modality: Modality,
    pub location: Option<String>,
    pub address: Option<String>,
    pub virtual_link: Option<String>,
    pub group_id: Option<GroupId>,
    /// When the session last changed: the event's DTSTAMP and LAST-MODIFIED.
    pub updated_at: Timestamp,
}
