//! Working hours: replacing and reading a therapist's week, searching free
//! start times for many therapists at once, and keeping one-on-one
//! bookings inside the therapist's hours.
//!
//! A search runs a fixed number of statements whatever the number of
//! therapists — their weeks, their busy rows and their time off are each
//! read in one statement — and leaves the arithmetic to the domain crate.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::availability::{WeeklyAvailability, ZoneOffsets};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::TimeZoneName;
use circles_domain::interval::{self, Interval};
use circles_domain::session::{Modality, NotificationKind};
use circles_domain::slots::{SlotFinder, SlotSearch, is_free};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self};
use super::db::insert_rows;
use super::db::{Backend, Executor, Row, sql};
use super::notify::{self, Notice};
use super::rows::calendars::{Calendars, decode, load_weeks, page_of_therapists};
use super::rows::freed::{self, Cause};
use super::rows::statuses::ROLE_THERAPIST;
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, AvailabilitySearch, SearchPage, TherapistWeek};
use crate::sql::rows::statuses::TIME_OFF_APPROVED;
use crate::{AvailabilityStore, Result, StoreError};

/// What a therapist is told when someone else replaces their week.
fn hours_changed(week: &WeeklyAvailability) -> Notice<'static> {
    let body = match week.rules().len() {
        0 => "Your weekly working hours were cleared: you can be booked whenever you are free.".to_owned(),
        1 => format!("Your weekly working hours were replaced: 1 window a week, in {}.", week.timezone()),
        n => format!("Your weekly working hours were replaced: {n} windows a week, in {}.", week.timezone()),
    };
    Notice {
        kind: NotificationKind::AvailabilityChanged,
        title: "Your working hours were changed",
        body,
        session: None,
        group: None,
    }
}

/// The time ahead that `after` opens and `before` did not. A week without
/// rules is open at any time, so widening from it adds nothing.
fn widened_hours(before: Option<&WeeklyAvailability>, after: &WeeklyAvailability, now: Timestamp) -> Vec<Interval> {
    let Some(span) = Interval::new(now, now + freed::FREED_AHEAD) else { return Vec::new() };
    let windows = |week: &WeeklyAvailability| -> Vec<Interval> {
        if week.is_unrestricted() {
            return vec![span];
        }
        let offsets = ZoneOffsets::covering(week.zone(), span);
        week.windows(span, &offsets).into_iter().map(|w| w.interval).collect()
    };
    match before {
        Some(before) if !before.is_unrestricted() => interval::subtract(windows(after), windows(before)),
        _ => Vec::new(),
    }
}

/// Local midnight of `at`'s date in `zone`: where a grid without rules starts.
fn local_midnight(at: Timestamp, zone: &TimeZoneName) -> Timestamp {
    let zoned = at.to_zoned(zone.zone());
    zoned.start_of_day().map_or(at, |midnight| midnight.timestamp())
}

