//! Reading the live event log: what a server fans out to its listeners,
//! what one listener missed, and pruning what is past retention.

use async_trait::async_trait;
use circles_domain::ids::{OrgId, PersonId};
use jiff::Timestamp;

use super::db::{Backend, Executor, Row, sql};
use super::{SqlStore, read_one, write_tx};
use crate::model::Event;
use crate::{EventStore, Result};

fn event_from_row(org: OrgId, row: &impl Row) -> Result<Event> {
    Ok(Event {
        org_id: org,
        seq: row.int("seq")?,
        kind: row.text("kind")?,
        session_id: row.opt_id("session_id")?,
        payload: row.text("payload")?,
        created_at: row.time("created_at")?,
        recipients: Vec::new(),
    })
}

async fn heads<E: Executor>(tx: &mut E) -> Result<Vec<(OrgId, i64)>> {
    let rows = tx
        .fetch_all(sql(
            "SELECT org_id, last_seq FROM event_heads /* spans organisations: a server follows every log it may serve */",
        ))
        .await?;
    rows.iter().map(|r| Ok((r.id("org_id")?, r.int("last_seq")?))).collect()
}

#[async_trait]
impl<B: Backend> EventStore for SqlStore<B> {
    async fn event_heads(&self) -> Result<Vec<(OrgId, i64)>> {
        read_one!(self, |tx| heads(&mut tx).await?)
    }

    async fn event_head(&self, org: OrgId) -> Result<i64> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT last_seq FROM event_heads WHERE org_id = $1").bind(org)).await?
        })?;
        Ok(row.map(|r| r.int("last_seq")).transpose()?.unwrap_or(0))
    }

    async fn events_between(&self, org: OrgId, after: i64, upto: i64) -> Result<Vec<Event>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql("SELECT e.seq, e.kind, e.session_id, e.payload, e.created_at, r.person_id FROM events e \
                     JOIN event_recipients r ON r.org_id = e.org_id AND r.seq = e.seq \
                     WHERE e.org_id = $1 AND e.seq > $2 AND e.seq <= $3 ORDER BY e.seq, r.person_id")
                .bind(org)
                .bind(after)
                .bind(upto),
            )
            .await?
        })?;
        let mut events: Vec<Event> = Vec::new();
        for row in &rows {
            let seq = row.int("seq")?;
            if events.last().is_none_or(|e| e.seq != seq) {
                events.push(event_from_row(org, row)?);
            }
            events.last_mut().expect("pushed above").recipients.push(row.id("person_id")?);
        }
        // Sorted here, whatever order a database's collation gives uuids.
        events.iter_mut().for_each(|e| e.recipients.sort_unstable());
        Ok(events)
    }

    async fn events_for(&self, org: OrgId, person: PersonId, after: i64, limit: i64) -> Result<Vec<Event>> {
        let rows = read_one!(self, |tx| {
            tx.fetch_all(
                sql("SELECT e.seq, e.kind, e.session_id, e.payload, e.created_at FROM event_recipients r \
                     JOIN events e ON e.org_id = r.org_id AND e.seq = r.seq \
                     WHERE r.org_id = $1 AND r.person_id = $2 AND r.seq > $3 ORDER BY r.seq LIMIT $4")
                .bind(org)
                .bind(person)
                .bind(after)
                .bind(limit),
            )
            .await?
        })?;
        rows.iter()
            .map(|row| {
                let mut event = event_from_row(org, row)?;
                event.recipients.push(person);
                Ok(event)
            })
            .collect()
    }

    async fn prune_events(&self, before: Timestamp) -> Result<u64> {
        write_tx!(self, |tx| {
            let old = "SELECT org_id, seq FROM events WHERE created_at < $1";
            tx.execute(
                sql(format!(
                    "DELETE FROM event_recipients WHERE (org_id, seq) IN ({old}) \
                     /* spans organisations: retention applies to every clinic */"
                ))
                .bind(before),
            )
            .await?;
            tx.execute(
                sql("DELETE FROM events WHERE created_at < $1 /* spans organisations: retention applies to every clinic */")
                    .bind(before),
            )
            .await?
        })
    }

    async fn write_committed(&self) {
        self.events.notified().await;
    }
}
