//! The demo's waitlists: a full extra practice session of the Mindful Skills
//! Group with three clients waiting for a seat, and three clients waiting
//! for one-on-one time with Dr. Hannah Okafor — with scores that differ for
//! reasons anyone can read (urgency, a referral, a declined offer), and one
//! live offer waiting for Blake Carter's answer.

use std::sync::Arc;

use anyhow::Context;
use circles_domain::ids::OrgId;
use circles_domain::interval::Interval;
use circles_domain::session::{Modality, SessionKind};
use circles_domain::waitlist::{Target, Urgency};
use circles_domain::waitlist_match::Preferences;
use circles_store::Store;
use circles_store::model::{Approval, AuditCtx, NewEntry, NewOffer, NewSession};
use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use super::{People, TIMEZONE, at, days_after, details};

fn waiting(client: circles_domain::ids::PersonId, target: Target, urgency: Urgency, referral: bool) -> NewEntry {
    NewEntry {
        client_id: client,
        target,
        urgency,
        preferences: Preferences::default(),
        referral,
        notes: None,
        auto_match: true,
        by_client: false,
    }
}

pub(super) async fn waitlists(
    store: &Arc<dyn Store>,
    ctx: &AuditCtx,
    org: OrgId,
    people: &People,
    zone: &TimeZone,
    today: Date,
) -> anyhow::Result<()> {
    let c = &people.clients;
    let groups = store.list_groups(org, None, false).await?;
    let skills = groups.iter().find(|g| g.fields.name == "Mindful Skills Group").context("the skills group")?;
    // An extra practice evening, small on purpose, and already full.
    let mut day = days_after(today, 9);
    while day.weekday() != Weekday::Wednesday {
        day = days_after(day, 1);
    }
    let start = at(zone, day, 17);
    let session = store
        .create_session(
            ctx,
            org,
            NewSession {
                kind: SessionKind::Group,
                details: details("Mindful Skills: extra practice", Modality::InPerson, "Riverside, group room"),
                interval: Interval::starting_at(start, SignedDuration::from_mins(60)).expect("an hour"),
                timezone: TIMEZONE.into(),
                capacity: 3,
                group_id: Some(skills.id),
                therapist_ids: vec![people.therapists[3]],
                client_ids: c[7..10].to_vec(),
                therapists_must_accept: false,
                approval: Approval::NotNeeded,
            },
        )
        .await?;
    store.create_entry(ctx, org, waiting(c[10], Target::GroupSession(session.id), Urgency::Urgent, true)).await?;
    store.create_entry(ctx, org, waiting(c[11], Target::Group(skills.id), Urgency::Low, false)).await?;
    let mut avery = waiting(c[0], Target::Group(skills.id), Urgency::Medium, false);
    avery.preferences.weekdays = vec![Weekday::Tuesday];
    store.create_entry(ctx, org, avery).await?;

    // One-on-one time with Dr. Okafor.
    let hannah = Target::OneOnOne { therapist: Some(people.therapists[0]), modality: None, duration_minutes: 50 };
    // Waiting from two days out: offers (the demo's own and any the waitlist
    // pass sends) never hold the next hours of Dr. Okafor's calendar, which
    // a newcomer trying the demo books first.
    let from_two_days = |client| {
        let mut entry = waiting(client, hannah, Urgency::Medium, false);
        entry.preferences.earliest = Some(days_after(today, 2));
        entry
    };
    let blake = store.create_entry(ctx, org, NewEntry { urgency: Urgency::High, ..from_two_days(c[1]) }).await?;
    store.create_entry(ctx, org, NewEntry { referral: true, ..from_two_days(c[2]) }).await?;
    let dana = store.create_entry(ctx, org, NewEntry { urgency: Urgency::High, ..from_two_days(c[3]) }).await?;
    // Each offer is one of the slots suggested for that client's own entry,
    // so it fits their calendar as well as Dr. Okafor's.
    if let Some(slot) = store.entry_suggestions(org, dana.id, 1).await?.first() {
        // Dana was offered a time and could not make it: the penalty shows.
        let offered =
            store.send_offer(ctx, org, NewOffer { entry_id: dana.id, place: slot.place, expires_in: None }).await?;
        store.decline_offer(ctx, org, offered.id, Some("I work at that time".into())).await?;
    }
    if let Some(slot) = store.entry_suggestions(org, blake.id, 1).await?.first() {
        // Blake has a day to answer.
        let expires_in = Some(SignedDuration::from_hours(24));
        store.send_offer(ctx, org, NewOffer { entry_id: blake.id, place: slot.place, expires_in }).await?;
    }
    Ok(())
}
