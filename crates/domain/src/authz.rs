//! Who may do what: one decision function for every route.
//!
//! Handlers describe what the caller is attempting as an [`Action`] —
//! including the ownership facts that matter (is it their own record?) — and
//! [`authorize`] answers from the caller's role. Membership of the
//! organisation is checked before this (a non-member sees 404, never 403).

use crate::Role;

/// Something a member of an organisation attempts inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the organisation's name and settings.
    ViewOrganisation,
    /// List people; clients may only list therapists (to book with one).
    ListPeople { role_filter: Option<Role> },
    /// Read one person's record.
    ViewPerson { is_self: bool, target_role: Role },
    /// Add a person with the given role.
    AddPerson { role: Role },
    /// Read the organisation's audit trail.
    ViewAudit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub &'static str);

pub fn authorize(role: Role, action: Action) -> Result<(), Denied> {
    use Role::*;
    let allowed = match action {
        Action::ViewOrganisation => true,
        Action::ListPeople { role_filter } => match role {
            Admin | Moderator | Therapist => true,
            Client => role_filter == Some(Therapist),
        },
        Action::ViewPerson { is_self, target_role } => match role {
            Admin | Moderator | Therapist => true,
            Client => is_self || target_role == Therapist,
        },
        Action::AddPerson { role: new_role } => match role {
            Admin => true,
            // Moderators manage group members, not staff.
            Moderator => new_role == Client,
            Therapist | Client => false,
        },
        Action::ViewAudit => role == Admin,
    };
    if allowed { Ok(()) } else { Err(Denied(denial_reason(action))) }
}

fn denial_reason(action: Action) -> &'static str {
    match action {
        Action::ViewOrganisation => "you may not view this organisation",
        Action::ListPeople { .. } => "clients may only list therapists (use ?role=therapist)",
        Action::ViewPerson { .. } => "you may only view your own record and therapists",
        Action::AddPerson { .. } => "only admins add staff; moderators may add clients",
        Action::ViewAudit => "only admins read the audit trail",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    /// The whole matrix, written out so a change to one cell is a visible
    /// diff here. Columns: admin, moderator, therapist, client.
    #[test]
    fn matrix() {
        let cases: Vec<(Action, [bool; 4])> = vec![
            (Action::ViewOrganisation, [true, true, true, true]),
            (Action::ListPeople { role_filter: None }, [true, true, true, false]),
            (Action::ListPeople { role_filter: Some(Client) }, [true, true, true, false]),
            (Action::ListPeople { role_filter: Some(Therapist) }, [true, true, true, true]),
            (Action::ViewPerson { is_self: true, target_role: Client }, [true, true, true, true]),
            (Action::ViewPerson { is_self: false, target_role: Client }, [true, true, true, false]),
            (Action::ViewPerson { is_self: false, target_role: Therapist }, [true, true, true, true]),
            (Action::AddPerson { role: Admin }, [true, false, false, false]),
            (Action::AddPerson { role: Moderator }, [true, false, false, false]),
            (Action::AddPerson { role: Therapist }, [true, false, false, false]),
            (Action::AddPerson { role: Client }, [true, true, false, false]),
            (Action::ViewAudit, [true, false, false, false]),
        ];
        for (action, expected) in cases {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(authorize(role, action).is_ok(), allowed, "{role} attempting {action:?}");
            }
        }
    }
}
