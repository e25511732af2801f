//! What is particular to the SQLite backend: group commit, placeholder
//! rewriting, storage forms and migrations. The behaviour both backends
//! share is proved by the contract suite in `circles-store`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use circles_store::sql::db::{Backend, DbError, Executor, Row, Transaction, sql};
use circles_store_sqlite::{SqliteBackend, SqliteOptions};
use jiff::Timestamp;
use jiff::civil::date;
use uuid::Uuid;

/// A database file in a directory of its own, removed afterwards.
struct TestFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TestFile {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("test.db");
        Self { _dir: dir, path }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    async fn backend(&self) -> SqliteBackend {
        SqliteBackend::connect(&self.url(), &SqliteOptions::default()).await.expect("open SQLite")
    }

    /// A backend with a `notes` table whose bodies are unique.
    async fn backend_with_notes(&self) -> SqliteBackend {
        let backend = self.backend().await;
        let mut tx = backend.begin_write().await.unwrap();
        tx.execute(sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)")).await.unwrap();
        tx.commit().await.unwrap();
        backend
    }

    /// A connection of its own, opened now: it sees only what is on disk.
    fn fresh_connection(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open SQLite")
    }

    fn notes(&self) -> Vec<String> {
        let conn = self.fresh_connection();
        let mut statement = conn.prepare("SELECT body FROM notes ORDER BY body").unwrap();
        statement.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }
}

async fn add_note(backend: &SqliteBackend, body: &str) -> Result<(), DbError> {
    let mut tx = backend.begin_write().await?;
    tx.execute(sql("INSERT INTO notes (body) VALUES ($1)").bind(body)).await?;
    tx.commit().await
}

async fn visible_notes(backend: &SqliteBackend) -> i64 {
    let mut tx = backend.begin_read().await.unwrap();
    let count = tx.fetch_one(sql("SELECT COUNT(*) AS n FROM notes")).await.unwrap().int("n").unwrap();
    tx.commit().await.unwrap();
    count
}

