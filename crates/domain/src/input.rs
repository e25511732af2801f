//! Newtypes that can only hold valid values: parse, don't validate.

use std::fmt;

use serde::{Deserialize, Serialize};

fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// A normalised (trimmed, lower-cased) e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("is required");
        }
        if email.len() > Self::MAX_LEN {
            return Err("is longer than 254 characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("is not an e-mail address (missing @)");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains(char::is_whitespace)
            && !local.contains(['@', '"', '(', ')', ',', ':', ';', '<', '>', '[', '\\', ']']);
        if !local_ok || !domain_ok || has_control_chars(&email) {
            return Err("is not an e-mail address");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the minimum policy. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err("must be at least 10 characters");
        }
        if chars > Self::MAX_CHARS {
            return Err("must be at most 1024 characters");
        }
        if raw.trim().is_empty() {
            return Err("must not be only whitespace");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A short human-readable text: trimmed, non-empty, bounded, no control
/// characters. Used for names and titles.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Label(String);

impl Label {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > max_chars {
            return Err(format!("must be at most {max_chars} characters"));
        }
        if has_control_chars(s) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name.
pub struct PersonName;

impl PersonName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Label, String> {
        Label::parse(raw, Self::MAX_CHARS)
    }
}

/// An organisation's name.
pub struct OrgName;

impl OrgName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Label, String> {
        Label::parse(raw, Self::MAX_CHARS)
    }
}

/// Free text such as a description or note: may be empty, bounded.
pub fn free_text(raw: &str, max_chars: usize) -> Result<String, String> {
    if raw.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("must not contain control characters".into());
    }
    Ok(raw.to_owned())
}

/// An instant sent by a client: RFC 3339 with an explicit offset, so it is
/// never ambiguous which moment is meant.
pub fn instant(raw: &str) -> Result<jiff::Timestamp, &'static str> {
    raw.trim().parse().map_err(|_| "must be an RFC 3339 instant with an offset, e.g. 2027-03-01T14:00:00-05:00")
}

/// An IANA time-zone name that this build knows, e.g. `America/New_York`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("is required".into());
        }
        // Offsets like "+02:00" are rejected: a recurring schedule needs the
        // zone's rules, not one offset.
        if !name.contains('/') && name != "UTC" {
            return Err(format!("`{name}` is not an IANA time zone name such as America/New_York"));
        }
        jiff::tz::TimeZone::get(name)
            .map(|_| Self(name.to_owned()))
            .map_err(|_| format!("`{name}` is not a known IANA time zone"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.0).expect("parsed zones stay known")
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form, `+` and up to 15 digits (country code
/// first, never 0), which every SMS gateway takes. Spaces, dots, dashes and
/// brackets people type between digits are dropped; anything else is
/// refused rather than guessed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err("must start with + and the country code, e.g. +14155550123".into());
        };
        let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("may hold only digits after the +".into());
        }
        if digits.starts_with('0') {
            return Err("a country code never starts with 0".into());
        }
        if !(8..=15).contains(&digits.len()) {
            return Err("must have 8 to 15 digits after the +".into());
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("  Ada@Example.ORG ").unwrap().as_str(), "ada@example.org");
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in
            ["", "ada", "ada@", "@example.org", "ada@example", "a da@example.org", "ada@ex..org", "ada@@example.org"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_need_ten_characters() {
        assert!(Password::parse("123456789").is_err());
        assert!(Password::parse("1234567890").is_ok());
        assert!(Password::parse("          ").is_err());
        // Characters, not bytes: ten two-byte letters are ten characters.
        assert!(Password::parse("éééééééééé").is_ok());
    }

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(201)).is_err());
        assert!(PersonName::parse("Ada\u{0007}").is_err());
    }

    #[test]
    fn instants_need_an_offset() {
        assert_eq!(instant("2027-03-01T14:00:00-05:00").unwrap().to_string(), "2027-03-01T19:00:00Z");
        assert!(instant("2027-03-01T14:00:00Z").is_ok());
        assert!(instant("2027-03-01T14:00:00").is_err());
        assert!(instant("tomorrow").is_err());
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert!(TimeZoneName::parse("America/New_York").is_ok());
        assert!(TimeZoneName::parse("UTC").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZoneName::parse("+02:00").is_err());
        assert!(TimeZoneName::parse("EST").is_err());
    }

    #[test]
    fn phone_numbers_are_e164_with_typing_separators_dropped() {
        assert_eq!(PhoneNumber::parse(" +1 (415) 555-0123 ").unwrap().as_str(), "+14155550123");
        assert_eq!(PhoneNumber::parse("+351.912.345.678").unwrap().as_str(), "+351912345678");
        assert!(PhoneNumber::parse("4155550123").unwrap_err().contains("start with +"));
        assert!(PhoneNumber::parse("+1 415 CALL NOW").unwrap_err().contains("only digits"));
        assert!(PhoneNumber::parse("+0123456789").unwrap_err().contains("never starts with 0"));
        assert!(PhoneNumber::parse("+1234").unwrap_err().contains("8 to 15"));
        assert!(PhoneNumber::parse("+1234567890123456").unwrap_err().contains("8 to 15"));
    }
}
