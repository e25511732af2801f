//! Joining an organisation. An account that already exists is never linked
//! into an organisation by someone else: it is invited, and it joins only
//! when it accepts.

use crate::spelling::spelled_enum;

spelled_enum!(
    /// Where an invitation to join an organisation stands.
    OrgInvitationStatus {
        /// Waiting for the account to answer.
        Pending = "pending",
        /// The account joined; the person record carries the invitation's id.
        Accepted = "accepted",
        /// The account said no.
        Declined = "declined",
    }
);

spelled_enum!(
    /// A person as the organisation's list shows them: a member, or someone
    /// invited who has not answered (shown by the name the inviter typed).
    PersonStatus {
        Active = "active",
        Pending = "pending",
        Declined = "declined",
    }
);

impl OrgInvitationStatus {
    /// The answer an invitation in this state may still take.
    pub fn answer(self, accept: bool) -> Result<OrgInvitationStatus, &'static str> {
        match self {
            OrgInvitationStatus::Pending if accept => Ok(OrgInvitationStatus::Accepted),
            OrgInvitationStatus::Pending => Ok(OrgInvitationStatus::Declined),
            _ => Err("this invitation has already been answered"),
        }
    }

    /// How the organisation sees the invited person.
    pub fn person_status(self) -> PersonStatus {
        match self {
            OrgInvitationStatus::Pending => PersonStatus::Pending,
            OrgInvitationStatus::Accepted => PersonStatus::Active,
            OrgInvitationStatus::Declined => PersonStatus::Declined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_invitation_takes_an_answer() {
        assert_eq!(OrgInvitationStatus::Pending.answer(true), Ok(OrgInvitationStatus::Accepted));
        assert_eq!(OrgInvitationStatus::Pending.answer(false), Ok(OrgInvitationStatus::Declined));
        assert!(OrgInvitationStatus::Accepted.answer(false).is_err());
        assert!(OrgInvitationStatus::Declined.answer(true).is_err());
    }
}
