//! The bare-insert baseline for `circles bench`: how fast this database
//! commits a single-row INSERT with the same durability settings Circles
//! uses, through one writer connection (SQLite's only way to write).

use std::time::{Duration, Instant};

use circles_store::sql::db::DbError;
use sqlx::Executor as _;

use crate::{SqliteBackend, SqliteOptions, map_err};

/// Inserts rows from `concurrency` tasks for `duration`; returns each
/// insert's latency.
pub async fn bare_inserts(
    url: &str,
    options: &SqliteOptions,
    concurrency: usize,
    duration: Duration,
) -> Result<Vec<Duration>, DbError> {
    let backend = SqliteBackend::connect(url, options).await?;
    backend
        .writer
        .execute("CREATE TABLE IF NOT EXISTS bench_inserts (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        .await
        .map_err(map_err)?;
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let pool = backend.writer.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    sqlx::query("INSERT INTO bench_inserts (payload) VALUES ($1)")
                        .bind("a booking-sized row of text")
                        .execute(&pool)
                        .await
                        .map_err(map_err)?;
                    latencies.push(started.elapsed());
                }
                Ok::<_, DbError>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.map_err(|e| DbError::Other(e.to_string()))??);
    }
    backend.close().await;
    Ok(all)
}
