//! Delivery: which messages a notification owes outside the inbox, when a
//! failed attempt is tried again, and which changes to one session fold into
//! one message.
//!
//! The inbox is always written; these rules decide what else goes out.

use jiff::{SignedDuration, Timestamp};

use crate::account_mail::AccountMailKind;
use crate::session::NotificationKind;
use crate::spelling::spelled_enum;

spelled_enum!(
    /// A way of reaching a person outside the inbox.
    Channel {
        Email = "email",
        /// A short text through the SMS gateway, to the number the person gave.
        Sms = "sms",
    }
);

spelled_enum!(
    /// Where one delivery stands. `sent`, `failed` and `suppressed` are final.
    DeliveryState {
        /// Waiting for its next attempt.
        Pending = "pending",
        /// Claimed by a worker, which holds it until its lease runs out.
        Sending = "sending",
        Sent = "sent",
        /// Every attempt failed; an admin may retry it.
        Failed = "failed",
        /// Not sent on purpose: the person opted out, or a later message
        /// about the same session replaced it.
        Suppressed = "suppressed",
    }
);

impl DeliveryState {
    /// States a worker may still act on.
    pub const OPEN: &'static [DeliveryState] = &[DeliveryState::Pending, DeliveryState::Sending];

    pub fn is_final(self) -> bool {
        !Self::OPEN.contains(&self)
    }
}

/// What a message an organisation's admins see in its outbox is about: a
/// notification to one of its people, or e-mail owed to an account on the
/// organisation's behalf (its invitation to join).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Notification(NotificationKind),
    Account(AccountMailKind),
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Notification(kind) => kind.as_str(),
            MessageKind::Account(kind) => kind.as_str(),
        }
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MessageKind {
    type Err = String;
    /// The two sets of kinds are spelled apart, so the text alone says which.
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse()
            .map(MessageKind::Notification)
            .or_else(|_| s.parse().map(MessageKind::Account))
            .map_err(|_| format!("{s:?} is no kind of message"))
    }
}

/// The channels the outbox fills for every notification.
pub const OUTBOX_CHANNELS: &[Channel] = &[Channel::Email, Channel::Sms];

/// Whether `kind` goes out on `channel` for a person who made no choice.
/// Every kind goes out by e-mail: a person who is not logged in should still
/// learn that a session moved, was cancelled or is tomorrow. Texts go only
/// to people who ask for them (they need a number, and may cost them).
pub fn enabled_by_default(_kind: NotificationKind, channel: Channel) -> bool {
    match channel {
        Channel::Email => true,
        Channel::Sms => false,
    }
}

/// Messages a person cannot turn off: those that change where the person
/// has to be, and a check-in's safety alert, which a clinician must not miss.
/// Everything else may be unsubscribed from.
pub fn is_essential(kind: NotificationKind) -> bool {
    changes_calendar(kind) || kind == NotificationKind::CheckInAlert
}

/// Whether a person cannot turn `kind` off on `channel`: an essential kind
/// always goes out on the channels that carry everything by default
/// (e-mail); a text is extra, asked for and dropped at will.
pub fn always_sent(kind: NotificationKind, channel: Channel) -> bool {
    is_essential(kind) && enabled_by_default(kind, channel)
}

/// Kinds that change a session on the recipient's calendar, so their e-mail
/// carries an invitation or a cancellation (iMIP), and which fold together
/// within the coalescing window.
pub fn changes_calendar(kind: NotificationKind) -> bool {
    use NotificationKind::*;
    matches!(
        kind,
        Invitation | SessionScheduled | SessionBooked | SessionCancelled | SessionRescheduled | SessionReassigned
    )
}

spelled_enum!(
    /// The iTIP method of a calendar message (RFC 5546).
    CalendarMethod {
        Request = "REQUEST",
        Cancel = "CANCEL",
    }
);

/// What a calendar e-mail asks of the recipient's calendar: take the
/// session in (or update it), or drop it — because it is cancelled or the
/// recipient is no longer on it (they left, declined, or were replaced).
pub fn calendar_method(
    kind: NotificationKind,
    session_cancelled: bool,
    recipient_on_session: bool,
) -> Option<CalendarMethod> {
    if !changes_calendar(kind) {
        return None;
    }
    Some(if session_cancelled || !recipient_on_session { CalendarMethod::Cancel } else { CalendarMethod::Request })
}

/// When failed attempts are tried again, and how many are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The pause after the first failure; each later one doubles it.
    pub base: SignedDuration,
    /// The longest pause.
    pub cap: SignedDuration,
    /// Attempts in all, the first included; then the delivery has failed.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// About a day of trying: 1, 2, 4, … minutes, at most two hours apart.
    fn default() -> Self {
        Self { base: SignedDuration::from_mins(1), cap: SignedDuration::from_hours(2), max_attempts: 16 }
    }
}

/// What to do after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(Timestamp),
    GiveUp,
}

impl RetryPolicy {
    /// After the `attempts`-th attempt failed at `now`: exponential backoff
    /// with jitter, so messages that failed together do not all come back at
    /// once. `jitter` is uniform in `[0, 1)` and takes up to half the pause
    /// off.
    pub fn after_failure(&self, attempts: u32, now: Timestamp, jitter: f64) -> AfterFailure {
        if attempts >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let full = self.base.checked_mul(1 << doublings).unwrap_or(self.cap).min(self.cap);
        let pause = full.mul_f64(1.0 - jitter.clamp(0.0, 1.0) / 2.0);
        AfterFailure::RetryAt(now + pause)
    }
}

