//! Importing many one-on-one appointments in one transaction.
//!
//! Booking them one by one costs a transaction, a dozen statements and a
//! commit each; an import of thousands (a calendar brought over from another
//! system, or a benchmark's six weeks for 500 therapists) locks its people
//! once, reads their busy time once, checks every appointment by one sort,
//! and writes a chunk of rows per statement.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{InvitationId, OrgId, PersonId, SeatId, SessionId};
use circles_domain::interval::MAX_BUSY_SPAN;
use circles_domain::session::{InvitationStatus, SeatStatus, SessionKind, SessionStatus};
use circles_domain::validation::Validator;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy::{self, Claim, Owner};
use super::db::insert_rows;
use super::db::{Backend, Value};
use super::{SqlStore, write_tx};
use crate::model::{AuditCtx, ImportedAppointment};
use crate::{ImportStore, Result};

/// Rows per INSERT: 1,000 sessions of 21 columns stay inside both
/// databases' limit on parameters in one statement.
const CHUNK: usize = 1_000;

#[async_trait]
impl<B: Backend> ImportStore for SqlStore<B> {
    async fn import_appointments(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        appointments: Vec<ImportedAppointment>,
    ) -> Result<u64> {
        let mut v = Validator::default();
        for (i, a) in appointments.iter().enumerate() {
            if a.interval.length() > MAX_BUSY_SPAN {
                v.reject(&format!("appointments[{i}]"), "lasts longer than a day");
            }
            if a.therapist_id == a.client_id {
                v.reject(&format!("appointments[{i}].client_id"), "is the therapist");
            }
        }
        v.done(|| Some(()))?;
        let sessions: Vec<(SessionId, &ImportedAppointment)> =
            appointments.iter().map(|a| (SessionId::new(), a)).collect();
        let claims: Vec<Claim> = sessions
            .iter()
            .flat_map(|&(id, a)| {
                [a.therapist_id, a.client_id].map(|person| Claim {
                    person,
                    interval: a.interval,
                    owner: Owner::Session(id),
                })
            })
            .collect();
        let mut people: Vec<(PersonId, Role, &str)> = appointments
            .iter()
            .flat_map(|a| [(a.therapist_id, Role::Therapist, "therapist_id"), (a.client_id, Role::Client, "client_id")])
            .collect();
        people.sort_by_key(|(id, ..)| *id);
        people.dedup_by_key(|(id, ..)| *id);
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            busy::lock_people(&mut tx, dialect, org, &people).await?;
            let mut drafts = Vec::new();
            busy::claim_many(&mut tx, org, &claims, now, &mut drafts).await?;
            for chunk in sessions.chunks(CHUNK) {
                insert_sessions(&mut tx, org, chunk, ctx.person_id, now).await?;
            }
            drafts.extend(sessions.iter().map(|&(id, a)| {
                AuditDraft::new("session.create", "session", id).subject(a.client_id).details(json!({
                    "kind": SessionKind::OneOnOne, "starts_at": a.interval.start,
                    "status": SessionStatus::Scheduled, "imported": true,
                }))
            }));
            for chunk in drafts.chunks(CHUNK) {
                audit::append(&mut tx, now, ctx, org, chunk).await?;
            }
            sessions.len() as u64
        })
    }
}

/// The sessions, their therapists (accepted) and their clients' seats: three
/// statements for a chunk.
async fn insert_sessions<E: super::db::Executor>(
    tx: &mut E,
    org: OrgId,
    sessions: &[(SessionId, &ImportedAppointment)],
    created_by: Option<PersonId>,
    now: jiff::Timestamp,
) -> Result<()> {
    insert_rows(
        tx,
        "sessions (org_id, id, kind, status, title, description, modality, virtual_link, location, address, \
         starts_at, ends_at, timezone, capacity, group_id, series_id, recurrence_id, created_by, created_at, \
         updated_at, approval)",
        sessions.iter().map(|&(id, a)| {
            let d = &a.details;
            vec![
                org.into(),
                id.into(),
                SessionKind::OneOnOne.as_str().into(),
                SessionStatus::Scheduled.as_str().into(),
                d.title.as_str().into(),
                d.description.clone().into(),
                d.modality.as_str().into(),
                d.virtual_link.clone().into(),
                d.location.clone().into(),
                d.address.clone().into(),
                a.interval.start.into(),
                a.interval.end.into(),
                a.timezone.clone().into(),
                1i64.into(),
                Value::from(None::<circles_domain::ids::GroupId>),
                Value::from(None::<circles_domain::ids::SeriesId>),
                Value::from(None::<String>),
                created_by.into(),
                now.into(),
                now.into(),
                Value::from(None::<String>),
            ]
        }),
    )
    .await?;
    insert_rows(
        tx,
        "session_therapists (org_id, id, session_id, therapist_id, status, invited_at, responded_at)",
        sessions.iter().map(|&(id, a)| {
            vec![
                org.into(),
                InvitationId::new().into(),
                id.into(),
                a.therapist_id.into(),
                InvitationStatus::Accepted.as_str().into(),
                now.into(),
                Some(now).into(),
            ]
        }),
    )
    .await?;
    insert_rows(
        tx,
        "seats (org_id, id, session_id, client_id, status, created_at, updated_at)",
        sessions.iter().map(|&(id, a)| {
            vec![
                org.into(),
                SeatId::new().into(),
                id.into(),
                a.client_id.into(),
                SeatStatus::Registered.as_str().into(),
                now.into(),
                now.into(),
            ]
        }),
    )
    .await?;
    Ok(())
}
