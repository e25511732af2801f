//! The embedded SQLite backend, the default for a single clinic on one box.
//!
//! SQLite allows one writer at a time, so Circles embraces that: all writes
//! go through a pool of exactly one connection and every write transaction
//! starts with `BEGIN IMMEDIATE`, taking the database's write lock before its
//! first read. A use case's checks (is this therapist free?) and its writes
//! therefore see no interleaving — which is how SQLite upholds the
//! no-double-booking invariant. Reads run concurrently on a separate pool
//! thanks to WAL.

pub mod baseline;

use std::str::FromStr;
use std::time::Duration;

use circles_store::sql::db::{Backend, DbError, Dialect, Executor, Query, Row, Transaction, Value};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, SqlStr, Sqlite};
use uuid::Uuid;

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
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `url`, e.g.
    /// `sqlite://circles.db`.
    pub async fn connect(url: &str, options: &SqliteOptions) -> Result<Self, DbError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(DbError::Other(
                "an in-memory SQLite database cannot be shared between the writer and the readers; use a file".into(),
            ));
        }
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| DbError::Other(format!("bad SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect.clone())
            .await
            .map_err(map_err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(map_err)?;
        Ok(Self { writer, reader })
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

fn migrator() -> Migrator {
    let migration = |version, description: &'static str, sql: &'static str| {
        Migration::new(version, description.into(), MigrationType::Simple, SqlStr::from_static(sql), false)
    };
    Migrator::with_migrations(vec![
        migration(1, "foundation", include_str!("../migrations/0001_foundation.sql")),
        migration(2, "booking", include_str!("../migrations/0002_booking.sql")),
        migration(4, "availability", include_str!("../migrations/0004_availability.sql")),
    ])
}

impl Backend for SqliteBackend {
    type Tx = SqliteTx;

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn begin_write(&self) -> Result<SqliteTx, DbError> {
        Ok(SqliteTx(self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?))
    }

    async fn begin_read(&self) -> Result<SqliteTx, DbError> {
        Ok(SqliteTx(self.reader.begin().await.map_err(map_err)?))
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map(drop).map_err(map_err)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        migrator().run(&self.writer).await.map_err(|e| DbError::Other(format!("migration failed: {e}")))
    }
}

pub struct SqliteTx(sqlx::Transaction<'static, Sqlite>);

fn build(q: Query) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
    let mut query = sqlx::query(AssertSqlSafe(q.sql));
    for arg in q.args {
        query = match arg {
            Value::Bool(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
            Value::Uuid(v) => query.bind(v.map(|u| u.hyphenated().to_string())),
            Value::Time(v) => query.bind(v.map(|t| t.as_microsecond())),
            Value::Date(v) => query.bind(v.map(|d| d.to_string())),
        };
    }
    query
}

impl Executor for SqliteTx {
    type Row = SqliteRecord;

    async fn execute(&mut self, q: Query) -> Result<u64, DbError> {
        build(q).execute(&mut *self.0).await.map(|r| r.rows_affected()).map_err(map_err)
    }

    async fn fetch_all(&mut self, q: Query) -> Result<Vec<SqliteRecord>, DbError> {
        let rows = build(q).fetch_all(&mut *self.0).await.map_err(map_err)?;
        Ok(rows.into_iter().map(SqliteRecord).collect())
    }

    async fn fetch_optional(&mut self, q: Query) -> Result<Option<SqliteRecord>, DbError> {
        Ok(build(q).fetch_optional(&mut *self.0).await.map_err(map_err)?.map(SqliteRecord))
    }
}

impl Transaction for SqliteTx {
    async fn commit(self) -> Result<(), DbError> {
        self.0.commit().await.map_err(map_err)
    }
}

pub struct SqliteRecord(SqliteRow);

impl SqliteRecord {
    fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(&'r self, col: &str) -> Result<T, DbError> {
        use sqlx::Row as _;
        self.0.try_get_unchecked(col).map_err(|e| DbError::Decode(format!("{col}: {e}")))
    }
}

fn decode_err(col: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Decode(format!("{col}: {e}"))
}

impl Row for SqliteRecord {
    fn bool(&self, col: &str) -> Result<bool, DbError> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64, DbError> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, DbError> {
        self.get(col)
    }
    fn float(&self, col: &str) -> Result<f64, DbError> {
        self.get(col)
    }
    fn text(&self, col: &str) -> Result<String, DbError> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, DbError> {
        self.get(col)
    }
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, DbError> {
        self.get(col)
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, DbError> {
        let text: Option<String> = self.get(col)?;
        text.map(|t| Uuid::parse_str(&t).map_err(|e| decode_err(col, e))).transpose()
    }
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>, DbError> {
        let micros: Option<i64> = self.get(col)?;
        micros.map(|m| Timestamp::from_microsecond(m).map_err(|e| decode_err(col, e))).transpose()
    }
    fn opt_date(&self, col: &str) -> Result<Option<Date>, DbError> {
        let text: Option<String> = self.get(col)?;
        text.map(|t| t.parse::<Date>().map_err(|e| decode_err(col, e))).transpose()
    }
}

fn map_err(e: sqlx::Error) -> DbError {
    use sqlx::error::ErrorKind;
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message().to_owned();
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
            let primary_code = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
            if matches!(primary_code, Some(5 | 6)) {
                return DbError::Retryable(message);
            }
            match db.kind() {
                ErrorKind::UniqueViolation => DbError::Unique(message),
                ErrorKind::ForeignKeyViolation => DbError::ForeignKey(message),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => DbError::Check(message),
                _ => DbError::Other(message),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => DbError::Unavailable(e.to_string()),
        other => DbError::Other(other.to_string()),
    }
}
