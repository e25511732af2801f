//! Names beside ids: a view whose rows carry ids of people, groups or
//! sessions asks the store for all their names at once, in one read.

use circles_domain::ids::OrgId;
use circles_store::model::{Labels, Mentions};

use crate::http::error::ApiResult;
use crate::state::AppState;

/// The labels of everything `mention` finds in `items`, in one read.
pub async fn labels_of<T>(
    state: &AppState,
    org: OrgId,
    items: &[T],
    mention: impl Fn(&mut Mentions, &T),
) -> ApiResult<Labels> {
    let mut mentions = Mentions::default();
    for item in items {
        mention(&mut mentions, item);
    }
    Ok(state.store.labels(org, mentions).await?)
}
