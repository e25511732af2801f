//! E-mail owed to an account rather than to a person in an organisation: a
//! link that resets a forgotten password, and an organisation's invitation
//! to join it (the invitee belongs to no organisation's people yet).
//!
//! Both are essential: a person cannot turn them off, and they carry no
//! unsubscribe link.

use jiff::{SignedDuration, Timestamp};

use crate::spelling::spelled_enum;

spelled_enum!(
    /// What an account e-mail is about.
    AccountMailKind {
        PasswordReset = "password_reset",
        OrgInvitation = "org_invitation",
    }
);

/// How long a password reset link works after it was asked for: long enough
/// to find the e-mail, short enough that an old mailbox is no way in.
pub const RESET_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(1);

/// Password reset link tokens carry a prefix, so a leaked one is
/// recognisable in logs and secret scanners.
pub const RESET_LINK_PREFIX: &str = "cir_";

/// Why a password reset link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRefusal {
    /// No link has this token (or it was never sent).
    Unknown,
    /// It set a password already, or a later reset of the account did.
    Used,
    /// Its hour is over.
    Expired,
}

impl ResetRefusal {
    /// A stable code for the refusal.
    pub fn code(self) -> &'static str {
        match self {
            ResetRefusal::Unknown => "reset_link_unknown",
            ResetRefusal::Used => "reset_link_used",
            ResetRefusal::Expired => "reset_link_expired",
        }
    }

    /// The refusal in words, with what to do next.
    pub fn words(self) -> &'static str {
        match self {
            ResetRefusal::Unknown => "this password reset link is not valid; ask for a new one",
            ResetRefusal::Used => "this password reset link was already used; ask for a new one",
            ResetRefusal::Expired => "this password reset link has expired; ask for a new one",
        }
    }
}

/// Whether a reset link that expires at `expires_at` and was used at
/// `used_at` still sets a password at `now`. A used link is refused as used
/// even after its hour, which is the more useful thing to be told.
pub fn reset_link_usable(
    expires_at: Timestamp,
    used_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), ResetRefusal> {
    if used_at.is_some() {
        return Err(ResetRefusal::Used);
    }
    if now >= expires_at {
        return Err(ResetRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn a_link_works_within_its_hour_once() {
        let expires = at(0) + RESET_LINK_LIFETIME;
        assert_eq!(reset_link_usable(expires, None, at(59)), Ok(()));
        assert_eq!(reset_link_usable(expires, None, at(60)), Err(ResetRefusal::Expired));
        assert_eq!(reset_link_usable(expires, Some(at(10)), at(11)), Err(ResetRefusal::Used));
        assert_eq!(reset_link_usable(expires, Some(at(10)), at(90)), Err(ResetRefusal::Used));
    }
}
