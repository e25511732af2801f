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

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub fn slot(start: &str, minutes: i64) -> circles_domain::interval::Interval {
    circles_domain::interval::Interval::starting_at(at(start), jiff::SignedDuration::from_mins(minutes)).unwrap()
}

pub fn details(title: &str) -> circles_domain::session::SessionDetails {
    circles_domain::session::SessionDetails {
        title: circles_domain::input::Label::parse(title, 200).unwrap(),
        description: String::new(),
        modality: circles_domain::session::Modality::InPerson,
        virtual_link: None,
        location: Some("Room 1".into()),
        address: None,
    }
}

/// A one-on-one appointment request.
pub fn one_on_one(
    therapist: circles_domain::ids::PersonId,
    client: circles_domain::ids::PersonId,
    interval: circles_domain::interval::Interval,
) -> circles_store::model::NewSession {
    circles_store::model::NewSession {
        kind: circles_domain::session::SessionKind::OneOnOne,
        details: details("Check-in"),
        interval,
        timezone: "America/New_York".into(),
        capacity: 1,
        group_id: None,
        therapist_ids: vec![therapist],
        client_ids: vec![client],
        therapists_must_accept: false,
        approval: circles_store::model::Approval::NotNeeded,
    }
}

/// An organisation with one therapist and `clients` clients.
pub struct Clinic {
    pub org: OrgId,
    pub therapist: circles_domain::ids::PersonId,
    pub clients: Vec<circles_domain::ids::PersonId>,
}

impl Harness {
    pub async fn clinic(&self, slug: &str, clients: usize) -> Clinic {
        let (org, _) = self.org(slug).await;
        let therapist = self.person(org.id, &format!("t@{slug}.example"), circles_domain::Role::Therapist).await.id;
        let mut ids = Vec::new();
        for i in 0..clients {
            ids.push(self.person(org.id, &format!("c{i}@{slug}.example"), circles_domain::Role::Client).await.id);
        }
        Clinic { org: org.id, therapist, clients: ids }
    }

    /// Pairs of overlapping busy rows for one person (there must be none).
    pub async fn overlapping_busy_pairs(&self) -> i64 {
        self.db
            .scalar(
                "SELECT COUNT(*) FROM busy_intervals a JOIN busy_intervals b \
                 ON a.org_id = b.org_id AND a.person_id = b.person_id AND a.id < b.id \
                 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
            )
            .await
    }
}

/// The code of a store conflict.
pub fn conflict_code(result: &circles_store::Result<impl std::fmt::Debug>) -> Option<&'static str> {
    match result {
        Err(circles_store::StoreError::Conflict(c)) => Some(c.code),
        _ => None,
    }
}

impl Harness {
    /// A community group in `org` facilitated by `facilitators`.
    pub async fn group(
        &self,
        org: OrgId,
        facilitators: Vec<circles_domain::ids::PersonId>,
    ) -> circles_domain::ids::GroupId {
        let fields =
            circles_store::model::GroupFields::open_group("Circle", circles_domain::group::GroupType::Community);
        let input = circles_store::model::NewGroup { fields, moderator_ids: Vec::new(), facilitator_ids: facilitators };
        self.store.create_group(&AuditCtx::operator(), org, input).await.unwrap().id
    }
}
