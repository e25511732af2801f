//! Delivery: the worker that empties the outbox.
//!
//! It claims due deliveries from the store (which hands each to one worker
//! only, across servers), writes each message, sends it, and records how it
//! went: sent, tried again later with exponential backoff and jitter, or
//! failed. It wakes when a write commits on this server and on a timer for
//! other servers' writes and retries. A worker killed mid-send leaves its
//! claims to run out; the messages are then sent again with the same
//! Message-ID, so delivery is at-least-once.

pub mod account_mail;
pub mod compose;
pub mod feed;
pub mod mailer;
pub mod sms;
pub mod webhooks;
pub mod wording;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use circles_domain::Clock;
use circles_domain::account_mail::{AccountMailKind, RESET_LINK_PREFIX};
use circles_domain::delivery::{AfterFailure, Channel, RetryPolicy, is_essential};
use circles_domain::ids::DeliveryId;
use circles_store::model::{AccountMessage, DeliveryOutcome, NewUnsubscribeLink, OutboundMessage};
use circles_store::{Store, StoreError};
use futures::StreamExt;
use jiff::SignedDuration;
use tokio::task::JoinHandle;

use crate::config::Settings;
use account_mail::compose_account;
use compose::{Links, Sender, compose};
use mailer::Mailer;
use sms::{SmsGateway, sms_text};

/// Deliveries claimed at once.
const BATCH: u32 = 128;
/// Messages in flight at once, and SMTP connections kept open for them.
const IN_FLIGHT: usize = 16;
/// The longest sleep between passes when nothing wakes the worker.
const TICK: Duration = Duration::from_secs(5);
/// Offer link tokens carry a prefix, so a leaked one is recognisable.
pub const OFFER_LINK_PREFIX: &str = "cio_";
/// Unsubscribe link tokens, likewise.
pub const UNSUBSCRIBE_PREFIX: &str = "ciu_";

/// The shortest sleep between passes, so a fault can never spin the worker.
const MIN_PAUSE: Duration = Duration::from_millis(5);
/// How long a wake lets other commits gather before the pass.
const GATHER: Duration = Duration::from_millis(10);

pub struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Mailer,
    /// Where texts go; without one they wait, retried, for a gateway.
    sms: Option<SmsGateway>,
    sender: Sender,
    policy: RetryPolicy,
    coalesce: SignedDuration,
    lease: SignedDuration,
    /// Where links in messages point: the public URL, or the listen address.
    base_url: String,
}

