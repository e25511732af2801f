//! Demo data for Riverside Counselling, loaded by `circles demo`.

use std::sync::Arc;

use anyhow::Context;
use circles_domain::Role;
use circles_domain::group::{GroupSettings, GroupType, SessionCreation};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::{Email, Label, OrgName, Password, PersonName, TimeZoneName};
use circles_domain::interval::Interval;
use circles_domain::recurrence::RecurrenceInput;
use circles_domain::session::{Modality, SeatStatus, SessionDetails, SessionKind};
use circles_store::Store;
use circles_store::model::{
    Approval, AttendanceMark, AuditCtx, GroupFields, MembershipChange, NewAccount, NewGroup, NewOrganisation,
    NewPerson, NewSession, Response, ScreeningInput,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

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
    let today = store_clock_today(&zone);
    appointments(store, &ctx, org.id, &people, &zone, today).await?;
    community(store, &ctx, org.id, &people, &zone, today).await?;
    therapy_groups(store, &ctx, org.id, &people, today).await?;
    Ok(Demo { org_id: org.id, logins, created: true })
}

#[derive(Default)]
struct People {
    moderators: Vec<PersonId>,
    therapists: Vec<PersonId>,
    clients: Vec<PersonId>,
}

fn store_clock_today(zone: &TimeZone) -> Date {
    Timestamp::now().to_zoned(zone.clone()).date()
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

/// Three weeks of weekly one-on-one appointments: each therapist sees three
/// clients on weekday mornings.
async fn appointments(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
    zone: &TimeZone,
    today: Date,
) -> anyhow::Result<()> {
    for week in 0..3 {
        for (t, &therapist) in people.therapists.iter().enumerate() {
            for slot in 0..3 {
                let client = people.clients[(t * 3 + slot) % people.clients.len()];
                let start = at(zone, weekday_on_or_after(days_after(today, 7 * week + 1 + t as i64)), 9 + slot as i8);
                let session = NewSession {
                    kind: SessionKind::OneOnOne,
                    details: details("Individual therapy", Modality::InPerson, "Riverside, room 2"),
                    interval: Interval::starting_at(start, SignedDuration::from_mins(50)).expect("positive"),
                    timezone: TIMEZONE.into(),
                    capacity: 1,
                    group_id: None,
                    therapist_ids: vec![therapist],
                    client_ids: vec![client],
                    therapists_must_accept: false,
                    approval: Approval::NotNeeded,
                };
                store.create_session(ctx, org, session).await?;
            }
        }
    }
    Ok(())
}

/// A peer-support community with a proposal awaiting its therapists, a
/// scheduled session with seats taken, and a drop-in session running now.
async fn community(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
    zone: &TimeZone,
    today: Date,
) -> anyhow::Result<()> {
    let settings = GroupSettings {
        session_creation: SessionCreation::AllMembers,
        approval_required: true,
        default_capacity: 10,
        ..GroupSettings::default()
    };
    let facilitators = people.therapists[..2].to_vec();
    let members = &people.clients[..8];
    let group = store
        .create_group(
            ctx,
            org,
            NewGroup {
                fields: GroupFields {
                    name: "Riverside Peer Support Circle".into(),
                    description: "A weekly evening circle for sharing and support.".into(),
                    group_type: GroupType::Community,
                    open: true,
                    capacity: None,
                    requires_screening: false,
                    target_population: Some("Adults".into()),
                    age_range: Some("18+".into()),
                    modality: Some(Modality::Virtual),
                    virtual_link: Some("https://meet.example/riverside-circle".into()),
                    location: None,
                    address: None,
                    settings,
                    recurrence: None,
                },
                moderator_ids: vec![people.moderators[0]],
                facilitator_ids: facilitators.clone(),
            },
        )
        .await?;
    for &client in members {
        store.add_member(ctx, org, group.id, client, today).await?;
    }
    let group_session = |title: &str, start: Timestamp| NewSession {
        kind: SessionKind::Group,
        details: details(title, Modality::Virtual, "https://meet.example/riverside-circle"),
        interval: Interval::starting_at(start, SignedDuration::from_mins(90)).expect("positive"),
        timezone: TIMEZONE.into(),
        capacity: 10,
        group_id: Some(group.id),
        therapist_ids: facilitators.clone(),
        client_ids: Vec::new(),
        therapists_must_accept: true,
        approval: Approval::NotNeeded,
    };
    let moderator = ctx.acting_as(people.moderators[0]);
    // Evenings, so they never clash with the morning appointments.
    let proposed = group_session("Handling holiday stress", at(zone, days_after(today, 9), 18));
    store.create_session(&moderator, org, proposed).await?;

    let scheduled = group_session("Sleep and mood", at(zone, days_after(today, 2), 18));
    let scheduled = store.create_session(&moderator, org, scheduled).await?;
    for invitation in &scheduled.therapists {
        let therapist = ctx.acting_as(invitation.therapist_id);
        store
            .respond_invitation(&therapist, org, invitation.id, invitation.therapist_id, Response::Accept, None)
            .await?;
    }
    for &client in &members[..5] {
        store.join_session(&ctx.acting_as(client), org, scheduled.id, client).await?;
    }

    let instant = NewSession {
        kind: SessionKind::Instant,
        details: details("Drop-in check-in", Modality::Virtual, "https://meet.example/riverside-drop-in"),
        interval: Interval::starting_at(Timestamp::now(), SignedDuration::from_mins(60)).expect("positive"),
        therapist_ids: Vec::new(),
        client_ids: vec![members[0]],
        therapists_must_accept: false,
        ..group_session("Drop-in check-in", Timestamp::now())
    };
    store.create_session(&ctx.acting_as(members[0]), org, instant).await?;
    Ok(())
}

/// A weekly group that began four weeks ago: members enrolled (and screened
/// where the group screens), eight weeks generated, attendance marked for
/// the four already held.
struct TherapyGroup<'a> {
    name: &'static str,
    group_type: GroupType,
    rrule: &'static str,
    start_time: &'static str,
    minutes: i64,
    screening: bool,
    facilitator: PersonId,
    moderator: PersonId,
    members: &'a [PersonId],
}

