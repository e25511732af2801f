//! How request parts that the domain parses read in the OpenAPI document:
//! a group's recurring series (`circles_domain::recurrence::RecurrenceInput`)
//! and its settings (`circles_domain::group::SettingsInput`). The domain
//! crate knows nothing of OpenAPI; these types only describe its inputs, and
//! a test checks that both accept the same fields.

use serde::Deserialize;
use utoipa::ToSchema;

/// A recurring series. `end_date` is not before `start_date`, and the rule
/// selects at least one date from `start_date` to the end of the series.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SeriesRecurrence {
    /// An RFC 5545 rule. The server takes FREQ (DAILY, WEEKLY or MONTHLY),
    /// INTERVAL (1 to 52), COUNT (1 to 730), BYDAY, BYMONTHDAY, UNTIL and
    /// WKST, in any order and case; the pattern states the common subset.
    #[schema(example = "FREQ=WEEKLY;BYDAY=TH", format = "rrule")]
    pub rrule: String,
    /// No occurrence comes before this local date.
    #[schema(format = Date)]
    pub start_date: String,
    /// Local wall-clock start of each occurrence in `timezone`.
    #[schema(format = "clock-time", example = "18:00")]
    pub start_time: String,
    #[schema(format = "time-zone")]
    pub timezone: String,
    #[schema(minimum = 5, maximum = 1440)]
    pub duration_minutes: i64,
    /// The last local date, inclusive; not before `start_date`.
    #[schema(format = Date)]
    pub end_date: Option<String>,
    /// Local dates whose occurrence is cancelled.
    #[serde(default)]
    #[schema(value_type = Vec<String>, format = Date)]
    pub exdates: Vec<String>,
}

/// Settings to change; fields left out keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct GroupSettingsChange {
    /// Who may create the group's sessions.
    pub session_creation: Option<String>,
    /// Whether sessions a member proposes wait for a moderator.
    pub approval_required: Option<bool>,
    #[schema(minimum = 0, maximum = 2160)]
    pub advance_notice_hours: Option<i64>,
    pub allowed_time_windows: Option<Vec<WeeklyWindow>>,
    #[schema(minimum = 2, maximum = 50)]
    pub default_capacity: Option<i64>,
    pub allow_instant: Option<bool>,
    pub refuse_outside_working_hours: Option<bool>,
    /// How the group's freed seats and places are offered, or null to
    /// follow the organisation's waitlist mode.
    pub offer_mode: Option<OfferModeBody>,
}

/// A weekly window; `end_time` is after `start_time`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WeeklyWindow {
    pub weekday: String,
    #[schema(format = "clock-time", example = "09:00")]
    pub start_time: String,
    #[schema(format = "clock-time", example = "17:00")]
    pub end_time: String,
}

/// An organisation's waitlist settings (`circles_domain::waitlist::
/// WaitlistSettings`); a field left out takes its default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WaitlistSettingsBody {
    #[serde(default)]
    pub priority: PriorityWeightsBody,
    #[serde(default)]
    pub matching: MatchWeightsBody,
    #[serde(default)]
    pub mode: OfferModeBody,
    /// How long an offer stays open unless the offer says otherwise.
    #[serde(default)]
    #[schema(minimum = 5, maximum = 10080)]
    pub offer_expiry_minutes: i64,
    /// How long after a seat frees before it is offered.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 86400)]
    pub grace_seconds: i64,
    #[serde(default)]
    pub clients_may_join: bool,
}

/// How waiting clients are ranked: each weight a share from 0 to 1.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PriorityWeightsBody {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub wait: f64,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub wait_cap_days: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub urgency: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub referral: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub decline_step: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub decline_cap: f64,
}

/// How an opening and a waiting client are matched: each weight a share
/// from 0 to 1.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct MatchWeightsBody {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub provider: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub day: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub time: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub sooner: f64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub priority: f64,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub horizon_days: i64,
}

/// How freed seats and slots are offered: to one client at a time
/// (`ONE_AT_A_TIME`), to `k` at once, the first to accept winning
/// (`PARALLEL`, with `k` from 1 to 10), or by staff by hand (`MANUAL`).
/// `k` is given with PARALLEL and only with it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OfferModeBody {
    pub mode: OfferModeName,
    /// Not null: left out when the mode is not PARALLEL.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub k: u32,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub enum OfferModeName {
    #[default]
    OneAtATime,
    Parallel,
    Manual,
}
