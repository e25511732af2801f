//! E-mail owed to an account: asking for a password reset, the worker's
//! claiming and recording of account e-mail, and setting a password with a
//! reset link. Claiming follows `deliveries.rs`: one short transaction that
//! takes due rows `FOR UPDATE SKIP LOCKED` (the one writer on SQLite) and
//! leases them, so servers sharing a database never send one twice at once.

use async_trait::async_trait;
use circles_domain::account_mail::{AccountMailKind, ResetRefusal, reset_link_usable};
use circles_domain::delivery::DeliveryState;
use circles_domain::ids::{AccountId, AccountMailId, OrgId};
use circles_domain::input::Email;
use circles_domain::org_invitation::OrgInvitationStatus;
use jiff::SignedDuration;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Query, Row, Value, sql};
use super::outbox::{AccountMailFor, enqueue_account_mail};
use super::rows::deliveries::reopen_account_mail;
use super::rows::people::{account_from_row, revoke_tokens};
use super::{SqlStore, read_one, write_tx};
use crate::model::{
    AccountMessage, AuditCtx, DeliveryOutcome, FailedAccountMail, InvitationFacts, PasswordReset, ResetLink, TokenKind,
};
use crate::{AccountMailStore, Result, StoreError};

/// Why an invitation's e-mail was not sent.
const ANSWERED: &str = "the invitation was answered before its e-mail went out";

