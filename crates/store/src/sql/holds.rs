//! Holds: short-lived reservations that become sessions or give their time
//! back.

use std::collections::BTreeMap;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{HoldId, OrgId, PersonId, SeriesId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::{SessionDetails, SessionKind, SessionStatus};
use jiff::Timestamp;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, HintsWithin, Owner};
use super::db::insert_rows;
use super::db::{Backend, DbError, Executor, Row, placeholders, sql};
use super::rows::freed::{self, Cause};
use super::rows::hours::require_working_hours;
use super::rows::names;
use super::rows::sessions::insert_session;
use super::rows::statuses::{HOLD_CONFIRMED, HOLD_LIVE};
use super::{SqlStore, read_one, read_tx, write_tx};
use crate::model::{Approval, AuditCtx, BusyKind, Hold, HoldStatus, NewHold, NewSession, Session};
use crate::{HoldStore, Result, StoreError};

fn hold_claims(hold: HoldId, input: &NewHold) -> Vec<Claim> {
    let owner = Owner::Hold { hold, expires_at: input.expires_at };
    input
        .slots
        .iter()
        .flat_map(|&interval| [input.therapist_id, input.client_id].map(|person| Claim { person, interval, owner }))
        .collect()
}

/// A hold with what its sessions will be made of.
struct StoredHold {
    hold: Hold,
    details: SessionDetails,
    timezone: String,
}

async fn fetch_hold<E: Executor>(
    tx: &mut E,
    org: OrgId,
    id: HoldId,
    lock: &str,
    now: jiff::Timestamp,
) -> Result<StoredHold> {
    let row = tx
        .fetch_optional(sql(format!("SELECT * FROM holds WHERE org_id = $1 AND id = $2{lock}")).bind(org).bind(id))
        .await?
        .ok_or(StoreError::NotFound("hold"))?;
    let slots = tx
        .fetch_all(
            sql("SELECT starts_at, ends_at FROM hold_slots WHERE org_id = $1 AND hold_id = $2 ORDER BY position")
                .bind(org)
                .bind(id),
        )
        .await?
        .iter()
        .map(|r| {
            Interval::new(r.time("starts_at")?, r.time("ends_at")?)
                .ok_or_else(|| DbError::Decode("empty slot".into()).into())
        })
        .collect::<Result<Vec<_>>>()?;
    let expires_at = row.time("expires_at")?;
    let stored: HoldStatus = row.parsed("status").map_err(|_| DbError::Decode("hold status".into()))?;
    let status = if stored == HoldStatus::Live && expires_at <= now { HoldStatus::Expired } else { stored };
    let details = SessionDetails {
        title: circles_domain::input::Label::parse(&row.text("title")?, 200).map_err(DbError::Decode)?,
        description: row.text("description")?,
        modality: row.parsed("modality").map_err(|_| DbError::Decode("modality".into()))?,
        virtual_link: row.opt_text("virtual_link")?,
        location: row.opt_text("location")?,
        address: row.opt_text("address")?,
    };
    let hold = Hold {
        id,
        therapist_id: row.id("therapist_id")?,
        client_id: row.id("client_id")?,
        status,
        expires_at,
        slots,
        created_by: row.opt_id("created_by")?,
        created_at: row.time("created_at")?,
    };
    Ok(StoredHold { hold, details, timezone: row.text("timezone")? })
}

/// The therapists' time that `holds` keep, by therapist.
async fn held_therapist_time<E: Executor>(
    tx: &mut E,
    org: OrgId,
    holds: &[HoldId],
) -> Result<BTreeMap<PersonId, Vec<Interval>>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT b.person_id, b.starts_at, b.ends_at FROM busy_intervals b \
                 JOIN holds h ON h.org_id = b.org_id AND h.id = b.hold_id AND h.therapist_id = b.person_id \
                 WHERE b.org_id = $1 AND b.hold_id IN ({})",
                placeholders(2, holds.len())
            ))
            .bind(org)
            .bind_all(holds.iter().copied()),
        )
        .await?;
    let mut time: BTreeMap<PersonId, Vec<Interval>> = BTreeMap::new();
    for row in &rows {
        if let Some(interval) = Interval::new(row.time("starts_at")?, row.time("ends_at")?) {
            time.entry(row.id("person_id")?).or_default().push(interval);
        }
    }
    Ok(time)
}

