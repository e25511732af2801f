//! Recently resolved tokens and memberships, so a request does not pay two
//! database reads just to learn who is calling.
//!
//! Entries live a few seconds (`auth_cache_seconds`). Logging out or revoking
//! a token on this server takes effect at once; on other servers sharing the
//! database it takes effect within that lifetime. Set it to 0 to disable.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use circles_domain::ids::{AccountId, OrgId};
use circles_store::model::{Membership, Principal};
use jiff::Timestamp;

/// Past this many entries a map is simply emptied; the next requests refill it.
const MAX_ENTRIES: usize = 50_000;

pub struct AuthCache {
    lifetime: Duration,
    tokens: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    memberships: Mutex<HashMap<(AccountId, OrgId), (Membership, Instant)>>,
}

impl AuthCache {
    pub fn new(lifetime: Duration) -> Self {
        Self { lifetime, tokens: Mutex::default(), memberships: Mutex::default() }
    }

    fn fresh(&self, stored_at: Instant) -> bool {
        stored_at.elapsed() < self.lifetime
    }

    /// The principal behind `hash`, unless its entry is stale or the token
    /// has expired by `now`.
    pub fn principal(&self, hash: &[u8; 32], now: Timestamp) -> Option<Principal> {
        let tokens = self.tokens.lock().expect("cache lock");
        let (principal, stored_at) = tokens.get(hash)?;
        let unexpired = principal.expires_at.is_none_or(|expiry| expiry > now);
        (self.fresh(*stored_at) && unexpired).then(|| principal.clone())
    }

    pub fn remember_principal(&self, hash: [u8; 32], principal: &Principal) {
        if self.lifetime.is_zero() {
            return;
        }
        let mut tokens = self.tokens.lock().expect("cache lock");
        if tokens.len() >= MAX_ENTRIES {
            tokens.clear();
        }
        tokens.insert(hash, (principal.clone(), Instant::now()));
    }

    /// Forgets every token of `account` (after a logout or revocation).
    pub fn forget_account_tokens(&self, account: AccountId) {
        self.tokens.lock().expect("cache lock").retain(|_, (p, _)| p.account_id != account);
    }

    /// Forgets one membership (after its role changed), so the next request reads it again.
    pub fn forget_membership(&self, account: AccountId, org: OrgId) {
        self.memberships.lock().expect("cache lock").remove(&(account, org));
    }

    pub fn membership(&self, account: AccountId, org: OrgId) -> Option<Membership> {
        let memberships = self.memberships.lock().expect("cache lock");
        let (membership, stored_at) = memberships.get(&(account, org))?;
        self.fresh(*stored_at).then(|| membership.clone())
    }

    pub fn remember_membership(&self, account: AccountId, membership: &Membership) {
        if self.lifetime.is_zero() {
            return;
        }
        let mut memberships = self.memberships.lock().expect("cache lock");
        if memberships.len() >= MAX_ENTRIES {
            memberships.clear();
        }
        memberships.insert((account, membership.org.id), (membership.clone(), Instant::now()));
    }
}