async fn therapy_groups(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
    today: Date,
) -> anyhow::Result<()> {
    let c = &people.clients;
    let groups = [
        TherapyGroup {
            name: "Thursday Anxiety Group",
            group_type: GroupType::Therapy,
            rrule: "FREQ=WEEKLY;BYDAY=TH",
            start_time: "14:00",
            minutes: 90,
            screening: true,
            facilitator: people.therapists[2],
            moderator: people.moderators[1],
            members: &c[4..10],
        },
        TherapyGroup {
            name: "Mindful Skills Group",
            group_type: GroupType::Skills,
            rrule: "FREQ=WEEKLY;BYDAY=TU",
            start_time: "16:00",
            minutes: 60,
            screening: false,
            facilitator: people.therapists[3],
            moderator: people.moderators[1],
            members: &c[7..12],
        },
    ];
    let began = days_after(today, -28);
    for spec in &groups {
        therapy_group(store, ctx, org, spec, began).await?;
    }
    Ok(())
}

async fn therapy_group(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    spec: &TherapyGroup<'_>,
    began: Date,
) -> anyhow::Result<()> {
    let recurrence = RecurrenceInput {
        rrule: spec.rrule.into(),
        start_date: began.to_string(),
        start_time: spec.start_time.into(),
        timezone: TIMEZONE.into(),
        duration_minutes: spec.minutes,
        end_date: None,
        exdates: Vec::new(),
    };
    let group = store
        .create_group(
            ctx,
            org,
            NewGroup {
                fields: GroupFields {
                    name: spec.name.into(),
                    description: "A closed weekly group.".into(),
                    group_type: spec.group_type,
                    open: false,
                    capacity: Some(8),
                    requires_screening: spec.screening,
                    target_population: Some("Adults".into()),
                    age_range: Some("18–65".into()),
                    modality: Some(Modality::InPerson),
                    virtual_link: None,
                    location: Some("Riverside, group room".into()),
                    address: Some("12 River Street".into()),
                    settings: GroupSettings::default(),
                    recurrence: Some(recurrence),
                },
                moderator_ids: vec![spec.moderator],
                facilitator_ids: vec![spec.facilitator],
            },
        )
        .await?;
    let joined = days_after(began, -7);
    let therapist = ctx.acting_as(spec.facilitator);
    for &client in spec.members {
        let member = store.add_member(ctx, org, group.id, client, joined).await?;
        if spec.screening {
            let screening = ScreeningInput { date: joined, notes: "Suitable for group work.".into(), approved: true };
            let change = MembershipChange { screening: Some(screening), ..MembershipChange::default() };
            store.update_member(&therapist, org, group.id, member.id, change).await?;
        }
    }
    let generated = store.generate_sessions(ctx, org, group.id, began, days_after(began, 55), true).await?;
    let now = Timestamp::now();
    for (week, session) in generated.created.iter().filter(|s| s.ends_at < now).enumerate() {
        let marks = session
            .seats
            .iter()
            .enumerate()
            .map(|(i, seat)| AttendanceMark {
                client_id: seat.client_id,
                // A believable pattern: most attend, one misses now and then.
                status: if (i + week) % 5 == 4 { SeatStatus::NoShow } else { SeatStatus::Attended },
                minutes_late: ((i + week) % 4 == 1).then_some(5),
                minutes_left_early: None,
                note: None,
            })
            .collect();
        store.mark_attendance(&therapist, org, session.id, marks).await?;
    }
    Ok(())
}