#[async_trait]
impl<B: Backend> HoldStore for SqlStore<B> {
    async fn create_hold(&self, ctx: &AuditCtx, org: OrgId, input: NewHold) -> Result<Hold> {
        let now = self.clock.now();
        let id = HoldId::new();
        let claims = hold_claims(id, &input);
        // A hold is a one-on-one appointment in waiting: it keeps to the
        // therapist's working hours.
        let within = HintsWithin::WorkingHours { therapist: input.therapist_id, modality: input.details.modality };
        read_one!(self, |tx| busy::check(&mut tx, org, &claims, now, within).await?)?;
        let people =
            [(input.therapist_id, Role::Therapist, "therapist_id"), (input.client_id, Role::Client, "client_id")];
        write_tx!(self, |tx| {
            busy::lock_people(&mut tx, self.backend.dialect(), org, &people).await?;
            let everyone = [input.therapist_id, input.client_id];
            let modality = input.details.modality;
            require_working_hours(&mut tx, org, input.therapist_id, modality, &input.slots, &everyone, now).await?;
            let mut drafts = Vec::new();
            busy::claim_within(&mut tx, org, &claims, now, &mut drafts, within).await?;
            let d = &input.details;
            tx.execute(
                sql(format!(
                    "INSERT INTO holds (org_id, id, therapist_id, client_id, status, expires_at, title, description, \
                     modality, virtual_link, location, address, timezone, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, {HOLD_LIVE}, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                ))
                .bind(org)
                .bind(id)
                .bind(input.therapist_id)
                .bind(input.client_id)
                .bind(input.expires_at)
                .bind(d.title.as_str())
                .bind(&d.description)
                .bind(d.modality.as_str())
                .bind(d.virtual_link.clone())
                .bind(d.location.clone())
                .bind(d.address.clone())
                .bind(&input.timezone)
                .bind(ctx.person_id)
                .bind(now),
            )
            .await?;
            insert_rows(
                &mut tx,
                "hold_slots (org_id, hold_id, position, starts_at, ends_at)",
                input.slots.iter().enumerate().map(|(i, slot)| {
                    vec![org.into(), id.into(), (i as i64).into(), slot.start.into(), slot.end.into()]
                }),
            )
            .await?;
            drafts.push(
                AuditDraft::new("hold.create", "hold", id)
                    .subject(input.client_id)
                    .details(json!({ "slots": input.slots.len(), "expires_at": input.expires_at })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch_hold(&mut tx, org, id, "", now).await?.hold
        })
    }

    async fn held_times(
        &self,
        org: OrgId,
        therapist: PersonId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Interval>> {
        let now = self.clock.now();
        read_one!(self, |tx| {
            // A live hold's time is in `busy_intervals` until it is confirmed,
            // released or swept; one past its expiry no longer holds it.
            let rows = tx
                .fetch_all(
                    sql("SELECT starts_at, ends_at FROM busy_intervals WHERE org_id = $1 AND person_id = $2 \
                         AND kind = $3 AND expires_at > $4 AND starts_at >= $5 AND starts_at < $6 ORDER BY starts_at")
                    .bind(org)
                    .bind(therapist)
                    .bind(BusyKind::Hold.as_str())
                    .bind(now)
                    .bind(from)
                    .bind(to),
                )
                .await?;
            rows.iter()
                .filter_map(|row| match (row.time("starts_at"), row.time("ends_at")) {
                    (Ok(start), Ok(end)) => Interval::new(start, end).map(Ok),
                    (Err(e), _) | (_, Err(e)) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()?
        })
    }

    async fn hold(&self, org: OrgId, id: HoldId) -> Result<Hold> {
        let now = self.clock.now();
        read_tx!(self, |tx| fetch_hold(&mut tx, org, id, "", now).await?.hold)
    }

    async fn confirm_hold(&self, ctx: &AuditCtx, org: OrgId, id: HoldId) -> Result<Vec<Session>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let StoredHold { hold, details, timezone } =
                fetch_hold(&mut tx, org, id, dialect.for_update(), now).await?;
            match hold.status {
                HoldStatus::Live => {}
                HoldStatus::Expired => {
                    return Err(StoreError::conflict("hold_expired", "the hold expired; place a new one"));
                }
                HoldStatus::Released => return Err(StoreError::conflict("hold_released", "the hold was released")),
                HoldStatus::Confirmed => {
                    return Err(StoreError::conflict("hold_confirmed", "the hold is already confirmed"));
                }
            }
            // The hold's rows make way for the sessions' rows: same people,
            // same times, so nothing else can clash in between.
            tx.execute(sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id = $2").bind(org).bind(id)).await?;
            let series = (hold.slots.len() > 1).then(SeriesId::new);
            let mut drafts = Vec::new();
            let mut created = Vec::new();
            for (position, slot) in hold.slots.iter().enumerate() {
                let session_id = SessionId::new();
                let input = NewSession {
                    kind: SessionKind::OneOnOne,
                    details: details.clone(),
                    interval: *slot,
                    timezone: timezone.clone(),
                    capacity: 1,
                    group_id: None,
                    therapist_ids: vec![hold.therapist_id],
                    client_ids: vec![hold.client_id],
                    therapists_must_accept: false,
                    approval: Approval::NotNeeded,
                };
                let recurrence = series.map(|s| (s, slot.start.to_string()));
                let session = insert_session(
                    &mut tx,
                    org,
                    session_id,
                    &input,
                    SessionStatus::Scheduled,
                    recurrence,
                    hold.created_by,
                    now,
                )
                .await?;
                let claims = [hold.therapist_id, hold.client_id].map(|person| Claim {
                    person,
                    interval: *slot,
                    owner: Owner::Session(session_id),
                });
                busy::insert(&mut tx, org, &claims).await?;
                tx.execute(
                    sql("UPDATE hold_slots SET session_id = $3 WHERE org_id = $1 AND hold_id = $2 AND position = $4")
                        .bind(org)
                        .bind(id)
                        .bind(session_id)
                        .bind(position as i64),
                )
                .await?;
                drafts.push(
                    AuditDraft::new("session.create", "session", session_id)
                        .subject(hold.client_id)
                        .details(json!({ "from_hold": id, "starts_at": slot.start })),
                );
                created.push(session);
            }
            tx.execute(
                sql(format!(
                    "UPDATE holds SET status = {HOLD_CONFIRMED}, closed_at = $3 WHERE org_id = $1 AND id = $2"
                ))
                .bind(org)
                .bind(id)
                .bind(now),
            )
            .await?;
            drafts.push(
                AuditDraft::new("hold.confirm", "hold", id)
                    .subject(hold.client_id)
                    .details(json!({ "sessions": created })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            names::fill(&mut tx, org, &mut created).await?;
            created
        })
    }

    async fn release_hold(&self, ctx: &AuditCtx, org: OrgId, id: HoldId) -> Result<Hold> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            let hold = fetch_hold(&mut tx, org, id, dialect.for_update(), now).await?.hold;
            let mut drafts = Vec::new();
            match hold.status {
                HoldStatus::Confirmed => {
                    return Err(StoreError::conflict(
                        "hold_confirmed",
                        "a confirmed hold is released by cancelling its sessions",
                    ));
                }
                HoldStatus::Released => {}
                HoldStatus::Expired => {
                    busy::retire_holds(&mut tx, org, &[id], HoldStatus::Expired, now, &mut drafts).await?
                }
                HoldStatus::Live => {
                    busy::retire_holds(&mut tx, org, &[id], HoldStatus::Released, now, &mut drafts).await?
                }
            }
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch_hold(&mut tx, org, id, "", now).await?.hold
        })
    }

    async fn expire_holds(&self) -> Result<u64> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        self.after_freeing(write_tx!(self, |tx| {
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT org_id, id FROM holds WHERE status = {HOLD_LIVE} AND expires_at <= $1 \
                         /* spans organisations: the expiry job sweeps every clinic */ \
                         ORDER BY org_id, id LIMIT 500{}",
                        dialect.for_update_skip_locked()
                    ))
                    .bind(now),
                )
                .await?;
            let mut by_org: BTreeMap<OrgId, Vec<HoldId>> = BTreeMap::new();
            for row in &rows {
                by_org.entry(row.id("org_id")?).or_default().push(row.id("id")?);
            }
            let ctx = AuditCtx { request_id: Some("job:expire-holds".into()), ..AuditCtx::default() };
            for (org, holds) in &by_org {
                let mut drafts = Vec::new();
                let therapist_time = held_therapist_time(&mut tx, *org, holds).await?;
                busy::retire_holds(&mut tx, *org, holds, HoldStatus::Expired, now, &mut drafts).await?;
                // The therapist's held time is free again: someone waiting may take it.
                for (therapist, freed) in &therapist_time {
                    freed::record_free_time(&mut tx, *org, *therapist, freed, true, Cause::HoldExpired, now).await?;
                }
                audit::append(&mut tx, now, &ctx, *org, &drafts).await?;
            }
            rows.len() as u64
        }))
    }
}
