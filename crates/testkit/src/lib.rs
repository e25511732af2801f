//! A fresh database for every test, on either backend.
//!
//! PostgreSQL tests never skip: if no server answers at
//! `CIRCLES_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and a local cluster cannot be started, the test fails and says how to fix it.

pub mod shard_key;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::{Arc, Mutex};

use circles_domain::Clock;
use circles_domain::sealed::Key;
use circles_store::Store;
use circles_store::sql::SqlStore;
use circles_store_postgres::{PostgresBackend, PostgresOptions};
use circles_store_sqlite::{SqliteBackend, SqliteOptions};
use sqlx::{Connection, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for the life of this value.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
    /// The PostgreSQL stores opened here, which keep every statement they
    /// run: on drop, each must route to one organisation (`shard_key`).
    postgres_stores: Mutex<Vec<Arc<SqlStore<PostgresBackend>>>>,
    /// Holds a file with [`test_master_key`], for `circles` processes a
    /// test starts on this database.
    key_dir: tempfile::TempDir,
}

/// The master key every test store seals clinical text under.
pub fn test_master_key() -> Key {
    Key::from_bytes(*b"circles test master key, 32 byte")
}

fn key_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("master.key"), test_master_key().to_hex()).expect("writing the test master key");
    dir
}

pub fn postgres_admin_url() -> String {
    std::env::var("CIRCLES_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(admin_url: &str, database: &str) -> String {
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let query = admin_url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    let (server, _) = base.rsplit_once('/').expect("a PostgreSQL URL ends with /database");
    format!("{server}/{database}{query}")
}

async fn admin_connection() -> PgConnection {
    static STARTED: OnceLock<()> = OnceLock::new();
    let url = postgres_admin_url();
    match PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(first) => {
            // One attempt to start a local cluster, as on a fresh CI machine
            // where PostgreSQL is installed but not running.
            STARTED.get_or_init(start_local_postgres);
            PgConnection::connect(&url).await.unwrap_or_else(|e| {
                panic!(
                    "\n\nPostgreSQL tests need a server and none answers at {url}\n  ({first}; then {e}).\n\
                     Fix: install and start PostgreSQL (Debian: `apt-get install postgresql` then \
                     `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), \
                     or point CIRCLES_TEST_POSTGRES_URL at a server where the user may create databases.\n"
                )
            })
        }
    }
}

fn start_local_postgres() {
    let Ok(versions) = std::fs::read_dir("/etc/postgresql") else {
        return;
    };
    for version in versions.flatten() {
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &version.file_name().to_string_lossy(), "main", "start"])
            .status();
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("circles.db").display());
                Self {
                    backend,
                    url,
                    _sqlite_dir: Some(dir),
                    postgres_name: None,
                    postgres_stores: Mutex::default(),
                    key_dir: key_dir(),
                }
            }
            Backend::Postgres => {
                let name = format!("circles_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = admin_connection().await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
                let url = with_database(&postgres_admin_url(), &name);
                Self {
                    backend,
                    url,
                    _sqlite_dir: None,
                    postgres_name: Some(name),
                    postgres_stores: Mutex::default(),
                    key_dir: key_dir(),
                }
            }
        }
    }

    /// A file holding [`test_master_key`]: what `master_key_file` names for
    /// a `circles` process a test starts on this database.
    pub fn master_key_file(&self) -> std::path::PathBuf {
        self.key_dir.path().join("master.key")
    }

    /// Opens a migrated store on this database.
    pub async fn store(&self, clock: Arc<dyn Clock>) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite => {
                let backend = SqliteBackend::connect(&self.url, &SqliteOptions::default()).await.expect("open SQLite");
                let store = SqlStore::new(backend, clock).with_master_key(test_master_key());
                store.migrate().await.expect("migrate SQLite");
                Arc::new(store)
            }
            Backend::Postgres => {
                let backend = PostgresBackend::connect(&self.url, &PostgresOptions { max_connections: 32 })
                    .await
                    .expect("open PostgreSQL");
                let store =
                    Arc::new(SqlStore::new(backend, clock).with_master_key(test_master_key()).logging_statements());
                store.migrate().await.expect("migrate PostgreSQL");
                self.postgres_stores.lock().expect("stores").push(store.clone());
                store
            }
        }
    }

    /// Runs raw SQL against the database, bypassing the store — for tests
    /// that tamper with rows or inspect the schema.
    pub async fn execute_raw(&self, statement: &str) {
        match self.backend {
            Backend::Sqlite => self.sqlite_connection().execute_batch(statement).expect("raw SQL"),
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("open PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut conn).await.expect("raw SQL");
            }
        }
    }
}

