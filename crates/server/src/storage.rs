//! Opens the store named by the database URL's scheme.

use std::sync::Arc;

use anyhow::Context;
use circles_domain::Clock;
use circles_domain::sealed::Key;
use circles_store::Store;
use circles_store::sql::SqlStore;
use circles_store_postgres::{PostgresBackend, PostgresOptions};
use circles_store_sqlite::{Durability, SqliteBackend, SqliteOptions};

use crate::config::{Settings, SqliteSynchronous};

/// The master key named by `master_key_file`, if one is set.
pub fn master_key(settings: &Settings) -> anyhow::Result<Option<Key>> {
    let Some(path) = &settings.master_key_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the master key from {} (setting master_key_file)", path.display()))?;
    let key = Key::parse(&text).map_err(|e| anyhow::anyhow!("the master key in {}: {e}", path.display()))?;
    Ok(Some(key))
}

/// The master key, which a process that reads or writes clinical text
/// cannot run without.
pub fn require_master_key(settings: &Settings) -> anyhow::Result<Key> {
    master_key(settings)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no master key: clinical text is sealed under a master key kept outside the database, expected in the \
             file named by the setting master_key_file (environment CIRCLES_MASTER_KEY_FILE, or master_key_file in \
             the config file), holding 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)"
        )
    })
}

/// Connects, applies migrations, and returns the store, sealing clinical
/// text under the master key if one is set.
pub async fn open(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Store>> {
    let key = master_key(settings)?;
    open_with_key(settings, clock, key).await
}

/// [`open`] with the master key given.
pub async fn open_with_key(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    key: Option<Key>,
) -> anyhow::Result<Arc<dyn Store>> {
    open_shaped(settings, clock, key, true).await
}

/// A store whose notifications fill no outbox, to measure what the outbox
/// adds to a change (`circles bench delivery`); never for serving.
pub async fn open_without_outbox(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    key: Key,
) -> anyhow::Result<Arc<dyn Store>> {
    open_shaped(settings, clock, Some(key), false).await
}

async fn open_shaped(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    key: Option<Key>,
    outbox: bool,
) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url.as_str();
    if url.starts_with("sqlite:") {
        let options = SqliteOptions {
            durability: match settings.sqlite_synchronous {
                SqliteSynchronous::Full => Durability::Full,
                SqliteSynchronous::Normal => Durability::Normal,
            },
            read_connections: settings.sqlite_read_connections,
        };
        let backend = SqliteBackend::connect(url, &options).await.with_context(|| format!("opening {url}"))?;
        let store = shaped(SqlStore::new(backend, clock), key, outbox);
        store.migrate().await.context("migrating the SQLite database")?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PostgresOptions { max_connections: settings.postgres_max_connections };
        let backend = PostgresBackend::connect(url, &options).await.context("connecting to PostgreSQL")?;
        let store = shaped(SqlStore::new(backend, clock), key, outbox);
        store.migrate().await.context("migrating the PostgreSQL database")?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!("database_url must start with sqlite:// or postgres:// (got {url:?})")
    }
}

fn shaped<B: circles_store::sql::db::Backend>(store: SqlStore<B>, key: Option<Key>, outbox: bool) -> SqlStore<B> {
    let store = with_key(store, key);
    if outbox { store } else { store.without_outbox() }
}

fn with_key<B: circles_store::sql::db::Backend>(store: SqlStore<B>, key: Option<Key>) -> SqlStore<B> {
    match key {
        Some(key) => store.with_master_key(key),
        None => store,
    }
}
