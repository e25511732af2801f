use crate::model::Keyset;
use async_trait::async_trait;
use circles_domain::ids::{AccountId, OrgId, TokenId};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::{SqlStore, read_one, write_tx};
use crate::model::{AuditCtx, NewToken, Principal, TokenInfo, TokenKind};
use crate::{Result, StoreError, TokenStore};

fn token_from_row(row: &impl Row) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.id("id")?,
        kind: row.parsed("kind")?,
        name: row.text("name")?,
        created_at: row.time("created_at")?,
        expires_at: row.opt_time("expires_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

#[async_trait]
impl<B: Backend> TokenStore for SqlStore<B> {
    async fn create_token(&self, ctx: &AuditCtx, input: NewToken) -> Result<TokenInfo> {
        let now = self.clock.now();
        let info = TokenInfo {
            id: TokenId::new(),
            kind: input.kind,
            name: input.name.clone(),
            created_at: now,
            expires_at: input.expires_at,
            revoked_at: None,
        };
        let draft = AuditDraft::new("token.create", "token", info.id).details(json!({ "kind": info.kind }));
        write_tx!(self, |tx| {
            tx.execute(
                sql("INSERT INTO api_tokens (id, account_id, kind, name, token_hash, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(info.id)
                .bind(input.account_id)
                .bind(info.kind.as_str())
                .bind(&info.name)
                .bind(input.token_hash)
                .bind(now)
                .bind(info.expires_at),
            )
            .await?;
            let ctx = AuditCtx { account_id: Some(input.account_id), ..ctx.clone() };
            audit::append(&mut tx, now, &ctx, OrgId::PLATFORM, std::slice::from_ref(&draft)).await?;
            info.clone()
        })
    }

    async fn authenticate(&self, token_hash: [u8; 32], now: Timestamp) -> Result<Option<Principal>> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(
                sql("SELECT id, account_id, kind, expires_at FROM api_tokens WHERE token_hash = $1 \
                     AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
                .bind(token_hash)
                .bind(now),
            )
            .await?
        })?;
        row.map(|r| {
            Ok(Principal {
                account_id: r.id("account_id")?,
                token_id: r.id("id")?,
                token_kind: r.parsed("kind")?,
                expires_at: r.opt_time("expires_at")?,
            })
        })
        .transpose()
    }

    async fn list_tokens(&self, account: AccountId, page: Keyset<(Timestamp, TokenId)>) -> Result<Vec<TokenInfo>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql("SELECT id, kind, name, created_at, expires_at, revoked_at FROM api_tokens \
                     WHERE account_id = $1 AND kind = $2 \
                     AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
                     ORDER BY created_at DESC, id DESC LIMIT $3")
                .bind(account)
                .bind(TokenKind::Api.as_str())
                .bind(page.limit)
                .bind(page.after.map(|(at, _)| at))
                .bind(page.after.map(|(_, id)| id)),
            )
            .await?
        })?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, ctx: &AuditCtx, account: AccountId, token: TokenId) -> Result<()> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let found = tx
                .fetch_optional(
                    sql("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) \
                         WHERE id = $1 AND account_id = $2 RETURNING id")
                    .bind(token)
                    .bind(account)
                    .bind(now),
                )
                .await?;
            if found.is_none() {
                return Err(StoreError::NotFound("token"));
            }
            let draft = AuditDraft::new("token.revoke", "token", token);
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[draft]).await?;
        })
    }
}
