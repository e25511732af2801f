//! Waitlist entries: joining, reading in priority order, changing, pinning,
//! leaving; suggestions both ways; settings and statistics.

use std::collections::BTreeSet;

mod freed_places;
mod stats;

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::ids::{OrgId, SessionId};
use circles_domain::input::TimeZoneName;
use circles_domain::sealed::ClinicalField;
use circles_domain::waitlist::{EntryStatus, Target, WaitlistSettings};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::busy;
use super::db::{Backend, Executor, Row, sql};
use super::rows::freed;
use super::rows::matching::{self, PlaceInfo};
use super::rows::offers::withdraw_entry_offers;
use super::rows::sealed;
use super::rows::waitlist::{self as waitlist_rows, fetch_entries, fetch_entry, insert_entry, spelled};
use super::{SqlStore, read_tx, write_tx};
use crate::model::{
    AuditCtx, AvailabilitySearch, Entry, EntryFilter, EntryId, EntryMatch, EntryUpdate, FreedPlace, Keyset, NewEntry,
    Place, PlaceMatch, ServingKey, WaitlistStats,
};
use crate::sql::rows::statuses::SESSION_SCHEDULED;
use crate::{AvailabilityStore, Result, StoreError, WaitlistStore};

/// How far ahead suggestions for an entry look.
const SUGGESTION_HORIZON: SignedDuration = SignedDuration::from_hours(24 * 30);

/// Checks that an entry's target exists in `org` and can be waited for.
async fn check_target<E: Executor>(tx: &mut E, org: OrgId, target: &Target, now: Timestamp) -> Result<()> {
    match *target {
        Target::Group(group) => {
            let row = tx
                .fetch_optional(sql("SELECT status FROM groups WHERE org_id = $1 AND id = $2").bind(org).bind(group))
                .await?;
            match row {
                None => Err(StoreError::invalid("group_id", "is not a group of this organisation")),
                Some(r) if r.text("status")? != "active" => {
                    Err(StoreError::invalid("group_id", "the group is archived"))
                }
                Some(_) => Ok(()),
            }
        }
        Target::GroupSession(session) => {
            let row = tx
                .fetch_optional(
                    sql("SELECT group_id, status, starts_at FROM sessions WHERE org_id = $1 AND id = $2")
                        .bind(org)
                        .bind(session),
                )
                .await?
                .ok_or_else(|| StoreError::invalid("session_id", "is not a session of this organisation"))?;
            if row.opt_id::<circles_domain::ids::GroupId>("group_id")?.is_none() {
                return Err(StoreError::invalid("session_id", "is not a group session"));
            }
            if row.text("status")? != "scheduled" || row.time("starts_at")? <= now {
                return Err(StoreError::invalid("session_id", "the session is not scheduled ahead"));
            }
            Ok(())
        }
        Target::OneOnOne { therapist: Some(t), .. } => {
            let role = tx
                .fetch_optional(sql("SELECT role FROM people WHERE org_id = $1 AND id = $2").bind(org).bind(t))
                .await?;
            match role {
                Some(r) if r.text("role")? == Role::Therapist.as_str() => Ok(()),
                _ => Err(StoreError::invalid("therapist_id", "is not a therapist of this organisation")),
            }
        }
        Target::OneOnOne { therapist: None, .. } => Ok(()),
    }
}

#[async_trait]
impl<B: Backend> WaitlistStore for SqlStore<B> {
    async fn waitlist_settings(&self, org: OrgId) -> Result<WaitlistSettings> {
        read_tx!(self, |tx| freed::settings(&mut tx, org).await?)
    }

