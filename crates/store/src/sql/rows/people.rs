//! Accounts, organisations and people as rows: shared by sign-up,
//! organisation creation and invitations.

use circles_domain::Role;
use circles_domain::ids::{AccountId, OrgId, PersonId};
use serde_json::json;

use crate::model::{Account, NewAccount, Organisation};
use crate::sql::audit::AuditDraft;
use crate::sql::db::{Executor, Row, sql};
use crate::{Result, StoreError};

pub(crate) fn account_from_row(row: &impl Row) -> Result<Account> {
    Ok(Account {
        id: row.id("id")?,
        email: row.text("email")?,
        name: row.text("name")?,
        created_at: row.time("created_at")?,
    })
}

/// Inserts an account inside the caller's transaction, refusing an e-mail
/// already in use. Returns the audit event to record wherever the caller
/// records its own change.
pub(crate) async fn insert_account<E: Executor>(
    tx: &mut E,
    now: jiff::Timestamp,
    input: &NewAccount,
) -> Result<(Account, AuditDraft)> {
    let taken = tx.fetch_optional(sql("SELECT id FROM accounts WHERE email = $1").bind(input.email.as_str())).await?;
    if taken.is_some() {
        return Err(StoreError::invalid("email", "is already in use"));
    }
    let account = Account {
        id: AccountId::new(),
        email: input.email.as_str().to_owned(),
        name: input.name.as_str().to_owned(),
        created_at: now,
    };
    tx.execute(
        sql("INSERT INTO accounts (id, email, name, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
            .bind(account.id)
            .bind(&account.email)
            .bind(&account.name)
            .bind(input.password_hash.clone())
            .bind(now),
    )
    .await?;
    let draft = AuditDraft::new("account.create", "account", account.id)
        .details(json!({ "email": account.email, "password_set": input.password_hash.is_some() }));
    Ok((account, draft))
}

pub(crate) fn organisation_from_row(row: &impl Row) -> Result<Organisation> {
    Ok(Organisation {
        id: row.id("id")?,
        name: row.text("name")?,
        timezone: row.text("timezone")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) async fn insert_person<E: Executor>(
    tx: &mut E,
    now: jiff::Timestamp,
    org: OrgId,
    id: PersonId,
    account: AccountId,
    role: Role,
) -> Result<PersonId> {
    tx.execute(
        sql("INSERT INTO people (org_id, id, account_id, role, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org)
            .bind(id)
            .bind(account)
            .bind(role)
            .bind(now),
    )
    .await?;
    Ok(id)
}

/// Ends the account's live tokens of `kind` at `now` (a new password ends
/// the sessions opened with the old one); returns how many ended.
pub(crate) async fn revoke_tokens<E: Executor>(
    tx: &mut E,
    account: AccountId,
    kind: crate::model::TokenKind,
    now: jiff::Timestamp,
) -> Result<u64> {
    Ok(tx
        .execute(
            sql("UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND kind = $3 AND revoked_at IS NULL")
                .bind(account)
                .bind(now)
                .bind(kind.as_str()),
        )
        .await?)
}
