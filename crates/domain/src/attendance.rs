//! Attendance statistics for members and groups (seed 002), computed from
//! the seats of held sessions — never from counters that could drift.

use serde::Serialize;

use crate::session::SeatStatus;

/// One held session as a member saw it: their seat's status, or `None` if
/// they had no seat (the session was still offered to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    pub seat: Option<SeatStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberStats {
    /// Held sessions of the group while the member belonged to it.
    pub sessions_offered: i64,
    pub attended: i64,
    pub no_shows: i64,
    pub late_cancellations: i64,
    /// attended / sessions_offered, 0 when nothing was offered.
    pub attendance_rate: f64,
    /// Consecutive attended sessions, counting back from the latest.
    pub current_streak: i64,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 / whole as f64 * 1000.0).round() / 1000.0 }
}

/// Statistics over `offered`, oldest first.
pub fn member_stats(offered: &[Offered]) -> MemberStats {
    let count = |status: SeatStatus| offered.iter().filter(|o| o.seat == Some(status)).count() as i64;
    let attended = count(SeatStatus::Attended);
    let current_streak = offered.iter().rev().take_while(|o| o.seat == Some(SeatStatus::Attended)).count() as i64;
    MemberStats {
        sessions_offered: offered.len() as i64,
        attended,
        no_shows: count(SeatStatus::NoShow),
        late_cancellations: count(SeatStatus::LateCancelled),
        attendance_rate: ratio(attended, offered.len() as i64),
        current_streak,
    }
}

/// One held session of a group: the status of each of its seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSession {
    pub seats: Vec<SeatStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    pub sessions_held: i64,
    /// Mean number of members who attended a held session.
    pub average_attendance: f64,
    /// Attended seats over all seats of held sessions.
    pub attendance_rate: f64,
    /// No-show seats over seats whose attendance was marked.
    pub no_show_rate: f64,
}

pub fn group_stats(held: &[HeldSession]) -> GroupStats {
    let seats: Vec<SeatStatus> = held.iter().flat_map(|s| s.seats.iter().copied()).collect();
    let attended = seats.iter().filter(|s| **s == SeatStatus::Attended).count() as i64;
    let no_shows = seats.iter().filter(|s| **s == SeatStatus::NoShow).count() as i64;
    let marked = seats
        .iter()
        .filter(|s| matches!(s, SeatStatus::Attended | SeatStatus::NoShow | SeatStatus::LateCancelled))
        .count() as i64;
    let sessions = held.len() as i64;
    GroupStats {
        sessions_held: sessions,
        average_attendance: if sessions == 0 {
            0.0
        } else {
            ((attended as f64 / sessions as f64) * 100.0).round() / 100.0
        },
        attendance_rate: ratio(attended, seats.len() as i64),
        no_show_rate: ratio(no_shows, marked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SeatStatus::*;

    fn offered(seats: &[Option<SeatStatus>]) -> Vec<Offered> {
        seats.iter().map(|&seat| Offered { seat }).collect()
    }

    #[test]
    fn member_rates_and_streaks() {
        let history = offered(&[Some(Attended), Some(NoShow), None, Some(Attended), Some(Attended)]);
        let stats = member_stats(&history);
        assert_eq!(stats.sessions_offered, 5);
        assert_eq!(stats.attended, 3);
        assert_eq!(stats.no_shows, 1);
        assert_eq!(stats.attendance_rate, 0.6);
        assert_eq!(stats.current_streak, 2);
    }

    #[test]
    fn a_missed_latest_session_breaks_the_streak() {
        let stats = member_stats(&offered(&[Some(Attended), Some(Attended), Some(LateCancelled)]));
        assert_eq!(stats.current_streak, 0);
        assert_eq!(stats.late_cancellations, 1);
    }

    #[test]
    fn nothing_offered_is_all_zeros() {
        let stats = member_stats(&[]);
        assert_eq!((stats.sessions_offered, stats.attendance_rate, stats.current_streak), (0, 0.0, 0));
    }

    #[test]
    fn group_rates() {
        let held = vec![
            HeldSession { seats: vec![Attended, Attended, NoShow, Registered] },
            HeldSession { seats: vec![Attended, LateCancelled] },
        ];
        let stats = group_stats(&held);
        assert_eq!(stats.sessions_held, 2);
        assert_eq!(stats.average_attendance, 1.5);
        assert_eq!(stats.attendance_rate, 0.5, "3 of 6 seats");
        assert_eq!(stats.no_show_rate, 0.2, "1 of 5 marked seats");
    }
}
