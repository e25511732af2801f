//! Clinical free text in and out of the database: the one place the store
//! seals a value before writing it and opens it after reading it. Use cases
//! call [`seal`] and [`open`]; the cipher itself lives in the domain
//! (`circles_domain::sealed`), the keys in the transaction's keyring.
//!
//! A value that does not open (its organisation's keys were destroyed, or it
//! was moved from another row or altered) reads as
//! [`circles_domain::sealed::UNREADABLE`]: the rest of the record stays
//! usable, and the reader is told plainly what happened.

use std::sync::Arc;

use circles_domain::ids::OrgId;
use circles_domain::sealed::{self, ClinicalField, DataKey, Key, KeyState, NONCE_BYTES, Place, Unsealable};
use jiff::Timestamp;
use rand::RngCore;
use rand::rngs::OsRng;
use uuid::Uuid;

use crate::keyring::{Keyring, OrgKeys};
use crate::sql::db::{DbError, Executor, Row, sql};
use crate::{Result, StoreError};

fn keyring<E: Executor>(tx: &E) -> Result<&Keyring> {
    tx.keyring().ok_or_else(|| {
        StoreError::Db(DbError::Other(
            "clinical text is sealed under a master key and none was given (setting master_key_file)".into(),
        ))
    })
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Reads and unwraps the organisation's keys. Keys whose wrapping does not
/// open under this master key are left out (their values read as
/// unreadable); a warning names the organisation.
async fn read_keys<E: Executor>(tx: &mut E, master: &Key, org: OrgId) -> Result<OrgKeys> {
    let rows =
        tx.fetch_all(sql("SELECT version, wrapped_key, state FROM data_keys WHERE org_id = $1").bind(org)).await?;
    let mut keys = OrgKeys { keys: Vec::with_capacity(rows.len()), active: None };
    for row in rows {
        let version = u32::try_from(row.int("version")?).map_err(|e| DbError::Decode(format!("version: {e}")))?;
        match sealed::unwrap(master, org.0, version, &row.bytes("wrapped_key")?) {
            Ok(key) => keys.keys.push(key),
            Err(e) => tracing::warn!(%org, version, error = %e, "a data key does not unwrap under this master key"),
        }
        if row.text("state")? == KeyState::Active.as_str() {
            keys.active = Some(version);
        }
    }
    Ok(keys)
}

/// The organisation's keys, from this process's cache or the database.
pub(crate) async fn org_keys<E: Executor>(tx: &mut E, org: OrgId) -> Result<Arc<OrgKeys>> {
    let ring = keyring(tx)?;
    if let Some(keys) = ring.cached(org) {
        return Ok(keys);
    }
    let master = ring.master().clone();
    let keys = Arc::new(read_keys(tx, &master, org).await?);
    keyring(tx)?.remember(org, keys.clone());
    Ok(keys)
}

/// Adds a new active data key for `org` (retiring the active one) inside
/// this transaction and returns it. Another transaction doing the same at
/// once makes this insert do nothing; the key it made is then read back.
pub(crate) async fn add_key<E: Executor>(tx: &mut E, org: OrgId, now: Timestamp) -> Result<DataKey> {
    let master = keyring(tx)?.master().clone();
    let current = read_keys(tx, &master, org).await?;
    let row = tx
        .fetch_one(sql("SELECT COALESCE(MAX(version), 0) AS latest FROM data_keys WHERE org_id = $1").bind(org))
        .await?;
    let version = u32::try_from(row.int("latest")? + 1).map_err(|e| DbError::Decode(format!("version: {e}")))?;
    if let Some(active) = current.active {
        tx.execute(
            sql("UPDATE data_keys SET state = $3 WHERE org_id = $1 AND version = $2")
                .bind(org)
                .bind(i64::from(active))
                .bind(KeyState::Retired.as_str()),
        )
        .await?;
    }
    let key = DataKey { version, key: Key::from_bytes(random()) };
    tx.execute(
        sql("INSERT INTO data_keys (org_id, version, wrapped_key, state, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING")
        .bind(org)
        .bind(i64::from(version))
        .bind(sealed::wrap(&master, org.0, &key, random()))
        .bind(KeyState::Active.as_str())
        .bind(now),
    )
    .await?;
    let stored = read_keys(tx, &master, org).await?;
    keyring(tx)?.made_key(org);
    stored.active_key().cloned().ok_or_else(|| {
        StoreError::Db(DbError::Other(format!(
            "organisation {org} has an active data key that does not unwrap under this master key \
             (is master_key_file the right key?)"
        )))
    })
}

/// The key new values are sealed under, made on the organisation's first
/// clinical text.
async fn active_key<E: Executor>(tx: &mut E, org: OrgId) -> Result<DataKey> {
    let keys = org_keys(tx, org).await?;
    if let Some(key) = keys.active_key() {
        return Ok(key.clone());
    }
    if keys.active.is_some() {
        return Err(StoreError::Db(DbError::Other(format!(
            "organisation {org}'s active data key does not unwrap under this master key \
             (is master_key_file the right key?)"
        ))));
    }
    add_key(tx, org, Timestamp::now()).await
}

/// The stored form of `text` for `field` of row `row`: sealed under the
/// organisation's active key. `None` stays `None`.
pub(crate) async fn seal<E: Executor>(
    tx: &mut E,
    org: OrgId,
    field: ClinicalField,
    row: Uuid,
    text: Option<&str>,
) -> Result<Option<String>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let key = active_key(tx, org).await?;
    Ok(Some(sealed::seal(&key, &Place { org: org.0, field, row }, random::<NONCE_BYTES>(), text)))
}

