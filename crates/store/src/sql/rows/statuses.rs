//! Status sets as SQL spells them, built from the domain's sets so no
//! statement repeats a list the domain already names. The statuses are the
//! domain's own fixed words, never input, so they may stand in the text.

use std::fmt;

use circles_domain::group::MembershipStatus;
use circles_domain::session::SeatStatus;

use crate::sql::db::Value;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_list_is_the_domains_set() {
        assert_eq!(HOLDING_SEATS.to_string(), "'REGISTERED', 'CONFIRMED', 'ATTENDED', 'NO_SHOW'");
        assert_eq!(HOLDING_SEATS.values().len(), SeatStatus::holding_time().count());
        assert_eq!(CURRENT_MEMBERSHIPS.to_string(), "'PENDING_SCREENING', 'ACTIVE', 'WAITLISTED'");
        assert_eq!(Quoted(MembershipStatus::Active.as_str()).to_string(), "'ACTIVE'");
    }
}
