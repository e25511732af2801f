//! The store contract: every behaviour here holds on SQLite and on
//! PostgreSQL alike. Each test runs once per backend against a database of
//! its own.

mod accounts;
mod audit;
mod availability;
mod booking;
mod holds;
mod idempotency;
mod outbox;
mod people;
mod races;
mod support;
mod time_off;
mod time_off_notices;
mod tokens;
