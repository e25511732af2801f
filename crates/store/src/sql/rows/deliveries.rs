//! An organisation's outgoing messages as its admins list them: the
//! deliveries its notifications owe, and the e-mail owed to accounts on its
//! behalf (its invitations to join), which sit in `account_mail` because
//! their recipients are not among its people yet. Both read as one list,
//! newest first, so a failed invitation is found and retried where a failed
//! reminder is.

use circles_domain::delivery::{Channel, DeliveryState};
use circles_domain::ids::{AccountMailId, DeliveryId, OrgId, PersonId};
use jiff::Timestamp;

use crate::model::{Delivery, DeliveryFilter};
use crate::sql::db::{Executor, Row, sql};
use crate::{Result, StoreError};

/// The organisation's messages (`$1` the organisation, `$2` the channel an
/// account e-mail goes on) as one relation `l`. An invitation's recipient is
/// the invitation (whose id the person takes on accepting) under the name
/// the admin gave: the organisation never sees the account's own name
/// before it accepts.
const LISTED: &str = "(SELECT d.id, d.channel, d.recipient_id, a.name AS recipient_name, d.kind, d.session_id, \
     d.state, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.updated_at, d.sent_at \
     FROM deliveries d JOIN people p ON p.org_id = d.org_id AND p.id = d.recipient_id \
     JOIN accounts a ON a.id = p.account_id WHERE d.org_id = $1 \
     UNION ALL SELECT m.id, CAST($2 AS TEXT), m.invitation_id, i.name, m.kind, NULL, \
     m.state, m.attempts, m.next_attempt_at, m.last_error, m.created_at, m.updated_at, m.sent_at \
     FROM account_mail m JOIN org_invitations i ON i.org_id = m.invitation_org AND i.id = m.invitation_id \
     WHERE m.invitation_org = $1 AND i.org_id = $1) l";

fn delivery_from_row(row: &impl Row) -> Result<Delivery> {
    Ok(Delivery {
        id: row.id("id")?,
        channel: row.parsed("channel")?,
        recipient_id: row.id::<PersonId>("recipient_id")?,
        recipient_name: row.text("recipient_name")?,
        kind: row.parsed("kind")?,
        session_id: row.opt_id("session_id")?,
        state: row.parsed("state")?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: row.time("next_attempt_at")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        sent_at: row.opt_time("sent_at")?,
    })
}

/// The organisation's messages the filter asks for, newest first.
pub async fn list<E: Executor>(tx: &mut E, org: OrgId, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT * FROM {LISTED} WHERE ($3 IS NULL OR l.state = $3) \
                 AND ($5 IS NULL OR l.created_at < $5 OR (l.created_at = $5 AND l.id < $6)) \
                 ORDER BY l.created_at DESC, l.id DESC LIMIT $4"
            ))
            .bind(org)
            .bind(Channel::Email.as_str())
            .bind(filter.state.map(|s| s.as_str()))
            .bind(filter.limit)
            .bind(filter.after.map(|(at, _)| at))
            .bind(filter.after.map(|(_, id)| id)),
        )
        .await?;
    rows.iter().map(delivery_from_row).collect()
}

/// One of the organisation's messages; another organisation's is not found.
pub async fn fetch<E: Executor>(tx: &mut E, org: OrgId, id: DeliveryId) -> Result<Delivery> {
    let row = tx
        .fetch_optional(
            sql(format!("SELECT * FROM {LISTED} WHERE l.id = $3")).bind(org).bind(Channel::Email.as_str()).bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("delivery"))?;
    delivery_from_row(&row)
}

/// Sends a failed account e-mail again with a fresh round of attempts.
pub async fn reopen_account_mail<E: Executor>(tx: &mut E, id: AccountMailId, now: Timestamp) -> Result<()> {
    tx.execute(
        sql("UPDATE account_mail SET state = $2, attempts = 0, next_attempt_at = $3, updated_at = $3 \
             WHERE id = $1 AND state = $4")
        .bind(id)
        .bind(DeliveryState::Pending.as_str())
        .bind(now)
        .bind(DeliveryState::Failed.as_str()),
    )
    .await?;
    Ok(())
}
