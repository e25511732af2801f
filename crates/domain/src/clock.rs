//! Time as a dependency, so tests can hold it still or move it forward.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to whole microseconds: that is the
    /// precision both databases keep, and audit hashes must survive a round
    /// trip through them unchanged.
    fn now(&self) -> Timestamp;
}

pub fn truncate_to_micros(t: Timestamp) -> Timestamp {
    let micros = t.as_microsecond();
    Timestamp::from_microsecond(micros).expect("a valid timestamp stays valid when truncated")
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_to_micros(Timestamp::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now: Mutex::new(truncate_to_micros(start)) }
    }

    pub fn set(&self, t: Timestamp) {
        *self.now.lock().expect("clock lock") = truncate_to_micros(t);
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().expect("clock lock");
        *now = truncate_to_micros(now.checked_add(by).expect("clock stays in range"));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().expect("clock lock")
    }
}
