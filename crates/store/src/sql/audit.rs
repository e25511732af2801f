//! Appending to and verifying the per-organisation audit chains.

use async_trait::async_trait;
use circles_domain::ids::{AuditEventId, OrgId, PersonId};
use jiff::Timestamp;

use super::db::{Backend, Executor, Row, placeholders, sql};
use super::{SqlStore, read_one, read_tx};
use crate::model::{AuditCtx, AuditEntry, ChainReport, Keyset};
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

    /// One read of several clients' records (a session's seats, who came
    /// to it) as one event, or none when it showed nobody's record.
    ///
    /// Why one event and not one per client: every event is a link the
    /// sealer hashes into the chain and a row written in the reader's
    /// transaction, so a twelve-seat sheet read twelve times a day cost
    /// twelve links each time. The audit model has one subject column, so a
    /// read of exactly one client keeps it there (and the filter by client
    /// finds it by index); a read of several leaves it empty and lists them
    /// under `details.subjects`, which the filter by client also searches
    /// ([`AuditStore::audit_events`]).
    pub fn read_of(
        action: &'static str,
        record_type: &'static str,
        record_id: impl ToString,
        clients: impl IntoIterator<Item = PersonId>,
    ) -> Option<Self> {
        let mut clients: Vec<PersonId> = clients.into_iter().collect();
        clients.sort();
        clients.dedup();
        let draft = Self::new(action, record_type, record_id);
        match clients.as_slice() {
            [] => None,
            [only] => Some(draft.subject(*only)),
            several => Some(draft.details(serde_json::json!({ SUBJECTS: several }))),
        }
    }
}

/// The key of `details` that lists the clients an event of several reads.
const SUBJECTS: &str = "subjects";

/// A `LIKE` pattern matching `details` that list `client` among their
/// subjects (ids are hyphenated hex, with no `LIKE` wildcards in them).
fn listed_subject(client: PersonId) -> String {
    format!("%\"{SUBJECTS}\":%\"{client}\"%")
}

/// Records `drafts` inside the caller's transaction, unsealed: they commit
/// (or roll back) with the change they describe, and the sealer links them
/// into `org`'s chain moments later ([`SqlStore::seal_org`]). Nothing here
/// touches the chain head, so writers of one organisation never wait for
/// each other on it.
pub(crate) async fn append<E: Executor>(
    tx: &mut E,
    now: Timestamp,
    ctx: &AuditCtx,
    org: OrgId,
    drafts: &[AuditDraft],
) -> Result<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(drafts.len());
    let mut query_args = Vec::with_capacity(drafts.len() * COLUMNS);
    for draft in drafts {
        values.push(format!("({})", placeholders(query_args.len() + 1, COLUMNS)));
        query_args.extend([
            org.into(),
            AuditEventId::new().into(),
            now.into(),
            ctx.account_id.into(),
            ctx.person_id.into(),
            draft.subject.into(),
            draft.action.into(),
            draft.record_type.into(),
            draft.record_id.as_str().into(),
            ctx.request_id.as_deref().into(),
            ctx.ip.as_deref().into(),
            draft.details.to_string().into(),
        ]);
    }
    let mut insert = sql(format!(
        "INSERT INTO audit_events (org_id, id, occurred_at, actor_account_id, actor_person_id, subject_person_id, \
         action, record_type, record_id, request_id, ip, details) VALUES {}",
        values.join(", ")
    ));
    insert.args = query_args;
    tx.defer(insert).await?;
    Ok(())
}

const COLUMNS: usize = 12;

#[async_trait]
impl<B: Backend> AuditStore for SqlStore<B> {
    async fn verify_audit(&self, org: Option<OrgId>) -> Result<Vec<ChainReport>> {
        // What has committed is verified, so link it first.
        match org {
            Some(org) => self.seal_org(org).await.map(drop)?,
            None => self.seal_audit().await.map(drop)?,
        }
        let heads = read_tx!(self, |tx| {
            let q = match org {
                Some(org) => sql("SELECT org_id, seq FROM audit_heads WHERE org_id = $1").bind(org),
                None => sql(
                    "SELECT org_id, seq FROM audit_heads /* spans organisations: verifying every chain */ ORDER BY org_id",
                ),
            };
            tx.fetch_all(q).await?
        })?;
        let mut reports = Vec::new();
        for head in heads {
            reports.push(self.verify_chain(head.id("org_id")?, head.int("seq")?).await?);
        }
        Ok(reports)
    }

    async fn audit_page(&self, org: OrgId, subject: Option<PersonId>, page: Keyset<i64>) -> Result<Vec<AuditEntry>> {
        // Sealing first shows a reader the sequence numbers of everything
        // that committed before they asked.
        self.seal_org(org).await?;
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql("SELECT e.arrival, e.seq, e.occurred_at, e.actor_account_id, actor.name AS actor_name, \
                     e.actor_person_id, e.subject_person_id, subject.name AS subject_name, e.action, \
                     e.record_type, e.record_id, e.request_id, e.ip, e.details FROM audit_events e \
                     LEFT JOIN accounts actor ON actor.id = e.actor_account_id \
                     LEFT JOIN people sp ON sp.org_id = e.org_id AND sp.id = e.subject_person_id \
                     LEFT JOIN accounts subject ON subject.id = sp.account_id \
                     WHERE e.org_id = $1 AND ($2 IS NULL OR e.subject_person_id = $2 \
                     OR (e.subject_person_id IS NULL AND e.details LIKE $5)) \
                     AND ($4 IS NULL OR e.arrival < $4) ORDER BY e.arrival DESC LIMIT $3")
                .bind(org)
                .bind(subject)
                .bind(page.limit)
                .bind(page.after)
                .bind(subject.map(listed_subject)),
            )
            .await?
        })?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    arrival: r.int("arrival")?,
                    seq: r.opt_int("seq")?,
                    occurred_at: r.time("occurred_at")?,
                    actor_account_id: r.opt_id("actor_account_id")?,
                    actor_name: r.opt_text("actor_name")?,
                    actor_person_id: r.opt_id("actor_person_id")?,
                    subject_person_id: r.opt_id("subject_person_id")?,
                    subject_name: r.opt_text("subject_name")?,
                    action: r.text("action")?,
                    record_type: r.text("record_type")?,
                    record_id: r.text("record_id")?,
                    request_id: r.opt_text("request_id")?,
                    ip: r.opt_text("ip")?,
                    details: serde_json::from_str(&r.text("details")?)
                        .map_err(|e| super::db::DbError::Decode(format!("audit details: {e}")))?,
                })
            })
            .collect()
    }

    async fn seal_audit(&self) -> Result<u64> {
        let orgs = read_one!(self, |tx| {
            // One index probe per chain (each organisation's and the
            // platform's): a DISTINCT over the events themselves reads every
            // sealed event on SQLite.
            tx.fetch_all(
                sql("SELECT chain.id AS org_id FROM \
                     (SELECT id FROM organisations UNION ALL SELECT $1) AS chain \
                     WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = chain.id AND e.seq IS NULL) \
                     /* spans organisations: the sealer looks for every chain with events to link */")
                .bind(OrgId::PLATFORM),
            )
            .await?
        })?;
        let mut sealed = 0;
        for row in orgs {
            sealed += self.seal_org(row.id("org_id")?).await?;
        }
        Ok(sealed)
    }

    async fn audit_written(&self) {
        self.unsealed.notified().await;
    }
}
