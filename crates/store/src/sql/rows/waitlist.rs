//! Reading waitlist entries and offers: row decoding, the priority each
//! entry has at the moment it is read, and the order of a list.

use circles_domain::ids::{OfferId, OrgId, PersonId, WaitlistEntryId};
use circles_domain::session::Modality;
use circles_domain::waitlist::{PriorityFacts, Target, TargetKind, WaitlistSettings, priority, rank};
use circles_domain::waitlist_match::{Preferences, SpelledPreferences};
use jiff::Timestamp;

use crate::model::{Entry, EntryFilter, Offer, OfferFilter, Pin, Place};
use crate::sql::db::{DbError, Executor, Row, Value, sql};
use crate::{Result, StoreError};

pub const ENTRY_FROM: &str = "SELECT e.*, a.name AS client_name, o.timezone AS org_timezone, \
     COALESCE(g.name, s.title, ta.name) AS target_name \
     FROM waitlist_entries e \
     JOIN people p ON p.org_id = e.org_id AND p.id = e.client_id \
     JOIN accounts a ON a.id = p.account_id \
     JOIN organisations o ON o.id = e.org_id \
     LEFT JOIN groups g ON g.org_id = e.org_id AND g.id = e.group_id \
     LEFT JOIN sessions s ON s.org_id = e.org_id AND s.id = e.session_id \
     LEFT JOIN people tp ON tp.org_id = e.org_id AND tp.id = e.therapist_id \
     LEFT JOIN accounts ta ON ta.id = tp.account_id";

fn decode<T: std::str::FromStr>(row: &impl Row, col: &str) -> Result<T> {
    row.parsed(col).map_err(Into::into)
}

pub fn target_of(row: &impl Row) -> Result<Target> {
    let kind: TargetKind = decode(row, "target_kind")?;
    let missing = |what: &str| StoreError::Db(DbError::Decode(format!("waitlist entry without {what}")));
    Ok(match kind {
        TargetKind::Group => Target::Group(row.opt_id("group_id")?.ok_or_else(|| missing("group"))?),
        TargetKind::GroupSession => Target::GroupSession(row.opt_id("session_id")?.ok_or_else(|| missing("session"))?),
        TargetKind::OneOnOne => Target::OneOnOne {
            therapist: row.opt_id("therapist_id")?,
            modality: row.opt_text("modality")?.map(|m| m.parse::<Modality>()).transpose().map_err(DbError::Decode)?,
            duration_minutes: row.opt_int("duration_minutes")?.ok_or_else(|| missing("duration"))?,
        },
    })
}

pub fn entry_from_row(row: &impl Row, settings: &WaitlistSettings, now: Timestamp) -> Result<Entry> {
    let spelled: SpelledPreferences = serde_json::from_str(&row.text("preferences")?)
        .map_err(|e| DbError::Decode(format!("waitlist preferences: {e}")))?;
    let preferences = Preferences::parse(row.opt_id("preferred_therapist_id")?, &spelled)
        .map_err(|e| DbError::Decode(format!("waitlist preferences: {e:?}")))?;
    let pin = match row.opt_text("pin_reason")? {
        Some(reason) => Some(Pin { reason, by: row.opt_id("pinned_by")?, at: row.time("pinned_at")? }),
        None => None,
    };
    let added_at = row.time("added_at")?;
    let urgency = decode(row, "urgency")?;
    let referral = row.bool("referral")?;
    let decline_count = row.int("decline_count")?;
    let facts =
        PriorityFacts { added_at, urgency, referral, decline_count, pinned: pin.as_ref().map(|p| p.reason.clone()) };
    Ok(Entry {
        id: row.id("id")?,
        client_id: row.id("client_id")?,
        client_name: row.text("client_name")?,
        target: target_of(row)?,
        target_name: row.opt_text("target_name")?,
        urgency,
        preferences,
        referral,
        notes: row.opt_text("notes")?,
        auto_match: row.bool("auto_match")?,
        status: decode(row, "status")?,
        added_at,
        decline_count,
        offer_count: row.int("offer_count")?,
        matched_session_id: row.opt_id("matched_session_id")?,
        matched_at: row.opt_time("matched_at")?,
        pin,
        priority: priority(&settings.priority, &facts, now),
        timezone: row.text("org_timezone")?,
    })
}

/// Sorts entries into the order they are served in.
pub fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| rank((&a.priority, a.added_at), (&b.priority, b.added_at)).then(a.id.cmp(&b.id)));
}

pub async fn fetch_entry<E: Executor>(
    tx: &mut E,
    org: OrgId,
    id: WaitlistEntryId,
    settings: &WaitlistSettings,
    now: Timestamp,
) -> Result<Entry> {
    let row = tx
        .fetch_optional(sql(format!("{ENTRY_FROM} WHERE e.org_id = $1 AND e.id = $2")).bind(org).bind(id))
        .await?
        .ok_or(StoreError::NotFound("waitlist entry"))?;
    entry_from_row(&row, settings, now)
}

