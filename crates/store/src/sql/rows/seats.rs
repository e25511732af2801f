//! Row helpers for seats that several seat use cases share: reading one
//! client's seat, registering a seat (new or taken again), and the group
//! settings that decide when a running session still takes seats.

use circles_domain::group::GroupSettings;
use circles_domain::ids::{GroupId, OrgId, PersonId, SeatId, SessionId};
use circles_domain::sealed::ClinicalField;
use circles_domain::session::SeatStatus;
use jiff::Timestamp;

use super::sealed;
use super::sessions::{SEAT_ROWS, seat_from_row};
use crate::Result;
use crate::model::Seat;
use crate::sql::db::{DbError, Executor, Row, sql};

/// One client's seat on one session, whatever its status.
pub(crate) async fn seat_of<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    client: PersonId,
) -> Result<Option<Seat>> {
    let mut seat = sealed_seat_of(tx, org, session, client).await?;
    if let Some(seat) = &mut seat {
        seat.note = sealed::open(tx, org, ClinicalField::AttendanceNote, seat.id.0, seat.note.take()).await?;
    }
    Ok(seat)
}

/// [`seat_of`] with its note left as stored (sealed): for a writer about to
/// replace the note, which has no reason to open the old one.
pub(crate) async fn sealed_seat_of<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    client: PersonId,
) -> Result<Option<Seat>> {
    let row = tx
        .fetch_optional(
            sql(format!("{SEAT_ROWS} WHERE y.org_id = $1 AND y.session_id = $2 AND y.client_id = $3"))
                .bind(org)
                .bind(session)
                .bind(client),
        )
        .await?;
    row.as_ref().map(seat_from_row).transpose()
}

/// Writes a `REGISTERED` seat for `client` (no busy time: the caller claims
/// it through `busy`). Taking a seat again after giving it up reuses the
/// seat record; its history is in the audit trail.
pub(crate) async fn register_seat<E: Executor>(
    tx: &mut E,
    org: OrgId,
    session: SessionId,
    client: PersonId,
    existing: Option<&Seat>,
    now: Timestamp,
) -> Result<SeatId> {
    let registered = SeatStatus::Registered.as_str();
    if let Some(seat) = existing {
        tx.execute(
            sql("UPDATE seats SET status = $4, minutes_late = NULL, minutes_left_early = NULL, note = NULL, \
                 marked_by = NULL, marked_at = NULL, updated_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(seat.id)
            .bind(now)
            .bind(registered),
        )
        .await?;
        return Ok(seat.id);
    }
    let id = SeatId::new();
    tx.execute(
        sql("INSERT INTO seats (org_id, id, session_id, client_id, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $6, $5, $5)")
        .bind(org)
        .bind(id)
        .bind(session)
        .bind(client)
        .bind(now)
        .bind(registered),
    )
    .await?;
    Ok(id)
}

/// Sets one seat's status.
pub(crate) async fn set_seat_status<E: Executor>(
    tx: &mut E,
    org: OrgId,
    seat: SeatId,
    status: SeatStatus,
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        sql("UPDATE seats SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(seat)
            .bind(status.as_str())
            .bind(now),
    )
    .await?;
    Ok(())
}

/// A group's settings alone (late joins, drop-in rules), without its staff.
pub(crate) async fn group_settings<E: Executor>(tx: &mut E, org: OrgId, group: GroupId) -> Result<GroupSettings> {
    let row = tx
        .fetch_optional(sql("SELECT settings FROM groups WHERE org_id = $1 AND id = $2").bind(org).bind(group))
        .await?
        .ok_or(crate::StoreError::NotFound("group"))?;
    let text = row.text("settings")?;
    serde_json::from_str(&text).map_err(|e| DbError::Decode(format!("settings: {e}")).into())
}

/// Locks a group session for a change of seats (the lock serialises seat
/// changes, so capacity holds) and names its group; other sessions take no
/// seats.
pub(crate) async fn lock_group_session<E: Executor>(
    tx: &mut E,
    dialect: crate::sql::db::Dialect,
    org: OrgId,
    session: SessionId,
    now: Timestamp,
) -> Result<(crate::model::Session, GroupId)> {
    let session = super::sessions::lock_session(tx, dialect, org, session, now).await?;
    let group = session
        .group_id
        .ok_or_else(|| crate::StoreError::conflict("session_not_open", "only group sessions take seats"))?;
    Ok((session, group))
}
