//! One-time links that answer a waitlist offer without signing in. The
//! delivery worker records a link (its token's hash only) as it writes the
//! offer's e-mail; the link page reads the offer by it and answers as the
//! client, using the link up in the same transaction.

use async_trait::async_trait;
use circles_domain::ids::{OfferId, OrgId, PersonId};
use circles_domain::waitlist::{OfferEvent, OfferStatus};
use jiff::Timestamp;
use serde_json::json;

use super::{accept_in, close_in};
use crate::model::{Acceptance, AuditCtx, LinkAnswer, Offer};
use crate::sql::audit::{self, AuditDraft};
use crate::sql::db::{Backend, Dialect, Executor, Row, sql};
use crate::sql::rows::waitlist::fetch_offer;
use crate::sql::{SqlStore, write_tx};
use crate::{OfferLinkStore, Result, StoreError};

/// Who acts through a link: the offer's client, by the link itself.
fn by_link(client: PersonId) -> AuditCtx {
    AuditCtx { person_id: Some(client), request_id: Some("offer-link".into()), ..AuditCtx::default() }
}

/// The offer a usable link answers, the link row locked when `lock`.
async fn linked_offer<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    token_hash: &str,
    lock: bool,
    now: Timestamp,
) -> Result<OfferId> {
    let row = tx
        .fetch_optional(
            sql(format!(
                "SELECT offer_id FROM offer_links WHERE org_id = $1 AND token_hash = $2 AND used_at IS NULL \
                 AND expires_at > $3{}",
                if lock { dialect.for_update() } else { "" }
            ))
            .bind(org)
            .bind(token_hash)
            .bind(now),
        )
        .await?
        .ok_or(StoreError::NotFound("offer link"))?;
    Ok(row.id("offer_id")?)
}

#[async_trait]
impl<B: Backend> OfferLinkStore for SqlStore<B> {
    async fn create_offer_link(&self, org: OrgId, offer: OfferId, token_hash: &str) -> Result<bool> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let offer = fetch_offer(&mut tx, org, offer, now).await?;
            if offer.status != OfferStatus::Live {
                return Ok(false);
            }
            tx.execute(
                sql("INSERT INTO offer_links (org_id, token_hash, offer_id, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5)")
                .bind(org)
                .bind(token_hash)
                .bind(offer.id)
                .bind(offer.expires_at)
                .bind(now),
            )
            .await?;
            let ctx = AuditCtx { request_id: Some("job:delivery".into()), ..AuditCtx::default() };
            let draft = AuditDraft::new("waitlist.offer.link", "offer", offer.id)
                .subject(offer.client_id)
                .details(json!({ "expires_at": offer.expires_at }));
            audit::append(&mut tx, now, &ctx, org, &[draft]).await?;
            true
        })
    }

    async fn offer_by_link(&self, org: OrgId, token_hash: &str) -> Result<Offer> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let id = linked_offer(&mut tx, dialect, org, token_hash, false, now).await?;
            let offer = fetch_offer(&mut tx, org, id, now).await?;
            let draft = AuditDraft::new("waitlist.offer.read", "offer", id)
                .subject(offer.client_id)
                .details(json!({ "through": "offer link" }));
            audit::append(&mut tx, now, &by_link(offer.client_id), org, &[draft]).await?;
            offer
        })
    }

    async fn answer_offer_link(&self, org: OrgId, token_hash: &str, answer: LinkAnswer) -> Result<Offer> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let answered = write_tx!(self, |tx| {
            let id = linked_offer(&mut tx, dialect, org, token_hash, true, now).await?;
            tx.execute(
                sql("UPDATE offer_links SET used_at = $3 WHERE org_id = $1 AND token_hash = $2")
                    .bind(org)
                    .bind(token_hash)
                    .bind(now),
            )
            .await?;
            let mut drafts = Vec::new();
            let offer = match &answer {
                LinkAnswer::Accept => {
                    accept_in(&mut tx, dialect, org, id, &Acceptance::default(), now, &mut drafts).await?
                }
                LinkAnswer::Decline { reason } => {
                    close_in(&mut tx, dialect, org, id, OfferEvent::Decline, reason.clone(), now, &mut drafts).await?
                }
            };
            audit::append(&mut tx, now, &by_link(offer.client_id), org, &drafts).await?;
            offer
        })?;
        // A declined place moves on to the next client.
        self.freed.notify_one();
        Ok(answered)
    }
}
