//! Live events on this server: the hub follows the event log and fans each
//! new event out to every listener connected here ([`stream`]).
//!
//! The log is the source of truth; this process only learns that it grew.
//! On PostgreSQL one LISTEN connection hears every server's commits (the
//! notification carries `org:seq`, nothing else); on any backend a commit
//! through this process wakes the hub as well. Either way the hub reads
//! the new rows once and broadcasts them. A lost LISTEN connection is
//! replaced, and the hub then compares every organisation's head with what
//! it has fanned out, so nothing written meanwhile is skipped.

pub mod stream;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use circles_domain::ids::OrgId;
use circles_store::Store;
use circles_store::model::Event;
use circles_store_postgres::listen::{EventListener, Heard};
use tokio::sync::{Mutex, broadcast};
use tokio::task::JoinHandle;

/// Events a listener may fall behind by before it is told to resume: the
/// bound on what one slow consumer makes this server hold.
pub const LISTENER_BUFFER: usize = 1024;
/// Most events read from the log in one statement.
const READ_BATCH: i64 = 1000;
/// How often the hub checks the log even when nothing woke it: a safety
/// net for a notification lost between two servers, not the normal path.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// An event on its way to listeners.
pub struct Fanned {
    pub event: Event,
    /// Its SSE data, rendered by the first listener that sends it and then
    /// shared by all: what a listener sees of an event depends only on the
    /// event (its organisation's clock included), not on the listener.
    pub rendered: OnceLock<String>,
}

impl Fanned {
    pub fn new(event: Event) -> Arc<Self> {
        Arc::new(Self { event, rendered: OnceLock::new() })
    }
}

pub struct Hub {
    store: Arc<dyn Store>,
    sender: broadcast::Sender<Arc<Fanned>>,
    /// The last event fanned out, per organisation. Holding the lock while
    /// reading and sending keeps each organisation's events in order.
    fanned: Mutex<Option<HashMap<OrgId, i64>>>,
}

impl Hub {
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        let (sender, _) = broadcast::channel(LISTENER_BUFFER);
        Arc::new(Self { store, sender, fanned: Mutex::new(None) })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Fanned>> {
        self.sender.subscribe()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Listeners connected to this server now.
    pub fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Fans out whatever the log holds beyond what was fanned out, for
    /// every organisation (`only`: just that one, up to that number).
    async fn catch_up(&self, only: Option<(OrgId, i64)>) -> circles_store::Result<()> {
        let mut fanned = self.fanned.lock().await;
        let heads = match only {
            Some(head) if fanned.is_some() => vec![head],
            _ => self.store.event_heads().await?,
        };
        let Some(fanned) = fanned.as_mut() else {
            // First look: what is already written is history, read by
            // listeners that resume, not news to fan out.
            *fanned = Some(heads.into_iter().collect());
            return Ok(());
        };
        for (org, head) in heads {
            let mut at = fanned.get(&org).copied().unwrap_or(0);
            while at < head {
                let upto = head.min(at + READ_BATCH);
                for event in self.store.events_between(org, at, upto).await? {
                    // No receivers is not an error: nobody is listening.
                    let _ = self.sender.send(Fanned::new(event));
                }
                at = upto;
            }
            fanned.insert(org, at);
        }
        Ok(())
    }

    async fn catch_up_logged(&self, only: Option<(OrgId, i64)>) {
        if let Err(e) = self.catch_up(only).await {
            tracing::warn!(error = %e, "reading the event log failed");
        }
    }

    /// Follows the log until aborted: wakes on this process's commits, on
    /// PostgreSQL's notifications (when `database_url` is PostgreSQL) and
    /// every few seconds.
    pub fn spawn(self: &Arc<Self>, database_url: &str) -> JoinHandle<()> {
        let hub = self.clone();
        let postgres = database_url.starts_with("postgres:") || database_url.starts_with("postgresql:");
        let url = database_url.to_owned();
        tokio::spawn(async move {
            hub.catch_up_logged(None).await;
            let local = async {
                loop {
                    let _ = tokio::time::timeout(SWEEP_EVERY, hub.store.write_committed()).await;
                    hub.catch_up_logged(None).await;
                }
            };
            let remote = async {
                if postgres {
                    hub.follow_postgres(&url).await;
                }
            };
            tokio::join!(local, remote);
        })
    }

    async fn follow_postgres(&self, url: &str) {
        loop {
            let mut listener = match EventListener::connect(url).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "connecting the event listener failed; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // Whatever committed while nobody listened is in the log.
            self.catch_up_logged(None).await;
            while let Heard::Event { org, seq } = listener.next().await {
                self.catch_up_logged(Some((OrgId::from(org), seq))).await;
            }
            // The connection was lost: drop it and listen again.
        }
    }
}
