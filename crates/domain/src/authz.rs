//! Who may do what: one decision function for every route.
//!
//! Handlers describe what the caller is attempting as an [`Action`] —
//! including the ownership facts that matter (is it their own record?) — and
//! [`authorize`] answers from the caller's role. Membership of the
//! organisation is checked before this (a non-member sees 404, never 403).

use crate::Role;
use crate::group::SessionCreation;

/// How the caller relates to one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupRelation {
    /// Named as one of the group's moderators.
    pub moderator: bool,
    /// A therapist facilitating the group.
    pub facilitator: bool,
    /// A client with an active membership.
    pub member: bool,
}

impl GroupRelation {
    /// Admins moderate every group; others only the groups that name them.
    fn moderates(self, role: Role) -> bool {
        role == Role::Admin || self.moderator
    }
}

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
    /// Change a member's role; `is_self` if it is the caller's own (refused,
    /// so an organisation always keeps the admin who made the change).
    ChangeRole { is_self: bool },
    /// Read the organisation's audit trail.
    ViewAudit,
    /// See the organisation's outgoing messages and retry failed ones.
    ManageDeliveries,
    /// Book a one-on-one session or place a hold; `as_therapist`/`as_client`
    /// say whether the caller is that therapist or that client.
    BookOneOnOne { as_therapist: bool, as_client: bool },
    /// Read one session; `participant` if the caller is on it.
    ViewSession { participant: bool },
    /// List every session of the organisation, not only one's own.
    ListAllSessions,
    /// Cancel a one-on-one session. `is_therapist`: an accepted or invited
    /// therapist on it; `is_own_appointment`: its client.
    CancelSession { is_therapist: bool, is_own_appointment: bool },
    /// Cancel a whole group or drop-in session: the group's moderators, an
    /// admin, or whoever created it (`is_creator`).
    CancelGroupSession { relation: GroupRelation, is_creator: bool },
    /// Withdraw from a group session one accepted to facilitate.
    WithdrawFacilitation { accepted: bool },
    /// Read someone's schedule.
    ViewSchedule { is_self: bool },
    /// Confirm or release a hold; `is_party` if the caller is its therapist
    /// or client.
    ManageHold { is_party: bool },
    /// Create a group.
    CreateGroup,
    /// Read a group (its members only if also `ManageGroup`).
    ViewGroup { relation: GroupRelation },
    /// Change a group's settings, staff and members; approve proposals,
    /// invite replacement therapists.
    ManageGroup { relation: GroupRelation },
    /// Read a group's roster of client memberships and its statistics.
    ViewRoster { relation: GroupRelation },
    /// Record a client's screening for a group.
    ScreenMember { relation: GroupRelation },
    /// Move a session; `is_therapist` if accepted on it.
    RescheduleSession { is_therapist: bool, group: Option<GroupRelation> },
    /// Propose a group session under the group's `session_creation` rule.
    ProposeSession { relation: GroupRelation, creation: SessionCreation },
    /// Start a drop-in session now.
    StartInstant { relation: GroupRelation, allow_instant: bool },
    /// Take a seat on a group session.
    JoinSession { relation: GroupRelation },
    /// Mark attendance; `is_therapist` if accepted on the session.
    MarkAttendance { is_therapist: bool, relation: GroupRelation },
    /// Seat a given client on a group session, drop one with a reason, or
    /// confirm one; `is_therapist` if accepted on the session.
    ManageSeats { is_therapist: bool, relation: GroupRelation },
    /// Read a therapist's weekly availability rules.
    ViewAvailability,
    /// Replace a therapist's weekly availability; `is_self` if the caller is
    /// that therapist.
    ManageAvailability { is_self: bool },
    /// Search free start times, or who is free at an instant.
    SearchAvailability,
    /// Ask for time off for a therapist; `is_self` if it is the caller's own.
    RequestTimeOff { is_self: bool },
    /// Read a time-off request and the sessions it affects; `is_self` if it
    /// is the caller's own.
    ViewTimeOff { is_self: bool },
    /// Withdraw a pending time-off request; `is_self` if it is the caller's own.
    CancelTimeOff { is_self: bool },
    /// Approve or deny time off, see who could cover, and reassign or
    /// cancel the sessions it affects.
    DecideTimeOff,
    /// Put someone on a waitlist, read or change their entry, or answer an
    /// offer; `is_self` if it is the caller's own.
    WaitlistOwn { is_self: bool },
    /// See the whole waitlist, its suggestions and statistics; send and
    /// withdraw offers.
    ManageWaitlist,
    /// Pin an entry to the top, or change the organisation's waitlist settings.
    AdministerWaitlist,
}

