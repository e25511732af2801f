//! Login attempts are limited per client IP, and per account from each IP,
//! so no address can guess passwords quickly — and nobody can lock an account
//! out by failing to sign in to it: the owner, from another address, is not
//! held back by a stranger's attempts.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginLimiter {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account_and_ip: DefaultKeyedRateLimiter<(String, IpAddr)>,
}

impl LoginLimiter {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("non-zero"));
        Self {
            per_ip: RateLimiter::keyed(quota(per_ip_per_minute)),
            per_account_and_ip: RateLimiter::keyed(quota(per_account_per_minute)),
        }
    }

    /// `Err(wait)` when this attempt is over either limit.
    pub fn check(&self, ip: IpAddr, email: &str) -> Result<(), Duration> {
        let clock = DefaultClock::default();
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(clock.now());
        self.per_ip.check_key(&ip).map_err(wait)?;
        self.per_account_and_ip.check_key(&(email.to_owned(), ip)).map_err(wait)?;
        Ok(())
    }

    /// Forgets idle keys so the maps do not grow without bound.
    pub fn retain_recent(&self) {
        self.per_ip.retain_recent();
        self.per_account_and_ip.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_from_one_address_do_not_hold_back_another() {
        let limiter = LoginLimiter::new(100, 3);
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let owner: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(attacker, "ada@example.org").is_ok());
        }
        assert!(limiter.check(attacker, "ada@example.org").is_err(), "the attacker's address is limited");
        assert!(limiter.check(owner, "ada@example.org").is_ok(), "the owner signs in from elsewhere");
    }

    #[test]
    fn one_address_is_limited_across_accounts() {
        let limiter = LoginLimiter::new(5, 100);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for i in 0..5 {
            assert!(limiter.check(ip, &format!("user{i}@example.org")).is_ok());
        }
        assert!(limiter.check(ip, "user9@example.org").is_err(), "spraying many accounts hits the per-IP limit");
    }
}
