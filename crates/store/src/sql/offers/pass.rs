//! The matching pass: lapsed offers expire and move on, free seats that no
//! event recorded are found (the periodic sweep), and every freed seat or
//! slot whose grace delay is over is offered as the organisation's mode
//! says. Each opening is handled in its own short transaction, claimed with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer), so
//! several servers can run passes at once without offering a seat twice.

use std::collections::BTreeMap;

use circles_domain::group::{GroupStatus, MembershipStatus};
use circles_domain::ids::{OfferId, OpeningId, OrgId};
use circles_domain::session::SeatStatus;
use circles_domain::waitlist::{EntryStatus, OfferStatus};
use jiff::{SignedDuration, Timestamp};

use crate::Result;
use crate::model::{AuditCtx, PassReport, Place};
use crate::sql::audit;
use crate::sql::busy;
use crate::sql::db::Dialect;
use crate::sql::db::{Backend, Executor, Row, Value, placeholders, sql};
use crate::sql::rows::freed::{self, Cause};
use crate::sql::rows::matching;
use crate::sql::rows::offers::{OpeningRow, close_offer, fetch_opening, offer_to};
use crate::sql::rows::statuses::{OPENING_LAPSED, OPENING_OFFERING, OPENING_WAITING, SESSION_SCHEDULED};
use crate::sql::rows::waitlist::fetch_offer;
use crate::sql::{SqlStore, write_tx};

/// Openings and offers one pass handles at most; the next pass takes the rest.
const BATCH: i64 = 1000;
/// How far ahead the sweep looks for free seats.
const SWEEP_AHEAD: SignedDuration = SignedDuration::from_hours(24 * 30);

fn job() -> AuditCtx {
    AuditCtx { request_id: Some("job:waitlist".into()), ..AuditCtx::default() }
}

pub async fn run<B: Backend>(store: &SqlStore<B>, grace: Option<SignedDuration>, sweep: bool) -> Result<PassReport> {
    let mut report = PassReport { offers_expired: expire(store).await?, ..PassReport::default() };
    if sweep {
        report.openings_found = find_free_seats(store).await?;
    }
    let now = store.clock.now();
    let (column, bound) = match grace {
        Some(g) => ("created_at", now - g),
        None => ("ready_at", now),
    };
    let ready = crate::sql::read_tx!(store, |tx| {
        tx.fetch_all(
            sql(format!(
                "SELECT org_id, id FROM waitlist_openings WHERE status = {OPENING_WAITING} AND ({column} <= $1 OR ready_at <= $2) \
                 /* spans organisations: the waitlist pass sweeps every clinic */ \
                 ORDER BY ready_at, id LIMIT {BATCH}"
            ))
            .bind(bound)
            .bind(if grace.is_some() { now - SignedDuration::from_hours(24 * 365) } else { now }),
        )
        .await?
        .iter()
        .map(|r| Ok((r.id("org_id")?, r.id("id")?)))
        .collect::<Result<Vec<(OrgId, OpeningId)>>>()?
    })?;
    // The pass's openings share what they read of long group waitlists.
    let mut pool = matching::Pool::default();
    for (org, opening) in ready {
        match offer_opening(store, &mut pool, org, opening).await {
            Ok(Outcome::Offered(n)) => report.offers_sent += n,
            Ok(Outcome::Lapsed) => report.openings_lapsed += 1,
            Ok(Outcome::Skipped) => {}
            // One opening's trouble does not stop the others; the next pass retries it.
            Err(e) => tracing::warn!(error = %e, %opening, "offering a freed place failed"),
        }
    }
    Ok(report)
}

enum Outcome {
    Offered(u64),
    Lapsed,
    Skipped,
}

async fn lapse<E: Executor>(tx: &mut E, org: OrgId, opening: &OpeningRow, now: Timestamp) -> Result<Outcome> {
    tx.execute(sql("DELETE FROM busy_intervals WHERE org_id = $1 AND hold_id = $2").bind(org).bind(opening.hold))
        .await?;
    tx.execute(
        sql(format!(
            "UPDATE waitlist_openings SET status = {OPENING_LAPSED}, closed_at = $3 WHERE org_id = $1 AND id = $2"
        ))
        .bind(org)
        .bind(opening.id)
        .bind(now),
    )
    .await?;
    Ok(Outcome::Lapsed)
}

