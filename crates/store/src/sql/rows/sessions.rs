//! Session rows: reading, locking and writing sessions with their
//! therapists and seats. Shared by every use case that touches sessions.

use circles_domain::ids::{GroupId, InvitationId, OrgId, PersonId, SeatId, SeriesId, SessionId};
use circles_domain::sealed::ClinicalField;
use circles_domain::session::{InvitationStatus, NotificationKind, SeatStatus, SessionStatus};
use jiff::Timestamp;

use super::sealed;
use crate::model::{Approval, Assignment, NewSession, Seat, Session};
use crate::sql::db::{Dialect, Executor, Row, defer_rows, lock_row, placeholders, sql};
use crate::sql::notify::Notice;
use crate::sql::rows::statuses::HOLDING_SEATS;
use crate::{Result, StoreError};

/// The columns [`session_from_row`] reads (`s` is the session), with the
/// count of seats that hold time.
pub(crate) struct SessionColumns;

pub(crate) const SESSION_COLUMNS: SessionColumns = SessionColumns;

impl std::fmt::Display for SessionColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "s.org_id, s.id, s.kind, s.status, s.title, s.description, s.modality, \
             s.virtual_link, s.location, s.address, s.starts_at, s.ends_at, s.timezone, s.capacity, s.group_id, \
             s.series_id, s.recurrence_id, s.created_by, s.created_at, s.cancelled_at, s.cancel_reason, s.approval, \
             (SELECT a.name FROM people c JOIN accounts a ON a.id = c.account_id \
              WHERE c.org_id = s.org_id AND c.id = s.created_by) AS created_by_name, \
             (SELECT g.name FROM groups g WHERE g.org_id = s.org_id AND g.id = s.group_id) AS group_name, \
             (SELECT COUNT(*) FROM seats x WHERE x.org_id = s.org_id AND x.session_id = s.id \
              AND x.status IN ({HOLDING_SEATS})) AS seats_taken"
        )
    }
}

pub(crate) fn decode<T: std::str::FromStr>(row: &impl Row, col: &str) -> Result<T> {
    row.parsed(col).map_err(Into::into)
}

pub(crate) fn session_from_row(row: &impl Row, now: Timestamp) -> Result<Session> {
    let starts_at = row.time("starts_at")?;
    let ends_at = row.time("ends_at")?;
    let stored: SessionStatus = decode(row, "status")?;
    Ok(Session {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        kind: decode(row, "kind")?,
        status: stored.at(starts_at, ends_at, now),
        title: row.text("title")?,
        description: row.text("description")?,
        modality: decode(row, "modality")?,
        virtual_link: row.opt_text("virtual_link")?,
        location: row.opt_text("location")?,
        address: row.opt_text("address")?,
        starts_at,
        ends_at,
        timezone: row.text("timezone")?,
        capacity: row.int("capacity")?,
        group_id: row.opt_id("group_id")?,
        group_name: row.opt_text("group_name")?,
        series_id: row.opt_id("series_id")?,
        recurrence_id: row.opt_text("recurrence_id")?,
        created_by: row.opt_id("created_by")?,
        created_by_name: row.opt_text("created_by_name")?,
        created_at: row.time("created_at")?,
        cancelled_at: row.opt_time("cancelled_at")?,
        cancel_reason: row.opt_text("cancel_reason")?,
        approval: row.opt_text("approval")?,
        therapists: Vec::new(),
        seats: Vec::new(),
        seats_taken: row.int("seats_taken")?,
    })
}

fn assignment_from_row(row: &impl Row) -> Result<Assignment> {
    Ok(Assignment {
        id: row.id("id")?,
        session_id: row.id("session_id")?,
        therapist_id: row.id("therapist_id")?,
        therapist_name: row.text("therapist_name")?,
        status: decode(row, "status")?,
        message: row.opt_text("message")?,
        invited_at: row.time("invited_at")?,
        responded_at: row.opt_time("responded_at")?,
    })
}

pub(crate) fn seat_from_row(row: &impl Row) -> Result<Seat> {
    Ok(Seat {
        id: row.id("id")?,
        client_id: row.id("client_id")?,
        client_name: row.text("client_name")?,
        status: decode(row, "status")?,
        minutes_late: row.opt_int("minutes_late")?,
        minutes_left_early: row.opt_int("minutes_left_early")?,
        note: row.opt_text("note")?,
        marked_by: row.opt_id("marked_by")?,
        marked_at: row.opt_time("marked_at")?,
        late_entry: row.bool("late_entry")?,
    })
}

