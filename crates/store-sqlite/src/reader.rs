//! A small pool of reader connections. Under WAL each read transaction sees
//! the last committed state as of its first read, never a batch in progress.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use circles_store::sql::db::DbError;
use rusqlite::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::map_err;

pub(crate) struct ReadPool {
    /// One permit per connection in `idle`, so a permit guarantees one.
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub(crate) fn new(connections: Vec<Connection>) -> Arc<Self> {
        Arc::new(Self { permits: Arc::new(Semaphore::new(connections.len())), idle: Mutex::new(connections) })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) async fn begin(self: &Arc<Self>) -> Result<ReadTx, DbError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| DbError::Unavailable("the SQLite backend is closed".into()))?;
        let conn = self.idle().pop().expect("a permit stands for an idle connection");
        let tx = ReadTx { conn: Some(conn), pool: Arc::clone(self), _permit: permit };
        tx.conn().execute_batch("BEGIN").map_err(map_err)?;
        Ok(tx)
    }

    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle().clear();
    }
}

/// A read transaction; its connection goes back to the pool when it ends.
pub(crate) struct ReadTx {
    conn: Option<Connection>,
    pool: Arc<ReadPool>,
    _permit: OwnedSemaphorePermit,
}

impl ReadTx {
    pub(crate) fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("a read transaction holds its connection until it ends")
    }

    pub(crate) fn commit(self) -> Result<(), DbError> {
        self.conn().execute_batch("COMMIT").map_err(map_err)
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if !self.pool.permits.is_closed() {
            self.pool.idle().push(conn);
        }
    }
}