/// Entries matching `filter`, in serving order.
pub async fn fetch_entries<E: Executor>(
    tx: &mut E,
    org: OrgId,
    filter: &EntryFilter,
    extra: &str,
    settings: &WaitlistSettings,
    now: Timestamp,
) -> Result<Vec<Entry>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "{ENTRY_FROM} WHERE e.org_id = $1 AND ($2 IS NULL OR e.client_id = $2) AND ($3 IS NULL OR e.status = $3) \
                 AND ($4 IS NULL OR e.group_id = $4 OR s.group_id = $4){extra}"
            ))
            .bind(org)
            .bind(filter.client)
            .bind(Value::Text(filter.status.map(|s| s.as_str().to_owned())))
            .bind(filter.group),
        )
        .await?;
    let mut entries = rows.iter().map(|r| entry_from_row(r, settings, now)).collect::<Result<Vec<_>>>()?;
    sort(&mut entries);
    Ok(entries)
}

pub const OFFER_FROM: &str = "SELECT f.*, a.name AS client_name, o.kind AS place_kind, o.session_id AS place_session, \
     o.therapist_id AS place_therapist, o.timezone, \
     COALESCE(s.title, 'One-on-one with ' || ta.name) AS title \
     FROM waitlist_offers f \
     JOIN waitlist_openings o ON o.org_id = f.org_id AND o.id = f.opening_id \
     JOIN people p ON p.org_id = f.org_id AND p.id = f.client_id \
     JOIN accounts a ON a.id = p.account_id \
     LEFT JOIN sessions s ON s.org_id = o.org_id AND s.id = o.session_id \
     LEFT JOIN people tp ON tp.org_id = o.org_id AND tp.id = o.therapist_id \
     LEFT JOIN accounts ta ON ta.id = tp.account_id";

pub fn offer_from_row(row: &impl Row, now: Timestamp) -> Result<Offer> {
    let starts_at = row.time("starts_at")?;
    let ends_at = row.time("ends_at")?;
    let place = if row.text("place_kind")? == "SEAT" {
        Place::Seat(row.id("place_session")?)
    } else {
        Place::Slot { therapist: row.id("place_therapist")?, starts_at, ends_at }
    };
    let stored: circles_domain::waitlist::OfferStatus = decode(row, "status")?;
    let expires_at = row.time("expires_at")?;
    Ok(Offer {
        id: row.id("id")?,
        entry_id: row.id("entry_id")?,
        opening_id: row.id("opening_id")?,
        client_id: row.id("client_id")?,
        client_name: row.text("client_name")?,
        place,
        title: row.text("title")?,
        starts_at,
        ends_at,
        timezone: row.text("timezone")?,
        status: stored.at(expires_at, now),
        expires_at,
        match_score: row.float("match_score")?,
        reasons: serde_json::from_str(&row.text("reasons")?).map_err(|e| DbError::Decode(e.to_string()))?,
        decline_reason: row.opt_text("decline_reason")?,
        session_id: row.opt_id("session_id")?,
        created_at: row.time("created_at")?,
        answered_at: row.opt_time("answered_at")?,
    })
}

pub async fn fetch_offer<E: Executor>(tx: &mut E, org: OrgId, id: OfferId, now: Timestamp) -> Result<Offer> {
    let row = tx
        .fetch_optional(sql(format!("{OFFER_FROM} WHERE f.org_id = $1 AND f.id = $2")).bind(org).bind(id))
        .await?
        .ok_or(StoreError::NotFound("offer"))?;
    offer_from_row(&row, now)
}

/// Offers matching `filter`, newest first. A status filter reads the
/// status as the clock has it.
pub async fn fetch_offers<E: Executor>(
    tx: &mut E,
    org: OrgId,
    filter: &OfferFilter,
    now: Timestamp,
) -> Result<Vec<Offer>> {
    let rows = tx
        .fetch_all(
            sql(format!(
                "{OFFER_FROM} WHERE f.org_id = $1 AND ($2 IS NULL OR f.client_id = $2) ORDER BY f.created_at DESC, f.id"
            ))
            .bind(org)
            .bind(filter.client),
        )
        .await?;
    let offers = rows.iter().map(|r| offer_from_row(r, now)).collect::<Result<Vec<_>>>()?;
    Ok(offers.into_iter().filter(|o| filter.status.is_none_or(|s| o.status == s)).collect())
}

/// The names of people, by id, in one statement.
pub async fn names<E: Executor>(tx: &mut E, org: OrgId, people: &[PersonId]) -> Result<Vec<(PersonId, String)>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT p.id, a.name FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND p.id IN ({})",
                crate::sql::db::placeholders(2, people.len())
            ))
            .bind(org)
            .bind_all(people.iter().copied()),
        )
        .await?;
    rows.iter().map(|r| Ok((r.id("id")?, r.text("name")?))).collect()
}