/// Seats with their clients' names (`y` is the seat).
pub(crate) const SEAT_ROWS: &str = "SELECT y.*, a.name AS client_name FROM seats y JOIN people p ON p.org_id = y.org_id AND p.id = y.client_id \
     JOIN accounts a ON a.id = p.account_id";

/// Which seats to attach when reading sessions.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seats {
    All,
    Of(PersonId),
    None,
}

/// Fills in therapists and seats for `sessions`, two queries in all.
pub(crate) async fn attach<E: Executor>(tx: &mut E, org: OrgId, sessions: &mut [Session], seats: Seats) -> Result<()> {
    if sessions.is_empty() {
        return Ok(());
    }
    let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
    let list = placeholders(2, ids.len());
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT t.*, a.name AS therapist_name FROM session_therapists t \
                 JOIN people p ON p.org_id = t.org_id AND p.id = t.therapist_id JOIN accounts a ON a.id = p.account_id \
                 WHERE t.org_id = $1 AND t.session_id IN ({list}) ORDER BY t.invited_at, t.id"
            ))
            .bind(org)
            .bind_all(ids.iter().copied()),
        )
        .await?;
    for row in &rows {
        let assignment = assignment_from_row(row)?;
        if let Some(session) = sessions.iter_mut().find(|s| s.id == assignment.session_id) {
            session.therapists.push(assignment);
        }
    }
    let client = match seats {
        Seats::None => return Ok(()),
        Seats::All => None,
        Seats::Of(person) => Some(person),
    };
    let rows = tx
        .fetch_all(
            sql(format!(
                "{SEAT_ROWS} WHERE y.org_id = $1 AND y.session_id IN ({list}) \
                 AND (${n} IS NULL OR y.client_id = ${n}) ORDER BY y.created_at, y.id",
                n = ids.len() + 2
            ))
            .bind(org)
            .bind_all(ids.iter().copied())
            .bind(client),
        )
        .await?;
    for row in &rows {
        let session_id: SessionId = row.id("session_id")?;
        if let Some(session) = sessions.iter_mut().find(|s| s.id == session_id) {
            session.seats.push(seat_from_row(row)?);
        }
    }
    let notes = sessions
        .iter_mut()
        .flat_map(|s| s.seats.iter_mut())
        .filter_map(|seat| seat.note.as_mut().map(|note| (seat.id.0, note)));
    sealed::open_each(tx, org, ClinicalField::AttendanceNote, notes).await
}

