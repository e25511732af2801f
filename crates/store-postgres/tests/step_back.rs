//! A booking that finds one of its people being booked by someone else at
//! that moment steps back rather than queueing inside PostgreSQL, then
//! either books (no clash) or answers the clash the other booking made.

use std::sync::Arc;
use std::time::Duration;

use circles_domain::Role;
use circles_domain::clock::SystemClock;
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::{Email, Label, OrgName, PersonName, TimeZoneName};
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_store::model::{Approval, AuditCtx, NewAccount, NewOrganisation, NewPerson, NewSession};
use circles_store::{Store, StoreError};
use circles_testkit::{Backend, TestDatabase};
use jiff::{SignedDuration, Timestamp};
use sqlx::{Connection, PgConnection};

struct Clinic {
    org: OrgId,
    therapist: PersonId,
    clients: [PersonId; 2],
}

async fn clinic(store: &Arc<dyn Store>) -> Clinic {
    let ctx = AuditCtx::operator();
    let account = |email: &str| NewAccount {
        email: Email::parse(email).unwrap(),
        name: PersonName::parse("Someone").unwrap(),
        password_hash: None,
    };
    let admin = store.create_account(&ctx, account("admin@r.example")).await.unwrap().id;
    let (org, _) = store
        .create_organisation(
            &AuditCtx { account_id: Some(admin), ..ctx.clone() },
            NewOrganisation {
                name: OrgName::parse("Riverside").unwrap(),
                timezone: TimeZoneName::parse("America/New_York").unwrap(),
                admin,
            },
        )
        .await
        .unwrap();
    let person = async |email: &str, role| {
        let new = NewPerson {
            email: Email::parse(email).unwrap(),
            name: PersonName::parse("P").unwrap(),
            role,
            password_hash: None,
        };
        store.add_person(&ctx, org.id, new).await.unwrap().id
    };
    Clinic {
        org: org.id,
        therapist: person("t@r.example", Role::Therapist).await,
        clients: [person("a@r.example", Role::Client).await, person("b@r.example", Role::Client).await],
    }
}

fn booking(therapist: PersonId, client: PersonId, start: Timestamp) -> NewSession {
    NewSession {
        kind: SessionKind::OneOnOne,
        details: SessionDetails {
            title: Label::parse("Check-in", 200).unwrap(),
            description: String::new(),
            modality: Modality::Virtual,
            virtual_link: Some("https://meet.example/x".into()),
            location: None,
            address: None,
        },
        interval: Interval::starting_at(start, SignedDuration::from_mins(50)).unwrap(),
        timezone: "America/New_York".into(),
        capacity: 1,
        group_id: None,
        therapist_ids: vec![therapist],
        client_ids: vec![client],
        therapists_must_accept: false,
        approval: Approval::NotNeeded,
    }
}

/// Another transaction holding the therapist's row, as a concurrent
/// booking of theirs does between its lock and its commit.
async fn hold_row(url: &str, person: PersonId) -> PgConnection {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("SELECT 1 FROM people WHERE id = $1 FOR UPDATE").bind(person.0).execute(&mut conn).await.unwrap();
    conn
}

/// How many connections wait on a row lock right now.
async fn lock_waiters(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_booking_steps_back_while_its_therapist_is_being_booked_then_books() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let store = db.store(Arc::new(SystemClock)).await;
    let c = clinic(&store).await;
    let holder = hold_row(&db.url, c.therapist).await;

    let start = Timestamp::now() + SignedDuration::from_hours(48);
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.create_session(&AuditCtx::operator(), c.org, booking(c.therapist, c.clients[0], start)).await }
    });
    tokio::time::sleep(Duration::from_millis(15)).await;
    assert!(!waiting.is_finished(), "it cannot book while the row is held");
    assert_eq!(lock_waiters(&db.url).await, 0, "it steps back instead of queueing in the database");

    holder.close().await.unwrap();
    let session = waiting.await.unwrap().expect("it books once the row is free");
    assert_eq!(session.starts_at, start);
}

#[tokio::test]
async fn a_booking_that_stepped_back_reports_the_clash_made_meanwhile() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let store = db.store(Arc::new(SystemClock)).await;
    let c = clinic(&store).await;
    let start = Timestamp::now() + SignedDuration::from_hours(48);
    let mut holder = hold_row(&db.url, c.therapist).await;

    let loser = tokio::spawn({
        let store = store.clone();
        async move { store.create_session(&AuditCtx::operator(), c.org, booking(c.therapist, c.clients[1], start)).await }
    });
    tokio::time::sleep(Duration::from_millis(15)).await;
    // What the holder commits takes the slot: the therapist is away.
    sqlx::query(
        "INSERT INTO time_off (org_id, id, therapist_id, kind, reason, starts_at, ends_at, status, auto_reassign, \
         created_at, updated_at) VALUES ($1, gen_random_uuid(), $2, 'SICK', '', $3, $4, 'APPROVED', false, now(), now())",
    )
    .bind(c.org.0)
    .bind(c.therapist.0)
    .bind(jiff_sqlx::Timestamp::from(start - SignedDuration::from_hours(1)))
    .bind(jiff_sqlx::Timestamp::from(start + SignedDuration::from_hours(2)))
    .execute(&mut holder)
    .await
    .unwrap();
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();

    match loser.await.unwrap() {
        Err(StoreError::Conflict(conflict)) => {
            assert_eq!(conflict.code, "scheduling_conflict");
            assert_eq!(conflict.details["conflicts"][0]["kind"], "time_off", "{:?}", conflict.details);
            assert!(conflict.details.contains_key("retry_hints"), "{:?}", conflict.details);
        }
        other => panic!("expected the clash, got {other:?}"),
    }
}
