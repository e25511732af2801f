//! The PostgreSQL backend, for production and for several `circles serve`
//! instances sharing one database.
//!
//! Transactions run at READ COMMITTED. The no-double-booking invariant is an
//! exclusion constraint on busy intervals, so it holds however requests from
//! different servers interleave; row locks (`SELECT … FOR UPDATE`) order the
//! read-modify-write steps, and deadlocks or serialisation failures are
//! reported as retryable so the store runs the transaction again.

pub mod baseline;
mod deferred;
pub mod listen;

use std::time::Duration;

use circles_store::sql::db::{Backend, DbError, Dialect, Executor, Query, Row, Transaction, Value};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Postgres, SqlStr};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub max_connections: u32,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self { max_connections: 16 }
    }
}

pub struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    pub async fn connect(url: &str, options: &PostgresOptions) -> Result<Self, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(30))
            // A ping before every use is a round trip per statement; a
            // connection that broke is found by its next statement instead
            // (that request fails and the pool replaces the connection).
            .test_before_acquire(false)
            .connect(url)
            .await
            .map_err(map_err)?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn migrator() -> Migrator {
    let migration = |version, description: &'static str, sql: &'static str| {
        Migration::new(version, description.into(), MigrationType::Simple, SqlStr::from_static(sql), false)
    };
    Migrator::with_migrations(vec![
        migration(1, "foundation", include_str!("../migrations/0001_foundation.sql")),
        migration(2, "booking", include_str!("../migrations/0002_booking.sql")),
        migration(3, "groups", include_str!("../migrations/0003_groups.sql")),
        migration(4, "series", include_str!("../migrations/0004_series.sql")),
        migration(5, "availability", include_str!("../migrations/0005_availability.sql")),
        migration(6, "audit sealing", include_str!("../migrations/0006_audit_sealing.sql")),
        migration(7, "org invitations", include_str!("../migrations/0007_org_invitations.sql")),
        migration(8, "delivery", include_str!("../migrations/0008_delivery.sql")),
        migration(9, "departures", include_str!("../migrations/0009_departures.sql")),
        migration(13, "waitlist", include_str!("../migrations/0013_waitlist.sql")),
        migration(16, "reach", include_str!("../migrations/0016_reach.sql")),
        migration(17, "offer links", include_str!("../migrations/0017_offer_links.sql")),
        migration(18, "events", include_str!("../migrations/0018_events.sql")),
        migration(19, "data keys", include_str!("../migrations/0019_data_keys.sql")),
        migration(20, "check-ins", include_str!("../migrations/0020_check_ins.sql")),
        migration(21, "waitlist versions", include_str!("../migrations/0021_waitlist_versions.sql")),
        migration(24, "unsubscribe links", include_str!("../migrations/0024_unsubscribe_links.sql")),
        migration(25, "check-in window events", include_str!("../migrations/0025_check_in_window_events.sql")),
        migration(26, "account mail", include_str!("../migrations/0026_account_mail.sql")),
        migration(27, "reminders", include_str!("../migrations/0027_reminders.sql")),
        migration(28, "data key generations", include_str!("../migrations/0028_data_key_generations.sql")),
        migration(29, "sms", include_str!("../migrations/0029_sms.sql")),
        migration(30, "notifications by session", include_str!("../migrations/0030_notifications_by_session.sql")),
    ])
}

impl Backend for PostgresBackend {
    type Tx = PgTx;

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn begin_write(&self) -> Result<PgTx, DbError> {
        Ok(PgTx::new(Connection::Transaction(self.pool.begin().await.map_err(map_err)?)))
    }

    async fn begin_read(&self) -> Result<PgTx, DbError> {
        Ok(PgTx::new(Connection::Transaction(
            self.pool
                .begin_with("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(map_err)?,
        )))
    }

    async fn read_single(&self) -> Result<PgTx, DbError> {
        Ok(PgTx::new(Connection::Single(self.pool.acquire().await.map_err(map_err)?)))
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop).map_err(map_err)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        // The migrator takes an advisory lock, so several servers starting at
        // once apply each migration exactly once.
        migrator().run(&self.pool).await.map_err(|e| DbError::Other(format!("migration failed: {e}")))
    }
}

/// A transaction, or a pooled connection for one autocommitted read, with
/// the writes it holds back ([`Executor::defer`]).
pub struct PgTx {
    connection: Connection,
    deferred: Vec<Query>,
}

enum Connection {
    Transaction(sqlx::Transaction<'static, Postgres>),
    Single(sqlx::pool::PoolConnection<Postgres>),
}

impl PgTx {
    fn new(connection: Connection) -> Self {
        Self { connection, deferred: Vec::new() }
    }

    fn connection(&mut self) -> &mut sqlx::PgConnection {
        match &mut self.connection {
            Connection::Transaction(tx) => tx,
            Connection::Single(conn) => conn,
        }
    }

