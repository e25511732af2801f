//! What a message says, in plain English: a subject without clinical details
//! and a text and HTML body that name people and give local times in the
//! recipient's zone.

use circles_domain::delivery::CalendarMethod;
use circles_domain::session::{InvitationStatus, Modality, NotificationKind, SessionStatus};
use circles_store::model::{OutboundMessage, SessionFacts};
use jiff::tz::TimeZone;

/// The words of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub subject: String,
    /// The first sentence after the greeting.
    pub headline: String,
    /// Label and value lines about the session (when, where, with whom).
    pub facts: Vec<(&'static str, String)>,
    /// Further text: the inbox entry's, for messages without a session.
    pub note: Option<String>,
    /// A one-time link that answers the waitlist offer the message tells of.
    pub answer_link: Option<String>,
    /// A link that turns this kind of e-mail off (kinds a person may refuse).
    pub unsubscribe_link: Option<String>,
    pub signature: String,
}

/// The zone a person reads times in: theirs if they chose one, else the
/// session's.
pub fn reader_zone(message: &OutboundMessage, session: &SessionFacts) -> TimeZone {
    message
        .recipient
        .timezone
        .as_deref()
        .and_then(|z| TimeZone::get(z).ok())
        .or_else(|| TimeZone::get(&session.timezone).ok())
        .unwrap_or(TimeZone::UTC)
}

pub fn word(message: &OutboundMessage, method: Option<CalendarMethod>) -> Wording {
    let signature = message.org_name.clone();
    let Some(session) = &message.session else {
        return Wording {
            subject: message.title.clone(),
            headline: format!("{}.", message.title.trim_end_matches('.')),
            facts: Vec::new(),
            note: Some(message.body.clone()),
            answer_link: None,
            unsubscribe_link: None,
            signature,
        };
    };
    let zone = reader_zone(message, session);
    let start = session.starts_at.to_zoned(zone.clone());
    let end = session.ends_at.to_zoned(zone.clone());
    let short = start.strftime("%a %-d %b at %H:%M").to_string();
    let long = start.strftime("%A %-d %B %Y at %H:%M").to_string();
    let (subject, headline) = match (message.kind, method) {
        (_, Some(CalendarMethod::Cancel)) if session.status == SessionStatus::Cancelled => {
            (format!("Cancelled: your session on {short}"), format!("Your session on {long} is cancelled."))
        }
        (_, Some(CalendarMethod::Cancel)) => (
            format!("Change: your session on {short}"),
            format!("You are no longer on the session on {long}; it has been taken off your calendar."),
        ),
        (NotificationKind::Invitation, _) => (
            format!("Invitation: a session on {short}"),
            format!("You are invited to facilitate a session on {long}. Please accept or decline it in Circles."),
        ),
        (NotificationKind::SessionBooked, _) => {
            (format!("Your session on {short}"), format!("A session has been booked with you on {long}."))
        }
        (NotificationKind::SessionScheduled, _) => {
            (format!("Confirmed: your session on {short}"), format!("Your session on {long} is confirmed."))
        }
        (NotificationKind::SessionRescheduled, _) => {
            (format!("Moved: your session is now on {short}"), format!("Your session has moved to {long}."))
        }
        (NotificationKind::SessionReassigned, _) => (
            format!("Change: your session on {short}"),
            format!("Your session on {long} is now with another therapist."),
        ),
        (NotificationKind::Reminder, _) => {
            (format!("Reminder: your session on {short}"), format!("A reminder: your session is on {long}."))
        }
        _ => (format!("About your session on {short}"), format!("{}.", message.title.trim_end_matches('.'))),
    };
    let mut facts = vec![
        ("Session", session.title.clone()),
        (
            "When",
            format!(
                "{}, {}–{} ({})",
                start.strftime("%A %-d %B %Y"),
                start.strftime("%H:%M"),
                end.strftime("%H:%M"),
                zone.iana_name().unwrap_or("UTC")
            ),
        ),
    ];
    match (session.modality, &session.location, &session.virtual_link) {
        (Modality::Virtual, _, Some(link)) => facts.push(("Where", format!("Online: {link}"))),
        (_, Some(place), _) => facts.push(("Where", place.clone())),
        _ => {}
    }
    let with: Vec<&str> = session
        .therapists
        .iter()
        .filter(|t| t.person_id != message.recipient.person_id && t.status != InvitationStatus::Declined)
        .map(|t| t.name.as_str())
        .collect();
    if !with.is_empty() {
        facts.push(("With", with.join(", ")));
    }
    let note = (message.kind == NotificationKind::WaitlistOffer).then(|| message.body.clone());
    Wording { subject, headline, facts, note, answer_link: None, unsubscribe_link: None, signature }
}

