//! Freed seats and slots ("openings"). The use case that frees one records
//! it here, in its own transaction, so nothing freed is forgotten; the
//! matching pass offers it to waiting clients once its grace delay is over
//! (an undone cancellation has taken the seat back by then, and nothing is
//! sent). Live offers hold their seat: [`held_seats`] is what a public join
//! counts besides the seats taken.

use circles_domain::availability::ZoneOffsets;
use circles_domain::group::MembershipStatus;
use circles_domain::ids::{GroupId, HoldId, OpeningId, OrgId, PersonId, SessionId};
use circles_domain::interval::{self, Interval};
use circles_domain::waitlist::{EntryStatus, OfferStatus, TargetKind, WaitlistSettings};
use jiff::{SignedDuration, Timestamp};

use crate::Result;
use crate::sql::busy;
use crate::sql::db::{Executor, Row, sql};
use crate::sql::rows::statuses::{OPENING_WAITING, SESSION_SCHEDULED};

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
    /// A place in a full group (its membership): stored as a seat with no
    /// session.
    Membership { group: GroupId },
}

/// Why a seat or slot freed, for the record and the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    SeatCancelled,
    SessionCancelled,
    FoundFree,
    StaffOffer,
    MovedEarlier,
    MemberLeft,
    CapacityRaised,
    SessionCreated,
    TimeOffCancelled,
    HoursWidened,
    HoldExpired,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::SeatCancelled => "seat_cancelled",
            Cause::SessionCancelled => "session_cancelled",
            Cause::FoundFree => "found_free",
            Cause::StaffOffer => "staff_offer",
            Cause::MovedEarlier => "moved_earlier",
            Cause::MemberLeft => "member_left",
            Cause::CapacityRaised => "capacity_raised",
            Cause::SessionCreated => "session_created",
            Cause::TimeOffCancelled => "time_off_cancelled",
            Cause::HoursWidened => "hours_widened",
            Cause::HoldExpired => "hold_expired",
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
        OpeningKind::Membership { group } => ("SEAT", None, Some(group), None),
    };
    tx.execute(
        sql(format!(
            "INSERT INTO waitlist_openings (org_id, id, kind, session_id, group_id, therapist_id, starts_at, ends_at, \
             timezone, modality, cause, status, hold_id, ready_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, {OPENING_WAITING}, $12, $13, $14)"
        ))
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

/// Openings one event records at most: a new session or a long stretch of
/// freed time offers its first few places; the periodic sweep finds the rest.
const MAX_PER_EVENT: usize = 20;
/// How far ahead freed time is offered.
pub const FREED_AHEAD: SignedDuration = SignedDuration::from_hours(24 * 30);

/// A seat on `session`, if it is a group session still to come.
async fn seat_opening<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    now: Timestamp,
) -> Result<Option<Opening>> {
    let row = tx
        .fetch_optional(
            sql(format!("SELECT group_id, starts_at, ends_at, timezone, modality FROM sessions \
                 WHERE org_id = $1 AND id = $2 AND group_id IS NOT NULL AND status = {SESSION_SCHEDULED} AND starts_at > $3"))
            .bind(org)
            .bind(session)
            .bind(now),
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Opening {
        kind: OpeningKind::Seat { session, group: row.opt_id("group_id")? },
        interval: Interval::new(row.time("starts_at")?, row.time("ends_at")?).expect("a session has length"),
        timezone: row.text("timezone")?,
        modality: row.opt_text("modality")?,
    }))
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
    match seat_opening(tx, org, session, now).await? {
        Some(opening) => record(tx, org, &opening, cause, None, now).await.map(Some),
        None => Ok(None),
    }
}

/// Records `count` new seats on `session` (a new session, a raised
/// capacity) when someone waits for its group or for it; returns how many.
pub async fn record_new_seats<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    count: i64,
    cause: Cause,
    now: Timestamp,
) -> Result<u64> {
    if count <= 0 {
        return Ok(0);
    }
    let Some(opening) = seat_opening(tx, org, session, now).await? else { return Ok(0) };
    let OpeningKind::Seat { group: Some(group), .. } = opening.kind else { return Ok(0) };
    let waiting = tx
        .fetch_optional(
            sql("SELECT 1 AS one FROM waitlist_entries WHERE org_id = $1 AND status = $2 AND auto_match = $3 \
                 AND target_key IN ($4, $5) LIMIT 1")
            .bind(org)
            .bind(EntryStatus::Active.as_str())
            .bind(true)
            .bind(format!("group:{group}"))
            .bind(format!("session:{session}")),
        )
        .await?;
    if waiting.is_none() {
        return Ok(0);
    }
    let count = count.min(MAX_PER_EVENT as i64);
    for _ in 0..count {
        record(tx, org, &opening, cause, None, now).await?;
    }
    Ok(count as u64)
}

