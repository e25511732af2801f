//! Counting the statements a use case runs, so that "constant number of
//! queries" is something a test can assert and a benchmark can report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::db::{DbError, Executor, Query, Transaction};

/// A transaction that adds one to a shared counter per statement it runs.
pub struct Counted<T> {
    inner: T,
    statements: Arc<AtomicU64>,
}

impl<T> Counted<T> {
    pub fn new(inner: T, statements: &Arc<AtomicU64>) -> Self {
        Self { inner, statements: statements.clone() }
    }

    fn count(&self) {
        self.statements.fetch_add(1, Ordering::Relaxed);
    }
}

impl<T: Executor> Executor for Counted<T> {
    type Row = T::Row;

    async fn execute(&mut self, q: Query) -> Result<u64, DbError> {
        self.count();
        self.inner.execute(q).await
    }

    async fn fetch_all(&mut self, q: Query) -> Result<Vec<Self::Row>, DbError> {
        self.count();
        self.inner.fetch_all(q).await
    }

    async fn fetch_optional(&mut self, q: Query) -> Result<Option<Self::Row>, DbError> {
        self.count();
        self.inner.fetch_optional(q).await
    }
}

impl<T: Transaction> Transaction for Counted<T> {
    async fn commit(self) -> Result<(), DbError> {
        self.inner.commit().await
    }
}