impl Wording {
    pub fn text(&self, name: &str) -> String {
        let mut out = format!("Hello {name},\n\n{}\n", self.headline);
        if !self.facts.is_empty() {
            out.push('\n');
            for (label, value) in &self.facts {
                out.push_str(&format!("  {label}: {value}\n"));
            }
        }
        if let Some(note) = &self.note {
            out.push_str(&format!("\n{note}\n"));
        }
        if let Some(link) = &self.answer_link {
            out.push_str(&format!(
                "\nAccept or decline the offer here (the link works once, until it expires):\n{link}\n"
            ));
        }
        out.push_str(&format!("\n{}\n", self.signature));
        if let Some(link) = &self.unsubscribe_link {
            out.push_str(&format!("\nTo stop e-mails like this one: {link}\n"));
        }
        out
    }

    pub fn html(&self, name: &str) -> String {
        let mut out = format!(
            "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n<p>Hello {},</p>\n<p>{}</p>\n",
            escape(name),
            escape(&self.headline)
        );
        if !self.facts.is_empty() {
            out.push_str("<table>\n");
            for (label, value) in &self.facts {
                out.push_str(&format!("<tr><th align=\"left\">{label}</th><td>{}</td></tr>\n", escape(value)));
            }
            out.push_str("</table>\n");
        }
        if let Some(note) = &self.note {
            out.push_str(&format!("<p>{}</p>\n", escape(note)));
        }
        if let Some(link) = &self.answer_link {
            out.push_str(&format!(
                "<p><a href=\"{}\">Accept or decline the offer</a> (the link works once, until it expires).</p>\n",
                escape(link)
            ));
        }
        out.push_str(&format!("<p>{}</p>\n", escape(&self.signature)));
        if let Some(link) = &self.unsubscribe_link {
            out.push_str(&format!(
                "<p style=\"font-size:smaller\"><a href=\"{}\">Stop e-mails like this one</a></p>\n",
                escape(link)
            ));
        }
        out.push_str("</body></html>\n");
        out
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use circles_domain::delivery::Channel;
    use circles_domain::ids::{DeliveryId, OrgId, PersonId, SessionId};
    use circles_store::model::{Recipient, SessionTherapist};

    use super::*;

    fn message(kind: NotificationKind, timezone: Option<&str>) -> OutboundMessage {
        OutboundMessage {
            id: DeliveryId::new(),
            org_id: OrgId::new(),
            org_name: "Riverside Counselling".into(),
            channel: Channel::Email,
            kind,
            attempt: 1,
            created_at: "2026-12-01T09:00:00Z".parse().unwrap(),
            title: "A session moved".into(),
            body: "Anxiety group now starts at 2026-12-10T23:00:00Z".into(),
            recipient: Recipient {
                person_id: PersonId::new(),
                name: "Ana Silva".into(),
                email: "ana@example.com".into(),
                timezone: timezone.map(str::to_owned),
                phone: None,
            },
            session: Some(SessionFacts {
                id: SessionId::new(),
                title: "Anxiety group".into(),
                status: SessionStatus::Scheduled,
                starts_at: "2026-12-10T23:00:00Z".parse().unwrap(),
                ends_at: "2026-12-11T00:30:00Z".parse().unwrap(),
                timezone: "America/New_York".into(),
                modality: Modality::InPerson,
                location: Some("Room 2".into()),
                virtual_link: None,
                sequence: 1,
                therapists: vec![SessionTherapist {
                    person_id: PersonId::new(),
                    name: "Dr Maya Chen".into(),
                    email: "maya@example.com".into(),
                    status: InvitationStatus::Accepted,
                }],
                recipient_on_session: true,
            }),
            offer_id: None,
        }
    }

    #[test]
    fn subjects_give_the_local_time_and_no_clinical_details() {
        let m = message(NotificationKind::SessionRescheduled, None);
        let w = word(&m, Some(CalendarMethod::Request));
        assert_eq!(w.subject, "Moved: your session is now on Thu 10 Dec at 18:00");
        assert!(!w.subject.contains("Anxiety"));
        let text = w.text("Ana Silva");
        assert!(text.starts_with("Hello Ana Silva,\n\nYour session has moved to Thursday 10 December 2026 at 18:00."));
        assert!(text.contains("  When: Thursday 10 December 2026, 18:00–19:30 (America/New_York)\n"), "{text}");
        assert!(text.contains("  With: Dr Maya Chen\n"));
        assert!(!text.contains("2026-12-10T23:00:00Z"), "no bare UTC instants");
    }

    #[test]
    fn times_follow_the_zone_the_reader_chose() {
        let m = message(NotificationKind::SessionBooked, Some("Europe/Lisbon"));
        let w = word(&m, Some(CalendarMethod::Request));
        assert_eq!(w.subject, "Your session on Thu 10 Dec at 23:00");
    }

    #[test]
    fn a_cancellation_says_so_and_html_is_escaped() {
        let mut m = message(NotificationKind::SessionCancelled, None);
        m.session.as_mut().unwrap().status = SessionStatus::Cancelled;
        m.org_name = "Smith & Sons".into();
        let w = word(&m, Some(CalendarMethod::Cancel));
        assert_eq!(w.subject, "Cancelled: your session on Thu 10 Dec at 18:00");
        assert!(w.html("Ana").contains("Smith &amp; Sons"));
    }
}
