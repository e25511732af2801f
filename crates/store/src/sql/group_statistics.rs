//! A group's statistics over time: its held sessions' seats and its
//! check-in totals over a range of local weeks, read in one transaction and
//! summed by the domain (`over_time`). Totals only: answers, names and free
//! text stay where they are.

use std::collections::BTreeMap;

use async_trait::async_trait;
use circles_domain::attendance::HeldSession;
use circles_domain::checkin::QuestionnaireRef;
use circles_domain::ids::{GroupId, OrgId, SessionId};
use circles_domain::over_time::{DatedSession, SessionTotal, WeekRange, session_averages, weekly_attendance};
use circles_domain::session::SeatStatus;
use jiff::tz::TimeZone;

use super::db::{Backend, DbError, Executor, Row, sql};
use super::rows::check_ins::questionnaire;
use super::rows::groups::fetch_group;
use super::rows::statuses::SESSION_CANCELLED;
use super::{SqlStore, read_tx};
use crate::model::{GroupOverTime, QuestionnaireAverages};
use crate::{Result, StatisticsStore};

#[async_trait]
impl<B: Backend> StatisticsStore for SqlStore<B> {
    async fn group_over_time(
        &self,
        org: OrgId,
        group: GroupId,
        range: WeekRange,
        zone: &TimeZone,
    ) -> Result<GroupOverTime> {
        let now = self.clock.now();
        let (from, to) = range.bounds(zone);
        read_tx!(self, |tx| {
            fetch_group(&mut tx, org, group).await?;
            // Held sessions only: a session counts once it has begun.
            let seat_rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT s.id, s.starts_at, x.status FROM sessions s \
                         LEFT JOIN seats x ON x.org_id = s.org_id AND x.session_id = s.id \
                         WHERE s.org_id = $1 AND s.group_id = $2 AND s.status <> {SESSION_CANCELLED} \
                         AND s.starts_at >= $3 AND s.starts_at < $4 AND s.starts_at <= $5 \
                         ORDER BY s.starts_at, s.id"
                    ))
                    .bind(org)
                    .bind(group)
                    .bind(from)
                    .bind(to)
                    .bind(now),
                )
                .await?;
            let mut held: Vec<(SessionId, DatedSession)> = Vec::new();
            for row in &seat_rows {
                let id: SessionId = row.id("id")?;
                if held.last().is_none_or(|(last, _)| *last != id) {
                    let dated =
                        DatedSession { starts_at: row.time("starts_at")?, held: HeldSession { seats: Vec::new() } };
                    held.push((id, dated));
                }
                if let Some(status) = row.opt_text("status")? {
                    let status = status.parse::<SeatStatus>().map_err(DbError::Decode)?;
                    held.last_mut().expect("pushed above").1.held.seats.push(status);
                }
            }
            let total_rows = tx
                .fetch_all(
                    sql(format!(
                        "SELECT r.questionnaire, r.session_id, r.total, s.title, s.starts_at FROM check_in_responses r \
                         JOIN sessions s ON s.org_id = r.org_id AND s.id = r.session_id \
                         WHERE r.org_id = $1 AND s.group_id = $2 AND s.status <> {SESSION_CANCELLED} \
                         AND s.starts_at >= $3 AND s.starts_at < $4"
                    ))
                    .bind(org)
                    .bind(group)
                    .bind(from)
                    .bind(to),
                )
                .await?;
            let mut titles: BTreeMap<SessionId, String> = BTreeMap::new();
            let mut totals = Vec::with_capacity(total_rows.len());
            for row in &total_rows {
                let session: SessionId = row.id("session_id")?;
                titles.entry(session).or_insert(row.text("title")?);
                totals.push(SessionTotal {
                    questionnaire: QuestionnaireRef::parse(&row.text("questionnaire")?).map_err(DbError::Decode)?,
                    session,
                    starts_at: row.time("starts_at")?,
                    total: row.opt_int("total")?.map(|t| t as i32),
                });
            }
            let mut check_ins = Vec::new();
            for series in session_averages(&totals) {
                let q = questionnaire(&mut tx, org, series.questionnaire).await?;
                check_ins.push(QuestionnaireAverages {
                    questionnaire: series.questionnaire,
                    title: q.title,
                    higher_is_better: q.higher_is_better,
                    sessions: series
                        .sessions
                        .into_iter()
                        .map(|p| (titles.get(&p.session).cloned().unwrap_or_default(), p))
                        .collect(),
                });
            }
            let dated: Vec<DatedSession> = held.into_iter().map(|(_, d)| d).collect();
            GroupOverTime { weeks: weekly_attendance(range, zone, &dated), check_ins }
        })
    }
}