async fn offer_opening<B: Backend>(
    store: &SqlStore<B>,
    pool: &mut matching::Pool,
    org: OrgId,
    id: OpeningId,
) -> Result<Outcome> {
    let now = store.clock.now();
    let dialect = store.backend.dialect();
    let mut offered = Vec::new();
    let outcome = write_tx!(store, |tx| process(&mut tx, pool, dialect, org, id, now, &mut offered).await?)?;
    // Only once committed are the offered entries out of the pool.
    for entry in &offered {
        pool.offered(org, entry);
    }
    Ok(outcome)
}

/// Offers one opening, or lets it lapse; the caller commits either way.
async fn process<E: Executor>(
    tx: &mut E,
    pool: &mut matching::Pool,
    dialect: Dialect,
    org: OrgId,
    id: OpeningId,
    now: Timestamp,
    offered: &mut Vec<crate::model::Entry>,
) -> Result<Outcome> {
    // A retried transaction starts over.
    offered.clear();
    let claimed = tx
        .fetch_optional(
            sql(format!(
                "SELECT id FROM waitlist_openings WHERE org_id = $1 AND id = $2 AND status = {OPENING_WAITING}{}",
                dialect.for_update_skip_locked()
            ))
            .bind(org)
            .bind(id),
        )
        .await?;
    if claimed.is_none() {
        return Ok(Outcome::Skipped);
    }
    let opening = fetch_opening(tx, org, id).await?;
    let settings = freed::settings(tx, org).await?;
    match opening.place {
        Place::Seat(session) => {
            // Serialises with joins and accepts on the same session.
            if crate::sql::rows::sessions::lock_session(tx, dialect, org, session, now).await.is_err() {
                return lapse(tx, org, &opening, now).await;
            }
        }
        // Serialises with enrolments and accepts in the same group.
        Place::Membership(group) => {
            crate::sql::db::lock_row(tx, dialect, "groups", org, group).await?;
        }
        Place::Slot { .. } => {}
    }
    let info = match matching::place_info(tx, org, opening.place, Some(opening.id), now).await {
        Ok(info) => info,
        Err(crate::StoreError::Conflict(_) | crate::StoreError::NotFound(_) | crate::StoreError::Invalid(_)) => {
            return lapse(tx, org, &opening, now).await;
        }
        Err(e) => return Err(e),
    };
    if info.free <= 0 {
        // Taken back (an undone cancellation) or taken by someone else.
        return lapse(tx, org, &opening, now).await;
    }
    if let Place::Slot { therapist, .. } = opening.place {
        let busy = busy::load(tx, org, &[therapist], info.interval).await?;
        if busy.iter().any(|b| b.is_live(now) && b.interval.overlaps(&info.interval) && b.hold != Some(opening.hold)) {
            return lapse(tx, org, &opening, now).await;
        }
    }
    let (skip, live) = matching::offered_already(tx, org, opening.id, now).await?;
    // A group may offer its places its own way.
    let wanted = info.offer_mode.unwrap_or(settings.mode).to_send(live);
    if wanted == 0 {
        return if live == 0 { lapse(tx, org, &opening, now).await } else { Ok(Outcome::Skipped) };
    }
    let chosen = matching::pooled_candidates(tx, pool, org, &info, &skip, &settings, now, wanted).await?;
    if chosen.is_empty() {
        return if live == 0 { lapse(tx, org, &opening, now).await } else { Ok(Outcome::Skipped) };
    }
    let expires_at = now + settings.offer_expiry();
    let mut drafts = Vec::new();
    for candidate in &chosen {
        offer_to(tx, dialect, org, &opening, &info, candidate, expires_at, None, now, &mut drafts).await?;
        offered.push(candidate.entry.clone());
    }
    audit::append(tx, now, &job(), org, &drafts).await?;
    Ok(Outcome::Offered(chosen.len() as u64))
}

/// Expires lapsed offers: each frees its holds and its opening moves on.
async fn expire<B: Backend>(store: &SqlStore<B>) -> Result<u64> {
    let now = store.clock.now();
    let dialect = store.backend.dialect();
    write_tx!(store, |tx| {
        let rows = tx
            .fetch_all(
                sql(format!(
                    "SELECT org_id, id FROM waitlist_offers WHERE status = $1 AND expires_at <= $2 \
                     /* spans organisations: the offer-expiry sweep over every clinic */ \
                     ORDER BY org_id, id LIMIT {BATCH}{}",
                    dialect.for_update_skip_locked()
                ))
                .bind(OfferStatus::Live.as_str())
                .bind(now),
            )
            .await?;
        let mut by_org: BTreeMap<OrgId, Vec<OfferId>> = BTreeMap::new();
        for row in &rows {
            by_org.entry(row.id("org_id")?).or_default().push(row.id("id")?);
        }
        for (org, offers) in &by_org {
            let mut drafts = Vec::new();
            for id in offers {
                let offer = fetch_offer(&mut tx, *org, *id, now).await?;
                close_offer(&mut tx, *org, &offer, OfferStatus::Expired, None, now, &mut drafts).await?;
            }
            audit::append(&mut tx, now, &job(), *org, &drafts).await?;
        }
        rows.len() as u64
    })
}

