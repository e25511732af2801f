//! HTTP plumbing shared by every route: errors, extractors, middleware.

pub mod error;
pub mod extract;
pub mod fhir_outcome;
pub mod idempotency;
pub mod metrics;
pub mod problems;
pub mod rfc3339;
pub mod server;
