//! The words beside ids: what one answer mentions by id, and the names and
//! titles a person reads instead.

use std::collections::HashMap;

use circles_domain::ids::{GroupId, PersonId, SessionId};

/// The people, groups and sessions one answer mentions by id.
#[derive(Debug, Default, Clone)]
pub struct Mentions {
    pub people: Vec<PersonId>,
    pub groups: Vec<GroupId>,
    pub sessions: Vec<SessionId>,
}

impl Mentions {
    pub fn person(&mut self, id: impl Into<Option<PersonId>>) -> &mut Self {
        self.people.extend(id.into());
        self
    }

    pub fn group(&mut self, id: impl Into<Option<GroupId>>) -> &mut Self {
        self.groups.extend(id.into());
        self
    }

    pub fn session(&mut self, id: impl Into<Option<SessionId>>) -> &mut Self {
        self.sessions.extend(id.into());
        self
    }
}

/// People's and groups' names and sessions' titles, by id. An id the store
/// does not know (another organisation's, or gone) reads as `None`.
#[derive(Debug, Default, Clone)]
pub struct Labels {
    pub people: HashMap<PersonId, String>,
    pub groups: HashMap<GroupId, String>,
    pub sessions: HashMap<SessionId, String>,
}

impl Labels {
    pub fn person(&self, id: PersonId) -> Option<String> {
        self.people.get(&id).cloned()
    }

    pub fn group(&self, id: GroupId) -> Option<String> {
        self.groups.get(&id).cloned()
    }

    pub fn session(&self, id: SessionId) -> Option<String> {
        self.sessions.get(&id).cloned()
    }
}
