//! Opens the store named by the database URL's scheme.

use std::sync::Arc;

use anyhow::Context;
use circles_domain::Clock;
use circles_store::Store;
use circles_store::sql::SqlStore;
use circles_store_postgres::{PostgresBackend, PostgresOptions};
use circles_store_sqlite::{Durability, SqliteBackend, SqliteOptions};

use crate::config::{Settings, SqliteSynchronous};

/// Connects, applies migrations, and returns the store.
pub async fn open(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Store>> {
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
        let store = SqlStore::new(backend, clock);
        store.migrate().await.context("migrating the SQLite database")?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PostgresOptions { max_connections: settings.postgres_max_connections };
        let backend = PostgresBackend::connect(url, &options).await.context("connecting to PostgreSQL")?;
        let store = SqlStore::new(backend, clock);
        store.migrate().await.context("migrating the PostgreSQL database")?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!("database_url must start with sqlite:// or postgres:// (got {url:?})")
    }
}
