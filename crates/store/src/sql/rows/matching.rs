//! Who can take a seat or slot, best first: the entries whose target fits,
//! whose wanted dates include it, whose client is free then and screened
//! where the group asks for it — ranked by the domain's match score.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use circles_domain::group::{GroupSettings, GroupStatus, MembershipStatus};
use circles_domain::ids::{GroupId, OpeningId, OrgId, PersonId, SessionId};
use circles_domain::interval::Interval;
use circles_domain::session::SessionStatus;
use circles_domain::waitlist::{EntryStatus, OfferMode, OfferStatus, PriorityFacts, WaitlistSettings, priority};
use circles_domain::waitlist_match::{Opening, Waiting, fitting_in_order, score};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::model::{Entry, EntryMatch, Place};
use crate::sql::busy;
use crate::sql::db::{Executor, Row, placeholders, sql};
use crate::sql::rows::freed;
use crate::sql::rows::groups::decode_json;
use crate::sql::rows::statuses::INVITATION_ACCEPTED;
use crate::sql::rows::statuses::ROLE_THERAPIST;
use crate::sql::rows::statuses::{HOLDING_SEATS, Quoted};
use crate::sql::rows::waitlist::{ENTRY_FROM, entry_from_row};
use crate::{Result, StoreError};

/// The offer mode in a row's group `settings`, if it has a group that sets one.
fn group_offer_mode(row: &impl Row) -> Result<Option<OfferMode>> {
    let Some(text) = row.opt_text("settings")? else { return Ok(None) };
    Ok(decode_json::<GroupSettings>(&text, "settings")?.offer_mode)
}

/// A place with what matching needs to know about it.
#[derive(Debug, Clone)]
pub struct PlaceInfo {
    pub place: Place,
    pub group: Option<GroupId>,
    pub title: String,
    pub interval: Interval,
    pub timezone: String,
    pub modality: Option<String>,
    pub therapists: Vec<PersonId>,
    /// Seats (or 1 for a slot) not taken and not held by another opening's
    /// live offer.
    pub free: i64,
    pub requires_screening: bool,
    /// The group's own offer mode, where it sets one.
    pub offer_mode: Option<OfferMode>,
}

impl PlaceInfo {
    pub fn opening(&self) -> Opening {
        let zone = TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC);
        Opening {
            starts_at: self.interval.start,
            local_start: self.interval.start.to_zoned(zone.clone()).datetime(),
            local_end: self.interval.end.to_zoned(zone).datetime(),
            therapists: self.therapists.clone(),
        }
    }
}

