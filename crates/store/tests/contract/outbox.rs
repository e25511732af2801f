//! The delivery outbox: what a change owes, how workers claim it, retries,
//! choices and coalescing.

use std::collections::HashSet;

use circles_domain::Clock;
use circles_domain::delivery::{Channel, DeliveryState, MessageKind};
use circles_domain::session::{NotificationKind, SessionStatus};
use circles_store::model::{AuditCtx, Canceller, ChannelChoice, DeliveryFilter, DeliveryOutcome, OutboundMessage};
use circles_store::{Store, StoreError};
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;

use crate::support::{Harness, one_on_one, slot};

backend_tests!(
    a_booking_owes_each_participant_an_email_committed_with_it,
    a_claimed_delivery_is_claimed_again_only_after_its_lease_with_the_same_id,
    failed_attempts_wait_then_fail_and_an_admin_retries_one,
    a_person_who_turned_email_off_gets_a_suppressed_delivery,
    a_person_who_asked_for_texts_gets_one_with_their_number,
    changes_within_the_window_go_out_as_the_latest_one,
    booking_moving_and_cancelling_within_the_window_sends_nothing,
    concurrent_workers_never_claim_the_same_delivery
);

const LEASE: SignedDuration = SignedDuration::from_secs(120);
const WINDOW: SignedDuration = SignedDuration::from_secs(60);

async fn claim(h: &Harness, window: SignedDuration) -> Vec<OutboundMessage> {
    h.store.claim_deliveries(100, LEASE, window).await.unwrap()
}

async fn finish(store: &dyn Store, messages: &[OutboundMessage], outcome: DeliveryOutcome) {
    let outcomes: Vec<_> = messages.iter().map(|m| (m.org_id, m.id, outcome.clone())).collect();
    store.finish_deliveries(&outcomes).await.unwrap();
}

async fn a_booking_owes_each_participant_an_email_committed_with_it(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 1).await;
    let session = h
        .store
        .create_session(
            &AuditCtx::operator(),
            c.org,
            one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:00:00Z", 50)),
        )
        .await
        .unwrap();
    // A refused booking owes nothing.
    let clash = one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:30:00Z", 50));
    assert!(h.store.create_session(&AuditCtx::operator(), c.org, clash).await.is_err());

    let mut messages = claim(&h, SignedDuration::ZERO).await;
    messages.sort_by_key(|m| m.recipient.email.clone());
    let to: Vec<_> = messages.iter().map(|m| m.recipient.email.as_str()).collect();
    assert_eq!(to, ["c0@o.example", "t@o.example"]);
    for m in &messages {
        assert_eq!((m.kind, m.channel, m.attempt), (NotificationKind::SessionBooked, Channel::Email, 1));
        assert_eq!(m.org_name, "Clinic o");
        let facts = m.session.as_ref().expect("the session the message is about");
        assert_eq!((facts.id, facts.status, facts.sequence), (session.id, SessionStatus::Scheduled, 0));
        assert_eq!(facts.timezone, "America/New_York");
        assert!(facts.recipient_on_session);
        assert_eq!(facts.therapists.len(), 1);
        assert_eq!(facts.therapists[0].email, "t@o.example");
    }
    assert!(claim(&h, SignedDuration::ZERO).await.is_empty(), "claimed messages are not handed out twice");
}

async fn a_claimed_delivery_is_claimed_again_only_after_its_lease_with_the_same_id(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 1).await;
    let slot = slot("2027-03-02T15:00:00Z", 50);
    h.store.create_session(&AuditCtx::operator(), c.org, one_on_one(c.therapist, c.clients[0], slot)).await.unwrap();
    let first = claim(&h, SignedDuration::ZERO).await;
    assert_eq!(first.len(), 2);
    // The worker dies mid-send: nothing is recorded.
    h.clock.advance(LEASE - SignedDuration::from_secs(1));
    assert!(claim(&h, SignedDuration::ZERO).await.is_empty());
    assert!(h.store.next_delivery_due(SignedDuration::ZERO).await.unwrap().unwrap() > h.clock.now());
    h.clock.advance(SignedDuration::from_secs(1));
    let again = claim(&h, SignedDuration::ZERO).await;
    let ids = |ms: &[OutboundMessage]| ms.iter().map(|m| m.id).collect::<HashSet<_>>();
    assert_eq!(ids(&again), ids(&first), "the same messages, with the same ids");
    assert!(again.iter().all(|m| m.attempt == 2));
    finish(h.store.as_ref(), &again, DeliveryOutcome::Sent).await;
    let all = h.store.deliveries(c.org, DeliveryFilter { state: None, limit: 10, after: None }).await.unwrap();
    assert!(all.iter().all(|d| d.state == DeliveryState::Sent && d.sent_at == Some(h.clock.now())));
    assert_eq!(h.store.next_delivery_due(SignedDuration::ZERO).await.unwrap(), None);
}

