//! Reading waitlist entries and offers: row decoding, the priority each
//! entry has at the moment it is read, and the order of a list.

use circles_domain::ids::{GroupId, OfferId, OrgId, PersonId, SessionId, WaitlistEntryId};
use circles_domain::sealed::ClinicalField;
use circles_domain::session::Modality;
use circles_domain::waitlist::{
    OfferStatus, Priority, PriorityFacts, Target, TargetKind, WaitlistSettings, priority, rank,
};
use circles_domain::waitlist_match::{Preferences, SpelledPreferences};
use jiff::Timestamp;

use crate::model::{Entry, EntryFilter, Keyset, Offer, OfferFilter, Pin, Place, ServingKey};
use crate::sql::db::{DbError, Executor, Row, Value, sql};
use crate::sql::rows::sealed;
use crate::{Result, StoreError};

pub const ENTRY_FROM: &str = "SELECT e.*, a.name AS client_name, o.timezone AS org_timezone, \
     COALESCE(g.name, s.title, ta.name) AS target_name, \
     (SELECT pa.name FROM people pp JOIN accounts pa ON pa.id = pp.account_id \
      WHERE pp.org_id = e.org_id AND pp.id = e.preferred_therapist_id) AS preferred_therapist_name, \
     (SELECT ms.title FROM sessions ms WHERE ms.org_id = e.org_id AND ms.id = e.matched_session_id) \
      AS matched_session_title \
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
        preferred_therapist_name: row.opt_text("preferred_therapist_name")?,
        matched_session_title: row.opt_text("matched_session_title")?,
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
    entries.sort_by(|a, b| serving_order(&ServingKey::of(a), &ServingKey::of(b)));
}

/// The domain's serving order ([`rank`]), then id: one order for sorting a
/// list and for finding where a page of it left off.
fn serving_order(a: &ServingKey, b: &ServingKey) -> std::cmp::Ordering {
    let priority = |k: &ServingKey| Priority { score: k.score, parts: Vec::new(), pinned: k.pinned.then(String::new) };
    rank((&priority(a), a.added_at), (&priority(b), b.added_at)).then(a.id.cmp(&b.id))
}

/// The entries served after `page.after`, at most `page.limit` of them.
/// Priority is the domain's function of the moment it is read, so the
/// page is cut after ranking rather than in SQL.
pub fn page_of(mut entries: Vec<Entry>, page: &Keyset<ServingKey>) -> Vec<Entry> {
    if let Some(after) = &page.after {
        entries.retain(|e| serving_order(&ServingKey::of(e), after).is_gt());
    }
    entries.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
    entries
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
    let mut entry = entry_from_row(&row, settings, now)?;
    open_notes(tx, org, std::slice::from_mut(&mut entry)).await?;
    Ok(entry)
}

/// Opens the notes of entries read with [`entry_from_row`], which leaves
/// them as stored.
pub async fn open_notes<E: Executor>(tx: &mut E, org: OrgId, entries: &mut [Entry]) -> Result<()> {
    let notes = entries.iter_mut().filter_map(|e| e.notes.as_mut().map(|n| (e.id.0, n)));
    sealed::open_each(tx, org, ClinicalField::WaitlistNotes, notes).await
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
    open_notes(tx, org, &mut entries).await?;
    sort(&mut entries);
    Ok(entries)
}

pub const OFFER_FROM: &str = "SELECT f.*, a.name AS client_name, o.kind AS place_kind, o.session_id AS place_session, \
     o.group_id AS place_group, o.therapist_id AS place_therapist, o.timezone, \
     COALESCE(s.title, g.name, 'One-on-one with ' || ta.name) AS title \
     FROM waitlist_offers f \
     JOIN waitlist_openings o ON o.org_id = f.org_id AND o.id = f.opening_id \
     JOIN people p ON p.org_id = f.org_id AND p.id = f.client_id \
     JOIN accounts a ON a.id = p.account_id \
     LEFT JOIN sessions s ON s.org_id = o.org_id AND s.id = o.session_id \
     LEFT JOIN groups g ON g.org_id = o.org_id AND g.id = o.group_id AND o.session_id IS NULL \
     LEFT JOIN people tp ON tp.org_id = o.org_id AND tp.id = o.therapist_id \
     LEFT JOIN accounts ta ON ta.id = tp.account_id";

/// The place an opening stands for. A seat with no session is a seat in the
/// group itself: its membership.
pub fn place_of(
    kind: &str,
    session: Option<SessionId>,
    group: Option<GroupId>,
    slot: impl FnOnce() -> Result<Place>,
) -> Result<Place> {
    match (kind, session, group) {
        ("SEAT", Some(session), _) => Ok(Place::Seat(session)),
        ("SEAT", None, Some(group)) => Ok(Place::Membership(group)),
        ("SEAT", None, None) => {
            Err(crate::sql::db::DbError::Decode("a seat opening without session or group".into()).into())
        }
        _ => slot(),
    }
}