/// Reads a place. A seat must be on a scheduled group session; `except`
/// leaves one opening's own offers out of the held count.
pub async fn place_info<E: Executor>(
    tx: &mut E,
    org: OrgId,
    place: Place,
    except: Option<OpeningId>,
    now: Timestamp,
) -> Result<PlaceInfo> {
    match place {
        Place::Seat(session) => {
            let holding = HOLDING_SEATS.values();
            let mut q = sql(format!(
                "SELECT s.title, s.starts_at, s.ends_at, s.timezone, s.modality, s.capacity, s.group_id, s.status, \
                 CASE WHEN g.requires_screening THEN 1 ELSE 0 END AS requires_screening, g.settings, \
                 (SELECT COUNT(*) FROM seats x WHERE x.org_id = s.org_id AND x.session_id = s.id AND x.status IN ({})) \
                   AS taken \
                 FROM sessions s LEFT JOIN groups g ON g.org_id = s.org_id AND g.id = s.group_id \
                 WHERE s.org_id = $1 AND s.id = $2",
                placeholders(3, holding.len())
            ))
            .bind(org)
            .bind(session);
            q.args.extend(holding);
            let row = tx.fetch_optional(q).await?.ok_or(StoreError::NotFound("session"))?;
            let group: Option<GroupId> = row.opt_id("group_id")?;
            let status: SessionStatus = row.parsed("status")?;
            let interval = Interval::new(row.time("starts_at")?, row.time("ends_at")?).expect("a session has length");
            if group.is_none() || status.at(interval.start, interval.end, now) != SessionStatus::Scheduled {
                return Err(StoreError::conflict(
                    "not_offerable",
                    "only seats on scheduled group sessions still to come can be offered",
                ));
            }
            let held = freed::held_seats(tx, org, session, except, now).await?;
            let therapists = tx
                .fetch_all(
                    sql(format!(
                        "SELECT therapist_id FROM session_therapists WHERE org_id = $1 AND session_id = $2 \
                         AND status = {INVITATION_ACCEPTED} ORDER BY therapist_id"
                    ))
                    .bind(org)
                    .bind(session),
                )
                .await?
                .iter()
                .map(|r| r.id("therapist_id"))
                .collect::<Result<Vec<PersonId>, _>>()?;
            Ok(PlaceInfo {
                place,
                group,
                title: row.text("title")?,
                interval,
                timezone: row.text("timezone")?,
                modality: row.opt_text("modality")?,
                therapists,
                free: row.int("capacity")? - row.int("taken")? - held,
                requires_screening: row.int("requires_screening")? == 1,
                offer_mode: group_offer_mode(&row)?,
            })
        }
        Place::Membership(group) => {
            let row = tx
                .fetch_optional(
                    sql("SELECT g.name, g.capacity, g.status, g.settings, (SELECT COUNT(*) FROM group_memberships m \
                           WHERE m.org_id = g.org_id AND m.group_id = g.id AND m.status = $3) AS active \
                         FROM groups g WHERE g.org_id = $1 AND g.id = $2")
                    .bind(org)
                    .bind(group)
                    .bind(MembershipStatus::Active.as_str()),
                )
                .await?
                .ok_or(StoreError::NotFound("group"))?;
            if row.parsed::<GroupStatus>("status")? == GroupStatus::Archived {
                return Err(StoreError::conflict("not_offerable", "an archived group takes no new members"));
            }
            let held = freed::held_places(tx, org, group, except, now).await?;
            // A group without a capacity always has room.
            let active = row.int("active")?;
            let free = row.opt_int("capacity")?.map_or(1, |capacity| capacity - active - held);
            let (interval, timezone) = freed::membership_interval(tx, org, group, now).await?;
            Ok(PlaceInfo {
                place,
                group: Some(group),
                title: row.text("name")?,
                interval,
                timezone,
                modality: None,
                therapists: Vec::new(),
                free,
                requires_screening: false,
                offer_mode: group_offer_mode(&row)?,
            })
        }
        Place::Slot { therapist, starts_at, ends_at } => {
            let interval = Interval::new(starts_at, ends_at)
                .ok_or_else(|| StoreError::invalid("ends_at", "must be after starts_at"))?;
            if starts_at <= now {
                return Err(StoreError::invalid("starts_at", "must be in the future"));
            }
            let row = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT a.name, o.timezone FROM people p JOIN accounts a ON a.id = p.account_id \
                         JOIN organisations o ON o.id = p.org_id \
                         WHERE p.org_id = $1 AND p.id = $2 AND p.role = {ROLE_THERAPIST}"
                    ))
                    .bind(org)
                    .bind(therapist),
                )
                .await?
                .ok_or_else(|| StoreError::invalid("therapist_id", "is not a therapist of this organisation"))?;
            Ok(PlaceInfo {
                place,
                group: None,
                title: format!("One-on-one with {}", row.text("name")?),
                interval,
                timezone: row.text("timezone")?,
                modality: None,
                therapists: vec![therapist],
                free: 1,
                requires_screening: false,
                offer_mode: None,
            })
        }
    }
}

