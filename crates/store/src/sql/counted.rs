//! Counting the statements a use case runs, so that "constant number of
//! queries" is something a test can assert and a benchmark can report; and,
//! when a test asks for it, keeping the text of every distinct statement, so
//! the SQL the store really runs can be checked (every tenant statement names
//! its organisation: see SCALING.md).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::db::{DbError, Dialect, Executor, Query, Transaction};
use crate::keyring::{Keyring, TxKeys};

/// What a store's transactions report about the statements they run.
#[derive(Default)]
pub struct Meter {
    statements: AtomicU64,
    log: Option<StatementLog>,
}

impl Meter {
    /// A meter that also keeps the text of every distinct statement.
    pub fn logging() -> Self {
        Self { statements: AtomicU64::new(0), log: Some(StatementLog::default()) }
    }

    pub fn statements_run(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The distinct statement texts run so far (empty unless logging).
    pub fn statements_seen(&self) -> Vec<String> {
        let Some(log) = &self.log else {
            return Vec::new();
        };
        let mut texts: Vec<String> = log.texts.lock().expect("statement log").iter().cloned().collect();
        texts.sort();
        texts
    }

    fn observe(&self, q: &Query) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        if let Some(log) = &self.log {
            let mut texts = log.texts.lock().expect("statement log");
            if !texts.contains(q.sql.as_ref()) {
                texts.insert(q.sql.to_string());
            }
        }
    }
}

#[derive(Default)]
struct StatementLog {
    texts: Mutex<HashSet<String>>,
}

/// A transaction that reports every statement it runs to a shared [`Meter`].
/// It also carries the store's keyring, so clinical text can be sealed and
/// opened wherever a row is written or read, and what this transaction has
/// checked of the keys.
pub struct Counted<T> {
    inner: T,
    meter: Arc<Meter>,
    keyring: Option<Arc<Keyring>>,
    tx_keys: Option<TxKeys>,
    /// Whether notifications also fill the outbox (see
    /// [`super::SqlStore::without_outbox`]).
    outbox: bool,
}

impl<T> Counted<T> {
    pub fn new(inner: T, meter: &Arc<Meter>, keyring: Option<&Arc<Keyring>>, dialect: Dialect) -> Self {
        let tx_keys = keyring.map(|_| TxKeys::new(dialect));
        Self { inner, meter: meter.clone(), keyring: keyring.cloned(), tx_keys, outbox: true }
    }

    pub fn writing_outbox(mut self, outbox: bool) -> Self {
        self.outbox = outbox;
        self
    }
}

impl<T: Executor> Executor for Counted<T> {
    type Row = T::Row;

    fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_deref()
    }

    fn tx_keys(&mut self) -> Option<&mut TxKeys> {
        self.tx_keys.as_mut()
    }

    fn writes_outbox(&self) -> bool {
        self.outbox
    }

    async fn execute(&mut self, q: Query) -> Result<u64, DbError> {
        self.meter.observe(&q);
        self.inner.execute(q).await
    }

    async fn fetch_all(&mut self, q: Query) -> Result<Vec<Self::Row>, DbError> {
        self.meter.observe(&q);
        self.inner.fetch_all(q).await
    }

    async fn fetch_optional(&mut self, q: Query) -> Result<Option<Self::Row>, DbError> {
        self.meter.observe(&q);
        self.inner.fetch_optional(q).await
    }

    async fn defer(&mut self, q: Query) -> Result<(), DbError> {
        self.meter.observe(&q);
        self.inner.defer(q).await
    }
}

impl<T: Transaction> Transaction for Counted<T> {
    async fn commit(self) -> Result<(), DbError> {
        self.inner.commit().await
    }
}
