//! The outbox's use cases: workers claim due deliveries and record how they
//! went; admins list them and retry a failed one; people set their choices.
//!
//! Claiming is one short transaction. On PostgreSQL it takes the due rows
//! `FOR UPDATE SKIP LOCKED`, so servers sharing the database never claim the
//! same row; on SQLite the one writer does the same. A claimed row is
//! `sending` until its lease runs out, so a worker that dies mid-send leaves
//! its messages to be claimed again (at-least-once, with the same id).

use async_trait::async_trait;
use circles_domain::delivery::{
    Channel, Coalesced, DeliveryState, MessageKind, Neighbours, OUTBOX_CHANNELS, calendar_method, changes_calendar,
    coalesce, enabled_by_default,
};
use circles_domain::ids::{AccountId, AccountMailId, DeliveryId, OrgId, SessionId};
use circles_domain::session::{InvitationStatus, NotificationKind, SeatStatus, SessionStatus};
use jiff::{SignedDuration, Timestamp};

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Query, Row, Value, sql};
use super::rows::deliveries as listed;
use super::{SqlStore, read_one, write_tx};
use crate::model::{
    AuditCtx, ChannelChoice, Delivery, DeliveryFilter, DeliveryOutcome, NewUnsubscribeLink, OutboundMessage,
    Preferences, Recipient, SessionFacts, SessionTherapist,
};
use crate::{DeliveryStore, Result, StoreError};

/// Parameters of one statement, numbered as they are added, so a statement
/// can name a value (or a list) where it needs it.
#[derive(Default)]
struct Args(Vec<Value>);

impl Args {
    fn add(&mut self, value: impl Into<Value>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }

    fn list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> String {
        values.into_iter().map(|v| self.add(v)).collect::<Vec<_>>().join(", ")
    }

    fn query(self, text: String) -> Query {
        let mut q = Query::new(text);
        q.args = self.0;
        q
    }
}

fn calendar_kinds() -> impl Iterator<Item = &'static str> {
    NotificationKind::ALL.iter().filter(|k| changes_calendar(**k)).map(|k| k.as_str())
}

/// `(d.org_id, d.id) IN (…)` for the given rows.
fn keys_in(args: &mut Args, alias: &str, keys: &[(OrgId, DeliveryId)]) -> String {
    let pairs: Vec<String> = keys.iter().map(|(org, id)| format!("({}, {})", args.add(*org), args.add(*id))).collect();
    format!("({alias}.org_id, {alias}.id) IN ({})", pairs.join(", "))
}

/// A claimed row before it is decided whether it goes out.
struct Claimed {
    message: OutboundMessage,
    session: Option<SessionFacts>,
    around: Neighbours,
}

async fn due<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
    now: Timestamp,
    coalesce_window: SignedDuration,
    limit: u32,
) -> Result<Vec<(OrgId, DeliveryId)>> {
    let mut args = Args::default();
    let open = args.list(DeliveryState::OPEN.iter().map(|s| s.as_str()));
    let now_p = args.add(now);
    let young = args.add(now - coalesce_window);
    let kinds = args.list(calendar_kinds());
    let limit = args.add(i64::from(limit));
    // A message about a session waits out the coalescing window after the
    // change, so that later changes within it can replace it.
    let rows = tx
        .fetch_all(args.query(format!(
            "SELECT org_id, id FROM deliveries /* spans organisations: the worker claims in every clinic */ \
             WHERE state IN ({open}) AND next_attempt_at <= {now_p} \
             AND NOT (attempts = 0 AND session_id IS NOT NULL AND created_at > {young} AND kind IN ({kinds})) \
             ORDER BY next_attempt_at LIMIT {limit}{}",
            dialect.for_update_skip_locked()
        )))
        .await?;
    rows.iter().map(|r| Ok((r.id("org_id")?, r.id("id")?))).collect()
}

