//! Groups: lasting sets of people that hold sessions — a weekly therapy
//! group or a community — and the rules a group sets for its sessions.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::civil::{parse_time, parse_weekday, weekday_name};
use crate::interval::Interval;
use crate::spelling::spelled_enum;
use crate::validation::Validator;
use crate::waitlist::OfferMode;

spelled_enum!(
    GroupType {
        Therapy = "THERAPY",
        Support = "SUPPORT",
        Education = "EDUCATION",
        Skills = "SKILLS",
        /// A community (seed 004): members propose and run their own sessions.
        Community = "COMMUNITY",
    }
);

spelled_enum!(
    /// Who may create sessions in a group.
    SessionCreation { Moderators = "moderators", AllMembers = "all_members" }
);

spelled_enum!(
    /// A client's membership of a group. Leaving and rejoining keeps history:
    /// each period is its own membership.
    MembershipStatus {
        PendingScreening = "PENDING_SCREENING",
        Active = "ACTIVE",
        Waitlisted = "WAITLISTED",
        Inactive = "INACTIVE",
        Graduated = "GRADUATED",
    }
);

spelled_enum!(GroupStatus { Active = "ACTIVE" / "active", Archived = "ARCHIVED" / "archived" });

impl MembershipStatus {
    /// Whether this is a current membership (as opposed to a past period).
    pub fn is_current(self) -> bool {
        matches!(self, MembershipStatus::PendingScreening | MembershipStatus::Active | MembershipStatus::Waitlisted)
    }

    /// Whether a membership may move from `self` to `to` by a staff decision.
    /// Past periods never change: a returning client starts a new one.
    pub fn can_become(self, to: MembershipStatus) -> bool {
        use MembershipStatus::*;
        matches!(
            (self, to),
            (PendingScreening, Active | Waitlisted | Inactive)
                | (Waitlisted, Active | Inactive)
                | (Active, Inactive | Graduated)
        )
    }
}

/// Whether leaving on `leave_date` waits for that date: an active member
/// keeps their place (and seats) until the day they leave.
pub fn departure_waits(from: MembershipStatus, leave_date: jiff::civil::Date, today: jiff::civil::Date) -> bool {
    from == MembershipStatus::Active && leave_date > today
}

/// A membership's status on `today`: an active member with a departure
/// waiting takes the status they leave with once their leave date comes.
/// Derived when read, so it never depends on a job running on time.
pub fn status_on(
    stored: MembershipStatus,
    leave_date: Option<jiff::civil::Date>,
    departs_as: Option<MembershipStatus>,
    today: jiff::civil::Date,
) -> MembershipStatus {
    match (stored, leave_date, departs_as) {
        (MembershipStatus::Active, Some(left), Some(to)) if left <= today => to,
        _ => stored,
    }
}

/// Whether a group takes a new member. An open group enrols at any time
/// (rolling enrolment). A closed group enrols until its first session has
/// started; after that only an admin may add someone, and says why.
pub fn takes_new_members(open: bool, first_session_started: bool, admin_override: Option<&str>) -> bool {
    open || !first_session_started || admin_override.is_some_and(|reason| !reason.trim().is_empty())
}

/// The leave date of a membership whose screening was not approved on
/// `screened`: the membership ends where it would have begun, or on the
/// screening day if that came later. A screening usually comes before the
/// planned join date, so the screening day alone would end the period
/// before it began.
pub fn screening_leave_date(screened: jiff::civil::Date, join_date: jiff::civil::Date) -> jiff::civil::Date {
    screened.max(join_date)
}

/// A weekly stretch of local time in which sessions may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub weekday: Weekday,
    pub start: Time,
    pub end: Time,
}

/// A window as clients send it and as it is stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    pub weekday: String,
    pub start_time: String,
    pub end_time: String,
}

impl Serialize for TimeWindow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WindowInput {
            weekday: weekday_name(self.weekday).to_owned(),
            start_time: self.start.strftime("%H:%M").to_string(),
            end_time: self.end.strftime("%H:%M").to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TimeWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = WindowInput::deserialize(d)?;
        Ok(TimeWindow {
            weekday: parse_weekday(&raw.weekday).map_err(D::Error::custom)?,
            start: parse_time(&raw.start_time).map_err(D::Error::custom)?,
            end: parse_time(&raw.end_time).map_err(D::Error::custom)?,
        })
    }
}

/// Limits on a session's length and size.
pub const GROUP_MINUTES: std::ops::RangeInclusive<i64> = 15..=180;

