//! Demo data for Riverside Counselling, loaded by `circles demo`: people,
//! the therapists' working hours, and one approved vacation whose sessions
//! a colleague covers.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use circles_domain::Role;
use circles_domain::availability::{RuleInput, WeeklyAvailability};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::{Email, Label, OrgName, Password, PersonName, TimeZoneName};
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionDetails, SessionKind};
use circles_domain::time_off::TimeOffKind;
use circles_store::Store;
use circles_store::model::{AuditCtx, NewAccount, NewOrganisation, NewPerson, NewSession, NewTimeOff};

use crate::auth::password::PasswordHashing;

pub const PASSWORD: &str = "circles-demo";
pub const ADMIN_EMAIL: &str = "admin@riverside.example";
pub const ORG_NAME: &str = "Riverside Counselling";
pub const TIMEZONE: &str = "America/New_York";

const MODERATORS: &[(&str, &str)] =
    &[("Morgan Lee", "morgan@riverside.example"), ("Priya Natarajan", "priya@riverside.example")];
const THERAPISTS: &[(&str, &str)] = &[
    ("Dr. Hannah Okafor", "hannah@riverside.example"),
    ("Dr. Samuel Ortiz", "samuel@riverside.example"),
    ("Dr. Mei Chen", "mei@riverside.example"),
    ("Dr. Jonah Fields", "jonah@riverside.example"),
];
const CLIENTS: &[(&str, &str)] = &[
    ("Avery Brooks", "avery@clients.example"),
    ("Blake Carter", "blake@clients.example"),
    ("Casey Diaz", "casey@clients.example"),
    ("Dana Ellis", "dana@clients.example"),
    ("Emery Foster", "emery@clients.example"),
    ("Finley Garcia", "finley@clients.example"),
    ("Gray Harper", "gray@clients.example"),
    ("Harley Irwin", "harley@clients.example"),
    ("Indigo James", "indigo@clients.example"),
    ("Jordan Kim", "jordan@clients.example"),
    ("Kai Lopez", "kai@clients.example"),
    ("Logan Moore", "logan@clients.example"),
];

/// A demo login, printed at startup.
pub struct Login {
    pub role: Role,
    pub name: &'static str,
    pub email: &'static str,
}

pub struct Demo {
    pub org_id: OrgId,
    pub logins: Vec<Login>,
    pub created: bool,
}

fn logins() -> Vec<Login> {
    let mut logins = vec![Login { role: Role::Admin, name: "Alex Rivera", email: ADMIN_EMAIL }];
    let groups = [(Role::Moderator, MODERATORS), (Role::Therapist, THERAPISTS), (Role::Client, CLIENTS)];
    for (role, people) in groups {
        logins.extend(people.iter().map(|&(name, email)| Login { role, name, email }));
    }
    logins
}

/// Loads the demo organisation unless it is already there.
pub async fn load(store: &Arc<dyn Store>, passwords: &PasswordHashing) -> anyhow::Result<Demo> {
    let admin_email = Email::parse(ADMIN_EMAIL).expect("valid");
    if let Some(credentials) = store.credentials(&admin_email).await? {
        let memberships = store.memberships(credentials.account_id).await?;
        let org = memberships.iter().find(|m| m.org.name == ORG_NAME).context("the demo admin has no Riverside org")?;
        return Ok(Demo { org_id: org.org.id, logins: logins(), created: false });
    }

    // One hash for every demo account: they share a published password anyway.
    let hash = passwords.hash(&Password::parse(PASSWORD).expect("valid")).await;
    let ctx = AuditCtx::operator();
    let logins = logins();
    let admin = store
        .create_account(
            &ctx,
            NewAccount {
                email: admin_email,
                name: PersonName::parse(logins[0].name).expect("valid"),
                password_hash: Some(hash.clone()),
            },
        )
        .await?;
    let (org, admin_person) = store
        .create_organisation(
            &AuditCtx { account_id: Some(admin.id), ..ctx.clone() },
            NewOrganisation {
                name: OrgName::parse(ORG_NAME).expect("valid"),
                timezone: TimeZoneName::parse(TIMEZONE).expect("valid"),
                admin: admin.id,
            },
        )
        .await?;
    let ctx = AuditCtx { account_id: Some(admin.id), ..ctx }.acting_as(admin_person.id);
    let mut ids = HashMap::new();
    for login in &logins[1..] {
        let person = NewPerson {
            email: Email::parse(login.email).expect("valid"),
            name: PersonName::parse(login.name).expect("valid"),
            role: login.role,
            password_hash: Some(hash.clone()),
        };
        ids.insert(login.email, store.add_person(&ctx, org.id, person).await?.id);
    }
    working_hours_and_a_vacation(store, &ctx, org.id, &ids).await?;
    Ok(Demo { org_id: org.id, logins, created: true })
}

