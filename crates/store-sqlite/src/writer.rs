//! The one writer connection and its group commit; the crate documentation
//! explains the design.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use circles_store::sql::db::DbError;
use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::{blocking, map_err};

/// A batch is committed once this many use cases have committed into it…
const MAX_BATCH_LEN: usize = 64;
/// …or once its first use case has waited this long, even while more use
/// cases queue for the writer. Together they bound that wait.
const MAX_BATCH_AGE: Duration = Duration::from_millis(5);

type Outcome = Result<(), DbError>;

/// The writer connection and the batch (outer transaction) open on it.
/// Whoever holds the lock is either a use case inside its savepoint or
/// between use cases; between use cases the connection is at most inside an
/// open batch, never inside a savepoint.
pub(crate) struct Writer {
    conn: Connection,
    batch: Option<Batch>,
    closed: bool,
}

#[derive(Default)]
struct Batch {
    /// One per use case that released its savepoint into this batch and
    /// waits to hear how the batch's COMMIT went.
    waiting: Vec<oneshot::Sender<Outcome>>,
    /// When the first of them started waiting.
    since: Option<Instant>,
}

impl Batch {
    fn join(&mut self, waiter: oneshot::Sender<Outcome>) {
        self.waiting.push(waiter);
        self.since.get_or_insert_with(Instant::now);
    }

    fn is_full(&self) -> bool {
        self.waiting.len() >= MAX_BATCH_LEN || self.since.is_some_and(|t| t.elapsed() >= MAX_BATCH_AGE)
    }
}

struct Counters {
    /// Use cases that have asked for the writer and not yet ended their turn.
    /// Incremented *before* waiting for the lock, so a finishing use case can
    /// tell whether anyone will take the writer after it.
    claimed: AtomicUsize,
    /// Outer COMMITs that succeeded.
    commits: AtomicU64,
}

/// The writer, shared by the backend and every write transaction.
#[derive(Clone)]
pub(crate) struct WriteSide {
    writer: Arc<Mutex<Writer>>,
    counters: Arc<Counters>,
}

impl WriteSide {
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            writer: Arc::new(Mutex::new(Writer { conn, batch: None, closed: false })),
            counters: Arc::new(Counters { claimed: AtomicUsize::new(0), commits: AtomicU64::new(0) }),
        }
    }

    pub(crate) fn commits(&self) -> u64 {
        self.counters.commits.load(Ordering::Relaxed)
    }

    /// Waits for the writer (first in, first served).
    async fn turn(&self) -> Result<Turn, DbError> {
        let claim = Claim::new(self.clone());
        let writer = Arc::clone(&self.writer).lock_owned().await;
        let turn = Turn { writer, claim };
        if turn.writer.closed {
            turn.end();
            return Err(DbError::Unavailable("the SQLite backend is closed".into()));
        }
        Ok(turn)
    }

    /// Starts a use case: joins the open batch, or opens one, inside a
    /// savepoint of its own.
    pub(crate) async fn begin(&self) -> Result<WriteTx, DbError> {
        let mut turn = self.turn().await?;
        let started = turn.writer.open_batch().and_then(|()| turn.writer.execute("SAVEPOINT uc"));
        match started {
            Ok(()) => Ok(WriteTx(Some(turn))),
            Err(e) => {
                turn.end();
                Err(e)
            }
        }
    }

    /// Runs `work` on the writer connection outside any batch (migrations,
    /// checkpoints): the open batch, if any, is committed first.
    pub(crate) async fn exclusive<R>(&self, work: impl FnOnce(&Connection) -> R) -> Result<R, DbError> {
        let mut turn = self.turn().await?;
        turn.writer.close_batch(&self.counters);
        let result = blocking(|| work(&turn.writer.conn));
        turn.end();
        Ok(result)
    }

    /// Commits what is pending, checkpoints the WAL and refuses further
    /// writes.
    pub(crate) async fn close(&self) {
        if let Ok(mut turn) = self.turn().await {
            turn.writer.close_batch(&self.counters);
            let _ = blocking(|| turn.writer.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"));
            turn.writer.closed = true;
            turn.end();
        }
    }
}

impl Writer {
    /// Runs a transaction-control statement, cached: each use case runs a few.
    fn execute(&self, sql: &str) -> Result<(), DbError> {
        self.conn.prepare_cached(sql).and_then(|mut statement| statement.raw_execute()).map(drop).map_err(map_err)
    }

    fn open_batch(&mut self) -> Result<(), DbError> {
        if self.batch.is_none() {
            // Blocks (up to busy_timeout) only while another process writes.
            blocking(|| self.execute("BEGIN IMMEDIATE"))?;
            self.batch = Some(Batch::default());
        }
        Ok(())
    }