/// Whether a proposed session waits for a moderator before its therapists
/// are asked: a group session, in a group whose settings ask for approval,
/// proposed by someone who does not moderate it (admins moderate all).
pub fn proposal_needs_approval(is_group_session: bool, proposer_moderates: bool, approval_required: bool) -> bool {
    is_group_session && approval_required && !proposer_moderates
}
pub const GROUP_CAPACITY: std::ops::RangeInclusive<i64> = 2..=50;

/// How long after a session's start a group may let members join it.
pub const LATE_JOIN_MINUTES: std::ops::RangeInclusive<i64> = 0..=180;

/// How a group runs its sessions (seed 004, translated to therapy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSettings {
    pub session_creation: SessionCreation,
    /// A member's proposal waits for a moderator's approval.
    pub approval_required: bool,
    /// Sessions must be proposed at least this long before they start.
    pub advance_notice_hours: i64,
    /// When non-empty, sessions must lie inside one of these windows.
    pub allowed_time_windows: Vec<TimeWindow>,
    pub default_capacity: i64,
    /// Whether members may start a drop-in session now.
    pub allow_instant: bool,
    /// Refuse to generate sessions outside a facilitator's working hours
    /// (by default they are generated and the report warns).
    #[serde(default)]
    pub refuse_outside_working_hours: bool,
    /// Members may take a free seat in a running session up to this many
    /// minutes after its start (0: seats close at the start).
    #[serde(default)]
    pub late_join_minutes: i64,
    /// Drop-in sessions may run without a facilitator, led by the members.
    #[serde(default)]
    pub allow_peer_led: bool,
    /// Drop-in sessions may start outside `allowed_time_windows`.
    #[serde(default)]
    pub instant_ignores_windows: bool,
    /// How this group's freed seats and places are offered; the
    /// organisation's waitlist mode when unset.
    #[serde(default)]
    pub offer_mode: Option<OfferMode>,
}

impl Default for GroupSettings {
    fn default() -> Self {
        Self {
            session_creation: SessionCreation::Moderators,
            approval_required: false,
            advance_notice_hours: 0,
            allowed_time_windows: Vec::new(),
            default_capacity: 12,
            allow_instant: true,
            refuse_outside_working_hours: false,
            late_join_minutes: 0,
            allow_peer_led: false,
            instant_ignores_windows: false,
            offer_mode: None,
        }
    }
}

/// Settings as a request sends them: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    pub session_creation: Option<String>,
    pub approval_required: Option<bool>,
    pub advance_notice_hours: Option<i64>,
    pub allowed_time_windows: Option<Vec<WindowInput>>,
    pub default_capacity: Option<i64>,
    pub allow_instant: Option<bool>,
    pub refuse_outside_working_hours: Option<bool>,
    pub late_join_minutes: Option<i64>,
    pub allow_peer_led: Option<bool>,
    pub instant_ignores_windows: Option<bool>,
    /// A mode, or null to follow the organisation's; left out, unchanged.
    #[serde(default, deserialize_with = "present")]
    pub offer_mode: Option<Option<OfferMode>>,
}

