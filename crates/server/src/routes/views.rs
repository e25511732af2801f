//! Response shapes shared by several routes.

use circles_domain::Role;
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
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self { id: a.id.0, email: a.email, name: a.name, created_at: a.created_at }
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
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        Self { id: o.id.0, name: o.name, timezone: o.timezone, created_at: o.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub org_id: Uuid,
    pub org_name: String,
    pub timezone: String,
    /// The account's person record in this organisation.
    pub person_id: Uuid,
    #[schema(value_type = String, example = "admin")]
    pub role: Role,
}

impl From<Membership> for MembershipView {
    fn from(m: Membership) -> Self {
        Self {
            org_id: m.org.id.0,
            org_name: m.org.name,
            timezone: m.org.timezone,
            person_id: m.person_id.0,
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
}

impl From<Person> for PersonView {
    fn from(p: Person) -> Self {
        let joined = p.status == PersonStatus::Active;
        Self {
            id: p.id.0,
            org_id: p.org_id.0,
            account_id: joined.then_some(p.account_id.0),
            email: p.email,
            name: p.name,
            role: p.role,
            status: p.status,
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
