//! Group rows: reading groups with their staff, checking and replacing
//! staff, membership rows. Shared by the group, roster, series and seat
//! use cases.

use circles_domain::Role;
use circles_domain::group::MembershipStatus;
use circles_domain::ids::{GroupId, OrgId, PersonId};
use circles_domain::recurrence::Recurrence;
use circles_domain::sealed::ClinicalField;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::model::{Group, GroupFields, GroupMember, Screening};
use crate::sql::db::{DbError, Executor, Query, Row, insert_rows, placeholders, sql};
use crate::sql::rows::sealed;
use crate::sql::rows::statuses::Quoted;
use crate::{Result, StoreError};

pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| DbError::Decode(format!("{what}: {e}")).into())
}

/// The columns [`group_from_row`] reads (`g` is the group), with the count
/// of members in each current status.
pub(crate) struct GroupColumns;

pub(crate) const GROUP_COLUMNS: GroupColumns = GroupColumns;

impl std::fmt::Display for GroupColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |status: MembershipStatus| {
            format!(
                "(SELECT COUNT(*) FROM group_memberships m WHERE m.org_id = g.org_id AND m.group_id = g.id \
                 AND m.status = {})",
                Quoted(status.as_str())
            )
        };
        write!(
            f,
            "g.*, {} AS active_members, {} AS waitlisted_members, {} AS pending_screening",
            count(MembershipStatus::Active),
            count(MembershipStatus::Waitlisted),
            count(MembershipStatus::PendingScreening)
        )
    }
}

pub(crate) fn group_from_row(row: &impl Row) -> Result<Group> {
    Ok(Group {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        fields: fields_from_row(row)?,
        status: row.parsed("status")?,
        series_id: row.opt_id("series_id")?,
        moderator_ids: Vec::new(),
        facilitator_ids: Vec::new(),
        moderator_names: Vec::new(),
        facilitator_names: Vec::new(),
        active_members: row.int("active_members")?,
        waitlisted_members: row.int("waitlisted_members")?,
        pending_screening: row.int("pending_screening")?,
        created_at: row.time("created_at")?,
        archived_at: row.opt_time("archived_at")?,
    })
}

/// Fills in each group's moderators and facilitators, one query in all.
pub(crate) async fn attach_staff<E: Executor>(tx: &mut E, org: OrgId, groups: &mut [Group]) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let ids: Vec<GroupId> = groups.iter().map(|g| g.id).collect();
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT s.group_id, s.person_id, s.role, a.name FROM group_staff s \
                 JOIN people p ON p.org_id = s.org_id AND p.id = s.person_id JOIN accounts a ON a.id = p.account_id \
                 WHERE s.org_id = $1 AND s.group_id IN ({}) ORDER BY s.added_at, s.person_id",
                placeholders(2, ids.len())
            ))
            .bind(org)
            .bind_all(ids),
        )
        .await?;
    for row in &rows {
        let group_id: GroupId = row.id("group_id")?;
        let person: PersonId = row.id("person_id")?;
        let Some(group) = groups.iter_mut().find(|g| g.id == group_id) else { continue };
        let name = row.text("name")?;
        match row.text("role")?.as_str() {
            "moderator" => {
                group.moderator_ids.push(person);
                group.moderator_names.push(name);
            }
            _ => {
                group.facilitator_ids.push(person);
                group.facilitator_names.push(name);
            }
        }
    }
    Ok(())
}

