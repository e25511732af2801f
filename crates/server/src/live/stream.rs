//! One listener's stream: what it missed (from the log, filtered to what
//! it may see in SQL), then what the hub fans out (filtered to events
//! addressed to it), each sent once and in order per organisation.
//!
//! Memory is bounded: the hub's broadcast buffer is shared and fixed, and a
//! listener that falls [`super::LISTENER_BUFFER`] events behind gets one
//! `resume` event and is disconnected; it reconnects with `Last-Event-ID`
//! and reads what it missed from the log.

use std::collections::VecDeque;
use std::sync::Arc;

use circles_domain::ids::{OrgId, PersonId};
use circles_domain::live::EventCursor;
use circles_store::model::Event;
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{Fanned, Hub};

/// Most events read from the log per statement while catching up.
const REPLAY_PAGE: i64 = 500;

/// What the stream sends.
pub enum Item {
    Event {
        event: Arc<Fanned>,
        cursor: String,
    },
    /// The listener fell behind: reconnect with this cursor.
    Resume {
        cursor: String,
    },
    /// Reading the log failed: reconnect with this cursor.
    Failed {
        cursor: String,
    },
}

struct Listener {
    hub: Arc<Hub>,
    /// The caller's person in each organisation it belongs to.
    people: Vec<(OrgId, PersonId)>,
    cursor: EventCursor,
    /// Organisations whose missed events are still to be read.
    to_replay: VecDeque<(OrgId, PersonId)>,
    replayed: VecDeque<Event>,
    live: broadcast::Receiver<Arc<Fanned>>,
    done: bool,
}

/// The stream for a caller who is `people` (one person per organisation),
/// resuming after `resume` when the client sent `Last-Event-ID`.
pub async fn open(
    hub: Arc<Hub>,
    people: Vec<(OrgId, PersonId)>,
    resume: Option<EventCursor>,
) -> circles_store::Result<impl Stream<Item = Item> + Send> {
    // Subscribe before reading where the log stands, so nothing committed
    // in between is lost; the cursor drops what arrives twice.
    let live = hub.subscribe();
    let mut cursor = resume.clone().unwrap_or_default();
    let mut to_replay = VecDeque::new();
    for &(org, person) in &people {
        match resume.as_ref().and_then(|r| r.get(org)) {
            Some(_) => to_replay.push_back((org, person)),
            None => {
                cursor.advance(org, hub.store().event_head(org).await?);
            }
        }
    }
    let orgs: Vec<OrgId> = people.iter().map(|(org, _)| *org).collect();
    cursor.retain(&orgs);
    let listener = Listener { hub, people, cursor, to_replay, replayed: VecDeque::new(), live, done: false };
    Ok(futures::stream::unfold(listener, |mut l| async move {
        let item = l.next().await?;
        Some((item, l))
    }))
}

impl Listener {
    async fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        loop {
            if let Some(event) = self.replayed.pop_front() {
                if self.cursor.advance(event.org_id, event.seq) {
                    return Some(self.item(Fanned::new(event)));
                }
                continue;
            }
            if let Some(&(org, person)) = self.to_replay.front() {
                let after = self.cursor.get(org).unwrap_or(0);
                match self.hub.store().events_for(org, person, after, REPLAY_PAGE).await {
                    Ok(page) => {
                        if (page.len() as i64) < REPLAY_PAGE {
                            self.to_replay.pop_front();
                        }
                        self.replayed.extend(page);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "replaying events failed");
                        self.done = true;
                        return Some(Item::Failed { cursor: self.cursor.to_string() });
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(fanned) => {
                    let event = &fanned.event;
                    let Some(&(_, me)) = self.people.iter().find(|(org, _)| *org == event.org_id) else { continue };
                    if event.recipients.binary_search(&me).is_ok() && self.cursor.advance(event.org_id, event.seq) {
                        return Some(self.item(fanned));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    self.done = true;
                    return Some(Item::Resume { cursor: self.cursor.to_string() });
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn item(&self, event: Arc<Fanned>) -> Item {
        Item::Event { event, cursor: self.cursor.to_string() }
    }
}
