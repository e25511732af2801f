//! The HTTP API, exercised over real sockets against a fresh database per
//! test, on SQLite and on PostgreSQL.

mod auth;
mod availability;
mod availability_limits;
mod bad_input;
mod booking;
mod booking_races;
mod cli;
mod connections;
mod cross_org;
mod csrf;
mod delivery;
mod demo;
mod group_rules;
mod group_sessions;
mod groups;
mod holds;
mod idempotency;
mod lists;
mod mail;
mod membership_first;
mod notices;
mod operations;
mod org_invitations;
mod outbox_routes;
mod password;
mod people;
mod problem_documents;
mod schedule;
mod seats;
mod secrets_at_rest;
mod support;
mod therapy_groups;
mod time_off;
mod views;
mod waitlist;
