//! The words beside ids: names and titles for what one answer mentions.

use async_trait::async_trait;
use circles_domain::ids::OrgId;

use super::db::Backend;
use super::rows::names;
use super::{SqlStore, read_tx};
use crate::model::{Labels, Mentions};
use crate::{LabelStore, Result};

#[async_trait]
impl<B: Backend> LabelStore for SqlStore<B> {
    async fn labels(&self, org: OrgId, mentions: Mentions) -> Result<Labels> {
        read_tx!(self, |tx| Labels {
            people: names::load(&mut tx, org, mentions.people).await?,
            groups: names::groups(&mut tx, org, mentions.groups).await?,
            sessions: names::session_titles(&mut tx, org, mentions.sessions).await?,
        })
    }
}
