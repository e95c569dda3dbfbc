//! Validated text values: e-mail addresses, manual reminder titles and messages.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Longest e-mail address accepted, in Unicode scalar values (RFC 5321's path limit less the
/// angle brackets).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Longest manual reminder title, in Unicode scalar values.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest manual reminder message, in Unicode scalar values.
pub const MESSAGE_MAX_CHARS: usize = 5000;

/// True when `s` is empty or made only of characters with the Unicode `White_Space` property.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// An e-mail address with the shape RULES.md requires.
///
/// The check is deliberately structural (one `@`, a dotted domain, no white space or control
/// character): deliverability is the mail server's business, but an address that could
/// smuggle a header line or a second recipient never gets past the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address, naming what is wrong with it when it is refused.
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let invalid = |reason: &'static str| DomainError::InvalidEmail {
            value: raw.clone(),
            reason,
        };
        if raw.chars().count() > EMAIL_MAX_CHARS {
            return Err(invalid("longer than 254 characters"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("holds white space or a control character"));
        }
        let mut parts = raw.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("must hold exactly one @"));
        };
        if local.is_empty() {
            return Err(invalid("nothing before the @"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid(
                "the domain needs a dot that neither starts nor ends it",
            ));
        }
        Ok(Self(raw))
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, DomainError> {
        Self::parse(raw)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> String {
        address.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The title of a manual reminder: not blank, at most 200 characters, no control character.
///
/// The title becomes the e-mail subject, so a CR or LF in it would be a header injection;
/// that is why every control character is refused rather than stripped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Title(String);

impl Title {
    /// Parses a title.
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        if is_blank(&raw) {
            Err(DomainError::BlankTitle)
        } else if raw.chars().count() > TITLE_MAX_CHARS {
            Err(DomainError::TitleTooLong)
        } else if raw.chars().any(char::is_control) {
            Err(DomainError::TitleControlCharacter)
        } else {
            Ok(Self(raw))
        }
    }
}

impl AsRef<str> for Title {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The body a parent writes in a manual reminder: not blank, at most 5000 characters.
/// Line breaks are welcome here; it only ever goes into message bodies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageText(String);

impl MessageText {
    /// Parses a message.
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        if is_blank(&raw) {
            Err(DomainError::BlankMessage)
        } else if raw.chars().count() > MESSAGE_MAX_CHARS {
            Err(DomainError::MessageTooLong)
        } else {
            Ok(Self(raw))
        }
    }
}

impl AsRef<str> for MessageText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The language a student reads reminders in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// French, the original system's language and the default.
    #[default]
    Fr,
    /// English.
    En,
}

impl Locale {
    /// The locale's code as used in template names (`fr`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    /// Every shipped locale.
    pub const ALL: [Locale; 2] = [Locale::Fr, Locale::En];
}

impl std::str::FromStr for Locale {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "fr" => Ok(Locale::Fr),
            "en" => Ok(Locale::En),
            other => Err(DomainError::UnknownLocale(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for ok in [
            "a@b.c",
            "awa.kone@example.org",
            "é@exemple.fr",
            "x+tag@sub.example.org",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "sophie at example.org",
            "@example.org",
            "a@b@example.org",
            "a@localhost",
            "a@.example.org",
            "a@example.org.",
            "a@exa mple.org",
            "a@example.org\r\nBcc: x@y.z",
            "",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("{}@example.org", "a".repeat(242));
        assert_eq!(long.chars().count(), 254);
        assert!(EmailAddress::parse(long.clone()).is_ok());
        assert!(EmailAddress::parse(format!("a{long}")).is_err());
    }

    #[test]
    fn email_error_names_the_value_and_the_reason() {
        let err = EmailAddress::parse("sophie at example.org").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid e-mail address \"sophie at example.org\": holds white space or a control character"
        );
    }

    #[test]
    fn titles() {
        assert!(Title::parse("Révise ce soir").is_ok());
        assert_eq!(Title::parse("   ").unwrap_err(), DomainError::BlankTitle);
        assert_eq!(Title::parse("").unwrap_err(), DomainError::BlankTitle);
        assert_eq!(
            Title::parse("\u{3000}\u{a0}").unwrap_err(),
            DomainError::BlankTitle
        );
        assert_eq!(
            Title::parse("Bonne\r\nchance").unwrap_err(),
            DomainError::TitleControlCharacter
        );
        assert_eq!(
            Title::parse("a\tb").unwrap_err(),
            DomainError::TitleControlCharacter
        );
        assert!(Title::parse("é".repeat(200)).is_ok());
        assert_eq!(
            Title::parse("é".repeat(201)).unwrap_err(),
            DomainError::TitleTooLong
        );
    }

    #[test]
    fn messages() {
        assert!(MessageText::parse("Courage\npour demain").is_ok());
        assert_eq!(
            MessageText::parse(" \n\t").unwrap_err(),
            DomainError::BlankMessage
        );
        assert!(MessageText::parse("x".repeat(5000)).is_ok());
        assert_eq!(
            MessageText::parse("x".repeat(5001)).unwrap_err(),
            DomainError::MessageTooLong
        );
    }
}