    /// Ends the open batch: commits it if any use case committed into it
    /// (otherwise it holds nothing and is rolled back), and tells every
    /// waiting use case the outcome.
    fn close_batch(&mut self, counters: &Counters) {
        let Some(batch) = self.batch.take() else { return };
        let outcome = if batch.waiting.is_empty() { Ok(()) } else { blocking(|| self.execute("COMMIT")) };
        if !self.conn.is_autocommit() {
            // An empty batch, or a COMMIT that failed and left it open.
            let _ = self.execute("ROLLBACK");
        }
        if outcome.is_ok() && !batch.waiting.is_empty() {
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        for waiter in batch.waiting {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// The batch is lost: SQLite rolled the outer transaction back by itself
    /// (it does after an I/O error or a full disk), or a savepoint could not
    /// be undone. Nothing of it reached the disk, so its use cases may retry.
    fn abandon_batch(&mut self, cause: &DbError) {
        let Some(batch) = self.batch.take() else { return };
        if !self.conn.is_autocommit() {
            let _ = self.execute("ROLLBACK");
        }
        let error = DbError::Retryable(format!("rolled back with its commit batch: {cause}"));
        for waiter in batch.waiting {
            let _ = waiter.send(Err(error.clone()));
        }
    }
}

/// A use case's claim on the writer, from before it waits for the lock until
/// its turn ends.
struct Claim {
    side: WriteSide,
    pending: bool,
}

impl Claim {
    fn new(side: WriteSide) -> Self {
        side.counters.claimed.fetch_add(1, Ordering::AcqRel);
        Self { side, pending: true }
    }

    /// Withdraws the claim; returns how many other use cases still claim
    /// the writer.
    fn release(&mut self) -> usize {
        self.pending = false;
        self.side.counters.claimed.fetch_sub(1, Ordering::AcqRel) - 1
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Still pending only if the use case stopped waiting for the writer
        // (its future was dropped). A finished use case may have left the
        // batch open for it, so if it was the last claimant, commit the batch
        // in its stead.
        if self.pending
            && self.release() == 0
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let side = self.side.clone();
            runtime.spawn(async move {
                if let Ok(mut turn) = side.turn().await {
                    turn.writer.close_batch(&side.counters);
                    turn.end();
                }
            });
        }
    }
}

/// Holding the writer.
struct Turn {
    writer: OwnedMutexGuard<Writer>,
    claim: Claim,
}

impl Turn {
    /// Gives up the writer, first committing the batch if
    ///
    /// - no other use case claims the writer: nobody would come to commit
    ///   it, and waiting would only add latency; or
    /// - the batch reached [`MAX_BATCH_LEN`] or [`MAX_BATCH_AGE`].
    ///
    /// Otherwise the batch is left open for the next claimant, which gets the
    /// lock (it is fair) and applies this same rule when its turn ends; one
    /// that gives up waiting applies it in `Claim::drop`. Every turn ends, so
    /// the last claimant of a batch, or its caps, always commit it.
    fn end(mut self) {
        let others = self.claim.release();
        let writer = &mut *self.writer;
        if writer.batch.as_ref().is_some_and(|b| others == 0 || b.is_full()) {
            writer.close_batch(&self.claim.side.counters);
        }
    }

    /// Undoes this use case's statements, leaving the batch to the others.
    fn roll_back(mut self) {
        if let Err(e) = self.writer.execute("ROLLBACK TO uc").and_then(|()| self.writer.execute("RELEASE uc")) {
            self.writer.abandon_batch(&e);
        }
        self.end();
    }
}

/// A use case on the writer. Dropping it uncommitted rolls back its
/// savepoint.
pub(crate) struct WriteTx(Option<Turn>);

impl WriteTx {
    fn turn(&self) -> &Turn {
        self.0.as_ref().expect("a write transaction holds the writer until it ends")
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.turn().writer.conn
    }

    /// Releases the savepoint into the batch and returns once the batch's
    /// COMMIT has reached the disk.
    pub(crate) async fn commit(mut self) -> Outcome {
        let mut turn = self.0.take().expect("a write transaction holds the writer until it ends");
        if let Err(e) = turn.writer.execute("RELEASE uc") {
            turn.roll_back();
            return Err(e);
        }
        let (sender, outcome) = oneshot::channel();
        turn.writer.batch.as_mut().expect("a use case runs inside a batch").join(sender);
        turn.end();
        outcome.await.unwrap_or_else(|_| Err(DbError::Other("the commit batch was dropped".into())))
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(turn) = self.0.take() {
            turn.roll_back();
        }
    }
}