/// Opens a stored value with keys already read ([`org_keys`]). Text that
/// predates sealing reads as it is.
pub(crate) fn open_with(keys: &OrgKeys, place: &Place, stored: &str) -> Result<String, Unsealable> {
    if !sealed::is_sealed(stored) {
        return Ok(stored.to_owned());
    }
    let version = sealed::key_version(stored)?;
    let key = keys.version(version).ok_or(Unsealable::MissingKey(version))?;
    sealed::open(key, place, stored)
}

/// The text of a stored value of `field` in row `row`, or
/// [`sealed::UNREADABLE`] if it does not open (logged with where it is).
pub(crate) async fn open<E: Executor>(
    tx: &mut E,
    org: OrgId,
    field: ClinicalField,
    row: Uuid,
    stored: Option<String>,
) -> Result<Option<String>> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    if !sealed::is_sealed(&stored) {
        return Ok(Some(stored));
    }
    let keys = org_keys(tx, org).await?;
    Ok(Some(readable(&keys, &Place { org: org.0, field, row }, &stored)))
}

/// [`open_with`], with a value that does not open replaced by the marker.
pub(crate) fn readable(keys: &OrgKeys, place: &Place, stored: &str) -> String {
    open_with(keys, place, stored).unwrap_or_else(|e| {
        tracing::warn!(
            org = %place.org, table = place.field.table(), column = place.field.column(), row = %place.row,
            error = %e, "clinical text does not open"
        );
        sealed::UNREADABLE.to_owned()
    })
}

/// Opens `field` in many rows of one organisation in place, reading its
/// keys at most once.
pub(crate) async fn open_each<'a, E: Executor>(
    tx: &mut E,
    org: OrgId,
    field: ClinicalField,
    values: impl IntoIterator<Item = (Uuid, &'a mut String)>,
) -> Result<()> {
    let mut sealed_values: Vec<(Uuid, &'a mut String)> =
        values.into_iter().filter(|(_, v)| sealed::is_sealed(v)).collect();
    if sealed_values.is_empty() {
        return Ok(());
    }
    let keys = org_keys(tx, org).await?;
    for (row, value) in &mut sealed_values {
        **value = readable(&keys, &Place { org: org.0, field, row: *row }, value);
    }
    Ok(())
}
