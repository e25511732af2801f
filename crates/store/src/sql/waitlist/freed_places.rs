//! Freed places that no offer went out for — in manual mode every freed
//! seat or slot, otherwise those nobody fitted when they freed — still free
//! and still to come, that some waiting entry suits now, each with the
//! entries that suit it best, for staff to offer.

use std::collections::BTreeSet;

use circles_domain::ids::{OpeningId, OrgId};
use circles_domain::waitlist::WaitlistSettings;
use jiff::Timestamp;

use crate::model::{FreedPlace, Place};
use crate::sql::db::{Executor, Row, sql};
use crate::sql::rows::freed::Cause;
use crate::sql::rows::matching::{self, PlaceInfo};
use crate::sql::rows::offers::fetch_opening;
use crate::sql::rows::statuses::OPENING_LAPSED;
use crate::{Result, StoreError};

/// How many lapsed openings are looked at, soonest first, to find `limit`
/// distinct free places.
const LOOK_AT: i64 = 200;

pub async fn list<E: Executor>(
    tx: &mut E,
    org: OrgId,
    settings: &WaitlistSettings,
    limit: usize,
    per_place: usize,
    now: Timestamp,
) -> Result<Vec<FreedPlace>> {
    // An opening staff made for one offer is not a freed place of its own.
    let openings = tx
        .fetch_all(
            sql(format!(
                "SELECT id FROM waitlist_openings WHERE org_id = $1 AND status = {OPENING_LAPSED} AND cause <> $2 \
                 AND starts_at > $3 ORDER BY starts_at, id LIMIT {LOOK_AT}"
            ))
            .bind(org)
            .bind(Cause::StaffOffer.as_str())
            .bind(now),
        )
        .await?
        .iter()
        .map(|r| r.id("id"))
        .collect::<Result<Vec<OpeningId>, _>>()?;
    let mut seen: Vec<Place> = Vec::new();
    let mut found = Vec::new();
    for id in openings {
        let place = fetch_opening(tx, org, id).await?.place;
        if seen.contains(&place) {
            continue;
        }
        seen.push(place);
        let info: PlaceInfo = match matching::place_info(tx, org, place, None, now).await {
            Ok(info) => info,
            // Cancelled, started or gone since: nothing to offer.
            Err(StoreError::Conflict(_) | StoreError::NotFound(_) | StoreError::Invalid(_)) => continue,
            Err(e) => return Err(e),
        };
        if info.free <= 0 {
            continue;
        }
        let suggestions =
            matching::candidates(tx, org, &info, false, &BTreeSet::new(), settings, now, per_place).await?;
        // A place nobody waiting suits gives staff nothing to do.
        if suggestions.is_empty() {
            continue;
        }
        found.push(FreedPlace {
            place,
            title: info.title,
            starts_at: info.interval.start,
            ends_at: info.interval.end,
            timezone: info.timezone,
            free: info.free,
            suggestions,
        });
        if found.len() >= limit {
            break;
        }
    }
    Ok(found)
}