async fn load_claimed<E: Executor>(tx: &mut E, keys: &[(OrgId, DeliveryId)]) -> Result<Vec<Claimed>> {
    let mut args = Args::default();
    let kinds = args.list(calendar_kinds());
    let waiting = args.list([DeliveryState::Pending, DeliveryState::Sending, DeliveryState::Sent].map(|s| s.as_str()));
    let maybe_sent = args.list([DeliveryState::Sent, DeliveryState::Sending].map(|s| s.as_str()));
    let pending = args.add(DeliveryState::Pending.as_str());
    let suppressed = args.add(DeliveryState::Suppressed.as_str());
    let superseded = args.add(Coalesced::Superseded.reason());
    let invited = args.list([InvitationStatus::Pending, InvitationStatus::Accepted].map(|s| s.as_str()));
    let seated = args.list(SeatStatus::ALL.iter().filter(|s| s.holds_time()).map(|s| s.as_str()));
    let keys = keys_in(&mut args, "d", keys);
    let same = format!(
        "o2.org_id = d.org_id AND o2.session_id = d.session_id AND o2.recipient_id = d.recipient_id \
         AND o2.channel = d.channel AND o2.kind IN ({kinds}) AND o2.id <> d.id"
    );
    let rows = tx
        .fetch_all(args.query(format!(
            "SELECT d.org_id, d.id, d.channel, d.kind, d.attempts, d.created_at, d.session_id, d.recipient_id, \
             o.name AS org_name, a.name AS recipient_name, a.email AS recipient_email, \
             ns.timezone AS recipient_timezone, ns.phone AS recipient_phone, n.title, n.body, n.offer_id, \
             s.title AS session_title, s.status AS session_status, s.starts_at, s.ends_at, \
             s.timezone AS session_timezone, s.modality, s.location, s.virtual_link, \
             (SELECT COUNT(DISTINCT h.created_at) FROM notifications h WHERE h.org_id = d.org_id \
              AND h.session_id = d.session_id AND h.kind IN ({kinds}) AND h.created_at < d.created_at) AS sequence, \
             CASE WHEN EXISTS (SELECT 1 FROM deliveries o2 WHERE {same} AND o2.created_at > d.created_at \
              AND o2.state IN ({waiting})) THEN 1 ELSE 0 END AS later_waiting, \
             CASE WHEN EXISTS (SELECT 1 FROM deliveries o2 WHERE {same} AND o2.created_at < d.created_at \
              AND o2.state IN ({maybe_sent})) THEN 1 ELSE 0 END AS earlier_sent, \
             CASE WHEN EXISTS (SELECT 1 FROM deliveries o2 WHERE {same} AND o2.created_at < d.created_at \
              AND (o2.state = {pending} OR (o2.state = {suppressed} AND o2.last_error = {superseded}))) \
              THEN 1 ELSE 0 END AS earlier_coalesced, \
             CASE WHEN EXISTS (SELECT 1 FROM session_therapists t WHERE t.org_id = d.org_id \
              AND t.session_id = d.session_id AND t.therapist_id = d.recipient_id AND t.status IN ({invited})) \
              OR EXISTS (SELECT 1 FROM seats st WHERE st.org_id = d.org_id AND st.session_id = d.session_id \
              AND st.client_id = d.recipient_id AND st.status IN ({seated})) THEN 1 ELSE 0 END AS on_session \
             FROM deliveries d /* spans organisations: the worker reads what it claimed in every clinic */ \
             JOIN organisations o ON o.id = d.org_id \
             JOIN people p ON p.org_id = d.org_id AND p.id = d.recipient_id \
             JOIN accounts a ON a.id = p.account_id \
             LEFT JOIN notification_settings ns ON ns.account_id = a.id \
             JOIN notifications n ON n.org_id = d.org_id AND n.id = d.notification_id \
             LEFT JOIN sessions s ON s.org_id = d.org_id AND s.id = d.session_id \
             WHERE {keys} ORDER BY d.created_at, d.id"
        )))
        .await?;
    rows.iter().map(claimed_from_row).collect()
}

