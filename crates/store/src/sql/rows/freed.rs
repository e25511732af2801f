//! Freed seats and slots ("openings"). The use case that frees one records
//! it here, in its own transaction, so nothing freed is forgotten; the
//! matching pass offers it to waiting clients once its grace delay is over
//! (an undone cancellation has taken the seat back by then, and nothing is
//! sent). Live offers hold their seat: [`held_seats`] is what a public join
//! counts besides the seats taken.

use circles_domain::ids::{GroupId, HoldId, OpeningId, OrgId, PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::waitlist::{OfferStatus, WaitlistSettings};
use jiff::{SignedDuration, Timestamp};

use crate::Result;
use crate::sql::db::{Executor, Row, sql};

/// What freed, and where.
#[derive(Debug, Clone)]
pub struct Opening {
    pub kind: OpeningKind,
    pub interval: Interval,
    pub timezone: String,
    pub modality: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpeningKind {
    /// A seat on a group session.
    Seat { session: SessionId, group: Option<GroupId> },
    /// A therapist's time, for a one-on-one appointment.
    Slot { therapist: PersonId },
}

/// Why a seat or slot freed, for the record and the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    SeatCancelled,
    SessionCancelled,
    FoundFree,
    StaffOffer,
    MovedEarlier,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::SeatCancelled => "seat_cancelled",
            Cause::SessionCancelled => "session_cancelled",
            Cause::FoundFree => "found_free",
            Cause::StaffOffer => "staff_offer",
            Cause::MovedEarlier => "moved_earlier",
        }
    }
}

/// The organisation's waitlist settings, or the defaults.
pub async fn settings<E: Executor>(tx: &mut E, org: OrgId) -> Result<WaitlistSettings> {
    let row = tx.fetch_optional(sql("SELECT settings FROM waitlist_settings WHERE org_id = $1").bind(org)).await?;
    match row {
        Some(row) => serde_json::from_str(&row.text("settings")?)
            .map_err(|e| crate::sql::db::DbError::Decode(format!("waitlist settings: {e}")).into()),
        None => Ok(WaitlistSettings::default()),
    }
}

/// Records a freed seat or slot, to be offered `delay` from now (the
/// organisation's grace delay unless the caller says otherwise).
pub async fn record<E: Executor>(
    tx: &mut E,
    org: OrgId,
    opening: &Opening,
    cause: Cause,
    delay: Option<SignedDuration>,
    now: Timestamp,
) -> Result<OpeningId> {
    let delay = match delay {
        Some(d) => d,
        None => SignedDuration::from_secs(settings(tx, org).await?.grace_seconds),
    };
    let id = OpeningId::new();
    let (kind, session, group, therapist) = match opening.kind {
        OpeningKind::Seat { session, group } => ("SEAT", Some(session), group, None),
        OpeningKind::Slot { therapist } => ("SLOT", None, None, Some(therapist)),
    };
    tx.execute(
        sql(
            "INSERT INTO waitlist_openings (org_id, id, kind, session_id, group_id, therapist_id, starts_at, ends_at, \
             timezone, modality, cause, status, hold_id, ready_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'WAITING', $12, $13, $14)",
        )
        .bind(org)
        .bind(id)
        .bind(kind)
        .bind(session)
        .bind(group)
        .bind(therapist)
        .bind(opening.interval.start)
        .bind(opening.interval.end)
        .bind(opening.timezone.as_str())
        .bind(opening.modality.clone())
        .bind(cause.as_str())
        .bind(HoldId::new())
        .bind(now + delay)
        .bind(now),
    )
    .await?;
    Ok(id)
}

/// Records that a seat on `session` freed, if it is a group session still
/// to come.
pub async fn record_seat<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    cause: Cause,
    now: Timestamp,
) -> Result<Option<OpeningId>> {
    let row = tx
        .fetch_optional(
            sql("SELECT group_id, starts_at, ends_at, timezone, modality FROM sessions \
                 WHERE org_id = $1 AND id = $2 AND group_id IS NOT NULL AND status = 'scheduled' AND starts_at > $3")
            .bind(org)
            .bind(session)
            .bind(now),
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let opening = Opening {
        kind: OpeningKind::Seat { session, group: row.opt_id("group_id")? },
        interval: Interval::new(row.time("starts_at")?, row.time("ends_at")?).expect("a session has length"),
        timezone: row.text("timezone")?,
        modality: row.opt_text("modality")?,
    };
    record(tx, org, &opening, cause, None, now).await.map(Some)
}

/// Seats on `session` held by live offers: one per opening with a live
/// offer (parallel offers of one seat hold one seat), `except` one opening.
pub async fn held_seats<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    except: Option<OpeningId>,
    now: Timestamp,
) -> Result<i64> {
    let row = tx
        .fetch_one(
            sql("SELECT COUNT(DISTINCT f.opening_id) AS held FROM waitlist_offers f \
                 JOIN waitlist_openings o ON o.org_id = f.org_id AND o.id = f.opening_id \
                 WHERE f.org_id = $1 AND o.session_id = $2 AND f.status = $3 AND f.expires_at > $4 \
                 AND ($5 IS NULL OR f.opening_id <> $5)")
            .bind(org)
            .bind(session)
            .bind(OfferStatus::Live.as_str())
            .bind(now)
            .bind(except),
        )
        .await?;
    Ok(row.int("held")?)
}
