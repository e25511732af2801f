//! Three real `circles serve` processes on one PostgreSQL database, one
//! organisation made by the operator's CLI, and its admin signed in.

// Each multi-server test binary uses a different part of this.
#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;

use circles_domain::Role;
use circles_domain::clock::SystemClock;
use circles_domain::ids::OrgId;
use circles_domain::input::{Email, PersonName};
use circles_server::auth::token;
use circles_store::Store;
use circles_store::model::{AuditCtx, NewPerson, NewToken, Person, TokenKind};
use circles_testkit::{Backend, TestDatabase};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::Server;

pub const CIRCLES: &str = env!("CARGO_BIN_EXE_circles");
const PASSWORD: &str = "three servers, one database";

/// One organisation, seen through three servers.
pub struct Cluster {
    pub db: TestDatabase,
    pub store: Arc<dyn Store>,
    pub servers: Vec<Server>,
    pub client: reqwest::Client,
    pub org: OrgId,
    pub token: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub replayed: bool,
    pub body: Value,
}

impl Cluster {
    /// The three servers run with `settings` (as `CIRCLES_*` variables).
    pub async fn start(settings: &[(&str, String)]) -> Self {
        let db = TestDatabase::create(Backend::Postgres).await;
        let store = db.store(Arc::new(SystemClock)).await;
        let org = create_org(&db);
        let mut servers = Vec::new();
        for _ in 0..3 {
            servers.push(Server::start_with(&db, settings).await);
        }
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
        let token = sign_in_admin(&client, &servers[0].base).await;
        Self { db, store, servers, client, org, token }
    }

    /// People added by the store (fast); they need no password to be booked.
    pub async fn people(&self, role: Role, prefix: &str, count: usize) -> Vec<String> {
        self.added(role, prefix, count).await.into_iter().map(|p| p.id.to_string()).collect()
    }

    async fn added(&self, role: Role, prefix: &str, count: usize) -> Vec<Person> {
        let mut people = Vec::new();
        for i in 0..count {
            let person = NewPerson {
                email: Email::parse(&format!("{prefix}{i}@three.example")).unwrap(),
                name: PersonName::parse(&format!("{prefix} {i}")).unwrap(),
                role,
                password_hash: None,
            };
            people.push(self.store.add_person(&AuditCtx::operator(), self.org, person).await.unwrap());
        }
        people
    }

    /// [`Cluster::people`], each with an API token of their own (made by
    /// the store, as `POST /me/tokens` would): `(person id, token)`.
    pub async fn people_with_tokens(&self, role: Role, prefix: &str, count: usize) -> Vec<(String, String)> {
        let mut signed_in = Vec::new();
        for person in self.added(role, prefix, count).await {
            let secret = token::generate(token::API_PREFIX);
            let new = NewToken {
                account_id: person.account_id,
                kind: TokenKind::Api,
                name: "three servers".into(),
                token_hash: token::hash(&secret),
                expires_at: None,
            };
            self.store.create_token(&AuditCtx::operator(), new).await.unwrap();
            signed_in.push((person.id.to_string(), secret));
        }
        signed_in
    }

    pub async fn post(&self, server: usize, path: &str, body: Value, idempotency_key: Option<&str>) -> Option<Reply> {
        self.post_as(&self.token, server, path, body, idempotency_key).await
    }

    /// [`Cluster::post`] with someone else's token.
    pub async fn post_as(
        &self,
        token: &str,
        server: usize,
        path: &str,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Option<Reply> {
        let mut req = self
            .client
            .post(format!("{}/api/v1/orgs/{}{path}", self.servers[server].base, self.org))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        // A killed server answers nothing: that request was never acknowledged.
        let res = req.send().await.ok()?;
        let status = res.status();
        let replayed = res.headers().contains_key("idempotent-replayed");
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Some(Reply { status, replayed, body })
    }

    pub async fn count(&self, query: &str) -> i64 {
        self.db.scalar(query).await
    }
}

/// The operator's way in: the CLI makes the organisation and its admin.
pub fn create_org(db: &TestDatabase) -> OrgId {
    let output = Command::new(CIRCLES)
        .args(["admin", "create-org", "--name", "Three Rivers Clinic", "--timezone", "America/Chicago"])
        .args(["--admin-email", "admin@three.example", "--admin-name", "Ada Admin"])
        .args(["--admin-password", PASSWORD, "--database-url", &db.url])
        .output()
        .expect("run circles admin create-org");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "create-org failed: {printed} {}", String::from_utf8_lossy(&output.stderr));
    printed
        .split(['(', ')'])
        .nth(1)
        .and_then(|id| id.parse::<uuid::Uuid>().ok())
        .map(OrgId::from)
        .unwrap_or_else(|| panic!("no organisation id in {printed:?}"))
}

/// The admin [`create_org`] made, signed in through `base`: their token.
pub async fn sign_in_admin(client: &reqwest::Client, base: &str) -> String {
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": "admin@three.example", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    login.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

pub fn hours_from_now(hours: i64) -> String {
    let now = Timestamp::now();
    let whole_hour = Timestamp::from_second(now.as_second() - now.as_second() % 3600).unwrap();
    (whole_hour + SignedDuration::from_hours(hours)).to_string()
}

pub fn booking(starts_at: &str, therapist: &str, client: &str) -> Value {
    json!({ "starts_at": starts_at, "duration_minutes": 50, "therapist_ids": [therapist], "client_ids": [client] })
}
