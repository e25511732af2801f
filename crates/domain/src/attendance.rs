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
    /// Seats whose attendance was recorded (attended, no-show or late
    /// cancellation): the base of both rates.
    pub marked: i64,
    /// Seats of held sessions whose attendance nobody has marked yet.
    pub unmarked: i64,
    /// Held sessions the member held no seat in: never took one, or gave it
    /// up (or the clinic cancelled it) in time. With `attended`, `no_shows`,
    /// `late_cancellations` and `unmarked` it adds up to `sessions_offered`.
    pub without_seat: i64,
    /// attended / marked, 0 when nothing was marked (see `marked`).
    pub attendance_rate: f64,
    /// no_shows / marked, 0 when nothing was marked (see `marked`).
    pub no_show_rate: f64,
    /// Consecutive attended sessions, counting back from the latest.
    pub current_streak: i64,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 / whole as f64 * 1000.0).round() / 1000.0 }
}

/// Whether a seat's attendance was recorded.
fn is_marked(status: SeatStatus) -> bool {
    matches!(status, SeatStatus::Attended | SeatStatus::NoShow | SeatStatus::LateCancelled)
}

/// Whether a seat of a held session still waits for its mark.
fn is_unmarked(status: SeatStatus) -> bool {
    matches!(status, SeatStatus::Registered | SeatStatus::Confirmed)
}

/// Whether a held session found the member without a seat: none taken, or
/// one cancelled before the late-cancellation window.
fn is_without_seat(seat: Option<SeatStatus>) -> bool {
    matches!(seat, None | Some(SeatStatus::CancelledByClient | SeatStatus::CancelledByProvider))
}

/// Statistics over `offered`, oldest first.
pub fn member_stats(offered: &[Offered]) -> MemberStats {
    let seats: Vec<SeatStatus> = offered.iter().filter_map(|o| o.seat).collect();
    let count = |status: SeatStatus| seats.iter().filter(|&&s| s == status).count() as i64;
    let attended = count(SeatStatus::Attended);
    let no_shows = count(SeatStatus::NoShow);
    let marked = seats.iter().filter(|&&s| is_marked(s)).count() as i64;
    let current_streak = offered.iter().rev().take_while(|o| o.seat == Some(SeatStatus::Attended)).count() as i64;
    MemberStats {
        sessions_offered: offered.len() as i64,
        attended,
        no_shows,
        late_cancellations: count(SeatStatus::LateCancelled),
        marked,
        unmarked: seats.iter().filter(|&&s| is_unmarked(s)).count() as i64,
        without_seat: offered.iter().filter(|o| is_without_seat(o.seat)).count() as i64,
        attendance_rate: ratio(attended, marked),
        no_show_rate: ratio(no_shows, marked),
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
    /// Seats of held sessions whose attendance was recorded: the base of
    /// both rates.
    pub marked: i64,
    /// Seats of held sessions whose attendance nobody has marked yet.
    pub unmarked: i64,
    /// Attended seats over marked seats.
    pub attendance_rate: f64,
    /// No-show seats over marked seats.
    pub no_show_rate: f64,
}

pub fn group_stats(held: &[HeldSession]) -> GroupStats {
    let seats: Vec<SeatStatus> = held.iter().flat_map(|s| s.seats.iter().copied()).collect();
    let attended = seats.iter().filter(|s| **s == SeatStatus::Attended).count() as i64;
    let no_shows = seats.iter().filter(|s| **s == SeatStatus::NoShow).count() as i64;
    let marked = seats.iter().filter(|&&s| is_marked(s)).count() as i64;
    let sessions = held.len() as i64;
    GroupStats {
        sessions_held: sessions,
        average_attendance: if sessions == 0 {
            0.0
        } else {
            ((attended as f64 / sessions as f64) * 100.0).round() / 100.0
        },
        marked,
        unmarked: seats.iter().filter(|&&s| is_unmarked(s)).count() as i64,
        attendance_rate: ratio(attended, marked),
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
        let history = offered(&[Some(Attended), Some(NoShow), None, Some(Attended), Some(Attended), Some(Registered)]);
        let stats = member_stats(&history);
        assert_eq!(stats.sessions_offered, 6);
        assert_eq!((stats.attended, stats.no_shows, stats.marked, stats.unmarked), (3, 1, 4, 1));
        assert_eq!(stats.attendance_rate, 0.75, "3 of 4 marked seats");
        assert_eq!(stats.no_show_rate, 0.25, "1 of the same 4");
        assert_eq!(stats.current_streak, 0, "the latest session is not marked as attended");
    }

    #[test]
    fn sessions_without_a_seat_are_counted_so_the_rows_add_up() {
        let history = offered(&[
            None,
            Some(CancelledByClient),
            Some(CancelledByProvider),
            Some(Attended),
            Some(NoShow),
            Some(LateCancelled),
            Some(Confirmed),
        ]);
        let stats = member_stats(&history);
        assert_eq!(stats.without_seat, 3, "never taken, given up in time, cancelled by the clinic");
        assert_eq!(
            stats.attended + stats.no_shows + stats.late_cancellations + stats.unmarked + stats.without_seat,
            stats.sessions_offered
        );
    }

    #[test]
    fn one_session_offered_without_a_seat_marks_nothing() {
        let stats = member_stats(&offered(&[None]));
        assert_eq!((stats.sessions_offered, stats.without_seat, stats.marked), (1, 1, 0));
        assert_eq!((stats.attended, stats.no_shows, stats.late_cancellations, stats.unmarked), (0, 0, 0, 0));
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
        assert_eq!(
            (stats.sessions_offered, stats.attendance_rate, stats.no_show_rate, stats.current_streak),
            (0, 0.0, 0.0, 0)
        );
    }

    #[test]
    fn group_rates_share_one_base_and_unmarked_seats_are_counted_apart() {
        let held = vec![
            HeldSession { seats: vec![Attended, Attended, NoShow, Registered] },
            HeldSession { seats: vec![Attended, LateCancelled, CancelledByClient] },
        ];
        let stats = group_stats(&held);
        assert_eq!(stats.sessions_held, 2);
        assert_eq!(stats.average_attendance, 1.5);
        assert_eq!((stats.marked, stats.unmarked), (5, 1));
        assert_eq!(stats.attendance_rate, 0.6, "3 of 5 marked seats");
        assert_eq!(stats.no_show_rate, 0.2, "1 of the same 5");
        assert!(stats.attendance_rate + stats.no_show_rate <= 1.0);
    }
}
