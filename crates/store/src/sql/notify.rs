//! The notifications inbox. Rows are written by the use case that causes
//! them, in its transaction, so a change and its notices appear together;
//! each row also fills the delivery outbox ([`super::outbox`]) there, and
//! writes one live event for its recipient ([`super::event_log`]).

use async_trait::async_trait;
use circles_domain::group::MembershipStatus;
use circles_domain::ids::{GroupId, NotificationId, OrgId, PersonId, SessionId};
use circles_domain::live::EventKind;
use circles_domain::session::NotificationKind;
use jiff::Timestamp;

use super::db::{Backend, Executor, Row, Value, sql};
use super::db::{defer_rows, insert_rows};
use super::event_log::{self, Draft};
use super::outbox::{self, Owed};
use super::{SqlStore, read_one, write_tx};
use crate::model::Notification;
use crate::{NotificationStore, Result};

/// One message to several people.
pub struct Notice<'a> {
    pub kind: NotificationKind,
    pub title: &'a str,
    pub body: String,
    pub session: Option<SessionId>,
    pub group: Option<GroupId>,
}

/// Puts `notice` in each recipient's inbox (once each; the actor is left
/// out — nobody needs telling what they just did).
pub async fn push<E: Executor>(
    tx: &mut E,
    org: OrgId,
    now: Timestamp,
    recipients: impl IntoIterator<Item = PersonId>,
    actor: Option<PersonId>,
    notice: &Notice<'_>,
) -> Result<()> {
    let mut rows = Vec::new();
    let mut owed = Vec::new();
    add_rows(&mut rows, &mut owed, org, now, recipients.into_iter().collect(), actor, notice);
    insert(tx, rows).await?;
    outbox::enqueue(tx, &owed).await?;
    event_log::record(tx, org, now, vec![event_for(&owed, notice)]).await
}

/// [`push`] to an offer's client: the inbox entry names the offer, so the
/// e-mail it owes can carry links that answer it.
pub async fn push_offer<E: Executor>(
    tx: &mut E,
    org: OrgId,
    now: Timestamp,
    client: PersonId,
    offer: circles_domain::ids::OfferId,
    notice: &Notice<'_>,
) -> Result<()> {
    let mut rows = Vec::new();
    let mut owed = Vec::new();
    add_rows(&mut rows, &mut owed, org, now, vec![client], None, notice);
    for row in &mut rows {
        row.push(offer.into());
    }
    insert_rows(
        tx,
        "notifications (org_id, id, recipient_id, kind, title, body, session_id, group_id, created_at, offer_id)",
        rows.into_iter(),
    )
    .await?;
    outbox::enqueue(tx, &owed).await?;
    event_log::record(tx, org, now, vec![event_for(&owed, notice)]).await
}

/// Puts each notice in its recipients' inboxes as [`push`] does, in as few
/// statements as the backends' parameter limits allow.
pub async fn push_all<E: Executor>(
    tx: &mut E,
    org: OrgId,
    now: Timestamp,
    actor: Option<PersonId>,
    notices: &[(Vec<PersonId>, Notice<'_>)],
) -> Result<()> {
    let mut rows = Vec::new();
    let mut owed = Vec::new();
    let mut events = Vec::new();
    for (recipients, notice) in notices {
        let first = owed.len();
        add_rows(&mut rows, &mut owed, org, now, recipients.clone(), actor, notice);
        events.push(event_for(&owed[first..], notice));
    }
    insert(tx, rows).await?;
    outbox::enqueue(tx, &owed).await?;
    event_log::record(tx, org, now, events).await
}

/// One live event per notice, for everyone it went to: the kind and ids a
/// page needs to refresh its unread count or the session it shows (each
/// recipient's own inbox entry is read through the inbox).
fn event_for(owed: &[Owed], notice: &Notice<'_>) -> Draft {
    Draft {
        kind: EventKind::Notification,
        session: notice.session,
        payload: serde_json::json!({
            "notification_kind": notice.kind.as_str(),
            "session_id": notice.session,
            "group_id": notice.group,
        }),
        recipients: owed.iter().map(|entry| entry.recipient).collect(),
    }
}

fn add_rows(
    rows: &mut Vec<Vec<Value>>,
    owed: &mut Vec<Owed>,
    org: OrgId,
    now: Timestamp,
    mut recipients: Vec<PersonId>,
    actor: Option<PersonId>,
    notice: &Notice<'_>,
) {
    recipients.retain(|r| Some(*r) != actor);
    recipients.sort();
    recipients.dedup();
    rows.extend(recipients.into_iter().map(|recipient| {
        let id = NotificationId::new();
        owed.push(Owed { org, notification: id, recipient, kind: notice.kind, session: notice.session, at: now });
        vec![
            org.into(),
            id.into(),
            recipient.into(),
            notice.kind.as_str().into(),
            notice.title.into(),
            notice.body.as_str().into(),
            notice.session.into(),
            notice.group.into(),
            now.into(),
        ]
    }));
}

/// Rows one INSERT writes at most: nine parameters each, well inside both
/// backends' limits.
const ROWS_PER_INSERT: usize = 500;

async fn insert<E: Executor>(tx: &mut E, mut rows: Vec<Vec<Value>>) -> Result<()> {
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(ROWS_PER_INSERT));
        let batch = std::mem::replace(&mut rows, rest);
        defer_rows(
            tx,
            "notifications (org_id, id, recipient_id, kind, title, body, session_id, group_id, created_at)",
            batch.into_iter(),
        )
        .await?;
    }
    Ok(())
}

