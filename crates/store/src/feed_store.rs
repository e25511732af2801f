//! Calendar subscription feeds: each person's secret links, kept as hashes.

use crate::model::Keyset;
use async_trait::async_trait;
use circles_domain::feed::FeedPrivacy;
use circles_domain::ids::{AccountId, FeedId};
use jiff::Timestamp;

use crate::Result;
use crate::model::{AuditCtx, Feed, FeedContents};

#[async_trait]
pub trait FeedStore: Send + Sync {
    /// A new feed link for `account`; without a chosen privacy it gets the
    /// default for the roles the account holds.
    async fn create_feed(
        &self,
        ctx: &AuditCtx,
        account: AccountId,
        privacy: Option<FeedPrivacy>,
        token_hash: [u8; 32],
    ) -> Result<Feed>;
    /// The account's live feed links, newest first.
    async fn feeds(&self, account: AccountId, page: Keyset<(Timestamp, FeedId)>) -> Result<Vec<Feed>>;
    /// Gives a live feed a new token; the old link stops working at once.
    async fn rotate_feed(&self, ctx: &AuditCtx, account: AccountId, id: FeedId, token_hash: [u8; 32]) -> Result<Feed>;
    /// Ends a feed link.
    async fn revoke_feed(&self, ctx: &AuditCtx, account: AccountId, id: FeedId) -> Result<()>;
    /// The feed a token opens, with its sessions in `[from, to)`; the fetch
    /// is audited (feed id and address) in the same transaction. `None` for
    /// an unknown, rotated or revoked token.
    async fn fetch_feed(
        &self,
        ctx: &AuditCtx,
        token_hash: [u8; 32],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Option<FeedContents>>;
}
