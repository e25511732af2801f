//! The store contract: every behaviour here holds on SQLite and on
//! PostgreSQL alike. Each test runs once per backend against a database of
//! its own.

mod accounts;
mod audit;
mod availability;
mod booking;
mod checkin;
mod group_sessions;
mod holds;
mod idempotency;
mod import;
mod org_invitations;
mod outbox;
mod people;
mod races;
mod series;
mod support;
mod time_off;
mod time_off_notices;
mod tokens;
mod waitlist;
mod waitlist_events;
mod waitlist_groups;
mod waitlist_links;
mod waitlist_races;