fn claimed_from_row(row: &impl Row) -> Result<Claimed> {
    let session = match row.opt_id::<SessionId>("session_id")? {
        Some(id) if row.opt_text("session_title")?.is_some() => Some(SessionFacts {
            id,
            title: row.text("session_title")?,
            status: row.parsed::<SessionStatus>("session_status")?,
            starts_at: row.time("starts_at")?,
            ends_at: row.time("ends_at")?,
            timezone: row.text("session_timezone")?,
            modality: row.parsed("modality")?,
            location: row.opt_text("location")?,
            virtual_link: row.opt_text("virtual_link")?,
            sequence: row.int("sequence")?,
            therapists: Vec::new(),
            recipient_on_session: row.int("on_session")? == 1,
        }),
        _ => None,
    };
    Ok(Claimed {
        message: OutboundMessage {
            id: row.id("id")?,
            org_id: row.id("org_id")?,
            org_name: row.text("org_name")?,
            channel: row.parsed::<Channel>("channel")?,
            kind: row.parsed::<NotificationKind>("kind")?,
            attempt: u32::try_from(row.int("attempts")? + 1).unwrap_or(u32::MAX),
            created_at: row.time("created_at")?,
            title: row.text("title")?,
            body: row.text("body")?,
            recipient: Recipient {
                person_id: row.id("recipient_id")?,
                name: row.text("recipient_name")?,
                email: row.text("recipient_email")?,
                timezone: row.opt_text("recipient_timezone")?,
                phone: row.opt_text("recipient_phone")?,
            },
            session: None,
            offer_id: row.opt_id("offer_id")?,
        },
        session,
        around: Neighbours {
            later_waiting: row.int("later_waiting")? == 1,
            earlier_sent: row.int("earlier_sent")? == 1,
            earlier_coalesced: row.int("earlier_coalesced")? == 1,
        },
    })
}

/// The therapists of each session, with their contact details.
async fn therapists<E: Executor>(
    tx: &mut E,
    sessions: &[(OrgId, SessionId)],
) -> Result<Vec<(SessionId, SessionTherapist)>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = Args::default();
    let pairs: Vec<String> =
        sessions.iter().map(|(org, id)| format!("({}, {})", args.add(*org), args.add(*id))).collect();
    let rows = tx
        .fetch_all(args.query(format!(
            "SELECT t.session_id, t.therapist_id, t.status, a.name, a.email FROM session_therapists t \
             JOIN people p ON p.org_id = t.org_id AND p.id = t.therapist_id JOIN accounts a ON a.id = p.account_id \
             WHERE (t.org_id, t.session_id) IN ({}) ORDER BY a.name",
            pairs.join(", ")
        )))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.id("session_id")?,
                SessionTherapist {
                    person_id: r.id("therapist_id")?,
                    name: r.text("name")?,
                    email: r.text("email")?,
                    status: r.parsed("status")?,
                },
            ))
        })
        .collect()
}

async fn set_state<E: Executor>(tx: &mut E, keys: &[(OrgId, DeliveryId)], set: &str, mut args: Args) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let keys = keys_in(&mut args, "deliveries", keys);
    tx.execute(args.query(format!("UPDATE deliveries SET {set} WHERE {keys}"))).await?;
    Ok(())
}

