//! Unique-constraint violations as conflicts a person can act on. Use cases
//! check first and say why; a violation reaching here lost a race or met a
//! state the check did not foresee, and is still a 409 with a code, never
//! a server error.
//!
//! PostgreSQL names the constraint; SQLite names the table's columns
//! (`UNIQUE constraint failed: seats.org_id, …`). Each rule knows both.

use crate::StoreError;

struct UniqueRule {
    /// The constraint or unique index name on PostgreSQL.
    constraint: &'static str,
    /// The columns SQLite reports, as it spells them.
    columns: &'static str,
    code: &'static str,
    message: &'static str,
}

const RULES: &[UniqueRule] = &[
    UniqueRule {
        constraint: "accounts_email_key",
        columns: "accounts.email",
        code: "email_taken",
        message: "this e-mail address is already in use",
    },
    UniqueRule {
        constraint: "people_org_id_account_id_key",
        columns: "people.org_id, people.account_id",
        code: "already_a_person",
        message: "this account already belongs to the organisation",
    },
    UniqueRule {
        constraint: "session_therapists_org_id_session_id_therapist_id_key",
        columns: "session_therapists.org_id, session_therapists.session_id, session_therapists.therapist_id",
        code: "already_invited",
        message: "this therapist is already on the session",
    },
    UniqueRule {
        constraint: "seats_org_id_session_id_client_id_key",
        columns: "seats.org_id, seats.session_id, seats.client_id",
        code: "already_joined",
        message: "this client already has a seat on the session",
    },
    UniqueRule {
        constraint: "group_memberships_one_current",
        columns: "group_memberships.org_id, group_memberships.group_id, group_memberships.client_id",
        code: "already_a_member",
        message: "this client already has a current membership of the group",
    },
    UniqueRule {
        constraint: "sessions_one_per_occurrence",
        columns: "sessions.org_id, sessions.group_id, sessions.recurrence_id",
        code: "occurrence_taken",
        message: "this date of the series already has its session",
    },
    UniqueRule {
        constraint: "org_invitations_one_pending",
        columns: "org_invitations.org_id, org_invitations.account_id",
        code: "invitation_pending",
        message: "this account already has an invitation waiting",
    },
    UniqueRule {
        constraint: "waitlist_entries_one_waiting",
        columns: "waitlist_entries.org_id, waitlist_entries.client_id, waitlist_entries.target_key",
        code: "already_waiting",
        message: "this client already waits for this",
    },
];

/// The conflict a unique violation stands for; `detail` is what the
/// backend reported ([`crate::sql::db::DbError::Unique`]).
pub(crate) fn unique_conflict(detail: &str) -> StoreError {
    let sqlite_columns = detail.strip_prefix("UNIQUE constraint failed: ").map(str::trim);
    let rule = RULES.iter().find(|r| r.constraint == detail || sqlite_columns == Some(r.columns));
    let (code, message) = rule.map_or(("duplicate", "this already exists"), |r| (r.code, r.message));
    let mut error = StoreError::conflict(code, message);
    if let StoreError::Conflict(conflict) = &mut error {
        conflict.details.insert("constraint".into(), detail.into());
    }
    tracing::info!(constraint = detail, code, "unique constraint refused a write");
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(detail: &str) -> &'static str {
        match unique_conflict(detail) {
            StoreError::Conflict(c) => c.code,
            other => panic!("not a conflict: {other:?}"),
        }
    }

    #[test]
    fn both_spellings_of_a_constraint_give_its_code() {
        assert_eq!(code("seats_org_id_session_id_client_id_key"), "already_joined");
        assert_eq!(code("UNIQUE constraint failed: seats.org_id, seats.session_id, seats.client_id"), "already_joined");
        assert_eq!(code("sessions_one_per_occurrence"), "occurrence_taken");
    }

    #[test]
    fn an_unknown_constraint_is_still_a_conflict() {
        assert_eq!(code("UNIQUE constraint failed: tokens.token_hash"), "duplicate");
        assert_eq!(code("something_else_key"), "duplicate");
    }
}
