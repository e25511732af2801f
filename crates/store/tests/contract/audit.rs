use circles_domain::Role;
use circles_domain::input::Email;
use circles_store::model::{AuditCtx, NewPerson};
use circles_testkit::{Backend, backend_tests};

use crate::support::Harness;

backend_tests!(
    every_chain_verifies_after_normal_use,
    an_edited_row_breaks_the_chain_at_that_event,
    a_removed_row_breaks_the_chain,
    concurrent_writes_keep_one_unbroken_chain,
    events_wait_unsealed_until_the_sealer_links_them_in_order,
    sealers_racing_writers_still_make_one_unbroken_chain,
);

async fn every_chain_verifies_after_normal_use(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    h.person(org.id, "c@example.org", Role::Client).await;
    let reports = h.store.verify_audit(None).await.unwrap();
    assert_eq!(reports.len(), 2, "the platform chain and the organisation's");
    for report in &reports {
        assert_eq!(report.error, None, "{report:?}");
    }
    let org_report = reports.iter().find(|r| r.org_id == org.id).unwrap();
    assert_eq!(org_report.events, 4, "organisation, admin, client account, client");
}

async fn an_edited_row_breaks_the_chain_at_that_event(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    h.person(org.id, "c@example.org", Role::Client).await;
    h.store.seal_audit().await.unwrap();
    h.db.execute_raw(&format!(
        "UPDATE audit_events SET action = 'person.delete' WHERE org_id = '{}' AND seq = 2",
        org.id
    ))
    .await;
    let report = &h.store.verify_audit(Some(org.id)).await.unwrap()[0];
    let error = report.error.as_deref().expect("the edit is detected");
    assert!(error.contains("#2"), "names the edited event: {error}");
    assert!(error.contains("altered"), "{error}");
    assert_eq!(report.events, 1, "events before the edit verified");
}

async fn a_removed_row_breaks_the_chain(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    h.person(org.id, "c@example.org", Role::Client).await;
    h.store.seal_audit().await.unwrap();
    h.db.execute_raw(&format!("DELETE FROM audit_events WHERE org_id = '{}' AND seq = 3", org.id)).await;
    let error = h.store.verify_audit(Some(org.id)).await.unwrap()[0].error.clone().expect("the removal is detected");
    assert!(error.contains("#3") && error.contains("missing"), "{error}");

    h.db.execute_raw(&format!("DELETE FROM audit_events WHERE org_id = '{}' AND seq >= 3", org.id)).await;
    let error = h.store.verify_audit(Some(org.id)).await.unwrap()[0].error.clone().expect("a cut tail is detected");
    assert!(error.contains("removed"), "{error}");
}

fn new_client(i: usize) -> NewPerson {
    NewPerson {
        email: Email::parse(&format!("c{i}@example.org")).unwrap(),
        name: crate::support::name("Client"),
        role: Role::Client,
        password_hash: None,
    }
}

async fn concurrent_writes_keep_one_unbroken_chain(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    let writes = (0..24).map(|i| {
        let store = h.store.clone();
        let org = org.id;
        tokio::spawn(async move { store.add_person(&AuditCtx::operator(), org, new_client(i)).await.unwrap() })
    });
    for w in futures::future::join_all(writes).await {
        w.unwrap();
    }
    let report = &h.store.verify_audit(Some(org.id)).await.unwrap()[0];
    assert_eq!(report.error, None);
    assert_eq!(report.events, 2 + 24 * 2);
}

async fn events_wait_unsealed_until_the_sealer_links_them_in_order(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    let waiting = format!("SELECT COUNT(*) FROM audit_events WHERE org_id = '{}' AND seq IS NULL", org.id);
    let unsealed = || h.db.scalar(&waiting);
    assert_eq!(unsealed().await, 2, "the organisation and its admin, recorded with the change");
    h.person(org.id, "c@example.org", Role::Client).await;
    assert_eq!(h.store.seal_audit().await.unwrap(), 2 + 3, "both chains' waiting events, platform included");
    assert_eq!(unsealed().await, 0);
    assert_eq!(h.store.seal_audit().await.unwrap(), 0, "nothing is sealed twice");

    // Sequence numbers follow arrival, and the listing shows them.
    let listed = h.store.audit_events(org.id, None, 10).await.unwrap();
    let seqs: Vec<_> = listed.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [Some(4), Some(3), Some(2), Some(1)]);
    assert_eq!(listed[3].action, "organisation.create");
    assert_eq!(h.store.verify_audit(Some(org.id)).await.unwrap()[0].events, 4);
}

async fn sealers_racing_writers_still_make_one_unbroken_chain(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    let writes = (0..40).map(|i| {
        let store = h.store.clone();
        tokio::spawn(async move { store.add_person(&AuditCtx::operator(), org.id, new_client(i)).await.unwrap() })
    });
    let sealers = (0..6).map(|_| {
        let store = h.store.clone();
        tokio::spawn(async move {
            let mut sealed = 0;
            for _ in 0..10 {
                sealed += store.seal_audit().await.unwrap();
                tokio::task::yield_now().await;
            }
            sealed
        })
    });
    let (writes, sealers) =
        futures::future::join(futures::future::join_all(writes), futures::future::join_all(sealers)).await;
    assert!(writes.iter().all(Result::is_ok));
    let sealed_by_racers: u64 = sealers.into_iter().map(Result::unwrap).sum();
    let sealed_after = h.store.seal_audit().await.unwrap();
    let report = &h.store.verify_audit(Some(org.id)).await.unwrap()[0];
    assert_eq!(report.error, None);
    assert_eq!(report.events, 2 + 40 * 2, "every event linked exactly once");
    let recorded = h.db.scalar("SELECT COUNT(*) FROM audit_events").await;
    assert_eq!((sealed_by_racers + sealed_after) as i64, recorded, "each event sealed exactly once");
}