/// Who works when, in the demo: `(therapist e-mail, [(days, start, end, modality, max_sessions)])`.
type Hours =
    (&'static str, &'static [(&'static [&'static str], &'static str, &'static str, Option<&'static str>, Option<i64>)]);

const WEEKDAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday"];
const WORKING_HOURS: &[Hours] = &[
    ("hannah@riverside.example", &[(WEEKDAYS, "09:00", "12:00", None, None), (WEEKDAYS, "13:00", "17:00", None, None)]),
    (
        "samuel@riverside.example",
        &[
            (&["monday", "tuesday", "wednesday", "thursday"], "10:00", "13:00", None, None),
            (&["monday", "tuesday", "wednesday", "thursday"], "14:00", "18:00", None, None),
            (&["tuesday", "thursday"], "18:30", "21:00", Some("VIRTUAL"), Some(2)),
        ],
    ),
    ("mei@riverside.example", &[(WEEKDAYS, "08:00", "12:00", None, None), (WEEKDAYS, "13:00", "16:00", None, None)]),
    (
        "jonah@riverside.example",
        &[
            (&["monday", "wednesday", "friday"], "09:00", "13:00", None, None),
            (&["monday", "wednesday", "friday"], "14:00", "17:00", None, None),
            (&["saturday"], "09:00", "12:00", None, None),
        ],
    ),
];

/// Every therapist keeps working hours. Dr. Ortiz is away for a week from
/// the second Monday after today (the admin asked for him), and Dr. Chen
/// covers the three sessions he had booked that week (moved on approval).
async fn working_hours_and_a_vacation(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    ids: &HashMap<&'static str, PersonId>,
) -> anyhow::Result<()> {
    for (email, rules) in WORKING_HOURS {
        let inputs: Vec<RuleInput<'_>> = rules
            .iter()
            .flat_map(|&(days, start_time, end_time, modality, max_sessions)| {
                days.iter().map(move |&weekday| RuleInput {
                    weekday,
                    start_time,
                    end_time,
                    modality,
                    max_sessions,
                    ..RuleInput::default()
                })
            })
            .collect();
        let week = WeeklyAvailability::parse(TIMEZONE, &inputs).map_err(|e| anyhow::anyhow!("demo hours: {e}"))?;
        store.set_availability(ctx, org, ids[email], week).await?;
    }

    let zone = jiff::tz::TimeZone::get(TIMEZONE)?;
    let mut monday = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 8)).to_zoned(zone.clone()).date();
    while monday.weekday() != jiff::civil::Weekday::Monday {
        monday = monday.tomorrow()?;
    }
    let at = |day: i64, hour: i8| -> anyhow::Result<jiff::Timestamp> {
        let date = monday.checked_add(jiff::Span::new().days(day))?;
        Ok(date.at(hour, 0, 0, 0).to_zoned(zone.clone())?.timestamp())
    };
    let samuel = ids["samuel@riverside.example"];
    let clients = ["avery@clients.example", "blake@clients.example", "casey@clients.example"];
    for (day, client) in clients.iter().enumerate() {
        let interval =
            Interval::starting_at(at(day as i64, 10 + (day % 2) as i8)?, jiff::SignedDuration::from_mins(50))
                .expect("a demo slot");
        let session = NewSession {
            kind: SessionKind::OneOnOne,
            details: SessionDetails {
                title: Label::parse("Weekly check-in", 200).expect("valid"),
                description: String::new(),
                modality: Modality::InPerson,
                virtual_link: None,
                location: Some("Room 2".into()),
                address: None,
            },
            interval,
            timezone: TIMEZONE.into(),
            capacity: 1,
            group_id: None,
            therapist_ids: vec![samuel],
            client_ids: vec![ids[client]],
            therapists_must_accept: false,
        };
        store.create_session(ctx, org, session).await?;
    }
    let vacation = NewTimeOff {
        therapist_id: samuel,
        kind: TimeOffKind::Vacation,
        reason: "Family trip".into(),
        range: Interval::new(at(0, 0)?, at(7, 0)?).expect("a week"),
        auto_reassign: true,
    };
    let requested = store.request_time_off(ctx, org, vacation).await?;
    store.approve_time_off(ctx, org, requested.id, Some(ids["mei@riverside.example"])).await?;
    Ok(())
}
