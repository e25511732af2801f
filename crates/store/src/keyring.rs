//! The master key and this process's cache of unwrapped data keys.
//!
//! The master key comes from outside the database (a file named by the
//! `master_key_file` setting) and is handed to the store when it opens.
//! Unwrapped data keys are kept per organisation so that sealing or opening
//! clinical text costs no round trip; an organisation's entry is dropped
//! after [`KEY_CACHE_TTL`] so that a rotation or a shredding done by another
//! process (`circles admin …`) takes effect here within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circles_domain::ids::OrgId;
use circles_domain::sealed::{DataKey, Key};

/// How long this process trusts what it read of an organisation's keys.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

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

/// How long after this process made an organisation a key its keys are not
/// cached: longer than any transaction runs, so by then the key is
/// committed or gone.
const NEW_KEY_GRACE: Duration = Duration::from_secs(10);

pub struct Keyring {
    master: Key,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<OrgId, (Instant, Arc<OrgKeys>)>,
    /// Organisations given a key lately, by a transaction that may not
    /// have committed yet.
    new_keys: HashMap<OrgId, Instant>,
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

    /// The organisation's keys, if read within [`KEY_CACHE_TTL`].
    pub fn cached(&self, org: OrgId) -> Option<Arc<OrgKeys>> {
        let cache = self.cache.lock().expect("key cache");
        cache.keys.get(&org).filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL).map(|(_, keys)| keys.clone())
    }

    /// Remembers keys as read. Not while a key this process made may still
    /// be uncommitted: were its transaction to roll back, values sealed
    /// under a remembered copy could never be opened.
    pub fn remember(&self, org: OrgId, keys: Arc<OrgKeys>) {
        let mut cache = self.cache.lock().expect("key cache");
        if let Some(made) = cache.new_keys.get(&org) {
            if made.elapsed() < NEW_KEY_GRACE {
                return;
            }
            cache.new_keys.remove(&org);
        }
        cache.keys.insert(org, (Instant::now(), keys));
    }

    /// Forgets an organisation's keys after this process changed them.
    pub fn forget(&self, org: OrgId) {
        self.cache.lock().expect("key cache").keys.remove(&org);
    }

    /// Forgets an organisation's keys and holds off caching them for a
    /// while: this process just made it a key in a transaction that has
    /// not committed yet.
    pub fn made_key(&self, org: OrgId) {
        let mut cache = self.cache.lock().expect("key cache");
        cache.keys.remove(&org);
        cache.new_keys.insert(org, Instant::now());
    }
}