/// Waiting entries whose target is this place, before any calendar check.
async fn waiting_for<E: Executor>(
    tx: &mut E,
    org: OrgId,
    info: &PlaceInfo,
    automatic: bool,
    settings: &WaitlistSettings,
    now: Timestamp,
) -> Result<Vec<Entry>> {
    // Staff suggestions include entries that opted out of automatic offers.
    let q = match info.place {
        Place::Seat(session) => {
            let holding = HOLDING_SEATS.values();
            let mut q = sql(format!(
                "{ENTRY_FROM} WHERE e.org_id = $1 AND e.status = $2 AND (e.auto_match OR $3) AND e.target_key IN ($4, $5) \
                 AND NOT EXISTS (SELECT 1 FROM seats x WHERE x.org_id = e.org_id AND x.session_id = $6 \
                   AND x.client_id = e.client_id AND x.status IN ({}))",
                placeholders(7, holding.len())
            ))
            .bind(org)
            .bind(EntryStatus::Active.as_str())
            .bind(!automatic)
            .bind(info.group.map(|g| format!("group:{g}")).unwrap_or_default())
            .bind(format!("session:{session}"))
            .bind(session);
            q.args.extend(holding);
            q
        }
        // A place in the group goes to members waiting on its roster.
        Place::Membership(group) => sql(format!(
            "{ENTRY_FROM} WHERE e.org_id = $1 AND e.status = $2 AND (e.auto_match OR $3) AND e.target_key = $4 \
             AND EXISTS (SELECT 1 FROM group_memberships m WHERE m.org_id = e.org_id AND m.group_id = $5 \
               AND m.client_id = e.client_id AND m.status = $6)"
        ))
        .bind(org)
        .bind(EntryStatus::Active.as_str())
        .bind(!automatic)
        .bind(format!("group:{group}"))
        .bind(group)
        .bind(MembershipStatus::Waitlisted.as_str()),
        Place::Slot { therapist, .. } => sql(format!(
            "{ENTRY_FROM} WHERE e.org_id = $1 AND e.status = $2 AND (e.auto_match OR $3) AND e.target_kind = $4 \
             AND (e.therapist_id IS NULL OR e.therapist_id = $5) AND e.duration_minutes <= $6"
        ))
        .bind(org)
        .bind(EntryStatus::Active.as_str())
        .bind(!automatic)
        .bind(circles_domain::waitlist::TargetKind::OneOnOne.as_str())
        .bind(therapist)
        .bind(info.interval.length().as_mins()),
    };
    let rows = tx.fetch_all(q).await?;
    // Only who waits and for what: the entries' notes stay sealed.
    rows.iter().map(|r| entry_from_row(r, settings, now)).collect()
}

/// Clients screened for `group` (an approved screening on a current
/// membership), among `clients`.
async fn screened<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    clients: &[PersonId],
) -> Result<BTreeSet<PersonId>> {
    let mut found = BTreeSet::new();
    for chunk in clients.chunks(500) {
        let rows = tx
            .fetch_all(
                sql(format!(
                    "SELECT client_id FROM group_memberships WHERE org_id = $1 AND group_id = $2 \
                     AND status IN ({}, {}) AND screening_approved = $3 AND client_id IN ({})",
                    Quoted(MembershipStatus::Active.as_str()),
                    Quoted(MembershipStatus::Waitlisted.as_str()),
                    placeholders(4, chunk.len())
                ))
                .bind(org)
                .bind(group)
                .bind(true)
                .bind_all(chunk.iter().copied()),
            )
            .await?;
        for r in &rows {
            found.insert(r.id("client_id")?);
        }
    }
    Ok(found)
}

/// Whether `client` waits on `group`'s roster for a place.
pub async fn waits_on_roster<E: Executor>(tx: &mut E, org: OrgId, group: GroupId, client: PersonId) -> Result<bool> {
    let row = tx
        .fetch_optional(
            sql("SELECT 1 AS one FROM group_memberships WHERE org_id = $1 AND group_id = $2 AND client_id = $3 \
                 AND status = $4")
            .bind(org)
            .bind(group)
            .bind(client)
            .bind(MembershipStatus::Waitlisted.as_str()),
        )
        .await?;
    Ok(row.is_some())
}

/// The interval an entry would occupy in a place: the whole session, or
/// the entry's duration from the slot's start.
pub fn booked_interval(info: &PlaceInfo, entry: &Entry) -> Interval {
    match (info.place, entry.target) {
        (Place::Slot { .. }, circles_domain::waitlist::Target::OneOnOne { duration_minutes, .. }) => {
            let end = info.interval.start + jiff::SignedDuration::from_mins(duration_minutes);
            Interval::new(info.interval.start, end.min(info.interval.end)).expect("a positive duration")
        }
        _ => info.interval,
    }
}

