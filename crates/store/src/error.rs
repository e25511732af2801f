use circles_domain::{FieldError, Invalid};

use crate::sql::HintRequest;
use crate::sql::db::DbError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Why a use case did not happen. Every variant means nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist in this organisation (or at all).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is well-formed but conflicts with the current state.
    #[error("{}", .0.message)]
    Conflict(Box<Conflict>),
    /// A field's value is not acceptable given what is stored (e.g. an
    /// e-mail already in use).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Db(DbError),
}

impl From<DbError> for StoreError {
    /// A unique violation is a conflict with a code (see `unique.rs`);
    /// every other database error stays what it is.
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unique(detail) => crate::unique::unique_conflict(&detail),
            other => StoreError::Db(other),
        }
    }
}

/// A conflict with a stable machine-readable code.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub code: &'static str,
    pub message: String,
    /// Extra members for the problem document (e.g. conflicting intervals).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Retry hints still to be found: a clash found under row locks is
    /// reported after its transaction has rolled back, so that finding the
    /// next free times never holds anyone else up.
    pub(crate) hints_to_find: Option<HintRequest>,
    /// The session in the way of each clash listed in `details.conflicts`
    /// (for its title and therapist in words); never sent as an id.
    pub(crate) clash_sessions: Vec<Option<circles_domain::ids::SessionId>>,
}

impl StoreError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict(Box::new(Conflict {
            code,
            message: message.into(),
            details: Default::default(),
            hints_to_find: None,
            clash_sessions: Vec::new(),
        }))
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        StoreError::Invalid(Invalid(vec![FieldError::new(field, reason)]))
    }

    /// Whether running the whole transaction again may succeed — or, for an
    /// exclusion violation, will at least see the concurrent booking that
    /// won and report it as a proper conflict.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Db(DbError::Retryable(_) | DbError::Exclusion(_)))
    }

    /// Whether a row the use case would not wait for was held.
    pub fn is_lock_not_available(&self) -> bool {
        matches!(self, StoreError::Db(DbError::LockNotAvailable(_)))
    }
}
