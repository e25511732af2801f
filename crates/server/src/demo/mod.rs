//! Demo data for Riverside Counselling, loaded by `circles demo`: working
//! hours and a covered vacation, weeks of one-on-one appointments, a
//! peer-support community with a drop-in session running, and two
//! recurring therapy groups with eight weeks of attendance and check-ins.
//! Every demo person gets a calendar feed link, printed at each start.

mod appointments;
mod check_ins;
mod groups;
mod waitlist;

use std::sync::Arc;

use anyhow::Context;
use circles_domain::Role;
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::{Email, Label, OrgName, Password, PersonName, TimeZoneName};
use circles_domain::session::{Modality, SessionDetails};
use circles_store::Store;
use circles_store::model::{AuditCtx, Keyset, NewAccount, NewOrganisation, NewPerson};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

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
    /// A calendar feed token per login, in the same order, made at this
    /// start (see [`feed_tokens`]).
    pub feeds: Vec<String>,
    pub created: bool,
}

/// Everyone the demo signs in as, the admin first.
pub fn logins() -> Vec<Login> {
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
        let logins = logins();
        let feeds = feed_tokens(store, &logins).await?;
        return Ok(Demo { org_id: org.org.id, logins, feeds, created: false });
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
    let mut people = People::default();
    for login in &logins[1..] {
        let person = NewPerson {
            email: Email::parse(login.email).expect("valid"),
            name: PersonName::parse(login.name).expect("valid"),
            role: login.role,
            password_hash: Some(hash.clone()),
        };
        let added = store.add_person(&ctx, org.id, person).await?;
        match login.role {
            Role::Moderator => people.moderators.push(added.id),
            Role::Therapist => people.therapists.push(added.id),
            Role::Client => people.clients.push(added.id),
            Role::Admin => {}
        }
    }
    let zone = TimeZoneName::parse(TIMEZONE).expect("valid").zone();
    let today = Timestamp::now().to_zoned(zone.clone()).date();
    // Hours first: the appointments after them must fit inside.
    appointments::working_hours(store, &ctx, org.id, &people).await?;
    appointments::weekly_appointments(store, &ctx, org.id, &people, &zone, today).await?;
    appointments::covered_vacation(store, &ctx, org.id, &people, &zone, today).await?;
    groups::community(store, &ctx, org.id, &people, &zone, today).await?;
    groups::therapy_groups(store, &ctx, org.id, &people, today).await?;
    waitlist::waitlists(store, &ctx, org.id, &people, &zone, today).await?;
    let feeds = feed_tokens(store, &logins).await?;
    Ok(Demo { org_id: org.id, logins, feeds, created: true })
}

/// A calendar feed token for every demo person, so a newcomer can subscribe
/// a calendar program to anyone's schedule at once. Only a token's hash is
/// kept, so a later start cannot show the old link again: it gives each
/// person's feed a new token (the old link stops working), or makes the
/// first one, with the privacy their role gets by default. The links also
/// show, without their tokens, on each person's "Messages and calendar" page.
async fn feed_tokens(store: &Arc<dyn Store>, logins: &[Login]) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(logins.len());
    for login in logins {
        let email = Email::parse(login.email).expect("valid");
        let account = store.credentials(&email).await?.context("a demo account is missing")?.account_id;
        let ctx = AuditCtx { account_id: Some(account), ..AuditCtx::operator() };
        let token = crate::auth::token::generate(crate::routes::feeds::FEED_PREFIX);
        let hash = crate::auth::token::hash(&token);
        match store.feeds(account, Keyset::first(1)).await?.first() {
            Some(feed) => store.rotate_feed(&ctx, account, feed.id, hash).await?,
            None => store.create_feed(&ctx, account, None, hash).await?,
        };
        tokens.push(token);
    }
    Ok(tokens)
}

#[derive(Default)]
struct People {
    moderators: Vec<PersonId>,
    /// In `THERAPISTS` order.
    therapists: Vec<PersonId>,
    clients: Vec<PersonId>,
}

/// The folder beside the demo's database that receives its e-mail when no
/// SMTP server is set: `circles-demo.db` → `circles-demo-mail/`.
pub fn mail_dir(database_url: &str) -> std::path::PathBuf {
    let path = database_url.strip_prefix("sqlite://").map(std::path::Path::new);
    match path.and_then(|p| Some((p.parent()?, p.file_stem()?))) {
        Some((dir, stem)) => dir.join(format!("{}-mail", stem.to_string_lossy())),
        None => std::path::PathBuf::from("circles-demo-mail"),
    }
}

/// The demo's master key file, beside its database: made on first run
/// (readable by this user only), kept for every later run so the demo's
/// clinical notes stay readable.
pub fn master_key_file(database_url: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = database_url.strip_prefix("sqlite://").map(std::path::Path::new);
    let file = match path.and_then(|p| Some((p.parent()?, p.file_stem()?))) {
        Some((dir, stem)) => dir.join(format!("{}-master.key", stem.to_string_lossy())),
        None => std::path::PathBuf::from("circles-demo-master.key"),
    };
    if !file.exists() {
        use rand::RngCore;
        let mut bytes = [0u8; circles_domain::sealed::KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let text = format!("{}\n", circles_domain::sealed::Key::from_bytes(bytes).to_hex());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out =
            options.open(&file).with_context(|| format!("creating the demo's master key {}", file.display()))?;
        std::io::Write::write_all(&mut out, text.as_bytes())?;
    }
    Ok(file)
}

fn days_after(date: Date, days: i64) -> Date {
    date.checked_add(jiff::Span::new().days(days)).expect("the demo's dates are near today")
}

/// Clinics see clients on weekdays.
fn weekday_on_or_after(date: Date) -> Date {
    match date.weekday() {
        jiff::civil::Weekday::Saturday => days_after(date, 2),
        jiff::civil::Weekday::Sunday => days_after(date, 1),
        _ => date,
    }
}

/// `date` at `hour:00` in the clinic's zone.
fn at(zone: &TimeZone, date: Date, hour: i8) -> Timestamp {
    date.at(hour, 0, 0, 0).to_zoned(zone.clone()).expect("a valid local time").timestamp()
}

fn details(title: &str, modality: Modality, place: &str) -> SessionDetails {
    let (virtual_link, location) = match modality {
        Modality::Virtual => (Some(place.to_owned()), None),
        Modality::InPerson => (None, Some(place.to_owned())),
    };
    SessionDetails {
        title: Label::parse(title, 200).expect("valid"),
        description: String::new(),
        modality,
        virtual_link,
        location,
        address: None,
    }
}
