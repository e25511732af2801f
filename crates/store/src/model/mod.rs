//! What the store takes and returns. Plain data: the HTTP layer decides how
//! it is shown.

use circles_domain::Role;
use circles_domain::ids::{AccountId, OrgId, PersonId, TokenId};
use circles_domain::input::{Email, Label, TimeZoneName};
use circles_domain::org_invitation::{OrgInvitationStatus, PersonStatus};
use jiff::Timestamp;
use serde::Serialize;

/// Who is acting and from where: recorded on every audit event.
#[derive(Debug, Clone, Default)]
pub struct AuditCtx {
    pub account_id: Option<AccountId>,
    /// The actor's person record in the organisation being changed.
    pub person_id: Option<PersonId>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl AuditCtx {
    /// Changes made from the command line by the platform operator.
    pub fn operator() -> Self {
        Self { request_id: Some("cli".into()), ..Self::default() }
    }

    pub fn acting_as(&self, person_id: PersonId) -> Self {
        Self { person_id: Some(person_id), ..self.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub name: Label,
    /// argon2id PHC string; `None` leaves the account unable to log in until
    /// a password is set.
    pub password_hash: Option<String>,
}

/// What login needs to check a password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account_id: AccountId,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub timezone: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: Label,
    pub timezone: TimeZoneName,
    /// Becomes the organisation's first admin.
    pub admin: AccountId,
}

/// An account's place in one organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Membership {
    pub org: Organisation,
    pub person_id: PersonId,
    pub role: Role,
}

/// What every page around its content shows its viewer: their name, the
/// organisations they can switch to, their unread count and chosen zone.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFrame {
    pub name: String,
    pub memberships: Vec<Membership>,
    /// Unread notifications, counted up to the cap the caller asked for.
    pub unread: u64,
    /// The zone the account chose, if it chose one.
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub id: PersonId,
    pub org_id: OrgId,
    pub account_id: AccountId,
    /// For someone invited and not yet joined: the address and name the
    /// inviter typed, never the account's own name.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// `active` for a member; `pending` or `declined` for an invitation.
    pub status: PersonStatus,
    pub created_at: Timestamp,
}

/// An invitation to join an organisation, as the invited account sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgInvitation {
    /// Also the person's id in the organisation once accepted.
    pub id: PersonId,
    pub org: Organisation,
    pub role: Role,
    pub status: OrgInvitationStatus,
    /// The name of the person who sent it.
    pub invited_by: String,
    pub created_at: Timestamp,
    pub responded_at: Option<Timestamp>,
}

/// What setting a password ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordReset {
    pub account: Account,
    pub sessions_ended: u64,
    pub api_tokens_revoked: u64,
}

#[derive(Debug, Clone)]
pub struct NewPerson {
    pub email: Email,
    pub name: Label,
    pub role: Role,
    /// Only for a new account; an existing account keeps its own password.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Issued by password login; short-lived.
    Session,
    /// Created by the account holder for scripts; long-lived, revocable.
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

impl std::str::FromStr for TokenKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "session" => Ok(TokenKind::Session),
            "api" => Ok(TokenKind::Api),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub account_id: AccountId,
    pub kind: TokenKind,
    pub name: String,
    /// SHA-256 of the secret; the secret itself is never stored.
    pub token_hash: [u8; 32],
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: TokenId,
    pub kind: TokenKind,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// The authenticated caller behind a bearer token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub account_id: AccountId,
    pub token_id: TokenId,
    pub token_kind: TokenKind,
    pub expires_at: Option<Timestamp>,
}

/// A response kept for an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What to do with a request carrying an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyStart {
    /// First use of the key: run the request, then finish or release it.
    Proceed,
    /// Same key, same request: send the stored response again.
    Replay(StoredResponse),
    /// Same key, different request.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
}

/// The outcome of checking one organisation's audit chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    pub org_id: circles_domain::ids::OrgId,
    pub events: i64,
    /// The first broken link, if any.
    pub error: Option<String>,
}

/// An audit event as shown to admins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its place in the order events arrived: the list's sort key.
    pub arrival: i64,
    /// Its place in the chain; `None` for the moment before it is sealed.
    pub seq: Option<i64>,
    pub occurred_at: Timestamp,
    pub actor_account_id: Option<AccountId>,
    /// The account's name, when the event was someone's act.
    pub actor_name: Option<String>,
    pub actor_person_id: Option<PersonId>,
    pub subject_person_id: Option<PersonId>,
    /// The name of the client the event is about, if any.
    pub subject_name: Option<String>,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// What the event records beyond its action (an object).
    pub details: serde_json::Value,
}

mod account_mail;
mod availability;
mod booking;
mod checkin;
mod delivery;
mod feed;
mod groups;
mod import;
mod labels;
mod live;
mod waitlist;
mod webhook;
pub use account_mail::*;
pub use availability::*;
pub use booking::*;
pub use checkin::*;
pub use delivery::*;
pub use feed::*;
pub use groups::*;
pub use import::*;
pub use labels::*;
pub use live::*;
pub use waitlist::*;
pub use webhook::*;

/// One page of a list read in its own order: the rows after `after` (the
/// sort key of the last row of the page before), at most `limit` of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset<K> {
    pub after: Option<K>,
    pub limit: i64,
}

impl<K> Keyset<K> {
    /// The first `limit` rows.
    pub fn first(limit: i64) -> Self {
        Self { after: None, limit }
    }

    /// Every row: for readers that need the whole list at once.
    pub fn all() -> Self {
        Self { after: None, limit: i64::MAX }
    }
}
