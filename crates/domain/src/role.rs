use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a person is in one organisation. An account holds one role per
/// organisation and may belong to several organisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the organisation: people, roles, groups, time-off approval.
    Admin,
    /// Leads groups: proposes sessions, invites therapists, manages members.
    Moderator,
    /// Provider: answers invitations, keeps availability, marks attendance.
    Therapist,
    /// Member or patient: takes seats, sees their own schedule.
    Client,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Moderator, Role::Therapist, Role::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Therapist => "therapist",
            Role::Client => "client",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("must be one of admin, moderator, therapist, client")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}
