//! Filling the outbox: every inbox entry also owes one delivery per outbox
//! channel, written by [`super::notify`] in the notifying use case's
//! transaction, so a change and the messages it owes commit together or not
//! at all. The recipient's choices decide, in the same statement, whether a
//! delivery waits to be sent or is suppressed from the start.
//!
//! E-mail owed to an account rather than to a person in an organisation
//! (password resets, invitations to join) goes into `account_mail` the same
//! way, through [`enqueue_account_mail`].

use circles_domain::account_mail::AccountMailKind;
use circles_domain::delivery::{Channel, DeliveryState, OUTBOX_CHANNELS, enabled_by_default};
use circles_domain::ids::{AccountId, AccountMailId, DeliveryId, NotificationId, OrgId, PersonId, SessionId};
use circles_domain::session::NotificationKind;
use jiff::Timestamp;

use super::db::{Executor, Query, Value, placeholders, sql};
use crate::Result;

mod webhooks;

/// Why a delivery suppressed at once was never sent.
pub const TURNED_OFF: &str = "the recipient turned this channel off for this kind of message";

/// One inbox entry, as the outbox needs it.
pub struct Owed {
    pub org: OrgId,
    pub notification: NotificationId,
    pub recipient: PersonId,
    pub kind: NotificationKind,
    pub session: Option<SessionId>,
    pub at: Timestamp,
}

/// Parameters per delivery row in [`enqueue`].
const COLUMNS: usize = 9;
/// Rows one statement writes at most, well inside both backends' limits.
const ROWS_PER_INSERT: usize = 500;

/// Writes the deliveries `owed` entries call for: one per outbox channel,
/// `pending` and due at once, or `suppressed` where the recipient (or, if
/// they made no choice, the default) turned the channel off for the kind.
/// A channel off by default (texts) writes a row only for the people who
/// turned it on, not a suppressed one for everyone else.
pub async fn enqueue<E: Executor>(tx: &mut E, owed: &[Owed]) -> Result<()> {
    if !tx.writes_outbox() {
        return Ok(());
    }
    for chunk in owed.chunks(ROWS_PER_INSERT / OUTBOX_CHANNELS.len()) {
        let mut rows = Vec::new();
        let mut args: Vec<Value> =
            vec![DeliveryState::Pending.as_str().into(), DeliveryState::Suppressed.as_str().into(), TURNED_OFF.into()];
        for entry in chunk {
            for &channel in OUTBOX_CHANNELS {
                rows.push(format!("({})", placeholders(args.len() + 1, COLUMNS)));
                args.extend(row(entry, channel));
            }
        }
        let mut q = Query::new(format!(
            "INSERT INTO deliveries (org_id, id, channel, recipient_id, notification_id, kind, session_id, state, \
             attempts, next_attempt_at, last_error, created_at, updated_at) \
             SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
             CASE WHEN COALESCE(p.enabled, v.column9) THEN $1 ELSE $2 END, 0, v.column8, \
             CASE WHEN COALESCE(p.enabled, v.column9) THEN NULL ELSE $3 END, v.column8, v.column8 \
             FROM (VALUES {}) AS v \
             JOIN people pe ON pe.org_id = v.column1 AND pe.id = v.column4 \
             LEFT JOIN notification_preferences p ON p.account_id = pe.account_id AND p.kind = v.column6 \
             AND p.channel = v.column3 WHERE v.column9 OR p.enabled",
            rows.join(", ")
        ));
        q.args = args;
        tx.defer(q).await?;
    }
    webhooks::enqueue(tx, owed).await
}

fn row(entry: &Owed, channel: Channel) -> Vec<Value> {
    vec![
        entry.org.into(),
        DeliveryId::new().into(),
        channel.as_str().into(),
        entry.recipient.into(),
        entry.notification.into(),
        entry.kind.as_str().into(),
        entry.session.into(),
        entry.at.into(),
        enabled_by_default(entry.kind, channel).into(),
    ]
}

/// What an account e-mail is owed for.
pub enum AccountMailFor {
    /// A password reset whose link works until the instant given.
    PasswordReset { expires_at: Timestamp },
    /// An organisation's invitation to join it.
    OrgInvitation { org: OrgId, invitation: PersonId },
}

/// Owes `account` an e-mail, due at once, in the caller's transaction.
pub async fn enqueue_account_mail<E: Executor>(
    tx: &mut E,
    now: Timestamp,
    account: AccountId,
    owed: AccountMailFor,
) -> Result<AccountMailId> {
    let id = AccountMailId::new();
    let (kind, expires_at, org, invitation) = match owed {
        AccountMailFor::PasswordReset { expires_at } => (AccountMailKind::PasswordReset, Some(expires_at), None, None),
        AccountMailFor::OrgInvitation { org, invitation } => {
            (AccountMailKind::OrgInvitation, None, Some(org), Some(invitation))
        }
    };
    tx.defer(
        sql("INSERT INTO account_mail (id, account_id, kind, invitation_org, invitation_id, expires_at, state, \
             attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8, $8)")
        .bind(id)
        .bind(account)
        .bind(kind.as_str())
        .bind(org)
        .bind(invitation)
        .bind(expires_at)
        .bind(DeliveryState::Pending.as_str())
        .bind(now),
    )
    .await?;
    Ok(id)
}
