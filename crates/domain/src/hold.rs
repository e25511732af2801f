//! Holds: time kept for one client for a few minutes while they decide,
//! then confirmed into a session, released, or left to expire.

use crate::spelling::spelled_enum;

spelled_enum!(
    /// Where a hold stands. Only a live hold keeps its time; one past its
    /// expiry reads as expired even before a job retires it.
    HoldStatus {
        Live = "LIVE" / "live",
        Confirmed = "CONFIRMED" / "confirmed",
        Released = "RELEASED" / "released",
        Expired = "EXPIRED" / "expired",
    }
);

#[cfg(test)]
mod tests {
    use super::HoldStatus;

    #[test]
    fn a_hold_status_is_upper_case_on_the_wire_and_lower_case_when_stored() {
        assert_eq!(HoldStatus::Live.wire(), "LIVE");
        assert_eq!(HoldStatus::Live.as_str(), "live");
        assert_eq!("expired".parse::<HoldStatus>(), Ok(HoldStatus::Expired));
        assert_eq!("CONFIRMED".parse::<HoldStatus>(), Ok(HoldStatus::Confirmed));
        assert!("gone".parse::<HoldStatus>().is_err());
    }
}