impl Worker {
    /// The worker the settings call for, or `None` when e-mail is off.
    pub fn from_settings(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: &Settings,
    ) -> anyhow::Result<Option<Self>> {
        let Some(mailer) = Mailer::from_settings(settings)? else {
            return Ok(None);
        };
        let seconds = |s: u64| SignedDuration::from_secs(i64::try_from(s).unwrap_or(i64::MAX));
        Ok(Some(Self {
            store,
            clock,
            mailer,
            sms: SmsGateway::from_settings(settings)?,
            sender: Sender::parse(&settings.mail_from)?,
            policy: RetryPolicy {
                base: seconds(settings.delivery_retry_seconds.max(1)),
                cap: RetryPolicy::default().cap,
                max_attempts: settings.delivery_max_attempts.max(1),
            },
            coalesce: seconds(settings.delivery_coalesce_seconds),
            lease: seconds(settings.delivery_lease_seconds.max(1)),
            base_url: settings
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", settings.listen))
                .trim_end_matches('/')
                .to_owned(),
        }))
    }

    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Sends everything due now; returns how many messages were attempted.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut attempted = 0;
        let mut batch = self.claim().await?;
        while !batch.is_empty() {
            attempted += batch.len();
            // The next batch is claimed while this one is sent, so the SMTP
            // connections do not wait on the database between batches. (If
            // sending fails outright, both batches' claims run out and are
            // taken again, as after a crash.)
            let (outcomes, next) = tokio::join!(self.send_batch(batch), self.claim());
            self.store.finish_deliveries(&outcomes?).await?;
            batch = next?;
        }
        Ok(attempted + self.drain_account_mail().await?)
    }

    async fn claim(&self) -> Result<Vec<OutboundMessage>, StoreError> {
        self.store.claim_deliveries(BATCH, self.lease, self.coalesce).await
    }

    /// Sends one claimed batch, `IN_FLIGHT` messages at a time.
    async fn send_batch(
        &self,
        batch: Vec<OutboundMessage>,
    ) -> Result<Vec<(circles_domain::ids::OrgId, DeliveryId, DeliveryOutcome)>, StoreError> {
        let mut unsubscribe = self.unsubscribe_links(&batch).await?;
        Ok(futures::stream::iter(batch)
            .map(|message| {
                let link = unsubscribe.remove(&message.id);
                async move {
                    let outcome = self.deliver(&message, link).await;
                    (message.org_id, message.id, outcome)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await)
    }

    /// Sends the e-mail owed to accounts (password resets, invitations to
    /// join) that is due now; returns how many were attempted.
    async fn drain_account_mail(&self) -> Result<usize, StoreError> {
        let mut attempted = 0;
        loop {
            let batch = self.store.claim_account_mail(BATCH, self.lease).await?;
            if batch.is_empty() {
                return Ok(attempted);
            }
            attempted += batch.len();
            // A reset's token exists only in its e-mail: made here, its hash
            // kept before the e-mail leaves.
            let mut tokens = HashMap::new();
            let mut hashes = Vec::new();
            for message in batch.iter().filter(|m| m.kind == AccountMailKind::PasswordReset) {
                let token = crate::auth::token::generate(RESET_LINK_PREFIX);
                hashes.push((message.id, crate::auth::token::hash(&token)));
                tokens.insert(message.id, token);
            }
            self.store.arm_reset_links(&hashes).await?;
            let outcomes: Vec<_> = futures::stream::iter(batch)
                .map(|message| {
                    let link = match tokens.remove(&message.id) {
                        Some(token) => format!("{}/password-reset/{token}", self.base_url),
                        None => format!("{}/", self.base_url),
                    };
                    async move {
                        let outcome = self.deliver_account(&message, &link).await;
                        (message.id, outcome)
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            self.store.finish_account_mail(&outcomes).await?;
        }
    }

    async fn deliver_account(&self, message: &AccountMessage, link: &str) -> DeliveryOutcome {
        let email = match compose_account(&self.sender, message, link) {
            Ok(email) => email,
            Err(e) => return self.failed(message.id, message.attempt, e.to_string(), true),
        };
        self.send(email, message.id, message.attempt).await
    }

    /// A fresh one-time link answering the offer `message` tells of, while
    /// the offer lives. Only the token's hash is stored; the token itself
    /// exists in this message alone.
    async fn answer_link(&self, message: &OutboundMessage) -> Result<Option<String>, StoreError> {
        let Some(offer) = message.offer_id else { return Ok(None) };
        let token = crate::auth::token::generate(OFFER_LINK_PREFIX);
        let hash = hex::encode(crate::auth::token::hash(&token));
        let created = self.store.create_offer_link(message.org_id, offer, &hash).await?;
        Ok(created.then(|| format!("{}/offer-links/{}/{token}", self.base_url, message.org_id)))
    }

    /// Fresh links that turn e-mail of each message's kind off, for the
    /// messages of `batch` whose kind a person may refuse: recorded (only
    /// the tokens' hashes) in one transaction for the whole batch.
    async fn unsubscribe_links(&self, batch: &[OutboundMessage]) -> Result<HashMap<DeliveryId, String>, StoreError> {
        let mut links = Vec::new();
        let mut tokens = Vec::new();
        for message in batch.iter().filter(|m| m.channel == Channel::Email && !is_essential(m.kind)) {
            let token = crate::auth::token::generate(UNSUBSCRIBE_PREFIX);
            links.push(NewUnsubscribeLink {
                org_id: message.org_id,
                person_id: message.recipient.person_id,
                kind: message.kind,
                token_hash: crate::auth::token::hash(&token),
            });
            tokens.push((message.id, token));
        }
        let made = self.store.create_unsubscribe_links(&links).await?;
        Ok(tokens
            .into_iter()
            .zip(made)
            .filter(|(_, made)| *made)
            .map(|((id, token), _)| (id, format!("{}/unsubscribe/{token}", self.base_url)))
            .collect())
    }

    async fn deliver(&self, message: &OutboundMessage, unsubscribe: Option<String>) -> DeliveryOutcome {
        let links = match self.answer_link(message).await {
            Ok(answer) => Links { answer, unsubscribe },
            Err(e) => return self.failed(message.id, message.attempt, e.to_string(), false),
        };
        if message.channel == Channel::Sms {
            return self.text(message, links.answer.as_deref()).await;
        }
        let email = match compose(&self.sender, message, links) {
            Ok(email) => email,
            Err(e) => return self.failed(message.id, message.attempt, e.to_string(), true),
        };
        self.send(email, message.id, message.attempt).await
    }

    /// Texts `message` through the gateway. Without a number it cannot go
    /// at all; without a gateway it waits for one to be set.
    async fn text(&self, message: &OutboundMessage, answer: Option<&str>) -> DeliveryOutcome {
        let Some(phone) = &message.recipient.phone else {
            return self.failed(message.id, message.attempt, "the person has no number for texts".into(), true);
        };
        let Some(gateway) = &self.sms else {
            return self.failed(message.id, message.attempt, "no SMS gateway is set (sms_gateway_url)".into(), false);
        };
        let sent = gateway.send(&message.id.to_string(), phone, &sms_text(message, answer)).await;
        self.outcome(sent, message.id, message.attempt)
    }

    /// Sends `email`, the `attempt`th try of message `id`, and counts it.
    async fn send(&self, email: lettre::Message, id: impl std::fmt::Display, attempt: u32) -> DeliveryOutcome {
        self.outcome(self.mailer.send(email).await, id, attempt)
    }

    /// How a send of the `attempt`th try of message `id` went, counted.
    fn outcome(
        &self,
        sent: Result<(), mailer::SendError>,
        id: impl std::fmt::Display,
        attempt: u32,
    ) -> DeliveryOutcome {
        match sent {
            Ok(()) => {
                metrics::counter!("circles_deliveries_total", "outcome" => "sent").increment(1);
                DeliveryOutcome::Sent
            }
            Err(e) => self.failed(id, attempt, e.text, e.permanent),
        }
    }

    fn failed(&self, id: impl std::fmt::Display, attempt: u32, error: String, permanent: bool) -> DeliveryOutcome {
        tracing::warn!(delivery = %id, attempt, %error, "sending a message failed");
        let after = if permanent {
            AfterFailure::GiveUp
        } else {
            self.policy.after_failure(attempt, self.clock.now(), rand::random::<f64>())
        };
        match after {
            AfterFailure::RetryAt(at) => {
                metrics::counter!("circles_deliveries_total", "outcome" => "retry").increment(1);
                DeliveryOutcome::Retry { error, at }
            }
            AfterFailure::GiveUp => {
                metrics::counter!("circles_deliveries_total", "outcome" => "failed").increment(1);
                DeliveryOutcome::Failed { error }
            }
        }
    }

    /// How long to sleep before the next pass if nothing wakes the worker.
    async fn pause(&self) -> Duration {
        match self.store.next_delivery_due(self.coalesce).await {
            Ok(Some(due)) => {
                let wait = due.duration_since(self.clock.now());
                Duration::try_from(wait).unwrap_or(Duration::ZERO).clamp(MIN_PAUSE, TICK)
            }
            Ok(None) => TICK,
            Err(e) => {
                tracing::warn!(error = %e, "looking for due deliveries failed");
                TICK
            }
        }
    }
}

/// Runs the worker until the handle is aborted.
pub fn spawn(worker: Worker) -> JoinHandle<()> {
    tracing::info!(to = %worker.mailer.describe(), "delivering e-mail");
    tokio::spawn(async move {
        loop {
            if let Err(e) = worker.drain().await {
                tracing::warn!(error = %e, "delivering messages failed");
            }
            let pause = worker.pause().await;
            tokio::select! {
                () = worker.store.deliveries_waiting() => tokio::time::sleep(GATHER).await,
                () = tokio::time::sleep(pause) => {}
            }
        }
    })
}
