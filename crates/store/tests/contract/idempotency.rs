use circles_store::model::{IdempotencyStart, StoredResponse};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::Harness;

backend_tests!(
    a_finished_key_replays_its_response,
    a_key_reused_for_another_request_is_refused,
    a_key_in_flight_is_refused_until_its_lease_ends,
    a_released_key_can_be_used_again,
    keys_are_kept_for_a_day,
    concurrent_first_uses_of_a_key_admit_one,
);

fn response() -> StoredResponse {
    StoredResponse { status: 201, content_type: "application/json".into(), body: br#"{"id":1}"#.to_vec() }
}

async fn a_finished_key_replays_its_response(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    assert_eq!(h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap(), IdempotencyStart::Proceed);
    h.store.idempotency_finish(account, "k1", response()).await.unwrap();
    assert_eq!(h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap(), IdempotencyStart::Replay(response()));
    // Keys belong to their account.
    let other = h.account("eve@example.org").await;
    assert_eq!(h.store.idempotency_begin(other, "k1", [1; 32]).await.unwrap(), IdempotencyStart::Proceed);
}

async fn a_key_reused_for_another_request_is_refused(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap();
    h.store.idempotency_finish(account, "k1", response()).await.unwrap();
    assert_eq!(h.store.idempotency_begin(account, "k1", [2; 32]).await.unwrap(), IdempotencyStart::Mismatch);
}

async fn a_key_in_flight_is_refused_until_its_lease_ends(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap();
    assert_eq!(h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap(), IdempotencyStart::InFlight);
    h.clock.advance(SignedDuration::from_secs(61));
    assert_eq!(
        h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap(),
        IdempotencyStart::Proceed,
        "a stalled request's key is taken over"
    );
}

async fn a_released_key_can_be_used_again(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap();
    h.store.idempotency_release(account, "k1").await.unwrap();
    assert_eq!(h.store.idempotency_begin(account, "k1", [2; 32]).await.unwrap(), IdempotencyStart::Proceed);
}

async fn keys_are_kept_for_a_day(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap();
    h.store.idempotency_finish(account, "k1", response()).await.unwrap();
    h.clock.advance(SignedDuration::from_hours(23));
    assert!(matches!(h.store.idempotency_begin(account, "k1", [1; 32]).await.unwrap(), IdempotencyStart::Replay(_)));
    h.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(
        h.store.idempotency_begin(account, "k1", [2; 32]).await.unwrap(),
        IdempotencyStart::Proceed,
        "expired keys start afresh"
    );
    let purged = h
        .store
        .purge_idempotency_keys(circles_domain::Clock::now(h.clock.as_ref()) - SignedDuration::from_hours(24))
        .await
        .unwrap();
    assert_eq!(purged, 0, "the renewed key is young");
}

async fn concurrent_first_uses_of_a_key_admit_one(backend: Backend) {
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    let attempts = (0..20).map(|_| {
        let store = h.store.clone();
        tokio::spawn(async move { store.idempotency_begin(account, "race", [1; 32]).await.unwrap() })
    });
    let outcomes = futures::future::join_all(attempts).await;
    let proceeding = outcomes.iter().filter(|o| matches!(o.as_ref().unwrap(), IdempotencyStart::Proceed)).count();
    let in_flight = outcomes.iter().filter(|o| matches!(o.as_ref().unwrap(), IdempotencyStart::InFlight)).count();
    assert_eq!((proceeding, in_flight), (1, 19));
}