async fn failed_attempts_wait_then_fail_and_an_admin_retries_one(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 1).await;
    let slot = slot("2027-03-02T15:00:00Z", 50);
    h.store.create_session(&AuditCtx::operator(), c.org, one_on_one(c.therapist, c.clients[0], slot)).await.unwrap();
    let messages = claim(&h, SignedDuration::ZERO).await;
    let retry_at = h.clock.now() + SignedDuration::from_secs(30);
    let error = "421 try again later".to_owned();
    finish(h.store.as_ref(), &messages[..1], DeliveryOutcome::Retry { error: error.clone(), at: retry_at }).await;
    finish(h.store.as_ref(), &messages[1..], DeliveryOutcome::Failed { error: "550 no such user".into() }).await;

    assert_eq!(h.store.next_delivery_due(SignedDuration::ZERO).await.unwrap(), Some(retry_at));
    assert!(claim(&h, SignedDuration::ZERO).await.is_empty(), "not before its time");
    h.clock.set(retry_at);
    let retried = claim(&h, SignedDuration::ZERO).await;
    assert_eq!((retried.len(), retried[0].id, retried[0].attempt), (1, messages[0].id, 2));

    let failed = h
        .store
        .deliveries(c.org, DeliveryFilter { state: Some(DeliveryState::Failed), limit: 10, after: None })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].id, failed[0].attempts), (messages[1].id, 1));
    assert_eq!(failed[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(failed[0].recipient_name, "A Person");

    let again = h.store.retry_delivery(&AuditCtx::operator(), c.org, failed[0].id).await.unwrap();
    assert_eq!((again.state, again.attempts), (DeliveryState::Pending, 0));
    let refused = h.store.retry_delivery(&AuditCtx::operator(), c.org, failed[0].id).await;
    assert!(matches!(refused, Err(StoreError::Conflict(c)) if c.code == "delivery_not_failed"));
    let (other, _) = h.org("elsewhere").await;
    let hidden = h.store.retry_delivery(&AuditCtx::operator(), other.id, failed[0].id).await;
    assert!(matches!(hidden, Err(StoreError::NotFound(_))), "another organisation's delivery is not found");
    assert_eq!(claim(&h, SignedDuration::ZERO).await[0].id, messages[1].id);
}

async fn a_person_who_turned_email_off_gets_a_suppressed_delivery(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 1).await;
    let account = h.store.person(&AuditCtx::operator(), c.org, c.clients[0]).await.unwrap().account_id;
    let mut prefs = h.store.preferences(account).await.unwrap();
    let by = |channel| prefs.channels.iter().filter(move |c| c.channel == channel);
    assert!(by(Channel::Email).all(|c| c.enabled), "every e-mail is on by default");
    assert!(by(Channel::Sms).all(|c| !c.enabled), "texts are asked for");
    prefs.timezone = Some("Europe/Lisbon".into());
    prefs.channels =
        vec![ChannelChoice { kind: NotificationKind::SessionBooked, channel: Channel::Email, enabled: false }];
    let saved = h.store.set_preferences(&AuditCtx::operator(), account, prefs).await.unwrap();
    assert_eq!(saved.timezone.as_deref(), Some("Europe/Lisbon"));
    let off: Vec<_> = saved.channels.iter().filter(|c| !c.enabled && c.channel == Channel::Email).collect();
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].kind, NotificationKind::SessionBooked);

    let slot = slot("2027-03-02T15:00:00Z", 50);
    h.store.create_session(&AuditCtx::operator(), c.org, one_on_one(c.therapist, c.clients[0], slot)).await.unwrap();
    let messages = claim(&h, SignedDuration::ZERO).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].recipient.person_id, c.therapist);
    let suppressed = h
        .store
        .deliveries(c.org, DeliveryFilter { state: Some(DeliveryState::Suppressed), limit: 10, after: None })
        .await
        .unwrap();
    assert_eq!(suppressed.len(), 1, "no suppressed text for those who never asked for texts");
    assert_eq!(suppressed[0].recipient_id, c.clients[0]);
}

