//! Calendar subscription feeds: a person's secret links (kept as SHA-256
//! hashes, like API tokens) and what a fetch of one returns. A feed belongs
//! to an account, so it covers the person in every organisation they are in;
//! the fetch is audited in the platform chain with the feed id and address.

use crate::model::Keyset;
use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::feed::{FeedPrivacy, default_privacy};
use circles_domain::ids::{AccountId, FeedId, OrgId};
use circles_domain::session::{InvitationStatus, SeatStatus, SessionStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, placeholders, sql};
use super::{SqlStore, read_one, write_tx};
use crate::model::{AuditCtx, Feed, FeedContents, FeedSession};
use crate::{FeedStore, Result, StoreError};

const FEED_COLUMNS: &str = "id, account_id, privacy, created_at, rotated_at, last_fetched_at";

fn feed_from_row(row: &impl Row) -> Result<Feed> {
    Ok(Feed {
        id: row.id("id")?,
        account_id: row.id("account_id")?,
        privacy: row.parsed("privacy")?,
        created_at: row.time("created_at")?,
        rotated_at: row.opt_time("rotated_at")?,
        last_fetched_at: row.opt_time("last_fetched_at")?,
    })
}

async fn live_feed<E: Executor>(tx: &mut E, account: AccountId, id: FeedId) -> Result<Feed> {
    let row = tx
        .fetch_optional(
            sql(format!(
                "SELECT {FEED_COLUMNS} FROM calendar_feeds WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL"
            ))
            .bind(id)
            .bind(account),
        )
        .await?
        .ok_or(StoreError::NotFound("feed"))?;
    feed_from_row(&row)
}

/// The roles an account holds anywhere, for the default privacy.
async fn roles<E: Executor>(tx: &mut E, account: AccountId) -> Result<Vec<Role>> {
    let rows = tx
        .fetch_all(
            sql("SELECT role FROM people /* spans organisations: the roles of one account in every clinic */ \
                 WHERE account_id = $1")
            .bind(account),
        )
        .await?;
    rows.iter().map(|r| Ok(r.parsed::<Role>("role")?)).collect()
}

const SESSION_COLUMNS: &str = "s.org_id, o.name AS org_name, s.id, s.kind, s.status, s.title, s.starts_at, \
     s.ends_at, s.timezone, s.modality, s.location, s.address, s.virtual_link, s.group_id, s.updated_at";

