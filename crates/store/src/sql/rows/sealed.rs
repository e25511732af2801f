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

use crate::keyring::{Checked, Keyring, OrgKeys, TxKeys};
use crate::sql::db::{DbError, Dialect, Executor, Row, sql};
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

fn tx_keys<E: Executor>(tx: &mut E) -> Result<&mut TxKeys> {
    tx.tx_keys().ok_or_else(|| {
        StoreError::Db(DbError::Other(
            "clinical text is sealed under a master key and none was given (setting master_key_file)".into(),
        ))
    })
}

/// The organisation's key generation; with `hold`, share-locked until this
/// transaction ends (PostgreSQL; SQLite's writer excludes changes anyway).
async fn generation<E: Executor>(tx: &mut E, org: OrgId, hold: bool) -> Result<i64> {
    let lock = if hold { tx_keys(tx)?.dialect.for_share() } else { "" };
    let row = tx
        .fetch_optional(sql(format!("SELECT generation FROM data_key_generations WHERE org_id = $1{lock}")).bind(org))
        .await?;
    // No row yet: the organisation's keys have never changed.
    Ok(row.map(|r| r.int("generation")).transpose()?.unwrap_or(0))
}

/// The keys at `generation`, from this process's cache or the database.
async fn keys_at<E: Executor>(tx: &mut E, org: OrgId, generation: i64) -> Result<Arc<OrgKeys>> {
    let changed_here = tx_keys(tx)?.changed.contains(&org);
    if !changed_here && let Some(keys) = keyring(tx)?.cached(org, generation) {
        return Ok(keys);
    }
    let master = keyring(tx)?.master().clone();
    let keys = Arc::new(read_keys(tx, &master, org).await?);
    if !changed_here {
        keyring(tx)?.remember(org, generation, keys.clone());
    }
    Ok(keys)
}

/// The organisation's keys as they are now, checked once per transaction
/// against the key generation, so a change any process made is seen here.
///
/// `to_seal`: the caller seals under the active key. On PostgreSQL it then
/// holds the generation until it commits, so a rotation's new key (which
/// moves the generation) waits for it: once the new key is committed, no
/// value can still arrive under the old one, and the old one may go.
async fn checked_keys<E: Executor>(tx: &mut E, org: OrgId, to_seal: bool) -> Result<Arc<OrgKeys>> {
    let memo = tx_keys(tx)?;
    let sqlite = memo.dialect == Dialect::Sqlite;
    if let Some(checked) = memo.orgs.get(&org)
        && (checked.held || !to_seal || sqlite)
    {
        return Ok(checked.keys.clone());
    }
    // Lock at once when there is sure to be an active key to seal under;
    // without one this transaction is to make it, under an exclusive lock.
    let hold_at_once = to_seal && !sqlite && keyring(tx)?.had_active_key(org);
    let mut at = generation(tx, org, hold_at_once).await?;
    let mut keys = keys_at(tx, org, at).await?;
    let mut held = hold_at_once || sqlite;
    if to_seal && !held && keys.active_key().is_some() {
        let locked = generation(tx, org, true).await?;
        if locked != at {
            at = locked;
            keys = keys_at(tx, org, at).await?;
        }
        held = true;
    }
    tx_keys(tx)?.orgs.insert(org, Checked { keys: keys.clone(), held: held && to_seal });
    Ok(keys)
}

/// The organisation's keys, for opening values.
pub(crate) async fn org_keys<E: Executor>(tx: &mut E, org: OrgId) -> Result<Arc<OrgKeys>> {
    checked_keys(tx, org, false).await
}

/// Moves the organisation's key generation on, in the transaction that
/// changes its keys, so that every process's next transaction reads them
/// afresh. On PostgreSQL this waits for transactions sealing under the
/// keys being replaced (they hold the generation: [`checked_keys`]).
pub(crate) async fn change_keys<E: Executor>(tx: &mut E, org: OrgId) -> Result<()> {
    tx.execute(
        sql("INSERT INTO data_key_generations (org_id, generation) VALUES ($1, 1) \
             ON CONFLICT (org_id) DO UPDATE SET generation = data_key_generations.generation + 1")
        .bind(org),
    )
    .await?;
    // Shredding needs no master key: a store opened without one has no keys to forget.
    if let Some(memo) = tx.tx_keys() {
        memo.orgs.remove(&org);
        memo.changed.insert(org);
    }
    Ok(())
}

/// Adds a new active data key for `org` (retiring the active one) inside
/// this transaction and returns it. Unless `rotate`, a key another
/// transaction made meanwhile is used instead of making another.
pub(crate) async fn add_key<E: Executor>(tx: &mut E, org: OrgId, now: Timestamp, rotate: bool) -> Result<DataKey> {
    let master = keyring(tx)?.master().clone();
    change_keys(tx, org).await?;
    let current = read_keys(tx, &master, org).await?;
    if !rotate && let Some(key) = current.active_key() {
        return Ok(key.clone());
    }
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
        sql("INSERT INTO data_keys (org_id, version, wrapped_key, state, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org)
            .bind(i64::from(version))
            .bind(sealed::wrap(&master, org.0, &key, random()))
            .bind(KeyState::Active.as_str())
            .bind(now),
    )
    .await?;
    let mut stored = current;
    stored.keys.push(key.clone());
    stored.active = Some(version);
    tx_keys(tx)?.orgs.insert(org, Checked { keys: Arc::new(stored), held: true });
    Ok(key)
}

/// The key new values are sealed under, made on the organisation's first
/// clinical text.
async fn active_key<E: Executor>(tx: &mut E, org: OrgId) -> Result<DataKey> {
    let keys = checked_keys(tx, org, true).await?;
    if let Some(key) = keys.active_key() {
        return Ok(key.clone());
    }
    if keys.active.is_some() {
        return Err(StoreError::Db(DbError::Other(format!(
            "organisation {org}'s active data key does not unwrap under this master key \
             (is master_key_file the right key?)"
        ))));
    }
    add_key(tx, org, Timestamp::now(), false).await
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