    async fn set_waitlist_settings(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        settings: WaitlistSettings,
    ) -> Result<WaitlistSettings> {
        let now = self.clock.now();
        let text = serde_json::to_string(&settings).expect("settings serialise");
        write_tx!(self, |tx| {
            tx.execute(
                sql("INSERT INTO waitlist_settings (org_id, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (org_id) DO UPDATE SET settings = $2, updated_at = $3")
                .bind(org)
                .bind(text.as_str())
                .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("waitlist.settings", "organisation", org)
                .details(serde_json::to_value(settings).expect("settings serialise"));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            settings
        })
    }

    async fn create_entry(&self, ctx: &AuditCtx, org: OrgId, mut input: NewEntry) -> Result<Entry> {
        let now = self.clock.now();
        // Waiting for a given therapist is preferring them.
        if let Target::OneOnOne { therapist: Some(t), .. } = input.target {
            input.preferences.therapist.get_or_insert(t);
        }
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            busy::lock_people(&mut tx, dialect, org, &[(input.client_id, Role::Client, "client_id")]).await?;
            check_target(&mut tx, org, &input.target, now).await?;
            if let Some(t) = input.preferences.therapist {
                check_target(
                    &mut tx,
                    org,
                    &Target::OneOnOne { therapist: Some(t), modality: None, duration_minutes: 0 },
                    now,
                )
                .await
                .map_err(|_| {
                    StoreError::invalid("preferred_therapist_id", "is not a therapist of this organisation")
                })?;
            }
            let key = input.target.key();
            let duplicate = tx
                .fetch_optional(
                    sql("SELECT id FROM waitlist_entries WHERE org_id = $1 AND client_id = $2 AND target_key = $3 \
                         AND status IN ($4, $5)")
                    .bind(org)
                    .bind(input.client_id)
                    .bind(key.as_str())
                    .bind(EntryStatus::Active.as_str())
                    .bind(EntryStatus::Offered.as_str()),
                )
                .await?;
            if let Some(row) = duplicate {
                let existing: EntryId = row.id("id")?;
                return Err(StoreError::conflict(
                    "duplicate_entry",
                    format!("the client is already waiting for this (entry {existing})"),
                ));
            }
            let id = insert_entry(&mut tx, org, &input, ctx.person_id, now).await?;
            let draft = AuditDraft::new("waitlist.entry.create", "waitlist_entry", id)
                .subject(input.client_id)
                .details(json!({ "target": key, "urgency": input.urgency, "referral": input.referral }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            let settings = freed::settings(&mut tx, org).await?;
            fetch_entry(&mut tx, org, id, &settings, now).await?
        })
    }

    async fn entries_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        filter: EntryFilter,
        page: Keyset<ServingKey>,
    ) -> Result<Vec<Entry>> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let settings = freed::settings(&mut tx, org).await?;
            let entries =
                waitlist_rows::page_of(fetch_entries(&mut tx, org, &filter, "", &settings, now).await?, &page);
            // Notes are clinical text: listing an entry with notes reads that client's record.
            let drafts: Vec<AuditDraft> = entries
                .iter()
                .filter(|e| e.notes.is_some())
                .map(|e| AuditDraft::new("waitlist.entry.view", "waitlist_entry", e.id).subject(e.client_id))
                .collect();
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            entries
        })
    }

    async fn entry(&self, ctx: &AuditCtx, org: OrgId, id: EntryId) -> Result<Entry> {
        let now = self.clock.now();
        // An entry is part of a client's record: reading it is audited.
        write_tx!(self, |tx| {
            let settings = freed::settings(&mut tx, org).await?;
            let entry = fetch_entry(&mut tx, org, id, &settings, now).await?;
            let draft = AuditDraft::new("waitlist.entry.view", "waitlist_entry", id).subject(entry.client_id);
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            entry
        })
    }

    async fn update_entry(&self, ctx: &AuditCtx, org: OrgId, id: EntryId, update: EntryUpdate) -> Result<Entry> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            if !super::db::lock_row(&mut tx, dialect, "waitlist_entries", org, id).await? {
                return Err(StoreError::NotFound("waitlist entry"));
            }
            let settings = freed::settings(&mut tx, org).await?;
            let before = fetch_entry(&mut tx, org, id, &settings, now).await?;
            if !before.status.is_waiting() {
                return Err(StoreError::conflict(
                    "entry_closed",
                    format!("the entry is {} and can no longer change", before.status.as_str().to_lowercase()),
                ));
            }
            let prefs = update.preferences.clone().unwrap_or_else(|| before.preferences.clone());
            // Notes not being changed stay as stored, never sealed afresh from what was read.
            let notes = match &update.notes {
                Some(notes) => sealed::seal(&mut tx, org, ClinicalField::WaitlistNotes, id.0, notes.as_deref()).await?,
                None => None,
            };
            let mut drafts = Vec::new();
            let mut changed = Vec::new();
            if update.urgency.is_some() {
                changed.push("urgency");
            }
            if update.preferences.is_some() {
                changed.push("preferences");
            }
            if update.referral.is_some() {
                changed.push("referral");
            }
            if update.notes.is_some() {
                changed.push("notes");
            }
            if update.auto_match.is_some() {
                changed.push("auto_match");
            }
            tx.execute(
                sql("UPDATE waitlist_entries SET urgency = $3, preferred_therapist_id = $4, preferences = $5, referral = $6, \
                     notes = CASE WHEN $10 THEN $7 ELSE notes END, auto_match = $8, updated_at = $9 \
                     WHERE org_id = $1 AND id = $2")
                .bind(org)
                .bind(id)
                .bind(update.urgency.unwrap_or(before.urgency).as_str())
                .bind(prefs.therapist)
                .bind(spelled(&prefs))
                .bind(update.referral.unwrap_or(before.referral))
                .bind(notes)
                .bind(update.auto_match.unwrap_or(before.auto_match))
                .bind(now)
                .bind(update.notes.is_some()),
            )
            .await?;
            if !changed.is_empty() {
                drafts.push(
                    AuditDraft::new("waitlist.entry.update", "waitlist_entry", id)
                        .subject(before.client_id)
                        .details(json!({ "changed": changed })),
                );
            }
            if let Some(pin) = &update.pin {
                tx.execute(
                    // `updated_at` moves too: a pass's shared candidate list
                    // notices the changed order by it.
                    sql(
                        "UPDATE waitlist_entries SET pin_reason = $3, pinned_by = $4, pinned_at = $5, updated_at = $6 \
                         WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(pin.clone())
                    .bind(pin.as_ref().and(ctx.person_id))
                    .bind(pin.as_ref().map(|_| now))
                    .bind(now),
                )
                .await?;
                let (action, score_before) = match pin {
                    Some(_) => ("waitlist.entry.pin", before.priority.score),
                    None => ("waitlist.entry.unpin", before.priority.score),
                };
                drafts.push(
                    AuditDraft::new(action, "waitlist_entry", id)
                        .subject(before.client_id)
                        .details(json!({ "reason": pin, "score": score_before })),
                );
            }
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch_entry(&mut tx, org, id, &settings, now).await?
        })
    }

    async fn cancel_entry(&self, ctx: &AuditCtx, org: OrgId, id: EntryId) -> Result<Entry> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            if !super::db::lock_row(&mut tx, dialect, "waitlist_entries", org, id).await? {
                return Err(StoreError::NotFound("waitlist entry"));
            }
            let settings = freed::settings(&mut tx, org).await?;
            let entry = fetch_entry(&mut tx, org, id, &settings, now).await?;
            if !entry.status.can_become(EntryStatus::Cancelled) {
                return Err(StoreError::conflict(
                    "entry_closed",
                    format!("the entry is already {}", entry.status.as_str().to_lowercase()),
                ));
            }
            let mut drafts = Vec::new();
            withdraw_entry_offers(&mut tx, org, id, now, &mut drafts).await?;
            tx.execute(
                sql("UPDATE waitlist_entries SET status = $3, closed_at = $4, updated_at = $4 WHERE org_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id)
                    .bind(EntryStatus::Cancelled.as_str())
                    .bind(now),
            )
            .await?;
            drafts.push(AuditDraft::new("waitlist.entry.cancel", "waitlist_entry", id).subject(entry.client_id));
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            fetch_entry(&mut tx, org, id, &settings, now).await?
        })
    }

    async fn entry_suggestions(&self, org: OrgId, id: EntryId, limit: usize) -> Result<Vec<PlaceMatch>> {
        let now = self.clock.now();
        let (entry, settings, places) = read_tx!(self, |tx| {
            let settings = freed::settings(&mut tx, org).await?;
            let entry = fetch_entry(&mut tx, org, id, &settings, now).await?;
            let places: Vec<Place> = match entry.target {
                Target::GroupSession(s) => vec![Place::Seat(s)],
                Target::Group(g) => tx
                    .fetch_all(
                        sql(format!("SELECT id FROM sessions WHERE org_id = $1 AND group_id = $2 AND status = {SESSION_SCHEDULED} \
                             AND starts_at > $3 AND starts_at < $4 ORDER BY starts_at LIMIT 200"))
                        .bind(org)
                        .bind(g)
                        .bind(now)
                        .bind(now + SUGGESTION_HORIZON),
                    )
                    .await?
                    .iter()
                    .map(|r| r.id("id").map(Place::Seat))
                    .collect::<Result<Vec<_>, _>>()?,
                Target::OneOnOne { .. } => Vec::new(),
            };
            (entry, settings, places)
        })?;
        let places = match entry.target {
            Target::OneOnOne { therapist, modality, duration_minutes } => {
                let zone = TimeZoneName::parse(&entry.timezone).map_err(|e| StoreError::invalid("timezone", e))?;
                let found = self
                    .search_availability(
                        org,
                        AvailabilitySearch {
                            therapists: therapist.map(|t| vec![t]),
                            from: now,
                            to: now + SignedDuration::from_hours(24 * 14),
                            duration: SignedDuration::from_mins(duration_minutes),
                            step: SignedDuration::from_mins(30),
                            modality,
                            zone,
                            // The first page is plenty for five suggestions.
                            cursor: None,
                            page_size: circles_domain::search::therapists_per_page(14),
                        },
                    )
                    .await?;
                found
                    .into_free_starts()
                    .into_iter()
                    .flat_map(|f| {
                        f.starts.into_iter().map(move |start| Place::Slot {
                            therapist: f.therapist_id,
                            starts_at: start,
                            ends_at: start + SignedDuration::from_mins(duration_minutes),
                        })
                    })
                    .collect()
            }
            _ => places,
        };
        read_tx!(self, |tx| {
            let mut infos: Vec<PlaceInfo> = Vec::new();
            let ahead = |p: &Place| !matches!(p, Place::Slot { starts_at, .. } if *starts_at <= now);
            for place in places.into_iter().filter(ahead) {
                match matching::place_info(&mut tx, org, place, None, now).await {
                    Ok(info) if info.free > 0 => infos.push(info),
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            let window_start = infos.iter().map(|i| i.interval.start).min();
            let window_end = infos.iter().map(|i| i.interval.end).max();
            let busy = match (window_start, window_end) {
                (Some(a), Some(b)) => {
                    let window = circles_domain::interval::Interval::new(a, b).expect("a forward window");
                    busy::load(&mut tx, org, &[entry.client_id], window).await?
                }
                _ => Vec::new(),
            };
            let mut scored: Vec<PlaceMatch> = Vec::new();
            for info in infos {
                let wanted = matching::booked_interval(&info, &entry);
                let clash = busy.iter().any(|b| {
                    b.is_live(now)
                        && b.interval.overlaps(&wanted)
                        && !matches!(info.place, Place::Seat(s) if b.session == Some(s))
                });
                let opening = info.opening();
                if clash || circles_domain::waitlist_match::misfit(&entry.preferences, &opening, now).is_some() {
                    continue;
                }
                let matched = circles_domain::waitlist_match::score(
                    &settings.matching,
                    &entry.preferences,
                    &entry.priority,
                    &opening,
                    now,
                );
                let names = super::rows::waitlist::names(&mut tx, org, &info.therapists).await?;
                let place = match info.place {
                    Place::Slot { therapist, .. } => {
                        Place::Slot { therapist, starts_at: wanted.start, ends_at: wanted.end }
                    }
                    seat => seat,
                };
                scored.push(PlaceMatch {
                    place,
                    title: info.title.clone(),
                    therapist_ids: info.therapists.clone(),
                    therapist_names: names.into_iter().map(|(_, n)| n).collect(),
                    starts_at: wanted.start,
                    ends_at: wanted.end,
                    timezone: info.timezone.clone(),
                    matched,
                });
            }
            // The place last: one order while nothing changes, so that the
            // suggestions page by position.
            scored.sort_by(|a, b| {
                b.matched
                    .score
                    .total_cmp(&a.matched.score)
                    .then(a.starts_at.cmp(&b.starts_at))
                    .then(a.place.cmp(&b.place))
            });
            scored.truncate(limit);
            scored
        })
    }

    async fn freed_suggestions(&self, org: OrgId, session: SessionId, limit: usize) -> Result<Vec<EntryMatch>> {
        let now = self.clock.now();
        read_tx!(self, |tx| {
            let settings = freed::settings(&mut tx, org).await?;
            let place = super::rows::offers::freed_place(&mut tx, org, session).await?;
            let info = matching::place_info(&mut tx, org, place, None, now).await?;
            matching::candidates(&mut tx, org, &info, false, &BTreeSet::new(), &settings, now, limit).await?
        })
    }

    async fn freed_places(&self, org: OrgId, limit: usize, per_place: usize) -> Result<Vec<FreedPlace>> {
        let now = self.clock.now();
        read_tx!(self, |tx| {
            let settings = freed::settings(&mut tx, org).await?;
            freed_places::list(&mut tx, org, &settings, limit, per_place, now).await?
        })
    }

    async fn waitlist_stats(&self, org: OrgId) -> Result<WaitlistStats> {
        let now = self.clock.now();
        read_tx!(self, |tx| stats::stats(&mut tx, org, now).await?)
    }
}
