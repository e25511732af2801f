//! Therapists' calendars: their stored weeks, booked time and time off,
//! read in a few statements for searches, hints and coverage.

use std::collections::HashMap;

use circles_domain::availability::{MinuteOfDay, WeeklyAvailability, WeeklyRule};
use circles_domain::ids::{OrgId, PersonId};
use circles_domain::input::TimeZoneName;
use circles_domain::interval::{Interval, MAX_BUSY_SPAN};
use circles_domain::session::Modality;
use circles_domain::slots::Calendar;
use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::sql::db::{DbError, Dialect, Executor, Row, placeholders, sql};
use crate::sql::rows::statuses::ROLE_THERAPIST;
use crate::{Result, StoreError};
/// How far either side of a search busy rows and time off are read: a
/// window that holds a start can begin a day before it, and its
/// `max_sessions` counts sessions anywhere in it.
pub(crate) const DAY: SignedDuration = SignedDuration::from_hours(24);

pub(crate) fn decode(what: &str) -> impl Fn(String) -> DbError + '_ {
    move |e| DbError::Decode(format!("{what}: {e}"))
}

/// A rule's columns as stored, in [`RULE_COLUMNS`] order. Every field is
/// optional: a week without rules comes back as one row of nulls from its
/// outer join.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredRule {
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

pub(crate) const RULE_COLUMNS: [&str; 9] = [
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

pub(crate) fn week(timezone: &str, mut rules: Vec<(i64, WeeklyRule)>) -> Result<WeeklyAvailability> {
    let zone = TimeZoneName::parse(timezone).map_err(decode("timezone"))?;
    rules.sort_by_key(|(position, _)| *position);
    Ok(WeeklyAvailability::from_parts(zone, rules.into_iter().map(|(_, rule)| rule).collect()))
}

/// The stored weeks of a few `therapists`, by therapist; those who never
/// set one are missing. One statement, one row per rule.
pub(crate) async fn load_weeks<E: Executor>(
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
pub(crate) async fn load_many_weeks<E: Executor>(
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
pub(crate) async fn therapists<E: Executor>(
    tx: &mut E,
    org: OrgId,
    wanted: Option<&[PersonId]>,
) -> Result<Vec<PersonId>> {
    let rows = match wanted {
        None => {
            tx.fetch_all(
                sql(format!("SELECT id FROM people WHERE org_id = $1 AND role = {ROLE_THERAPIST} ORDER BY id"))
                    .bind(org),
            )
            .await?
        }
        Some([]) => return Ok(Vec::new()),
        Some(ids) => {
            tx.fetch_all(
                sql(format!(
                    "SELECT id FROM people WHERE org_id = $1 AND role = {ROLE_THERAPIST} AND id IN ({}) ORDER BY id",
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
pub(crate) async fn page_of_therapists<E: Executor>(
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
                    sql(format!(
                        "SELECT id FROM people WHERE org_id = $1 AND role = {ROLE_THERAPIST} \
                         AND ($2 IS NULL OR id >= $2) ORDER BY id LIMIT $3"
                    ))
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
pub(crate) async fn load_booked<E: Executor>(
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
pub(crate) async fn load_time_off<E: Executor>(
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
pub(crate) struct Calendars {
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