/// Whom a member finds among the organisation's people, in lists and single
/// reads. Someone outside the scope does not exist for the caller (404), so
/// a therapist learns nothing about clients they do not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleScope {
    /// Every member, and the invitations not yet answered.
    Everyone,
    /// Themselves, the staff (colleagues), and the clients they serve: a
    /// session, a hold or a group they facilitate with them.
    StaffAndServedClients,
    /// Members only; what a client may read is then decided by [`authorize`].
    Members,
}

pub fn people_scope(role: Role) -> PeopleScope {
    match role {
        Role::Admin | Role::Moderator => PeopleScope::Everyone,
        Role::Therapist => PeopleScope::StaffAndServedClients,
        Role::Client => PeopleScope::Members,
    }
}

/// What decides whether the caller finds one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonFacts {
    pub is_self: bool,
    pub role: Role,
    /// The caller is a therapist with a session, hold or group with them.
    pub served: bool,
}

/// Whether `person` exists for a caller with `role` (see [`PeopleScope`]).
pub fn finds_person(role: Role, person: PersonFacts) -> bool {
    match people_scope(role) {
        PeopleScope::Everyone | PeopleScope::Members => true,
        PeopleScope::StaffAndServedClients => person.is_self || person.role != Role::Client || person.served,
    }
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
        Action::ChangeRole { is_self } => role == Admin && !is_self,
        Action::ViewAudit => role == Admin,
        Action::ManageDeliveries => role == Admin,
        Action::BookOneOnOne { as_therapist, as_client } => match role {
            Admin | Moderator => true,
            Therapist => as_therapist,
            Client => as_client,
        },
        Action::ViewSession { participant } => staff_or(role, participant),
        Action::ListAllSessions => matches!(role, Admin | Moderator),
        Action::CancelSession { is_therapist, is_own_appointment } => match role {
            Admin | Moderator => true,
            Therapist => is_therapist,
            Client => is_own_appointment,
        },
        Action::CancelGroupSession { relation, is_creator } => relation.moderates(role) || is_creator,
        Action::WithdrawFacilitation { accepted } => role == Therapist && accepted,
        Action::ViewSchedule { is_self } => staff_or(role, is_self),
        Action::ManageHold { is_party } => staff_or(role, is_party),
        Action::CreateGroup => matches!(role, Admin | Moderator),
        Action::ViewGroup { relation } => matches!(role, Admin | Moderator) || relation.facilitator || relation.member,
        Action::ManageGroup { relation } => relation.moderates(role),
        Action::ViewRoster { relation } => relation.moderates(role) || relation.facilitator,
        Action::ScreenMember { relation } => relation.moderates(role) || (role == Therapist && relation.facilitator),
        Action::RescheduleSession { is_therapist, group } => match group {
            Some(relation) => relation.moderates(role),
            None => matches!(role, Admin | Moderator) || (role == Therapist && is_therapist),
        },
        Action::ProposeSession { relation, creation } => {
            relation.moderates(role)
                || (creation == SessionCreation::AllMembers && (relation.member || relation.facilitator))
        }
        Action::StartInstant { relation, allow_instant } => {
            relation.moderates(role) || (allow_instant && (relation.member || relation.facilitator))
        }
        Action::JoinSession { relation } => role == Client && relation.member,
        // The group's facilitators serve its members, also in a peer-led
        // drop-in session nobody facilitates.
        Action::MarkAttendance { is_therapist, relation } | Action::ManageSeats { is_therapist, relation } => {
            relation.moderates(role) || (role == Therapist && (is_therapist || relation.facilitator))
        }
        // Clients see working hours to pick a time; nothing in them is private.
        Action::ViewAvailability | Action::SearchAvailability => true,
        Action::ManageAvailability { is_self } => match role {
            Admin | Moderator => true,
            Therapist => is_self,
            Client => false,
        },
        Action::RequestTimeOff { is_self } | Action::CancelTimeOff { is_self } => match role {
            Admin => true,
            Therapist => is_self,
            Moderator | Client => false,
        },
        Action::ViewTimeOff { is_self } => match role {
            Admin | Moderator => true,
            Therapist => is_self,
            Client => false,
        },
        Action::DecideTimeOff => role == Admin,
        Action::WaitlistOwn { is_self } => role != Client || is_self,
        Action::ManageWaitlist => role != Client,
        Action::AdministerWaitlist => role == Admin,
    };
    if allowed { Ok(()) } else { Err(Denied(denial_reason(action))) }
}

