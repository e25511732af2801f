//! One LISTEN connection per server for the live event log. A commit that
//! wrote events NOTIFYs `circles_events` with `org:seq` (see migration
//! 0018); the server then reads the new rows once and fans them out.

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use uuid::Uuid;

use circles_store::sql::db::DbError;

/// The channel every server listens on.
pub const CHANNEL: &str = "circles_events";

/// This process's listening connection, named so an operator (or a test)
/// can find it in `pg_stat_activity`.
pub fn application_name() -> String {
    format!("circles-events-{}", std::process::id())
}

/// A LISTEN connection on [`CHANNEL`].
pub struct EventListener {
    inner: PgListener,
}

/// What the listener heard.
pub enum Heard {
    /// `org`'s log reached `seq`.
    Event { org: Uuid, seq: i64 },
    /// The connection was lost: notifications may have been missed.
    Lost,
}

impl EventListener {
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(other)?
            .application_name(&application_name())
            .disable_statement_logging();
        // A pool of one: PgListener takes its connection from a pool.
        let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
        let mut inner = PgListener::connect_with(&pool).await.map_err(other)?;
        inner.listen(CHANNEL).await.map_err(other)?;
        Ok(Self { inner })
    }

    /// Waits for the next notification. After [`Heard::Lost`] drop this
    /// listener and connect again: whatever was sent meanwhile is gone.
    pub async fn next(&mut self) -> Heard {
        loop {
            match self.inner.try_recv().await {
                Ok(Some(notification)) => {
                    let parsed = notification
                        .payload()
                        .split_once(':')
                        .and_then(|(org, seq)| Some(Heard::Event { org: org.parse().ok()?, seq: seq.parse().ok()? }));
                    if let Some(heard) = parsed {
                        return heard;
                    }
                    tracing::warn!(payload = notification.payload(), "ignoring an unexpected event notification");
                }
                Ok(None) => return Heard::Lost,
                Err(e) => {
                    tracing::warn!(error = %e, "the event listener lost its connection");
                    return Heard::Lost;
                }
            }
        }
    }
}

fn other(e: impl std::fmt::Display) -> DbError {
    DbError::Other(e.to_string())
}
