use async_trait::async_trait;

use super::SqlStore;
use super::db::Backend;
use crate::{HealthStore, Result};

#[async_trait]
impl<B: Backend> HealthStore for SqlStore<B> {
    async fn ping(&self) -> Result<()> {
        Ok(self.backend.ping().await?)
    }

    fn statements_run(&self) -> u64 {
        SqlStore::statements_run(self)
    }
}
