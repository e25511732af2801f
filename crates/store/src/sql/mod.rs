//! The one SQL implementation of [`crate::Store`].

pub mod db;

mod account_mail;
mod accounts;
mod audit;
mod audit_chain;
mod availability;
mod busy;
mod check_in_answers;
mod check_in_history;
mod check_in_windows;
mod check_ins;
mod counted;
mod data_keys;
mod deliveries;
mod event_log;
mod events;
mod facilitation;
mod feeds;
mod group_statistics;
mod groups;
mod health;
mod holds;
mod idempotency;
mod import;
mod invitations;
mod labels;
mod notify;
mod offers;
mod org_invitations;
mod orgs;
mod outbox;
mod presence;
mod reminders;
mod roster;
mod rows;
mod seat_control;
mod seats;
mod series;
mod sessions;
mod time_off;
mod tokens;
mod waitlist;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use circles_domain::Clock;
use circles_domain::Role;
use circles_domain::ids::{
    AccountId, AuditEventId, BusyId, DeliveryId, GroupId, HoldId, InvitationId, MembershipId, NotificationId, OrgId,
    PersonId, SeatId, SeriesId, SessionId, TimeOffId, TokenId,
};
use circles_domain::ids::{OfferId, OpeningId, WaitlistEntryId};

use circles_domain::sealed::Key;
use counted::{Counted, Meter};

use crate::keyring::Keyring;
use db::{Backend, DbError, Value};

pub use audit::AuditDraft;
pub(crate) use busy::HintRequest;

/// [`crate::Store`] over any [`Backend`].
pub struct SqlStore<B> {
    backend: B,
    clock: Arc<dyn Clock>,
    /// Statements run through this store since it was opened.
    meter: Arc<Meter>,
    /// Raised after every committed write: audit events may await sealing.
    unsealed: Notify,
    /// Raised when a seat or slot freed: the waitlist worker may offer it.
    freed: Notify,
    /// Raised after every committed write: deliveries may be waiting.
    outbox: Notify,
    /// Raised after every committed write: webhook calls may be waiting.
    webhooks: Notify,
    /// Raised after every committed write: live events may have been
    /// written (this process's listeners read the log's heads).
    events: Notify,
    /// The master key and the data keys unwrapped so far; without it,
    /// clinical text can be neither written nor read.
    keyring: Option<Arc<Keyring>>,
    /// Bookings in flight in this process, which a crowd asking for the
    /// same time waits on in memory (see `contested.rs`).
    contested: Arc<crate::contested::Contested>,
    /// Whether notifications fill the delivery outbox (always, but for
    /// measuring what it costs).
    outbox_writes: bool,
}

impl<B: Backend> SqlStore<B> {
    /// Wakes the waitlist worker after a use case that may have recorded a
    /// freed seat or slot has committed.
    fn after_freeing<T>(&self, result: crate::Result<T>) -> crate::Result<T> {
        if result.is_ok() {
            self.freed.notify_one();
        }
        result
    }

    pub fn new(backend: B, clock: Arc<dyn Clock>) -> Self {
        Self {
            backend,
            clock,
            meter: Arc::default(),
            unsealed: Notify::new(),
            freed: Notify::new(),
            outbox: Notify::new(),
            webhooks: Notify::new(),
            events: Notify::new(),
            keyring: None,
            contested: Arc::default(),
            outbox_writes: true,
        }
    }

    /// A store whose notifications owe no deliveries (nor webhook calls):
    /// the inbox is written as always, the outbox not at all. Only for
    /// measuring what the outbox adds to a change (`circles bench
    /// delivery`); a server never runs so.
    pub fn without_outbox(mut self) -> Self {
        self.outbox_writes = false;
        self
    }

    /// Seals and opens clinical text with data keys wrapped under `master`.
    pub fn with_master_key(mut self, master: Key) -> Self {
        self.keyring = Some(Arc::new(Keyring::new(master)));
        self
    }

    /// Keeps the text of every distinct statement this store runs, for tests
    /// that check the SQL itself ([`SqlStore::statements_seen`]).
    pub fn logging_statements(mut self) -> Self {
        self.meter = Arc::new(Meter::logging());
        self
    }

    /// The distinct statement texts run so far, sorted; empty unless the
    /// store was opened with [`SqlStore::logging_statements`].
    pub fn statements_seen(&self) -> Vec<String> {
        self.meter.statements_seen()
    }

    /// How many SQL statements this store has run (transaction control not
    /// included): what a test or benchmark reads before and after a call to
    /// see what it costs.
    pub fn statements_run(&self) -> u64 {
        self.meter.statements_run()
    }

    async fn begin_write(&self) -> Result<Counted<B::Tx>, DbError> {
        let tx = self.backend.begin_write().await?;
        Ok(Counted::new(tx, &self.meter, self.keyring.as_ref(), self.backend.dialect())
            .writing_outbox(self.outbox_writes))
    }

    async fn begin_read(&self) -> Result<Counted<B::Tx>, DbError> {
        Ok(Counted::new(self.backend.begin_read().await?, &self.meter, self.keyring.as_ref(), self.backend.dialect()))
    }

