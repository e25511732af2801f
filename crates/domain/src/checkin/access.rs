//! Who may do what with check-ins. Answers are clinical records: the
//! clinicians of a session read everyone's; a member reads only their own.

use crate::Role;
use crate::authz::GroupRelation;

/// How a person stands towards one session's check-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// An admin, one of the session's therapists, or one of its group's
    /// facilitators or moderators: attaches check-ins, reads every answer.
    Clinician,
    /// A client with a seat: answers, reads their own answers and the
    /// group's results when they may be shown.
    Member,
    /// Anyone else in the organisation: nothing.
    Outsider,
}

pub fn standing(role: Role, session_therapist: bool, relation: GroupRelation, seated: bool) -> Standing {
    if role == Role::Admin || session_therapist || relation.facilitator || relation.moderator {
        Standing::Clinician
    } else if seated {
        Standing::Member
    } else {
        Standing::Outsider
    }
}

/// Writing an organisation's own questionnaires is for staff, not clients.
pub fn may_write_questionnaires(role: Role) -> bool {
    role != Role::Client
}

/// Attaching a check-in to every session of a group: its admins,
/// moderators and facilitators.
pub fn may_attach_to_group(role: Role, relation: GroupRelation) -> bool {
    role == Role::Admin || relation.moderator || relation.facilitator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkin_clinicians_read_all_members_their_own_and_outsiders_nothing() {
        let none = GroupRelation::default();
        let facilitating = GroupRelation { facilitator: true, ..none };
        assert_eq!(standing(Role::Admin, false, none, false), Standing::Clinician);
        assert_eq!(standing(Role::Therapist, true, none, false), Standing::Clinician);
        assert_eq!(standing(Role::Therapist, false, facilitating, false), Standing::Clinician);
        assert_eq!(standing(Role::Client, false, GroupRelation { member: true, ..none }, true), Standing::Member);
        assert_eq!(standing(Role::Therapist, false, none, false), Standing::Outsider);
        assert_eq!(standing(Role::Client, false, GroupRelation { member: true, ..none }, false), Standing::Outsider);
        assert!(!may_write_questionnaires(Role::Client) && may_write_questionnaires(Role::Therapist));
        assert!(may_attach_to_group(Role::Therapist, facilitating) && !may_attach_to_group(Role::Moderator, none));
    }
}
