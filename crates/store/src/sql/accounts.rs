use async_trait::async_trait;
use circles_domain::ids::{AccountId, OrgId, PersonId};
use circles_domain::input::Email;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::rows::people::{account_from_row, insert_account, organisation_from_row, revoke_tokens};
use super::{SqlStore, read_one, write_tx};
use crate::model::{Account, AuditCtx, Credentials, Membership, NewAccount, PageFrame, PasswordReset, TokenKind};
use crate::{AccountStore, Result, StoreError};

#[async_trait]
impl<B: Backend> AccountStore for SqlStore<B> {
    async fn create_account(&self, ctx: &AuditCtx, input: NewAccount) -> Result<Account> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let (account, draft) = insert_account(&mut tx, now, &input).await?;
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[draft]).await?;
            account
        })
    }

    async fn account(&self, id: AccountId) -> Result<Account> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT id, email, name, created_at FROM accounts WHERE id = $1").bind(id)).await?
        })?;
        account_from_row(&row.ok_or(StoreError::NotFound("account"))?)
    }

    async fn credentials(&self, email: &Email) -> Result<Option<Credentials>> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT id, password_hash FROM accounts WHERE email = $1").bind(email.as_str()))
                .await?
        })?;
        row.map(|r| Ok(Credentials { account_id: r.id("id")?, password_hash: r.opt_text("password_hash")? }))
            .transpose()
    }

    async fn record_login_failure(&self, ctx: &AuditCtx, email: &Email) -> Result<()> {
        let now = self.clock.now();
        let draft = AuditDraft::new("login.failure", "account", email.as_str());
        write_tx!(self, |tx| { audit::append(&mut tx, now, ctx, OrgId::PLATFORM, std::slice::from_ref(&draft)).await? })
    }

    async fn set_password(
        &self,
        ctx: &AuditCtx,
        email: &Email,
        password_hash: String,
        revoke_api_tokens: bool,
    ) -> Result<PasswordReset> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE email = $1 \
                         RETURNING id, email, name, created_at")
                    .bind(email.as_str())
                    .bind(&password_hash)
                    .bind(now),
                )
                .await?
                .ok_or(StoreError::NotFound("account"))?;
            let account = account_from_row(&row)?;
            // Existing sessions were opened with the old password: end them.
            let sessions_ended = revoke_tokens(&mut tx, account.id, TokenKind::Session, now).await?;
            // API tokens outlive a password change unless the operator says
            // otherwise (a leaked account should lose them too).
            let api_tokens_revoked =
                if revoke_api_tokens { revoke_tokens(&mut tx, account.id, TokenKind::Api, now).await? } else { 0 };
            let draft = AuditDraft::new("account.password_set", "account", account.id).details(json!({
                "sessions_ended": sessions_ended,
                "api_tokens_revoked": api_tokens_revoked,
            }));
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[draft]).await?;
            PasswordReset { account, sessions_ended, api_tokens_revoked }
        })
    }

    async fn memberships(&self, account: AccountId) -> Result<Vec<Membership>> {
        read_one!(self, |tx| memberships_of(&mut tx, account).await?)
    }

    async fn page_frame(&self, account: AccountId, org: OrgId, person: PersonId, unread_cap: u64) -> Result<PageFrame> {
        read_one!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql("SELECT a.name, \
                         (SELECT timezone FROM notification_settings z WHERE z.account_id = a.id) AS timezone, \
                         (SELECT COUNT(*) FROM (SELECT 1 FROM notifications n \
                            WHERE n.org_id = $2 AND n.recipient_id = $3 AND n.read_at IS NULL LIMIT $4) u) AS unread \
                         FROM accounts a WHERE a.id = $1")
                    .bind(account)
                    .bind(org)
                    .bind(person)
                    .bind(i64::try_from(unread_cap).unwrap_or(i64::MAX)),
                )
                .await?
                .ok_or(StoreError::NotFound("account"))?;
            PageFrame {
                name: row.text("name")?,
                timezone: row.opt_text("timezone")?,
                unread: u64::try_from(row.int("unread")?).unwrap_or(0),
                memberships: memberships_of(&mut tx, account).await?,
            }
        })
    }
}

async fn memberships_of<E: Executor>(tx: &mut E, account: AccountId) -> Result<Vec<Membership>> {
    let rows = tx
        .fetch_all(
            sql("SELECT o.id, o.name, o.timezone, o.created_at, p.id AS person_id, p.role \
                 FROM people p JOIN organisations o ON o.id = p.org_id \
                 WHERE p.account_id = $1 ORDER BY o.name, o.id \
                 /* spans organisations: the memberships of one account in every clinic */")
            .bind(account),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Membership { org: organisation_from_row(r)?, person_id: r.id("person_id")?, role: r.parsed("role")? })
        })
        .collect()
}
