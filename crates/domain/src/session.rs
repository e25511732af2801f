//! Sessions, therapist assignments and seats: their states and the moves
//! between them.

use jiff::{SignedDuration, Timestamp};

use crate::input::{Label, free_text};
use crate::validation::Validator;

use crate::spelling::{spelled_enum, with_article};

spelled_enum!(
    /// What kind of time a session is.
    SessionKind {
        /// One therapist, one client.
        OneOnOne = "one_on_one",
        /// A group session, ad hoc or generated from a group's recurrence.
        Group = "group",
        /// A drop-in session started now.
        Instant = "instant",
    }
);

spelled_enum!(Modality { Virtual = "VIRTUAL", InPerson = "IN_PERSON" });

spelled_enum!(
    /// `PROPOSED → SCHEDULED → IN_PROGRESS → COMPLETED`; `CANCELLED` from any
    /// state before completed. Stored in lower case, written in upper case.
    SessionStatus {
        Proposed = "PROPOSED" / "proposed",
        Scheduled = "SCHEDULED" / "scheduled",
        InProgress = "IN_PROGRESS" / "in_progress",
        Completed = "COMPLETED" / "completed",
        Cancelled = "CANCELLED" / "cancelled",
    }
);

spelled_enum!(InvitationStatus { Pending = "PENDING", Accepted = "ACCEPTED", Declined = "DECLINED" });

spelled_enum!(
    /// One client on one session; each seat has its own state.
    SeatStatus {
        Registered = "REGISTERED",
        Confirmed = "CONFIRMED",
        Attended = "ATTENDED",
        NoShow = "NO_SHOW",
        CancelledByClient = "CANCELLED_BY_CLIENT",
        CancelledByProvider = "CANCELLED_BY_PROVIDER",
        LateCancelled = "LATE_CANCELLED",
    }
);

impl SessionStatus {
    /// The status as the clock has it: a scheduled session is in progress
    /// from its start and completed from its end, whether or not a
    /// background job has recorded that yet.
    pub fn at(self, starts_at: Timestamp, ends_at: Timestamp, now: Timestamp) -> SessionStatus {
        match self {
            SessionStatus::Scheduled | SessionStatus::InProgress if now >= ends_at => SessionStatus::Completed,
            SessionStatus::Scheduled if now >= starts_at => SessionStatus::InProgress,
            other => other,
        }
    }

    /// Whether the session still occupies its people's time.
    pub fn is_live(self) -> bool {
        !matches!(self, SessionStatus::Cancelled)
    }

    pub fn cancel(self) -> Result<SessionStatus, IllegalTransition> {
        match self {
            SessionStatus::Proposed | SessionStatus::Scheduled | SessionStatus::InProgress => {
                Ok(SessionStatus::Cancelled)
            }
            from => Err(IllegalTransition { from, action: "be cancelled" }),
        }
    }
}

/// How long a one-on-one session (or a moved session) may be, in minutes.
pub const ONE_ON_ONE_MINUTES: std::ops::RangeInclusive<i64> = 15..=240;

impl SeatStatus {
    /// Whether the seat occupies its client's time.
    pub fn holds_time(self) -> bool {
        !matches!(self, SeatStatus::CancelledByClient | SeatStatus::CancelledByProvider | SeatStatus::LateCancelled)
    }

    /// The statuses that hold a client's time, in declaration order: the
    /// one list storage spells in SQL.
    pub fn holding_time() -> impl Iterator<Item = SeatStatus> {
        SeatStatus::ALL.iter().copied().filter(|s| s.holds_time())
    }
}

/// A move the state machine does not allow; answered with 409.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} session cannot {action}", with_article(&from.words()))]
pub struct IllegalTransition {
    pub from: SessionStatus,
    pub action: &'static str,
}

/// Why a session takes no seats now, in words for the member; `None` when
/// it does (a scheduled session before it starts, a drop-in while it runs,
/// or a running group session within its group's `late_join` allowance
/// after the start).
pub fn closed_to_seats(
    kind: SessionKind,
    status: SessionStatus,
    starts_at: Timestamp,
    zone: &str,
    late_join: SignedDuration,
    now: Timestamp,
) -> Option<String> {
    match status {
        SessionStatus::Scheduled => None,
        SessionStatus::InProgress if kind == SessionKind::Instant => None,
        SessionStatus::InProgress if now < starts_at + late_join => None,
        SessionStatus::InProgress => {
            let started = crate::local_time::local_clock(starts_at, zone);
            Some(match late_join.as_mins() {
                0 => format!("this session started at {started} and takes no new seats once it is running"),
                1 => format!("this session started at {started}; members may join up to a minute after the start"),
                m => format!("this session started at {started}; members may join up to {m} minutes after the start"),
            })
        }
        SessionStatus::Proposed => Some("this session is still a proposal; it takes seats once it is scheduled".into()),
        SessionStatus::Completed => Some("this session has ended".into()),
        SessionStatus::Cancelled => Some("this session was cancelled".into()),
    }
}

