//! Joining an organisation by invitation, and whom a therapist serves: the
//! same on both backends.

use circles_domain::Role;
use circles_domain::authz::PeopleScope;
use circles_domain::input::Email;
use circles_domain::org_invitation::{OrgInvitationStatus, PersonStatus};
use circles_store::StoreError;
use circles_store::model::{AuditCtx, Keyset, NewHold, NewPerson, Person};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Harness, at, conflict_code, details, name, one_on_one, slot};

backend_tests!(
    an_existing_account_is_invited_and_joins_only_when_it_accepts,
    a_declined_invitation_stays_visible_to_the_organisation_as_declined,
    a_therapist_serves_the_clients_of_their_sessions_holds_and_groups,
);

/// The organisation's admin adding someone, as the API does.
async fn invite(h: &Harness, admin: &Person, email: &str, role: Role) -> circles_store::Result<Person> {
    let ctx = AuditCtx { account_id: Some(admin.account_id), ..AuditCtx::default() }.acting_as(admin.id);
    let input = NewPerson { email: Email::parse(email).unwrap(), name: name("Typed Name"), role, password_hash: None };
    h.store.add_or_invite_person(&ctx, admin.org_id, input).await
}

async fn an_existing_account_is_invited_and_joins_only_when_it_accepts(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, admin) = h.org("riverside").await;
    let bea = h.account("bea@example.org").await;

    let invited = invite(&h, &admin, "bea@example.org", Role::Therapist).await.unwrap();
    assert_eq!((invited.status, invited.name.as_str()), (PersonStatus::Pending, "Typed Name"));
    assert!(h.store.memberships(bea).await.unwrap().is_empty(), "not linked");
    let everyone =
        h.store.list_people(&AuditCtx::operator(), org.id, None, PeopleScope::Everyone, admin.id).await.unwrap();
    assert!(everyone.iter().any(|p| p.id == invited.id && p.status == PersonStatus::Pending));
    let members =
        h.store.list_people(&AuditCtx::operator(), org.id, None, PeopleScope::Members, admin.id).await.unwrap();
    assert!(members.iter().all(|p| p.id != invited.id), "only members for a client's view");
    assert!(matches!(
        invite(&h, &admin, "bea@example.org", Role::Client).await,
        Err(StoreError::Conflict(c)) if c.code == "person_exists"
    ));

    let waiting = h.store.org_invitations(bea, Keyset::first(100)).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].org.id, waiting[0].role, waiting[0].invited_by.as_str()),
        (org.id, Role::Therapist, "Someone")
    );

    let other = h.account("eve@example.org").await;
    let stranger = h.store.answer_org_invitation(&AuditCtx::operator(), other, invited.id, true).await;
    assert!(matches!(stranger, Err(StoreError::NotFound(_))), "only the invited account answers");

    let (answered, membership) =
        h.store.answer_org_invitation(&AuditCtx::operator(), bea, invited.id, true).await.unwrap();
    assert_eq!(answered.status, OrgInvitationStatus::Accepted);
    let membership = membership.unwrap();
    assert_eq!((membership.person_id, membership.role), (invited.id, Role::Therapist));
    assert_eq!(h.store.membership(bea, org.id).await.unwrap(), Some(membership));
    let again = h.store.answer_org_invitation(&AuditCtx::operator(), bea, invited.id, false).await;
    assert_eq!(conflict_code(&again), Some("invitation_answered"));
    assert!(h.store.org_invitations(bea, Keyset::first(100)).await.unwrap().is_empty());
}

async fn a_declined_invitation_stays_visible_to_the_organisation_as_declined(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, admin) = h.org("riverside").await;
    let bea = h.account("bea@example.org").await;
    let invited = invite(&h, &admin, "bea@example.org", Role::Client).await.unwrap();
    let (answered, membership) =
        h.store.answer_org_invitation(&AuditCtx::operator(), bea, invited.id, false).await.unwrap();
    assert_eq!((answered.status, membership), (OrgInvitationStatus::Declined, None));
    assert!(h.store.membership(bea, org.id).await.unwrap().is_none());
    let seen = h.store.invited_person(org.id, invited.id).await.unwrap().unwrap();
    assert_eq!(seen.status, PersonStatus::Declined);
    // Declined, the address may be invited again.
    invite(&h, &admin, "bea@example.org", Role::Client).await.unwrap();
}

async fn a_therapist_serves_the_clients_of_their_sessions_holds_and_groups(backend: Backend) {
    let h = Harness::new(backend).await;
    let clinic = h.clinic("riverside", 4).await;
    let [booked, held, grouped, stranger] = clinic.clients[..] else { unreachable!() };
    let serves = async |client| h.store.serves(clinic.org, clinic.therapist, client).await.unwrap();
    for client in &clinic.clients {
        assert!(!serves(*client).await, "nobody before anything is booked");
    }

    let ctx = AuditCtx::operator();
    h.store
        .create_session(&ctx, clinic.org, one_on_one(clinic.therapist, booked, slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    let hold = NewHold {
        therapist_id: clinic.therapist,
        client_id: held,
        slots: vec![slot("2027-03-03T15:00:00Z", 50)],
        expires_at: at("2027-03-01T12:00:00Z") + SignedDuration::from_mins(5),
        details: details("Intake"),
        timezone: "America/New_York".into(),
    };
    h.store.create_hold(&ctx, clinic.org, hold).await.unwrap();
    let group = h.group(clinic.org, vec![clinic.therapist]).await;
    h.store.add_member(&ctx, clinic.org, group, grouped, "2027-03-01".parse().unwrap(), None).await.unwrap();

    assert!(serves(booked).await && serves(held).await && serves(grouped).await);
    assert!(!serves(stranger).await);
    let seen = h
        .store
        .list_people(&ctx, clinic.org, Some(Role::Client), PeopleScope::StaffAndServedClients, clinic.therapist)
        .await
        .unwrap();
    let mut seen: Vec<_> = seen.iter().map(|p| p.id).collect();
    let mut expected = vec![booked, held, grouped];
    seen.sort_by_key(|id| id.0);
    expected.sort_by_key(|id| id.0);
    assert_eq!(seen, expected);
}
