//! The seam between the one SQL implementation of [`crate::Store`] and the
//! two databases.
//!
//! Use cases are written once against these traits with portable SQL
//! (`$1`-style parameters work on both: SQLite maps `$N` to argument N). A
//! backend supplies connections, transactions, typed parameter binding and
//! typed column reads, and maps its errors into [`DbError`]. Where the two
//! databases really differ — row locks, the exclusion constraint, job
//! claiming — the SQL asks the [`Dialect`].

use std::borrow::Cow;
use std::future::Future;

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

/// A parameter value. Every variant carries its type even when null, so
/// PostgreSQL never has to guess a parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(Option<bool>),
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Uuid(Option<Uuid>),
    Time(Option<Timestamp>),
    Date(Option<Date>),
}

macro_rules! value_from {
    ($variant:ident: $($t:ty => $conv:expr),+ $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(Some(($conv)(v)))
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(v.map($conv))
            }
        }
    )+};
}

value_from!(Bool: bool => |v| v);
value_from!(Int: i64 => |v| v, i32 => i64::from, u32 => i64::from);
value_from!(Float: f64 => |v| v);
value_from!(Text: String => |v| v, &str => str::to_owned, &String => String::clone);
value_from!(Bytes: Vec<u8> => |v| v, &[u8] => <[u8]>::to_vec);
value_from!(Uuid: Uuid => |v| v);
value_from!(Time: Timestamp => |v| v);
value_from!(Date: Date => |v| v);

impl From<[u8; 32]> for Value {
    fn from(v: [u8; 32]) -> Self {
        Value::Bytes(Some(v.to_vec()))
    }
}

/// SQL text with its parameters.
#[derive(Debug, Clone)]
pub struct Query {
    pub sql: Cow<'static, str>,
    pub args: Vec<Value>,
    /// Reads nothing that the transaction's deferred writes wrote, so a
    /// backend may send those writes with it ([`Executor::defer`]).
    pub independent: bool,
}

impl Query {
    pub fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self { sql: sql.into(), args: Vec::new(), independent: false }
    }

    /// Marks a statement that reads none of the tables the writes deferred
    /// before it write (it would not see them if they travel with it).
    pub fn independent_of_deferred(mut self) -> Self {
        self.independent = true;
        self
    }

    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Binds every value of `values`, for an `IN (...)` list built with
    /// [`placeholders`].
    pub fn bind_all<V: Into<Value>>(mut self, values: impl IntoIterator<Item = V>) -> Self {
        self.args.extend(values.into_iter().map(Into::into));
        self
    }
}

/// Shorthand for [`Query::new`].
pub fn sql(text: impl Into<Cow<'static, str>>) -> Query {
    Query::new(text)
}

/// `$first, $first+1, …` for `count` parameters: the inside of an `IN (…)`.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// What a database reported, in terms the use cases can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("foreign key violated: {0}")]
    ForeignKey(String),
    /// PostgreSQL's exclusion constraint (23P01): overlapping busy time.
    #[error("exclusion constraint violated: {0}")]
    Exclusion(String),
    #[error("check constraint violated: {0}")]
    Check(String),
    /// Deadlock, serialisation failure or a busy database: safe to retry the
    /// whole transaction.
    #[error("transient database conflict: {0}")]
    Retryable(String),
    /// A row asked for without waiting (`NOWAIT`) is held by another
    /// transaction.
    #[error("row held by another transaction: {0}")]
    LockNotAvailable(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected column value: {0}")]
    Decode(String),
    #[error("database error: {0}")]
    Other(String),
}

/// A row, read by column name.
pub trait Row: Send + Sync {
    fn bool(&self, col: &str) -> Result<bool, DbError>;
    fn int(&self, col: &str) -> Result<i64, DbError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, DbError>;
    fn float(&self, col: &str) -> Result<f64, DbError>;
    fn text(&self, col: &str) -> Result<String, DbError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, DbError>;
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, DbError>;
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, DbError>;
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>, DbError>;
    fn opt_date(&self, col: &str) -> Result<Option<Date>, DbError>;

