//! Webhook events owed by a change, written by [`super::outbox`] in the
//! notifying use case's transaction: one message per event per endpoint of
//! the organisation subscribed to that kind. A notice told to several
//! people is one event. Payloads carry ids and times, never free text.

use std::collections::BTreeSet;

use circles_domain::delivery::DeliveryState;
use circles_domain::ids::{OrgId, SessionId, WebhookMessageId};
use jiff::Timestamp;
use serde_json::json;

use super::Owed;
use crate::Result;
use crate::sql::db::{Executor, Query, Row, Value, placeholders, sql};

/// Parameters per message row.
const COLUMNS: usize = 10;

pub async fn enqueue<E: Executor>(tx: &mut E, owed: &[Owed]) -> Result<()> {
    let events: BTreeSet<(OrgId, &'static str, Option<SessionId>, Timestamp)> =
        owed.iter().map(|o| (o.org, o.kind.as_str(), o.session, o.at)).collect();
    let orgs: BTreeSet<OrgId> = events.iter().map(|e| e.0).collect();
    for org in orgs {
        let rows = tx
            .fetch_all(
                sql("SELECT id, event_types FROM webhook_endpoints WHERE org_id = $1 AND disabled_at IS NULL")
                    .bind(org)
                    .independent_of_deferred(),
            )
            .await?;
        let mut args: Vec<Value> = Vec::new();
        let mut values = Vec::new();
        for row in &rows {
            let endpoint: circles_domain::ids::WebhookId = row.id("id")?;
            let wanted = row.text("event_types")?;
            for (_, kind, session, at) in events.iter().filter(|e| e.0 == org) {
                if !wanted.split(' ').any(|k| k == *kind) {
                    continue;
                }
                let payload = json!({
                    "type": kind,
                    "timestamp": at.to_string(),
                    "data": { "organisation_id": org, "session_id": session, "occurred_at": at.to_string() },
                });
                values.push(format!("({})", placeholders(args.len() + 1, COLUMNS)));
                args.extend([
                    org.into(),
                    WebhookMessageId::new().into(),
                    endpoint.into(),
                    (*kind).into(),
                    payload.to_string().into(),
                    DeliveryState::Pending.as_str().into(),
                    0i64.into(),
                    (*at).into(),
                    (*at).into(),
                    (*at).into(),
                ]);
            }
        }
        if values.is_empty() {
            continue;
        }
        let mut q = Query::new(format!(
            "INSERT INTO webhook_messages (org_id, id, endpoint_id, event_type, payload, state, attempts, \
             next_attempt_at, created_at, updated_at) VALUES {}",
            values.join(", ")
        ));
        q.args = args;
        tx.defer(q).await?;
    }
    Ok(())
}
