use circles_domain::Role;
use circles_domain::authz::PeopleScope;
use circles_domain::ids::PersonId;
use circles_domain::input::Email;
use circles_store::StoreError;
use circles_store::model::{AuditCtx, NewPerson};
use circles_testkit::{Backend, backend_tests};

use crate::support::{Harness, name};

backend_tests!(
    adding_a_person_creates_their_account,
    an_existing_account_joins_another_organisation,
    a_person_is_added_once_per_organisation,
    an_existing_account_keeps_its_password,
    people_are_listed_by_role,
    another_organisations_people_are_not_found,
    reading_a_client_is_audited,
    a_role_changes_in_one_organisation_only,
);

async fn a_role_changes_in_one_organisation_only(backend: Backend) {
    let h = Harness::new(backend).await;
    let (a, admin) = h.org("a").await;
    let (b, _) = h.org("b").await;
    let in_a = h.person(a.id, "bea@example.org", Role::Client).await;
    let in_b = h.person(b.id, "bea@example.org", Role::Client).await;
    let ctx = AuditCtx { person_id: Some(admin.id), account_id: Some(admin.account_id), ..AuditCtx::default() };

    let changed = h.store.change_role(&ctx, a.id, in_a.id, Role::Therapist).await.unwrap();
    assert_eq!(changed.role, Role::Therapist);
    assert_eq!(h.store.person_role(a.id, in_a.id).await.unwrap(), Some(Role::Therapist));
    assert_eq!(h.store.person_role(b.id, in_b.id).await.unwrap(), Some(Role::Client), "b is untouched");
    let events = h.store.audit_events(a.id, Some(in_a.id), 10).await.unwrap();
    let change = events.iter().find(|e| e.action == "person.role").expect("audited with the client as subject");
    assert_eq!(change.actor_person_id, Some(admin.id));

    // Another organisation's person is not found through this one, and nothing is written.
    let before = h.audit_count(a.id).await;
    let elsewhere = h.store.change_role(&ctx, a.id, in_b.id, Role::Admin).await;
    assert!(matches!(elsewhere, Err(StoreError::NotFound(_))), "{elsewhere:?}");
    assert_eq!(h.audit_count(a.id).await, before);
    assert_eq!(h.store.person_role(b.id, in_b.id).await.unwrap(), Some(Role::Client));
}

fn new_person(email: &str, role: Role) -> NewPerson {
    NewPerson { email: Email::parse(email).unwrap(), name: name("Bea"), role, password_hash: None }
}

async fn adding_a_person_creates_their_account(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    let bea = h.person(org.id, "bea@example.org", Role::Therapist).await;
    assert_eq!(bea.role, Role::Therapist);
    assert_eq!(bea.email, "bea@example.org");
    let creds = h.store.credentials(&Email::parse("bea@example.org").unwrap()).await.unwrap().unwrap();
    assert_eq!(creds.account_id, bea.account_id);
    assert_eq!(creds.password_hash, None, "no password until one is set");
}

async fn an_existing_account_joins_another_organisation(backend: Backend) {
    let h = Harness::new(backend).await;
    let (a, _) = h.org("a").await;
    let (b, _) = h.org("b").await;
    let in_a = h.person(a.id, "bea@example.org", Role::Therapist).await;
    let in_b = h.person(b.id, "bea@example.org", Role::Client).await;
    assert_eq!(in_a.account_id, in_b.account_id);
    let memberships = h.store.memberships(in_a.account_id).await.unwrap();
    let roles: Vec<_> = memberships.iter().map(|m| (m.org.id, m.role)).collect();
    assert!(roles.contains(&(a.id, Role::Therapist)));
    assert!(roles.contains(&(b.id, Role::Client)));
}

async fn a_person_is_added_once_per_organisation(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    h.person(org.id, "bea@example.org", Role::Client).await;
    let events_before = h.audit_count(org.id).await;
    let again = h.store.add_person(&AuditCtx::operator(), org.id, new_person("bea@example.org", Role::Therapist)).await;
    assert!(matches!(again, Err(StoreError::Conflict(c)) if c.code == "person_exists"));
    assert_eq!(h.audit_count(org.id).await, events_before);
}

async fn an_existing_account_keeps_its_password(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    h.account("bea@example.org").await;
    let mut input = new_person("bea@example.org", Role::Client);
    input.password_hash = Some("another".into());
    match h.store.add_person(&AuditCtx::operator(), org.id, input).await {
        Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.0[0].field, "password"),
        other => panic!("expected the password to be refused, got {other:?}"),
    }
    let people = h
        .store
        .list_people(&AuditCtx::operator(), org.id, Some(Role::Client), PeopleScope::Everyone, PersonId::new())
        .await
        .unwrap();
    assert!(people.is_empty(), "nothing was written");
}

async fn people_are_listed_by_role(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, _) = h.org("riverside").await;
    h.person(org.id, "t1@example.org", Role::Therapist).await;
    h.person(org.id, "t2@example.org", Role::Therapist).await;
    h.person(org.id, "c1@example.org", Role::Client).await;
    let ctx = AuditCtx::operator();
    assert_eq!(
        h.store
            .list_people(&ctx, org.id, Some(Role::Therapist), PeopleScope::Everyone, PersonId::new())
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        h.store
            .list_people(&ctx, org.id, Some(Role::Client), PeopleScope::Everyone, PersonId::new())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        h.store.list_people(&ctx, org.id, None, PeopleScope::Everyone, PersonId::new()).await.unwrap().len(),
        4,
        "with the admin"
    );
}

async fn another_organisations_people_are_not_found(backend: Backend) {
    let h = Harness::new(backend).await;
    let (a, _) = h.org("a").await;
    let (b, _) = h.org("b").await;
    let in_b = h.person(b.id, "bea@example.org", Role::Client).await;
    let ctx = AuditCtx::operator();
    assert!(matches!(h.store.person(&ctx, a.id, in_b.id).await, Err(StoreError::NotFound("person"))));
    assert!(
        h.store
            .list_people(&ctx, a.id, Some(Role::Client), PeopleScope::Everyone, PersonId::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(h.store.membership(in_b.account_id, a.id).await.unwrap().is_none());
}

async fn reading_a_client_is_audited(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, admin) = h.org("riverside").await;
    let client = h.person(org.id, "c@example.org", Role::Client).await;
    let therapist = h.person(org.id, "t@example.org", Role::Therapist).await;
    let ctx = AuditCtx {
        account_id: Some(admin.account_id),
        person_id: Some(admin.id),
        request_id: Some("req-1".into()),
        ip: Some("10.0.0.9".into()),
    };

    h.store.person(&ctx, org.id, therapist.id).await.unwrap();
    h.store.person(&ctx, org.id, client.id).await.unwrap();

    let about_client = h.store.audit_events(org.id, Some(client.id), 10).await.unwrap();
    let reads: Vec<_> = about_client.iter().filter(|e| e.action == "person.read").collect();
    assert_eq!(reads.len(), 1, "one read of the client, none of the therapist");
    assert_eq!(reads[0].actor_person_id, Some(admin.id));
    assert_eq!(reads[0].request_id.as_deref(), Some("req-1"));
    assert_eq!(reads[0].ip.as_deref(), Some("10.0.0.9"));
}