/// `$first, $first+1, …` for `n` values.
fn numbered(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn ids_query(text: impl Fn(&str) -> String, first: usize, mut args: Vec<Value>, ids: &[AccountMailId]) -> Query {
    let mut q = Query::new(text(&numbered(first, ids.len())));
    args.extend(ids.iter().map(|id| Value::from(*id)));
    q.args = args;
    q
}

/// The zone an account reads times in: its own choice, else the zone of
/// the first organisation it joined (UTC when it has neither).
const ACCOUNT_ZONE: &str = "COALESCE(ns.timezone, (SELECT oz.timezone FROM people pz \
     JOIN organisations oz ON oz.id = pz.org_id WHERE pz.account_id = a.id \
     ORDER BY pz.created_at, pz.org_id LIMIT 1))";

const CLAIMED_COLUMNS: &str = "m.id, m.kind, m.attempts, m.created_at, m.account_id, m.expires_at, \
     a.name, a.email, o.name AS org_name, o.timezone AS org_timezone, i.role, \
     i.status AS invitation_status, ia.name AS inviter_name";

fn claimed_from_row(row: &impl Row) -> Result<(AccountMessage, bool)> {
    let kind: AccountMailKind = row.parsed("kind")?;
    let (invitation, pending) = match row.opt_text("org_name")? {
        Some(org_name) if kind == AccountMailKind::OrgInvitation => {
            let status: Option<OrgInvitationStatus> =
                row.opt_text("invitation_status")?.map(|s| s.parse()).transpose().ok().flatten();
            let facts = InvitationFacts {
                org_name,
                org_timezone: row.text("org_timezone")?,
                inviter_name: row.opt_text("inviter_name")?.unwrap_or_default(),
                role: row.parsed("role")?,
            };
            (Some(facts), status == Some(OrgInvitationStatus::Pending))
        }
        _ => (None, kind == AccountMailKind::PasswordReset),
    };
    let message = AccountMessage {
        id: row.id("id")?,
        kind,
        attempt: u32::try_from(row.int("attempts")? + 1).unwrap_or(u32::MAX),
        created_at: row.time("created_at")?,
        account_id: row.id("account_id")?,
        name: row.text("name")?,
        email: row.text("email")?,
        timezone: row.opt_text("timezone")?,
        expires_at: row.opt_time("expires_at")?,
        invitation,
    };
    Ok((message, pending))
}

/// An account e-mail as the operator lists it: `SELECT {failed()} WHERE …`.
fn failed() -> String {
    format!(
        "m.id, m.kind, m.state, m.attempts, m.last_error, m.created_at, m.updated_at, a.name, a.email, \
         o.name AS org_name, {ACCOUNT_ZONE} AS timezone FROM account_mail m JOIN accounts a ON a.id = m.account_id \
         LEFT JOIN notification_settings ns ON ns.account_id = a.id LEFT JOIN organisations o ON o.id = m.invitation_org"
    )
}

fn failed_from_row(row: &impl Row) -> Result<FailedAccountMail> {
    Ok(FailedAccountMail {
        id: row.id("id")?,
        kind: row.parsed("kind")?,
        name: row.text("name")?,
        email: row.text("email")?,
        timezone: row.opt_text("timezone")?,
        org_name: row.opt_text("org_name")?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        failed_at: row.time("updated_at")?,
    })
}

#[async_trait]
impl<B: Backend> AccountMailStore for SqlStore<B> {
    async fn request_password_reset(&self, ctx: &AuditCtx, email: &Email, valid_for: SignedDuration) -> Result<bool> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let Some(row) =
                tx.fetch_optional(sql("SELECT id FROM accounts WHERE email = $1").bind(email.as_str())).await?
            else {
                return Ok(false);
            };
            let account: AccountId = row.id("id")?;
            let expires_at = now + valid_for;
            let id = enqueue_account_mail(&mut tx, now, account, AccountMailFor::PasswordReset { expires_at }).await?;
            let draft = AuditDraft::new("account.password_reset_requested", "account", account)
                .details(json!({ "message_id": id.0, "expires_at": expires_at }));
            let ctx = AuditCtx { account_id: Some(account), ..ctx.clone() };
            audit::append(&mut tx, now, &ctx, OrgId::PLATFORM, &[draft]).await?;
            true
        })
    }

    async fn claim_account_mail(&self, limit: u32, lease: SignedDuration) -> Result<Vec<AccountMessage>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let due = tx
                .fetch_all(
                    sql(format!(
                        "SELECT id FROM account_mail WHERE state IN ($1, $2) AND next_attempt_at <= $3 \
                         ORDER BY next_attempt_at LIMIT $4{}",
                        dialect.for_update_skip_locked()
                    ))
                    .bind(DeliveryState::Pending.as_str())
                    .bind(DeliveryState::Sending.as_str())
                    .bind(now)
                    .bind(i64::from(limit)),
                )
                .await?;
            let ids = due.iter().map(|r| r.id("id")).collect::<std::result::Result<Vec<AccountMailId>, _>>()?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let rows = tx
                .fetch_all(ids_query(
                    |ids| {
                        format!(
                            "SELECT {CLAIMED_COLUMNS}, {ACCOUNT_ZONE} AS timezone FROM account_mail m JOIN accounts a ON a.id = m.account_id \
                             LEFT JOIN notification_settings ns ON ns.account_id = a.id \
                             LEFT JOIN organisations o ON o.id = m.invitation_org \
                             LEFT JOIN org_invitations i ON i.org_id = m.invitation_org AND i.id = m.invitation_id \
                             LEFT JOIN people ip ON ip.org_id = i.org_id AND ip.id = i.invited_by \
                             LEFT JOIN accounts ia ON ia.id = ip.account_id \
                             WHERE m.id IN ({ids}) ORDER BY m.created_at, m.id \
                             /* spans organisations: each invitation belongs to its own clinic */"
                        )
                    },
                    1,
                    Vec::new(),
                    &ids,
                ))
                .await?;
            let mut send = Vec::new();
            let mut answered = Vec::new();
            for row in &rows {
                let (message, pending) = claimed_from_row(row)?;
                if pending { send.push(message) } else { answered.push(message.id) }
            }
            if !answered.is_empty() {
                let args = vec![DeliveryState::Suppressed.as_str().into(), ANSWERED.into(), now.into()];
                tx.execute(ids_query(
                    |ids| {
                        format!(
                            "UPDATE account_mail SET state = $1, last_error = $2, updated_at = $3 WHERE id IN ({ids})"
                        )
                    },
                    4,
                    args,
                    &answered,
                ))
                .await?;
            }
            let sending: Vec<_> = send.iter().map(|m| m.id).collect();
            if !sending.is_empty() {
                let args = vec![DeliveryState::Sending.as_str().into(), (now + lease).into(), now.into()];
                tx.execute(ids_query(
                    |ids| {
                        format!(
                            "UPDATE account_mail SET state = $1, attempts = attempts + 1, next_attempt_at = $2, \
                             updated_at = $3 WHERE id IN ({ids})"
                        )
                    },
                    4,
                    args,
                    &sending,
                ))
                .await?;
            }
            send
        })
    }

    async fn arm_reset_links(&self, links: &[(AccountMailId, [u8; 32])]) -> Result<()> {
        if links.is_empty() {
            return Ok(());
        }
        write_tx!(self, |tx| {
            for (id, hash) in links {
                tx.execute(sql("UPDATE account_mail SET token_hash = $2 WHERE id = $1").bind(*id).bind(*hash)).await?;
            }
        })
    }

    async fn finish_account_mail(&self, outcomes: &[(AccountMailId, DeliveryOutcome)]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        write_tx!(self, |tx| {
            for (id, outcome) in outcomes {
                let (state, error, next, sent) = match outcome {
                    DeliveryOutcome::Sent => (DeliveryState::Sent, None, now, Some(now)),
                    DeliveryOutcome::Retry { error, at } => (DeliveryState::Pending, Some(error.as_str()), *at, None),
                    DeliveryOutcome::Failed { error } => (DeliveryState::Failed, Some(error.as_str()), now, None),
                };
                tx.execute(
                    sql("UPDATE account_mail SET state = $2, last_error = $3, next_attempt_at = $4, sent_at = $5, \
                         updated_at = $6 WHERE id = $1 AND state = $7")
                    .bind(*id)
                    .bind(state.as_str())
                    .bind(error)
                    .bind(next)
                    .bind(sent)
                    .bind(now)
                    .bind(DeliveryState::Sending.as_str()),
                )
                .await?;
            }
        })
    }

    async fn failed_account_mail(&self, limit: i64) -> Result<Vec<FailedAccountMail>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql(format!(
                    "SELECT {} WHERE m.state = $1 \
                     ORDER BY m.updated_at DESC, m.id DESC LIMIT $2 /* spans organisations: the operator's list */",
                    failed()
                ))
                .bind(DeliveryState::Failed.as_str())
                .bind(limit),
            )
            .await?
        })?;
        rows.iter().map(failed_from_row).collect()
    }

    async fn retry_account_mail(&self, ctx: &AuditCtx, id: AccountMailId) -> Result<FailedAccountMail> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let found = |id| {
                sql(format!("SELECT {} WHERE m.id = $1 /* spans organisations: an account's first clinic */", failed()))
                    .bind(id)
            };
            let row = tx.fetch_optional(found(id)).await?.ok_or(StoreError::NotFound("account e-mail"))?;
            let state: DeliveryState = row.parsed("state")?;
            if state != DeliveryState::Failed {
                return Err(StoreError::conflict(
                    "delivery_not_failed",
                    format!("only a failed e-mail can be sent again; this one is {state}"),
                ));
            }
            reopen_account_mail(&mut tx, id, now).await?;
            let draft = AuditDraft::new("delivery.retry", "account_mail", id);
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[draft]).await?;
            failed_from_row(&tx.fetch_one(found(id)).await?)?
        })
    }

    async fn reset_link(&self, token_hash: [u8; 32]) -> Result<std::result::Result<ResetLink, ResetRefusal>> {
        let now = self.clock.now();
        let row = read_one!(self, |tx| {
            tx.fetch_optional(
                sql(format!(
                    "SELECT m.expires_at, m.used_at, {ACCOUNT_ZONE} AS timezone FROM account_mail m \
                     JOIN accounts a ON a.id = m.account_id LEFT JOIN notification_settings ns ON ns.account_id = a.id \
                     WHERE m.token_hash = $1 AND m.kind = $2 /* spans organisations: an account's first clinic */"
                ))
                .bind(token_hash)
                .bind(AccountMailKind::PasswordReset.as_str()),
            )
            .await?
        })?;
        let Some(row) = row else { return Ok(Err(ResetRefusal::Unknown)) };
        let expires_at = row.time("expires_at")?;
        let link = ResetLink { expires_at, timezone: row.opt_text("timezone")? };
        Ok(reset_link_usable(expires_at, row.opt_time("used_at")?, now).map(|()| link))
    }

    async fn reset_password(
        &self,
        ctx: &AuditCtx,
        token_hash: [u8; 32],
        password_hash: String,
    ) -> Result<std::result::Result<PasswordReset, ResetRefusal>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let link = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT id, account_id, expires_at, used_at FROM account_mail \
                         WHERE token_hash = $1 AND kind = $2{}",
                        dialect.for_update()
                    ))
                    .bind(token_hash)
                    .bind(AccountMailKind::PasswordReset.as_str()),
                )
                .await?;
            let Some(link) = link else { return Ok(Err(ResetRefusal::Unknown)) };
            if let Err(refusal) = reset_link_usable(link.time("expires_at")?, link.opt_time("used_at")?, now) {
                return Ok(Err(refusal));
            }
            let account_id: AccountId = link.id("account_id")?;
            let row = tx
                .fetch_one(
                    sql("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1 \
                         RETURNING id, email, name, created_at")
                    .bind(account_id)
                    .bind(&password_hash)
                    .bind(now),
                )
                .await?;
            let account = account_from_row(&row)?;
            // Whoever knew the old password is signed out, as after a change.
            let sessions_ended = revoke_tokens(&mut tx, account.id, TokenKind::Session, now).await?;
            // This link and any other open one of the account are spent.
            tx.execute(
                sql("UPDATE account_mail SET used_at = $2 WHERE account_id = $1 AND kind = $3 AND used_at IS NULL")
                    .bind(account.id)
                    .bind(now)
                    .bind(AccountMailKind::PasswordReset.as_str()),
            )
            .await?;
            let draft = AuditDraft::new("account.password_reset", "account", account.id).details(json!({
                "message_id": link.id::<AccountMailId>("id")?.0,
                "sessions_ended": sessions_ended,
            }));
            let ctx = AuditCtx { account_id: Some(account.id), ..ctx.clone() };
            audit::append(&mut tx, now, &ctx, OrgId::PLATFORM, &[draft]).await?;
            Ok(PasswordReset { account, sessions_ended, api_tokens_revoked: 0 })
        })
    }
}
