//! The demo's groups: a peer-support community and two recurring therapy
//! groups with their history.

use std::sync::Arc;

use circles_domain::group::{GroupSettings, GroupType, SessionCreation};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::interval::Interval;
use circles_domain::recurrence::RecurrenceInput;
use circles_domain::session::{Modality, SeatStatus, SessionKind};
use circles_store::Store;
use circles_store::model::{
    Approval, AttendanceMark, AuditCtx, GroupFields, MembershipChange, NewGroup, NewSession, Response, ScreeningInput,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::check_ins::{self, Held};
use super::{People, TIMEZONE, at, days_after, details};

/// A peer-support community with a proposal awaiting its therapists, a
/// scheduled session with seats taken, and a drop-in session running now.
pub(super) async fn community(
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
        // Its drop-in check-ins are led by the members themselves.
        allow_peer_led: true,
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
        store.add_member(ctx, org, group.id, client, today, None).await?;
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
    let drop_in = store.create_session(&ctx.acting_as(members[0]), org, instant).await?;
    // It is running: a few members took a seat and checked in; one more
    // (Emery) holds a seat and has not arrived yet. Blake, Casey and Dana
    // stay free for a session that starts in a few minutes.
    for &client in &members[4..8] {
        store.join_session(&ctx.acting_as(client), org, drop_in.id, client).await?;
    }
    for &client in members[..1].iter().chain(&members[5..8]) {
        store.check_in(&ctx.acting_as(client), org, drop_in.id, client).await?;
    }
    Ok(())
}

/// A weekly group that began eight weeks ago: members enrolled (and
/// screened where the group screens), twelve weeks generated, attendance
/// marked and check-ins answered for the eight already held.
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

pub(super) async fn therapy_groups(
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
    // Eight weeks ago, so eight weeks of attendance and check-ins are there to look at.
    let began = days_after(today, -56);
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
        let member = store.add_member(ctx, org, group.id, client, joined, None).await?;
        if spec.screening {
            let screening = ScreeningInput { date: joined, notes: "Suitable for group work.".into(), approved: true };
            let change = MembershipChange { screening: Some(screening), ..MembershipChange::default() };
            store.update_member(&therapist, org, group.id, member.id, change).await?;
        }
    }
    let generated = store.generate_sessions(ctx, org, group.id, began, days_after(began, 83), true).await?;
    let now = Timestamp::now();
    let mut held = Vec::new();
    for (week, session) in generated.created.iter().filter(|s| s.ends_at < now).enumerate() {
        let marks: Vec<AttendanceMark> = session
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
        let attended =
            marks.iter().filter(|m| m.status == SeatStatus::Attended).map(|m| m.client_id).collect::<Vec<_>>();
        store.mark_attendance(&therapist, org, session.id, marks).await?;
        held.push(Held { session: session.id, starts_at: session.starts_at, ends_at: session.ends_at, attended });
    }
    check_ins::history(store, ctx, org, group.id, spec.facilitator, &held).await
}
