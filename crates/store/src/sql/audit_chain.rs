//! Sealing audit events into their organisation's hash chain, and checking
//! the chain.
//!
//! Use cases record events unsealed, in their own transaction
//! ([`super::audit::append`]). Sealing takes the organisation's chain head,
//! links the waiting events in order of arrival — sequence number, previous
//! hash, own hash — and moves the head, all in one short transaction. One
//! sealer works on an organisation at a time (the head row is its lock;
//! others skip it), and each pass links a whole batch, so the chain costs a
//! busy organisation one head update per batch rather than one serialised
//! step per write.

use circles_domain::audit::{AuditRecord, ChainBreak, ChainVerifier, GENESIS, StoredAuditEvent};
use circles_domain::ids::OrgId;

use super::SqlStore;
use super::db::{Backend, DbError, Executor, Row, Transaction, Value, placeholders, sql};
use crate::Result;
use crate::model::ChainReport;

/// Events linked per sealing transaction; a longer queue takes several.
const SEAL_BATCH: i64 = 500;
/// Events read per page while verifying, so a chain never sits in memory whole.
const VERIFY_PAGE: i64 = 5_000;

const EVENT_COLUMNS: &str = "org_id, seq, id, occurred_at, actor_account_id, actor_person_id, subject_person_id, \
     action, record_type, record_id, request_id, ip, details, prev_hash, hash";

impl<B: Backend> SqlStore<B> {
    /// Seals everything `org` has waiting; returns how many events. Returns
    /// early if another sealer holds the org's head: it will link them.
    pub(crate) async fn seal_org(&self, org: OrgId) -> Result<u64> {
        let mut sealed = 0;
        loop {
            let batch = self.seal_batch(org).await?;
            sealed += batch;
            if batch < SEAL_BATCH as u64 {
                return Ok(sealed);
            }
        }
    }

    /// One sealing transaction. It is not retried and does not wake the
    /// sealer: whatever it leaves, the next pass picks up.
    async fn seal_batch(&self, org: OrgId) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let Some((mut seq, mut prev)) = lock_head(&mut tx, self.backend.dialect(), org).await? else {
            return Ok(0);
        };
        let waiting = tx
            .fetch_all(
                sql(format!(
                    "SELECT {EVENT_COLUMNS} FROM audit_events WHERE org_id = $1 AND seq IS NULL \
                     ORDER BY arrival LIMIT $2"
                ))
                .bind(org)
                .bind(SEAL_BATCH),
            )
            .await?;
        if waiting.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut links = Vec::with_capacity(waiting.len() * 4);
        for row in &waiting {
            seq += 1;
            let record = record(row, seq)?;
            let hash = record.chain_hash(&prev);
            links.extend([Value::from(record.id), seq.into(), prev.into(), hash.into()]);
            prev = hash;
        }
        let rows: Vec<String> = (0..waiting.len()).map(|i| format!("({})", placeholders(2 + i * 4, 4))).collect();
        // Each linked event is found by its id. On SQLite "not yet sealed"
        // must not lead the plan instead: it would walk every unsealed event
        // for each linked one (1.8 s per batch with 32,000 waiting, against
        // 7 ms by id).
        let unsealed = self.backend.dialect().unindexed("audit_events.seq");
        let mut link = sql(format!(
            "WITH link (id, seq, prev_hash, hash) AS (VALUES {}) \
             UPDATE audit_events SET seq = link.seq, prev_hash = link.prev_hash, hash = link.hash FROM link \
             WHERE audit_events.org_id = $1 AND audit_events.id = link.id AND {unsealed} IS NULL",
            rows.join(", ")
        ))
        .bind(org);
        link.args.extend(links);
        let linked = tx.execute(link).await?;
        if linked != waiting.len() as u64 {
            return Err(DbError::Decode(format!("sealed {linked} of {} audit events", waiting.len())).into());
        }
        tx.execute(sql("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1").bind(org).bind(seq).bind(prev))
            .await?;
        tx.commit().await?;
        Ok(linked)
    }

    /// Recomputes `org`'s chain up to the head's sequence number.
    pub(crate) async fn verify_chain(&self, org: OrgId, head_seq: i64) -> Result<ChainReport> {
        let report = |verified: i64, error: Option<ChainBreak>| ChainReport {
            org_id: org,
            events: verified,
            error: error.map(|e| e.to_string()),
        };
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = super::read_tx!(self, |tx| {
                tx.fetch_all(
                    sql(format!(
                        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE org_id = $1 AND seq > $2 AND seq <= $3 \
                         ORDER BY seq LIMIT $4"
                    ))
                    .bind(org)
                    .bind(after)
                    .bind(head_seq)
                    .bind(VERIFY_PAGE),
                )
                .await?
            })?;
            if page.is_empty() {
                return Ok(match verifier.finish(head_seq) {
                    Ok(verified) => report(verified, None),
                    Err(broken) => report(after, Some(broken)),
                });
            }
            for row in &page {
                let event = StoredAuditEvent {
                    record: record(row, row.int("seq")?)?,
                    prev_hash: to_hash(row.bytes("prev_hash")?)?,
                    hash: to_hash(row.bytes("hash")?)?,
                };
                if let Err(broken) = verifier.push(&event) {
                    return Ok(report(after, Some(broken)));
                }
                after = event.record.seq;
            }
        }
    }
}

/// The organisation's chain head — last sequence number and hash — locked,
/// or `None` while another sealer holds it. A chain starts on first use.
async fn lock_head<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
    org: OrgId,
) -> Result<Option<(i64, [u8; 32])>> {
    let head_query = || {
        sql(format!("SELECT seq, hash FROM audit_heads WHERE org_id = $1{}", dialect.for_update_skip_locked()))
            .bind(org)
    };
    let head = match tx.fetch_optional(head_query()).await? {
        Some(head) => Some(head),
        None => {
            tx.execute(
                sql("INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING")
                    .bind(org)
                    .bind(GENESIS),
            )
            .await?;
            tx.fetch_optional(head_query()).await?
        }
    };
    head.map(|row| Ok((row.int("seq")?, to_hash(row.bytes("hash")?)?))).transpose()
}

/// The event in `row` as it is hashed, numbered `seq`.
fn record(row: &impl Row, seq: i64) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        seq,
        occurred_at: row.time("occurred_at")?,
        actor_account_id: row.opt_id("actor_account_id")?,
        actor_person_id: row.opt_id("actor_person_id")?,
        subject_person_id: row.opt_id("subject_person_id")?,
        action: row.text("action")?,
        record_type: row.text("record_type")?,
        record_id: row.text("record_id")?,
        request_id: row.opt_text("request_id")?,
        ip: row.opt_text("ip")?,
        details: row.text("details")?,
    })
}

fn to_hash(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| DbError::Decode("audit hash is not 32 bytes".into()).into())
}
