//! Texts through an HTTP SMS gateway: a short message per delivery, POSTed
//! as JSON to `sms_gateway_url` with the delivery's id as its idempotency
//! key, so a gateway that deduplicates sends a retried text once.
//!
//! Texts are short and carry no clinical details: the organisation, the
//! reader's name, what changed and when in the reader's zone, with whom, and
//! for an offer its one-time link — never the session's title or notes.

use std::time::Duration;

use circles_store::model::OutboundMessage;
use serde_json::json;

use super::compose::method_of;
use super::mailer::SendError;
use super::wording::word;
use crate::config::{Secret, Settings};

/// Where texts go.
#[derive(Clone)]
pub struct SmsGateway {
    client: reqwest::Client,
    url: String,
    /// Sent as `Authorization: Bearer …`; never logged.
    token: Option<Secret>,
    /// The sender name or number the gateway shows.
    from: String,
}

impl SmsGateway {
    /// The gateway the settings name, or `None` when texts are off.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let Some(url) = &settings.sms_gateway_url else { return Ok(None) };
        let parsed = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("sms_gateway_url is not a URL: {e}"))?;
        anyhow::ensure!(matches!(parsed.scheme(), "http" | "https"), "sms_gateway_url must be http:// or https://");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.sms_timeout_seconds.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Self {
            client,
            url: url.clone(),
            token: settings.sms_gateway_token.clone(),
            from: settings.sms_from.clone(),
        }))
    }

    /// Sends `text` to `to` as message `id`. A 2xx answer is sent; a 4xx
    /// (other than 408 and 429) is a refusal for good; anything else, or no
    /// answer in time, is worth trying again.
    pub async fn send(&self, id: &str, to: &str, text: &str) -> Result<(), SendError> {
        let body = json!({ "id": id, "to": to, "from": self.from, "text": text });
        let mut request = self.client.post(&self.url).header("idempotency-key", id).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => {
                let status = answer.status();
                let permanent = status.is_client_error()
                    && status != reqwest::StatusCode::REQUEST_TIMEOUT
                    && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
                Err(SendError { text: format!("the SMS gateway answered {status}"), permanent })
            }
            // Without the URL: it may carry credentials.
            Err(e) => Err(SendError { text: format!("the SMS gateway: {}", e.without_url()), permanent: false }),
        }
    }
}

/// The text of `message`: one or two short sentences, names and local
/// times, and an offer's one-time link.
pub fn sms_text(message: &OutboundMessage, answer_link: Option<&str>) -> String {
    let wording = word(message, method_of(message));
    let mut text = format!("{}: Hello {}. {}", wording.signature, message.recipient.name, wording.subject);
    if let Some((_, with)) = wording.facts.iter().find(|(label, _)| *label == "With") {
        text.push_str(&format!(", with {with}"));
    }
    text.push('.');
    if let Some(link) = answer_link {
        text.push_str(&format!(" Accept or decline (works once): {link}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use circles_domain::delivery::Channel;
    use circles_domain::ids::{DeliveryId, OfferId, OrgId, PersonId, SessionId};
    use circles_domain::session::{InvitationStatus, Modality, NotificationKind, SessionStatus};
    use circles_store::model::{Recipient, SessionFacts, SessionTherapist};

    use super::*;

    fn offer() -> OutboundMessage {
        OutboundMessage {
            id: DeliveryId::new(),
            org_id: OrgId::new(),
            org_name: "Riverside Counselling".into(),
            channel: Channel::Sms,
            kind: NotificationKind::WaitlistOffer,
            attempt: 1,
            created_at: "2026-12-01T09:00:00Z".parse().unwrap(),
            title: "A place in Anxiety group".into(),
            body: "A place is free in Anxiety group".into(),
            recipient: Recipient {
                person_id: PersonId::new(),
                name: "Ana Silva".into(),
                email: "ana@example.com".into(),
                timezone: Some("Europe/Lisbon".into()),
                phone: Some("+351912345678".into()),
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
                sequence: 0,
                therapists: vec![SessionTherapist {
                    person_id: PersonId::new(),
                    name: "Dr Maya Chen".into(),
                    email: "maya@example.com".into(),
                    status: InvitationStatus::Accepted,
                }],
                recipient_on_session: false,
            }),
            offer_id: Some(OfferId::new()),
        }
    }

    #[test]
    fn an_offer_text_is_short_names_people_gives_local_time_and_the_link_but_no_clinical_detail() {
        let link = "https://c.example/offer-links/o/cio_abc";
        let text = sms_text(&offer(), Some(link));
        assert_eq!(
            text,
            "Riverside Counselling: Hello Ana Silva. About your session on Thu 10 Dec at 23:00, with Dr Maya Chen. \
             Accept or decline (works once): https://c.example/offer-links/o/cio_abc"
        );
        assert!(!text.contains("Anxiety") && !text.contains("Room 2"), "no clinical details: {text}");
        assert!(text.chars().count() <= 200, "short: {} characters", text.chars().count());
    }
}
