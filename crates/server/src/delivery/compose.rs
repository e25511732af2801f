//! One claimed delivery as an e-mail: text and HTML alternatives, and for
//! changes to a session an iMIP calendar part (RFC 6047) whose `method`
//! parameter equals the METHOD inside, plus the same calendar attached as an
//! `.ics` file for programs that only look at attachments.

use circles_domain::delivery::{CalendarMethod, calendar_method};
use circles_domain::ical::{Attendee, Calendar, Event, EventStatus, PartStat, Party};
use circles_domain::session::{InvitationStatus, SessionStatus};
use circles_store::model::{OutboundMessage, SessionFacts};
use jiff::tz::TimeZone;
use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::wording::word;

/// The sender, parsed once.
#[derive(Debug, Clone)]
pub struct Sender {
    pub mailbox: Mailbox,
    /// The domain that qualifies Message-IDs and calendar UIDs.
    pub domain: String,
}

impl Sender {
    pub fn parse(mail_from: &str) -> anyhow::Result<Self> {
        let mailbox: Mailbox =
            mail_from.parse().map_err(|e| anyhow::anyhow!("mail_from {mail_from:?} is not an e-mail address: {e}"))?;
        let domain = mailbox.email.domain().to_owned();
        Ok(Self { mailbox, domain })
    }

    /// The Message-ID of a delivery: the same on every attempt, so a
    /// message sent twice after a crash is recognisably one message.
    pub fn message_id(&self, message: &OutboundMessage) -> String {
        format!("<{}@{}>", message.id, self.domain)
    }

    /// One UID per session, whatever message carries it.
    pub fn uid(&self, session: &SessionFacts) -> String {
        format!("{}@{}", session.id, self.domain)
    }
}

/// Why a message could not be written (the recipient's address is not one).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unwritable(pub String);

/// The method of the calendar part a message carries, if any.
pub fn method_of(message: &OutboundMessage) -> Option<CalendarMethod> {
    let session = message.session.as_ref()?;
    calendar_method(message.kind, session.status == SessionStatus::Cancelled, session.recipient_on_session)
}

/// The links one e-mail carries besides its facts.
#[derive(Debug, Default)]
pub struct Links {
    /// The one-time link for the waitlist offer the message tells of.
    pub answer: Option<String>,
    /// The one-click link that turns this kind of e-mail off (RFC 8058).
    pub unsubscribe: Option<String>,
}

/// `List-Unsubscribe`: where a mail program unsubscribes the reader.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().trim_start_matches('<').trim_end_matches('>').to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the mail program
/// may unsubscribe with one POST, without opening a page (RFC 8058).
#[derive(Debug, Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// The e-mail of `message`, carrying `links`.
pub fn compose(sender: &Sender, message: &OutboundMessage, links: Links) -> Result<Message, Unwritable> {
    let to: Mailbox = format!("{} <{}>", message.recipient.name.replace(['<', '>', '"'], ""), message.recipient.email)
        .parse()
        .map_err(|e| Unwritable(format!("recipient address {:?}: {e}", message.recipient.email)))?;
    let method = method_of(message);
    let mut wording = word(message, method);
    wording.answer_link = links.answer;
    wording.unsubscribe_link = links.unsubscribe.clone();
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(wording.text(&message.recipient.name)))
        .singlepart(SinglePart::html(wording.html(&message.recipient.name)));
    let mut builder = Message::builder()
        .message_id(Some(sender.message_id(message)))
        .from(sender.mailbox.clone())
        .to(to)
        .subject(wording.subject);
    if let Some(link) = links.unsubscribe {
        builder = builder.header(ListUnsubscribe(link)).header(OneClick);
    }
    let built = match (method, &message.session) {
        (Some(method), Some(session)) => {
            let ics = invitation(sender, message, session, method).to_ics();
            let calendar_type =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={}", method.as_str()))
                    .expect("a valid content type");
            let attachment_type = ContentType::parse("application/ics").expect("a valid content type");
            let name = if method == CalendarMethod::Cancel { "cancel.ics" } else { "invite.ics" };
            builder.multipart(
                MultiPart::mixed()
                    .multipart(alternative.singlepart(SinglePart::builder().header(calendar_type).body(ics.clone())))
                    .singlepart(Attachment::new(name.to_owned()).body(ics, attachment_type)),
            )
        }
        _ => builder.multipart(alternative),
    };
    built.map_err(|e| Unwritable(e.to_string()))
}

/// The calendar of an invitation, update or cancellation: the session with
/// its therapists and the recipient as attendees — never the other clients,
/// whose attendance is theirs to keep.
fn invitation(sender: &Sender, message: &OutboundMessage, session: &SessionFacts, method: CalendarMethod) -> Calendar {
    let mut attendees: Vec<Attendee> = session
        .therapists
        .iter()
        .map(|t| Attendee {
            party: Party { name: t.name.clone(), email: t.email.clone() },
            partstat: match t.status {
                InvitationStatus::Pending => PartStat::NeedsAction,
                InvitationStatus::Accepted => PartStat::Accepted,
                InvitationStatus::Declined => PartStat::Declined,
            },
            chair: true,
        })
        .collect();
    if !session.therapists.iter().any(|t| t.person_id == message.recipient.person_id) {
        attendees.push(Attendee {
            party: Party { name: message.recipient.name.clone(), email: message.recipient.email.clone() },
            partstat: PartStat::Accepted,
            chair: false,
        });
    }
    let status = match (method, session.status) {
        (CalendarMethod::Cancel, _) | (_, SessionStatus::Cancelled) => EventStatus::Cancelled,
        (_, SessionStatus::Proposed) => EventStatus::Tentative,
        _ => EventStatus::Confirmed,
    };
    let event = Event {
        uid: sender.uid(session),
        sequence: session.sequence,
        stamp: message.created_at,
        start: session.starts_at,
        end: session.ends_at,
        zone: TimeZone::get(&session.timezone).unwrap_or(TimeZone::UTC),
        summary: session.title.clone(),
        description: None,
        location: session.location.clone().or_else(|| session.virtual_link.clone()),
        url: session.virtual_link.clone(),
        status,
        organizer: Some(Party { name: message.org_name.clone(), email: sender.mailbox.email.to_string() }),
        attendees,
    };
    Calendar { method: Some(method.as_str().to_owned()), events: vec![event], ..Default::default() }
}