/// The account's sessions in `[from, to)`: as a therapist not declined, or
/// as a client whose seat holds time or was cancelled with its session.
async fn feed_sessions<E: Executor>(
    tx: &mut E,
    account: AccountId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<FeedSession>> {
    let holding: Vec<&str> = SeatStatus::ALL.iter().filter(|s| s.holds_time()).map(|s| s.as_str()).collect();
    let q = sql(format!(
        "SELECT * FROM (SELECT {SESSION_COLUMNS} FROM people p \
         JOIN session_therapists t ON t.org_id = p.org_id AND t.therapist_id = p.id \
         JOIN sessions s ON s.org_id = t.org_id AND s.id = t.session_id JOIN organisations o ON o.id = s.org_id \
         WHERE p.account_id = $1 /* spans organisations: a feed covers its owner in every clinic */ \
         AND t.status <> $2 AND s.starts_at < $3 AND s.ends_at > $4 \
         UNION SELECT {SESSION_COLUMNS} FROM people p \
         JOIN seats y ON y.org_id = p.org_id AND y.client_id = p.id \
         JOIN sessions s ON s.org_id = y.org_id AND s.id = y.session_id JOIN organisations o ON o.id = s.org_id \
         WHERE p.account_id = $1 AND s.starts_at < $3 AND s.ends_at > $4 \
         AND (y.status IN ({}) OR (s.status = $5 AND y.updated_at = s.cancelled_at)) \
         ) AS f ORDER BY f.starts_at, f.id",
        placeholders(6, holding.len())
    ))
    .bind(account)
    .bind(InvitationStatus::Declined.as_str())
    .bind(to)
    .bind(from)
    .bind(SessionStatus::Cancelled.as_str())
    .bind_all(holding);
    let rows = tx.fetch_all(q).await?;
    rows.iter()
        .map(|r| {
            Ok(FeedSession {
                org_id: r.id("org_id")?,
                org_name: r.text("org_name")?,
                id: r.id("id")?,
                kind: r.parsed("kind")?,
                status: r.parsed("status")?,
                title: r.text("title")?,
                starts_at: r.time("starts_at")?,
                ends_at: r.time("ends_at")?,
                timezone: r.text("timezone")?,
                modality: r.parsed("modality")?,
                location: r.opt_text("location")?,
                address: r.opt_text("address")?,
                virtual_link: r.opt_text("virtual_link")?,
                group_id: r.opt_id("group_id")?,
                updated_at: r.time("updated_at")?,
            })
        })
        .collect()
}

#[async_trait]
impl<B: Backend> FeedStore for SqlStore<B> {
    async fn create_feed(
        &self,
        ctx: &AuditCtx,
        account: AccountId,
        privacy: Option<FeedPrivacy>,
        token_hash: [u8; 32],
    ) -> Result<Feed> {
        let now = self.clock.now();
        let id = FeedId::new();
        write_tx!(self, |tx| {
            let privacy = match privacy {
                Some(p) => p,
                None => default_privacy(roles(&mut tx, account).await?),
            };
            tx.execute(
                sql("INSERT INTO calendar_feeds (id, account_id, token_hash, privacy, created_at) \
                     VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(account)
                .bind(token_hash)
                .bind(privacy.as_str())
                .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("feed.create", "feed", id).details(json!({ "privacy": privacy.as_str() }));
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[draft]).await?;
            live_feed(&mut tx, account, id).await?
        })
    }

    async fn feeds(&self, account: AccountId, page: Keyset<(Timestamp, FeedId)>) -> Result<Vec<Feed>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql(format!(
                    "SELECT {FEED_COLUMNS} FROM calendar_feeds WHERE account_id = $1 AND revoked_at IS NULL \
                     AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4)) \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ))
                .bind(account)
                .bind(page.limit)
                .bind(page.after.map(|(at, _)| at))
                .bind(page.after.map(|(_, id)| id)),
            )
            .await?
        })?;
        rows.iter().map(feed_from_row).collect()
    }

    async fn rotate_feed(&self, ctx: &AuditCtx, account: AccountId, id: FeedId, token_hash: [u8; 32]) -> Result<Feed> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            live_feed(&mut tx, account, id).await?;
            tx.execute(
                sql("UPDATE calendar_feeds SET token_hash = $3, rotated_at = $4 WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account)
                    .bind(token_hash)
                    .bind(now),
            )
            .await?;
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[AuditDraft::new("feed.rotate", "feed", id)]).await?;
            live_feed(&mut tx, account, id).await?
        })
    }

    async fn revoke_feed(&self, ctx: &AuditCtx, account: AccountId, id: FeedId) -> Result<()> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            live_feed(&mut tx, account, id).await?;
            tx.execute(
                sql("UPDATE calendar_feeds SET revoked_at = $3 WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account)
                    .bind(now),
            )
            .await?;
            audit::append(&mut tx, now, ctx, OrgId::PLATFORM, &[AuditDraft::new("feed.revoke", "feed", id)]).await?;
        })
    }

    async fn fetch_feed(
        &self,
        ctx: &AuditCtx,
        token_hash: [u8; 32],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Option<FeedContents>> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT {FEED_COLUMNS} FROM calendar_feeds WHERE token_hash = $1 AND revoked_at IS NULL"
                    ))
                    .bind(token_hash),
                )
                .await?;
            let Some(row) = row else { return Ok(None) };
            let feed = feed_from_row(&row)?;
            tx.execute(sql("UPDATE calendar_feeds SET last_fetched_at = $2 WHERE id = $1").bind(feed.id).bind(now))
                .await?;
            let ctx = AuditCtx { account_id: Some(feed.account_id), ..ctx.clone() };
            let draft = AuditDraft::new("feed.fetch", "feed", feed.id)
                .details(json!({ "feed_id": feed.id, "ip": ctx.ip.as_deref() }));
            audit::append(&mut tx, now, &ctx, OrgId::PLATFORM, &[draft]).await?;
            let sessions = feed_sessions(&mut tx, feed.account_id, from, to).await?;
            Some(FeedContents { feed, sessions })
        })
    }
}
