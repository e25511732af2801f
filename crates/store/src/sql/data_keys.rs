//! Rotating and destroying organisations' data keys.
//!
//! A rotation first gives each organisation a new active key (one short
//! transaction each), then walks every clinical column in id order, `batch`
//! rows per write transaction, sealing afresh each value that is not under
//! the active key. Each row is written only if it still holds what was read,
//! so a note changed meanwhile is left to its newer value. A new key moves
//! the organisation's key generation, which every server checks in each
//! transaction that seals (`rows::sealed`), so no server seals under the old
//! key once the new one is committed. When the passes are done, the
//! organisation's retired keys are destroyed in one transaction that first
//! moves the generation (on PostgreSQL waiting for any transaction still
//! sealing) and then checks that no stored value names them; a key some
//! value still names (one that did not open, so was not re-sealed) is kept
//! and reported. A rotation cut short leaves the retired keys, and
//! `--resume` finishes the passes and destroys them.

use async_trait::async_trait;
use circles_domain::ids::OrgId;
use circles_domain::sealed::{ClinicalField, FORMAT, KeyState, Place};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, AuditDraft};
use super::db::{Backend, DbError, Executor, Row, sql};
use super::rows::sealed;
use super::{SqlStore, read_one, write_tx};
use crate::model::AuditCtx;
use crate::{KeyStore, Result, RotationReport};

/// Passes over an organisation's clinical columns at most, per rotation.
const MAX_PASSES: usize = 4;

/// Outcome of one batch: rows looked at, re-sealed, left unreadable, and
/// the last row id seen.
struct Batch {
    seen: usize,
    resealed: u64,
    unreadable: u64,
    last: Option<Uuid>,
}

async fn reseal_batch<E: Executor>(
    tx: &mut E,
    org: OrgId,
    field: ClinicalField,
    after: Option<Uuid>,
    batch: usize,
) -> Result<Batch> {
    let keys = sealed::org_keys(tx, org).await?;
    let active = keys.active.unwrap_or(0);
    let (table, column) = (field.table(), field.column());
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT id, {column} AS stored FROM {table} WHERE org_id = $1 AND {column} IS NOT NULL \
                 AND {column} NOT LIKE $2 AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
            ))
            .bind(org)
            .bind(format!("{FORMAT}:{active}:%"))
            .bind(after)
            .bind(batch as i64),
        )
        .await?;
    let mut done = Batch { seen: rows.len(), resealed: 0, unreadable: 0, last: None };
    for row in rows {
        let id: Uuid = row.uuid("id")?;
        let stored = row.text("stored")?;
        done.last = Some(id);
        let Ok(text) = sealed::open_with(&keys, &Place { org: org.0, field, row: id }, &stored) else {
            done.unreadable += 1;
            continue;
        };
        let fresh = sealed::seal(tx, org, field, id, Some(&text)).await?;
        done.resealed += tx
            .execute(
                sql(format!("UPDATE {table} SET {column} = $3 WHERE org_id = $1 AND id = $2 AND {column} = $4"))
                    .bind(org)
                    .bind(id)
                    .bind(fresh)
                    .bind(stored),
            )
            .await?;
    }
    Ok(done)
}

/// Destroys the organisation's retired keys that no stored value names;
/// returns the versions destroyed and those kept.
async fn destroy_retired<E: Executor>(tx: &mut E, org: OrgId) -> Result<(Vec<u32>, Vec<u32>)> {
    let retired = sql("SELECT version FROM data_keys WHERE org_id = $1 AND state = $2 ORDER BY version")
        .bind(org)
        .bind(KeyState::Retired.as_str());
    if tx.fetch_optional(retired.clone()).await?.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    // First the generation: every server reads the keys afresh, and no
    // transaction sealing under an older key is still uncommitted.
    sealed::change_keys(tx, org).await?;
    let mut destroyed = Vec::new();
    let mut kept = Vec::new();
    for row in tx.fetch_all(retired).await? {
        let version = u32::try_from(row.int("version")?).map_err(|e| DbError::Decode(format!("version: {e}")))?;
        if names_key(tx, org, version).await? {
            kept.push(version);
            continue;
        }
        tx.execute(
            sql("DELETE FROM data_keys WHERE org_id = $1 AND version = $2 AND state = $3")
                .bind(org)
                .bind(i64::from(version))
                .bind(KeyState::Retired.as_str()),
        )
        .await?;
        destroyed.push(version);
    }
    Ok((destroyed, kept))
}