/// Records the therapist's time in `freed` (time off withdrawn, an expired
/// hold, newly added hours) as one-on-one slots, when someone waits for
/// this therapist or any therapist. The time is cut to the therapist's
/// working hours when `within_hours` (the caller may have done so already),
/// what is busy is left out, and the rest is cut into back-to-back slots as
/// long as the longest wanted appointment, so each can be held alone.
pub async fn record_free_time<E: Executor>(
    tx: &mut E,
    org: OrgId,
    therapist: PersonId,
    freed: &[Interval],
    within_hours: bool,
    cause: Cause,
    now: Timestamp,
) -> Result<u64> {
    let Some(horizon) = Interval::new(now, now + FREED_AHEAD) else { return Ok(0) };
    let ahead = interval::subtract(freed.iter().copied(), [Interval { start: Timestamp::MIN, end: horizon.start }]);
    let ahead = interval::subtract(ahead, [Interval { start: horizon.end, end: Timestamp::MAX }]);
    let (Some(first), Some(last)) = (ahead.first(), ahead.last()) else { return Ok(0) };
    let span = Interval { start: first.start, end: last.end };
    let longest = tx
        .fetch_one(
            sql("SELECT MAX(duration_minutes) AS longest FROM waitlist_entries WHERE org_id = $1 AND status = $2 \
                 AND auto_match = $3 AND target_kind = $4 AND (therapist_id IS NULL OR therapist_id = $5)")
            .bind(org)
            .bind(EntryStatus::Active.as_str())
            .bind(true)
            .bind(TargetKind::OneOnOne.as_str())
            .bind(therapist),
        )
        .await?
        .opt_int("longest")?;
    let Some(longest) = longest.filter(|m| *m > 0) else { return Ok(0) };
    let week = crate::sql::rows::calendars::load_weeks(tx, org, &[therapist]).await?.remove(&therapist);
    let mut usable = ahead;
    if within_hours && let Some(week) = week.as_ref().filter(|w| !w.is_unrestricted()) {
        let offsets = ZoneOffsets::covering(week.zone(), span);
        let outside = interval::subtract([span], week.windows(span, &offsets).into_iter().map(|w| w.interval));
        usable = interval::subtract(usable, outside);
    }
    let busy = busy::load(tx, org, &[therapist], span).await?;
    let gaps = interval::subtract(usable, busy.iter().filter(|b| b.is_live(now)).map(|b| b.interval));
    let slots = interval::slices(&gaps, SignedDuration::from_mins(longest), MAX_PER_EVENT);
    let timezone = match week {
        Some(week) => week.timezone().as_str().to_owned(),
        None => {
            tx.fetch_one(sql("SELECT timezone FROM organisations WHERE id = $1").bind(org)).await?.text("timezone")?
        }
    };
    for slot in &slots {
        let opening = Opening {
            kind: OpeningKind::Slot { therapist },
            interval: *slot,
            timezone: timezone.clone(),
            modality: None,
        };
        record(tx, org, &opening, cause, None, now).await?;
    }
    Ok(slots.len() as u64)
}

/// When a place in `group` would begin: its next session still to come, or
/// the next minute if none is planned (a membership has no time of its own).
pub async fn membership_interval<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    now: Timestamp,
) -> Result<(Interval, String)> {
    let next = tx
        .fetch_optional(
            sql(format!(
                "SELECT starts_at, ends_at, timezone FROM sessions WHERE org_id = $1 AND group_id = $2 \
                 AND status = {SESSION_SCHEDULED} AND starts_at > $3 ORDER BY starts_at LIMIT 1"
            ))
            .bind(org)
            .bind(group)
            .bind(now),
        )
        .await?;
    if let Some(row) = next {
        let interval = Interval::new(row.time("starts_at")?, row.time("ends_at")?).expect("a session has length");
        return Ok((interval, row.text("timezone")?));
    }
    let zone =
        tx.fetch_one(sql("SELECT timezone FROM organisations WHERE id = $1").bind(org)).await?.text("timezone")?;
    let next_minute = now + SignedDuration::from_mins(1);
    Ok((Interval::starting_at(next_minute, SignedDuration::from_mins(1)).expect("a minute"), zone))
}

/// Records `count` freed places in `group` (a member left, the capacity was
/// raised) when members wait for one; returns how many. The pass offers
/// each to the best-placed waiting member; accepting makes them active.
pub async fn record_places<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    count: i64,
    cause: Cause,
    now: Timestamp,
) -> Result<u64> {
    let waiting = tx
        .fetch_one(
            sql("SELECT COUNT(*) AS n FROM waitlist_entries e WHERE e.org_id = $1 AND e.target_key = $2 \
                 AND e.status = $3 AND EXISTS (SELECT 1 FROM group_memberships m WHERE m.org_id = e.org_id \
                   AND m.group_id = $4 AND m.client_id = e.client_id AND m.status = $5)")
            .bind(org)
            .bind(format!("group:{group}"))
            .bind(EntryStatus::Active.as_str())
            .bind(group)
            .bind(MembershipStatus::Waitlisted.as_str()),
        )
        .await?
        .int("n")?;
    let count = count.min(waiting).min(MAX_PER_EVENT as i64);
    if count <= 0 {
        return Ok(0);
    }
    let (interval, timezone) = membership_interval(tx, org, group, now).await?;
    let opening = Opening { kind: OpeningKind::Membership { group }, interval, timezone, modality: None };
    for _ in 0..count {
        record(tx, org, &opening, cause, None, now).await?;
    }
    Ok(count as u64)
}

/// Places in `group` held by live offers, `except` one opening's.
pub async fn held_places<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    except: Option<OpeningId>,
    now: Timestamp,
) -> Result<i64> {
    let row = tx
        .fetch_one(
            sql("SELECT COUNT(DISTINCT f.opening_id) AS held FROM waitlist_offers f \
                 JOIN waitlist_openings o ON o.org_id = f.org_id AND o.id = f.opening_id \
                 WHERE f.org_id = $1 AND o.group_id = $2 AND o.session_id IS NULL AND o.kind = 'SEAT' \
                 AND f.status = $3 AND f.expires_at > $4 AND ($5 IS NULL OR f.opening_id <> $5)")
            .bind(org)
            .bind(group)
            .bind(OfferStatus::Live.as_str())
            .bind(now)
            .bind(except),
        )
        .await?;
    Ok(row.int("held")?)
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
