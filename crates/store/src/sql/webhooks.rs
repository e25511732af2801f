//! Webhook use cases: admins register, rotate, switch and remove endpoints,
//! read an endpoint's delivery log and redeliver one message; workers claim
//! due calls (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the one writer on
//! SQLite) and record how they went. An endpoint that has failed for days is
//! disabled in the same transaction that records the failure, and the
//! organisation's admins are told through their inbox (and its outbox).

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::delivery::DeliveryState;
use circles_domain::ids::{OrgId, PersonId, WebhookId, WebhookMessageId};
use circles_domain::session::NotificationKind;
use circles_domain::webhook::{OLD_SECRET_GRACE, should_disable};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Query, Row, Value, placeholders, sql};
use super::notify::{self, Notice};
use super::{SqlStore, read_one, write_tx};
use crate::model::{AuditCtx, Keyset, NewWebhook, OutboundWebhook, WebhookEndpoint, WebhookMessage, WebhookOutcome};
use crate::{Result, StoreError, WebhookStore};

const ENDPOINT_COLUMNS: &str =
    "id, url, description, event_types, failing_since, disabled_at, previous_secret_until, created_at, updated_at";

fn endpoint_from_row(row: &impl Row) -> Result<WebhookEndpoint> {
    let kinds = row.text("event_types")?;
    Ok(WebhookEndpoint {
        id: row.id("id")?,
        url: row.text("url")?,
        description: row.text("description")?,
        event_types: kinds.split(' ').filter(|k| !k.is_empty()).filter_map(|k| k.parse().ok()).collect(),
        failing_since: row.opt_time("failing_since")?,
        disabled_at: row.opt_time("disabled_at")?,
        previous_secret_until: row.opt_time("previous_secret_until")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

async fn endpoint<E: Executor>(tx: &mut E, org: OrgId, id: WebhookId) -> Result<WebhookEndpoint> {
    let row = tx
        .fetch_optional(
            sql(format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"))
                .bind(org)
                .bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("webhook"))?;
    endpoint_from_row(&row)
}

const MESSAGE_COLUMNS: &str = "id, endpoint_id, event_type, state, attempts, next_attempt_at, last_error, \
     response_status, created_at, sent_at";

fn message_from_row(row: &impl Row) -> Result<WebhookMessage> {
    Ok(WebhookMessage {
        id: row.id("id")?,
        endpoint_id: row.id("endpoint_id")?,
        event_type: row.text("event_type")?,
        state: row.parsed("state")?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: row.time("next_attempt_at")?,
        last_error: row.opt_text("last_error")?,
        response_status: row.opt_int("response_status")?,
        created_at: row.time("created_at")?,
        sent_at: row.opt_time("sent_at")?,
    })
}

async fn message<E: Executor>(tx: &mut E, org: OrgId, id: WebhookId, msg: WebhookMessageId) -> Result<WebhookMessage> {
    let row = tx
        .fetch_optional(
            sql(format!(
                "SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE org_id = $1 AND endpoint_id = $2 AND id = $3"
            ))
            .bind(org)
            .bind(id)
            .bind(msg),
        )
        .await?
        .ok_or(StoreError::NotFound("webhook message"))?;
    message_from_row(&row)
}

/// `(org_id, id) IN (…)` over `keys`, its parameters from `$first`.
fn keys_in(first: usize, keys: &[(OrgId, WebhookMessageId)]) -> (String, Vec<Value>) {
    let pairs: Vec<String> = (0..keys.len()).map(|i| format!("({})", placeholders(first + 2 * i, 2))).collect();
    let args = keys.iter().flat_map(|(org, id)| [Value::from(*org), Value::from(*id)]).collect();
    (format!("(org_id, id) IN ({})", pairs.join(", ")), args)
}

/// Records a failed call against its endpoint, and disables an endpoint
/// that has failed for days, telling the organisation's admins.
async fn record_failure<E: Executor>(tx: &mut E, org: OrgId, message: WebhookMessageId, now: Timestamp) -> Result<()> {
    let row = tx
        .fetch_optional(
            sql("SELECT e.id, e.url, e.failing_since FROM webhook_endpoints e JOIN webhook_messages m \
                 ON m.org_id = e.org_id AND m.endpoint_id = e.id WHERE m.org_id = $1 AND m.id = $2 \
                 AND e.disabled_at IS NULL")
            .bind(org)
            .bind(message),
        )
        .await?;
    let Some(row) = row else { return Ok(()) };
    let id: WebhookId = row.id("id")?;
    let Some(since) = row.opt_time("failing_since")? else {
        tx.execute(
            sql("UPDATE webhook_endpoints SET failing_since = $3 WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(now),
        )
        .await?;
        return Ok(());
    };
    if !should_disable(since, now) {
        return Ok(());
    }
    tx.execute(
        sql("UPDATE webhook_endpoints SET disabled_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .bind(now),
    )
    .await?;
    let admins =
        tx.fetch_all(sql("SELECT id FROM people WHERE org_id = $1 AND role = $2").bind(org).bind(Role::Admin)).await?;
    let admins: Vec<PersonId> = admins.iter().map(|r| r.id("id")).collect::<std::result::Result<_, _>>()?;
    let url = row.text("url")?;
    let notice = Notice {
        kind: NotificationKind::WebhookDisabled,
        title: "A webhook was switched off",
        body: format!(
            "Every call to {url} has failed since {since}, so Circles stopped calling it. \
             Fix the receiver and switch the webhook on again; messages since then can be redelivered."
        ),
        session: None,
        group: None,
    };
    notify::push(tx, org, now, admins, None, &notice).await?;
    let draft = AuditDraft::new("webhook.disable", "webhook", id).details(json!({ "failing_since": since }));
    audit::append(tx, now, &AuditCtx::default(), org, &[draft]).await
}

#[async_trait]
impl<B: Backend> WebhookStore for SqlStore<B> {
    async fn create_webhook(&self, ctx: &AuditCtx, org: OrgId, input: NewWebhook) -> Result<WebhookEndpoint> {
        let now = self.clock.now();
        let id = WebhookId::new();
        let kinds: Vec<&str> = input.event_types.iter().map(|k| k.as_str()).collect();
        write_tx!(self, |tx| {
            tx.execute(
                sql("INSERT INTO webhook_endpoints (org_id, id, url, description, event_types, secret, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
                .bind(org)
                .bind(id)
                .bind(input.url.as_str())
                .bind(input.description.as_str())
                .bind(kinds.join(" "))
                .bind(input.secret.as_str())
                .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("webhook.create", "webhook", id)
                .details(json!({ "url": input.url, "event_types": kinds }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            endpoint(&mut tx, org, id).await?
        })
    }

    async fn webhooks(&self, org: OrgId, page: Keyset<(Timestamp, WebhookId)>) -> Result<Vec<WebhookEndpoint>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql(format!(
                    "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 \
                     AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4)) \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ))
                .bind(org)
                .bind(page.limit)
                .bind(page.after.map(|(at, _)| at))
                .bind(page.after.map(|(_, id)| id)),
            )
            .await?
        })?;
        rows.iter().map(endpoint_from_row).collect()
    }

    async fn delete_webhook(&self, ctx: &AuditCtx, org: OrgId, id: WebhookId) -> Result<()> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            endpoint(&mut tx, org, id).await?;
            tx.execute(sql("DELETE FROM webhook_messages WHERE org_id = $1 AND endpoint_id = $2").bind(org).bind(id))
                .await?;
            tx.execute(sql("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2").bind(org).bind(id)).await?;
            audit::append(&mut tx, now, ctx, org, &[AuditDraft::new("webhook.delete", "webhook", id)]).await?;
        })
    }

    async fn set_webhook_enabled(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: WebhookId,
        enabled: bool,
    ) -> Result<WebhookEndpoint> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            endpoint(&mut tx, org, id).await?;
            let disabled_at = (!enabled).then_some(now);
            tx.execute(
                sql("UPDATE webhook_endpoints SET disabled_at = $3, failing_since = NULL, updated_at = $4 \
                     WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(disabled_at)
                .bind(now),
            )
            .await?;
            let action = if enabled { "webhook.enable" } else { "webhook.disable" };
            audit::append(&mut tx, now, ctx, org, &[AuditDraft::new(action, "webhook", id)]).await?;
            endpoint(&mut tx, org, id).await?
        })
    }

    async fn rotate_webhook_secret(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: WebhookId,
        secret: String,
    ) -> Result<WebhookEndpoint> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            endpoint(&mut tx, org, id).await?;
            tx.execute(
                sql("UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, \
                     secret = $4, updated_at = $5 WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(now + OLD_SECRET_GRACE)
                .bind(secret.as_str())
                .bind(now),
            )
            .await?;
            audit::append(&mut tx, now, ctx, org, &[AuditDraft::new("webhook.rotate_secret", "webhook", id)]).await?;
            endpoint(&mut tx, org, id).await?
        })
    }

    async fn webhook_messages_page(
        &self,
        org: OrgId,
        id: WebhookId,
        page: Keyset<(Timestamp, WebhookMessageId)>,
    ) -> Result<Vec<WebhookMessage>> {
        let rows = read_one!(self, |tx| {
            endpoint(&mut tx, org, id).await?;
            tx.fetch_all(
                sql(format!(
                    "SELECT {MESSAGE_COLUMNS} FROM webhook_messages WHERE org_id = $1 AND endpoint_id = $2 \
                     AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
                     ORDER BY created_at DESC, id DESC LIMIT $3"
                ))
                .bind(org)
                .bind(id)
                .bind(page.limit)
                .bind(page.after.map(|(at, _)| at))
                .bind(page.after.map(|(_, message)| message)),
            )
            .await?
        })?;
        rows.iter().map(message_from_row).collect()
    }

    async fn redeliver_webhook(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        id: WebhookId,
        msg: WebhookMessageId,
    ) -> Result<WebhookMessage> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            message(&mut tx, org, id, msg).await?;
            tx.execute(
                sql("UPDATE webhook_messages SET state = $3, attempts = 0, next_attempt_at = $4, updated_at = $4 \
                     WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(msg)
                .bind(DeliveryState::Pending.as_str())
                .bind(now),
            )
            .await?;
            audit::append(&mut tx, now, ctx, org, &[AuditDraft::new("webhook.redeliver", "webhook_message", msg)])
                .await?;
            message(&mut tx, org, id, msg).await?
        })
    }

    async fn webhooks_waiting(&self) {
        self.webhooks.notified().await;
    }

    async fn claim_webhooks(&self, limit: u32, lease: SignedDuration) -> Result<Vec<OutboundWebhook>> {
        let now = self.clock.now();
        let lock = self.backend.dialect().for_update_skip_locked();
        write_tx!(self, |tx| {
            let due = tx
                .fetch_all(
                    sql(format!(
                        "SELECT m.org_id, m.id FROM webhook_messages m \
                         /* spans organisations: the worker calls webhooks of every clinic */ \
                         WHERE m.state IN ($1, $2) AND m.next_attempt_at <= $3 AND EXISTS (SELECT 1 FROM \
                         webhook_endpoints e WHERE e.org_id = m.org_id AND e.id = m.endpoint_id \
                         AND e.disabled_at IS NULL) ORDER BY m.next_attempt_at LIMIT $4{lock}"
                    ))
                    .bind(DeliveryState::Pending.as_str())
                    .bind(DeliveryState::Sending.as_str())
                    .bind(now)
                    .bind(i64::from(limit)),
                )
                .await?;
            let keys: Vec<(OrgId, WebhookMessageId)> =
                due.iter().map(|r| Ok((r.id("org_id")?, r.id("id")?))).collect::<Result<_>>()?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let (keys_sql, key_args) = keys_in(4, &keys);
            let mut update = Query::new(format!(
                "UPDATE webhook_messages SET state = $1, attempts = attempts + 1, next_attempt_at = $2, \
                 updated_at = $3 WHERE {keys_sql}"
            ));
            update.args = vec![DeliveryState::Sending.as_str().into(), (now + lease).into(), now.into()];
            update.args.extend(key_args);
            tx.execute(update).await?;
            let (keys_sql, key_args) = keys_in(1, &keys);
            let keys_sql = keys_sql.replace("(org_id, id)", "(m.org_id, m.id)");
            let mut read = Query::new(format!(
                "SELECT m.org_id, m.id, m.endpoint_id, m.payload, m.attempts, e.url, e.secret, e.previous_secret, \
                 e.previous_secret_until FROM webhook_messages m JOIN webhook_endpoints e \
                 ON e.org_id = m.org_id AND e.id = m.endpoint_id WHERE {keys_sql} ORDER BY m.created_at, m.id"
            ));
            read.args = key_args;
            let rows = tx.fetch_all(read).await?;
            rows.iter()
                .map(|r| {
                    let mut secrets = vec![r.text("secret")?];
                    if let (Some(old), Some(until)) =
                        (r.opt_text("previous_secret")?, r.opt_time("previous_secret_until")?)
                        && until > now
                    {
                        secrets.push(old);
                    }
                    Ok(OutboundWebhook {
                        org_id: r.id("org_id")?,
                        id: r.id("id")?,
                        endpoint_id: r.id("endpoint_id")?,
                        url: r.text("url")?,
                        secrets,
                        payload: r.text("payload")?,
                        attempt: u32::try_from(r.int("attempts")?).unwrap_or(u32::MAX),
                    })
                })
                .collect::<Result<Vec<_>>>()?
        })
    }

    async fn finish_webhooks(&self, outcomes: &[(OrgId, WebhookMessageId, WebhookOutcome)]) -> Result<()> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            for (org, id, outcome) in outcomes {
                let (state, error, status, at) = match outcome {
                    WebhookOutcome::Sent { status } => (DeliveryState::Sent, None, Some(*status), now),
                    WebhookOutcome::Retry { error, status, at } => {
                        (DeliveryState::Pending, Some(error.as_str()), *status, *at)
                    }
                    WebhookOutcome::Failed { error, status } => {
                        (DeliveryState::Failed, Some(error.as_str()), *status, now)
                    }
                };
                let sent_at = (state == DeliveryState::Sent).then_some(now);
                tx.execute(
                    sql("UPDATE webhook_messages SET state = $3, last_error = $4, response_status = $5, \
                         next_attempt_at = $6, sent_at = COALESCE($7, sent_at), updated_at = $8 \
                         WHERE org_id = $1 AND id = $2 AND state = $9")
                    .bind(*org)
                    .bind(*id)
                    .bind(state.as_str())
                    .bind(error)
                    .bind(status.map(i64::from))
                    .bind(at)
                    .bind(sent_at)
                    .bind(now)
                    .bind(DeliveryState::Sending.as_str()),
                )
                .await?;
                if state == DeliveryState::Sent {
                    tx.execute(
                        sql("UPDATE webhook_endpoints SET failing_since = NULL WHERE org_id = $1 AND id = \
                             (SELECT endpoint_id FROM webhook_messages WHERE org_id = $1 AND id = $2)")
                        .bind(*org)
                        .bind(*id),
                    )
                    .await?;
                } else {
                    record_failure(&mut tx, *org, *id, now).await?;
                }
            }
        })
    }
}