/// A field that is present, even as null (`Some(None)`), as opposed to left
/// out (`None`, by `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl GroupSettings {
    /// `base` with the fields `input` sets, validated; problems go to `v`
    /// under `field.…`.
    pub fn apply(base: &GroupSettings, input: &SettingsInput, v: &mut Validator, field: &str) -> Option<GroupSettings> {
        let at = |name: &str| format!("{field}.{name}");
        let mut settings = base.clone();
        if let Some(raw) = &input.session_creation {
            settings.session_creation = v.check(&at("session_creation"), raw.parse())?;
        }
        if let Some(approval) = input.approval_required {
            settings.approval_required = approval;
        }
        if let Some(hours) = input.advance_notice_hours {
            if !(0..=24 * 90).contains(&hours) {
                v.reject(&at("advance_notice_hours"), "must be between 0 and 2160 hours");
            }
            settings.advance_notice_hours = hours;
        }
        if let Some(capacity) = input.default_capacity {
            if !GROUP_CAPACITY.contains(&capacity) {
                v.reject(&at("default_capacity"), "must be between 2 and 50");
            }
            settings.default_capacity = capacity;
        }
        if let Some(allow) = input.allow_instant {
            settings.allow_instant = allow;
        }
        if let Some(refuse) = input.refuse_outside_working_hours {
            settings.refuse_outside_working_hours = refuse;
        }
        if let Some(minutes) = input.late_join_minutes {
            if !LATE_JOIN_MINUTES.contains(&minutes) {
                v.reject(&at("late_join_minutes"), "must be between 0 and 180 minutes");
            }
            settings.late_join_minutes = minutes;
        }
        if let Some(peer_led) = input.allow_peer_led {
            settings.allow_peer_led = peer_led;
        }
        if let Some(ignores) = input.instant_ignores_windows {
            settings.instant_ignores_windows = ignores;
        }
        if let Some(mode) = input.offer_mode {
            if let Some(Err(e)) = mode.map(OfferMode::check) {
                v.reject(&at("offer_mode.k"), e);
            }
            settings.offer_mode = mode;
        }
        if let Some(windows) = &input.allowed_time_windows {
            let mut parsed = Vec::with_capacity(windows.len());
            for (i, w) in windows.iter().enumerate() {
                let name = format!("{field}.allowed_time_windows[{i}]");
                let weekday = v.check(&format!("{name}.weekday"), parse_weekday(&w.weekday));
                let start = v.check(&format!("{name}.start_time"), parse_time(&w.start_time));
                let end = v.check(&format!("{name}.end_time"), parse_time(&w.end_time));
                if let (Some(weekday), Some(start), Some(end)) = (weekday, start, end) {
                    if end <= start {
                        v.reject(&format!("{name}.end_time"), "must be after start_time");
                    }
                    parsed.push(TimeWindow { weekday, start, end });
                }
            }
            settings.allowed_time_windows = parsed;
        }
        v.is_ok().then_some(settings)
    }

    /// How long after the start members may still join a running session.
    pub fn late_join(&self) -> SignedDuration {
        SignedDuration::from_mins(self.late_join_minutes)
    }

    /// Whether a drop-in session needs a facilitator (a peer-led group's does not).
    pub fn instant_needs_facilitator(&self) -> bool {
        !self.allow_peer_led
    }

    /// Whether a session at `slot` (shown in `zone`) respects the notice and
    /// the allowed windows, as of `now`. Problems go to `v` under `field`.
    pub fn check_timing(&self, slot: Interval, zone: &TimeZone, now: Timestamp, v: &mut Validator, field: &str) {
        let notice = SignedDuration::from_hours(self.advance_notice_hours);
        if slot.start < now + notice {
            v.reject(field, format!("this group needs {} hours' notice", self.advance_notice_hours));
        }
        self.check_windows(slot, zone, v, field);
    }

    /// Whether a session at `slot` (shown in `zone`) lies in one of the
    /// allowed windows (always, when there are none).
    pub fn check_windows(&self, slot: Interval, zone: &TimeZone, v: &mut Validator, field: &str) {
        if self.allowed_time_windows.is_empty() {
            return;
        }
        let start = slot.start.to_zoned(zone.clone());
        let end = slot.end.to_zoned(zone.clone());
        let fits = self.allowed_time_windows.iter().any(|w| {
            start.date() == end.date() && start.weekday() == w.weekday && start.time() >= w.start && end.time() <= w.end
        });
        if !fits {
            let windows: Vec<String> = self
                .allowed_time_windows
                .iter()
                .map(|w| {
                    format!("{} {}–{}", weekday_name(w.weekday), w.start.strftime("%H:%M"), w.end.strftime("%H:%M"))
                })
                .collect();
            v.reject(field, format!("sessions of this group run within {}", windows.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_group_proposal_by_a_non_moderator_in_an_approving_group_waits() {
        assert!(proposal_needs_approval(true, false, true));
        assert!(!proposal_needs_approval(true, true, true), "moderators schedule directly");
        assert!(!proposal_needs_approval(true, false, false), "the group does not ask for approval");
        assert!(!proposal_needs_approval(false, false, true), "one-on-one and drop-in sessions never wait");
    }

    #[test]
    fn a_member_leaving_later_stays_active_until_the_leave_date() {
        use MembershipStatus::*;
        use jiff::civil::date;
        let leave = date(2027, 3, 15);
        assert!(departure_waits(Active, leave, date(2027, 3, 1)));
        assert!(!departure_waits(Active, leave, date(2027, 3, 15)), "leaving today takes effect now");
        assert!(!departure_waits(Waitlisted, leave, date(2027, 3, 1)), "a waitlisted member holds no place");
        assert_eq!(status_on(Active, Some(leave), Some(Graduated), date(2027, 3, 14)), Active);
        assert_eq!(status_on(Active, Some(leave), Some(Graduated), date(2027, 3, 15)), Graduated);
        assert_eq!(status_on(Active, None, None, date(2027, 3, 15)), Active);
    }

    #[test]
    fn closed_groups_enrol_until_they_start_and_then_only_by_an_admin_s_exception() {
        assert!(takes_new_members(true, true, None), "open groups take rolling enrolment");
        assert!(takes_new_members(false, false, None), "a closed group fills up before it starts");
        assert!(!takes_new_members(false, true, None));
        assert!(!takes_new_members(false, true, Some("  ")), "an exception says why");
        assert!(takes_new_members(false, true, Some("moved from the Tuesday group")));
    }

    #[test]
    fn a_rejected_screening_ends_the_period_no_earlier_than_it_began() {
        use jiff::civil::date;
        assert_eq!(screening_leave_date(date(2027, 3, 2), date(2027, 3, 15)), date(2027, 3, 15));
        assert_eq!(screening_leave_date(date(2027, 3, 20), date(2027, 3, 15)), date(2027, 3, 20));
    }

    #[test]
    fn memberships_move_forward_and_past_periods_never_change() {
        use MembershipStatus::*;
        assert!(PendingScreening.can_become(Active));
        assert!(Waitlisted.can_become(Active));
        assert!(Active.can_become(Graduated));
        assert!(!Active.can_become(Waitlisted), "an active member is not sent back to the waitlist");
        assert!(!Graduated.can_become(Active), "returning is a new membership");
        assert!(!Inactive.can_become(Active));
        assert!(!PendingScreening.can_become(Graduated));
    }

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn slot(local_start: &str, minutes: i64) -> Interval {
        let start =
            jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", local_start).unwrap().to_zoned(ny()).unwrap().timestamp();
        Interval::starting_at(start, SignedDuration::from_mins(minutes)).unwrap()
    }

    fn errors(settings: &GroupSettings, s: Interval, now: Timestamp) -> Vec<String> {
        let mut v = Validator::default();
        settings.check_timing(s, &ny(), now, &mut v, "starts_at");
        v.done(|| Some(())).err().map(|e| e.0.into_iter().map(|f| f.reason).collect()).unwrap_or_default()
    }

    #[test]
    fn notice_is_measured_from_now() {
        let settings = GroupSettings { advance_notice_hours: 48, ..GroupSettings::default() };
        let now = slot("2027-03-01 09:00", 1).start;
        assert!(errors(&settings, slot("2027-03-03 09:00", 60), now).is_empty(), "exactly 48 hours is enough");
        assert_eq!(errors(&settings, slot("2027-03-03 08:59", 60), now), ["this group needs 48 hours' notice"]);
    }

    #[test]
    fn sessions_must_fit_a_window_in_local_time() {
        let windows = vec![TimeWindow {
            weekday: Weekday::Thursday,
            start: Time::constant(18, 0, 0, 0),
            end: Time::constant(21, 0, 0, 0),
        }];
        let settings = GroupSettings { allowed_time_windows: windows, ..GroupSettings::default() };
        let now = slot("2027-01-01 09:00", 1).start;
        // 2027-03-04 is a Thursday before the DST change, 2027-03-18 after it.
        assert!(errors(&settings, slot("2027-03-04 18:00", 90), now).is_empty());
        assert!(errors(&settings, slot("2027-03-18 19:30", 90), now).is_empty(), "local time, across DST");
        assert_eq!(errors(&settings, slot("2027-03-18 20:00", 90), now).len(), 1, "ends after the window");
        assert_eq!(errors(&settings, slot("2027-03-17 18:00", 60), now).len(), 1, "a Wednesday");
    }

    #[test]
    fn settings_are_validated_field_by_field() {
        let input = SettingsInput {
            session_creation: Some("everyone".into()),
            advance_notice_hours: Some(-1),
            default_capacity: Some(1),
            allowed_time_windows: Some(vec![WindowInput {
                weekday: "funday".into(),
                start_time: "25:00".into(),
                end_time: "09:00".into(),
            }]),
            ..SettingsInput::default()
        };
        let mut v = Validator::default();
        assert!(GroupSettings::apply(&GroupSettings::default(), &input, &mut v, "settings").is_none());
        let fields: Vec<String> = v.done(|| Some(())).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert!(fields.contains(&"settings.session_creation".to_owned()));
    }

    #[test]
    fn a_window_must_end_after_it_starts() {
        let input = SettingsInput {
            allowed_time_windows: Some(vec![WindowInput {
                weekday: "monday".into(),
                start_time: "10:00".into(),
                end_time: "09:00".into(),
            }]),
            ..SettingsInput::default()
        };
        let mut v = Validator::default();
        GroupSettings::apply(&GroupSettings::default(), &input, &mut v, "settings");
        let fields: Vec<String> = v.done(|| Some(())).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["settings.allowed_time_windows[0].end_time"]);
    }
}
