//! The rules of Circles, free of I/O.
//!
//! Everything here is deterministic given its inputs (time comes in through
//! [`clock::Clock`]), so the storage backends and the HTTP layer can share one
//! definition of what is valid, who may do what and how time behaves.

pub mod account_mail;
pub mod attendance;
pub mod audit;
pub mod authz;
pub mod availability;
pub mod checkin;
pub mod civil;
pub mod clock;
pub mod delivery;
pub mod feed;
pub mod fhir;
pub mod group;
pub mod hold;
pub mod ical;
pub mod ids;
pub mod input;
pub mod interval;
pub mod live;
pub mod local_time;
pub mod org_invitation;
pub mod over_time;
pub mod recurrence;
pub mod reminder;
pub mod role;
pub mod sealed;
pub mod search;
pub mod series;
pub mod session;
pub mod slots;
pub mod spelling;
pub mod time_off;
pub mod validation;
pub mod waitlist;
pub mod waitlist_match;
pub mod webhook;

pub use clock::Clock;
pub use role::Role;
pub use validation::{FieldError, Invalid};
