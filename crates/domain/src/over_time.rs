//! A group's statistics over time, for its staff: the attendance rate week
//! by week, and each check-in questionnaire's mean total session by session.
//!
//! Weeks are the group's local weeks (Monday to Sunday on its zone's
//! clock), so a week that spans a DST change is 167 or 169 hours long and a
//! session at 18:00 local always lands in the week of its local date. Only
//! totals are averaged: free-text answers never reach this module.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::attendance::{GroupStats, HeldSession, group_stats};
use crate::checkin::QuestionnaireRef;
use crate::ids::SessionId;

/// The most weeks one answer covers (two years).
pub const MAX_WEEKS: i64 = 104;

/// Weeks shown when no range is asked for: the last twelve, this one included.
pub const DEFAULT_WEEKS: i64 = 12;

/// The Monday of `date`'s week.
pub fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days()).unwrap_or(date)
}

/// Whole local weeks, from the Monday of `first` to the Monday of `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekRange {
    first: Date,
    last: Date,
}

impl WeekRange {
    /// The weeks holding `from` through `to` (local dates); refused when
    /// `to` is before `from` or the range is longer than [`MAX_WEEKS`].
    pub fn covering(from: Date, to: Date) -> Result<Self, String> {
        if to < from {
            return Err("must not be before from".into());
        }
        let range = Self { first: monday_of(from), last: monday_of(to) };
        if range.week_count() > MAX_WEEKS {
            return Err(format!("must be within {MAX_WEEKS} weeks of from"));
        }
        Ok(range)
    }

    /// The [`DEFAULT_WEEKS`] weeks ending with the one holding `today`.
    pub fn ending(today: Date) -> Self {
        let last = monday_of(today);
        let first = last.checked_sub(((DEFAULT_WEEKS - 1) * 7).days()).unwrap_or(last);
        Self { first, last }
    }

    pub fn first(&self) -> Date {
        self.first
    }

    /// The Monday of the last week.
    pub fn last(&self) -> Date {
        self.last
    }

    /// The Sunday that ends the last week.
    pub fn last_day(&self) -> Date {
        self.last.checked_add(6.days()).unwrap_or(self.last)
    }

    /// How many weeks (at least one).
    pub fn week_count(&self) -> i64 {
        i64::from((self.last - self.first).get_days()) / 7 + 1
    }

    /// Each week's Monday, in order.
    pub fn mondays(&self) -> impl Iterator<Item = Date> + '_ {
        (0..self.week_count()).filter_map(|w| self.first.checked_add((w * 7).days()).ok())
    }

    /// The instants the range covers in `zone`: from local midnight of the
    /// first Monday to local midnight of the Monday after the last week.
    pub fn bounds(&self, zone: &TimeZone) -> (Timestamp, Timestamp) {
        let end = self.last.checked_add(7.days()).unwrap_or(self.last);
        (midnight(self.first, zone), midnight(end, zone))
    }
}

/// The first instant of `date` on `zone`'s clock (the instant after a gap
/// when midnight itself does not exist there).
fn midnight(date: Date, zone: &TimeZone) -> Timestamp {
    date.to_zoned(zone.clone()).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A held session of the group: when it began and its seats' statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedSession {
    pub starts_at: Timestamp,
    pub held: HeldSession,
}

/// One local week's attendance.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekAttendance {
    /// The week's Monday (local date).
    pub week_start: Date,
    /// The week's sessions as the group's statistics count them; the rate is
    /// over marked seats, so a week with none marked has no rate to show.
    pub stats: GroupStats,
}

impl WeekAttendance {
    /// The attendance rate, `None` while no seat of the week was marked.
    pub fn rate(&self) -> Option<f64> {
        (self.stats.marked > 0).then_some(self.stats.attendance_rate)
    }
}

/// Every week of `range`, each with the sessions that began in it on
/// `zone`'s clock; sessions outside the range are ignored.
pub fn weekly_attendance(range: WeekRange, zone: &TimeZone, sessions: &[DatedSession]) -> Vec<WeekAttendance> {
    let mondays: Vec<Date> = range.mondays().collect();
    let mut weeks: Vec<Vec<HeldSession>> = vec![Vec::new(); mondays.len()];
    for s in sessions {
        let monday = monday_of(s.starts_at.to_zoned(zone.clone()).date());
        if let Ok(i) = mondays.binary_search(&monday) {
            weeks[i].push(s.held.clone());
        }
    }
    mondays
        .into_iter()
        .zip(weeks)
        .map(|(week_start, held)| WeekAttendance { week_start, stats: group_stats(&held) })
        .collect()
}

/// One member's total for a questionnaire in one session (`None` when the
/// questionnaire has nothing to add up, e.g. only short-text items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTotal {
    pub questionnaire: QuestionnaireRef,
    pub session: SessionId,
    pub starts_at: Timestamp,
    pub total: Option<i32>,
}

/// A questionnaire's answers in one session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionAverage {
    pub session: SessionId,
    pub starts_at: Timestamp,
    /// Members who answered.
    pub answered: i64,
    /// The mean of their totals, to two decimals; `None` without totals.
    pub mean_total: Option<f64>,
}

/// One questionnaire's averages, session by session in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionnaireSeries {
    pub questionnaire: QuestionnaireRef,
    pub sessions: Vec<SessionAverage>,
}

/// The mean total per session of each questionnaire in `totals`, the
/// questionnaires in order of their first session.
pub fn session_averages(totals: &[SessionTotal]) -> Vec<QuestionnaireSeries> {
    let mut sorted: Vec<&SessionTotal> = totals.iter().collect();
    sorted.sort_by_key(|t| (t.starts_at, t.session));
    let mut series: Vec<QuestionnaireSeries> = Vec::new();
    let mut sums: Vec<Vec<(i64, i64)>> = Vec::new();
    for t in sorted {
        let i = match series.iter().position(|s| s.questionnaire == t.questionnaire) {
            Some(i) => i,
            None => {
                series.push(QuestionnaireSeries { questionnaire: t.questionnaire, sessions: Vec::new() });
                sums.push(Vec::new());
                series.len() - 1
            }
        };
        let points = &mut series[i].sessions;
        if points.last().is_none_or(|p| p.session != t.session) {
            points.push(SessionAverage { session: t.session, starts_at: t.starts_at, answered: 0, mean_total: None });
            sums[i].push((0, 0));
        }
        let point = points.last_mut().expect("pushed above");
        let sum = sums[i].last_mut().expect("pushed beside the point");
        point.answered += 1;
        if let Some(total) = t.total {
            *sum = (sum.0 + i64::from(total), sum.1 + 1);
            point.mean_total = Some((sum.0 as f64 / sum.1 as f64 * 100.0).round() / 100.0);
        }
    }
    series
}

#[cfg(test)]
mod tests;