pub(crate) async fn fetch_group<E: Executor>(tx: &mut E, org: OrgId, id: GroupId) -> Result<Group> {
    let row = tx
        .fetch_optional(
            sql(format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.org_id = $1 AND g.id = $2")).bind(org).bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("group"))?;
    let mut groups = [group_from_row(&row)?];
    attach_staff(tx, org, &mut groups).await?;
    let [group] = groups;
    Ok(group)
}

/// Refuses staff whose org role does not fit: moderators must be admins or
/// moderators, facilitators therapists.
pub(crate) async fn check_staff<E: Executor>(
    tx: &mut E,
    org: OrgId,
    moderators: &[PersonId],
    facilitators: &[PersonId],
) -> Result<()> {
    let everyone: Vec<PersonId> = moderators.iter().chain(facilitators).copied().collect();
    if everyone.is_empty() {
        return Ok(());
    }
    let rows = tx
        .fetch_all(
            sql(format!(
                "SELECT id, role FROM people WHERE org_id = $1 AND id IN ({})",
                placeholders(2, everyone.len())
            ))
            .bind(org)
            .bind_all(everyone.iter().copied()),
        )
        .await?;
    let role_of = |id: &PersonId| -> Option<Role> {
        rows.iter().find(|r| r.id::<PersonId>("id").ok().as_ref() == Some(id)).and_then(|r| r.parsed("role").ok())
    };
    if let Some(bad) = moderators.iter().find(|m| !matches!(role_of(m), Some(Role::Admin | Role::Moderator))) {
        return Err(StoreError::invalid(
            "moderator_ids",
            format!("{bad} is not an admin or moderator of this organisation"),
        ));
    }
    if let Some(bad) = facilitators.iter().find(|f| role_of(f) != Some(Role::Therapist)) {
        return Err(StoreError::invalid("facilitator_ids", format!("{bad} is not a therapist of this organisation")));
    }
    Ok(())
}

pub(crate) async fn replace_staff<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    role: &str,
    people: &[PersonId],
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        sql("DELETE FROM group_staff WHERE org_id = $1 AND group_id = $2 AND role = $3")
            .bind(org)
            .bind(group)
            .bind(role),
    )
    .await?;
    let mut unique = people.to_vec();
    unique.sort();
    unique.dedup();
    insert_rows(
        tx,
        "group_staff (org_id, group_id, person_id, role, added_at)",
        unique.iter().map(|p| vec![org.into(), group.into(), (*p).into(), role.into(), now.into()]),
    )
    .await?;
    Ok(())
}

/// The stored columns of `GroupFields`, in this order, bound to `q`.
pub(crate) const FIELD_COLUMNS: [&str; 14] = [
    "name",
    "description",
    "group_type",
    "open",
    "capacity",
    "requires_screening",
    "target_population",
    "age_range",
    "modality",
    "virtual_link",
    "location",
    "address",
    "settings",
    "recurrence",
];

/// `GroupFields` read back from the columns [`bind_fields`] writes.
fn fields_from_row(row: &impl Row) -> Result<GroupFields> {
    Ok(GroupFields {
        name: row.text("name")?,
        description: row.text("description")?,
        group_type: row.parsed("group_type")?,
        open: row.bool("open")?,
        capacity: row.opt_int("capacity")?,
        requires_screening: row.bool("requires_screening")?,
        target_population: row.opt_text("target_population")?,
        age_range: row.opt_text("age_range")?,
        modality: row.opt_text("modality")?.map(|m| m.parse()).transpose().map_err(DbError::Decode)?,
        virtual_link: row.opt_text("virtual_link")?,
        location: row.opt_text("location")?,
        address: row.opt_text("address")?,
        settings: decode_json(&row.text("settings")?, "settings")?,
        recurrence: row.opt_text("recurrence")?.map(|r| decode_json(&r, "recurrence")).transpose()?,
    })
}

pub(crate) fn bind_fields(q: Query, f: &GroupFields) -> Query {
    q.bind(&f.name)
        .bind(&f.description)
        .bind(f.group_type.as_str())
        .bind(f.open)
        .bind(f.capacity)
        .bind(f.requires_screening)
        .bind(f.target_population.clone())
        .bind(f.age_range.clone())
        .bind(f.modality.map(|m| m.as_str()))
        .bind(f.virtual_link.clone())
        .bind(f.location.clone())
        .bind(f.address.clone())
        .bind(serde_json::to_string(&f.settings).expect("settings serialise"))
        .bind(f.recurrence.as_ref().map(|r| serde_json::to_string(r).expect("recurrence serialises")))
}

