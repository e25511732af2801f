//! E-mail to an account rather than to a person in an organisation: a
//! password reset link, and an organisation's invitation to join it. Text
//! and HTML alternatives in plain English, times in the reader's zone; no
//! calendar part and no unsubscribe link (both kinds are essential).

use circles_domain::account_mail::AccountMailKind;
use circles_domain::local_time::local_time;
use circles_store::model::AccountMessage;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::compose::{Sender, Unwritable};

/// The words of one account e-mail: a subject and paragraphs, one of which
/// may be a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWording {
    pub subject: String,
    pub paragraphs: Vec<Paragraph>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paragraph {
    Text(String),
    /// A link, with the words an HTML reader clicks.
    Link {
        label: String,
        href: String,
    },
}

/// What `message` says. `link` is where its action happens: the reset page
/// with the token, or the sign-in page where an invitation is answered.
pub fn word_account(message: &AccountMessage, link: &str) -> AccountWording {
    let zone = message.timezone.as_deref().unwrap_or("UTC");
    match (message.kind, &message.invitation) {
        (AccountMailKind::OrgInvitation, Some(invitation)) => AccountWording {
            subject: format!("{} invited you to join {}", invitation.inviter_name, invitation.org_name),
            paragraphs: vec![
                Paragraph::Text(format!(
                    "{} invited you to join {} on Circles as {} {}.",
                    invitation.inviter_name,
                    invitation.org_name,
                    article(invitation.role.as_str()),
                    invitation.role.as_str()
                )),
                Paragraph::Text(
                    "To accept or decline, sign in with this e-mail address: the invitation is shown first. \
                     Nothing is shared with the organisation until you accept."
                        .into(),
                ),
                Paragraph::Link { label: "Sign in to answer".into(), href: link.to_owned() },
            ],
        },
        _ => {
            let until = message.expires_at.map(|t| local_time(t, zone)).unwrap_or_default();
            AccountWording {
                subject: "Reset your Circles password".into(),
                paragraphs: vec![
                    Paragraph::Text(
                        "Someone asked to reset the password of the Circles account with this e-mail address.".into(),
                    ),
                    Paragraph::Text(format!("To choose a new password, open this link before {until}. It works once:")),
                    Paragraph::Link { label: "Choose a new password".into(), href: link.to_owned() },
                    Paragraph::Text(
                        "If you did not ask for this, ignore this e-mail: your password stays as it is.".into(),
                    ),
                ],
            }
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

impl AccountWording {
    pub fn text(&self, name: &str) -> String {
        let mut out = format!("Hello {name},\n\n");
        for p in &self.paragraphs {
            match p {
                Paragraph::Text(text) => out.push_str(text),
                Paragraph::Link { href, .. } => out.push_str(href),
            }
            out.push_str("\n\n");
        }
        out.push_str("Circles\n");
        out
    }

    pub fn html(&self, name: &str) -> String {
        maud::html! {
            (maud::DOCTYPE)
            html lang="en" {
                head { meta charset="utf-8"; title { (self.subject) } }
                body {
                    p { "Hello " (name) "," }
                    @for p in &self.paragraphs {
                        @match p {
                            Paragraph::Text(text) => p { (text) },
                            Paragraph::Link { label, href } => p { a href=(href) { (label) } br; (href) },
                        }
                    }
                    p { "Circles" }
                }
            }
        }
        .into_string()
    }
}

/// The e-mail of `message`, with its Message-ID stable across attempts.
pub fn compose_account(sender: &Sender, message: &AccountMessage, link: &str) -> Result<Message, Unwritable> {
    let to: Mailbox = format!("{} <{}>", message.name.replace(['<', '>', '"'], ""), message.email)
        .parse()
        .map_err(|e| Unwritable(format!("recipient address {:?}: {e}", message.email)))?;
    let wording = word_account(message, link);
    Message::builder()
        .message_id(Some(format!("<{}@{}>", message.id, sender.domain)))
        .from(sender.mailbox.clone())
        .to(to)
        .subject(&wording.subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(wording.text(&message.name)))
                .singlepart(SinglePart::html(wording.html(&message.name))),
        )
        .map_err(|e| Unwritable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use circles_domain::Role;
    use circles_domain::ids::{AccountId, AccountMailId};
    use circles_store::model::InvitationFacts;

    use super::*;

    fn message(kind: AccountMailKind) -> AccountMessage {
        AccountMessage {
            id: AccountMailId::new(),
            kind,
            attempt: 1,
            created_at: "2026-12-10T22:00:00Z".parse().unwrap(),
            account_id: AccountId::new(),
            name: "Ana <Silva>".into(),
            email: "ana@example.com".into(),
            timezone: Some("America/New_York".into()),
            expires_at: Some("2026-12-10T23:00:00Z".parse().unwrap()),
            invitation: (kind == AccountMailKind::OrgInvitation).then(|| InvitationFacts {
                org_name: "Smith & Sons".into(),
                org_timezone: "Europe/London".into(),
                inviter_name: "Dr Maya Chen".into(),
                role: Role::Admin,
            }),
        }
    }

    #[test]
    fn a_reset_gives_its_deadline_in_the_readers_zone() {
        let w = word_account(&message(AccountMailKind::PasswordReset), "https://c.example/password-reset/cir_x");
        assert_eq!(w.subject, "Reset your Circles password");
        let text = w.text("Ana");
        assert!(text.contains("before Thu 10 Dec, 18:00 EST"), "{text}");
        assert!(text.contains("https://c.example/password-reset/cir_x\n"), "{text}");
    }

    #[test]
    fn an_invitation_names_the_organisation_and_the_inviter_and_escapes_html() {
        let w = word_account(&message(AccountMailKind::OrgInvitation), "https://c.example/");
        assert_eq!(w.subject, "Dr Maya Chen invited you to join Smith & Sons");
        assert!(w.text("Ana").contains("as an admin."));
        let html = w.html("Ana <Silva>");
        assert!(html.contains("Smith &amp; Sons") && html.contains("Ana &lt;Silva&gt;"), "{html}");
    }
}