    fn bytes(&self, col: &str) -> Result<Vec<u8>, DbError> {
        self.opt_bytes(col)?.ok_or_else(|| null_in(col))
    }
    fn uuid(&self, col: &str) -> Result<Uuid, DbError> {
        self.opt_uuid(col)?.ok_or_else(|| null_in(col))
    }
    fn time(&self, col: &str) -> Result<Timestamp, DbError> {
        self.opt_time(col)?.ok_or_else(|| null_in(col))
    }
    fn date(&self, col: &str) -> Result<Date, DbError> {
        self.opt_date(col)?.ok_or_else(|| null_in(col))
    }
    /// A typed identifier such as `PersonId`.
    fn id<T: From<Uuid>>(&self, col: &str) -> Result<T, DbError>
    where
        Self: Sized,
    {
        self.uuid(col).map(T::from)
    }
    fn opt_id<T: From<Uuid>>(&self, col: &str) -> Result<Option<T>, DbError>
    where
        Self: Sized,
    {
        Ok(self.opt_uuid(col)?.map(T::from))
    }
    /// A column holding a value parsed with `FromStr`, such as a role.
    fn parsed<T: std::str::FromStr>(&self, col: &str) -> Result<T, DbError>
    where
        Self: Sized,
    {
        let text = self.text(col)?;
        text.parse().map_err(|_| DbError::Decode(format!("{col}: unexpected value {text:?}")))
    }
}

fn null_in(col: &str) -> DbError {
    DbError::Decode(format!("{col} is null"))
}

/// Runs statements: a transaction, read-only or read-write.
pub trait Executor: Send {
    type Row: Row;

    fn execute(&mut self, q: Query) -> impl Future<Output = Result<u64, DbError>> + Send;
    fn fetch_all(&mut self, q: Query) -> impl Future<Output = Result<Vec<Self::Row>, DbError>> + Send;
    fn fetch_optional(&mut self, q: Query) -> impl Future<Output = Result<Option<Self::Row>, DbError>> + Send;

    /// A write whose only outcome of interest is that it succeeds (an
    /// `INSERT` with nothing read back). A backend may hold it and send it
    /// with the transaction's next statement: PostgreSQL sends every held
    /// write and that statement as one statement of data-modifying CTEs,
    /// one round trip instead of several. The next statement not marked
    /// [`Query::independent_of_deferred`] first sends the held writes on
    /// their own, and commit sends what is left, so a later read still sees
    /// every earlier write. A failure of a held write (a clash with the
    /// exclusion constraint, say) surfaces from that later statement or
    /// from commit; callers therefore defer only writes whose errors they
    /// pass on as they are. SQLite, in-process, runs it at once.
    fn defer(&mut self, q: Query) -> impl Future<Output = Result<(), DbError>> + Send {
        async move { self.execute(q).await.map(drop) }
    }

    /// Whether notifications written in this transaction also owe
    /// deliveries. Always, except in a store opened
    /// [`without_outbox`](super::SqlStore::without_outbox) to measure what
    /// the outbox costs.
    fn writes_outbox(&self) -> bool {
        true
    }

    /// The store's keys, for sealing and opening clinical text inside this
    /// transaction (`rows::sealed`). `None` where the store was opened
    /// without a master key, and on a backend's own transactions.
    fn keyring(&self) -> Option<&crate::keyring::Keyring> {
        None
    }

    /// What this transaction has checked of organisations' keys (see
    /// `rows::sealed`); `None` wherever [`Executor::keyring`] is.
    fn tx_keys(&mut self) -> Option<&mut crate::keyring::TxKeys> {
        None
    }

    fn fetch_one(&mut self, q: Query) -> impl Future<Output = Result<Self::Row, DbError>> + Send {
        async move {
            let text = q.sql.clone();
            self.fetch_optional(q).await?.ok_or_else(|| DbError::Other(format!("expected a row from: {text}")))
        }
    }
}

