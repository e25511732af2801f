//! The HTTP API, exercised over real sockets against a fresh database per
//! test, on SQLite and on PostgreSQL.

mod auth;
mod bad_input;
mod cross_org;
mod idempotency;
mod operations;
mod people;
mod support;
