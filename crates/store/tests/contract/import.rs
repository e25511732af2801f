//! Importing many one-on-one appointments at once: all of them or none.

use circles_domain::ids::PersonId;
use circles_domain::interval::Interval;
use circles_store::StoreError;
use circles_store::model::{AuditCtx, ImportedAppointment};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Harness, at, conflict_code, details, one_on_one, slot};

backend_tests!(
    an_import_books_every_appointment_in_one_go,
    an_import_with_one_clash_writes_nothing,
    an_import_names_people_in_the_wrong_role,
);

fn appointment(therapist: PersonId, client: PersonId, interval: Interval) -> ImportedAppointment {
    ImportedAppointment {
        therapist_id: therapist,
        client_id: client,
        interval,
        details: details("Imported"),
        timezone: "America/New_York".into(),
    }
}

async fn an_import_books_every_appointment_in_one_go(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 3).await;
    let ctx = AuditCtx::operator();
    // Three thousand hours back to back: one therapist, clients in turn.
    let start = at("2027-03-02T00:00:00Z");
    let wanted: Vec<ImportedAppointment> = (0..3_000)
        .map(|i| {
            let from = start + SignedDuration::from_hours(i);
            appointment(
                c.therapist,
                c.clients[i as usize % 3],
                Interval::new(from, from + SignedDuration::from_mins(50)).unwrap(),
            )
        })
        .collect();
    let before = h.store.statements_run();
    assert_eq!(h.store.import_appointments(&ctx, c.org, wanted).await.unwrap(), 3_000);
    assert!(h.store.statements_run() - before < 30, "a chunk of rows per statement");
    let schedule =
        h.store.schedule(c.org, c.therapist, start, start + SignedDuration::from_hours(3_000), false).await.unwrap();
    assert_eq!(schedule.len(), 3_000);
    // Booked like any session: the time is taken, and the import was audited.
    let clash = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T00:30:00Z", 30)))
        .await;
    assert_eq!(conflict_code(&clash), Some("scheduling_conflict"));
    h.store.seal_audit().await.unwrap();
    assert!(h.audit_count(c.org).await >= 3_000);
    assert_eq!(h.overlapping_busy_pairs().await, 0);
}

async fn an_import_with_one_clash_writes_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 2).await;
    let ctx = AuditCtx::operator();
    h.store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    let fine = appointment(c.therapist, c.clients[1], slot("2027-03-02T13:00:00Z", 50));
    // With the session already booked, and with another appointment of the import.
    let cases = [
        vec![fine.clone(), appointment(c.therapist, c.clients[1], slot("2027-03-02T15:30:00Z", 50))],
        vec![fine.clone(), appointment(c.therapist, c.clients[0], slot("2027-03-02T13:30:00Z", 50))],
    ];
    for wanted in cases {
        let refused = h.store.import_appointments(&ctx, c.org, wanted).await;
        assert_eq!(conflict_code(&refused), Some("scheduling_conflict"));
        let day = h
            .store
            .schedule(c.org, c.therapist, at("2027-03-02T00:00:00Z"), at("2027-03-03T00:00:00Z"), false)
            .await
            .unwrap();
        assert_eq!(day.len(), 1, "nothing of the import was written");
    }
    assert_eq!(h.store.import_appointments(&ctx, c.org, vec![fine]).await.unwrap(), 1);
}

async fn an_import_names_people_in_the_wrong_role(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("r", 1).await;
    let ctx = AuditCtx::operator();
    let swapped = appointment(c.clients[0], c.therapist, slot("2027-03-02T13:00:00Z", 50));
    match h.store.import_appointments(&ctx, c.org, vec![swapped]).await {
        Err(StoreError::Invalid(invalid)) => {
            assert!(["therapist_id", "client_id"].contains(&invalid.0[0].field.as_str()))
        }
        other => panic!("expected the role to be refused, got {other:?}"),
    }
}
