use circles_domain::Role;
use circles_testkit::{Backend, backend_tests};

use crate::support::Harness;

backend_tests!(
    every_chain_verifies_after_normal_use,
    an_edited_row_breaks_the_chain_at_that_event,
    a_removed_row_breaks_the_chain,
    concurrent_writes_keep_one_unbroken_chain,
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
    h.db.execute_raw(&format!("DELETE FROM audit_events WHERE org_id = '{}' AND seq = 3", org.id)).await;
    let error = h.store.verify_audit(Some(org.id)).await.unwrap()[0].error.clone().expect("the removal is detected");
    assert!(error.contains("#3") && error.contains("missing"), "{error}");

    h.db.execute_raw(&format!("DELETE FROM audit_events WHERE org_id = '{}' AND seq >= 3", org.id)).await;
    let error = h.store.verify_audit(Some(org.id)).await.unwrap()[0].error.clone().expect("a cut tail is detected");
    assert!(error.contains("removed"), "{error}");
}

async fn concurrent_writes_keep_one_unbroken_chain(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    let writes = (0..24).map(|i| {
        let store = h.store.clone();
        let org = org.id;
        tokio::spawn(async move {
            store
                .add_person(
                    &circles_store::model::AuditCtx::operator(),
                    org,
                    circles_store::model::NewPerson {
                        email: circles_domain::input::Email::parse(&format!("c{i}@example.org")).unwrap(),
                        name: crate::support::name("Client"),
                        role: Role::Client,
                        password_hash: None,
                    },
                )
                .await
                .unwrap()
        })
    });
    for w in futures::future::join_all(writes).await {
        w.unwrap();
    }
    let report = &h.store.verify_audit(Some(org.id)).await.unwrap()[0];
    assert_eq!(report.error, None);
    assert_eq!(report.events, 2 + 24 * 2);
}
