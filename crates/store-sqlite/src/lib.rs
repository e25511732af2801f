//! The embedded SQLite backend, the default for a single clinic on one box.
//!
//! **One writer.** SQLite allows one writer at a time, so Circles embraces
//! that: every write use case runs on the one writer connection, taken under
//! an async lock, and the batch it runs in starts with `BEGIN IMMEDIATE`,
//! taking the database's write lock before its first read. A use case's
//! checks (is this therapist free?) and its writes therefore see no
//! interleaving — which is how SQLite upholds the no-double-booking
//! invariant. Reads run concurrently on a small pool of reader connections;
//! under WAL each sees the last committed state and never blocks the writer.
//!
//! **In-thread statements.** rusqlite is synchronous and a statement is
//! microseconds of CPU, so statements run right on the calling task's thread
//! instead of hopping to a connection thread and back (two context switches
//! per statement, which dominated a booking's cost). Only what can wait on
//! the disk or on another process — `BEGIN IMMEDIATE` and `COMMIT` — runs
//! under `block_in_place`, so the runtime moves other tasks off the thread.
//!
//! **Group commit.** A durable commit is an fsync, which costs far more than a
//! use case's statements. So the writer keeps one outer transaction (a
//! *batch*) open across consecutive use cases, and each use case runs inside
//! its own `SAVEPOINT`: if it fails, rolling back to its savepoint undoes
//! exactly its statements and leaves the batch intact for the others (a
//! failed statement never poisons anyone else's work). A use case that
//! commits releases its savepoint into the batch and hands the writer to the
//! next; the batch's `COMMIT` is issued by the last use case out — the one
//! that sees nobody else waiting for the writer — or once the batch holds 64
//! use cases or its first has waited 5 ms (`writer.rs` shows why this always
//! ends). Each use case's `commit()` returns only after the `COMMIT` of its
//! batch has succeeded, and if that fails every use case in the batch gets
//! the error: a booking is confirmed only once it is on disk, exactly as if
//! it had committed alone. Use cases later in a batch see the work of earlier
//! ones, which is safe because they are confirmed only together. (A use case
//! that fails returns at once; should its batch's `COMMIT` then fail, a
//! refusal may have rested on work that never committed — a spurious
//! conflict, never a double booking.)
//!
//! Parameters are stored as follows: UUIDs as hyphenated lowercase TEXT,
//! instants as INTEGER microseconds since the Unix epoch, dates as TEXT
//! `YYYY-MM-DD`, booleans as INTEGER 0/1, bytes as BLOB.

pub mod baseline;
mod migrate;
mod reader;
mod statement;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use circles_store::sql::db::{Backend, DbError, Dialect, Executor, Query, Transaction};
use rusqlite::Connection;
use rusqlite::ffi;
use tokio::runtime::{Handle, RuntimeFlavor};

pub use statement::SqliteRecord;

use reader::{ReadPool, ReadTx};
use writer::{WriteSide, WriteTx};

/// How durable a commit is. `Full` (the default) syncs the write-ahead log on
/// every commit, so a confirmed booking survives power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub durability: Durability,
    pub read_connections: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { durability: Durability::Full, read_connections: 8 }
    }
}

pub struct SqliteBackend {
    writer: WriteSide,
    readers: Arc<ReadPool>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `url`, e.g.
    /// `sqlite://circles.db`.
    pub async fn connect(url: &str, options: &SqliteOptions) -> Result<Self, DbError> {
        let path = database_path(url)?;
        let writer = open_connection(&path, options.durability)?;
        let readers = (0..options.read_connections.max(1))
            .map(|_| {
                let reader = open_connection(&path, options.durability)?;
                // As on PostgreSQL, a read transaction cannot write.
                reader.pragma_update(None, "query_only", true).map_err(map_err)?;
                Ok(reader)
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Self { writer: WriteSide::new(writer), readers: ReadPool::new(readers) })
    }

    /// Commits what is pending, checkpoints the WAL and closes the readers;
    /// the backend refuses work afterwards.
    pub async fn close(&self) {
        self.readers.close();
        self.writer.close().await;
    }

    /// How many batches have been committed: with concurrent writers, fewer
    /// than the use cases they contain.
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }
}

