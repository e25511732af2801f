//! Webhooks: when a failed call is tried again, when an endpoint that keeps
//! failing is switched off, and which addresses a webhook may not call.

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

use crate::delivery::AfterFailure;
use crate::session::NotificationKind;

/// The pause before each attempt after the first (Standard Webhooks'
/// schedule): at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h again.
pub const RETRY_SCHEDULE: [SignedDuration; 8] = [
    SignedDuration::ZERO,
    SignedDuration::from_secs(5),
    SignedDuration::from_mins(5),
    SignedDuration::from_mins(30),
    SignedDuration::from_hours(2),
    SignedDuration::from_hours(5),
    SignedDuration::from_hours(10),
    SignedDuration::from_hours(10),
];

/// An endpoint that has failed without a success for this long is disabled
/// and the organisation's admins are told.
pub const DISABLE_AFTER: SignedDuration = SignedDuration::from_hours(5 * 24);

/// How long the secret before a rotation still signs, so receivers can
/// switch over without dropping messages.
pub const OLD_SECRET_GRACE: SignedDuration = SignedDuration::from_hours(24);

/// Whether a webhook may subscribe to `kind`: everything but the notice
/// that a webhook was switched off, which goes to admins only, and a
/// check-in safety alert, which is for the clinicians and nobody else.
pub fn subscribable(kind: NotificationKind) -> bool {
    !matches!(kind, NotificationKind::WebhookDisabled | NotificationKind::CheckInAlert)
}

/// After the `attempts`-th call of one message failed at `now`.
pub fn after_failure(attempts: u32, now: Timestamp) -> AfterFailure {
    match RETRY_SCHEDULE.get(attempts as usize) {
        Some(pause) => AfterFailure::RetryAt(now + *pause),
        None => AfterFailure::GiveUp,
    }
}

/// Whether an endpoint failing since `failing_since` should be disabled.
pub fn should_disable(failing_since: Timestamp, now: Timestamp) -> bool {
    now.duration_since(failing_since) >= DISABLE_AFTER
}

/// Addresses inside the server's own network: loopback, private ranges,
/// link-local (cloud metadata lives there), unspecified and unique-local. A
/// webhook pointed there could reach services that trust the server.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_retried_on_the_standard_schedule_then_given_up() {
        let now: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let pause = |n| match after_failure(n, now) {
            AfterFailure::RetryAt(t) => t.duration_since(now).as_secs(),
            AfterFailure::GiveUp => -1,
        };
        let pauses: Vec<i64> = (1..=9).map(pause).collect();
        assert_eq!(pauses, [5, 300, 1800, 7200, 18000, 36000, 36000, -1, -1]);
    }

    #[test]
    fn an_endpoint_failing_for_five_days_is_disabled() {
        let since: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        assert!(!should_disable(since, since + SignedDuration::from_hours(119)));
        assert!(should_disable(since, since + SignedDuration::from_hours(120)));
    }

    #[test]
    fn private_and_loopback_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }
}
