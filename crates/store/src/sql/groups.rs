//! Groups: creation, rules, staff, and client memberships.

use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::authz::GroupRelation;
use circles_domain::group::{GroupStatus, MembershipStatus, status_on, takes_new_members};
use circles_domain::ids::{GroupId, MembershipId, OrgId, PersonId};
use circles_domain::recurrence::{Recurrence, RecurrenceInput};
use circles_domain::series;
use circles_domain::session::SessionStatus;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, lock_row, placeholders, sql};
use super::rows::freed::{self, Cause};
use super::rows::groups::{
    FIELD_COLUMNS, GROUP_COLUMNS, MEMBER_ROWS, attach_staff, bind_fields, check_staff, fetch_group, group_from_row,
    member_from_row, open_member_texts, replace_staff,
};
use super::rows::statuses::CURRENT_MEMBERSHIPS;
use super::rows::waitlist::wait_for_group;
use super::{SqlStore, read_tx, write_tx};
use crate::model::{AuditCtx, Group, GroupFields, GroupMember, GroupStanding, GroupUpdate, Keyset, NewGroup};
use crate::sql::rows::statuses::{GROUP_ACTIVE, GROUP_ARCHIVED};
use crate::{GroupStore, Result, StoreError};

/// Refuses a new recurrence that would place occurrences elsewhere while
/// sessions generated from the old one lie ahead: replacing it would leave
/// those sessions where they are and generate others beside them (two
/// seats of one group on one day). A split moves them instead.
async fn refuse_reshaping<E: Executor>(
    tx: &mut E,
    org: OrgId,
    current: &Group,
    fields: &GroupFields,
    now: Timestamp,
) -> Result<()> {
    let parse = |input: Option<&RecurrenceInput>| input.and_then(|i| Recurrence::parse(i).ok());
    let (old, new) = (parse(current.fields.recurrence.as_ref()), parse(fields.recurrence.as_ref()));
    if !series::reshapes(old.as_ref(), new.as_ref()) {
        return Ok(());
    }
    let ahead = tx
        .fetch_one(
            sql(format!(
                "SELECT COUNT(*) AS n FROM sessions WHERE org_id = $1 AND group_id = $2 AND recurrence_id IS NOT NULL \
                 AND status = '{}' AND starts_at > $3",
                SessionStatus::Scheduled.as_str()
            ))
            .bind(org)
            .bind(current.id)
            .bind(now),
        )
        .await?
        .int("n")?;
    if ahead == 0 {
        return Ok(());
    }
    let mut error = StoreError::conflict(
        "series_split_required",
        format!(
            "{ahead} sessions are already generated from this group's recurrence; change it from a chosen date with \
             POST /api/v1/orgs/{{org_id}}/groups/{{group_id}}/series/split, which moves them"
        ),
    );
    if let StoreError::Conflict(c) = &mut error {
        c.details.insert("generated_ahead".into(), json!(ahead));
        c.details.insert("use".into(), json!("series/split"));
    }
    Err(error)
}

/// When the group's first session started, as a local date and time in its
/// zone ("2027-03-03 18:00 EST"), if one has.
async fn first_session_started<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    now: Timestamp,
) -> Result<Option<String>> {
    let row = tx
        .fetch_optional(
            sql(format!(
                "SELECT starts_at, timezone FROM sessions WHERE org_id = $1 AND group_id = $2 AND status <> '{}' \
                 AND starts_at <= $3 ORDER BY starts_at LIMIT 1",
                SessionStatus::Cancelled.as_str()
            ))
            .bind(org)
            .bind(group)
            .bind(now),
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let zone = jiff::tz::TimeZone::get(&row.text("timezone")?).unwrap_or(jiff::tz::TimeZone::UTC);
    Ok(Some(row.time("starts_at")?.to_zoned(zone).strftime("%a %-d %b %Y, %H:%M %Z").to_string()))
}

/// A raised group capacity reaches the group's sessions still to come that
/// were made for the old one (sessions given their own capacity keep it),
/// and each seat it adds is recorded as freed, so someone waiting is offered it.
async fn raise_upcoming_capacity<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    old: i64,
    new: i64,
    now: Timestamp,
) -> Result<()> {
    let raised = tx
        .fetch_all(
            sql("UPDATE sessions SET capacity = $4, updated_at = $5 WHERE org_id = $1 AND group_id = $2 \
                 AND capacity = $3 AND status = $6 AND starts_at > $5 RETURNING id")
            .bind(org)
            .bind(group)
            .bind(old)
            .bind(new)
            .bind(now)
            .bind(SessionStatus::Scheduled.as_str()),
        )
        .await?;
    for row in &raised {
        freed::record_new_seats(tx, org, row.id("id")?, new - old, Cause::CapacityRaised, now).await?;
    }
    Ok(())
}

