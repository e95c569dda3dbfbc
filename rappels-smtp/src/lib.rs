//! Mail delivery for rappels: implementations of `rappels_core::ports::Mailer`.
//!
//! Every mailer builds the same RFC 5322 message with lettre ([`build_message`]): From, To,
//! Subject, Date, the Message-ID derived from the reminder key (so a resend after a crash
//! carries the same id), a `multipart/alternative` body with plain-text and HTML parts, and
//! on automatic reminders the RFC 8058 one-click unsubscribe headers. They differ only in
//! where the bytes go: [`SmtpMailer`] to a mail server over a few TLS-protected connections
//! of its own, pipelining where the server allows, and classifying each failure as one of
//! the session, transient or permanent for the retry policy; [`FileMailer`] into `.eml`
//! files and [`stdout_mailer`] onto standard output, so a school can try rappels end to end
//! without a mail server.
//!
//! lettre stays the SMTP client: it builds the messages and speaks the protocol (replies,
//! STARTTLS and TLS, AUTH, dot-stuffing). Its own transport is not used: its pool checks
//! every connection with a NOOP before each message, its sockets lack `TCP_NODELAY` (Nagle
//! then held each message's final dot ~40 ms), and it does not pipeline. So this crate opens
//! the sockets, keeps the pool and sends the envelope as one RFC 2920 group.

#![deny(missing_docs)]

mod connection;
mod file;
mod message;
mod pool;
mod smtp;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::PathBuf;

pub use file::{FileMailer, WriterMailer, stdout_mailer};
/// The sender and recipient type of lettre, so that callers need not depend on lettre.
pub use lettre::message::Mailbox;
pub use message::{
    ListUnsubscribe, ListUnsubscribePost, build_message, crlf, eml_file_name, recipient_address,
};
pub use smtp::{Password, SmtpMailer, SmtpSettings, TlsMode};

/// A configuration error of a mailer.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The sender (`RAPPELS_FROM`) is not a mailbox such as `MyKarfour <noreply@example.org>`.
    #[error("invalid sender {value:?}: {reason}")]
    InvalidSender {
        /// The refused value.
        value: String,
        /// lettre's complaint.
        reason: String,
    },
    /// `RAPPELS_SMTP_TLS` is not `starttls`, `tls` or `none`.
    #[error("invalid TLS mode {0:?}: expected starttls, tls or none")]
    InvalidTlsMode(String),
    /// A user is configured but no password (`RAPPELS_SMTP_PASSWORD`).
    #[error("an SMTP user is configured but no password: set RAPPELS_SMTP_PASSWORD")]
    MissingPassword,
    /// The TLS parameters cannot be built for the host.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// The output folder of the file mailer cannot be created.
    #[error("cannot create the mail folder {path}: {cause}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The IO error.
        cause: std::io::Error,
    },
}

/// Parses a sender mailbox such as `MyKarfour <noreply@example.org>`.
pub fn parse_sender(value: &str) -> Result<Mailbox, SmtpError> {
    value.parse().map_err(
        |e: lettre::address::AddressError| SmtpError::InvalidSender {
            value: value.to_owned(),
            reason: e.to_string(),
        },
    )
}

#[cfg(test)]
pub(crate) mod fixtures {
    use lettre::message::Mailbox;
    use rappels_core::domain::{EmailAddress, Kind, ManualId, ReminderKey, StudentId};
    use rappels_core::message::RenderedMessage;
    use rappels_core::ports::{Email, message_id};

    pub(crate) fn email(subject: &str) -> Email {
        Email {
            message_id: message_id(
                &ReminderKey::Manual(ManualId::new(500).unwrap()),
                "rappels.example.org",
            ),
            to: EmailAddress::parse("awa.kone@example.org").unwrap(),
            to_name: "Awa Koné".to_owned(),
            kind: Kind::Manual,
            student: StudentId::new(1).unwrap(),
            message: RenderedMessage {
                subject: subject.to_owned(),
                text: "Bonjour Awa,\nCourage pour demain !".to_owned(),
                html: "<p>Bonjour Awa,<br>Courage pour demain !</p>".to_owned(),
            },
            unsubscribe_url: None,
        }
    }

    pub(crate) fn sender() -> Mailbox {
        super::parse_sender("MyKarfour <noreply@example.org>").unwrap()
    }

    #[test]
    fn senders_are_parsed() {
        assert!(super::parse_sender("noreply@example.org").is_ok());
        let err = super::parse_sender("MyKarfour noreply")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid sender \"MyKarfour noreply\""),
            "{err}"
        );
    }
}
