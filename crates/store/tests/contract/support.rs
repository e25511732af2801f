use std::sync::Arc;

use circles_domain::clock::ManualClock;
use circles_domain::ids::{AccountId, OrgId};
use circles_domain::input::{Email, Label, PersonName, TimeZoneName};
use circles_store::Store;
use circles_store::model::{AuditCtx, NewAccount, NewOrganisation, NewPerson, Organisation, Person};
use circles_testkit::{Backend, TestDatabase};
use jiff::Timestamp;

pub struct Harness {
    pub db: TestDatabase,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
}

impl Harness {
    pub async fn new(backend: Backend) -> Self {
        let db = TestDatabase::create(backend).await;
        let clock = Arc::new(ManualClock::new("2027-03-01T12:00:00Z".parse::<Timestamp>().unwrap()));
        let store = db.store(clock.clone()).await;
        Self { db, store, clock }
    }

    pub async fn account(&self, email: &str) -> AccountId {
        self.store
            .create_account(
                &AuditCtx::operator(),
                NewAccount {
                    email: Email::parse(email).unwrap(),
                    name: name("Someone"),
                    password_hash: Some("hash".into()),
                },
            )
            .await
            .unwrap()
            .id
    }

    /// An organisation whose admin is a new account `admin@<slug>.example`.
    pub async fn org(&self, slug: &str) -> (Organisation, Person) {
        let admin = self.account(&format!("admin@{slug}.example")).await;
        self.store
            .create_organisation(
                &AuditCtx { account_id: Some(admin), ..AuditCtx::default() },
                NewOrganisation {
                    name: name(&format!("Clinic {slug}")),
                    timezone: TimeZoneName::parse("America/New_York").unwrap(),
                    admin,
                },
            )
            .await
            .unwrap()
    }

    pub async fn person(&self, org: OrgId, email: &str, role: circles_domain::Role) -> Person {
        self.store
            .add_person(
                &AuditCtx::operator(),
                org,
                NewPerson { email: Email::parse(email).unwrap(), name: name("A Person"), role, password_hash: None },
            )
            .await
            .unwrap()
    }

    pub async fn audit_count(&self, org: OrgId) -> usize {
        self.store.audit_events(org, None, 10_000).await.unwrap().len()
    }
}

pub fn name(s: &str) -> Label {
    PersonName::parse(s).unwrap()
}
