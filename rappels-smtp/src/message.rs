//! The MIME message every mailer sends, built with lettre from a core `Email`.

use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use rappels_core::message::header_line;
use rappels_core::ports::{Email, MailError};

/// `List-Unsubscribe: <https://…/unsubscribe?token=…>` (RFC 2369).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned(),
        ))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the mail client may
/// unsubscribe with one POST, without opening a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// Line endings of a body as SMTP wants them: every CR, LF or CRLF becomes CRLF.
pub fn crlf(body: &str) -> String {
    body.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

/// The recipient as the mailer reads it. RULES.md accepts some addresses lettre refuses
/// (`a"b<c>@example.org`): they fail here, permanently, and `rappels import` and `rappels
/// doctor` call this to name them before any reminder does.
pub fn recipient_address(to: &str) -> Result<lettre::Address, MailError> {
    to.parse()
        .map_err(|e| MailError::permanent(format!("recipient {to} refused: {e}")))
}

/// Builds the MIME message of an e-mail: From, To, Subject, Date, the Message-ID of the
/// reminder key, `multipart/alternative` (plain text, then HTML), and for automatic kinds the
/// one-click unsubscribe headers. A recipient lettre refuses is a permanent failure:
/// retrying cannot fix an address.
pub fn build_message(email: &Email, from: &Mailbox) -> Result<Message, MailError> {
    let address = recipient_address(email.to.as_ref())?;
    let name = header_line(&email.to_name);
    let mut builder = Message::builder()
        .from(from.clone())
        .to(Mailbox::new((!name.is_empty()).then_some(name), address))
        .subject(header_line(&email.message.subject))
        .message_id(Some(email.message_id.clone()));
    if let Some(url) = &email.unsubscribe_url {
        builder = builder
            .header(ListUnsubscribe(header_line(url)))
            .header(ListUnsubscribePost);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            crlf(&email.message.text),
            crlf(&email.message.html),
        ))
        .map_err(|e| MailError::permanent(format!("message cannot be built: {e}")))
}

/// The file name of an e-mail: its Message-ID without the angle brackets, which is unique
/// per reminder and made only of characters that are safe in file names.
pub fn eml_file_name(email: &Email) -> String {
    let id = email
        .message_id
        .trim_start_matches('<')
        .trim_end_matches('>');
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.eml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{email, sender};

    #[test]
    fn long_subjects_are_folded_under_the_line_limit_and_read_back_whole() {
        // RFC 5322 §2.1.1: no line over 998 octets. A 5,000-character subject (ASCII words,
        // then accented ones that become encoded words) must be folded, not cut.
        for word in ["revision", "révision"] {
            let subject = vec![word; 5_000 / (word.chars().count() + 1)].join(" ");
            let raw = build_message(&email(&subject), &sender())
                .unwrap()
                .formatted();
            let headers_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let longest = raw[..headers_end]
                .split(|&b| b == b'\n')
                .map(<[u8]>::len)
                .max()
                .unwrap();
            assert!(longest <= 998, "{word}: a header line of {longest} octets");
            let parsed = mailparse::parse_mail(&raw).unwrap();
            use mailparse::MailHeaderMap;
            assert_eq!(
                parsed.headers.get_first_value("Subject").as_deref(),
                Some(subject.as_str()),
                "{word}"
            );
        }
    }

    #[test]
    fn messages_carry_the_headers_and_both_parts() {
        let raw = String::from_utf8(
            build_message(&email("Message de Mariam : Révise ce soir"), &sender())
                .unwrap()
                .formatted(),
        )
        .unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            headers.contains("From: MyKarfour <noreply@example.org>\r\n"),
            "{headers}"
        );
        assert!(
            headers.contains("Message-ID: <manual.500@rappels.example.org>\r\n"),
            "{headers}"
        );
        assert!(headers.contains("Date: "), "{headers}");
        assert!(headers.contains("awa.kone@example.org>"), "{headers}");
        // Non-ASCII subjects and names are encoded words (RFC 2047): headers stay ASCII.
        assert!(headers.is_ascii(), "{headers}");
        assert!(
            headers.contains("Subject: Message de Mariam : =?utf-8?b?"),
            "{headers}"
        );
        assert!(
            !headers.contains("List-Unsubscribe"),
            "manual reminders have no unsubscribe"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: text/html; charset=utf-8"),
            "{raw}"
        );
    }

    #[test]
    fn automatic_reminders_offer_one_click_unsubscribe() {
        let mut e = email("Demain : Mathématiques à 14:00");
        e.unsubscribe_url = Some("https://school.example.org/unsubscribe?token=abc.def".into());
        let raw = String::from_utf8(build_message(&e, &sender()).unwrap().formatted()).unwrap();
        assert!(
            raw.contains(
                "List-Unsubscribe: <https://school.example.org/unsubscribe?token=abc.def>\r\n"
            ),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
    }

    #[test]
    fn data_never_adds_a_header_line() {
        let mut e = email("Coucou\r\nBcc: victim@example.org");
        e.to_name = "Awa\r\nBcc: victim@example.org".into();
        e.unsubscribe_url = Some("https://x.example.org/u?t=1\r\nBcc: victim@example.org".into());
        let raw = String::from_utf8(build_message(&e, &sender()).unwrap().formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    }

    #[test]
    fn message_ids_of_a_non_ascii_sender_domain_are_punycode_and_stable() {
        use rappels_core::domain::{ManualId, ReminderKey};
        use rappels_core::ports::message_id;
        let from = crate::parse_sender("Écoles <rappels@école.fr>").unwrap();
        let key = ReminderKey::Manual(ManualId::new(500).unwrap());
        let build = || {
            let mut e = email("Rappel");
            e.message_id = message_id(&key, from.email.domain());
            String::from_utf8(build_message(&e, &from).unwrap().formatted()).unwrap()
        };
        let (first, resend) = (build(), build());
        let id_line = |raw: &str| {
            raw.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(str::to_owned)
                .unwrap()
        };
        assert_eq!(
            id_line(&first),
            "Message-ID: <manual.500@xn--cole-9oa.fr>",
            "{first}"
        );
        assert_eq!(id_line(&first), id_line(&resend));
    }

    #[test]
    fn body_line_endings_are_crlf() {
        assert_eq!(crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(header_line(" a\t\r\n b  c "), "a b c");
    }
}
