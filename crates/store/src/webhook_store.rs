//! Webhooks: endpoints an organisation's admins register, the events owed
//! to them (written with the change, like every outbox row), and the calls.

use async_trait::async_trait;
use circles_domain::ids::{OrgId, WebhookId, WebhookMessageId};
use jiff::{SignedDuration, Timestamp};

use crate::Result;
use crate::model::{AuditCtx, Keyset, NewWebhook, OutboundWebhook, WebhookEndpoint, WebhookMessage, WebhookOutcome};

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(&self, ctx: &AuditCtx, org: OrgId, input: NewWebhook) -> Result<WebhookEndpoint>;
    /// The organisation's endpoints, newest first.
    async fn webhooks(&self, org: OrgId, page: Keyset<(Timestamp, WebhookId)>) -> Result<Vec<WebhookEndpoint>>;
    /// Removes an endpoint and its delivery log.
    async fn delete_webhook(&self, ctx: &AuditCtx, org: OrgId, id: WebhookId) -> Result<()>;
    /// Switches an endpoint on again (its failure record cleared) or off.
    async fn set_webhook_enabled(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: WebhookId,
        enabled: bool,
    ) -> Result<WebhookEndpoint>;
    /// A new signing secret; the old one keeps signing for a grace period.
    async fn rotate_webhook_secret(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: WebhookId,
        secret: String,
    ) -> Result<WebhookEndpoint>;
    /// An endpoint's delivery log, newest first.
    async fn webhook_messages(&self, org: OrgId, id: WebhookId, limit: i64) -> Result<Vec<WebhookMessage>> {
        self.webhook_messages_page(org, id, Keyset::first(limit)).await
    }
    /// A page of an endpoint's log, newest first, then by id.
    async fn webhook_messages_page(
        &self,
        org: OrgId,
        id: WebhookId,
        page: Keyset<(Timestamp, WebhookMessageId)>,
    ) -> Result<Vec<WebhookMessage>>;
    /// Sends one message again, with the same webhook-id and fresh attempts.
    async fn redeliver_webhook(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: WebhookId,
        message: WebhookMessageId,
    ) -> Result<WebhookMessage>;
    /// Resolves once a write has committed since the last call: webhook
    /// calls may be waiting.
    async fn webhooks_waiting(&self);
    /// Claims due calls for one worker until `lease` runs out.
    async fn claim_webhooks(&self, limit: u32, lease: SignedDuration) -> Result<Vec<OutboundWebhook>>;
    /// Records how calls went; endpoints failing for days are disabled and
    /// their organisation's admins told.
    async fn finish_webhooks(&self, outcomes: &[(OrgId, WebhookMessageId, WebhookOutcome)]) -> Result<()>;
}
