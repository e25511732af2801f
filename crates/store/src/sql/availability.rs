//! Working hours: replacing and reading a therapist's week, searching free
//! start times for many therapists at once, and keeping one-on-one
//! bookings inside the therapist's hours.
//!
//! A search runs a fixed number of statements whatever the number of
//! therapists — their weeks, their busy rows and their time off are each
//! read in one statement — and leaves the arithmetic to the domain crate.

use std::collections::HashMap;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::availability::{MinuteOfDay, WeeklyAvailability, WeeklyRule, ZoneOffsets};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::TimeZoneName;
use circles_domain::interval::{self, Interval, MAX_BUSY_SPAN};
use circles_domain::session::{Modality, NotificationKind};
use circles_domain::slots::{Calendar, Fit, SlotFinder, SlotSearch, fit, is_free};
use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, HintRequest, HintsWithin};
use super::db::{Backend, DbError, Dialect, Executor, Row, placeholders, sql};
use super::freed::{self, Cause};
use super::notify::{self, Notice};
use super::sessions::insert_rows;
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, AvailabilitySearch, BusyKind, SearchPage, TherapistWeek};
use crate::{AvailabilityStore, Result, StoreError};

/// How far either side of a search busy rows and time off are read: a
/// window that holds a start can begin a day before it, and its
/// `max_sessions` counts sessions anywhere in it.
const DAY: SignedDuration = SignedDuration::from_hours(24);

fn decode(what: &str) -> impl Fn(String) -> DbError + '_ {
    move |e| DbError::Decode(format!("{what}: {e}"))
}

/// A rule's columns as stored, in [`RULE_COLUMNS`] order. Every field is
/// optional: a week without rules comes back as one row of nulls from its
/// outer join.
#[derive(Debug, Deserialize)]
struct StoredRule {
    position: Option<i64>,
    weekday: Option<i64>,
    start_minute: Option<i64>,
    end_minute: Option<i64>,
    modality: Option<String>,
    location: Option<String>,
    max_sessions: Option<i64>,
    effective_from: Option<Date>,
    effective_to: Option<Date>,
}

const RULE_COLUMNS: [&str; 9] = [
    "r.position",
    "r.weekday",
    "r.start_minute",
    "r.end_minute",
    "r.modality",
    "r.location",
    "r.max_sessions",
    "r.effective_from",
    "r.effective_to",
];

impl StoredRule {
    fn from_row(row: &impl Row) -> Result<StoredRule> {
        Ok(StoredRule {
            position: row.opt_int("position")?,
            weekday: row.opt_int("weekday")?,
            start_minute: row.opt_int("start_minute")?,
            end_minute: row.opt_int("end_minute")?,
            modality: row.opt_text("modality")?,
            location: row.opt_text("location")?,
            max_sessions: row.opt_int("max_sessions")?,
            effective_from: row.opt_date("effective_from")?,
            effective_to: row.opt_date("effective_to")?,
        })
    }

    /// The rule, or `None` for the null row of a week without rules.
    fn rule(self) -> Result<Option<(i64, WeeklyRule)>> {
        let Some(position) = self.position else { return Ok(None) };
        let bad = |what: &str| DbError::Decode(format!("availability rule {what}"));
        let weekday =
            self.weekday.and_then(|d| i8::try_from(d).ok()).and_then(|d| Weekday::from_monday_one_offset(d).ok());
        let minute = |m: Option<i64>| m.and_then(MinuteOfDay::from_minutes);
        let rule = WeeklyRule {
            weekday: weekday.ok_or_else(|| bad("weekday"))?,
            start: minute(self.start_minute).ok_or_else(|| bad("start"))?,
            end: minute(self.end_minute).ok_or_else(|| bad("end"))?,
            modality: self.modality.map(|m| m.parse::<Modality>()).transpose().map_err(decode("modality"))?,
            location: self.location,
            max_sessions: self.max_sessions.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            effective_from: self.effective_from,
            effective_to: self.effective_to,
        };
        Ok(Some((position, rule)))
    }
}

fn week(timezone: &str, mut rules: Vec<(i64, WeeklyRule)>) -> Result<WeeklyAvailability> {
    let zone = TimeZoneName::parse(timezone).map_err(decode("timezone"))?;
    rules.sort_by_key(|(position, _)| *position);
    Ok(WeeklyAvailability::from_parts(zone, rules.into_iter().map(|(_, rule)| rule).collect()))
}

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

