//! Writing the live event log: a row helper the use cases call in their own
//! transaction (as they call [`super::notify`]), so an event commits with
//! the change it reports or not at all.
//!
//! Numbers come from the organisation's row in `event_heads`: the upsert
//! that takes them holds that row until commit, so one organisation's
//! events commit in the order of their numbers (a listener that has seen
//! `seq` has seen everything before it). On PostgreSQL a trigger on the
//! same row sends the NOTIFY that wakes every server's listener at commit.

use circles_domain::ids::{OrgId, PersonId, SessionId};
use circles_domain::live::EventKind;
use jiff::Timestamp;

use super::db::{Executor, Row, Value, placeholders, sql};
use crate::Result;

/// One event to record.
pub struct Draft {
    pub kind: EventKind,
    pub session: Option<SessionId>,
    /// Ids and times only.
    pub payload: serde_json::Value,
    /// Everyone who may see it.
    pub recipients: Vec<PersonId>,
}

/// Rows one statement writes at most: well inside both backends' limits.
const ROWS_PER_INSERT: usize = 500;

/// Records `drafts` in `org`'s log. Drafts with nobody to tell are dropped.
pub async fn record<E: Executor>(tx: &mut E, org: OrgId, now: Timestamp, drafts: Vec<Draft>) -> Result<()> {
    let drafts: Vec<Draft> = drafts.into_iter().filter(|d| !d.recipients.is_empty()).collect();
    if drafts.is_empty() {
        return Ok(());
    }
    let count = drafts.len() as i64;
    let head = tx
        .fetch_one(
            sql("INSERT INTO event_heads (org_id, last_seq) VALUES ($1, $2) \
                 ON CONFLICT (org_id) DO UPDATE SET last_seq = event_heads.last_seq + $2 RETURNING last_seq")
            .bind(org)
            .bind(count)
            .independent_of_deferred(),
        )
        .await?
        .int("last_seq")?;
    let first = head - count + 1;
    let mut events = Vec::new();
    let mut recipients = Vec::new();
    for (i, mut draft) in drafts.into_iter().enumerate() {
        let seq = first + i as i64;
        events.push(vec![
            org.into(),
            seq.into(),
            draft.kind.as_str().into(),
            draft.session.into(),
            draft.payload.to_string().into(),
            now.into(),
        ]);
        draft.recipients.sort();
        draft.recipients.dedup();
        recipients.extend(draft.recipients.into_iter().map(|person| vec![org.into(), person.into(), seq.into()]));
    }
    insert(tx, "events (org_id, seq, kind, session_id, payload, created_at)", events).await?;
    insert(tx, "event_recipients (org_id, person_id, seq)", recipients).await
}

async fn insert<E: Executor>(tx: &mut E, target: &str, rows: Vec<Vec<Value>>) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let width = chunk[0].len();
        let values: Vec<String> =
            (0..chunk.len()).map(|i| format!("({})", placeholders(i * width + 1, width))).collect();
        let mut q = sql(format!("INSERT INTO {target} VALUES {}", values.join(", ")));
        q.args = chunk.iter().flatten().cloned().collect();
        tx.defer(q).await?;
    }
    Ok(())
}