#[async_trait]
impl<B: Backend> DeliveryStore for SqlStore<B> {
    async fn claim_deliveries(
        &self,
        limit: u32,
        lease: SignedDuration,
        coalesce_window: SignedDuration,
    ) -> Result<Vec<OutboundMessage>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let keys = due(&mut tx, dialect, now, coalesce_window, limit).await?;
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let claimed = load_claimed(&mut tx, &keys).await?;
            let (mut send, mut folded) = (Vec::new(), Vec::new());
            for mut c in claimed {
                let method = c.session.as_ref().and_then(|s| {
                    calendar_method(c.message.kind, s.status == SessionStatus::Cancelled, s.recipient_on_session)
                });
                match coalesce(method, c.around) {
                    Some(reason) => folded.push(((c.message.org_id, c.message.id), reason)),
                    None => {
                        c.message.session = c.session.take();
                        send.push(c.message);
                    }
                }
            }
            for reason in [Coalesced::Superseded, Coalesced::NothingToCancel] {
                let keys: Vec<_> = folded.iter().filter(|(_, r)| *r == reason).map(|(k, _)| *k).collect();
                let mut args = Args::default();
                let set = format!(
                    "state = {}, last_error = {}, updated_at = {}",
                    args.add(DeliveryState::Suppressed.as_str()),
                    args.add(reason.reason()),
                    args.add(now)
                );
                set_state(&mut tx, &keys, &set, args).await?;
            }
            let keys: Vec<_> = send.iter().map(|m| (m.org_id, m.id)).collect();
            let mut args = Args::default();
            let set = format!(
                "state = {}, attempts = attempts + 1, next_attempt_at = {}, updated_at = {}",
                args.add(DeliveryState::Sending.as_str()),
                args.add(now + lease),
                args.add(now)
            );
            set_state(&mut tx, &keys, &set, args).await?;
            let mut sessions: Vec<_> =
                send.iter().filter_map(|m| m.session.as_ref().map(|s| (m.org_id, s.id))).collect();
            sessions.sort();
            sessions.dedup();
            let staff = therapists(&mut tx, &sessions).await?;
            for message in &mut send {
                if let Some(session) = &mut message.session {
                    session.therapists =
                        staff.iter().filter(|(id, _)| *id == session.id).map(|(_, t)| t.clone()).collect();
                }
            }
            send
        })
    }

    async fn finish_deliveries(&self, outcomes: &[(OrgId, DeliveryId, DeliveryOutcome)]) -> Result<()> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let sent: Vec<_> = outcomes
                .iter()
                .filter(|(_, _, o)| *o == DeliveryOutcome::Sent)
                .map(|(org, id, _)| (*org, *id))
                .collect();
            let mut args = Args::default();
            let set = format!(
                "state = {}, sent_at = {now_p}, updated_at = {now_p}, last_error = NULL",
                args.add(DeliveryState::Sent.as_str()),
                now_p = args.add(now)
            );
            set_state(&mut tx, &sent, &set, args).await?;
            for (org, id, outcome) in outcomes {
                let (state, error, at) = match outcome {
                    DeliveryOutcome::Sent => continue,
                    DeliveryOutcome::Retry { error, at } => (DeliveryState::Pending, error, *at),
                    DeliveryOutcome::Failed { error } => (DeliveryState::Failed, error, now),
                };
                tx.execute(
                    sql("UPDATE deliveries SET state = $3, last_error = $4, next_attempt_at = $5, updated_at = $6 \
                         WHERE org_id = $1 AND id = $2 AND state = $7")
                    .bind(*org)
                    .bind(*id)
                    .bind(state.as_str())
                    .bind(error.as_str())
                    .bind(at)
                    .bind(now)
                    .bind(DeliveryState::Sending.as_str()),
                )
                .await?;
            }
        })
    }

    async fn next_delivery_due(&self, coalesce_window: SignedDuration) -> Result<Option<Timestamp>> {
        let now = self.clock.now();
        let mut args = Args::default();
        let open = args.list(DeliveryState::OPEN.iter().map(|s| s.as_str()));
        let young = args.add(now - coalesce_window);
        let kinds = args.list(calendar_kinds());
        let is_young =
            format!("attempts = 0 AND session_id IS NOT NULL AND created_at > {young} AND kind IN ({kinds})");
        let row = read_one!(self, |tx| {
            tx.fetch_one(args.query(format!(
                "SELECT MIN(CASE WHEN {is_young} THEN NULL ELSE next_attempt_at END) AS due, \
                 MIN(CASE WHEN {is_young} THEN created_at END) AS young_since \
                 FROM deliveries /* spans organisations: when the worker next has work */ WHERE state IN ({open})"
            )))
            .await?
        })?;
        let due = row.opt_time("due")?;
        let after_window = row.opt_time("young_since")?.map(|t| t + coalesce_window);
        Ok(due.into_iter().chain(after_window).min())
    }

    async fn deliveries_waiting(&self) {
        self.outbox.notified().await;
    }

    async fn deliveries(&self, org: OrgId, filter: DeliveryFilter) -> Result<Vec<Delivery>> {
        read_one!(self, |tx| listed::list(&mut tx, org, &filter).await?)
    }

    async fn retry_delivery(&self, ctx: &AuditCtx, org: OrgId, id: DeliveryId) -> Result<Delivery> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let delivery = listed::fetch(&mut tx, org, id).await?;
            if delivery.state != DeliveryState::Failed {
                return Err(StoreError::conflict(
                    "delivery_not_failed",
                    format!("only a failed delivery can be retried; this one is {}", delivery.state),
                ));
            }
            let draft = match delivery.kind {
                MessageKind::Notification(_) => {
                    tx.execute(
                        sql("UPDATE deliveries SET state = $3, attempts = 0, next_attempt_at = $4, updated_at = $4 \
                             WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(id)
                        .bind(DeliveryState::Pending.as_str())
                        .bind(now),
                    )
                    .await?;
                    AuditDraft::new("delivery.retry", "delivery", id)
                }
                // An invitation's e-mail, listed with the organisation's own.
                MessageKind::Account(_) => {
                    listed::reopen_account_mail(&mut tx, AccountMailId(id.0), now).await?;
                    AuditDraft::new("delivery.retry", "account_mail", id)
                }
            };
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            listed::fetch(&mut tx, org, id).await?
        })
    }

    async fn preferences(&self, account: AccountId) -> Result<Preferences> {
        read_one!(self, |tx| load_preferences(&mut tx, account).await?)
    }

    async fn set_preferences(&self, ctx: &AuditCtx, account: AccountId, prefs: Preferences) -> Result<Preferences> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            tx.execute(sql("DELETE FROM notification_preferences WHERE account_id = $1").bind(account)).await?;
            for choice in prefs.channels.iter().filter(|c| c.enabled != enabled_by_default(c.kind, c.channel)) {
                tx.execute(
                    sql("INSERT INTO notification_preferences (account_id, kind, channel, enabled) VALUES ($1, $2, $3, $4)")
                        .bind(account)
                        .bind(choice.kind.as_str())
                        .bind(choice.channel.as_str())
                        .bind(choice.enabled),
                )
                .await?;
            }
            tx.execute(sql("DELETE FROM notification_settings WHERE account_id = $1").bind(account)).await?;
            tx.execute(
                sql("INSERT INTO notification_settings (account_id, timezone, phone, updated_at) VALUES ($1, $2, $3, $4)")
                    .bind(account)
                    .bind(prefs.timezone.as_deref())
                    .bind(prefs.phone.as_deref())
                    .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("preferences.update", "account", account);
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[draft]).await?;
            load_preferences(&mut tx, account).await?
        })
    }

    async fn create_unsubscribe_links(&self, links: &[NewUnsubscribeLink]) -> Result<Vec<bool>> {
        if links.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let mut made = Vec::with_capacity(links.len());
            for link in links {
                let found = tx
                    .fetch_optional(
                        sql("SELECT account_id FROM people WHERE org_id = $1 AND id = $2")
                            .bind(link.org_id)
                            .bind(link.person_id),
                    )
                    .await?;
                let Some(account) = found.map(|row| row.opt_id::<AccountId>("account_id")).transpose()?.flatten()
                else {
                    made.push(false);
                    continue;
                };
                tx.execute(
                    sql("INSERT INTO unsubscribe_links (token_hash, account_id, kind, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(link.token_hash)
                        .bind(account)
                        .bind(link.kind.as_str())
                        .bind(now),
                )
                .await?;
                made.push(true);
            }
            made
        })
    }

    async fn unsubscribe_link_kind(&self, token_hash: [u8; 32]) -> Result<NotificationKind> {
        read_one!(self, |tx| linked(&mut tx, token_hash).await?.1)
    }

    async fn unsubscribe(&self, token_hash: [u8; 32]) -> Result<NotificationKind> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let (account, kind) = linked(&mut tx, token_hash).await?;
            // Unsubscribing is one choice among the account's others: only
            // the e-mail of this kind changes.
            let choice = |q: &'static str| sql(q).bind(account).bind(kind.as_str()).bind(Channel::Email.as_str());
            tx.execute(choice(
                "DELETE FROM notification_preferences WHERE account_id = $1 AND kind = $2 AND channel = $3",
            ))
            .await?;
            if enabled_by_default(kind, Channel::Email) {
                tx.execute(
                    choice(
                        "INSERT INTO notification_preferences (account_id, kind, channel, enabled) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(false),
                )
                .await?;
            }
            tx.execute(
                sql("UPDATE unsubscribe_links SET used_at = $2 WHERE token_hash = $1").bind(token_hash).bind(now),
            )
            .await?;
            let ctx = AuditCtx { request_id: Some("link:unsubscribe".into()), ..AuditCtx::default() };
            let draft = AuditDraft::new("preferences.unsubscribe", "account", account)
                .details(serde_json::json!({ "kind": kind.as_str(), "channel": Channel::Email.as_str() }));
            audit::append(&mut tx, now, &ctx, OrgId::PLATFORM, &[draft]).await?;
            kind
        })
    }
}