/// The stored weeks of a few `therapists`, by therapist; those who never
/// set one are missing. One statement, one row per rule.
pub(super) async fn load_weeks<E: Executor>(
    tx: &mut E,
    org: OrgId,
    therapists: &[PersonId],
) -> Result<HashMap<PersonId, WeeklyAvailability>> {
    if therapists.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT w.therapist_id, w.timezone, {} FROM therapist_weeks w \
                 LEFT JOIN availability_rules r ON r.org_id = w.org_id AND r.therapist_id = w.therapist_id \
                 WHERE w.org_id = $1 AND w.therapist_id IN ({})",
                RULE_COLUMNS.join(", "),
                placeholders(2, therapists.len())
            ))
            .bind(org)
            .bind_all(therapists.iter().copied()),
        )
        .await?;
    let mut parts: HashMap<PersonId, (String, Vec<(i64, WeeklyRule)>)> = HashMap::new();
    for row in &rows {
        let entry = parts
            .entry(row.id("therapist_id")?)
            .or_insert_with(|| (row.text("timezone").unwrap_or_default(), Vec::new()));
        entry.1.extend(StoredRule::from_row(row)?.rule()?);
    }
    parts.into_iter().map(|(therapist, (zone, rules))| Ok((therapist, week(&zone, rules)?))).collect()
}

/// [`load_weeks`] for many therapists. Where rows are dear (see
/// [`Dialect::folds_rows_into_json`]), one row per therapist with its rules
/// as JSON. One statement either way.
async fn load_many_weeks<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    therapists: &[PersonId],
) -> Result<HashMap<PersonId, WeeklyAvailability>> {
    if therapists.is_empty() || !dialect.folds_rows_into_json() {
        return load_weeks(tx, org, therapists).await;
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT w.therapist_id, w.timezone, {} AS rules FROM therapist_weeks w \
                 LEFT JOIN availability_rules r ON r.org_id = w.org_id AND r.therapist_id = w.therapist_id \
                 WHERE w.org_id = $1 AND w.therapist_id IN ({}) GROUP BY w.therapist_id, w.timezone",
                dialect.json_rows(&RULE_COLUMNS),
                placeholders(2, therapists.len())
            ))
            .bind(org)
            .bind_all(therapists.iter().copied()),
        )
        .await?;
    let mut weeks = HashMap::with_capacity(rows.len());
    for row in &rows {
        let stored: Vec<StoredRule> =
            serde_json::from_str(&row.text("rules")?).map_err(|e| decode("rules")(e.to_string()))?;
        let rules = stored.into_iter().filter_map(|r| r.rule().transpose()).collect::<Result<Vec<_>>>()?;
        weeks.insert(row.id("therapist_id")?, week(&row.text("timezone")?, rules)?);
    }
    Ok(weeks)
}

/// Every therapist of `org`, or those of `wanted` — each of which must be
/// one (else the request field is named). One statement.
async fn therapists<E: Executor>(tx: &mut E, org: OrgId, wanted: Option<&[PersonId]>) -> Result<Vec<PersonId>> {
    let rows = match wanted {
        None => {
            tx.fetch_all(sql("SELECT id FROM people WHERE org_id = $1 AND role = 'therapist' ORDER BY id").bind(org))
                .await?
        }
        Some([]) => return Ok(Vec::new()),
        Some(ids) => {
            tx.fetch_all(
                sql(format!(
                    "SELECT id FROM people WHERE org_id = $1 AND role = 'therapist' AND id IN ({}) ORDER BY id",
                    placeholders(2, ids.len())
                ))
                .bind(org)
                .bind_all(ids.iter().copied()),
            )
            .await?
        }
    };
    let found = rows.iter().map(|r| r.id("id").map_err(Into::into)).collect::<Result<Vec<PersonId>>>()?;
    if let Some(missing) = wanted.and_then(|ids| ids.iter().find(|id| found.binary_search(id).is_err())) {
        return Err(StoreError::invalid("therapist_ids", format!("{missing} is not a therapist of this organisation")));
    }
    Ok(found)
}