    async fn read_single(&self) -> Result<Counted<B::Tx>, DbError> {
        Ok(Counted::new(self.backend.read_single().await?, &self.meter, self.keyring.as_ref(), self.backend.dialect()))
    }

    /// Completes a conflict found under row locks with its retry hints, now
    /// that the transaction which found it has let go of them.
    async fn find_deferred_hints(&self, mut error: crate::StoreError) -> crate::StoreError {
        if let crate::StoreError::Conflict(conflict) = &mut error
            && let Some(request) = conflict.hints_to_find.take()
        {
            let hints = match read_one!(self, |tx| request.find(&mut tx).await?) {
                Ok(hints) => hints,
                Err(e) => {
                    // The clash is the answer; hints are a courtesy.
                    tracing::warn!(error = %e, "finding retry hints failed");
                    Vec::new()
                }
            };
            conflict.details.insert("retry_hints".into(), serde_json::json!(hints));
            // Names and local times for the people reading the refusal.
            let mut described = crate::StoreError::Conflict(conflict.clone());
            match read_one!(self, |tx| request.describe(&mut tx, &mut described).await?) {
                Ok(()) => return described,
                Err(e) => tracing::warn!(error = %e, "describing a scheduling conflict failed"),
            }
        }
        error
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub async fn migrate(&self) -> Result<(), db::DbError> {
        self.backend.migrate().await
    }
}

/// How often a transaction that hit a deadlock or serialisation failure is
/// run again before the error is reported.
const MAX_ATTEMPTS: u32 = 5;

async fn pause_before_retry(attempt: u32) {
    // Short, growing and jittered, so colliding transactions fall out of step.
    let jitter = u64::from(std::process::id() ^ attempt.wrapping_mul(7919)) % 5;
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5 + jitter)).await;
}

/// Runs `$body` inside one write transaction of `$store`, bound to `$tx`;
/// commits when it returns `Ok`, rolls back otherwise, and runs it again
/// (a bounded number of times) when the database reports a transient
/// conflict such as a deadlock. A commit wakes the audit sealer.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 1;
        loop {
            let outcome: $crate::Result<_> = async {
                let mut $tx = $store.begin_write().await?;
                let value = $body;
                $crate::sql::db::Transaction::commit($tx).await?;
                $store.unsealed.notify_one();
                $store.outbox.notify_one();
                $store.webhooks.notify_one();
                $store.events.notify_one();
                Ok(value)
            }
            .await;
            match outcome {
                Err(e) if e.is_retryable() && attempt < $crate::sql::MAX_ATTEMPTS => {
                    $crate::sql::pause_before_retry(attempt).await;
                    attempt += 1;
                }
                Err(e) => break Err($store.find_deferred_hints(e).await),
                Ok(value) => break Ok(value),
            }
        }
    }};
}

/// Runs `$body` inside one read-only transaction (a consistent snapshot).
macro_rules! read_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let outcome: $crate::Result<_> = async {
            let mut $tx = $store.begin_read().await?;
            let value = $body;
            $crate::sql::db::Transaction::commit($tx).await?;
            Ok(value)
        }
        .await;
        outcome
    }};
}

/// Runs one read statement in `$body` on a connection from the read pool,
/// outside any transaction where the backend allows it.
macro_rules! read_one {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let outcome: $crate::Result<_> = async {
            let mut $tx = $store.read_single().await?;
            let value = $body;
            $crate::sql::db::Transaction::commit($tx).await?;
            Ok(value)
        }
        .await;
        outcome
    }};
}

pub(crate) use {read_one, read_tx, write_tx};

macro_rules! id_values {
    ($($t:ty),+) => {$(
        impl From<$t> for Value {
            fn from(id: $t) -> Self {
                Value::Uuid(Some(id.0))
            }
        }
        impl From<Option<$t>> for Value {
            fn from(id: Option<$t>) -> Self {
                Value::Uuid(id.map(|i| i.0))
            }
        }
    )+};
}

id_values!(
    AccountId,
    OrgId,
    PersonId,
    TokenId,
    AuditEventId,
    SessionId,
    InvitationId,
    SeatId,
    HoldId,
    SeriesId,
    GroupId,
    BusyId,
    MembershipId,
    NotificationId,
    TimeOffId,
    DeliveryId
);
id_values!(WaitlistEntryId, OpeningId, OfferId);
id_values!(circles_domain::ids::AccountMailId);
id_values!(circles_domain::ids::FeedId, circles_domain::ids::WebhookId, circles_domain::ids::WebhookMessageId);
id_values!(
    circles_domain::ids::QuestionnaireId,
    circles_domain::ids::CheckInId,
    circles_domain::ids::CheckInResponseId
);

impl From<Role> for Value {
    fn from(role: Role) -> Self {
        Value::Text(Some(role.as_str().to_owned()))
    }
}

impl From<Option<Role>> for Value {
    fn from(role: Option<Role>) -> Self {
        Value::Text(role.map(|r| r.as_str().to_owned()))
    }
}
