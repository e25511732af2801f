//! The master key and this process's cache of unwrapped data keys.
//!
//! The master key comes from outside the database (a file named by the
//! `master_key_file` setting) and is handed to the store when it opens.
//! Unwrapped data keys are kept per organisation so that sealing or opening
//! clinical text needs no unwrapping. Each entry is tagged with the
//! organisation's key generation (`data_key_generations`), a counter every
//! change to its keys moves; a transaction that seals or opens clinical text
//! reads that counter first and uses the entry only if it still matches, so
//! a new key, destroyed old keys or a shredding done by any process — another
//! server, `circles admin …` — is seen by the next transaction here.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use circles_domain::ids::OrgId;
use circles_domain::sealed::{DataKey, Key};

use crate::sql::db::Dialect;

/// An organisation's data keys as read from the database, unwrapped.
#[derive(Debug, Clone)]
pub struct OrgKeys {
    pub keys: Vec<DataKey>,
    /// The version new values are sealed under, if the organisation has one.
    pub active: Option<u32>,
}

impl OrgKeys {
    pub fn version(&self, version: u32) -> Option<&DataKey> {
        self.keys.iter().find(|k| k.version == version)
    }

    pub fn active_key(&self) -> Option<&DataKey> {
        self.active.and_then(|v| self.version(v))
    }
}

pub struct Keyring {
    master: Key,
    /// Per organisation: the key generation the keys were read at.
    cache: Mutex<HashMap<OrgId, (i64, Arc<OrgKeys>)>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

impl Keyring {
    pub fn new(master: Key) -> Self {
        Self { master, cache: Mutex::default() }
    }

    pub fn master(&self) -> &Key {
        &self.master
    }

    /// The organisation's keys if they were read at `generation`.
    pub fn cached(&self, org: OrgId, generation: i64) -> Option<Arc<OrgKeys>> {
        let cache = self.cache.lock().expect("key cache");
        cache.get(&org).filter(|(at, _)| *at == generation).map(|(_, keys)| keys.clone())
    }

    /// Whether the keys last read for the organisation have an active key:
    /// a hint only, checked against the generation before use.
    pub fn had_active_key(&self, org: OrgId) -> bool {
        self.cache.lock().expect("key cache").get(&org).is_some_and(|(_, keys)| keys.active_key().is_some())
    }

    /// Remembers keys as read at `generation`, by a transaction that did not
    /// change them itself (what an uncommitted change made may yet roll back).
    pub fn remember(&self, org: OrgId, generation: i64, keys: Arc<OrgKeys>) {
        self.cache.lock().expect("key cache").insert(org, (generation, keys));
    }

    /// Forgets an organisation's keys after this process changed them.
    pub fn forget(&self, org: OrgId) {
        self.cache.lock().expect("key cache").remove(&org);
    }
}

/// What one transaction has established about organisations' keys, so that
/// the generation is read once per organisation and transaction however many
/// values it seals or opens.
#[derive(Debug)]
pub struct TxKeys {
    pub(crate) dialect: Dialect,
    pub(crate) orgs: HashMap<OrgId, Checked>,
    /// Organisations whose keys this transaction changed: what it reads of
    /// them is not cached, for it may yet roll back.
    pub(crate) changed: HashSet<OrgId>,
}

impl TxKeys {
    pub fn new(dialect: Dialect) -> Self {
        Self { dialect, orgs: HashMap::new(), changed: HashSet::new() }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) keys: Arc<OrgKeys>,
    /// Whether this transaction holds the generation against change (it
    /// seals under the active key: a rotation waits until it commits).
    pub(crate) held: bool,
}
