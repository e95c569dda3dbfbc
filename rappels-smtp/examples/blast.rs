//! Sends N reminder-sized messages (~3 KB, multipart like a real reminder) over `SmtpMailer`
//! from C concurrent tasks, and prints the messages per second: a yardstick against
//! Postfix's `smtp-source` on a loopback `smtp-sink`.
//!
//! ```text
//! /usr/sbin/smtp-sink -c -u nobody 127.0.0.1:2525 1024 &
//! cargo run --release -p rappels-smtp --example blast -- 127.0.0.1:2525 20000 4
//! ```
//!
//! Plain SMTP only (no TLS, no AUTH), one connection per task (`pool_size` = C).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use rappels_core::domain::{EmailAddress, Kind, ManualId, ReminderKey, StudentId};
use rappels_core::message::RenderedMessage;
use rappels_core::ports::{Email, Mailer, message_id};
use rappels_smtp::{SmtpMailer, SmtpSettings, TlsMode, build_message, parse_sender};

const USAGE: &str = "usage: blast HOST:PORT MESSAGES CONNECTIONS";

fn email(n: i64) -> Result<Email, String> {
    let id = ManualId::new(n).map_err(|e| e.to_string())?;
    let paragraph = "Ta séance de Mathématiques a lieu demain à 14:00 avec Mariam. Pense à \
                     relire le chapitre sur les fonctions affines et à préparer tes questions. ";
    Ok(Email {
        message_id: message_id(&ReminderKey::Manual(id), "rappels.example.org"),
        to: EmailAddress::parse("chloe.dubois@example.org").map_err(|e| e.to_string())?,
        to_name: "Chloé Dubois".into(),
        kind: Kind::Manual,
        student: StudentId::new(5).map_err(|e| e.to_string())?,
        message: RenderedMessage {
            subject: "Demain : Mathématiques à 14:00".into(),
            text: format!("Bonjour Chloé,\n\n{}\n\nÀ demain !\n", paragraph.repeat(6)),
            html: format!(
                "<html><body><p>Bonjour Chloé,</p><p>{}</p><p>À demain !</p></body></html>",
                paragraph.repeat(6)
            ),
        },
        unsubscribe_url: None,
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, messages, connections] = args.as_slice() else {
        return Err(USAGE.into());
    };
    let (host, port) = server.rsplit_once(':').ok_or(USAGE)?;
    let port: u16 = port.parse().map_err(|_| USAGE)?;
    let messages: i64 = messages.parse().map_err(|_| USAGE)?;
    let connections: u32 = connections.parse().map_err(|_| USAGE)?;

    let from = parse_sender("MyKarfour <noreply@example.org>").map_err(|e| e.to_string())?;
    let size = build_message(&email(1)?, &from)
        .map_err(|e| e.to_string())?
        .formatted()
        .len();
    let mut settings = SmtpSettings::new(host, from);
    settings.port = Some(port);
    settings.tls = TlsMode::None;
    settings.pool_size = connections;
    settings.timeout = Duration::from_secs(30);
    let mailer = SmtpMailer::new(settings).map_err(|e| e.to_string())?;

    let next = Arc::new(AtomicI64::new(1));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..mailer.concurrency() {
        let (mailer, next) = (mailer.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n > messages {
                    return Ok::<(), String>(());
                }
                mailer
                    .send(&email(n)?)
                    .await
                    .map_err(|e| format!("message {n}: {e}"))?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    let seconds = started.elapsed().as_secs_f64();
    mailer.close().await;
    println!(
        "{messages} messages of {size} bytes over {connections} connection(s) in {seconds:.2} s: {:.0} messages/s",
        messages as f64 / seconds
    );
    Ok(())
}
