//! Typed identifiers. Every entity gets its own newtype so an `OrgId` can never
//! be passed where a `PersonId` is expected.
//!
//! Identifiers are UUIDv7: time-ordered, so primary-key indexes stay compact,
//! and unguessable enough that a URL does not reveal how many rows exist.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// A login identity; may hold roles in several organisations.
    AccountId
);
id_type!(
    /// An organisation (tenant).
    OrgId
);
id_type!(
    /// An account's membership of one organisation, with one role.
    PersonId
);
id_type!(
    /// A bearer token (login session or long-lived API token).
    TokenId
);
id_type!(
    /// One appended audit event.
    AuditEventId
);

id_type!(
    /// A session: the one unit that occupies people's time.
    SessionId
);
id_type!(
    /// A therapist's assignment to (invitation to) a session.
    InvitationId
);
id_type!(
    /// One client's place on one session.
    SeatId
);
id_type!(
    /// A short-lived reservation of one or more slots.
    HoldId
);
id_type!(
    /// A client waiting for a seat or slot.
    WaitlistEntryId
);
id_type!(
    /// A seat or slot that freed and waits to be offered.
    OpeningId
);
id_type!(
    /// An exclusive, expiring offer of a freed seat or slot to one client.
    OfferId
);
id_type!(
    /// Sessions created together from one recurrence.
    SeriesId
);
id_type!(
    /// A therapy group or community.
    GroupId
);
id_type!(
    /// One row of busy time.
    BusyId
);
id_type!(
    /// One period of a client's membership of a group.
    MembershipId
);
id_type!(
    /// One inbox entry.
    NotificationId
);
id_type!(
    /// A therapist's request for time off.
    TimeOffId
);
id_type!(
    /// One message owed to one person on one channel: an outbox row. Its
    /// value is the e-mail's Message-ID, so a retry is recognisably the same
    /// message.
    DeliveryId
);
id_type!(
    /// A person's secret calendar subscription link.
    FeedId
);
id_type!(
    /// One e-mail owed to an account (a password reset, an organisation's
    /// invitation): its Message-ID, the same on every attempt.
    AccountMailId
);
id_type!(
    /// An organisation's webhook endpoint.
    WebhookId
);
id_type!(
    /// One event owed to one webhook endpoint: its `webhook-id`.
    WebhookMessageId
);

impl OrgId {
    /// The chain that records platform-level events which belong to no
    /// organisation (account creation, logins, API tokens).
    pub const PLATFORM: OrgId = OrgId(Uuid::nil());
}
id_type!(
    /// An organisation's own check-in questionnaire (the built-in ones are
    /// named by key, not id).
    QuestionnaireId
);
id_type!(
    /// A questionnaire attached to one session or to every session of a group.
    CheckInId
);
id_type!(
    /// One member's answers to one check-in in one session.
    CheckInResponseId
);