/// Admins and moderators may; others only when `own` holds.
fn staff_or(role: Role, own: bool) -> bool {
    matches!(role, Role::Admin | Role::Moderator) || own
}

fn denial_reason(action: Action) -> &'static str {
    match action {
        Action::ViewOrganisation => "you may not view this organisation",
        Action::ListPeople { .. } => "clients may only list therapists (use ?role=therapist)",
        Action::ViewPerson { .. } => "you may only view your own record and therapists",
        Action::AddPerson { .. } => "only admins add staff; moderators may add clients",
        Action::ChangeRole { .. } => "only an admin changes roles, and never their own",
        Action::ViewAudit => "only admins read the audit trail",
        Action::ManageDeliveries => "only admins see and retry outgoing messages",
        Action::BookOneOnOne { .. } => "therapists book only themselves and clients only themselves",
        Action::ViewSession { .. } => "you are not on this session",
        Action::ListAllSessions => "only admins and moderators list every session",
        Action::CancelSession { .. } => "only staff, the session's therapists or a one-on-one's client may cancel it",
        Action::CancelGroupSession { .. } => {
            "only the group's moderators, an admin or the session's creator cancel a group session"
        }
        Action::WithdrawFacilitation { .. } => "only a therapist who accepted this session may withdraw from it",
        Action::ViewSchedule { .. } => "you may only read your own schedule",
        Action::ManageHold { .. } => "only staff or the hold's therapist or client may do that",
        Action::CreateGroup => "only admins and moderators create groups",
        Action::ViewGroup { .. } => "you are not in this group",
        Action::ManageGroup { .. } => "only the group's moderators (or an admin) may do that",
        Action::ViewRoster { .. } => "only the group's moderators and facilitators see its members",
        Action::ScreenMember { .. } => "only the group's facilitators or moderators record screening",
        Action::RescheduleSession { .. } => {
            "only staff or the session's therapist move a one-on-one; the group's moderators move group sessions"
        }
        Action::ProposeSession { .. } => "in this group only moderators propose sessions",
        Action::StartInstant { .. } => "this group does not allow members to start instant sessions",
        Action::JoinSession { .. } => "only active client members of the group take seats",
        Action::MarkAttendance { .. } => {
            "only the session's therapists or the group's facilitators and moderators mark attendance"
        }
        Action::ManageSeats { .. } => {
            "only the session's therapists or the group's facilitators and moderators manage its seats"
        }
        Action::ViewAvailability | Action::SearchAvailability => "you may not read availability",
        Action::ManageAvailability { .. } => "only admins, moderators and the therapist themselves set working hours",
        Action::RequestTimeOff { .. } => "therapists ask for their own time off; admins may ask for them",
        Action::ViewTimeOff { .. } => "therapists see only their own time off; clients see none",
        Action::CancelTimeOff { .. } => "only the therapist or an admin may withdraw a time-off request",
        Action::DecideTimeOff => "only admins decide time off and arrange cover",
        Action::WaitlistOwn { .. } => "clients see and answer only their own waitlist entries and offers",
        Action::ManageWaitlist => "only staff see the whole waitlist and send offers",
        Action::AdministerWaitlist => "only admins pin entries and change waitlist settings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    const NOBODY: GroupRelation = GroupRelation { moderator: false, facilitator: false, member: false };
    const GROUP_MODERATOR: GroupRelation = GroupRelation { moderator: true, facilitator: false, member: false };
    const FACILITATOR: GroupRelation = GroupRelation { moderator: false, facilitator: true, member: false };
    const MEMBER: GroupRelation = GroupRelation { moderator: false, facilitator: false, member: true };

    /// The group rows of the matrix: each action for callers with no tie to
    /// the group and with each kind of tie. Columns: admin, moderator,
    /// therapist, client (the relation is what the row says).
    #[test]
    fn group_matrix() {
        let moderated = SessionCreation::Moderators;
        let open = SessionCreation::AllMembers;
        let cases: Vec<(Action, [bool; 4])> = vec![
            (Action::CreateGroup, [true, true, false, false]),
            (Action::ViewGroup { relation: NOBODY }, [true, true, false, false]),
            (Action::ViewGroup { relation: FACILITATOR }, [true, true, true, true]),
            (Action::ViewGroup { relation: MEMBER }, [true, true, true, true]),
            (Action::ManageGroup { relation: NOBODY }, [true, false, false, false]),
            (Action::ManageGroup { relation: GROUP_MODERATOR }, [true, true, true, true]),
            (Action::ViewRoster { relation: NOBODY }, [true, false, false, false]),
            (Action::ViewRoster { relation: FACILITATOR }, [true, true, true, true]),
            (Action::ViewRoster { relation: MEMBER }, [true, false, false, false]),
            (Action::ScreenMember { relation: FACILITATOR }, [true, false, true, false]),
            (Action::ScreenMember { relation: NOBODY }, [true, false, false, false]),
            (Action::RescheduleSession { is_therapist: true, group: None }, [true, true, true, false]),
            (Action::RescheduleSession { is_therapist: false, group: None }, [true, true, false, false]),
            (Action::RescheduleSession { is_therapist: true, group: Some(FACILITATOR) }, [true, false, false, false]),
            (Action::RescheduleSession { is_therapist: false, group: Some(GROUP_MODERATOR) }, [true, true, true, true]),
            (Action::ProposeSession { relation: NOBODY, creation: open }, [true, false, false, false]),
            (Action::ProposeSession { relation: GROUP_MODERATOR, creation: moderated }, [true, true, true, true]),
            (Action::ProposeSession { relation: MEMBER, creation: moderated }, [true, false, false, false]),
            (Action::ProposeSession { relation: MEMBER, creation: open }, [true, true, true, true]),
            (Action::ProposeSession { relation: FACILITATOR, creation: open }, [true, true, true, true]),
            (Action::StartInstant { relation: MEMBER, allow_instant: true }, [true, true, true, true]),
            (Action::StartInstant { relation: MEMBER, allow_instant: false }, [true, false, false, false]),
            (Action::StartInstant { relation: NOBODY, allow_instant: true }, [true, false, false, false]),
            (Action::JoinSession { relation: MEMBER }, [false, false, false, true]),
            (Action::JoinSession { relation: NOBODY }, [false, false, false, false]),
            (Action::MarkAttendance { is_therapist: true, relation: NOBODY }, [true, false, true, false]),
            (Action::MarkAttendance { is_therapist: false, relation: GROUP_MODERATOR }, [true, true, true, true]),
            (Action::MarkAttendance { is_therapist: false, relation: NOBODY }, [true, false, false, false]),
            (Action::MarkAttendance { is_therapist: false, relation: FACILITATOR }, [true, false, true, false]),
            (Action::ManageSeats { is_therapist: false, relation: FACILITATOR }, [true, false, true, false]),
            (Action::ManageSeats { is_therapist: true, relation: NOBODY }, [true, false, true, false]),
            (Action::ManageSeats { is_therapist: false, relation: GROUP_MODERATOR }, [true, true, true, true]),
            (Action::ManageSeats { is_therapist: false, relation: MEMBER }, [true, false, false, false]),
            (Action::CancelGroupSession { relation: GROUP_MODERATOR, is_creator: false }, [true, true, true, true]),
            (Action::CancelGroupSession { relation: FACILITATOR, is_creator: false }, [true, false, false, false]),
            (Action::CancelGroupSession { relation: MEMBER, is_creator: true }, [true, true, true, true]),
            (Action::CancelGroupSession { relation: NOBODY, is_creator: false }, [true, false, false, false]),
            (Action::WithdrawFacilitation { accepted: true }, [false, false, true, false]),
            (Action::WithdrawFacilitation { accepted: false }, [false, false, false, false]),
        ];
        for (action, expected) in cases {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(authorize(role, action).is_ok(), allowed, "{role} attempting {action:?}");
            }
        }
    }

    /// Who finds whom among the people. Columns: admin, moderator,
    /// therapist, client (the caller's role).
    #[test]
    fn people_matrix() {
        let person = |role, served| PersonFacts { is_self: false, role, served };
        let cases: Vec<(PersonFacts, [bool; 4])> = vec![
            (person(Client, false), [true, true, false, true]),
            (person(Client, true), [true, true, true, true]),
            (PersonFacts { is_self: true, role: Client, served: false }, [true, true, true, true]),
            (person(Therapist, false), [true, true, true, true]),
            (person(Moderator, false), [true, true, true, true]),
            (person(Admin, false), [true, true, true, true]),
        ];
        for (facts, expected) in cases {
            for (role, found) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(finds_person(role, facts), found, "{role} looking for {facts:?}");
            }
        }
        let scopes: Vec<_> = Role::ALL.into_iter().map(people_scope).collect();
        assert_eq!(
            scopes,
            [PeopleScope::Everyone, PeopleScope::Everyone, PeopleScope::StaffAndServedClients, PeopleScope::Members]
        );
    }

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
            (Action::ChangeRole { is_self: false }, [true, false, false, false]),
            (Action::ChangeRole { is_self: true }, [false, false, false, false]),
            (Action::ViewAudit, [true, false, false, false]),
            (Action::ManageDeliveries, [true, false, false, false]),
            (Action::BookOneOnOne { as_therapist: false, as_client: false }, [true, true, false, false]),
            (Action::BookOneOnOne { as_therapist: true, as_client: false }, [true, true, true, false]),
            (Action::BookOneOnOne { as_therapist: false, as_client: true }, [true, true, false, true]),
            (Action::ViewSession { participant: false }, [true, true, false, false]),
            (Action::ViewSession { participant: true }, [true, true, true, true]),
            (Action::ListAllSessions, [true, true, false, false]),
            (Action::CancelSession { is_therapist: false, is_own_appointment: false }, [true, true, false, false]),
            (Action::CancelSession { is_therapist: true, is_own_appointment: false }, [true, true, true, false]),
            (Action::CancelSession { is_therapist: false, is_own_appointment: true }, [true, true, false, true]),
            (Action::ViewSchedule { is_self: false }, [true, true, false, false]),
            (Action::ViewSchedule { is_self: true }, [true, true, true, true]),
            (Action::ManageHold { is_party: false }, [true, true, false, false]),
            (Action::ManageHold { is_party: true }, [true, true, true, true]),
            (Action::ViewAvailability, [true, true, true, true]),
            (Action::SearchAvailability, [true, true, true, true]),
            (Action::ManageAvailability { is_self: false }, [true, true, false, false]),
            (Action::ManageAvailability { is_self: true }, [true, true, true, false]),
            (Action::RequestTimeOff { is_self: false }, [true, false, false, false]),
            (Action::RequestTimeOff { is_self: true }, [true, false, true, false]),
            (Action::ViewTimeOff { is_self: false }, [true, true, false, false]),
            (Action::ViewTimeOff { is_self: true }, [true, true, true, false]),
            (Action::CancelTimeOff { is_self: false }, [true, false, false, false]),
            (Action::CancelTimeOff { is_self: true }, [true, false, true, false]),
            (Action::DecideTimeOff, [true, false, false, false]),
        ];
        for (action, expected) in cases {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(authorize(role, action).is_ok(), allowed, "{role} attempting {action:?}");
            }
        }
    }
}