/// Why a claimed message is not sent after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coalesced {
    /// A later message about the same session to the same person is waiting:
    /// it tells the current state, this one would tell an old one.
    Superseded,
    /// A cancellation of a session the person was never told about, because
    /// the messages about it were folded away: nothing to cancel.
    NothingToCancel,
}

impl Coalesced {
    /// How a suppressed delivery records the reason.
    pub fn reason(self) -> &'static str {
        match self {
            Coalesced::Superseded => "superseded by a later message about the same session",
            Coalesced::NothingToCancel => "cancels a session the person was never sent",
        }
    }
}

/// What the outbox knows about a claimed calendar message's neighbours: the
/// other messages about the same session to the same person on the same
/// channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Neighbours {
    /// A later one waits to be sent.
    pub later_waiting: bool,
    /// An earlier one was sent (or may have been: it was being sent).
    pub earlier_sent: bool,
    /// An earlier one was folded away.
    pub earlier_coalesced: bool,
}

/// Folds changes to one session within the coalescing window into one
/// message: only the latest goes out, and a cancellation of a session that
/// was never announced goes nowhere. `None` means send.
pub fn coalesce(method: Option<CalendarMethod>, around: Neighbours) -> Option<Coalesced> {
    let method = method?;
    if around.later_waiting {
        return Some(Coalesced::Superseded);
    }
    if method == CalendarMethod::Cancel && around.earlier_coalesced && !around.earlier_sent {
        return Some(Coalesced::NothingToCancel);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap_then_give_up() {
        let policy =
            RetryPolicy { base: SignedDuration::from_secs(10), cap: SignedDuration::from_secs(60), max_attempts: 5 };
        let now = at("2027-01-01T00:00:00Z");
        let pause = |attempts| match policy.after_failure(attempts, now, 0.0) {
            AfterFailure::RetryAt(t) => t.duration_since(now).as_secs(),
            AfterFailure::GiveUp => -1,
        };
        assert_eq!([pause(1), pause(2), pause(3), pause(4), pause(5)], [10, 20, 40, 60, -1]);
    }

    #[test]
    fn jitter_takes_at_most_half_the_pause_off() {
        let policy = RetryPolicy::default();
        let now = at("2027-01-01T00:00:00Z");
        let AfterFailure::RetryAt(early) = policy.after_failure(3, now, 0.999_999) else { panic!() };
        let AfterFailure::RetryAt(late) = policy.after_failure(3, now, 0.0) else { panic!() };
        assert_eq!(late.duration_since(now), SignedDuration::from_mins(4));
        assert!(early.duration_since(now) > SignedDuration::from_mins(2));
    }

    #[test]
    fn a_cancelled_session_or_a_recipient_taken_off_it_is_a_cancel() {
        use NotificationKind::*;
        assert_eq!(calendar_method(SessionRescheduled, false, true), Some(CalendarMethod::Request));
        assert_eq!(calendar_method(SessionCancelled, true, true), Some(CalendarMethod::Cancel));
        assert_eq!(calendar_method(SessionReassigned, false, false), Some(CalendarMethod::Cancel));
        assert_eq!(calendar_method(Reminder, false, true), None);
        assert_eq!(calendar_method(TimeOffApproved, false, false), None);
    }

    #[test]
    fn only_the_latest_change_goes_out_and_an_unannounced_session_is_not_cancelled() {
        let request = Some(CalendarMethod::Request);
        let cancel = Some(CalendarMethod::Cancel);
        let waiting = Neighbours { later_waiting: true, ..Default::default() };
        assert_eq!(coalesce(request, waiting), Some(Coalesced::Superseded));
        let folded = Neighbours { earlier_coalesced: true, ..Default::default() };
        assert_eq!(coalesce(cancel, folded), Some(Coalesced::NothingToCancel));
        let told = Neighbours { earlier_coalesced: true, earlier_sent: true, ..Default::default() };
        assert_eq!(coalesce(cancel, told), None);
        assert_eq!(coalesce(cancel, Neighbours::default()), None, "a cancellation with no history still goes out");
        assert_eq!(coalesce(None, waiting), None, "reminders are never folded");
    }

    #[test]
    fn people_cannot_unsubscribe_from_changes_to_where_they_must_be() {
        assert!(is_essential(NotificationKind::SessionCancelled));
        assert!(!is_essential(NotificationKind::Reminder));
        assert!(!is_essential(NotificationKind::MemberJoined));
    }

    #[test]
    fn notification_and_account_mail_kinds_are_spelled_apart() {
        for kind in NotificationKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(MessageKind::Notification(*kind)));
        }
        for kind in AccountMailKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(MessageKind::Account(*kind)));
        }
    }

    #[test]
    fn texts_are_asked_for_and_may_be_dropped_even_for_essential_messages() {
        assert!(!enabled_by_default(NotificationKind::SessionCancelled, Channel::Sms));
        assert!(always_sent(NotificationKind::SessionCancelled, Channel::Email));
        assert!(!always_sent(NotificationKind::SessionCancelled, Channel::Sms));
        assert!(!always_sent(NotificationKind::Reminder, Channel::Email));
    }

    #[test]
    fn a_safety_alert_cannot_be_turned_off_and_carries_no_calendar() {
        assert!(is_essential(NotificationKind::CheckInAlert));
        assert_eq!(calendar_method(NotificationKind::CheckInAlert, false, true), None);
    }
}
