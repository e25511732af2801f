//! Schema migrations, versioned by SQLite's `PRAGMA user_version`.

use circles_store::sql::db::DbError;
use rusqlite::Connection;

use crate::map_err;

/// Every migration, in order; a migration's number is its version.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_foundation.sql")),
    (2, include_str!("../migrations/0002_booking.sql")),
    (3, include_str!("../migrations/0003_groups.sql")),
    (4, include_str!("../migrations/0004_series.sql")),
    (5, include_str!("../migrations/0005_availability.sql")),
    (6, include_str!("../migrations/0006_audit_sealing.sql")),
    (7, include_str!("../migrations/0007_org_invitations.sql")),
    (8, include_str!("../migrations/0008_delivery.sql")),
    (9, include_str!("../migrations/0009_departures.sql")),
    (13, include_str!("../migrations/0013_waitlist.sql")),
    (16, include_str!("../migrations/0016_reach.sql")),
    (17, include_str!("../migrations/0017_offer_links.sql")),
    (18, include_str!("../migrations/0018_events.sql")),
    (19, include_str!("../migrations/0019_data_keys.sql")),
    (20, include_str!("../migrations/0020_check_ins.sql")),
    (21, include_str!("../migrations/0021_waitlist_versions.sql")),
    (24, include_str!("../migrations/0024_unsubscribe_links.sql")),
    (25, include_str!("../migrations/0025_check_in_window_events.sql")),
    (26, include_str!("../migrations/0026_account_mail.sql")),
    (27, include_str!("../migrations/0027_reminders.sql")),
    (28, include_str!("../migrations/0028_data_key_generations.sql")),
    (29, include_str!("../migrations/0029_sms.sql")),
    (30, include_str!("../migrations/0030_notifications_by_session.sql")),
];

/// Applies every migration above the database's version, each in its own
/// transaction together with the version it brings the database to.
pub(crate) fn apply(conn: &Connection) -> Result<(), DbError> {
    loop {
        // Take the write lock before reading the version, so a second
        // process migrating the same file waits here and then sees our work.
        conn.execute_batch("BEGIN IMMEDIATE").map_err(map_err)?;
        let step = next_step(conn);
        let outcome = step.and_then(|done| conn.execute_batch("COMMIT").map_err(map_err).map(|()| done));
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if outcome? {
            return Ok(());
        }
    }
}

/// Applies the next pending migration; returns whether none was left.
fn next_step(conn: &Connection) -> Result<bool, DbError> {
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(map_err)?;
    let applied = if user_version == 0 { sqlx_version(conn)? } else { user_version };
    let latest = MIGRATIONS.last().map_or(0, |&(version, _)| version);
    if applied > latest {
        return Err(DbError::Other(format!(
            "the database is at schema version {applied}, newer than this build's {latest}"
        )));
    }
    let Some(&(version, sql)) = MIGRATIONS.iter().find(|&&(version, _)| version > applied) else {
        if applied != user_version {
            set_version(conn, applied)?;
        }
        return Ok(true);
    };
    conn.execute_batch(sql).map_err(|e| DbError::Other(format!("migration {version} failed: {e}")))?;
    set_version(conn, version)?;
    Ok(false)
}

/// The highest migration that sqlx's migrator (which Circles used before)
/// recorded as applied in its own table, or 0.
fn sqlx_version(conn: &Connection) -> Result<i64, DbError> {
    let has_table: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if !has_table {
        return Ok(0);
    }
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success", [], |r| r.get(0))
        .map_err(map_err)
}

fn set_version(conn: &Connection, version: i64) -> Result<(), DbError> {
    conn.pragma_update(None, "user_version", version).map_err(map_err)
}
