//! A group's statistics over time for its staff: the attendance rate week by
//! week (weeks on the group's clock, starting Monday) and each check-in
//! questionnaire's mean total session by session. Clients are refused as
//! the group's other statistics refuse them.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::civil::parse_date;
use circles_domain::local_time::local_time;
use circles_domain::over_time::WeekRange;
use circles_domain::validation::Validator;
use circles_store::model::{Group, GroupOverTime};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::groups::visible_group;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::http::extract::{Path, Query};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OverTimeQuery {
    /// `YYYY-MM-DD` on the group's clock: the first week shown is the one
    /// holding this date. By default the eleven weeks before `to`'s.
    #[param(format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD` on the group's clock: the last week shown is the one
    /// holding this date (today by default); at most 104 weeks after `from`.
    #[param(format = Date)]
    pub to: Option<String>,
}

/// One local week (Monday to Sunday) of the group's held sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekView {
    /// The week's Monday, `YYYY-MM-DD` on the group's clock.
    pub week_start: String,
    /// `Week of Mon 2 Mar 2026`.
    pub week_label: String,
    pub sessions_held: i64,
    /// Mean number of members who attended a session of the week.
    pub average_attendance: f64,
    /// Seats of the week whose attendance was recorded: the base of the rates.
    pub marked: i64,
    /// Seats of the week nobody has marked yet.
    pub unmarked: i64,
    /// Attended seats over marked seats; null while none is marked.
    pub attendance_rate: Option<f64>,
    /// No-show seats over marked seats; null while none is marked.
    pub no_show_rate: Option<f64>,
}

/// A questionnaire's answers in one session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionAverageView {
    pub session_id: Uuid,
    pub session_title: String,
    pub starts_at: String,
    /// The start on the group's clock.
    pub starts_at_local: String,
    /// Members who answered.
    pub answered: i64,
    /// The mean of their totals, to two decimals; null when the
    /// questionnaire has nothing to add up.
    pub mean_total: Option<f64>,
}

/// One questionnaire's mean totals, session by session, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireAveragesView {
    /// A built-in's key or the organisation's questionnaire's id.
    pub questionnaire: String,
    pub questionnaire_title: String,
    /// Whether a higher total reads as better (mood) or worse (PHQ-9).
    pub higher_is_better: bool,
    pub sessions: Vec<SessionAverageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOverTimeView {
    pub group_id: Uuid,
    pub group_name: String,
    /// The zone whose weeks and clock the answer uses.
    pub timezone: String,
    /// The first week's Monday, `YYYY-MM-DD`.
    pub from: String,
    /// The last week's Sunday, `YYYY-MM-DD`.
    pub to: String,
    /// Every week of the range, oldest first, empty ones included.
    pub weeks: Vec<WeekView>,
    /// Each questionnaire answered in the group's sessions of the range.
    pub check_ins: Vec<QuestionnaireAveragesView>,
}

impl GroupOverTimeView {
    fn new(group: &Group, zone: &str, range: WeekRange, stats: GroupOverTime) -> Self {
        let weeks = stats
            .weeks
            .into_iter()
            .map(|w| WeekView {
                week_start: w.week_start.to_string(),
                week_label: format!("Week of {}", w.week_start.strftime("%a %-d %b %Y")),
                sessions_held: w.stats.sessions_held,
                average_attendance: w.stats.average_attendance,
                marked: w.stats.marked,
                unmarked: w.stats.unmarked,
                attendance_rate: w.rate(),
                no_show_rate: (w.stats.marked > 0).then_some(w.stats.no_show_rate),
            })
            .collect();
        let check_ins = stats
            .check_ins
            .into_iter()
            .map(|q| QuestionnaireAveragesView {
                questionnaire: q.questionnaire.to_string(),
                questionnaire_title: q.title,
                higher_is_better: q.higher_is_better,
                sessions: q
                    .sessions
                    .into_iter()
                    .map(|(title, p)| SessionAverageView {
                        session_id: p.session.0,
                        session_title: title,
                        starts_at: p.starts_at.to_string(),
                        starts_at_local: local_time(p.starts_at, zone),
                        answered: p.answered,
                        mean_total: p.mean_total,
                    })
                    .collect(),
            })
            .collect();
        Self {
            group_id: group.id.0,
            group_name: group.fields.name.clone(),
            timezone: zone.to_owned(),
            from: range.first().to_string(),
            to: range.last_day().to_string(),
            weeks,
            check_ins,
        }
    }
}

/// The zone a group's weeks follow: its series' zone, else the organisation's.
pub fn group_zone(group: &Group, org_zone: &str) -> String {
    group.fields.recurrence.as_ref().map_or_else(|| org_zone.to_owned(), |r| r.timezone.clone())
}

fn weeks_asked(query: &OverTimeQuery, today: Date) -> Result<WeekRange, circles_domain::Invalid> {
    let mut v = Validator::default();
    let from = v.check_opt("from", query.from.as_deref().map(parse_date));
    let to = v.check_opt("to", query.to.as_deref().map(parse_date));
    let range = match (from, to) {
        (Some(Some(from)), Some(to)) => v.check("to", WeekRange::covering(from, to.unwrap_or(today))),
        (Some(None), Some(to)) => Some(WeekRange::ending(to.unwrap_or(today))),
        _ => None,
    };
    v.done(|| range)
}

/// The group's attendance rate week by week and its check-ins' mean totals
/// session by session, for its moderators and facilitators and the
/// organisation's admins.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/groups/{group_id}/stats/over-time", tag = "groups",
    params(("org_id" = Uuid, Path), ("group_id" = Uuid, Path), OverTimeQuery),
    responses((status = 200, body = GroupOverTimeView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn over_time(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, group_id)): Path<(Uuid, Uuid)>,
    Query(query): Query<OverTimeQuery>,
) -> ApiResult<axum::Json<GroupOverTimeView>> {
    let (group, relation) = visible_group(&state, &member, group_id).await?;
    member.authorize(Action::ViewRoster { relation })?;
    let zone_name = group_zone(&group, &member.org.timezone);
    let zone = TimeZone::get(&zone_name).unwrap_or(TimeZone::UTC);
    let range = weeks_asked(&query, state.clock.now().to_zoned(zone.clone()).date())?;
    let stats = state.store.group_over_time(member.org_id(), group.id, range, &zone).await?;
    Ok(axum::Json(GroupOverTimeView::new(&group, &zone_name, range, stats)))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(over_time))
}
