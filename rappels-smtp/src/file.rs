//! Mailers that need no server: `.eml` files in a folder, or standard output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use lettre::message::Mailbox;
use rappels_core::ports::{Delivery, Email, MailError, Mailer};

use crate::SmtpError;
use crate::message::{build_message, eml_file_name};

/// Writes each e-mail as an `.eml` file into a folder, where any mail client can open it.
///
/// Sends may run concurrently: each writes its own file.
#[derive(Debug, Clone)]
pub struct FileMailer {
    folder: PathBuf,
    from: Mailbox,
    concurrency: usize,
}

impl FileMailer {
    /// A mailer writing into `folder` (created if needed) as `from`.
    pub fn new(folder: impl Into<PathBuf>, from: Mailbox) -> Result<Self, SmtpError> {
        let folder = folder.into();
        std::fs::create_dir_all(&folder).map_err(|cause| SmtpError::Folder {
            path: folder.clone(),
            cause,
        })?;
        Ok(FileMailer {
            folder,
            from,
            concurrency: Self::DEFAULT_CONCURRENCY,
        })
    }

    /// Files written at once unless told otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 4;

    /// Writes `concurrency` files at once (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
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
        let io = |e: std::io::Error| {
            MailError::transient(format!("cannot write {}: {e}", path.display()))
        };
        // Write then rename, so a reader never sees half a message. The temporary file has
        // an unpredictable name in the outbox itself and is created exclusively (O_EXCL), so
        // a symlink or file planted there is never followed nor reused. The rename replaces
        // the name `path` itself: a symlink planted at it is replaced, not written through,
        // and sending a reminder again replaces its file (one file per reminder).
        let (folder, target) = (self.folder.clone(), path.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut partial = tempfile::Builder::new()
                .prefix(".rappels-")
                .suffix(".eml.partial")
                .tempfile_in(&folder)?;
            partial.write_all(&bytes)?;
            partial.persist(&target).map_err(|e| e.error)?;
            Ok(())
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)?;
        Ok(Delivery {
            reply: format!("written to {}", path.display()),
        })
    }

    fn concurrency(&self) -> usize {
        self.concurrency
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

    /// Four "in flight", though a send never waits: it builds its message and writes it
    /// whole under the writer's lock, so messages never interleave. The run sizes its
    /// outcome queue by this figure, and at 1 it committed an outcome transaction every
    /// few messages (100,000 printed at 5,600 a second; at 4, see BENCHMARKS.md).
    fn concurrency(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{email, sender};

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

    #[cfg(unix)]
    #[tokio::test]
    async fn the_file_mailer_never_writes_through_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mailer = FileMailer::new(&outbox, sender()).unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let name = "manual.500@rappels.example.org.eml";
        // The old predictable partial name, and the target itself.
        std::os::unix::fs::symlink(&victim, outbox.join(format!("{name}.partial"))).unwrap();
        std::os::unix::fs::symlink(&victim, outbox.join(name)).unwrap();
        mailer.send(&email("Révise ce soir")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let written = outbox.join(name);
        assert!(!std::fs::symlink_metadata(&written).unwrap().is_symlink());
        assert!(
            std::fs::read_to_string(&written)
                .unwrap()
                .contains("Message-ID:")
        );
    }

    #[test]
    fn the_file_mailer_writes_several_files_at_once_and_so_does_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let files = FileMailer::new(dir.path(), sender()).unwrap();
        assert_eq!(files.concurrency(), FileMailer::DEFAULT_CONCURRENCY);
        assert_eq!(files.clone().with_concurrency(16).concurrency(), 16);
        assert_eq!(files.with_concurrency(0).concurrency(), 1);
        assert_eq!(WriterMailer::new(Vec::new(), sender()).concurrency(), 4);
    }

    #[tokio::test]
    async fn the_writer_mailer_prints_whole_messages_even_when_sends_overlap() {
        let mailer = WriterMailer::new(Vec::new(), sender());
        let subjects: Vec<String> = (0..8).map(|n| format!("Rappel {n}")).collect();
        let emails: Vec<Email> = subjects.iter().map(|s| email(s)).collect();
        let sends: Vec<_> = emails.iter().map(|e| mailer.send(e)).collect();
        for sent in futures::future::join_all(sends).await {
            sent.unwrap();
        }
        let out = String::from_utf8(mailer.into_inner()).unwrap();
        // Each message is written whole, then a blank line: cut the output where a blank
        // line is followed by the header every message starts with, and every piece is one
        // message, with one subject and one Message-ID.
        let first_header = &out[..=out.find(':').unwrap()];
        let messages: Vec<&str> = out.split(&format!("\r\n\r\n{first_header}")).collect();
        assert_eq!(messages.len(), 8, "{out}");
        for message in messages {
            assert_eq!(message.matches("Subject: Rappel ").count(), 1, "{message}");
            assert_eq!(message.matches("Message-ID: ").count(), 1, "{message}");
        }
        assert!(out.ends_with("\r\n\r\n"));
        for subject in &subjects {
            assert_eq!(out.matches(&format!("Subject: {subject}\r\n")).count(), 1);
        }
    }

    #[tokio::test]
    async fn the_file_mailer_serves_the_reminders_engine() {
        use rappels_core::message::Templates;
        use rappels_core::scenario::Scenario;
        use rappels_core::service::{RunOptions, Sender, ServiceConfig};
        use rappels_core::testing::{FixedClock, MemoryStore};
        let scenario = Scenario::from_json(
            r#"{ "students": [ { "id": 1, "first_name": "Awa", "email": "awa@example.org",
                 "account_active": true, "subscription_active": true } ],
                 "sessions": [ { "id": 100, "student_id": 1, "subject": "Mathématiques",
                 "starts_at": "2026-11-27T14:00:00Z" } ] }"#,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let engine = Sender::new(
            MemoryStore::new(scenario),
            FileMailer::new(dir.path(), sender()).unwrap(),
            FixedClock::new(rappels_core::domain::parse_instant("2026-11-26T17:45:00Z").unwrap()),
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
