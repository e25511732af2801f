//! `TestApp`: a real server on port 0 with a database of its own.

use std::sync::Arc;

use circles_domain::Role;
use circles_domain::clock::ManualClock;
use circles_domain::input::{Email, Password, PersonName};
use circles_server::config::{OrgCreation, Settings};
use circles_server::state::AppState;
use circles_store::Store;
use circles_store::model::{AuditCtx, NewAccount};
use circles_testkit::{Backend, TestDatabase};
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    #[allow(dead_code, reason = "used by the tests of later features")]
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub state: AppState,
    pub db: TestDatabase,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts a problem document with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(content_type, "application/problem+json", "problem documents say so");
        assert_eq!(self.body["code"], code, "unexpected code; body: {}", self.body);
        assert_eq!(self.body["status"], status);
        self.body
    }

    /// The fields named by a validation problem.
    pub fn fields(body: &Value) -> Vec<String> {
        body["errors"]
            .as_array()
            .map(|e| e.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Login {
    pub person_id: String,
    pub email: String,
    pub token: String,
}

/// An organisation with one signed-in person of each role.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub admin: Login,
    pub moderator: Login,
    pub therapist: Login,
    pub client: Login,
}

impl Org {
    pub fn by_role(&self, role: Role) -> &Login {
        match role {
            Role::Admin => &self.admin,
            Role::Moderator => &self.moderator,
            Role::Therapist => &self.therapist,
            Role::Client => &self.client,
        }
    }
}

pub fn test_settings() -> Settings {
    Settings {
        database_url: String::new(),
        // The cheapest argon2id: tests create many accounts.
        argon2_memory_kib: 8,
        argon2_iterations: 1,
        login_attempts_per_minute_per_ip: 10_000,
        login_attempts_per_minute_per_account: 1_000,
        // Tests move the clock forward by days; logins should outlast that.
        session_hours: 24 * 365,
        run_jobs: false,
        // Tests make their organisations through the API.
        allow_org_creation: OrgCreation::Anyone,
        ..Settings::default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        // Server-side errors show up in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn,circles_server=warn").try_init();
        let db = TestDatabase::create(backend).await;
        let mut settings = test_settings();
        settings.database_url = db.url.clone();
        adjust(&mut settings);
        let clock = Arc::new(ManualClock::new(Timestamp::now()));
        let store = db.store(clock.clone()).await;
        let state = AppState::new(store.clone(), clock.clone(), settings).expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            circles_server::app::serve(listener, serving, async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        let client = reqwest::Client::builder().build().unwrap();
        Self { base, client, clock, store, state, db, _shutdown: tx }
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn read(res: reqwest::Response) -> Response {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn get_owned(&self, path: String, token: &str) -> Response {
        self.get(&path, token).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    /// Creates an account directly in the store (fast), with [`PASSWORD`].
    pub async fn account(&self, email: &str, name: &str) {
        let hash = self.state.passwords.hash(&Password::parse(PASSWORD).unwrap()).await;
        self.store
            .create_account(
                &AuditCtx::operator(),
                NewAccount {
                    email: Email::parse(email).unwrap(),
                    name: PersonName::parse(name).unwrap(),
                    password_hash: Some(hash),
                },
            )
            .await
            .unwrap();
    }

    pub async fn login(&self, email: &str) -> String {
        let body = self
            .request(Method::POST, "/api/v1/auth/login", None, Some(json!({ "email": email, "password": PASSWORD })))
            .await
            .expect(200);
        body["token"].as_str().unwrap().to_owned()
    }

    /// An organisation made through the API, with a signed-in person of
    /// every role. `slug` keeps e-mails unique across organisations.
    pub async fn org(&self, slug: &str) -> Org {
        let admin_email = format!("admin@{slug}.example");
        self.account(&admin_email, "Admin").await;
        let admin_token = self.login(&admin_email).await;
        let created = self
            .post(
                "/api/v1/orgs",
                &admin_token,
                json!({ "name": format!("Clinic {slug}"), "timezone": "America/New_York" }),
            )
            .await
            .expect(201);
        let id = created["id"].as_str().unwrap().to_owned();
        let admin = Login {
            person_id: created["admin"]["id"].as_str().unwrap().to_owned(),
            email: admin_email,
            token: admin_token,
        };
        let mut people = Vec::new();
        for role in ["moderator", "therapist", "client"] {
            let email = format!("{role}@{slug}.example");
            people.push(self.person(&id, &admin.token, &email, role).await);
        }
        let [moderator, therapist, client] = people.try_into().unwrap();
        Org { id, admin, moderator, therapist, client }
    }

    /// Adds `n` clients straight through the store (fast; no sign-in).
    pub async fn clients(&self, org_id: &str, n: usize) -> Vec<String> {
        let org = circles_domain::ids::OrgId(org_id.parse().unwrap());
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let person = self
                .store
                .add_person(
                    &AuditCtx::operator(),
                    org,
                    circles_store::model::NewPerson {
                        email: Email::parse(&format!("client{i}.{}@many.example", &org_id[..8])).unwrap(),
                        name: PersonName::parse(&format!("Client {i}")).unwrap(),
                        role: Role::Client,
                        password_hash: None,
                    },
                )
                .await
                .unwrap();
            ids.push(person.id.to_string());
        }
        ids
    }

    /// An instant `hours` from the test clock's now, on a whole hour (RFC 3339).
    pub fn hours_from_now(&self, hours: i64) -> String {
        let now = circles_domain::Clock::now(self.clock.as_ref());
        let whole = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(3600)).unwrap();
        (whole + jiff::SignedDuration::from_hours(hours)).to_string()
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

    /// A group made by the org's admin, with the org's moderator as its
    /// moderator, the org's therapist (plus `extra_facilitators`) as
    /// facilitators, the org's client as an active member, and `settings`.
    pub async fn community(&self, org: &Org, settings: Value, extra_facilitators: &[&Login]) -> String {
        let mut facilitators = vec![org.therapist.person_id.clone()];
        facilitators.extend(extra_facilitators.iter().map(|l| l.person_id.clone()));
        let group = self
            .post(
                &format!("/api/v1/orgs/{}/groups", org.id),
                &org.admin.token,
                json!({
                    "name": "Tuesday Circle",
                    "type": "COMMUNITY",
                    "modality": "VIRTUAL",
                    "virtual_link": "https://meet.example/circle",
                    "settings": settings,
                    "moderator_ids": [org.moderator.person_id],
                    "facilitator_ids": facilitators,
                }),
            )
            .await
            .expect(201);
        let id = group["id"].as_str().unwrap().to_owned();
        self.enrol(org, &id, &org.client.person_id).await;
        id
    }

    /// Enrols a client in a group (as the org's admin).
    pub async fn enrol(&self, org: &Org, group: &str, client: &str) -> Value {
        self.post(
            &format!("/api/v1/orgs/{}/groups/{group}/members", org.id),
            &org.admin.token,
            json!({ "client_id": client }),
        )
        .await
        .expect(201)
    }

    /// Runs a waitlist pass (without grace delay), then returns the live
    /// offer `login` sees.
    pub async fn live_offer(&self, org: &Org, login: &Login) -> Value {
        self.store.waitlist_pass(Some(jiff::SignedDuration::ZERO), false).await.unwrap();
        let path = format!("/api/v1/orgs/{}/offers?status=LIVE", org.id);
        let live = self.get(&path, &login.token).await.expect(200);
        live["items"].as_array().unwrap().first().cloned().expect("a live offer reached the client")
    }

    /// Accepts a waitlist offer as `login`.
    pub async fn accept_offer(&self, org: &Org, login: &Login, offer: &Value) -> Value {
        let id = offer["id"].as_str().unwrap();
        self.post(&format!("/api/v1/orgs/{}/offers/{id}/accept", org.id), &login.token, json!({})).await.expect(200)
    }

    /// The kinds of the unread notifications of `login`.
    pub async fn inbox(&self, org: &Org, login: &Login) -> Vec<String> {
        let inbox =
            self.get(&format!("/api/v1/orgs/{}/notifications?unread=true", org.id), &login.token).await.expect(200);
        inbox["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap().to_owned()).collect()
    }

    /// Signs in and accepts the invitation to join `org_id` that adding an
    /// existing account sent; returns the person's id there.
    pub async fn accept_invitation(&self, token: &str, org_id: &str) -> String {
        let invitations = self.get("/api/v1/me/org-invitations", token).await.expect(200);
        let invitation = invitations["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["org_id"] == org_id)
            .unwrap_or_else(|| panic!("an invitation to {org_id}: {invitations}"));
        let id = invitation["id"].as_str().unwrap();
        let answered =
            self.post(&format!("/api/v1/me/org-invitations/{id}/accept"), token, json!({})).await.expect(200);
        answered["membership"]["person_id"].as_str().unwrap().to_owned()
    }

    /// Adds and signs in a person with `role`.
    pub async fn person(&self, org_id: &str, admin_token: &str, email: &str, role: &str) -> Login {
        let person = self
            .post(
                &format!("/api/v1/orgs/{org_id}/people"),
                admin_token,
                json!({ "email": email, "name": format!("A {role}"), "role": role, "password": PASSWORD }),
            )
            .await
            .expect(201);
        Login {
            person_id: person["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            token: self.login(email).await,
        }
    }
}