/// One page of the therapists a search covers, in id order, from `cursor`
/// on, and the first therapist after the page. The wanted ones must all be
/// therapists (else the request field is named). One statement.
async fn page_of_therapists<E: Executor>(
    tx: &mut E,
    org: OrgId,
    wanted: Option<&[PersonId]>,
    cursor: Option<PersonId>,
    page_size: usize,
) -> Result<(Vec<PersonId>, Option<PersonId>)> {
    let mut found = match wanted {
        Some(ids) => therapists(tx, org, Some(ids)).await?,
        None => {
            let rows = tx
                .fetch_all(
                    sql("SELECT id FROM people WHERE org_id = $1 AND role = 'therapist' AND ($2 IS NULL OR id >= $2) \
                         ORDER BY id LIMIT $3")
                    .bind(org)
                    .bind(cursor)
                    .bind(i64::try_from(page_size.saturating_add(1)).unwrap_or(i64::MAX)),
                )
                .await?;
            rows.iter().map(|r| r.id("id").map_err(Into::into)).collect::<Result<Vec<PersonId>>>()?
        }
    };
    if let Some(cursor) = cursor {
        found.retain(|id| *id >= cursor);
    }
    let next = found.get(page_size).copied();
    found.truncate(page_size);
    Ok((found, next))
}

/// Sessions and live holds of `people` starting in `window`, each list
/// sorted by start: busy, and counted against `max_sessions`. One
/// statement; where rows are dear (see [`Dialect::folds_rows_into_json`]),
/// one row per person with their intervals as JSON.
pub(super) async fn load_booked<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    people: &[PersonId],
    window: Interval,
    now: Timestamp,
) -> Result<HashMap<PersonId, Vec<Interval>>> {
    let mut booked: HashMap<PersonId, Vec<Interval>> = HashMap::new();
    if people.is_empty() {
        return Ok(booked);
    }
    let filter = format!(
        "FROM busy_intervals WHERE org_id = $1 AND starts_at < $2 AND starts_at >= $3 \
         AND (expires_at IS NULL OR expires_at > $4) AND person_id IN ({})",
        placeholders(5, people.len())
    );
    let folded = dialect.folds_rows_into_json();
    let select = if folded {
        let spans = dialect.json_rows(&[&dialect.micros("starts_at"), &dialect.micros("ends_at")]);
        format!("SELECT person_id, {spans} AS spans {filter} GROUP BY person_id")
    } else {
        format!("SELECT person_id, starts_at, ends_at {filter}")
    };
    let rows = tx
        .fetch_all(
            sql(select)
                .bind(org)
                .bind(window.end)
                .bind(window.start - MAX_BUSY_SPAN)
                .bind(now)
                .bind_all(people.iter().copied()),
        )
        .await?;
    for row in &rows {
        let list = booked.entry(row.id("person_id")?).or_default();
        if folded {
            let spans: Vec<(i64, i64)> =
                serde_json::from_str(&row.text("spans")?).map_err(|e| decode("busy spans")(e.to_string()))?;
            list.extend(spans.into_iter().filter_map(|(start, end)| {
                Interval::new(Timestamp::from_microsecond(start).ok()?, Timestamp::from_microsecond(end).ok()?)
            }));
        } else {
            list.extend(Interval::new(row.time("starts_at")?, row.time("ends_at")?));
        }
    }
    for list in booked.values_mut() {
        list.sort();
    }
    Ok(booked)
}

/// Time off of `therapists` in the given states overlapping `window`. One statement.
pub(super) async fn load_time_off<E: Executor>(
    tx: &mut E,
    org: OrgId,
    therapists: &[PersonId],
    window: Interval,
    statuses: &str,
) -> Result<HashMap<PersonId, Vec<Interval>>> {
    let mut away: HashMap<PersonId, Vec<Interval>> = HashMap::new();
    if therapists.is_empty() {
        return Ok(away);
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT therapist_id, starts_at, ends_at FROM time_off WHERE org_id = $1 AND status IN ({statuses}) \
                 AND starts_at < $2 AND ends_at > $3 AND therapist_id IN ({})",
                placeholders(4, therapists.len())
            ))
            .bind(org)
            .bind(window.end)
            .bind(window.start)
            .bind_all(therapists.iter().copied()),
        )
        .await?;
    for row in &rows {
        if let Some(interval) = Interval::new(row.time("starts_at")?, row.time("ends_at")?) {
            away.entry(row.id("therapist_id")?).or_default().push(interval);
        }
    }
    Ok(away)
}

/// Everything a search needs about `therapists` around `window`, in four
/// statements.
pub(super) struct Calendars {
    pub therapists: Vec<PersonId>,
    pub weeks: HashMap<PersonId, WeeklyAvailability>,
    pub booked: HashMap<PersonId, Vec<Interval>>,
    pub away: HashMap<PersonId, Vec<Interval>>,
}

