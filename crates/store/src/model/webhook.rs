//! Webhooks as the store hands them out: endpoints and their delivery log
//! for admins, claimed calls for the worker.

use circles_domain::delivery::DeliveryState;
use circles_domain::ids::{OrgId, WebhookId, WebhookMessageId};
use circles_domain::session::NotificationKind;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub url: String,
    pub description: String,
    pub event_types: Vec<NotificationKind>,
    /// Since when every call failed, if the last one did.
    pub failing_since: Option<Timestamp>,
    pub disabled_at: Option<Timestamp>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub description: String,
    pub event_types: Vec<NotificationKind>,
    /// `whsec_…`, shown to the admin once and kept to sign with.
    pub secret: String,
}

/// One event owed to one endpoint, as its delivery log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookMessage {
    pub id: WebhookMessageId,
    pub endpoint_id: WebhookId,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub response_status: Option<i64>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// A claimed call with what it takes to make it.
#[derive(Debug, Clone)]
pub struct OutboundWebhook {
    pub org_id: OrgId,
    pub id: WebhookMessageId,
    pub endpoint_id: WebhookId,
    pub url: String,
    /// Every secret that signs: the current one, and the one before a
    /// rotation while it is still honoured.
    pub secrets: Vec<String>,
    pub payload: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// How one call went.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    Sent { status: u16 },
    Retry { error: String, status: Option<u16>, at: Timestamp },
    Failed { error: String, status: Option<u16> },
}