/// A client who cancels closer than this to the start has cancelled late.
pub const LATE_CANCEL_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// What a client's own cancellation is recorded as.
pub fn client_cancellation(starts_at: Timestamp, now: Timestamp) -> SeatStatus {
    if starts_at.duration_since(now) < LATE_CANCEL_WINDOW {
        SeatStatus::LateCancelled
    } else {
        SeatStatus::CancelledByClient
    }
}

/// The descriptive part of a session, valid as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDetails {
    pub title: Label,
    pub description: String,
    pub modality: Modality,
    pub virtual_link: Option<String>,
    pub location: Option<String>,
    pub address: Option<String>,
}

/// Unparsed session details as a request carries them.
#[derive(Debug, Clone, Default)]
pub struct DetailsInput<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub modality: Option<&'a str>,
    pub virtual_link: Option<&'a str>,
    pub location: Option<&'a str>,
    pub address: Option<&'a str>,
}

impl<'a> DetailsInput<'a> {
    /// The request's own details, each missing one taken from `defaults`
    /// (a group's). An in-person session does not take the group's video
    /// link: nobody should be sent to a call for a meeting in a room.
    pub fn over(self, defaults: DetailsInput<'a>) -> DetailsInput<'a> {
        let modality = self.modality.or(defaults.modality);
        let in_person = modality.and_then(|m| m.parse::<Modality>().ok()) == Some(Modality::InPerson);
        DetailsInput {
            title: self.title.or(defaults.title),
            description: self.description.or(defaults.description),
            modality,
            virtual_link: self.virtual_link.or(if in_person { None } else { defaults.virtual_link }),
            location: self.location.or(defaults.location),
            address: self.address.or(defaults.address),
        }
    }
}

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5_000;

fn http_url(raw: &str) -> Result<String, &'static str> {
    let url = raw.trim();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or("must be an http(s) URL")?;
    if rest.is_empty() || url.len() > 2_000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an http(s) URL");
    }
    Ok(url.to_owned())
}