/// Whether any stored clinical value of the organisation is sealed under `version`.
async fn names_key<E: Executor>(tx: &mut E, org: OrgId, version: u32) -> Result<bool> {
    for field in ClinicalField::ALL {
        let (table, column) = (field.table(), field.column());
        let found = tx
            .fetch_optional(
                sql(format!("SELECT 1 AS one FROM {table} WHERE org_id = $1 AND {column} LIKE $2 LIMIT 1"))
                    .bind(org)
                    .bind(format!("{FORMAT}:{version}:%")),
            )
            .await?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[async_trait]
impl<B: Backend> KeyStore for SqlStore<B> {
    async fn rotate_data_keys(&self, ctx: &AuditCtx, resume: bool, batch: usize) -> Result<RotationReport> {
        let batch = batch.max(1);
        let orgs: Vec<OrgId> = read_one!(self, |tx| {
            tx.fetch_all(sql("SELECT id FROM organisations ORDER BY id"))
                .await?
                .iter()
                .map(|r| r.id("id"))
                .collect::<Result<Vec<OrgId>, _>>()?
        })?;
        let mut report = RotationReport {
            resealed: ClinicalField::ALL.iter().map(|f| (format!("{}.{}", f.table(), f.column()), 0)).collect(),
            ..RotationReport::default()
        };
        for &org in &orgs {
            if !resume {
                let now = self.clock.now();
                write_tx!(self, |tx| {
                    let key = sealed::add_key(&mut tx, org, now, true).await?;
                    let draft = AuditDraft::new("data_key.rotate", "organisation", org.0)
                        .details(json!({ "version": key.version }));
                    audit::append(&mut tx, now, ctx, org, &[draft]).await?;
                })?;
                report.new_keys += 1;
            }
            // Passes until one finds nothing left to re-seal: a write that
            // sealed under the old key just before the switch and committed
            // behind the first pass is caught by the next.
            for pass in 0..MAX_PASSES {
                let mut resealed = 0;
                let mut unreadable = 0;
                for (i, field) in ClinicalField::ALL.into_iter().enumerate() {
                    let mut after = None;
                    loop {
                        let done = write_tx!(self, |tx| reseal_batch(&mut tx, org, field, after, batch).await?)?;
                        report.batches += 1;
                        report.resealed[i].1 += done.resealed;
                        resealed += done.resealed;
                        unreadable += done.unreadable;
                        if done.seen < batch {
                            break;
                        }
                        after = done.last;
                    }
                }
                // Values that do not open are met again on every pass: count them once.
                if pass == 0 {
                    report.unreadable += unreadable;
                }
                if resealed == 0 {
                    break;
                }
            }
            let now = self.clock.now();
            let (destroyed, kept) = write_tx!(self, |tx| {
                let (destroyed, kept) = destroy_retired(&mut tx, org).await?;
                if !destroyed.is_empty() || !kept.is_empty() {
                    let draft = AuditDraft::new("data_key.destroy_retired", "organisation", org.0)
                        .details(json!({ "versions_destroyed": destroyed, "versions_kept": kept }));
                    audit::append(&mut tx, now, ctx, org, &[draft]).await?;
                }
                (destroyed, kept)
            })?;
            report.destroyed_keys += destroyed.len() as u64;
            report.kept_keys += kept.len() as u64;
            if let Some(keyring) = &self.keyring {
                keyring.forget(org);
            }
        }
        Ok(report)
    }

    async fn shred_org_keys(&self, ctx: &AuditCtx, org: OrgId) -> Result<u64> {
        let now = self.clock.now();
        let deleted = write_tx!(self, |tx| {
            sealed::change_keys(&mut tx, org).await?;
            let deleted = tx.execute(sql("DELETE FROM data_keys WHERE org_id = $1").bind(org)).await?;
            let draft =
                AuditDraft::new("data_key.shred", "organisation", org.0).details(json!({ "keys_deleted": deleted }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            deleted
        })?;
        if let Some(keyring) = &self.keyring {
            keyring.forget(org);
        }
        Ok(deleted)
    }
}
