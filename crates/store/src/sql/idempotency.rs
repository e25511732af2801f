//! `Idempotency-Key` bookkeeping with Stripe's semantics, kept in the
//! database so it survives restarts and is shared by every server instance.

use async_trait::async_trait;
use circles_domain::ids::AccountId;
use jiff::{SignedDuration, Timestamp};

use super::db::{Backend, Executor, Row, sql};
use super::{SqlStore, write_tx};
use crate::model::{IdempotencyStart, StoredResponse};
use crate::{IdempotencyStore, Result};

/// A key's states: a request holding it is running, or its answer is kept.
/// (Spelled once here: they are the table's own, not a domain status.)
const IN_PROGRESS: &str = "in_progress";
const DONE: &str = "done";

/// Keys are honoured for at least this long.
pub const RETENTION: SignedDuration = SignedDuration::from_hours(24);

/// A request still marked in progress after this long is presumed dead (its
/// server stopped mid-request), and a retry may take the key over.
pub const IN_FLIGHT_LEASE: SignedDuration = SignedDuration::from_secs(60);

#[async_trait]
impl<B: Backend> IdempotencyStore for SqlStore<B> {
    async fn idempotency_begin(
        &self,
        account: AccountId,
        key: &str,
        fingerprint: [u8; 32],
    ) -> Result<IdempotencyStart> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let claimed = tx
                .execute(
                    sql(format!(
                        "INSERT INTO idempotency_keys (account_id, key, fingerprint, state, locked_at, created_at) \
                         VALUES ($1, $2, $3, '{IN_PROGRESS}', $4, $4) ON CONFLICT (account_id, key) DO NOTHING"
                    ))
                    .bind(account)
                    .bind(key)
                    .bind(fingerprint)
                    .bind(now),
                )
                .await?;
            if claimed == 1 {
                IdempotencyStart::Proceed
            } else {
                let row = tx
                    .fetch_one(
                        sql(format!(
                            "SELECT fingerprint, state, locked_at, created_at, response_status, \
                             response_content_type, response_body FROM idempotency_keys \
                             WHERE account_id = $1 AND key = $2{}",
                            dialect.for_update()
                        ))
                        .bind(account)
                        .bind(key),
                    )
                    .await?;
                let expired = row.time("created_at")? < now - RETENTION;
                let stale = row.time("locked_at")? < now - IN_FLIGHT_LEASE;
                let same_request = row.bytes("fingerprint")? == fingerprint;
                let done = row.text("state")? == DONE;
                if expired || (!done && stale && same_request) {
                    tx.execute(
                        sql(format!(
                            "UPDATE idempotency_keys SET fingerprint = $3, state = '{IN_PROGRESS}', locked_at = $4, \
                             created_at = CASE WHEN created_at < $5 THEN $4 ELSE created_at END, \
                             response_status = NULL, response_content_type = NULL, response_body = NULL \
                             WHERE account_id = $1 AND key = $2"
                        ))
                        .bind(account)
                        .bind(key)
                        .bind(fingerprint)
                        .bind(now)
                        .bind(now - RETENTION),
                    )
                    .await?;
                    IdempotencyStart::Proceed
                } else if !same_request {
                    IdempotencyStart::Mismatch
                } else if done {
                    IdempotencyStart::Replay(StoredResponse {
                        status: u16::try_from(row.int("response_status")?).unwrap_or(500),
                        content_type: row.text("response_content_type")?,
                        body: row.bytes("response_body")?,
                    })
                } else {
                    IdempotencyStart::InFlight
                }
            }
        })
    }

    async fn idempotency_finish(&self, account: AccountId, key: &str, response: StoredResponse) -> Result<()> {
        write_tx!(self, |tx| {
            tx.execute(
                sql(format!(
                    "UPDATE idempotency_keys SET state = '{DONE}', response_status = $3, response_content_type = $4, \
                     response_body = $5 WHERE account_id = $1 AND key = $2"
                ))
                .bind(account)
                .bind(key)
                .bind(i64::from(response.status))
                .bind(&response.content_type)
                .bind(response.body.as_slice()),
            )
            .await?;
        })
    }

    async fn idempotency_release(&self, account: AccountId, key: &str) -> Result<()> {
        write_tx!(self, |tx| {
            tx.execute(
                sql(format!(
                    "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND state = '{IN_PROGRESS}'"
                ))
                .bind(account)
                .bind(key),
            )
            .await?;
        })
    }

    async fn purge_idempotency_keys(&self, older_than: Timestamp) -> Result<u64> {
        write_tx!(self, |tx| {
            tx.execute(sql("DELETE FROM idempotency_keys WHERE created_at < $1").bind(older_than)).await?
        })
    }
}
