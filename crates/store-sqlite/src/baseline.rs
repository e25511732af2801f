//! The bare-insert baseline for `circles bench`: how fast this database
//! commits a single-row INSERT with the same durability settings Circles
//! uses, through one writer connection (SQLite's only way to write). Each
//! insert commits on its own — no group commit — so the baseline is the cost
//! of one durable write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use circles_store::sql::db::{DbError, sql};
use tokio::sync::Mutex;

use crate::{SqliteOptions, blocking, database_path, map_err, open_connection, statement};

/// Inserts rows from `concurrency` tasks for `duration`; returns each
/// insert's latency.
pub async fn bare_inserts(
    url: &str,
    options: &SqliteOptions,
    concurrency: usize,
    duration: Duration,
) -> Result<Vec<Duration>, DbError> {
    let writer = open_connection(&database_path(url)?, options.durability)?;
    writer
        .execute_batch("CREATE TABLE IF NOT EXISTS bench_inserts (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        .map_err(map_err)?;
    let writer = Arc::new(Mutex::new(writer));
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let writer = Arc::clone(&writer);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let conn = writer.lock().await;
                    let insert =
                        sql("INSERT INTO bench_inserts (payload) VALUES ($1)").bind("a booking-sized row of text");
                    // The same statement path and commit handling as a use case.
                    blocking(|| statement::execute(&conn, insert))?;
                    drop(conn);
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
    Ok(all)
}

/// Rewrites the session's attendance notes as the plain `note`, the form a
/// note had before sealing (which reads back as it is): the baseline that
/// tells what opening sealed notes adds to reading a sheet.
pub async fn unseal_attendance_notes(url: &str, session: uuid::Uuid, note: &str) -> Result<u64, DbError> {
    let conn = open_connection(&database_path(url)?, Default::default())?;
    let update = sql("UPDATE seats SET note = $1 WHERE session_id = $2 AND note IS NOT NULL").bind(note).bind(session);
    blocking(|| statement::execute(&conn, update))
}