impl TestDatabase {
    /// Runs one write statement through the store's own backend seam, in a
    /// transaction of its own, so a test sees an error as a use case would
    /// (a unique violation, say, as the store maps it).
    pub async fn write_through_backend(&self, statement: &str) -> Result<u64, circles_store::StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let backend = SqliteBackend::connect(&self.url, &SqliteOptions::default()).await.expect("open SQLite");
                write_one(&backend, statement).await
            }
            Backend::Postgres => {
                let options = PostgresOptions { max_connections: 1 };
                let backend = PostgresBackend::connect(&self.url, &options).await.expect("open PostgreSQL");
                write_one(&backend, statement).await
            }
        }
    }

    /// A connection of its own to this SQLite database, outside the store's
    /// writer and readers; it waits like the store does if the writer is busy.
    fn sqlite_connection(&self) -> rusqlite::Connection {
        let path = self.url.strip_prefix("sqlite://").expect("a sqlite:// URL");
        let conn = rusqlite::Connection::open(path).expect("open SQLite");
        conn.busy_timeout(std::time::Duration::from_secs(10)).expect("busy timeout");
        conn.pragma_update(None, "foreign_keys", true).expect("foreign keys on");
        conn
    }

    /// Runs a query returning one integer, bypassing the store.
    pub async fn scalar(&self, query: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => self.sqlite_connection().query_row(query, [], |r| r.get(0)).expect("scalar query"),
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("open PostgreSQL");
                sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .expect("scalar query")
            }
        }
    }

    /// Runs a query returning one text column, bypassing the store.
    pub async fn texts(&self, query: &str) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => {
                let conn = self.sqlite_connection();
                let mut statement = conn.prepare(query).expect("text query");
                let rows = statement.query_map([], |r| r.get(0)).expect("text query");
                rows.collect::<Result<_, _>>().expect("text rows")
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("open PostgreSQL");
                sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .expect("text query")
            }
        }
    }
}

async fn write_one<B: circles_store::sql::db::Backend>(
    backend: &B,
    statement: &str,
) -> Result<u64, circles_store::StoreError> {
    use circles_store::sql::db::{Executor, Transaction};
    let mut tx = backend.begin_write().await?;
    let written = tx.execute(circles_store::sql::db::sql(statement.to_owned())).await?;
    tx.commit().await?;
    Ok(written)
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        let statements: BTreeSet<String> =
            self.postgres_stores.get_mut().expect("stores").iter().flat_map(|s| s.statements_seen()).collect();
        let url = self.url.clone();
        // Drop runs outside any runtime we may block; use a thread of our own.
        let report = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let report = match tenant_tables(&url).await {
                    Some(tenants) => shard_key::check(statements.iter().map(String::as_str), &tenants),
                    None => shard_key::ShardReport::default(),
                };
                if let Ok(mut admin) = PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut admin)
                        .await;
                }
                report
            })
        })
        .join();
        if let Ok(report) = report
            && !report.violations.is_empty()
            && !std::thread::panicking()
        {
            panic!(
                "\n\n{} statement(s) would not route to one organisation's shard (see SCALING.md):\n\n{}\n",
                report.violations.len(),
                report.violations.join("\n\n")
            );
        }
    }
}

/// The tables with an `org_id` column: the ones sharded by organisation.
async fn tenant_tables(url: &str) -> Option<BTreeSet<String>> {
    let mut conn = PgConnection::connect(url).await.ok()?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'org_id'",
    )
    .fetch_all(&mut conn)
    .await
    .ok()?;
    Some(names.into_iter().collect())
}

/// Generates one `#[tokio::test]` per backend for each named async test
/// function taking a [`Backend`]: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}
