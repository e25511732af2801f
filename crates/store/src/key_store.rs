//! Organisations' data keys: rotating them and destroying them.

use async_trait::async_trait;
use circles_domain::ids::OrgId;
use serde::Serialize;

use crate::Result;
use crate::model::AuditCtx;

/// What a key rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// Organisations given a new active key.
    pub new_keys: u64,
    /// Values sealed afresh under their organisation's active key, per
    /// `table.column`, in the order of `ClinicalField::ALL`.
    pub resealed: Vec<(String, u64)>,
    /// Values that did not open and were left as they are (see
    /// `circles_domain::sealed::UNREADABLE`).
    pub unreadable: u64,
    /// Write transactions run to re-seal, one per batch.
    pub batches: u64,
    /// Superseded keys destroyed once no stored value named them.
    pub destroyed_keys: u64,
    /// Superseded keys kept because stored values still name them (values
    /// that did not open, so could not be re-sealed).
    pub kept_keys: u64,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Gives every organisation a new active data key (the old one is
    /// retired and still opens what it sealed), then re-seals every clinical
    /// value not under its organisation's active key — text from before
    /// sealing included — `batch` rows per transaction, so the server keeps
    /// working meanwhile; then destroys each organisation's superseded keys
    /// that no stored value names any more. With `resume`, no new keys: an
    /// interrupted rotation is finished.
    async fn rotate_data_keys(&self, ctx: &AuditCtx, resume: bool, batch: usize) -> Result<RotationReport>;
    /// Deletes every data key of `org` (audited): its clinical text can never
    /// be read again, by anyone. Returns how many keys were deleted.
    async fn shred_org_keys(&self, ctx: &AuditCtx, org: OrgId) -> Result<u64>;
}