async fn a_person_who_asked_for_texts_gets_one_with_their_number(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("t", 1).await;
    let account = h.store.person(&AuditCtx::operator(), c.org, c.clients[0]).await.unwrap().account_id;
    let mut prefs = h.store.preferences(account).await.unwrap();
    prefs.phone = Some("+14155550123".into());
    prefs.channels =
        vec![ChannelChoice { kind: NotificationKind::SessionBooked, channel: Channel::Sms, enabled: true }];
    let saved = h.store.set_preferences(&AuditCtx::operator(), account, prefs).await.unwrap();
    assert_eq!(saved.phone.as_deref(), Some("+14155550123"));

    let slot = slot("2027-03-02T15:00:00Z", 50);
    h.store.create_session(&AuditCtx::operator(), c.org, one_on_one(c.therapist, c.clients[0], slot)).await.unwrap();
    let messages = claim(&h, SignedDuration::ZERO).await;
    let texts: Vec<_> = messages.iter().filter(|m| m.channel == Channel::Sms).collect();
    assert_eq!(messages.len(), 3, "two e-mails and one text");
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].recipient.person_id, c.clients[0]);
    assert_eq!(texts[0].recipient.phone.as_deref(), Some("+14155550123"));
}

async fn changes_within_the_window_go_out_as_the_latest_one(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 1).await;
    let ctx = AuditCtx::operator();
    let session = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    assert!(claim(&h, WINDOW).await.is_empty(), "a change waits out the window");
    let due = h.store.next_delivery_due(WINDOW).await.unwrap().unwrap();
    assert_eq!(due, h.clock.now() + WINDOW);
    h.clock.advance(SignedDuration::from_secs(20));
    h.store.reschedule_session(&ctx, c.org, session.id, slot("2027-03-02T17:00:00Z", 50)).await.unwrap();
    h.clock.advance(WINDOW);
    let messages = claim(&h, WINDOW).await;
    assert_eq!(messages.len(), 2, "one message per person: {messages:#?}");
    for m in &messages {
        assert_eq!(m.kind, NotificationKind::SessionRescheduled);
        let facts = m.session.as_ref().unwrap();
        assert_eq!(facts.sequence, 1, "the second version of the session");
        assert_eq!(facts.starts_at, "2027-03-02T17:00:00Z".parse().unwrap());
    }
    let folded = h
        .store
        .deliveries(c.org, DeliveryFilter { state: Some(DeliveryState::Suppressed), limit: 10, after: None })
        .await
        .unwrap();
    assert_eq!(folded.len(), 2);
    assert!(folded.iter().all(|d| d.kind == MessageKind::Notification(NotificationKind::SessionBooked)));
}

async fn booking_moving_and_cancelling_within_the_window_sends_nothing(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 1).await;
    let ctx = AuditCtx::operator();
    let session = h
        .store
        .create_session(&ctx, c.org, one_on_one(c.therapist, c.clients[0], slot("2027-03-02T15:00:00Z", 50)))
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_secs(10));
    h.store.reschedule_session(&ctx, c.org, session.id, slot("2027-03-02T17:00:00Z", 50)).await.unwrap();
    h.clock.advance(SignedDuration::from_secs(10));
    h.store.cancel_session(&ctx, c.org, session.id, "no longer needed".into(), Canceller::Provider).await.unwrap();
    h.clock.advance(WINDOW);
    assert!(claim(&h, WINDOW).await.is_empty());
    let all = h.store.deliveries(c.org, DeliveryFilter { state: None, limit: 20, after: None }).await.unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|d| d.state == DeliveryState::Suppressed), "{all:#?}");
    assert_eq!(h.store.next_delivery_due(WINDOW).await.unwrap(), None);
}

async fn concurrent_workers_never_claim_the_same_delivery(backend: Backend) {
    let h = Harness::new(backend).await;
    let c = h.clinic("o", 20).await;
    for (i, client) in c.clients.iter().enumerate() {
        let start = format!("2027-03-{:02}T15:00:00Z", i + 2);
        h.store
            .create_session(&AuditCtx::operator(), c.org, one_on_one(c.therapist, *client, slot(&start, 50)))
            .await
            .unwrap();
    }
    let workers = (0..4).map(|_| {
        let store = h.store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_deliveries(3, LEASE, SignedDuration::ZERO).await.unwrap();
                if batch.is_empty() {
                    break mine;
                }
                finish(store.as_ref(), &batch, DeliveryOutcome::Sent).await;
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        })
    });
    let claimed: Vec<_> = futures::future::join_all(workers).await.into_iter().flat_map(Result::unwrap).collect();
    let distinct: HashSet<_> = claimed.iter().collect();
    assert_eq!((claimed.len(), distinct.len()), (40, 40), "every message claimed exactly once");
}
