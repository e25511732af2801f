//! E-mail owed to an account (see `circles_domain::account_mail`).

use circles_domain::Role;
use circles_domain::account_mail::AccountMailKind;
use circles_domain::ids::{AccountId, AccountMailId};
use jiff::Timestamp;

/// One claimed account e-mail, with what its words need.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMessage {
    pub id: AccountMailId,
    pub kind: AccountMailKind,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub created_at: Timestamp,
    pub account_id: AccountId,
    pub name: String,
    pub email: String,
    /// The zone the account reads times in: its choice, else its first
    /// organisation's.
    pub timezone: Option<String>,
    /// When a password reset link stops working.
    pub expires_at: Option<Timestamp>,
    /// The invitation an invitation e-mail tells of.
    pub invitation: Option<InvitationFacts>,
}

/// What an invitation e-mail says about the organisation that sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationFacts {
    pub org_name: String,
    pub org_timezone: String,
    pub inviter_name: String,
    pub role: Role,
}

/// A password reset link that still works.
#[derive(Debug, Clone, PartialEq)]
pub struct ResetLink {
    pub expires_at: Timestamp,
    /// The zone the account reads times in, when it has one.
    pub timezone: Option<String>,
}

/// An account e-mail every attempt of which failed, as the platform's
/// operator sees it: whichever organisation it was for, if any (a password
/// reset belongs to none, so only the operator can send it again).
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAccountMail {
    pub id: AccountMailId,
    pub kind: AccountMailKind,
    pub name: String,
    pub email: String,
    /// The zone the account reads times in, when it has one.
    pub timezone: Option<String>,
    /// The organisation an invitation is from.
    pub org_name: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// When the last attempt failed.
    pub failed_at: Timestamp,
}