/// Memberships with their clients' names, which staff read on rosters
/// (`m` is the membership; columns in `WHERE` may stay unqualified).
pub(crate) const MEMBER_ROWS: &str = "SELECT m.*, (SELECT a.name FROM people p JOIN accounts a ON a.id = p.account_id \
     WHERE p.org_id = m.org_id AND p.id = m.client_id) AS client_name, \
     (SELECT g.name FROM groups g WHERE g.org_id = m.org_id AND g.id = m.group_id) AS group_name, \
     (SELECT a.name FROM people p JOIN accounts a ON a.id = p.account_id \
      WHERE p.org_id = m.org_id AND p.id = m.screened_by) AS screened_by_name FROM group_memberships m";

/// Opens the clinical text of members read with [`member_from_row`]
/// (screening notes and exit reasons), which leaves it as stored.
pub(crate) async fn open_member_texts<E: Executor>(tx: &mut E, org: OrgId, members: &mut [GroupMember]) -> Result<()> {
    let notes = members.iter_mut().filter_map(|m| m.screening.as_mut().map(|s| (m.id.0, &mut s.notes)));
    sealed::open_each(tx, org, ClinicalField::ScreeningNotes, notes).await?;
    let reasons = members.iter_mut().filter_map(|m| m.exit_reason.as_mut().map(|r| (m.id.0, r)));
    sealed::open_each(tx, org, ClinicalField::ExitReason, reasons).await
}

/// A membership as stored: its screening notes and exit reason still
/// sealed (see [`open_member_texts`]).
pub(crate) fn member_from_row(row: &impl Row) -> Result<GroupMember> {
    let screening = match row.opt_date("screening_date")? {
        Some(date) => Some(Screening {
            date,
            notes: row.opt_text("screening_notes")?.unwrap_or_default(),
            approved: row.bool("screening_approved").unwrap_or(false),
            screened_by: row.opt_id("screened_by")?,
            screened_by_name: row.opt_text("screened_by_name")?,
        }),
        None => None,
    };
    Ok(GroupMember {
        id: row.id("id")?,
        group_id: row.id("group_id")?,
        group_name: row.text("group_name")?,
        client_id: row.id("client_id")?,
        client_name: row.text("client_name")?,
        status: row.parsed("status")?,
        join_date: row.date("join_date")?,
        leave_date: row.opt_date("leave_date")?,
        departs_as: row.opt_text("departs_as")?.map(|s| s.parse()).transpose().map_err(DbError::Decode)?,
        exit_reason: row.opt_text("exit_reason")?,
        screening,
        created_at: row.time("created_at")?,
    })
}

/// Whether `person` is an active member of the session's group.
pub(crate) async fn is_active_member<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    person: PersonId,
) -> Result<bool> {
    Ok(tx
        .fetch_optional(
            sql("SELECT 1 AS one FROM group_memberships WHERE org_id = $1 AND group_id = $2 AND client_id = $3 AND status = $4")
                .bind(org)
                .bind(group)
                .bind(person)
                .bind(MembershipStatus::Active.as_str()),
        )
        .await?
        .is_some())
}

/// The local date an occurrence belongs to.
pub(crate) fn occurrence_date(recurrence_id: &str) -> Result<Date> {
    recurrence_id
        .get(..10)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| DbError::Decode(format!("recurrence id {recurrence_id}")).into())
}

/// Adds an EXDATE for a cancelled generated occurrence, so the series says
/// what happened to it.
pub(crate) async fn exclude_occurrence<E: Executor>(
    tx: &mut E,
    org: OrgId,
    group: GroupId,
    recurrence_id: &str,
    now: Timestamp,
) -> Result<()> {
    let group = fetch_group(tx, org, group).await?;
    let Some(input) = &group.fields.recurrence else { return Ok(()) };
    let Ok(recurrence) = Recurrence::parse(input) else { return Ok(()) };
    let updated = recurrence.with_exdate(occurrence_date(recurrence_id)?).to_input();
    tx.execute(
        sql("UPDATE groups SET recurrence = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(group.id)
            .bind(serde_json::to_string(&updated).expect("recurrence serialises"))
            .bind(now),
    )
    .await?;
    Ok(())
}
