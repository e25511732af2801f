//! The tamper-evident audit chain.
//!
//! Each organisation's events form a hash chain: an event's hash covers its
//! own content and the previous event's hash, so editing or removing any row
//! breaks every later link. Verification recomputes the chain from the rows.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids::{AccountId, AuditEventId, OrgId, PersonId};

/// The hash that precedes an organisation's first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// Everything an audit event records, in the order it is hashed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: AuditEventId,
    pub org_id: OrgId,
    pub seq: i64,
    pub occurred_at: Timestamp,
    pub actor_account_id: Option<AccountId>,
    pub actor_person_id: Option<PersonId>,
    /// The client whose record this is about, if any.
    pub subject_person_id: Option<PersonId>,
    /// What happened, e.g. `person.create`, `session.read`.
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// Extra facts as JSON text (kept as text so the hash covers exact bytes).
    pub details: String,
}

impl AuditRecord {
    /// `prev` is the hash of the event before this one (or [`GENESIS`]).
    pub fn chain_hash(&self, prev: &[u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(prev);
        // A JSON array of the fields: unambiguous field boundaries and a
        // stable order, independent of any database's text formatting.
        let content = serde_json::to_vec(&(
            self.id,
            self.org_id,
            self.seq,
            self.occurred_at.as_microsecond(),
            self.actor_account_id,
            self.actor_person_id,
            self.subject_person_id,
            &self.action,
            &self.record_type,
            &self.record_id,
            &self.request_id,
            &self.ip,
            &self.details,
        ))
        .expect("audit records serialise");
        hasher.update(&content);
        hasher.finalize().into()
    }
}

/// One stored event as read back for verification.
#[derive(Debug, Clone)]
pub struct StoredAuditEvent {
    pub record: AuditRecord,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event #{expected_seq} is missing (found #{found_seq} next): a row was removed")]
    Missing { expected_seq: i64, found_seq: i64 },
    #[error("event #{seq} ({id}) does not link to the event before it: a row was removed or altered")]
    BrokenLink { seq: i64, id: AuditEventId },
    #[error("event #{seq} ({id}) does not match its hash: the row was altered")]
    Altered { seq: i64, id: AuditEventId },
    #[error("the chain ends at event #{last_seq} but the head records #{head_seq}: rows were removed")]
    Truncated { last_seq: i64, head_seq: i64 },
}

/// Checks one organisation's events, fed in sequence order, and reports the
/// first broken link. Events are pushed one at a time so a long chain can be
/// verified page by page.
#[derive(Debug)]
pub struct ChainVerifier {
    prev: [u8; 32],
    next_seq: i64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { prev: GENESIS, next_seq: 1 }
    }
}

impl ChainVerifier {
    pub fn push(&mut self, event: &StoredAuditEvent) -> Result<(), ChainBreak> {
        let rec = &event.record;
        if rec.seq != self.next_seq {
            return Err(ChainBreak::Missing { expected_seq: self.next_seq, found_seq: rec.seq });
        }
        if event.prev_hash != self.prev {
            return Err(ChainBreak::BrokenLink { seq: rec.seq, id: rec.id });
        }
        if rec.chain_hash(&self.prev) != event.hash {
            return Err(ChainBreak::Altered { seq: rec.seq, id: rec.id });
        }
        self.prev = event.hash;
        self.next_seq += 1;
        Ok(())
    }

    /// `head_seq` is the sequence number the chain head says was appended
    /// last; returns how many events were verified.
    pub fn finish(self, head_seq: i64) -> Result<i64, ChainBreak> {
        let last_seq = self.next_seq - 1;
        if last_seq != head_seq {
            return Err(ChainBreak::Truncated { last_seq, head_seq });
        }
        Ok(last_seq)
    }
}

/// Verifies a whole chain held in memory.
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = &'a StoredAuditEvent>,
    head_seq: i64,
) -> Result<i64, ChainBreak> {
    let mut verifier = ChainVerifier::default();
    for event in events {
        verifier.push(event)?;
    }
    verifier.finish(head_seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<StoredAuditEvent> {
        let org = OrgId::new();
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let record = AuditRecord {
                    id: AuditEventId::new(),
                    org_id: org,
                    seq,
                    occurred_at: Timestamp::from_second(1_700_000_000 + seq).unwrap(),
                    actor_account_id: None,
                    actor_person_id: None,
                    subject_person_id: None,
                    action: "person.create".into(),
                    record_type: "person".into(),
                    record_id: format!("p{seq}"),
                    request_id: None,
                    ip: Some("127.0.0.1".into()),
                    details: "{}".into(),
                };
                let hash = record.chain_hash(&prev);
                let event = StoredAuditEvent { record, prev_hash: prev, hash };
                prev = hash;
                event
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        assert_eq!(verify_chain(&events, 5), Ok(5));
    }

    #[test]
    fn an_edited_row_is_found() {
        let mut events = chain(5);
        events[2].record.action = "person.delete".into();
        assert!(matches!(verify_chain(&events, 5), Err(ChainBreak::Altered { seq: 3, .. })));
    }

    #[test]
    fn a_removed_row_is_found() {
        let mut events = chain(5);
        events.remove(1);
        assert!(matches!(verify_chain(&events, 5), Err(ChainBreak::Missing { expected_seq: 2, found_seq: 3 })));
    }

    #[test]
    fn a_removed_tail_is_found() {
        let mut events = chain(5);
        events.pop();
        assert!(matches!(verify_chain(&events, 5), Err(ChainBreak::Truncated { last_seq: 4, head_seq: 5 })));
    }

    #[test]
    fn a_rehashed_row_still_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].record.action = "person.delete".into();
        events[2].hash = events[2].record.chain_hash(&events[2].prev_hash);
        assert!(matches!(verify_chain(&events, 5), Err(ChainBreak::BrokenLink { seq: 4, .. })));
    }
}
