//! The HTTP API, exercised over real sockets against a fresh database per
//! test, on SQLite and on PostgreSQL.

mod auth;
mod availability;
mod bad_input;
mod booking;
mod booking_races;
mod cross_org;
mod delivery;
mod demo;
mod group_sessions;
mod groups;
mod holds;
mod idempotency;
mod mail;
mod operations;
mod outbox_routes;
mod people;
mod schedule;
mod seats;
mod support;
mod therapy_groups;
mod time_off;
