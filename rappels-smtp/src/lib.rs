//! Mail delivery for rappels: implementations of `rappels_core::ports::Mailer`.
//!
//! Every mailer here builds the same RFC 5322 message with lettre — From, To, Subject, Date,
//! the Message-ID derived from the reminder key, and a `multipart/alternative` body with the
//! plain-text and HTML parts — and differs only in where the bytes go. [`FileMailer`] writes
//! one `.eml` file per reminder into a folder and [`WriterMailer`] (with [`stdout_mailer`])
//! prints them, so a school can try rappels end to end without any mail server. The SMTP
//! transport joins them here, on the same message builder.

#![deny(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use rappels_core::ports::{Delivery, Email, MailError, Mailer};

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
    /// The output folder of the file mailer cannot be created.
    #[error("cannot create the mail folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
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

/// Builds the MIME message of an e-mail. A recipient lettre refuses is a permanent
/// failure: retrying cannot fix an address.
pub fn build_message(email: &Email, from: &Mailbox) -> Result<Message, MailError> {
    let address = email
        .to
        .as_ref()
        .parse()
        .map_err(|e| MailError::permanent(format!("recipient {} refused: {e}", email.to)))?;
    let name = (!email.to_name.is_empty()).then(|| email.to_name.clone());
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(name, address))
        .subject(email.message.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            email.message.text.clone(),
            email.message.html.clone(),
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

/// Writes each e-mail as an `.eml` file into a folder, where any mail client can open it.
#[derive(Debug, Clone)]
pub struct FileMailer {
    folder: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `folder` (created if needed) as `from`.
    pub fn new(folder: impl Into<PathBuf>, from: Mailbox) -> Result<Self, SmtpError> {
        let folder = folder.into();
        std::fs::create_dir_all(&folder).map_err(|source| SmtpError::Folder {
            path: folder.clone(),
            source,
        })?;
        Ok(FileMailer { folder, from })
    }

    /// The folder messages are written to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        let bytes = build_message(email, &self.from)?.formatted();
        let path = self.folder.join(eml_file_name(email));
        // Write then rename, so a reader never sees half a message.
        let partial = path.with_extension("eml.partial");
        let io = |e: std::io::Error| {
            MailError::transient(format!("cannot write {}: {e}", path.display()))
        };
        tokio::fs::write(&partial, &bytes).await.map_err(io)?;
        tokio::fs::rename(&partial, &path).await.map_err(io)?;
        Ok(Delivery {
            reply: format!("written to {}", path.display()),
        })
    }
}

/// Writes each e-mail, followed by a blank line, to a writer (stdout for
/// [`stdout_mailer`]).
#[derive(Debug)]
pub struct WriterMailer<W> {
    out: Mutex<W>,
    from: Mailbox,
}

impl<W: Write + Send> WriterMailer<W> {
    /// A mailer writing to `out` as `from`.
    pub fn new(out: W, from: Mailbox) -> Self {
        WriterMailer {
            out: Mutex::new(out),
            from,
        }
    }

    /// The writer, to read back what was written.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A mailer that prints every message on standard output.
pub fn stdout_mailer(from: Mailbox) -> WriterMailer<std::io::Stdout> {
    WriterMailer::new(std::io::stdout(), from)
}

#[async_trait]
impl<W: Write + Send> Mailer for WriterMailer<W> {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        let bytes = build_message(email, &self.from)?.formatted();
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.write_all(&bytes)
            .and_then(|()| out.write_all(b"\r\n"))
            .and_then(|()| out.flush())
            .map_err(|e| MailError::transient(format!("cannot write the message: {e}")))?;
        Ok(Delivery {
            reply: "printed".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rappels_core::domain::{EmailAddress, Kind, ManualId, ReminderKey, StudentId};
    use rappels_core::message::RenderedMessage;
    use rappels_core::ports::message_id;

    fn email(subject: &str) -> Email {
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

    fn sender() -> Mailbox {
        parse_sender("MyKarfour <noreply@example.org>").unwrap()
    }

    #[test]
    fn senders_are_parsed() {
        assert!(parse_sender("noreply@example.org").is_ok());
        let err = parse_sender("MyKarfour noreply").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid sender \"MyKarfour noreply\""),
            "{err}"
        );
    }

    #[test]
    fn messages_carry_the_headers_and_both_parts() {
        let raw = String::from_utf8(
            build_message(&email("Message de Mariam : Révise ce soir"), &sender())
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(
            raw.contains("From: MyKarfour <noreply@example.org>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("Message-ID: <manual.500@rappels.example.org>\r\n"),
            "{raw}"
        );
        assert!(raw.contains("Date: "), "{raw}");
        assert!(raw.contains("awa.kone@example.org>"), "{raw}");
        // Non-ASCII subjects and names are encoded words (RFC 2047): headers stay ASCII.
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(headers.is_ascii(), "{headers}");
        assert!(
            headers.contains("Subject: Message de Mariam : =?utf-8?b?"),
            "{headers}"
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

    #[tokio::test]
    async fn the_file_mailer_writes_one_eml_per_reminder() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = FileMailer::new(dir.path().join("outbox"), sender()).unwrap();
        let delivery = mailer.send(&email("Révise ce soir")).await.unwrap();
        let path = dir.path().join("outbox/manual.500@rappels.example.org.eml");
        assert_eq!(delivery.reply, format!("written to {}", path.display()));
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(raw.contains("Message-ID: <manual.500@rappels.example.org>"));
        // Sending the same reminder again replaces the file: one file per reminder.
        mailer.send(&email("Révise ce soir")).await.unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("outbox"))
                .unwrap()
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn the_writer_mailer_prints_messages() {
        let mailer = WriterMailer::new(Vec::new(), sender());
        mailer.send(&email("Coucou")).await.unwrap();
        mailer.send(&email("Encore")).await.unwrap();
        let out = String::from_utf8(mailer.into_inner()).unwrap();
        assert_eq!(
            out.matches("Message-ID: <manual.500@rappels.example.org>")
                .count(),
            2
        );
        assert!(out.contains("Subject: Coucou\r\n") && out.contains("Subject: Encore\r\n"));
    }

    #[tokio::test]
    async fn the_file_mailer_serves_the_reminders_engine() {
        use rappels_core::message::Templates;
        use rappels_core::scenario::Scenario;
        use rappels_core::service::{Reminders, RunOptions, ServiceConfig};
        use rappels_core::testing::{FixedClock, MemoryStore};
        let scenario = Scenario::from_json(
            r#"{ "students": [ { "id": 1, "first_name": "Awa", "email": "awa@example.org",
                 "account_active": true, "subscription_active": true } ],
                 "sessions": [ { "id": 100, "student_id": 1, "subject": "Mathématiques",
                 "starts_at": "2026-11-27T14:00:00Z" } ] }"#,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let settings = scenario.settings.clone();
        let engine = Reminders::new(
            MemoryStore::new(scenario),
            FileMailer::new(dir.path(), sender()).unwrap(),
            FixedClock::new(rappels_core::domain::parse_instant("2026-11-26T17:45:00Z").unwrap()),
            settings,
            Templates::embedded(),
            ServiceConfig::default(),
        );
        let report = engine.run(&RunOptions::default()).await.unwrap();
        assert_eq!(report.sent, 1);
        let raw = std::fs::read_to_string(
            dir.path()
                .join("session_eve.1.100.2026-11-26@rappels.localhost.eml"),
        )
        .unwrap();
        assert!(raw.contains("To: Awa <awa@example.org>"), "{raw}");
    }
}