impl Calendars {
    pub async fn load<E: Executor>(
        tx: &mut E,
        dialect: Dialect,
        org: OrgId,
        wanted: Option<&[PersonId]>,
        window: Interval,
        away_statuses: &str,
        now: Timestamp,
    ) -> Result<Calendars> {
        let therapists = therapists(tx, org, wanted).await?;
        Calendars::of_therapists(tx, dialect, org, therapists, window, away_statuses, now).await
    }

    /// For `therapists` already known: three statements.
    pub async fn of_therapists<E: Executor>(
        tx: &mut E,
        dialect: Dialect,
        org: OrgId,
        therapists: Vec<PersonId>,
        window: Interval,
        away_statuses: &str,
        now: Timestamp,
    ) -> Result<Calendars> {
        let margin = Interval::new(window.start - DAY, window.end + DAY).expect("a widened window");
        Ok(Calendars {
            weeks: load_many_weeks(tx, dialect, org, &therapists).await?,
            booked: load_booked(tx, dialect, org, &therapists, margin, now).await?,
            away: load_time_off(tx, org, &therapists, margin, away_statuses).await?,
            therapists,
        })
    }

    pub fn of(&self, therapist: PersonId) -> Calendar<'_> {
        Calendar {
            week: self.weeks.get(&therapist),
            booked: self.booked.get(&therapist).map_or(&[], Vec::as_slice),
            blocked: self.away.get(&therapist).map_or(&[], Vec::as_slice),
        }
    }
}

/// Refuses one-on-one `slots` for `therapist` that fall outside their
/// working hours or in a window already holding its `max_sessions`, with
/// retry hints that fit their hours and are free for all `people`. A
/// therapist without rules may be booked at any time.
pub(super) async fn require_working_hours<E: Executor>(
    tx: &mut E,
    org: OrgId,
    therapist: PersonId,
    modality: Modality,
    slots: &[Interval],
    people: &[PersonId],
    now: Timestamp,
) -> Result<()> {
    let Some(week) = load_weeks(tx, org, &[therapist]).await?.remove(&therapist) else { return Ok(()) };
    let (Some(first), Some(last)) = (slots.iter().map(|s| s.start).min(), slots.iter().map(|s| s.end).max()) else {
        return Ok(());
    };
    if week.is_unrestricted() {
        return Ok(());
    }
    let mut booked = if week.rules().iter().any(|r| r.max_sessions.is_some()) {
        let around = Interval::new(first - DAY, last + DAY).expect("a widened window");
        let busy = busy::load(tx, org, &[therapist], around).await?;
        busy.iter().filter(|b| b.is_live(now) && b.kind != BusyKind::TimeOff).map(|b| b.interval).collect()
    } else {
        Vec::new()
    };
    booked.sort();
    for &slot in slots {
        let why = match fit(&week, &booked, slot, modality) {
            Fit::Inside => {
                let at = booked.partition_point(|b| *b < slot);
                booked.insert(at, slot);
                continue;
            }
            Fit::OutsideHours => {
                format!("{} is outside the therapist's working hours for {} sessions", slot.start, modality.as_str())
            }
            Fit::WindowFull { max_sessions } => {
                format!("the therapist's working window at {} already holds its {max_sessions} sessions", slot.start)
            }
        };
        let within = HintsWithin::WorkingHours { therapist, modality };
        let mut error = StoreError::conflict("outside_availability", why);
        if let StoreError::Conflict(c) = &mut error {
            c.details.insert("slot".into(), json!(slot));
        }
        let hints = HintRequest { org, people: people.to_vec(), wanted: slot, now, within };
        return Err(hints.defer(error));
    }
    Ok(())
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
                    sql("SELECT o.timezone AS org_timezone, w.updated_at FROM people p \
                         JOIN organisations o ON o.id = p.org_id \
                         LEFT JOIN therapist_weeks w ON w.org_id = p.org_id AND w.therapist_id = p.id \
                         WHERE p.org_id = $1 AND p.id = $2 AND p.role = 'therapist'")
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
            let calendars =
                Calendars::of_therapists(&mut tx, dialect, org, therapists.clone(), window, "'APPROVED'", now).await?;
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
        let calendars =
            read_tx!(self, |tx| Calendars::load(&mut tx, dialect, org, None, slot, "'APPROVED'", now).await?)?;
        Ok(calendars.therapists.iter().copied().filter(|&t| is_free(&calendars.of(t), slot, modality)).collect())
    }
}