/// Locks a session's row, then reads it (with its seat count) afresh.
pub(crate) async fn lock_session<E: Executor>(
    tx: &mut E,
    dialect: Dialect,
    org: OrgId,
    id: SessionId,
    now: Timestamp,
) -> Result<Session> {
    if !lock_row(tx, dialect, "sessions", org, id).await? {
        return Err(StoreError::NotFound("session"));
    }
    let row = tx
        .fetch_one(
            sql(format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.org_id = $1 AND s.id = $2"))
                .bind(org)
                .bind(id),
        )
        .await?;
    session_from_row(&row, now)
}

pub(crate) async fn fetch<E: Executor>(
    tx: &mut E,
    org: OrgId,
    id: SessionId,
    seats: Seats,
    now: Timestamp,
) -> Result<Session> {
    let row = tx
        .fetch_optional(
            sql(format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.org_id = $1 AND s.id = $2"))
                .bind(org)
                .bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("session"))?;
    let mut sessions = [session_from_row(&row, now)?];
    attach(tx, org, &mut sessions, seats).await?;
    let [session] = sessions;
    Ok(session)
}

/// Writes one session with its therapists and seats (no busy time) and
/// returns it as written, so callers need not read it back. Names are left
/// blank: the caller names everyone at once (`names::fill` or `names::apply`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_session<E: Executor>(
    tx: &mut E,
    org: OrgId,
    id: SessionId,
    input: &NewSession,
    status: SessionStatus,
    series: Option<(SeriesId, String)>,
    created_by: Option<PersonId>,
    now: Timestamp,
) -> Result<Session> {
    let d = &input.details;
    let (series_id, recurrence_id) = series.map_or((None, None), |(s, r)| (Some(s), Some(r)));
    tx.defer(
        sql("INSERT INTO sessions (org_id, id, kind, status, title, description, modality, virtual_link, location, \
             address, starts_at, ends_at, timezone, capacity, group_id, series_id, recurrence_id, created_by, created_at, \
             updated_at, approval) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20)")
        .bind(org)
        .bind(id)
        .bind(input.kind.as_str())
        .bind(status.as_str())
        .bind(d.title.as_str())
        .bind(&d.description)
        .bind(d.modality.as_str())
        .bind(d.virtual_link.clone())
        .bind(d.location.clone())
        .bind(d.address.clone())
        .bind(input.interval.start)
        .bind(input.interval.end)
        .bind(&input.timezone)
        .bind(input.capacity)
        .bind(input.group_id)
        .bind(series_id)
        .bind(recurrence_id.clone())
        .bind(created_by)
        .bind(now)
        .bind(approval_text(input.approval)),
    )
    .await?;
    let (therapist_status, responded_at) = if input.therapists_must_accept {
        (InvitationStatus::Pending, None)
    } else {
        (InvitationStatus::Accepted, Some(now))
    };
    let therapists: Vec<Assignment> = input
        .therapist_ids
        .iter()
        .map(|&therapist_id| Assignment {
            id: InvitationId::new(),
            session_id: id,
            therapist_id,
            therapist_name: String::new(),
            status: therapist_status,
            message: None,
            invited_at: now,
            responded_at,
        })
        .collect();
    defer_rows(
        tx,
        "session_therapists (org_id, id, session_id, therapist_id, status, invited_at, responded_at)",
        therapists.iter().map(|a| {
            vec![
                org.into(),
                a.id.into(),
                id.into(),
                a.therapist_id.into(),
                a.status.as_str().into(),
                now.into(),
                a.responded_at.into(),
            ]
        }),
    )
    .await?;
    let seats: Vec<Seat> = input
        .client_ids
        .iter()
        .map(|&client_id| Seat {
            id: SeatId::new(),
            client_id,
            client_name: String::new(),
            status: SeatStatus::Registered,
            minutes_late: None,
            minutes_left_early: None,
            note: None,
            marked_by: None,
            marked_at: None,
            late_entry: false,
        })
        .collect();
    defer_rows(
        tx,
        "seats (org_id, id, session_id, client_id, status, created_at, updated_at)",
        seats.iter().map(|seat| {
            vec![
                org.into(),
                seat.id.into(),
                id.into(),
                seat.client_id.into(),
                seat.status.as_str().into(),
                now.into(),
                now.into(),
            ]
        }),
    )
    .await?;
    Ok(Session {
        id,
        org_id: org,
        kind: input.kind,
        status: status.at(input.interval.start, input.interval.end, now),
        title: d.title.as_str().to_owned(),
        description: d.description.clone(),
        modality: d.modality,
        virtual_link: d.virtual_link.clone(),
        location: d.location.clone(),
        address: d.address.clone(),
        starts_at: input.interval.start,
        ends_at: input.interval.end,
        timezone: input.timezone.clone(),
        capacity: input.capacity,
        group_id: input.group_id,
        group_name: None,
        series_id,
        recurrence_id,
        created_by,
        created_by_name: None,
        created_at: now,
        cancelled_at: None,
        cancel_reason: None,
        approval: approval_text(input.approval).map(str::to_owned),
        therapists,
        seats_taken: seats.len() as i64,
        seats,
    })
}

fn approval_text(approval: Approval) -> Option<&'static str> {
    match approval {
        Approval::NotNeeded => None,
        Approval::Pending => Some("pending"),
    }
}

/// What the people of a cancelled session are told.
pub(crate) fn cancelled_notice(
    title: &str,
    when: String,
    reason: &str,
    id: SessionId,
    group: Option<GroupId>,
) -> Notice<'static> {
    Notice {
        kind: NotificationKind::SessionCancelled,
        title: "A session was cancelled",
        body: format!("{title} on {when} is cancelled: {reason}"),
        session: Some(id),
        group,
    }
}

/// The audit subject of a session: its client, when it has exactly one.
pub(crate) fn sole_client(clients: &[PersonId]) -> Option<PersonId> {
    match clients {
        [one] => Some(*one),
        _ => None,
    }
}