/// The file named by a `sqlite://PATH` or `sqlite:PATH` URL. The only query
/// option accepted is `mode=rwc` (the database is always created if missing).
fn database_path(url: &str) -> Result<PathBuf, DbError> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Err(DbError::Other(
            "an in-memory SQLite database cannot be shared between the writer and the readers; use a file".into(),
        ));
    }
    let bad_url = |why: &str| DbError::Other(format!("bad SQLite URL {url:?}: {why}"));
    let rest =
        url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).ok_or_else(|| bad_url("not sqlite:"))?;
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(option) = options.split('&').find(|o| !o.is_empty() && *o != "mode=rwc") {
        return Err(bad_url(&format!("unsupported option {option:?}")));
    }
    if path.is_empty() {
        return Err(bad_url("no file name"));
    }
    Ok(PathBuf::from(path))
}

/// A connection with the pragmas every Circles connection uses.
fn open_connection(path: &std::path::Path, durability: Durability) -> Result<Connection, DbError> {
    let conn = Connection::open(path).map_err(map_err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(map_err)?;
    let journal: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(map_err)?;
    if !journal.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal, "SQLite could not switch to WAL; readers will block the writer");
    }
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous).map_err(map_err)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(map_err)?;
    // A use case's savepoint journals every page it changes that its batch
    // had already changed; kept in a temporary file that is megabytes of
    // writes a second, in memory it is a copy.
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// Runs `work`, which may wait on the disk or on another process's lock,
/// without stalling the other tasks of this runtime thread.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        // A single-threaded runtime has no other thread to hand its tasks to.
        _ => work(),
    }
}

impl Backend for SqliteBackend {
    type Tx = SqliteTx;

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn begin_write(&self) -> Result<SqliteTx, DbError> {
        Ok(SqliteTx(Inner::Write(self.writer.begin().await?)))
    }

    async fn begin_read(&self) -> Result<SqliteTx, DbError> {
        Ok(SqliteTx(Inner::Read(self.readers.begin().await?)))
    }

    async fn ping(&self) -> Result<(), DbError> {
        let mut tx = self.begin_read().await?;
        tx.execute(Query::new("SELECT 1")).await?;
        tx.commit().await
    }

    async fn migrate(&self) -> Result<(), DbError> {
        self.writer.exclusive(migrate::apply).await?
    }
}

/// A write use case (inside its savepoint of the writer's batch) or a read
/// transaction on a reader connection.
pub struct SqliteTx(Inner);

enum Inner {
    Write(WriteTx),
    Read(ReadTx),
}

impl SqliteTx {
    fn conn(&self) -> Result<&Connection, DbError> {
        let conn = match &self.0 {
            Inner::Write(tx) => tx.conn(),
            Inner::Read(tx) => tx.conn(),
        };
        // SQLite abandons a transaction by itself after some errors (I/O, a
        // full disk); a statement must never then run outside it.
        if conn.is_autocommit() {
            return Err(DbError::Other("the transaction was rolled back after an earlier error".into()));
        }
        Ok(conn)
    }
}

impl Executor for SqliteTx {
    type Row = SqliteRecord;

    async fn execute(&mut self, q: Query) -> Result<u64, DbError> {
        statement::execute(self.conn()?, q)
    }

    async fn fetch_all(&mut self, q: Query) -> Result<Vec<SqliteRecord>, DbError> {
        statement::fetch(self.conn()?, q, usize::MAX)
    }

    async fn fetch_optional(&mut self, q: Query) -> Result<Option<SqliteRecord>, DbError> {
        Ok(statement::fetch(self.conn()?, q, 1)?.pop())
    }
}

impl Transaction for SqliteTx {
    async fn commit(self) -> Result<(), DbError> {
        match self.0 {
            Inner::Write(tx) => tx.commit().await,
            Inner::Read(tx) => tx.commit(),
        }
    }
}

fn map_err(e: rusqlite::Error) -> DbError {
    let message = e.to_string();
    let Some(code) = e.sqlite_error().map(|e| e.extended_code) else {
        return DbError::Other(message);
    };
    match code {
        _ if matches!(code & 0xff, ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED) => DbError::Retryable(message),
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => DbError::Unique(message),
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => DbError::ForeignKey(message),
        ffi::SQLITE_CONSTRAINT_CHECK | ffi::SQLITE_CONSTRAINT_NOTNULL => DbError::Check(message),
        _ if matches!(code & 0xff, ffi::SQLITE_IOERR | ffi::SQLITE_CANTOPEN | ffi::SQLITE_FULL) => {
            DbError::Unavailable(message)
        }
        _ => DbError::Other(message),
    }
}
