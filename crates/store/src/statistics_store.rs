//! Statistics over time, read for a group's staff.

use async_trait::async_trait;
use circles_domain::ids::{GroupId, OrgId};
use circles_domain::over_time::WeekRange;
use jiff::tz::TimeZone;

use crate::Result;
use crate::model::GroupOverTime;

#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// The group's attendance week by week (weeks on `zone`'s clock) and
    /// its check-ins' mean totals session by session, over `range`. Only
    /// totals are read: no answer, no name, no free text.
    async fn group_over_time(
        &self,
        org: OrgId,
        group: GroupId,
        range: WeekRange,
        zone: &TimeZone,
    ) -> Result<GroupOverTime>;
}