/// The best `limit` entries for `info`, each checked against its client's
/// calendar. `skip` leaves out clients (those already offered this
/// opening).
#[allow(clippy::too_many_arguments)]
pub async fn candidates<E: Executor>(
    tx: &mut E,
    org: OrgId,
    info: &PlaceInfo,
    automatic: bool,
    skip: &BTreeSet<PersonId>,
    settings: &WaitlistSettings,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<EntryMatch>> {
    let entries = waiting_for(tx, org, info, automatic, settings, now).await?;
    choose(tx, org, info, entries.iter().collect(), skip, settings, now, limit).await
}

/// The waiting entries of whole groups that one matching pass has read,
/// shared by the pass's openings: a group with thousands of waiting entries
/// and hundreds of freed seats is read once, not once per seat. Each list
/// carries the version it was read at (how many entries wait, and the
/// latest change among them); an opening that finds another version reads
/// the list again, so an entry added, edited, pinned or waiting again since
/// is never missed.
#[derive(Default)]
pub struct Pool {
    groups: HashMap<(OrgId, GroupId), Pooled>,
}

struct Pooled {
    entries: Vec<Entry>,
    version: Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    waiting: i64,
    latest: Option<Timestamp>,
}

async fn group_version<E: Executor>(tx: &mut E, org: OrgId, group: GroupId) -> Result<Version> {
    let row = tx
        .fetch_one(
            sql("SELECT COUNT(*) AS waiting, MAX(updated_at) AS latest FROM waitlist_entries \
                 WHERE org_id = $1 AND target_key = $2 AND status = $3")
            .bind(org)
            .bind(format!("group:{group}"))
            .bind(EntryStatus::Active.as_str()),
        )
        .await?;
    Ok(Version { waiting: row.int("waiting")?, latest: row.opt_time("latest")? })
}

impl Pool {
    /// The entries waiting automatically for `group`, read again if the
    /// list changed since it was read.
    async fn group<E: Executor>(
        &mut self,
        tx: &mut E,
        org: OrgId,
        group: GroupId,
        settings: &WaitlistSettings,
        now: Timestamp,
    ) -> Result<&[Entry]> {
        let version = group_version(tx, org, group).await?;
        let fresh = self.groups.get(&(org, group)).is_some_and(|p| p.version == version);
        if !fresh {
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "{ENTRY_FROM} WHERE e.org_id = $1 AND e.status = $2 AND e.auto_match = $3 AND e.target_key = $4"
                    ))
                    .bind(org)
                    .bind(EntryStatus::Active.as_str())
                    .bind(true)
                    .bind(format!("group:{group}")),
                )
                .await?;
            let entries = rows.iter().map(|r| entry_from_row(r, settings, now)).collect::<Result<Vec<_>>>()?;
            self.groups.insert((org, group), Pooled { entries, version });
        }
        Ok(&self.groups[&(org, group)].entries)
    }

    /// Notes that the pass offered `entry` a place: it waits no longer, one
    /// fewer waits. (Should its change have been the list's latest, the
    /// versions differ next time and the list is read again.)
    pub fn offered(&mut self, org: OrgId, entry: &Entry) {
        let circles_domain::waitlist::Target::Group(group) = entry.target else { return };
        if let Some(pooled) = self.groups.get_mut(&(org, group)) {
            let before = pooled.entries.len();
            pooled.entries.retain(|e| e.id != entry.id);
            if pooled.entries.len() < before {
                pooled.version.waiting -= 1;
            }
        }
    }
}