/// The status a newly enrolled client starts in: screening first if the
/// group requires it, the waitlist if the group is full, otherwise active.
/// `held` places are held by live waitlist offers.
pub(super) fn enrolment_status(group: &Group, held: i64) -> MembershipStatus {
    if group.fields.requires_screening {
        return MembershipStatus::PendingScreening;
    }
    let full = group.fields.capacity.is_some_and(|capacity| group.active_members + held >= capacity);
    if full { MembershipStatus::Waitlisted } else { MembershipStatus::Active }
}

#[async_trait]
impl<B: Backend> GroupStore for SqlStore<B> {
    async fn create_group(&self, ctx: &AuditCtx, org: OrgId, input: NewGroup) -> Result<Group> {
        let now = self.clock.now();
        let id = GroupId::new();
        write_tx!(self, |tx| {
            check_staff(&mut tx, org, &input.moderator_ids, &input.facilitator_ids).await?;
            let f = &input.fields;
            let insert = sql(format!(
                "INSERT INTO groups (org_id, id, status, created_by, created_at, updated_at, {}) \
                 VALUES ($1, $2, {GROUP_ACTIVE}, $3, $4, $4, {})",
                FIELD_COLUMNS.join(", "),
                placeholders(5, FIELD_COLUMNS.len())
            ))
            .bind(org)
            .bind(id)
            .bind(ctx.person_id)
            .bind(now);
            tx.execute(bind_fields(insert, f)).await?;
            replace_staff(&mut tx, org, id, "moderator", &input.moderator_ids, now).await?;
            replace_staff(&mut tx, org, id, "facilitator", &input.facilitator_ids, now).await?;
            let draft =
                AuditDraft::new("group.create", "group", id).details(json!({ "name": f.name, "type": f.group_type }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            fetch_group(&mut tx, org, id).await?
        })
    }

    async fn group(&self, org: OrgId, id: GroupId) -> Result<Group> {
        read_tx!(self, |tx| fetch_group(&mut tx, org, id).await?)
    }

    async fn groups_page(
        &self,
        org: OrgId,
        visible_to: Option<PersonId>,
        include_archived: bool,
        page: Keyset<(String, GroupId)>,
    ) -> Result<Vec<Group>> {
        let name = self.backend.dialect().bytewise("g.name");
        read_tx!(self, |tx| {
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT {GROUP_COLUMNS} FROM groups g WHERE g.org_id = $1 AND ($2 = TRUE OR g.status = $4) \
                         AND ($3 IS NULL \
                           OR EXISTS (SELECT 1 FROM group_staff st WHERE st.org_id = g.org_id AND st.group_id = g.id \
                                      AND st.person_id = $3) \
                           OR EXISTS (SELECT 1 FROM group_memberships m WHERE m.org_id = g.org_id AND m.group_id = g.id \
                                      AND m.client_id = $3 AND m.status IN ({CURRENT_MEMBERSHIPS}))) \
                         AND ($5 IS NULL OR {name} > $5 OR ({name} = $5 AND g.id > $6)) \
                         ORDER BY {name}, g.id LIMIT $7"
                    ))
                    .bind(org)
                    .bind(include_archived)
                    .bind(visible_to)
                    .bind(GroupStatus::Active.as_str())
                    .bind(page.after.as_ref().map(|(name, _)| name.clone()))
                    .bind(page.after.as_ref().map(|(_, id)| *id))
                    .bind(page.limit),
                )
                .await?;
            let mut groups = rows.iter().map(group_from_row).collect::<Result<Vec<_>>>()?;
            attach_staff(&mut tx, org, &mut groups).await?;
            groups
        })
    }

    async fn update_group(&self, ctx: &AuditCtx, org: OrgId, id: GroupId, update: GroupUpdate) -> Result<Group> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        self.after_freeing(write_tx!(self, |tx| {
            lock_row(&mut tx, dialect, "groups", org, id).await?;
            let current = fetch_group(&mut tx, org, id).await?;
            if current.status == GroupStatus::Archived {
                return Err(StoreError::conflict("group_archived", "an archived group cannot change"));
            }
            refuse_reshaping(&mut tx, org, &current, &update.fields, now).await?;
            let moderators = update.moderator_ids.clone().unwrap_or(current.moderator_ids.clone());
            let facilitators = update.facilitator_ids.clone().unwrap_or(current.facilitator_ids.clone());
            check_staff(&mut tx, org, &moderators, &facilitators).await?;
            let f = &update.fields;
            let assignments: Vec<String> =
                FIELD_COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 4)).collect();
            let update_row = sql(format!(
                "UPDATE groups SET updated_at = $3, {} WHERE org_id = $1 AND id = $2",
                assignments.join(", ")
            ))
            .bind(org)
            .bind(id)
            .bind(now);
            tx.execute(bind_fields(update_row, f)).await?;
            if let Some(moderators) = &update.moderator_ids {
                replace_staff(&mut tx, org, id, "moderator", moderators, now).await?;
            }
            if let Some(facilitators) = &update.facilitator_ids {
                replace_staff(&mut tx, org, id, "facilitator", facilitators, now).await?;
            }
            if let (Some(old), Some(new)) = (current.fields.capacity, f.capacity)
                && new > old
            {
                raise_upcoming_capacity(&mut tx, org, id, old, new, now).await?;
                freed::record_places(&mut tx, org, id, new - old, Cause::CapacityRaised, now).await?;
            }
            let draft = AuditDraft::new("group.update", "group", id).details(json!({ "name": f.name }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            fetch_group(&mut tx, org, id).await?
        }))
    }

    async fn archive_group(&self, ctx: &AuditCtx, org: OrgId, id: GroupId) -> Result<Group> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let changed = tx
                .execute(
                    sql(format!(
                        "UPDATE groups SET status = {GROUP_ARCHIVED}, archived_at = $3, updated_at = $3 \
                         WHERE org_id = $1 AND id = $2 AND status = {GROUP_ACTIVE}"
                    ))
                    .bind(org)
                    .bind(id)
                    .bind(now),
                )
                .await?;
            let group = fetch_group(&mut tx, org, id).await?;
            if changed == 1 {
                let draft = AuditDraft::new("group.archive", "group", id);
                audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            }
            group
        })
    }

    async fn group_standing(&self, org: OrgId, id: GroupId, person: PersonId) -> Result<GroupStanding> {
        read_tx!(self, |tx| {
            let group = fetch_group(&mut tx, org, id).await?;
            let member = tx
                .fetch_optional(
                    sql(
                        "SELECT 1 AS one FROM group_memberships WHERE org_id = $1 AND group_id = $2 AND client_id = $3 \
                         AND status = $4",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(person)
                    .bind(MembershipStatus::Active.as_str()),
                )
                .await?
                .is_some();
            let relation = GroupRelation {
                moderator: group.moderator_ids.contains(&person),
                facilitator: group.facilitator_ids.contains(&person),
                member,
            };
            GroupStanding { group, relation }
        })
    }

    async fn add_member(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        client: PersonId,
        join_date: Date,
        admin_override: Option<&str>,
    ) -> Result<GroupMember> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        write_tx!(self, |tx| {
            // Locking the group serialises enrolments, so capacity holds.
            lock_row(&mut tx, dialect, "groups", org, group).await?;
            let current = fetch_group(&mut tx, org, group).await?;
            if current.status == GroupStatus::Archived {
                return Err(StoreError::conflict("group_archived", "an archived group takes no new members"));
            }
            let started = first_session_started(&mut tx, org, group, now).await?;
            if !takes_new_members(current.fields.open, started.is_some(), admin_override) {
                return Err(StoreError::conflict(
                    "group_closed",
                    format!(
                        "{} is a closed group and has met since {}: only an admin adds members now, giving a reason",
                        current.fields.name,
                        started.unwrap_or_default()
                    ),
                ));
            }
            super::busy::lock_people(&mut tx, dialect, org, &[(client, Role::Client, "client_id")]).await?;
            let existing = tx
                .fetch_optional(
                    sql(format!(
                        "SELECT id FROM group_memberships WHERE org_id = $1 AND group_id = $2 AND client_id = $3 \
                         AND status IN ({CURRENT_MEMBERSHIPS})"
                    ))
                    .bind(org)
                    .bind(group)
                    .bind(client),
                )
                .await?;
            if existing.is_some() {
                return Err(StoreError::conflict("already_member", "this client already has a current membership"));
            }
            let held = freed::held_places(&mut tx, org, group, None, now).await?;
            let status = enrolment_status(&current, held);
            let id = MembershipId::new();
            tx.execute(
                sql("INSERT INTO group_memberships (org_id, id, group_id, client_id, status, join_date, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
                .bind(org)
                .bind(id)
                .bind(group)
                .bind(client)
                .bind(status.as_str())
                .bind(join_date)
                .bind(now),
            )
            .await?;
            let draft = AuditDraft::new("membership.create", "membership", id).subject(client).details(json!({
                "group_id": group, "status": status, "join_date": join_date,
                "closed_group_override": admin_override.filter(|_| !current.fields.open && started.is_some()),
            }));
            let mut drafts = vec![draft];
            // A full group's next place goes through the waitlist.
            if status == MembershipStatus::Waitlisted {
                drafts.extend(wait_for_group(&mut tx, org, group, client, ctx.person_id, now).await?);
            }
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            let row =
                tx.fetch_one(sql(format!("{MEMBER_ROWS} WHERE org_id = $1 AND id = $2")).bind(org).bind(id)).await?;
            let mut member = member_from_row(&row)?;
            open_member_texts(&mut tx, org, std::slice::from_mut(&mut member)).await?;
            member
        })
    }

    async fn members_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        group: GroupId,
        page: Keyset<(Timestamp, MembershipId)>,
    ) -> Result<Vec<GroupMember>> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            fetch_group(&mut tx, org, group).await?;
            let rows = tx
                .fetch_all(
                    sql(format!(
                        "{MEMBER_ROWS} WHERE org_id = $1 AND group_id = $2 \
                         AND ($3 IS NULL OR created_at > $3 OR (created_at = $3 AND id > $4)) \
                         ORDER BY created_at, id LIMIT $5"
                    ))
                    .bind(org)
                    .bind(group)
                    .bind(page.after.map(|(at, _)| at))
                    .bind(page.after.map(|(_, id)| id))
                    .bind(page.limit),
                )
                .await?;
            let mut members = rows.iter().map(member_from_row).collect::<Result<Vec<_>>>()?;
            open_member_texts(&mut tx, org, &mut members).await?;
            let zone = tx
                .fetch_one(sql("SELECT timezone FROM organisations WHERE id = $1").bind(org))
                .await?
                .text("timezone")?;
            let today = now.to_zoned(jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC)).date();
            for member in &mut members {
                member.status = status_on(member.status, member.leave_date, member.departs_as, today);
            }
            // A roster reveals who is in which group: a read of each client's record.
            let drafts: Vec<AuditDraft> = members
                .iter()
                .map(|m| AuditDraft::new("membership.read", "membership", m.id).subject(m.client_id))
                .collect();
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            members
        })
    }
}
