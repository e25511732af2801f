//! Status sets as SQL spells them, built from the domain's sets so no
//! statement repeats a list the domain already names. The statuses are the
//! domain's own fixed words, never input, so they may stand in the text.

use std::fmt;

use circles_domain::Role;
use circles_domain::group::{GroupStatus, MembershipStatus};
use circles_domain::session::{InvitationStatus, SeatStatus, SessionStatus};
use circles_domain::time_off::TimeOffStatus;
use circles_domain::waitlist::OpeningStatus;

use crate::sql::db::Value;
use circles_domain::hold::HoldStatus;

/// The seat statuses that hold a client's time
/// ([`SeatStatus::holding_time`]), as an SQL list: `'REGISTERED', …`.
pub(crate) struct HoldingSeats;

pub(crate) const HOLDING_SEATS: HoldingSeats = HoldingSeats;

impl fmt::Display for HoldingSeats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, status) in SeatStatus::holding_time().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "'{}'", status.as_str())?;
        }
        Ok(())
    }
}

impl HoldingSeats {
    /// The same statuses as parameters, for statements that bind them.
    pub(crate) fn values(&self) -> Vec<Value> {
        SeatStatus::holding_time().map(|s| s.as_str().into()).collect()
    }
}

/// The membership statuses that make a client a current member
/// ([`MembershipStatus::is_current`]), as an SQL list.
pub(crate) struct CurrentMemberships;

pub(crate) const CURRENT_MEMBERSHIPS: CurrentMemberships = CurrentMemberships;

impl fmt::Display for CurrentMemberships {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = MembershipStatus::ALL.iter().filter(|s| s.is_current());
        for (i, status) in current.enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "'{}'", status.as_str())?;
        }
        Ok(())
    }
}

/// One status as an SQL literal (`'ACTIVE'`), for statements whose text is
/// built anyway; others bind the status.
pub(crate) struct Quoted(pub &'static str);

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0)
    }
}

/// A status of the domain's, written in a statement as the text the
/// database stores (`'scheduled'`): `format!("… status = {SESSION_SCHEDULED}")`.
pub(crate) struct Stored<T>(pub T);

macro_rules! stored_as_str {
    ($($status:ty),+) => {$(
        impl fmt::Display for Stored<$status> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "'{}'", self.0.as_str())
            }
        }
    )+};
}

stored_as_str!(SessionStatus, TimeOffStatus, InvitationStatus, GroupStatus, OpeningStatus, Role, HoldStatus);

pub(crate) const SESSION_PROPOSED: Stored<SessionStatus> = Stored(SessionStatus::Proposed);
pub(crate) const SESSION_SCHEDULED: Stored<SessionStatus> = Stored(SessionStatus::Scheduled);
pub(crate) const SESSION_IN_PROGRESS: Stored<SessionStatus> = Stored(SessionStatus::InProgress);
pub(crate) const SESSION_COMPLETED: Stored<SessionStatus> = Stored(SessionStatus::Completed);
pub(crate) const SESSION_CANCELLED: Stored<SessionStatus> = Stored(SessionStatus::Cancelled);
pub(crate) const TIME_OFF_PENDING: Stored<TimeOffStatus> = Stored(TimeOffStatus::Pending);
pub(crate) const TIME_OFF_APPROVED: Stored<TimeOffStatus> = Stored(TimeOffStatus::Approved);
pub(crate) const TIME_OFF_DENIED: Stored<TimeOffStatus> = Stored(TimeOffStatus::Denied);
pub(crate) const TIME_OFF_CANCELLED: Stored<TimeOffStatus> = Stored(TimeOffStatus::Cancelled);
pub(crate) const INVITATION_ACCEPTED: Stored<InvitationStatus> = Stored(InvitationStatus::Accepted);
pub(crate) const INVITATION_DECLINED: Stored<InvitationStatus> = Stored(InvitationStatus::Declined);
pub(crate) const GROUP_ACTIVE: Stored<GroupStatus> = Stored(GroupStatus::Active);
pub(crate) const GROUP_ARCHIVED: Stored<GroupStatus> = Stored(GroupStatus::Archived);
pub(crate) const OPENING_WAITING: Stored<OpeningStatus> = Stored(OpeningStatus::Waiting);
pub(crate) const OPENING_OFFERING: Stored<OpeningStatus> = Stored(OpeningStatus::Offering);
pub(crate) const OPENING_FILLED: Stored<OpeningStatus> = Stored(OpeningStatus::Filled);
pub(crate) const OPENING_LAPSED: Stored<OpeningStatus> = Stored(OpeningStatus::Lapsed);
pub(crate) const ROLE_ADMIN: Stored<Role> = Stored(Role::Admin);
pub(crate) const ROLE_THERAPIST: Stored<Role> = Stored(Role::Therapist);
pub(crate) const HOLD_LIVE: Stored<HoldStatus> = Stored(HoldStatus::Live);
pub(crate) const HOLD_CONFIRMED: Stored<HoldStatus> = Stored(HoldStatus::Confirmed);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_list_is_the_domains_set() {
        assert_eq!(HOLDING_SEATS.to_string(), "'REGISTERED', 'CONFIRMED', 'ATTENDED', 'NO_SHOW'");
        assert_eq!(HOLDING_SEATS.values().len(), SeatStatus::holding_time().count());
        assert_eq!(CURRENT_MEMBERSHIPS.to_string(), "'PENDING_SCREENING', 'ACTIVE', 'WAITLISTED'");
        assert_eq!(Quoted(MembershipStatus::Active.as_str()).to_string(), "'ACTIVE'");
        assert_eq!(SESSION_IN_PROGRESS.to_string(), "'in_progress'");
        assert_eq!(TIME_OFF_APPROVED.to_string(), "'APPROVED'");
    }
}
