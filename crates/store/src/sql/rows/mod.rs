//! The shared layer under the use cases: reading and writing the rows that
//! several use cases touch (sessions, groups, people, calendars, time off,
//! offers, waitlist entries, names) and the checks they share. A use-case
//! file imports these, `busy`, `notify`, `audit` and `db` — never another
//! use-case file (`crates/store/tests/layers.rs` holds the rule).

pub(crate) mod calendars;
pub(crate) mod check_ins;
pub(crate) mod conflict_words;
pub(crate) mod deliveries;
pub(crate) mod freed;
pub(crate) mod groups;
pub(crate) mod hours;
pub(crate) mod matching;
pub(crate) mod names;
pub(crate) mod offers;
pub(crate) mod people;
pub(crate) mod sealed;
pub(crate) mod seats;
pub(crate) mod sessions;
pub(crate) mod statuses;
pub(crate) mod time_off;
pub(crate) mod waitlist;