/// [`candidates`] for the matching pass: a seat's group waiters come from
/// the pass's `pool`, the few who wait for that one session are read
/// directly.
#[allow(clippy::too_many_arguments)]
pub async fn pooled_candidates<E: Executor>(
    tx: &mut E,
    pool: &mut Pool,
    org: OrgId,
    info: &PlaceInfo,
    skip: &BTreeSet<PersonId>,
    settings: &WaitlistSettings,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<EntryMatch>> {
    let (Place::Seat(session), Some(group)) = (info.place, info.group) else {
        return candidates(tx, org, info, true, skip, settings, now, limit).await;
    };
    let holding = HOLDING_SEATS.values();
    let mut q = sql(format!(
        "SELECT client_id FROM seats WHERE org_id = $1 AND session_id = $2 AND status IN ({})",
        placeholders(3, holding.len())
    ))
    .bind(org)
    .bind(session);
    q.args.extend(holding);
    let seated: BTreeSet<PersonId> =
        tx.fetch_all(q).await?.iter().map(|r| r.id("client_id")).collect::<Result<_, _>>()?;
    let for_session = tx
        .fetch_all(
            sql(format!(
                "{ENTRY_FROM} WHERE e.org_id = $1 AND e.status = $2 AND e.auto_match = $3 AND e.target_key = $4"
            ))
            .bind(org)
            .bind(EntryStatus::Active.as_str())
            .bind(true)
            .bind(format!("session:{session}")),
        )
        .await?
        .iter()
        .map(|r| entry_from_row(r, settings, now))
        .collect::<Result<Vec<_>>>()?;
    let for_group = pool.group(tx, org, group, settings, now).await?;
    let entries: Vec<&Entry> =
        for_group.iter().chain(&for_session).filter(|e| !seated.contains(&e.client_id)).collect();
    choose(tx, org, info, entries, skip, settings, now, limit).await
}

/// The best `limit` of `entries` for `info`, each checked against its
/// client's calendar. Entries are ranked by their scores as numbers;
/// calendars are then read a batch at a time, best candidates first, so a
/// long list costs a few statements, and only the chosen get their
/// priority and match explained in words.
#[allow(clippy::too_many_arguments)]
async fn choose<E: Executor>(
    tx: &mut E,
    org: OrgId,
    info: &PlaceInfo,
    mut entries: Vec<&Entry>,
    skip: &BTreeSet<PersonId>,
    settings: &WaitlistSettings,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<EntryMatch>> {
    entries.retain(|e| !skip.contains(&e.client_id) && !info.therapists.contains(&e.client_id));
    if info.requires_screening
        && let Some(group) = info.group
    {
        let clients: Vec<PersonId> = entries.iter().map(|e| e.client_id).collect();
        let ok = screened(tx, org, group, &clients).await?;
        entries.retain(|e| ok.contains(&e.client_id));
    }
    let opening = info.opening();
    let facts: Vec<PriorityFacts> = entries.iter().map(|e| facts_of(e)).collect();
    let waiting: Vec<Waiting<'_, usize>> = entries
        .iter()
        .zip(&facts)
        .enumerate()
        .map(|(i, (e, facts))| Waiting { key: i, facts, prefs: &e.preferences })
        .collect();
    let ranked = fitting_in_order(&settings.matching, &settings.priority, &opening, &waiting, now);
    let mut chosen = Vec::new();
    const BATCH: usize = 50;
    for batch in ranked.chunks(BATCH) {
        let clients: Vec<PersonId> =
            batch.iter().map(|r| entries[r.key].client_id).collect::<BTreeSet<_>>().into_iter().collect();
        let busy = busy::load(tx, org, &clients, info.interval).await?;
        let mut by_client: BTreeMap<PersonId, Vec<&busy::Busy>> = BTreeMap::new();
        for b in busy.iter().filter(|b| b.is_live(now)) {
            by_client.entry(b.person).or_default().push(b);
        }
        for r in batch {
            let entry = entries[r.key];
            let wanted = booked_interval(info, entry);
            let own_seat = |b: &&busy::Busy| matches!(info.place, Place::Seat(s) if b.session == Some(s));
            // A place in a group takes none of the client's time.
            let free = matches!(info.place, Place::Membership(_))
                || by_client
                    .get(&entry.client_id)
                    .is_none_or(|rows| !rows.iter().filter(|b| !own_seat(b)).any(|b| b.interval.overlaps(&wanted)));
            if free {
                let mut entry = entry.clone();
                entry.priority = priority(&settings.priority, &facts[r.key], now);
                let matched = score(&settings.matching, &entry.preferences, &entry.priority, &opening, now);
                debug_assert_eq!(matched.score, r.score, "the fast ranking scores as the explained score does");
                chosen.push(EntryMatch { entry, matched });
                if chosen.len() >= limit {
                    return Ok(chosen);
                }
            }
        }
    }
    Ok(chosen)
}

fn facts_of(entry: &Entry) -> PriorityFacts {
    PriorityFacts {
        added_at: entry.added_at,
        urgency: entry.urgency,
        referral: entry.referral,
        decline_count: entry.decline_count,
        pinned: entry.pin.as_ref().map(|p| p.reason.clone()),
    }
}

/// Clients who were already offered `opening` (whatever became of it).
pub async fn offered_already<E: Executor>(
    tx: &mut E,
    org: OrgId,
    opening: OpeningId,
    now: Timestamp,
) -> Result<(BTreeSet<PersonId>, usize)> {
    let rows = tx
        .fetch_all(
            sql("SELECT client_id, status, expires_at FROM waitlist_offers WHERE org_id = $1 AND opening_id = $2")
                .bind(org)
                .bind(opening),
        )
        .await?;
    let mut clients = BTreeSet::new();
    let mut live = 0;
    for r in &rows {
        clients.insert(r.id("client_id")?);
        let status: OfferStatus = r.parsed("status")?;
        if status.at(r.time("expires_at")?, now) == OfferStatus::Live {
            live += 1;
        }
    }
    Ok((clients, live))
}

/// The session a seat place is on.
pub fn seat_session(place: Place) -> Option<SessionId> {
    match place {
        Place::Seat(s) => Some(s),
        Place::Slot { .. } | Place::Membership(_) => None,
    }
}
