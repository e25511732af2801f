use circles_domain::Clock;
use circles_store::StoreError;
use circles_store::model::{AuditCtx, Keyset, NewToken, TokenKind};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::Harness;

backend_tests!(
    a_token_authenticates_until_it_expires,
    a_revoked_token_no_longer_authenticates,
    only_the_owner_revokes_a_token
);

fn token(account: circles_domain::ids::AccountId, hash: u8, expires_at: Option<jiff::Timestamp>) -> NewToken {
    NewToken { account_id: account, kind: TokenKind::Api, name: "ci".into(), token_hash: [hash; 32], expires_at }
}

async fn a_token_authenticates_until_it_expires(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    let expires = h.clock.now() + SignedDuration::from_hours(1);
    let info = h.store.create_token(&AuditCtx::operator(), token(account, 1, Some(expires))).await.unwrap();

    let principal = h.store.authenticate([1; 32], h.clock.now()).await.unwrap().unwrap();
    assert_eq!(principal.account_id, account);
    assert_eq!(principal.token_id, info.id);
    assert!(h.store.authenticate([2; 32], h.clock.now()).await.unwrap().is_none(), "unknown hash");
    assert!(h.store.authenticate([1; 32], expires).await.unwrap().is_none(), "expired at its expiry instant");
}

async fn a_revoked_token_no_longer_authenticates(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    let info = h.store.create_token(&AuditCtx::operator(), token(account, 1, None)).await.unwrap();
    h.store.revoke_token(&AuditCtx::operator(), account, info.id).await.unwrap();
    assert!(h.store.authenticate([1; 32], h.clock.now()).await.unwrap().is_none());
    let listed = h.store.list_tokens(account, Keyset::first(100)).await.unwrap();
    assert!(listed[0].revoked_at.is_some());
}

async fn only_the_owner_revokes_a_token(backend: Backend) {
    let h = Harness::new(backend).await;
    let owner = h.account("ada@example.org").await;
    let other = h.account("eve@example.org").await;
    let info = h.store.create_token(&AuditCtx::operator(), token(owner, 1, None)).await.unwrap();
    let attempt = h.store.revoke_token(&AuditCtx::operator(), other, info.id).await;
    assert!(matches!(attempt, Err(StoreError::NotFound("token"))));
    assert!(h.store.authenticate([1; 32], h.clock.now()).await.unwrap().is_some());
}