    /// `q`, carrying the held writes if it may, after sending them on their
    /// own if it may not.
    async fn with_deferred(&mut self, q: Query) -> Result<Query, DbError> {
        if self.deferred.is_empty() {
            return Ok(q);
        }
        if q.independent && self.deferred_args() + q.args.len() <= deferred::MAX_ARGS {
            return Ok(deferred::combine(std::mem::take(&mut self.deferred), q));
        }
        self.send_deferred().await?;
        Ok(q)
    }

    fn deferred_args(&self) -> usize {
        self.deferred.iter().map(|q| q.args.len()).sum()
    }

    /// Sends every held write, as one statement.
    async fn send_deferred(&mut self) -> Result<(), DbError> {
        let Some(last) = self.deferred.pop() else {
            return Ok(());
        };
        let writes = std::mem::take(&mut self.deferred);
        let q = if writes.is_empty() { last } else { deferred::combine(writes, last) };
        build(q).execute(self.connection()).await.map(drop).map_err(map_err)
    }
}

fn build(q: Query) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    let mut query = sqlx::query(AssertSqlSafe(q.sql));
    for arg in q.args {
        query = match arg {
            Value::Bool(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Float(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
            Value::Uuid(v) => query.bind(v),
            Value::Time(v) => query.bind(v.map(jiff_sqlx::Timestamp::from)),
            Value::Date(v) => query.bind(v.map(jiff_sqlx::Date::from)),
        };
    }
    query
}

impl Executor for PgTx {
    type Row = PgRecord;

    async fn execute(&mut self, q: Query) -> Result<u64, DbError> {
        let q = self.with_deferred(q).await?;
        build(q).execute(self.connection()).await.map(|r| r.rows_affected()).map_err(map_err)
    }

    async fn fetch_all(&mut self, q: Query) -> Result<Vec<PgRecord>, DbError> {
        let q = self.with_deferred(q).await?;
        let rows = build(q).fetch_all(self.connection()).await.map_err(map_err)?;
        Ok(rows.into_iter().map(PgRecord).collect())
    }

    async fn fetch_optional(&mut self, q: Query) -> Result<Option<PgRecord>, DbError> {
        let q = self.with_deferred(q).await?;
        Ok(build(q).fetch_optional(self.connection()).await.map_err(map_err)?.map(PgRecord))
    }

    async fn defer(&mut self, q: Query) -> Result<(), DbError> {
        if self.deferred_args() + q.args.len() > deferred::MAX_ARGS {
            self.send_deferred().await?;
        }
        self.deferred.push(q);
        Ok(())
    }
}

impl Transaction for PgTx {
    async fn commit(mut self) -> Result<(), DbError> {
        self.send_deferred().await?;
        match self.connection {
            Connection::Transaction(tx) => tx.commit().await.map_err(map_err),
            Connection::Single(_) => Ok(()),
        }
    }
}

pub struct PgRecord(PgRow);

impl PgRecord {
    fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(&'r self, col: &str) -> Result<T, DbError> {
        use sqlx::Row as _;
        self.0.try_get(col).map_err(|e| DbError::Decode(format!("{col}: {e}")))
    }

    /// PostgreSQL is strict about integer widths; accept any of them.
    fn any_int(&self, col: &str) -> Result<Option<i64>, DbError> {
        self.get::<Option<i64>>(col)
            .or_else(|_| self.get::<Option<i32>>(col).map(|v| v.map(i64::from)))
            .or_else(|_| self.get::<Option<i16>>(col).map(|v| v.map(i64::from)))
    }
}

impl Row for PgRecord {
    fn bool(&self, col: &str) -> Result<bool, DbError> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64, DbError> {
        self.any_int(col)?.ok_or_else(|| DbError::Decode(format!("{col} is null")))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, DbError> {
        self.any_int(col)
    }
    fn float(&self, col: &str) -> Result<f64, DbError> {
        self.get::<f64>(col).or_else(|_| self.get::<f32>(col).map(f64::from))
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
        self.get(col)
    }
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>, DbError> {
        Ok(self.get::<Option<jiff_sqlx::Timestamp>>(col)?.map(|t| t.to_jiff()))
    }
    fn opt_date(&self, col: &str) -> Result<Option<Date>, DbError> {
        Ok(self.get::<Option<jiff_sqlx::Date>>(col)?.map(|d| d.to_jiff()))
    }
}

fn map_err(e: sqlx::Error) -> DbError {
    match e {
        sqlx::Error::Database(db) => {
            let name = db.constraint().unwrap_or_default().to_owned();
            let detail = if name.is_empty() { db.message().to_owned() } else { name };
            match db.code().as_deref() {
                Some("23505") => DbError::Unique(detail),
                Some("23503") => DbError::ForeignKey(detail),
                Some("23P01") => DbError::Exclusion(detail),
                Some("23514" | "23502") => DbError::Check(detail),
                Some("40001" | "40P01") => DbError::Retryable(db.message().to_owned()),
                Some("55P03") => DbError::LockNotAvailable(db.message().to_owned()),
                _ => DbError::Other(db.message().to_owned()),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => DbError::Unavailable(e.to_string()),
        other => DbError::Other(other.to_string()),
    }
}