/// Records an opening for every free place in a group that members wait
/// for on its roster and no opening covers yet.
async fn find_free_places<E: Executor>(tx: &mut E, now: Timestamp) -> Result<u64> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT g.org_id, g.id, g.capacity - \
                   (SELECT COUNT(*) FROM group_memberships m WHERE m.org_id = g.org_id AND m.group_id = g.id \
                      AND m.status = $1) - \
                   (SELECT COUNT(*) FROM waitlist_openings o WHERE o.org_id = g.org_id AND o.group_id = g.id \
                      AND o.session_id IS NULL AND o.kind = 'SEAT' AND o.status IN ({OPENING_WAITING}, {OPENING_OFFERING})) AS uncovered \
                 FROM groups g /* spans organisations: the sweep for free group places in every clinic */ \
                 WHERE g.capacity IS NOT NULL AND g.status = $2 AND EXISTS (SELECT 1 FROM group_memberships w \
                   WHERE w.org_id = g.org_id AND w.group_id = g.id AND w.status = $3) \
                 ORDER BY g.org_id, g.id LIMIT {BATCH}"
            ))
            .bind(MembershipStatus::Active.as_str())
            .bind(GroupStatus::Active.as_str())
            .bind(MembershipStatus::Waitlisted.as_str()),
        )
        .await?;
    let mut found = 0;
    for row in &rows {
        let uncovered = row.int("uncovered")?;
        if uncovered > 0 {
            found +=
                freed::record_places(tx, row.id("org_id")?, row.id("id")?, uncovered, Cause::FoundFree, now).await?;
        }
    }
    Ok(found)
}

/// Records an opening for every free seat on an upcoming group session that
/// someone waits for and no opening covers yet: what events missed.
async fn find_free_seats<B: Backend>(store: &SqlStore<B>) -> Result<u64> {
    let now = store.clock.now();
    write_tx!(store, |tx| {
        let holding: Vec<Value> =
            SeatStatus::ALL.iter().filter(|s| s.holds_time()).map(|s| s.as_str().into()).collect();
        let mut q = sql(format!(
            "SELECT s.org_id, s.id, s.capacity - \
               (SELECT COUNT(*) FROM seats x WHERE x.org_id = s.org_id AND x.session_id = s.id AND x.status IN ({list})) - \
               (SELECT COUNT(*) FROM waitlist_openings o WHERE o.org_id = s.org_id AND o.session_id = s.id \
                  AND o.status IN ({OPENING_WAITING}, {OPENING_OFFERING})) AS uncovered \
             FROM sessions s /* spans organisations: the sweep for free seats in every clinic */ \
             WHERE s.group_id IS NOT NULL AND s.status = {SESSION_SCHEDULED} AND s.starts_at > $1 AND s.starts_at < $2 \
             AND EXISTS (SELECT 1 FROM waitlist_entries e WHERE e.org_id = s.org_id AND e.status = $3 AND e.auto_match = $4 \
               AND (e.target_key = 'group:' || s.group_id OR e.target_key = 'session:' || s.id)) \
             ORDER BY s.starts_at LIMIT {BATCH}",
            list = placeholders(5, holding.len())
        ))
        .bind(now)
        .bind(now + SWEEP_AHEAD)
        .bind(EntryStatus::Active.as_str())
        .bind(true);
        q.args.extend(holding);
        let rows = tx.fetch_all(q).await?;
        let mut found = 0;
        for row in &rows {
            let org: OrgId = row.id("org_id")?;
            for _ in 0..row.int("uncovered")?.clamp(0, 20) {
                freed::record_seat(&mut tx, org, row.id("id")?, Cause::FoundFree, now).await?;
                found += 1;
            }
        }
        found += find_free_places(&mut tx, now).await?;
        // Found late already: no grace delay.
        tx.execute(
            sql(format!("UPDATE waitlist_openings SET ready_at = created_at WHERE status = {OPENING_WAITING} AND cause = $1 AND created_at = $2 \
                 /* spans organisations: what the sweep just found, in every clinic */"))
                .bind(Cause::FoundFree.as_str())
                .bind(now),
        )
        .await?;
        found
    })
}