pub trait Transaction: Executor {
    /// Dropping a transaction without committing rolls it back.
    fn commit(self) -> impl Future<Output = Result<(), DbError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row locks for read-modify-write inside a transaction. SQLite has none
    /// and needs none: its one writer holds the database lock from `BEGIN
    /// IMMEDIATE` to commit.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// A shared row lock: other transactions may read and share-lock the
    /// row, but one that updates it waits until this one ends.
    pub fn for_share(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR SHARE",
        }
    }

    /// Like [`Dialect::for_update`], failing at once with
    /// [`DbError::LockNotAvailable`] if another transaction holds a row.
    pub fn for_update_nowait(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE NOWAIT",
        }
    }

    /// Like [`Dialect::for_update`], skipping rows another transaction holds:
    /// how job runners on several servers share one queue.
    pub fn for_update_skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// `column` as a value a condition tests but no index lookup starts
    /// from. SQLite plans without statistics and reads `seq IS NULL` on a
    /// unique `(org_id, seq)` index as a lookup of one row, which can make
    /// it walk every such row for each row of a join; its unary `+` (which
    /// leaves the value as it is) is its documented way to keep a term off
    /// the indexes. PostgreSQL plans from statistics and keeps the column.
    pub fn unindexed(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("+{column}"),
            Dialect::Postgres => column.to_owned(),
        }
    }

    /// Whether reading many small rows costs more than folding them into
    /// JSON in the database first (see [`Dialect::json_rows`]). sqlx hands
    /// SQLite's rows over one at a time from a worker thread, microseconds
    /// each; PostgreSQL's binary rows are cheap and building JSON there is not.
    pub fn folds_rows_into_json(self) -> bool {
        matches!(self, Dialect::Sqlite)
    }

    /// An aggregate that folds a `GROUP BY` group into one JSON text: an
    /// array holding, per row, the array of `columns`.
    pub fn json_rows(self, columns: &[&str]) -> String {
        let list = columns.join(", ");
        match self {
            Dialect::Sqlite => format!("json_group_array(json_array({list}))"),
            Dialect::Postgres => format!("CAST(json_agg(json_build_array({list})) AS TEXT)"),
        }
    }

    /// A text column compared byte by byte, as Rust compares strings, so
    /// that a list sorted by name pages the same way on both backends
    /// (SQLite compares bytes already; PostgreSQL follows its locale).
    pub fn bytewise(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("{column} COLLATE \"C\""),
        }
    }

    /// An instant column as whole microseconds since the Unix epoch, which
    /// is how SQLite stores it already.
    pub fn micros(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"),
        }
    }
}

/// Locks one row of `table` (PostgreSQL; SQLite's writer already excludes
/// everyone) and reports whether it exists.
///
/// Lock first and read afterwards in a separate statement: under READ
/// COMMITTED a `SELECT … FOR UPDATE` that had to wait still computes
/// subqueries (counts of seats, say) from the snapshot taken before the wait.
pub async fn lock_row<E: Executor, K: Into<Value>>(
    tx: &mut E,
    dialect: Dialect,
    table: &'static str,
    org: impl Into<Value>,
    id: K,
) -> Result<bool, DbError> {
    let q = sql(format!("SELECT 1 AS found FROM {table} WHERE org_id = $1 AND id = $2{}", dialect.for_update()))
        .bind(org)
        .bind(id);
    Ok(tx.fetch_optional(q).await?.is_some())
}

pub trait Backend: Send + Sync + 'static {
    type Tx: Transaction;

    fn dialect(&self) -> Dialect;
    /// A transaction that may write. On SQLite this is `BEGIN IMMEDIATE` on
    /// the single writer connection, so the whole use case is serialised.
    fn begin_write(&self) -> impl Future<Output = Result<Self::Tx, DbError>> + Send;
    /// A transaction that only reads, from the read pool.
    fn begin_read(&self) -> impl Future<Output = Result<Self::Tx, DbError>> + Send;
    /// A connection for one read statement. It needs no snapshot, so a
    /// backend may skip `BEGIN`/`COMMIT` (two round trips on PostgreSQL);
    /// by default it is a read transaction.
    fn read_single(&self) -> impl Future<Output = Result<Self::Tx, DbError>> + Send {
        self.begin_read()
    }
    fn ping(&self) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Applies this backend's migrations.
    fn migrate(&self) -> impl Future<Output = Result<(), DbError>> + Send;
}

/// One multi-row INSERT.
pub async fn insert_rows<E: Executor>(
    tx: &mut E,
    table_and_columns: &str,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<(), DbError> {
    if let Some(q) = rows_insert(table_and_columns, rows) {
        tx.execute(q).await?;
    }
    Ok(())
}

/// [`insert_rows`] as a deferred write ([`Executor::defer`]).
pub async fn defer_rows<E: Executor>(
    tx: &mut E,
    table_and_columns: &str,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<(), DbError> {
    if let Some(q) = rows_insert(table_and_columns, rows) {
        tx.defer(q).await?;
    }
    Ok(())
}

fn rows_insert(table_and_columns: &str, rows: impl Iterator<Item = Vec<Value>>) -> Option<Query> {
    let mut values = Vec::new();
    let mut args = Vec::new();
    for row in rows {
        values.push(format!("({})", placeholders(args.len() + 1, row.len())));
        args.extend(row);
    }
    if values.is_empty() {
        return None;
    }
    let mut q = Query::new(format!("INSERT INTO {table_and_columns} VALUES {}", values.join(", ")));
    q.args = args;
    Some(q)
}
