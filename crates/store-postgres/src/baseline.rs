//! The bare-insert baseline for `circles bench`, and fresh databases to run
//! benchmarks in.

use std::time::{Duration, Instant};

use circles_store::sql::db::DbError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, Executor as _, PgConnection};

use crate::map_err;

/// Inserts rows from `concurrency` connections for `duration`; returns each
/// insert's latency. Every insert is its own committed transaction.
pub async fn bare_inserts(url: &str, concurrency: usize, duration: Duration) -> Result<Vec<Duration>, DbError> {
    let pool = PgPoolOptions::new().max_connections(concurrency as u32).connect(url).await.map_err(map_err)?;
    pool.execute("CREATE TABLE IF NOT EXISTS bench_inserts (id bigserial PRIMARY KEY, payload text NOT NULL)")
        .await
        .map_err(map_err)?;
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let pool = pool.clone();
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
    pool.close().await;
    Ok(all)
}

/// `server_url` with its database name replaced by `database`.
pub fn url_for_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{database}{query}")
}

/// Creates an empty database next to the one `server_url` names, returning
/// its URL.
pub async fn create_database(server_url: &str, name: &str) -> Result<String, DbError> {
    let mut conn = PgConnection::connect(server_url).await.map_err(map_err)?;
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).await.map_err(map_err)?;
    Ok(url_for_database(server_url, name))
}

pub async fn drop_database(server_url: &str, name: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::connect(server_url).await.map_err(map_err)?;
    conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))).await.map_err(map_err)?;
    Ok(())
}

/// Brings the planner's statistics up to date, as autovacuum does on a
/// database in service: a benchmark measures the steady state, not the
/// minutes after a bulk load (and test clusters often run without autovacuum).
pub async fn analyze(url: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::connect(url).await.map_err(map_err)?;
    conn.execute("ANALYZE").await.map_err(map_err)?;
    Ok(())
}

/// Rewrites the session's attendance notes as the plain `note`, the form a
/// note had before sealing (which reads back as it is): the baseline that
/// tells what opening sealed notes adds to reading a sheet.
pub async fn unseal_attendance_notes(url: &str, session: uuid::Uuid, note: &str) -> Result<u64, DbError> {
    let mut conn = PgConnection::connect(url).await.map_err(map_err)?;
    let done = sqlx::query("UPDATE seats SET note = $1 WHERE session_id = $2 AND note IS NOT NULL")
        .bind(note)
        .bind(session)
        .execute(&mut conn)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}
