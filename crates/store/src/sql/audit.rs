//! Appending to and verifying the per-organisation audit chains.

use async_trait::async_trait;
use circles_domain::audit::{AuditRecord, ChainBreak, ChainVerifier, GENESIS, StoredAuditEvent};
use circles_domain::ids::{AuditEventId, OrgId, PersonId};
use jiff::Timestamp;

use super::db::{Backend, Executor, Row, placeholders, sql};
use super::{SqlStore, read_one, read_tx};
use crate::model::{AuditCtx, AuditEntry, ChainReport};
use crate::{AuditStore, Result};

/// An event to append: what happened to which record.
#[derive(Debug, Clone)]
pub struct AuditDraft {
    pub action: &'static str,
    pub record_type: &'static str,
    pub record_id: String,
    /// The client whose record this touches, if any.
    pub subject: Option<PersonId>,
    pub details: serde_json::Value,
}

impl AuditDraft {
    pub fn new(action: &'static str, record_type: &'static str, record_id: impl ToString) -> Self {
        Self { action, record_type, record_id: record_id.to_string(), subject: None, details: serde_json::json!({}) }
    }

    pub fn subject(mut self, client: impl Into<Option<PersonId>>) -> Self {
        self.subject = client.into();
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `drafts` to `org`'s chain inside the caller's transaction.
///
/// The chain head row is locked first, so concurrent transactions of one
/// organisation append in turn and each links to the hash before it. Call
/// this last in a use case: the lock is then held only until commit.
pub(crate) async fn append<E: Executor>(
    tx: &mut E,
    dialect: super::db::Dialect,
    now: Timestamp,
    ctx: &AuditCtx,
    org: OrgId,
    drafts: &[AuditDraft],
) -> Result<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    let head_query =
        || sql(format!("SELECT seq, hash FROM audit_heads WHERE org_id = $1{}", dialect.for_update())).bind(org);
    let head = match tx.fetch_optional(head_query()).await? {
        Some(head) => head,
        // An organisation's first event starts its chain.
        None => {
            tx.execute(
                sql("INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING")
                    .bind(org)
                    .bind(GENESIS),
            )
            .await?;
            tx.fetch_one(head_query()).await?
        }
    };
    let mut seq = head.int("seq")?;
    let mut prev = to_hash(head.bytes("hash")?)?;

    let mut values = Vec::with_capacity(drafts.len());
    let mut query_args = Vec::with_capacity(drafts.len() * COLUMNS);
    for draft in drafts {
        seq += 1;
        let record = AuditRecord {
            id: AuditEventId::new(),
            org_id: org,
            seq,
            occurred_at: now,
            actor_account_id: ctx.account_id,
            actor_person_id: ctx.person_id,
            subject_person_id: draft.subject,
            action: draft.action.to_owned(),
            record_type: draft.record_type.to_owned(),
            record_id: draft.record_id.clone(),
            request_id: ctx.request_id.clone(),
            ip: ctx.ip.clone(),
            details: draft.details.to_string(),
        };
        let hash = record.chain_hash(&prev);
        values.push(format!("({})", placeholders(query_args.len() + 1, COLUMNS)));
        query_args.extend([
            org.into(),
            seq.into(),
            record.id.into(),
            now.into(),
            record.actor_account_id.into(),
            record.actor_person_id.into(),
            record.subject_person_id.into(),
            record.action.into(),
            record.record_type.into(),
            record.record_id.into(),
            record.request_id.into(),
            record.ip.into(),
            record.details.into(),
            prev.into(),
            hash.into(),
        ]);
        prev = hash;
    }
    let mut insert = sql(format!(
        "INSERT INTO audit_events (org_id, seq, id, occurred_at, actor_account_id, actor_person_id, \
         subject_person_id, action, record_type, record_id, request_id, ip, details, prev_hash, hash) VALUES {}",
        values.join(", ")
    ));
    insert.args = query_args;
    tx.execute(insert).await?;
    tx.execute(sql("UPDATE audit_heads SET seq = $2, hash = $3 WHERE org_id = $1").bind(org).bind(seq).bind(prev))
        .await?;
    Ok(())
}

const COLUMNS: usize = 15;

fn to_hash(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| super::db::DbError::Decode("audit hash is not 32 bytes".into()).into())
}

fn stored_event(row: &impl Row) -> Result<StoredAuditEvent> {
    Ok(StoredAuditEvent {
        record: AuditRecord {
            id: row.id("id")?,
            org_id: row.id("org_id")?,
            seq: row.int("seq")?,
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
        },
        prev_hash: to_hash(row.bytes("prev_hash")?)?,
        hash: to_hash(row.bytes("hash")?)?,
    })
}

/// Events are verified in pages so a long chain never sits in memory whole.
const VERIFY_PAGE: i64 = 5_000;

#[async_trait]
impl<B: Backend> AuditStore for SqlStore<B> {
    async fn verify_audit(&self, org: Option<OrgId>) -> Result<Vec<ChainReport>> {
        let heads = read_tx!(self, |tx| {
            let q = match org {
                Some(org) => sql("SELECT org_id, seq FROM audit_heads WHERE org_id = $1").bind(org),
                None => sql("SELECT org_id, seq FROM audit_heads ORDER BY org_id"),
            };
            tx.fetch_all(q).await?
        })?;
        let mut reports = Vec::new();
        for head in heads {
            let org_id: OrgId = head.id("org_id")?;
            let head_seq = head.int("seq")?;
            reports.push(self.verify_one_chain(org_id, head_seq).await?);
        }
        Ok(reports)
    }

    async fn audit_events(&self, org: OrgId, subject: Option<PersonId>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql("SELECT seq, occurred_at, actor_account_id, actor_person_id, subject_person_id, action, \
                     record_type, record_id, request_id, ip FROM audit_events \
                     WHERE org_id = $1 AND ($2 IS NULL OR subject_person_id = $2) ORDER BY seq DESC LIMIT $3")
                .bind(org)
                .bind(subject)
                .bind(limit),
            )
            .await?
        })?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.int("seq")?,
                    occurred_at: r.time("occurred_at")?,
                    actor_account_id: r.opt_id("actor_account_id")?,
                    actor_person_id: r.opt_id("actor_person_id")?,
                    subject_person_id: r.opt_id("subject_person_id")?,
                    action: r.text("action")?,
                    record_type: r.text("record_type")?,
                    record_id: r.text("record_id")?,
                    request_id: r.opt_text("request_id")?,
                    ip: r.opt_text("ip")?,
                })
            })
            .collect()
    }
}

impl<B: Backend> SqlStore<B> {
    async fn verify_one_chain(&self, org: OrgId, head_seq: i64) -> Result<ChainReport> {
        let report = |verified: i64, error: Option<ChainBreak>| ChainReport {
            org_id: org,
            events: verified,
            error: error.map(|e| e.to_string()),
        };
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page =
                read_tx!(self, |tx| {
                    tx.fetch_all(
                    sql("SELECT * FROM audit_events WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4")
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
                if let Err(broken) = verifier.push(&stored_event(row)?) {
                    return Ok(report(after, Some(broken)));
                }
                after = row.int("seq")?;
            }
        }
    }
}