pub fn offer_from_row(row: &impl Row, now: Timestamp) -> Result<Offer> {
    let starts_at = row.time("starts_at")?;
    let ends_at = row.time("ends_at")?;
    let place = place_of(&row.text("place_kind")?, row.opt_id("place_session")?, row.opt_id("place_group")?, || {
        Ok(Place::Slot { therapist: row.id("place_therapist")?, starts_at, ends_at })
    })?;
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
    page: &Keyset<(Timestamp, OfferId)>,
    now: Timestamp,
) -> Result<Vec<Offer>> {
    // The status filter reads the status as the clock has it
    // (`OfferStatus::at`): a live offer past its expiry counts as expired.
    let rows = tx
        .fetch_all(
            sql(format!(
                "{OFFER_FROM} WHERE f.org_id = $1 AND ($2 IS NULL OR f.client_id = $2) \
                 AND ($3 IS NULL OR (CASE WHEN f.status = $4 AND f.expires_at <= $5 THEN $6 ELSE f.status END) = $3) \
                 AND ($7 IS NULL OR f.created_at < $7 OR (f.created_at = $7 AND f.id > $8)) \
                 ORDER BY f.created_at DESC, f.id LIMIT $9"
            ))
            .bind(org)
            .bind(filter.client)
            .bind(Value::Text(filter.status.map(|s| s.as_str().to_owned())))
            .bind(OfferStatus::Live.as_str())
            .bind(now)
            .bind(OfferStatus::Expired.as_str())
            .bind(page.after.map(|(at, _)| at))
            .bind(page.after.map(|(_, id)| id))
            .bind(page.limit),
        )
        .await?;
    rows.iter().map(|r| offer_from_row(r, now)).collect()
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

/// Stores a new entry, active from `now`; the caller has checked its target
/// and that the client does not wait for it already.
pub async fn insert_entry<E: Executor>(
    tx: &mut E,
    org: OrgId,
    input: &crate::model::NewEntry,
    created_by: Option<PersonId>,
    now: Timestamp,
) -> Result<WaitlistEntryId> {
    let id = WaitlistEntryId::new();
    let (group, session, therapist) = match input.target {
        Target::Group(g) => (Some(g), None, None),
        Target::GroupSession(s) => (None, Some(s), None),
        Target::OneOnOne { therapist, .. } => (None, None, therapist),
    };
    let (modality, duration) = match input.target {
        Target::OneOnOne { modality, duration_minutes, .. } => (modality.map(|m| m.as_str()), Some(duration_minutes)),
        _ => (None, None),
    };
    let notes = sealed::seal(tx, org, ClinicalField::WaitlistNotes, id.0, input.notes.as_deref()).await?;
    tx.execute(
        sql("INSERT INTO waitlist_entries (org_id, id, client_id, target_kind, target_key, group_id, session_id, \
             therapist_id, modality, duration_minutes, urgency, preferred_therapist_id, preferences, referral, notes, \
             auto_match, status, added_at, decline_count, offer_count, created_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, 0, $19, $18)")
        .bind(org)
        .bind(id)
        .bind(input.client_id)
        .bind(input.target.kind().as_str())
        .bind(input.target.key().as_str())
        .bind(group)
        .bind(session)
        .bind(therapist)
        .bind(modality)
        .bind(duration)
        .bind(input.urgency.as_str())
        .bind(input.preferences.therapist)
        .bind(spelled(&input.preferences))
        .bind(input.referral)
        .bind(notes)
        .bind(input.auto_match)
        .bind(circles_domain::waitlist::EntryStatus::Active.as_str())
        .bind(now)
        .bind(created_by),
    )
    .await?;
    Ok(id)
}

/// Preferences as stored: spelled out.
pub fn spelled(prefs: &Preferences) -> String {
    serde_json::to_string(&prefs.spelled()).expect("preferences serialise")
}

/// Puts `client` on the waitlist for a place in `group` (they enrolled in
/// it while it was full), unless they wait for it already. Returns the
/// audit record of the new entry.
pub async fn wait_for_group<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    client: PersonId,
    created_by: Option<PersonId>,
    now: Timestamp,
) -> Result<Option<crate::sql::audit::AuditDraft>> {
    let target = Target::Group(group);
    let waiting = tx
        .fetch_optional(
            sql("SELECT id FROM waitlist_entries WHERE org_id = $1 AND client_id = $2 AND target_key = $3 \
                 AND status IN ($4, $5)")
            .bind(org)
            .bind(client)
            .bind(target.key().as_str())
            .bind(circles_domain::waitlist::EntryStatus::Active.as_str())
            .bind(circles_domain::waitlist::EntryStatus::Offered.as_str()),
        )
        .await?;
    if waiting.is_some() {
        return Ok(None);
    }
    let input = crate::model::NewEntry {
        client_id: client,
        target,
        urgency: circles_domain::waitlist::Urgency::Medium,
        preferences: Preferences::default(),
        referral: false,
        notes: None,
        auto_match: true,
        by_client: false,
    };
    let id = insert_entry(tx, org, &input, created_by, now).await?;
    Ok(Some(
        crate::sql::audit::AuditDraft::new("waitlist.entry.create", "waitlist_entry", id)
            .subject(client)
            .details(serde_json::json!({ "target": target.key(), "urgency": input.urgency, "from_enrolment": true })),
    ))
}