/// The account and kind an unsubscribe link names.
async fn linked<E: Executor>(tx: &mut E, token_hash: [u8; 32]) -> Result<(AccountId, NotificationKind)> {
    let row = tx
        .fetch_optional(sql("SELECT account_id, kind FROM unsubscribe_links WHERE token_hash = $1").bind(token_hash))
        .await?
        .ok_or(StoreError::NotFound("unsubscribe link"))?;
    Ok((row.id("account_id")?, row.parsed("kind")?))
}

/// Every kind and channel with its effective choice, and the zone.
async fn load_preferences<E: Executor>(tx: &mut E, account: AccountId) -> Result<Preferences> {
    let rows = tx
        .fetch_all(
            sql("SELECT kind, channel, enabled, NULL AS timezone, NULL AS phone FROM notification_preferences \
                 WHERE account_id = $1 UNION ALL SELECT NULL, NULL, NULL, timezone, phone FROM notification_settings \
                 WHERE account_id = $1")
            .bind(account),
        )
        .await?;
    let (mut timezone, mut phone) = (None, None);
    let mut chosen = Vec::new();
    for row in &rows {
        match row.opt_text("kind")? {
            Some(_) => chosen.push((
                row.parsed::<NotificationKind>("kind")?,
                row.parsed::<Channel>("channel")?,
                row.bool("enabled")?,
            )),
            None => (timezone, phone) = (row.opt_text("timezone")?, row.opt_text("phone")?),
        }
    }
    let channels = NotificationKind::ALL
        .iter()
        .flat_map(|&kind| OUTBOX_CHANNELS.iter().map(move |&channel| (kind, channel)))
        .map(|(kind, channel)| {
            let enabled = chosen
                .iter()
                .find(|(k, c, _)| *k == kind && *c == channel)
                .map_or_else(|| enabled_by_default(kind, channel), |(_, _, e)| *e);
            ChannelChoice { kind, channel, enabled }
        })
        .collect();
    Ok(Preferences { timezone, phone, channels })
}