#[async_trait]
impl<B: Backend> AvailabilityStore for SqlStore<B> {
    async fn set_availability(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        therapist: PersonId,
        week: WeeklyAvailability,
    ) -> Result<TherapistWeek> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        self.after_freeing(write_tx!(self, |tx| {
            busy::lock_people(&mut tx, dialect, org, &[(therapist, Role::Therapist, "therapist_id")]).await?;
            let before = load_weeks(&mut tx, org, &[therapist]).await?.remove(&therapist);
            tx.execute(
                sql("INSERT INTO therapist_weeks (org_id, therapist_id, timezone, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, therapist_id) DO UPDATE \
                     SET timezone = excluded.timezone, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
                .bind(org)
                .bind(therapist)
                .bind(week.timezone().as_str())
                .bind(ctx.person_id)
                .bind(now),
            )
            .await?;
            tx.execute(
                sql("DELETE FROM availability_rules WHERE org_id = $1 AND therapist_id = $2").bind(org).bind(therapist),
            )
            .await?;
            insert_rows(
                &mut tx,
                "availability_rules (org_id, therapist_id, position, weekday, start_minute, end_minute, modality, \
                 location, max_sessions, effective_from, effective_to)",
                week.rules().iter().enumerate().map(|(i, r)| {
                    vec![
                        org.into(),
                        therapist.into(),
                        (i as i64).into(),
                        i64::from(r.weekday.to_monday_one_offset()).into(),
                        r.start.minutes().into(),
                        r.end.minutes().into(),
                        r.modality.map(Modality::as_str).into(),
                        r.location.clone().into(),
                        r.max_sessions.into(),
                        r.effective_from.into(),
                        r.effective_to.into(),
                    ]
                }),
            )
            .await?;
            let added = widened_hours(before.as_ref(), &week, now);
            freed::record_free_time(&mut tx, org, therapist, &added, false, Cause::HoursWidened, now).await?;
            if ctx.person_id != Some(therapist) {
                notify::push(&mut tx, org, now, [therapist], ctx.person_id, &hours_changed(&week)).await?;
            }
            let draft = AuditDraft::new("availability.set", "therapist", therapist)
                .details(json!({ "timezone": week.timezone(), "rules": week.rules().len() }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            TherapistWeek { therapist_id: therapist, week: week.clone(), updated_at: Some(now) }
        }))
    }

    async fn availability(&self, org: OrgId, therapist: PersonId) -> Result<TherapistWeek> {
        read_tx!(self, |tx| {
            let row = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT o.timezone AS org_timezone, w.updated_at FROM people p \
                         JOIN organisations o ON o.id = p.org_id \
                         LEFT JOIN therapist_weeks w ON w.org_id = p.org_id AND w.therapist_id = p.id \
                         WHERE p.org_id = $1 AND p.id = $2 AND p.role = {ROLE_THERAPIST}"
                    ))
                    .bind(org)
                    .bind(therapist),
                )
                .await?
                .ok_or(StoreError::NotFound("therapist"))?;
            let week = match load_weeks(&mut tx, org, &[therapist]).await?.remove(&therapist) {
                Some(week) => week,
                None => {
                    let zone = TimeZoneName::parse(&row.text("org_timezone")?).map_err(decode("timezone"))?;
                    WeeklyAvailability::from_parts(zone, Vec::new())
                }
            };
            TherapistWeek { therapist_id: therapist, week, updated_at: row.opt_time("updated_at")? }
        })
    }

    async fn search_availability(&self, org: OrgId, search: AvailabilitySearch) -> Result<SearchPage> {
        let now = self.clock.now();
        let Some(window) = Interval::new(search.from, search.to + search.duration) else {
            return Ok(SearchPage::empty());
        };
        let dialect = self.backend.dialect();
        let (therapists, next_therapist, calendars) = read_tx!(self, |tx| {
            let (therapists, next) =
                page_of_therapists(&mut tx, org, search.therapists.as_deref(), search.cursor, search.page_size).await?;
            let calendars = Calendars::of_therapists(
                &mut tx,
                dialect,
                org,
                therapists.clone(),
                window,
                &TIME_OFF_APPROVED.to_string(),
                now,
            )
            .await?;
            (therapists, next, calendars)
        })?;
        let slots = SlotSearch {
            from: search.from,
            to: search.to,
            duration: search.duration,
            step: search.step,
            modality: search.modality,
            not_before: now,
            grid_origin: local_midnight(search.from, &search.zone),
            limit: usize::MAX,
        };
        let parts = (calendars.weeks, calendars.booked, calendars.away);
        Ok(SearchPage::new(therapists, next_therapist, parts, SlotFinder::new(slots)))
    }

    async fn free_at(&self, org: OrgId, slot: Interval, modality: Option<Modality>) -> Result<Vec<PersonId>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        let calendars = read_tx!(self, |tx| Calendars::load(
            &mut tx,
            dialect,
            org,
            None,
            slot,
            &TIME_OFF_APPROVED.to_string(),
            now
        )
        .await?)?;
        Ok(calendars.therapists.iter().copied().filter(|&t| is_free(&calendars.of(t), slot, modality)).collect())
    }
}
