use async_trait::async_trait;
use circles_domain::Role;
use circles_domain::authz::PeopleScope;
use circles_domain::ids::{AccountId, OrgId, PersonId};
use circles_domain::org_invitation::{OrgInvitationStatus, PersonStatus};
use circles_domain::session::InvitationStatus;
use serde_json::json;

use super::audit::{self, AuditDraft};
use super::db::{Backend, Executor, Row, sql};
use super::outbox::{AccountMailFor, enqueue_account_mail};
use super::rows::people::{insert_account, insert_person, organisation_from_row};
use super::{SqlStore, read_one, read_tx, write_tx};
use crate::model::{AuditCtx, Keyset, Membership, NewAccount, NewOrganisation, NewPerson, Organisation, Person};
use crate::{OrgStore, Result, StoreError};

const PERSON_COLUMNS: &str = "p.org_id, p.id, p.account_id, a.email, a.name, p.role, p.created_at";

pub(super) fn person_from_row(row: &impl Row) -> Result<Person> {
    Ok(Person {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        account_id: row.id("account_id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        role: row.parsed("role")?,
        status: PersonStatus::Active,
        created_at: row.time("created_at")?,
    })
}

const INVITED_COLUMNS: &str = "i.org_id, i.id, i.account_id, i.email, i.name, i.role, i.status, i.created_at";

/// An invitation shown as the person it invites: by what the inviter typed.
fn invited_from_row(row: &impl Row) -> Result<Person> {
    Ok(Person {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        account_id: row.id("account_id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        role: row.parsed("role")?,
        status: row.parsed::<OrgInvitationStatus>("status")?.person_status(),
        created_at: row.time("created_at")?,
    })
}

/// The clients a therapist (`$3`) serves, as a condition on `p.id`: a
/// session they are on (unless they declined it) where the client has a
/// seat, a hold with them, or a group they facilitate that the client
/// belongs to or applied to. `$4` is the declined invitation status.
const SERVED_BY_THERAPIST: &str = "(EXISTS (SELECT 1 FROM session_therapists st \
        JOIN seats s ON s.org_id = st.org_id AND s.session_id = st.session_id \
        WHERE st.org_id = p.org_id AND st.therapist_id = $3 AND st.status <> $4 AND s.client_id = p.id) \
    OR EXISTS (SELECT 1 FROM holds h WHERE h.org_id = p.org_id AND h.therapist_id = $3 AND h.client_id = p.id) \
    OR EXISTS (SELECT 1 FROM group_staff g \
        JOIN group_memberships m ON m.org_id = g.org_id AND m.group_id = g.group_id \
        WHERE g.org_id = p.org_id AND g.person_id = $3 AND g.role = 'facilitator' AND m.client_id = p.id))";

async fn fetch_person<E: Executor>(tx: &mut E, org: OrgId, id: PersonId) -> Result<Person> {
    let row = tx
        .fetch_optional(
            sql(format!(
                "SELECT {PERSON_COLUMNS} FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND p.id = $2"
            ))
            .bind(org)
            .bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound("person"))?;
    person_from_row(&row)
}

/// Invites an existing account (it keeps its own name and password) to
/// join `org`; what the inviter typed is what the organisation sees.
async fn invite<E: Executor>(
    tx: &mut E,
    now: jiff::Timestamp,
    ctx: &AuditCtx,
    org: OrgId,
    inviter: PersonId,
    account_id: AccountId,
    input: &NewPerson,
) -> Result<Person> {
    // An existing account keeps its own password and name, and is
    // only invited: it joins if and when it accepts.
    let taken = tx
        .fetch_optional(
            sql("SELECT 1 AS taken FROM people WHERE org_id = $1 AND account_id = $2 \
                 UNION ALL SELECT 1 FROM org_invitations WHERE org_id = $1 AND account_id = $2 AND status = $3")
            .bind(org)
            .bind(account_id)
            .bind(OrgInvitationStatus::Pending.as_str()),
        )
        .await?;
    if taken.is_some() {
        return Err(StoreError::conflict(
            "person_exists",
            "this e-mail already belongs to a person in this organisation, or is invited",
        ));
    }
    let id = PersonId::new();
    tx.execute(
        sql("INSERT INTO org_invitations (org_id, id, account_id, email, name, role, status, invited_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(org)
        .bind(id)
        .bind(account_id)
        .bind(input.email.as_str())
        .bind(input.name.as_str())
        .bind(input.role)
        .bind(OrgInvitationStatus::Pending.as_str())
        .bind(inviter)
        .bind(now),
    )
    .await?;
    // The invitee learns of it by e-mail, whichever organisations they are in.
    enqueue_account_mail(tx, now, account_id, AccountMailFor::OrgInvitation { org, invitation: id }).await?;
    let draft = AuditDraft::new("person.invite", "person", id)
        .subject((input.role == Role::Client).then_some(id))
        .details(json!({ "role": input.role }));
    audit::append(tx, now, ctx, org, &[draft]).await?;
    Ok(Person {
        id,
        org_id: org,
        account_id,
        email: input.email.as_str().to_owned(),
        name: input.name.as_str().to_owned(),
        role: input.role,
        status: PersonStatus::Pending,
        created_at: now,
    })
}

/// Audit events about a client name them as the subject.
fn subject_if_client(person: &Person) -> Option<PersonId> {
    (person.role == Role::Client).then_some(person.id)
}

#[async_trait]
impl<B: Backend> OrgStore for SqlStore<B> {
    async fn create_organisation(&self, ctx: &AuditCtx, input: NewOrganisation) -> Result<(Organisation, Person)> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let org = Organisation {
                id: OrgId::new(),
                name: input.name.as_str().to_owned(),
                timezone: input.timezone.as_str().to_owned(),
                created_at: now,
            };
            tx.execute(
                sql("INSERT INTO organisations (id, name, timezone, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(org.id)
                    .bind(&org.name)
                    .bind(&org.timezone)
                    .bind(now),
            )
            .await?;
            let person_id = insert_person(&mut tx, now, org.id, PersonId::new(), input.admin, Role::Admin).await?;
            let admin = fetch_person(&mut tx, org.id, person_id).await?;
            let drafts = [
                AuditDraft::new("organisation.create", "organisation", org.id)
                    .details(json!({ "name": org.name, "timezone": org.timezone })),
                AuditDraft::new("person.create", "person", admin.id).details(json!({ "role": "admin" })),
            ];
            audit::append(&mut tx, now, &ctx.acting_as(admin.id), org.id, &drafts).await?;
            (org, admin)
        })
    }

    async fn set_refuse_late_attendance(&self, ctx: &AuditCtx, org: OrgId, refuse: bool) -> Result<bool> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let changed = tx
                .execute(
                    sql("UPDATE organisations SET refuse_late_attendance = $2 WHERE id = $1").bind(org).bind(refuse),
                )
                .await?;
            if changed == 0 {
                return Err(StoreError::NotFound("organisation"));
            }
            let draft = AuditDraft::new("organisation.settings", "organisation", org)
                .details(json!({ "refuse_late_attendance": refuse }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            refuse
        })
    }

    async fn change_role(&self, ctx: &AuditCtx, org: OrgId, id: PersonId, role: Role) -> Result<Person> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let before = fetch_person(&mut tx, org, id).await?;
            tx.execute(
                sql("UPDATE people SET role = $3 WHERE org_id = $1 AND id = $2").bind(org).bind(id).bind(role.as_str()),
            )
            .await?;
            let after = fetch_person(&mut tx, org, id).await?;
            // A client before or after is a client's record being changed.
            let subject = subject_if_client(&before).or(subject_if_client(&after));
            let draft = AuditDraft::new("person.role", "person", id)
                .subject(subject)
                .details(json!({ "from": before.role.as_str(), "to": role.as_str() }));
            audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            after
        })
    }

    async fn refuses_late_attendance(&self, org: OrgId) -> Result<bool> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT refuse_late_attendance FROM organisations WHERE id = $1").bind(org)).await?
        })?;
        Ok(row.ok_or(StoreError::NotFound("organisation"))?.bool("refuse_late_attendance")?)
    }

    async fn organisation(&self, org: OrgId) -> Result<Organisation> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT id, name, timezone, created_at FROM organisations WHERE id = $1").bind(org))
                .await?
        })?;
        organisation_from_row(&row.ok_or(StoreError::NotFound("organisation"))?)
    }

    async fn membership(&self, account: AccountId, org: OrgId) -> Result<Option<Membership>> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(
                sql("SELECT o.id, o.name, o.timezone, o.created_at, p.id AS person_id, p.role \
                     FROM people p JOIN organisations o ON o.id = p.org_id \
                     WHERE p.account_id = $1 AND p.org_id = $2")
                .bind(account)
                .bind(org),
            )
            .await?
        })?;
        row.map(|r| {
            Ok(Membership { org: organisation_from_row(&r)?, person_id: r.id("person_id")?, role: r.parsed("role")? })
        })
        .transpose()
    }

    async fn add_person(&self, ctx: &AuditCtx, org: OrgId, input: NewPerson) -> Result<Person> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let mut drafts = Vec::new();
            let existing =
                tx.fetch_optional(sql("SELECT id FROM accounts WHERE email = $1").bind(input.email.as_str())).await?;
            let account_id = match existing {
                Some(row) => {
                    if input.password_hash.is_some() {
                        return Err(StoreError::invalid(
                            "password",
                            "this e-mail already has an account, which keeps its own password; omit password",
                        ));
                    }
                    let account_id: AccountId = row.id("id")?;
                    let already = tx
                        .fetch_optional(
                            sql("SELECT id FROM people WHERE org_id = $1 AND account_id = $2")
                                .bind(org)
                                .bind(account_id),
                        )
                        .await?;
                    if already.is_some() {
                        return Err(StoreError::conflict(
                            "person_exists",
                            "this e-mail already belongs to a person in this organisation",
                        ));
                    }
                    account_id
                }
                None => {
                    let new_account = NewAccount {
                        email: input.email.clone(),
                        name: input.name.clone(),
                        password_hash: input.password_hash.clone(),
                    };
                    let (account, draft) = insert_account(&mut tx, now, &new_account).await?;
                    drafts.push(draft);
                    account.id
                }
            };
            let person_id = insert_person(&mut tx, now, org, PersonId::new(), account_id, input.role).await?;
            let person = fetch_person(&mut tx, org, person_id).await?;
            drafts.push(
                AuditDraft::new("person.create", "person", person.id)
                    .subject(subject_if_client(&person))
                    .details(json!({ "role": person.role })),
            );
            audit::append(&mut tx, now, ctx, org, &drafts).await?;
            person
        })
    }

    async fn add_or_invite_person(&self, ctx: &AuditCtx, org: OrgId, input: NewPerson) -> Result<Person> {
        let now = self.clock.now();
        let inviter = ctx.person_id.ok_or(StoreError::NotFound("person"))?;
        write_tx!(self, |tx| {
            let existing =
                tx.fetch_optional(sql("SELECT id FROM accounts WHERE email = $1").bind(input.email.as_str())).await?;
            match existing {
                None => {
                    // A new address: the organisation creates the account, and
                    // nobody else's data is involved, so the person joins now.
                    let new_account = NewAccount {
                        email: input.email.clone(),
                        name: input.name.clone(),
                        password_hash: input.password_hash.clone(),
                    };
                    let (account, account_draft) = insert_account(&mut tx, now, &new_account).await?;
                    let person_id = insert_person(&mut tx, now, org, PersonId::new(), account.id, input.role).await?;
                    let person = fetch_person(&mut tx, org, person_id).await?;
                    let drafts = [
                        account_draft,
                        AuditDraft::new("person.create", "person", person.id)
                            .subject(subject_if_client(&person))
                            .details(json!({ "role": person.role })),
                    ];
                    audit::append(&mut tx, now, ctx, org, &drafts).await?;
                    person
                }
                Some(row) => invite(&mut tx, now, ctx, org, inviter, row.id("id")?, &input).await?,
            }
        })
    }

    async fn people_page(
        &self,
        ctx: &AuditCtx,
        org: OrgId,
        role: Option<Role>,
        scope: PeopleScope,
        viewer: PersonId,
        page: Keyset<(String, PersonId)>,
    ) -> Result<Vec<Person>> {
        let now = self.clock.now();
        let dialect = self.backend.dialect();
        // Members and invitations are two tables in one order: each gives its
        // first `limit` after the cursor, and the merge keeps the first `limit`.
        let after_name = page.after.as_ref().map(|(name, _)| name.clone());
        let after_id = page.after.as_ref().map(|(_, id)| *id);
        let (member_name, invited_name) = (dialect.bytewise("a.name"), dialect.bytewise("i.name"));
        let after = |first: usize| {
            let (name, id) = (format!("${first}"), format!("${}", first + 1));
            format!("({name} IS NULL OR {member_name} > {name} OR ({member_name} = {name} AND p.id > {id}))")
        };
        let members = match scope {
            PeopleScope::StaffAndServedClients => sql(format!(
                "SELECT {PERSON_COLUMNS} FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND ($2 IS NULL OR p.role = $2) \
                 AND (p.role <> $5 OR p.id = $3 OR {SERVED_BY_THERAPIST}) \
                 AND {} ORDER BY {member_name}, p.id LIMIT $8",
                after(6)
            ))
            .bind(org)
            .bind(role)
            .bind(viewer)
            .bind(InvitationStatus::Declined.as_str())
            .bind(Role::Client),
            PeopleScope::Everyone | PeopleScope::Members => sql(format!(
                "SELECT {PERSON_COLUMNS} FROM people p JOIN accounts a ON a.id = p.account_id \
                 WHERE p.org_id = $1 AND ($2 IS NULL OR p.role = $2) \
                 AND {} ORDER BY {member_name}, p.id LIMIT $5",
                after(3)
            ))
            .bind(org)
            .bind(role),
        }
        .bind(after_name.clone())
        .bind(after_id)
        .bind(page.limit);
        let invited = (scope == PeopleScope::Everyone).then(|| {
            sql(format!(
                "SELECT {INVITED_COLUMNS} FROM org_invitations i \
                 WHERE i.org_id = $1 AND ($2 IS NULL OR i.role = $2) AND i.status = $3 \
                 AND ($4 IS NULL OR {invited_name} > $4 OR ({invited_name} = $4 AND i.id > $5)) \
                 ORDER BY {invited_name}, i.id LIMIT $6"
            ))
            .bind(org)
            .bind(role)
            .bind(OrgInvitationStatus::Pending.as_str())
            .bind(after_name)
            .bind(after_id)
            .bind(page.limit)
        });
        // A list that can include clients reveals client records: audit it.
        let mut people = if matches!(role, None | Some(Role::Client)) {
            write_tx!(self, |tx| {
                let mut people =
                    tx.fetch_all(members.clone()).await?.iter().map(person_from_row).collect::<Result<Vec<_>>>()?;
                if let Some(invited) = invited.clone() {
                    for row in tx.fetch_all(invited).await? {
                        people.push(invited_from_row(&row)?);
                    }
                }
                let draft = AuditDraft::new("person.list", "person", "*").details(json!({ "role": role }));
                audit::append(&mut tx, now, ctx, org, &[draft]).await?;
                people
            })?
        } else {
            read_tx!(self, |tx| {
                let mut people =
                    tx.fetch_all(members).await?.iter().map(person_from_row).collect::<Result<Vec<_>>>()?;
                if let Some(invited) = invited {
                    for row in tx.fetch_all(invited).await? {
                        people.push(invited_from_row(&row)?);
                    }
                }
                people
            })?
        };
        people.sort_by(|a, b| (&a.name, a.id.0).cmp(&(&b.name, b.id.0)));
        people.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        Ok(people)
    }

    async fn invited_person(&self, org: OrgId, id: PersonId) -> Result<Option<Person>> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(
                sql(format!(
                    "SELECT {INVITED_COLUMNS} FROM org_invitations i \
                     WHERE i.org_id = $1 AND i.id = $2 AND i.status <> $3"
                ))
                .bind(org)
                .bind(id)
                .bind(OrgInvitationStatus::Accepted.as_str()),
            )
            .await?
        })?;
        row.map(|r| invited_from_row(&r)).transpose()
    }

    async fn serves(&self, org: OrgId, therapist: PersonId, client: PersonId) -> Result<bool> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(
                sql(format!(
                    "SELECT 1 AS served FROM people p WHERE p.org_id = $1 AND p.id = $2 AND {SERVED_BY_THERAPIST}"
                ))
                .bind(org)
                .bind(client)
                .bind(therapist)
                .bind(InvitationStatus::Declined.as_str()),
            )
            .await?
        })?;
        Ok(row.is_some())
    }

    async fn person(&self, ctx: &AuditCtx, org: OrgId, id: PersonId) -> Result<Person> {
        let now = self.clock.now();
        write_tx!(self, |tx| {
            let person = fetch_person(&mut tx, org, id).await?;
            if let Some(client) = subject_if_client(&person) {
                let draft = AuditDraft::new("person.read", "person", person.id).subject(client);
                audit::append(&mut tx, now, ctx, org, &[draft]).await?;
            }
            person
        })
    }

    async fn person_role(&self, org: OrgId, id: PersonId) -> Result<Option<Role>> {
        let row = read_one!(self, |tx| {
            tx.fetch_optional(sql("SELECT role FROM people WHERE org_id = $1 AND id = $2").bind(org).bind(id)).await?
        })?;
        row.map(|r| r.parsed("role")).transpose().map_err(Into::into)
    }
}
