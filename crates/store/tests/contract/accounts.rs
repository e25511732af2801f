use circles_domain::Role;
use circles_domain::ids::OrgId;
use circles_domain::input::Email;
use circles_store::StoreError;
use circles_store::model::{AuditCtx, NewAccount};
use circles_testkit::{Backend, backend_tests};

use crate::support::{Harness, name};

backend_tests!(
    an_account_can_be_found_by_its_email,
    an_email_belongs_to_one_account_only,
    the_creator_of_an_organisation_is_its_admin,
    setting_a_password_ends_existing_sessions,
    setting_a_password_can_revoke_api_tokens_and_counts_what_it_ended,
    a_page_frame_names_the_viewer_counts_unread_up_to_a_cap_and_gives_the_chosen_zone,
);

async fn an_account_can_be_found_by_its_email(backend: Backend) {
    let h = Harness::new(backend).await;
    let id = h.account("Ada@Example.org").await;
    let found = h.store.credentials(&Email::parse("ada@example.org").unwrap()).await.unwrap().unwrap();
    assert_eq!(found.account_id, id);
    assert_eq!(found.password_hash.as_deref(), Some("hash"));
    assert!(h.store.credentials(&Email::parse("nobody@example.org").unwrap()).await.unwrap().is_none());
}

async fn an_email_belongs_to_one_account_only(backend: Backend) {
    let h = Harness::new(backend).await;
    h.account("ada@example.org").await;
    let before = h.audit_count(OrgId::PLATFORM).await;
    let again = h
        .store
        .create_account(
            &AuditCtx::operator(),
            NewAccount { email: Email::parse("ADA@example.org").unwrap(), name: name("Ada"), password_hash: None },
        )
        .await;
    match again {
        Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.0[0].field, "email"),
        other => panic!("expected an invalid e-mail, got {other:?}"),
    }
    assert_eq!(h.audit_count(OrgId::PLATFORM).await, before, "a refused change writes no audit event");
}

async fn the_creator_of_an_organisation_is_its_admin(backend: Backend) {
    let h = Harness::new(backend).await;
    let (org, admin) = h.org("riverside").await;
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(org.timezone, "America/New_York");
    let memberships = h.store.memberships(admin.account_id).await.unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].org.id, org.id);
    assert_eq!(memberships[0].role, Role::Admin);
    assert_eq!(memberships[0].person_id, admin.id);
}

async fn setting_a_password_ends_existing_sessions(backend: Backend) {
    use circles_store::model::{NewToken, TokenKind};
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    let token = NewToken {
        account_id: account,
        kind: TokenKind::Session,
        name: "login".into(),
        token_hash: [7; 32],
        expires_at: None,
    };
    h.store.create_token(&AuditCtx::operator(), token).await.unwrap();
    let api = NewToken {
        account_id: account,
        kind: TokenKind::Api,
        name: "script".into(),
        token_hash: [8; 32],
        expires_at: None,
    };
    h.store.create_token(&AuditCtx::operator(), api).await.unwrap();
    let now = circles_domain::Clock::now(h.clock.as_ref());
    assert!(h.store.authenticate([7; 32], now).await.unwrap().is_some());

    let email = Email::parse("ada@example.org").unwrap();
    let reset = h.store.set_password(&AuditCtx::operator(), &email, "new".into(), false).await.unwrap();

    assert!(h.store.authenticate([7; 32], now).await.unwrap().is_none(), "the login session ended");
    assert!(h.store.authenticate([8; 32], now).await.unwrap().is_some(), "API tokens are kept");
    assert_eq!((reset.sessions_ended, reset.api_tokens_revoked), (1, 0));
}

async fn setting_a_password_can_revoke_api_tokens_and_counts_what_it_ended(backend: Backend) {
    use circles_store::model::{NewToken, TokenKind};
    let h = Harness::new(backend).await;
    let account = h.account("ada@example.org").await;
    let other = h.account("bea@example.org").await;
    let tokens = [
        (account, TokenKind::Session, 1),
        (account, TokenKind::Api, 2),
        (account, TokenKind::Api, 3),
        (other, TokenKind::Api, 4),
    ];
    for (account_id, kind, byte) in tokens {
        let token = NewToken { account_id, kind, name: "t".into(), token_hash: [byte; 32], expires_at: None };
        h.store.create_token(&AuditCtx::operator(), token).await.unwrap();
    }
    let email = Email::parse("ada@example.org").unwrap();
    let reset = h.store.set_password(&AuditCtx::operator(), &email, "new".into(), true).await.unwrap();
    assert_eq!((reset.sessions_ended, reset.api_tokens_revoked), (1, 2));
    let now = circles_domain::Clock::now(h.clock.as_ref());
    for byte in [1, 2, 3] {
        assert!(h.store.authenticate([byte; 32], now).await.unwrap().is_none(), "token {byte} was revoked");
    }
    assert!(h.store.authenticate([4; 32], now).await.unwrap().is_some(), "another account's token is untouched");
    let again = h.store.set_password(&AuditCtx::operator(), &email, "newer".into(), true).await.unwrap();
    assert_eq!((again.sessions_ended, again.api_tokens_revoked), (0, 0), "nothing left to end");
}

async fn a_page_frame_names_the_viewer_counts_unread_up_to_a_cap_and_gives_the_chosen_zone(backend: Backend) {
    use crate::support::{one_on_one, slot};
    let h = Harness::new(backend).await;
    let c = h.clinic("f", 1).await;
    let ctx = AuditCtx::operator();
    let client = h.store.person(&ctx, c.org, c.clients[0]).await.unwrap();
    for day in ["2027-03-02", "2027-03-03", "2027-03-04"] {
        let when = slot(&format!("{day}T15:00:00Z"), 50);
        h.store.create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], when)).await.unwrap();
    }
    let unread = h.store.notifications(c.org, c.clients[0], true, 100).await.unwrap().len() as u64;
    assert!(unread >= 3, "each booking tells the client");

    let frame = h.store.page_frame(client.account_id, c.org, c.clients[0], 100).await.unwrap();
    assert_eq!(frame.name, client.name);
    assert_eq!(frame.unread, unread);
    assert_eq!(frame.timezone, None, "no zone chosen yet");
    let orgs: Vec<_> = frame.memberships.iter().map(|m| (m.org.id, m.person_id)).collect();
    assert_eq!(orgs, [(c.org, c.clients[0])]);
    assert_eq!(frame, h.store.page_frame(client.account_id, c.org, c.clients[0], 100).await.unwrap());

    let capped = h.store.page_frame(client.account_id, c.org, c.clients[0], 2).await.unwrap();
    assert_eq!(capped.unread, 2, "counting stops at the cap");

    let mut prefs = h.store.preferences(client.account_id).await.unwrap();
    prefs.timezone = Some("Europe/Lisbon".into());
    h.store.set_preferences(&ctx, client.account_id, prefs).await.unwrap();
    h.store.mark_all_notifications_read(c.org, c.clients[0]).await.unwrap();
    let after = h.store.page_frame(client.account_id, c.org, c.clients[0], 100).await.unwrap();
    assert_eq!(after.unread, 0);
    assert_eq!(after.timezone.as_deref(), Some("Europe/Lisbon"));

    let therapist = h.store.person(&ctx, c.org, c.therapist).await.unwrap();
    let theirs = h.store.page_frame(therapist.account_id, c.org, c.therapist, 100).await.unwrap();
    assert_eq!(theirs.timezone, None, "a zone is one account's choice");
}
