//! Reminders before a session: each organisation chooses how long before
//! (its offsets), and each offset reminds a session's people once.

use jiff::{SignedDuration, Timestamp};

/// The shortest offset: a reminder closer to the start helps nobody.
pub const MIN_OFFSET_MINUTES: i64 = 5;
/// The longest offset: fourteen days.
pub const MAX_OFFSET_MINUTES: i64 = 14 * 24 * 60;
/// How many offsets an organisation may choose.
pub const MAX_OFFSETS: usize = 4;
/// A day before and an hour before, unless the organisation chose others.
pub const DEFAULT_OFFSETS: &[i64] = &[24 * 60, 60];

/// An organisation's reminder offsets, in minutes before the start: one to
/// four, each from five minutes to fourteen days, none twice; longest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderOffsets(Vec<i64>);

impl Default for ReminderOffsets {
    fn default() -> Self {
        Self(DEFAULT_OFFSETS.to_vec())
    }
}

impl ReminderOffsets {
    /// Checks a chosen list, saying what is wrong with it.
    pub fn parse(minutes: &[i64]) -> Result<Self, String> {
        if minutes.is_empty() || minutes.len() > MAX_OFFSETS {
            return Err(format!("must list from 1 to {MAX_OFFSETS} offsets"));
        }
        if let Some(bad) = minutes.iter().find(|m| !(MIN_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(m)) {
            return Err(format!(
                "{bad} is outside {MIN_OFFSET_MINUTES} to {MAX_OFFSET_MINUTES} minutes (5 minutes to 14 days)"
            ));
        }
        let mut sorted = minutes.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(twice) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("{} is listed twice", twice[0]));
        }
        Ok(Self(sorted))
    }

    /// Longest first.
    pub fn minutes(&self) -> &[i64] {
        &self.0
    }

    /// How the database keeps them: `1440,60`.
    pub fn stored(&self) -> String {
        self.0.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }

    /// What the database kept; none (or text no longer valid) is the default.
    pub fn from_stored(text: Option<&str>) -> Self {
        text.and_then(|t| t.split(',').map(|m| m.trim().parse().ok()).collect::<Option<Vec<i64>>>())
            .and_then(|m| Self::parse(&m).ok())
            .unwrap_or_default()
    }

    /// How far ahead of a session its first reminder may come.
    pub fn longest(&self) -> SignedDuration {
        SignedDuration::from_mins(self.0[0])
    }

    /// The offsets whose moment has come for a session starting at
    /// `starts_at`, longest first; none once it has started.
    pub fn due(&self, starts_at: Timestamp, now: Timestamp) -> Vec<i64> {
        if now >= starts_at {
            return Vec::new();
        }
        self.0.iter().copied().filter(|m| starts_at - SignedDuration::from_mins(*m) <= now).collect()
    }
}

/// What to do for a session whose `due` offsets have come, given those
/// already dealt with: the offsets to record now, and whether to remind.
/// People are reminded once for the nearest offset that has come; longer
/// ones that passed unsent (a session booked late) are recorded unsent, so
/// nobody gets a "tomorrow" reminder an hour before.
pub fn to_record(due: &[i64], recorded: &[i64]) -> (Vec<i64>, bool) {
    let fresh: Vec<i64> = due.iter().copied().filter(|m| !recorded.contains(m)).collect();
    let remind = due.last().is_some_and(|nearest| fresh.contains(nearest));
    (fresh, remind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn offsets_are_one_to_four_within_bounds_and_distinct() {
        assert_eq!(ReminderOffsets::parse(&[60, 1440]).unwrap().minutes(), &[1440, 60]);
        assert!(ReminderOffsets::parse(&[]).is_err());
        assert!(ReminderOffsets::parse(&[5, 10, 15, 20, 25]).is_err());
        assert!(ReminderOffsets::parse(&[4]).unwrap_err().contains("outside"));
        assert!(ReminderOffsets::parse(&[MAX_OFFSET_MINUTES + 1]).is_err());
        assert!(ReminderOffsets::parse(&[MAX_OFFSET_MINUTES, 5]).is_ok());
        assert!(ReminderOffsets::parse(&[60, 60]).unwrap_err().contains("twice"));
    }

    #[test]
    fn stored_text_round_trips_and_bad_text_means_the_default() {
        let offsets = ReminderOffsets::parse(&[30, 2880]).unwrap();
        assert_eq!(ReminderOffsets::from_stored(Some(&offsets.stored())), offsets);
        assert_eq!(ReminderOffsets::from_stored(None), ReminderOffsets::default());
        assert_eq!(ReminderOffsets::from_stored(Some("soon")), ReminderOffsets::default());
    }

    #[test]
    fn each_offset_comes_once_and_the_nearest_one_reminds() {
        let offsets = ReminderOffsets::default();
        let start = at(10_000);
        assert!(offsets.due(start, at(10_000 - 1441)).is_empty());
        assert_eq!(offsets.due(start, at(10_000 - 1440)), [1440]);
        assert_eq!(to_record(&[1440], &[]), (vec![1440], true));
        assert_eq!(to_record(&[1440], &[1440]), (vec![], false));
        assert_eq!(offsets.due(start, at(10_000 - 30)), [1440, 60]);
        assert_eq!(to_record(&[1440, 60], &[1440]), (vec![60], true));
        assert!(offsets.due(start, start).is_empty(), "nothing once it started");
        // Booked half an hour ahead: one reminder, the day-before one passed over.
        assert_eq!(to_record(&[1440, 60], &[]), (vec![1440, 60], true));
    }
}