/// People of a group by their tie: `moderator`, `facilitator`, or active
/// client members (`member`).
pub async fn group_people<E: Executor>(tx: &mut E, org: OrgId, group: GroupId, tie: &str) -> Result<Vec<PersonId>> {
    let q = if tie == "member" {
        sql("SELECT client_id AS person_id FROM group_memberships WHERE org_id = $1 AND group_id = $2 AND status = $3")
            .bind(org)
            .bind(group)
            .bind(MembershipStatus::Active.as_str())
    } else {
        sql("SELECT person_id FROM group_staff WHERE org_id = $1 AND group_id = $2 AND role = $3")
            .bind(org)
            .bind(group)
            .bind(tie)
    };
    tx.fetch_all(q).await?.iter().map(|r| r.id("person_id").map_err(Into::into)).collect()
}

fn notification_from_row(row: &impl Row) -> Result<Notification> {
    Ok(Notification {
        id: row.id("id")?,
        recipient_id: row.id("recipient_id")?,
        kind: row.text("kind")?,
        title: row.text("title")?,
        body: row.text("body")?,
        session_id: row.opt_id("session_id")?,
        group_id: row.opt_id("group_id")?,
        created_at: row.time("created_at")?,
        read_at: row.opt_time("read_at")?,
    })
}

#[async_trait]
impl<B: Backend> NotificationStore for SqlStore<B> {
    async fn notification_page(
        &self,
        org: OrgId,
        person: PersonId,
        unread_only: bool,
        after: Option<(Timestamp, NotificationId)>,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql("SELECT * FROM notifications WHERE org_id = $1 AND recipient_id = $2 AND ($3 = FALSE OR read_at IS NULL) \
                     AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6)) \
                     ORDER BY created_at DESC, id DESC LIMIT $4")
                .bind(org)
                .bind(person)
                .bind(unread_only)
                .bind(limit)
                .bind(after.map(|(at, _)| at))
                .bind(after.map(|(_, id)| id)),
            )
            .await?
        })?;
        rows.iter().map(notification_from_row).collect()
    }

    async fn mark_notification_read(&self, org: OrgId, person: PersonId, id: NotificationId) -> Result<Notification> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql("UPDATE notifications SET read_at = COALESCE(read_at, $4) \
                         WHERE org_id = $1 AND recipient_id = $2 AND id = $3 RETURNING *")
                    .bind(org)
                    .bind(person)
                    .bind(id)
                    .bind(now),
                )
                .await?
                .ok_or(crate::StoreError::NotFound("notification"))?;
            notification_from_row(&row)?
        })
    }

    async fn mark_all_notifications_read(&self, org: OrgId, person: PersonId) -> Result<u64> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            tx.execute(
                sql(
                    "UPDATE notifications SET read_at = $3 WHERE org_id = $1 AND recipient_id = $2 AND read_at IS NULL",
                )
                .bind(org)
                .bind(person)
                .bind(now),
            )
            .await?
        })
    }
}
