//! The outbox as the store hands it out: deliveries for admins, claimed
//! messages for the worker, and each person's choices.

use circles_domain::delivery::{Channel, DeliveryState, MessageKind};
use circles_domain::ids::{DeliveryId, OrgId, PersonId, SessionId};
use circles_domain::session::{InvitationStatus, Modality, NotificationKind, SessionStatus};
use jiff::Timestamp;

/// One outgoing message, as an admin sees it: a delivery a notification
/// owes, or the e-mail of one of the organisation's invitations to join.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The message's id in whichever outbox holds it (for an invitation's
    /// e-mail, its `account_mail` id): the ids never meet, so one id names
    /// one message.
    pub id: DeliveryId,
    pub channel: Channel,
    /// The person; for an invitation's e-mail, the invitation, whose id the
    /// person takes on accepting.
    pub recipient_id: PersonId,
    /// For an invitation's e-mail, the name the admin gave.
    pub recipient_name: String,
    pub kind: MessageKind,
    pub session_id: Option<SessionId>,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// Which deliveries an admin lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    /// Only deliveries after this one in the list's order (newest first,
    /// then id): the page after a cursor.
    pub after: Option<(Timestamp, DeliveryId)>,
    pub limit: i64,
}

/// A claimed delivery with everything it takes to write the message.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub id: DeliveryId,
    pub org_id: OrgId,
    pub org_name: String,
    pub channel: Channel,
    pub kind: NotificationKind,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// When the change that owes this message committed.
    pub created_at: Timestamp,
    /// The inbox entry's title and text.
    pub title: String,
    pub body: String,
    pub recipient: Recipient,
    pub session: Option<SessionFacts>,
    /// The waitlist offer the message tells of, if any: its e-mail carries
    /// one-time links that answer it.
    pub offer_id: Option<circles_domain::ids::OfferId>,
}

/// A one-click unsubscribe link to record: only its token's hash.
#[derive(Debug, Clone)]
pub struct NewUnsubscribeLink {
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub kind: NotificationKind,
    pub token_hash: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct Recipient {
    pub person_id: PersonId,
    pub name: String,
    pub email: String,
    /// The zone the person asked to read times in, if any.
    pub timezone: Option<String>,
    /// Where texts go (E.164), if the person gave a number.
    pub phone: Option<String>,
}

/// The session a message is about, as it stands when the message is written.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub id: SessionId,
    pub title: String,
    pub status: SessionStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub timezone: String,
    pub modality: Modality,
    pub location: Option<String>,
    pub virtual_link: Option<String>,
    /// How many calendar changes the session went through before this
    /// message's: its iCalendar SEQUENCE.
    pub sequence: i64,
    pub therapists: Vec<SessionTherapist>,
    /// Whether the recipient is still on the session (invited, accepted, or
    /// seated).
    pub recipient_on_session: bool,
}

#[derive(Debug, Clone)]
pub struct SessionTherapist {
    pub person_id: PersonId,
    pub name: String,
    pub email: String,
    pub status: InvitationStatus,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Sent,
    /// Failed; try again at the given instant.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Failed for the last time.
    Failed {
        error: String,
    },
}

/// A person's delivery choices: a zone for times, a number for texts, and per kind of
/// notification and channel whether it goes out.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    pub timezone: Option<String>,
    /// The number texts go to (E.164), if any.
    pub phone: Option<String>,
    pub channels: Vec<ChannelChoice>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelChoice {
    pub kind: NotificationKind,
    pub channel: Channel,
    pub enabled: bool,
}
