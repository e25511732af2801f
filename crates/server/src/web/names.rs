//! Names for the people a page mentions. What a viewer may learn is the
//! API's `ListPeople` rule: staff see everyone, a client only therapists.

use std::collections::HashMap;

use circles_domain::Role;
use uuid::Uuid;

use super::error::PageResult;
use super::viewer::Ctx;
use crate::http::extract::Query;
use crate::routes::people::{PeopleFilter, list_people};
use crate::routes::views::PersonView;
use crate::state::AppState;

#[derive(Default)]
pub struct Names {
    people: HashMap<Uuid, PersonView>,
}

impl Names {
    /// Everyone the viewer may see named (listing clients is audited).
    pub async fn load(state: &AppState, ctx: &Ctx) -> PageResult<Self> {
        let role = (ctx.role() == Role::Client).then(|| "therapist".to_owned());
        Self::of_role(state, ctx, role).await
    }

    /// Only the organisation's therapists (not an audited read).
    pub async fn therapists(state: &AppState, ctx: &Ctx) -> PageResult<Self> {
        Self::of_role(state, ctx, Some("therapist".to_owned())).await
    }

    async fn of_role(state: &AppState, ctx: &Ctx, role: Option<String>) -> PageResult<Self> {
        let found = list_people(
            axum::extract::State(state.clone()),
            ctx.member.clone(),
            Query(PeopleFilter { role, limit: Some(1000), cursor: None }),
        )
        .await?
        .0
        .items;
        Ok(Self { people: found.into_iter().map(|p| (p.id, p)).collect() })
    }

    /// The person's name, or a neutral word when the viewer may not know it.
    pub fn of(&self, id: Uuid) -> &str {
        self.people.get(&id).map_or("someone", |p| p.name.as_str())
    }

    pub fn with_role(&self, role: Role) -> Vec<&PersonView> {
        let mut found: Vec<_> = self.people.values().filter(|p| p.role == role).collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }
}