/// Polls `future` once: enough to queue it for the writer, or to let a
/// commit hand the writer on and start waiting for its batch.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_use_case_that_fails_inside_a_batch_leaves_the_others_committed() {
    let file = TestFile::new();
    let backend = file.backend_with_notes().await;
    let commits_before = backend.commits();

    let mut first = backend.begin_write().await.unwrap();
    first.execute(sql("INSERT INTO notes (body) VALUES ('first')")).await.unwrap();
    // Queued behind `first`: a use case that breaks the unique constraint
    // (it sees `first`'s row, as it runs later in the same batch) and one
    // that succeeds.
    let mut failing = Box::pin(add_note(&backend, "first"));
    let mut last = Box::pin(add_note(&backend, "last"));
    assert!(poll_once(&mut failing).await.is_pending());
    assert!(poll_once(&mut last).await.is_pending());

    let (first, failing, last) = tokio::join!(first.commit(), failing, last);

    assert!(first.is_ok(), "{first:?}");
    assert!(matches!(failing, Err(DbError::Unique(_))), "{failing:?}");
    assert!(last.is_ok(), "{last:?}");
    assert_eq!(file.notes(), ["first", "last"]);
    assert_eq!(backend.commits() - commits_before, 1, "all three ran in one batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_use_case_that_ends_a_batch_still_commits_it() {
    let file = TestFile::new();
    let backend = file.backend_with_notes().await;

    let mut first = backend.begin_write().await.unwrap();
    first.execute(sql("INSERT INTO notes (body) VALUES ('first')")).await.unwrap();
    let mut failing = Box::pin(add_note(&backend, "first"));
    assert!(poll_once(&mut failing).await.is_pending());
    // `first` leaves the batch open for the queued use case…
    let mut first = Box::pin(first.commit());
    assert!(poll_once(&mut first).await.is_pending());
    assert_eq!(visible_notes(&backend).await, 0, "readers never see a batch before its COMMIT");
    // …which fails, rolls back only itself, and commits the batch as the last one out.
    assert!(matches!(failing.await, Err(DbError::Unique(_))));
    first.await.unwrap();
    assert_eq!(file.notes(), ["first"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_that_stops_waiting_does_not_strand_the_batch() {
    let file = TestFile::new();
    let backend = file.backend_with_notes().await;

    let mut first = backend.begin_write().await.unwrap();
    first.execute(sql("INSERT INTO notes (body) VALUES ('first')")).await.unwrap();
    let mut abandoned = Box::pin(backend.begin_write());
    assert!(poll_once(&mut abandoned).await.is_pending());
    let mut first = Box::pin(first.commit());
    assert!(poll_once(&mut first).await.is_pending(), "the batch is left open for the queued writer");
    drop(abandoned);
    first.await.unwrap();
    assert_eq!(file.notes(), ["first"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_use_cases_all_commit_in_fewer_batches() {
    let file = TestFile::new();
    let backend = Arc::new(file.backend_with_notes().await);
    let commits_before = backend.commits();

    let writers: Vec<_> = (0..100)
        .map(|i| {
            let backend = Arc::clone(&backend);
            tokio::spawn(async move { add_note(&backend, &format!("note {i:03}")).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }

    assert_eq!(file.notes().len(), 100);
    assert_eq!(visible_notes(&backend).await, 100);
    let commits = backend.commits() - commits_before;
    assert!((1..100).contains(&commits), "{commits} COMMITs for 100 use cases");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_returned_commit_is_on_disk() {
    let file = TestFile::new();
    let backend = Arc::new(file.backend_with_notes().await);
    let path = Arc::new(file.path.clone());

    let writers: Vec<_> = (0..20)
        .map(|i| {
            let (backend, path) = (Arc::clone(&backend), Arc::clone(&path));
            tokio::spawn(async move {
                let body = format!("note {i}");
                add_note(&backend, &body).await.unwrap();
                let fresh = rusqlite::Connection::open(path.as_path()).unwrap();
                fresh.query_row("SELECT COUNT(*) FROM notes WHERE body = ?1", [&body], |r| r.get::<_, i64>(0)).unwrap()
            })
        })
        .collect();
    for writer in writers {
        assert_eq!(writer.await.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn numbered_parameters_bind_by_number_outside_quotes() {
    let file = TestFile::new();
    let backend = file.backend_with_notes().await;

    let mut tx = backend.begin_write().await.unwrap();
    tx.execute(sql("INSERT INTO notes (body, id) VALUES ($2, $1)").bind(7_i64).bind("seven")).await.unwrap();
    let row = tx
        .fetch_one(
            sql("SELECT $2 AS second, $1 AS first, $2 AS again, '$1' AS literal, 'it''s $2' AS quoted, \
                 (SELECT body FROM notes WHERE id = $1) AS body")
            .bind(7_i64)
            .bind("two"),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(row.text("second").unwrap(), "two");
    assert_eq!(row.int("first").unwrap(), 7);
    assert_eq!(row.text("again").unwrap(), "two");
    assert_eq!(row.text("literal").unwrap(), "$1");
    assert_eq!(row.text("quoted").unwrap(), "it's $2");
    assert_eq!(row.text("body").unwrap(), "seven");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_are_stored_in_their_documented_forms() {
    let file = TestFile::new();
    let backend = file.backend().await;
    let id = Uuid::now_v7();
    let at = Timestamp::from_microsecond(1_800_000_000_123_456).unwrap();
    let day = date(2027, 3, 2);

    let mut tx = backend.begin_read().await.unwrap();
    let row = tx
        .fetch_one(
            sql("SELECT $1 AS id, typeof($1) AS id_type, $2 AS at, typeof($2) AS at_type, \
                 $3 AS day, typeof($3) AS day_type, $4 AS yes, typeof($4) AS yes_type, \
                 $5 AS bytes, typeof($5) AS bytes_type, $6 AS half, $7 AS missing, typeof($7) AS missing_type")
            .bind(id)
            .bind(at)
            .bind(day)
            .bind(true)
            .bind(&b"\x00\x01"[..])
            .bind(0.5)
            .bind(None::<Timestamp>),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(row.text("id").unwrap(), id.hyphenated().to_string());
    assert_eq!(row.uuid("id").unwrap(), id);
    assert_eq!(row.int("at").unwrap(), 1_800_000_000_123_456);
    assert_eq!(row.time("at").unwrap(), at);
    assert_eq!(row.text("day").unwrap(), "2027-03-02");
    assert_eq!(row.date("day").unwrap(), day);
    assert_eq!(row.int("yes").unwrap(), 1);
    assert!(row.bool("yes").unwrap());
    assert_eq!(row.bytes("bytes").unwrap(), [0, 1]);
    assert_eq!(row.float("half").unwrap(), 0.5);
    assert_eq!(row.opt_time("missing").unwrap(), None);
    let types: Vec<String> = ["id_type", "at_type", "day_type", "yes_type", "bytes_type", "missing_type"]
        .iter()
        .map(|c| row.text(c).unwrap())
        .collect();
    assert_eq!(types, ["text", "integer", "text", "integer", "blob", "null"]);
}

/// Every migration file, `(version, SQL)` in order of version.
fn migration_files() -> Vec<(i64, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut files: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = name.split('_').next().unwrap().parse().unwrap();
            (version, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn latest_version() -> i64 {
    migration_files().last().unwrap().0
}

fn user_version(file: &TestFile) -> i64 {
    file.fresh_connection().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

fn has_table(file: &TestFile, name: &str) -> bool {
    file.fresh_connection()
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
        == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_apply_once_even_from_two_backends_at_once() {
    let file = TestFile::new();
    let (one, two) = (file.backend().await, file.backend().await);
    let (a, b) = tokio::join!(one.migrate(), two.migrate());
    a.unwrap();
    b.unwrap();
    one.migrate().await.unwrap();
    assert_eq!(user_version(&file), latest_version());
    assert!(has_table(&file, "sessions"));
}

/// Builds a database as sqlx's migrator left it, with `applied` migrations.
fn sqlx_database(file: &TestFile, applied: &[(i64, String)]) {
    let conn = file.fresh_connection();
    conn.execute_batch(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .unwrap();
    for (version, migration) in applied {
        conn.execute_batch(migration).unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, 'm', TRUE, x'00', 1)",
            [version],
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_migrated_by_sqlx_is_adopted() {
    let file = TestFile::new();
    sqlx_database(&file, &migration_files());
    // Re-running a migration would fail: its tables exist.
    file.backend().await.migrate().await.unwrap();
    assert_eq!(user_version(&file), latest_version());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partly_migrated_sqlx_database_gets_the_rest() {
    let file = TestFile::new();
    sqlx_database(&file, &migration_files()[..1]);
    file.backend().await.migrate().await.unwrap();
    assert_eq!(user_version(&file), latest_version());
    assert!(has_table(&file, "sessions"));
}

#[tokio::test]
async fn in_memory_databases_are_refused() {
    for url in ["sqlite::memory:", "sqlite://file.db?mode=memory"] {
        assert!(SqliteBackend::connect(url, &SqliteOptions::default()).await.is_err(), "{url}");
    }
}