impl SessionDetails {
    /// Validates the details, recording problems in `v`. A virtual session
    /// needs a link; an in-person one needs a location when `location_required`.
    pub fn parse(
        v: &mut Validator,
        input: &DetailsInput<'_>,
        default_title: &str,
        location_required: bool,
    ) -> Option<SessionDetails> {
        let title = v.check("title", Label::parse(input.title.unwrap_or(default_title), TITLE_MAX));
        let description = v.check("description", free_text(input.description.unwrap_or_default(), DESCRIPTION_MAX));
        let modality = v.check("modality", input.modality.unwrap_or("IN_PERSON").parse::<Modality>());
        let virtual_link = v.check_opt("virtual_link", input.virtual_link.map(http_url));
        let location = v.check_opt("location", input.location.map(|l| Label::parse(l, 200).map(Label::into_string)));
        let address = v.check_opt("address", input.address.map(|a| Label::parse(a, 500).map(Label::into_string)));
        match (modality, &virtual_link, &location) {
            (Some(Modality::Virtual), Some(None), _) => v.reject("virtual_link", "is required for a VIRTUAL session"),
            (Some(Modality::InPerson), _, Some(None)) if location_required => {
                v.reject("location", "is required for an IN_PERSON session")
            }
            _ => {}
        }
        Some(SessionDetails {
            title: title?,
            description: description?,
            modality: modality?,
            virtual_link: virtual_link?,
            location: location?,
            address: address?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    #[test]
    fn the_clock_moves_a_scheduled_session_along() {
        let (start, end) = (t(60), t(120));
        assert_eq!(SessionStatus::Scheduled.at(start, end, t(59)), SessionStatus::Scheduled);
        assert_eq!(SessionStatus::Scheduled.at(start, end, t(60)), SessionStatus::InProgress);
        assert_eq!(SessionStatus::Scheduled.at(start, end, t(120)), SessionStatus::Completed);
        assert_eq!(
            SessionStatus::Proposed.at(start, end, t(90)),
            SessionStatus::Proposed,
            "only scheduled sessions start"
        );
        assert_eq!(SessionStatus::Cancelled.at(start, end, t(90)), SessionStatus::Cancelled);
    }

    #[test]
    fn only_unfinished_sessions_can_be_cancelled() {
        for from in [SessionStatus::Proposed, SessionStatus::Scheduled, SessionStatus::InProgress] {
            assert_eq!(from.cancel(), Ok(SessionStatus::Cancelled));
        }
        for from in [SessionStatus::Completed, SessionStatus::Cancelled] {
            assert!(from.cancel().is_err());
        }
    }

    #[test]
    fn cancelled_seats_free_their_clients_time() {
        let holding: Vec<_> = SeatStatus::holding_time().collect();
        assert_eq!(holding, [SeatStatus::Registered, SeatStatus::Confirmed, SeatStatus::Attended, SeatStatus::NoShow]);
    }

    #[test]
    fn an_in_person_session_does_not_inherit_the_groups_video_link() {
        let group = DetailsInput {
            modality: Some("VIRTUAL"),
            virtual_link: Some("https://meet.example/circle"),
            location: Some("Room 3"),
            ..Default::default()
        };
        let in_person = DetailsInput { modality: Some("in_person"), ..Default::default() }.over(group.clone());
        assert_eq!(in_person.virtual_link, None);
        assert_eq!(in_person.location, Some("Room 3"));
        let virtual_one = DetailsInput::default().over(group);
        assert_eq!(virtual_one.virtual_link, Some("https://meet.example/circle"));
    }

    #[test]
    fn a_running_group_session_says_when_it_started() {
        let start: Timestamp = "2026-12-10T23:00:00Z".parse().unwrap();
        let zone = "America/New_York";
        let closed = |kind, status, late: i64, now: Timestamp| {
            closed_to_seats(kind, status, start, zone, SignedDuration::from_mins(late), now)
        };
        let later = |mins: i64| start + SignedDuration::from_mins(mins);
        assert_eq!(
            closed(SessionKind::Group, SessionStatus::InProgress, 0, later(1)).unwrap(),
            "this session started at 18:00 and takes no new seats once it is running"
        );
        assert_eq!(closed(SessionKind::Instant, SessionStatus::InProgress, 0, later(30)), None);
        assert_eq!(closed(SessionKind::Group, SessionStatus::Scheduled, 0, later(-5)), None);
        assert_eq!(
            closed(SessionKind::Group, SessionStatus::Completed, 0, later(200)).unwrap(),
            "this session has ended"
        );
    }

    #[test]
    fn members_may_join_a_running_session_within_the_late_join_allowance() {
        let start: Timestamp = "2026-12-10T23:00:00Z".parse().unwrap();
        let zone = "America/New_York";
        let at = |mins: i64| start + SignedDuration::from_mins(mins);
        let late = SignedDuration::from_mins(10);
        let group = |now| closed_to_seats(SessionKind::Group, SessionStatus::InProgress, start, zone, late, now);
        assert_eq!(group(at(0)), None);
        assert_eq!(group(at(9)), None);
        assert_eq!(
            group(at(10)).unwrap(),
            "this session started at 18:00; members may join up to 10 minutes after the start"
        );
    }

    #[test]
    fn a_client_cancelling_within_a_day_cancels_late() {
        assert_eq!(client_cancellation(t(60 * 24), t(0)), SeatStatus::CancelledByClient);
        assert_eq!(client_cancellation(t(60 * 24 - 1), t(0)), SeatStatus::LateCancelled);
    }

    #[test]
    fn spellings_round_trip() {
        for status in SeatStatus::ALL {
            assert_eq!(status.as_str().parse::<SeatStatus>().unwrap(), *status);
        }
        assert_eq!(serde_json::to_string(&Modality::InPerson).unwrap(), "\"IN_PERSON\"");
        assert!("in person".parse::<Modality>().unwrap_err().contains("IN_PERSON"));
    }

    #[test]
    fn statuses_are_upper_case_on_the_wire_and_parse_in_any_case() {
        assert_eq!(serde_json::to_string(&SessionStatus::InProgress).unwrap(), "\"IN_PROGRESS\"");
        assert_eq!(SessionStatus::InProgress.as_str(), "in_progress", "the database keeps its spelling");
        for text in ["in_progress", "IN_PROGRESS", "In_Progress"] {
            assert_eq!(text.parse::<SessionStatus>().unwrap(), SessionStatus::InProgress);
        }
        assert_eq!("pending".parse::<InvitationStatus>().unwrap(), InvitationStatus::Pending);
        assert_eq!("in_person".parse::<Modality>().unwrap(), Modality::InPerson);
    }

    #[test]
    fn a_refused_move_reads_as_a_sentence() {
        let refused = SessionStatus::Completed.cancel().unwrap_err();
        assert_eq!(refused.to_string(), "a completed session cannot be cancelled");
        let refused = IllegalTransition { from: SessionStatus::InProgress, action: "move" };
        assert_eq!(refused.to_string(), "an in progress session cannot move");
    }

    #[test]
    fn notification_kinds_are_distinct_snake_case_words() {
        let spelled: Vec<&str> = NotificationKind::ALL.iter().map(|k| k.as_str()).collect();
        for (i, text) in spelled.iter().enumerate() {
            assert!(text.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{text}");
            assert!(!spelled[..i].contains(text), "{text} twice");
            assert_eq!(text.parse::<NotificationKind>().unwrap(), NotificationKind::ALL[i]);
        }
    }

    #[test]
    fn virtual_sessions_need_a_link_and_in_person_ones_a_location() {
        let mut v = Validator::default();
        let input = DetailsInput { modality: Some("VIRTUAL"), ..Default::default() };
        SessionDetails::parse(&mut v, &input, "Session", true);
        assert_eq!(v.done(|| Some(())).unwrap_err().0[0].field, "virtual_link");

        let mut v = Validator::default();
        let input = DetailsInput { modality: Some("IN_PERSON"), ..Default::default() };
        SessionDetails::parse(&mut v, &input, "Session", true);
        assert_eq!(v.done(|| Some(())).unwrap_err().0[0].field, "location");

        let mut v = Validator::default();
        let input = DetailsInput { virtual_link: Some("ftp://x"), modality: Some("VIRTUAL"), ..Default::default() };
        SessionDetails::parse(&mut v, &input, "Session", true);
        assert_eq!(v.done(|| Some(())).unwrap_err().0[0].field, "virtual_link");
    }
}

spelled_enum!(
    /// What an inbox notification is about.
    NotificationKind {
        /// A therapist is invited to a proposed session.
        Invitation = "invitation",
        InvitationAccepted = "invitation_accepted",
        InvitationDeclined = "invitation_declined",
        /// A therapist's invitation was taken back before the session.
        InvitationWithdrawn = "invitation_withdrawn",
        /// Every therapist accepted: the session is scheduled and open for seats.
        SessionScheduled = "session_scheduled",
        /// A one-on-one session was booked with the person.
        SessionBooked = "session_booked",
        SessionCancelled = "session_cancelled",
        Reminder = "reminder",
        MemberJoined = "member_joined",
        /// The member who took a seat: it is theirs.
        SeatConfirmed = "seat_confirmed",
        /// Staff gave up a member's seat (`CANCELLED_BY_PROVIDER`); the body gives the reason.
        SeatCancelled = "seat_cancelled",
        /// A facilitator withdrew from a session they had accepted.
        FacilitatorWithdrew = "facilitator_withdrew",
        /// A member's proposal waits for a moderator.
        ProposalPending = "proposal_pending",
        ProposalApproved = "proposal_approved",
        ProposalRejected = "proposal_rejected",
        InstantStarted = "instant_started",
        SessionRescheduled = "session_rescheduled",
        /// A waitlisted or screened client became an active member.
        MembershipActivated = "membership_activated",
        /// A time-off request waits for an admin's decision (or was made on the therapist's behalf).
        TimeOffRequested = "time_off_requested",
        /// The therapist's time off was approved.
        TimeOffApproved = "time_off_approved",
        /// The therapist's time off was denied; the body gives the reason.
        TimeOffDenied = "time_off_denied",
        /// A pending time-off request was withdrawn.
        TimeOffCancelled = "time_off_cancelled",
        /// A therapist was named to cover a colleague's time off.
        CoverageAssigned = "coverage_assigned",
        /// Approved time off still has sessions without cover: moving them to the named therapist clashed.
        CoverageNeeded = "coverage_needed",
        /// A client's session falls in their therapist's approved time off and has not been moved.
        TherapistAway = "therapist_away",
        /// A session moved from a therapist on time off to a coverage therapist.
        SessionReassigned = "session_reassigned",
        /// Someone else replaced a therapist's working hours.
        AvailabilityChanged = "availability_changed",
        /// A freed seat or slot is held for a waiting client until the offer expires.
        WaitlistOffer = "waitlist_offer",
        /// A waiting client's offer closed without a booking: taken by someone else, withdrawn or lapsed.
        WaitlistOfferClosed = "waitlist_offer_closed",
        /// A webhook endpoint kept failing for days and was switched off.
        WebhookDisabled = "webhook_disabled",
        /// A member's check-in answer needs a clinician now (PHQ-9 item 9 above 0):
        /// to the session's facilitators and the organisation's admins only.
        CheckInAlert = "check_in_alert",
    }
);
