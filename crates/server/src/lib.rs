//! The `circles` server: HTTP API, background jobs and command line.
//!
//! Handlers are thin: they parse input into domain types, ask
//! [`circles_domain::authz`] whether the caller may act, and call one
//! [`circles_store::Store`] use case.

pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod http;
pub mod jobs;
pub mod live;
pub mod routes;
pub mod state;
pub mod storage;
pub mod web;
