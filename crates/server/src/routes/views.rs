//! Response shapes shared by several routes.

use circles_domain::Role;
use circles_domain::local_time::local_time;
use circles_domain::org_invitation::PersonStatus;
use circles_store::model::{Account, Membership, Organisation, Person};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// In the zone the person chose in their preferences (UTC if none).
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub created_at_local: String,
}

impl AccountView {
    pub fn new(a: Account, zone: &str) -> Self {
        let created_at_local = local_time(a.created_at, zone);
        Self { id: a.id.0, email: a.email, name: a.name, created_at: a.created_at, created_at_local }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub name: String,
    /// IANA time zone, e.g. `America/New_York`.
    pub timezone: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// On the organisation's own clock.
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub created_at_local: String,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        let created_at_local = local_time(o.created_at, &o.timezone);
        Self { id: o.id.0, name: o.name, timezone: o.timezone, created_at: o.created_at, created_at_local }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub org_id: Uuid,
    pub org_name: String,
    pub timezone: String,
    /// The account's person record in this organisation.
    pub person_id: Uuid,
    /// The account's name, which its person records carry too.
    #[schema(example = "Dana Reyes")]
    pub person_name: String,
    #[schema(value_type = String, example = "admin")]
    pub role: Role,
}

impl MembershipView {
    /// `m`, a membership of the account named `name`.
    pub fn new(m: Membership, name: &str) -> Self {
        Self {
            org_id: m.org.id.0,
            org_name: m.org.name,
            timezone: m.org.timezone,
            person_id: m.person_id.0,
            person_name: name.to_owned(),
            role: m.role,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The person's account; `null` until an invitation is accepted.
    pub account_id: Option<Uuid>,
    /// For someone invited: the address and name the inviter typed.
    pub email: String,
    pub name: String,
    #[schema(value_type = String, example = "therapist")]
    pub role: Role,
    /// `active` (a member), `pending` (invited, not yet answered) or
    /// `declined`.
    #[schema(value_type = String, example = "active")]
    pub status: PersonStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// On the organisation's clock.
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub created_at_local: String,
}

impl PersonView {
    /// `p`, its record time read in `zone` (the organisation's).
    pub fn new(p: Person, zone: &str) -> Self {
        let joined = p.status == PersonStatus::Active;
        Self {
            id: p.id.0,
            org_id: p.org_id.0,
            account_id: joined.then_some(p.account_id.0),
            email: p.email,
            name: p.name,
            role: p.role,
            status: p.status,
            created_at_local: local_time(p.created_at, zone),
            created_at: p.created_at,
        }
    }
}

/// A list response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

impl<T> Items<T> {
    pub fn of<S: Into<T>>(items: impl IntoIterator<Item = S>) -> Self {
        Self { items: items.into_iter().map(Into::into).collect() }
    }
}

/// RFC 9457 problem document returned by every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[schema(example = "about:blank")]
    pub r#type: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    pub detail: String,
    /// For validation errors: each refused field and why.
    pub errors: Option<Vec<FieldProblem>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}
