//! `SmtpMailer` against a real server: headers, parts and encoding, the pool, and how each
//! kind of failure is classified.

use std::time::Duration;

use mailparse::MailHeaderMap;
use rappels_core::domain::{EmailAddress, Kind, ReminderKey, StudentId, parse_instant};
use rappels_core::message::RenderedMessage;
use rappels_core::ports::{Email, Mailer, message_id};
use rappels_smtp::{SmtpMailer, SmtpSettings, TlsMode, parse_sender};

use rappels_smtp::testing::{Answer, TestServer};

fn mailer(port: u16, pool_size: u32) -> SmtpMailer {
    let mut settings = SmtpSettings::new(
        "127.0.0.1",
        parse_sender("MyKarfour <noreply@example.org>").unwrap(),
    );
    settings.port = Some(port);
    settings.tls = TlsMode::None;
    settings.pool_size = pool_size;
    settings.timeout = Duration::from_secs(10);
    settings.hello_name = Some("rappels.test".into());
    SmtpMailer::new(settings).unwrap()
}

fn email(n: i64) -> Email {
    let key = ReminderKey::Session {
        student: StudentId::new(5).unwrap(),
        day: rappels_core::domain::SessionReminder::Eve,
        session: rappels_core::domain::SessionId::new(n).unwrap(),
        slot_date: "2026-11-26".parse().unwrap(),
    };
    Email {
        message_id: message_id(&key, "rappels.example.org"),
        to: EmailAddress::parse("chloe.dubois@example.org").unwrap(),
        to_name: "Chloé Dubois".into(),
        kind: Kind::SessionEve,
        student: StudentId::new(5).unwrap(),
        message: RenderedMessage {
            subject: "Demain : Mathématiques à 14:00".into(),
            text: "Bonjour Chloé,\nta séance de Mathématiques a lieu demain à 14:00.\n".into(),
            html: "<p>Bonjour Chloé,<br>ta séance de <strong>Mathématiques</strong> a lieu demain.</p>".into(),
        },
        unsubscribe_url: Some("https://ecole.example.org/unsubscribe?token=djE6NTpzZXNzaW9u.c2ln".into()),
    }
}

#[tokio::test]
async fn a_reminder_arrives_with_its_headers_parts_and_encoding() {
    let server = TestServer::start(Answer::Accept);
    let delivery = mailer(server.port, 1)
        .send(&email(100))
        .await
        .expect("accepted");
    assert!(delivery.reply.starts_with("250"), "{}", delivery.reply);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "noreply@example.org");
    assert_eq!(received[0].to, ["chloe.dubois@example.org"]);
    let mail = mailparse::parse_mail(&received[0].data).unwrap();
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    assert_eq!(header("Subject"), "Demain : Mathématiques à 14:00");
    assert_eq!(header("From"), "MyKarfour <noreply@example.org>");
    assert_eq!(header("To"), "Chloé Dubois <chloe.dubois@example.org>");
    assert_eq!(
        header("Message-ID"),
        "<session_eve.5.100.2026-11-26@rappels.example.org>"
    );
    assert_eq!(
        header("List-Unsubscribe"),
        "<https://ecole.example.org/unsubscribe?token=djE6NTpzZXNzaW9u.c2ln>"
    );
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let date = mailparse::dateparse(&header("Date")).expect("a valid Date header");
    assert!(date > parse_instant("2026-01-01T00:00:00Z").unwrap().timestamp());
    // Every header line is ASCII: non-ASCII names and subjects travel as encoded words.
    let head_len = received[0]
        .data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    assert!(received[0].data[..head_len].is_ascii());

    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    assert_eq!(mail.subparts.len(), 2);
    assert_eq!(mail.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(mail.subparts[0].ctype.charset, "utf-8");
    assert_eq!(
        mail.subparts[0].get_body().unwrap().replace("\r\n", "\n"),
        "Bonjour Chloé,\nta séance de Mathématiques a lieu demain à 14:00.\n"
    );
    assert_eq!(mail.subparts[1].ctype.mimetype, "text/html");
    assert!(
        mail.subparts[1]
            .get_body()
            .unwrap()
            .contains("<strong>Mathématiques</strong>")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_sends_1000_messages_over_a_few_connections() {
    let server = TestServer::start(Answer::Accept);
    let mailer = mailer(server.port, 4);
    let mut sends = tokio::task::JoinSet::new();
    for n in 1..=1000 {
        let mailer = mailer.clone();
        sends.spawn(async move { mailer.send(&email(n)).await });
    }
    while let Some(result) = sends.join_next().await {
        result.unwrap().expect("every message is accepted");
    }
    let received = server.received();
    assert_eq!(received.len(), 1000);
    let ids: std::collections::HashSet<String> = received
        .iter()
        .map(|r| {
            mailparse::parse_mail(&r.data)
                .unwrap()
                .headers
                .get_first_value("Message-ID")
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1000, "every message arrived once");
    // Connections are reused: lettre parks a connection back in the pool a moment after the
    // send returns, so a send that starts in that moment may open one more, which the pool
    // then closes. A handful over a pool of 4, never one per message.
    let connections = server.connections();
    assert!(
        (1..=40).contains(&connections),
        "{connections} connections for 1000 messages and a pool of 4"
    );
}

#[tokio::test]
async fn a_4xx_reply_is_a_transient_failure() {
    let server = TestServer::start(Answer::Busy);
    let error = mailer(server.port, 1).send(&email(1)).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("451"), "{error}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_5xx_reply_is_a_permanent_failure() {
    let server = TestServer::start(Answer::Reject);
    let error = mailer(server.port, 1).send(&email(1)).await.unwrap_err();
    assert!(error.is_permanent(), "{error}");
    assert!(error.to_string().contains("550"), "{error}");
}

#[tokio::test]
async fn a_closed_port_is_a_transient_failure() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = mailer(port, 1);
    let error = mailer.send(&email(1)).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(mailer.check_connection().await.unwrap_err().is_transient());
}

#[tokio::test]
async fn the_connection_check_says_hello_without_sending() {
    let server = TestServer::start(Answer::Accept);
    mailer(server.port, 1)
        .check_connection()
        .await
        .expect("the server answers");
    assert!(server.connections() >= 1);
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn the_engine_delivers_through_smtp_with_one_click_unsubscribe_on_automatic_kinds() {
    use rappels_core::message::Templates;
    use rappels_core::scenario::Scenario;
    use rappels_core::service::{Reminders, RunOptions, ServiceConfig};
    use rappels_core::testing::{FixedClock, MemoryStore, SMALL_SCHOOL};
    use rappels_core::unsubscribe::{UnsubscribeConfig, UnsubscribeSecret, verify};

    let server = TestServer::start(Answer::Accept);
    let scenario = Scenario::from_json(SMALL_SCHOOL).unwrap();
    let secret = UnsubscribeSecret::new("a test secret of enough bytes").unwrap();
    let config = ServiceConfig {
        unsubscribe: Some(UnsubscribeConfig {
            secret: secret.clone(),
            base_url: "https://ecole.example.org".into(),
        }),
        ..ServiceConfig::default()
    };
    let settings = scenario.settings.clone();
    let engine = Reminders::new(
        MemoryStore::new(scenario),
        mailer(server.port, 2),
        FixedClock::new(parse_instant("2026-11-26T18:45:00Z").unwrap()),
        settings,
        Templates::embedded(),
        config,
    );
    let report = engine.run(&RunOptions::default()).await.unwrap();
    assert_eq!(report.sent, 4);
    let mails: Vec<_> = server.received().iter().map(|r| r.data.clone()).collect();
    assert_eq!(mails.len(), 4);
    for data in &mails {
        let mail = mailparse::parse_mail(data).unwrap();
        let id = mail.headers.get_first_value("Message-ID").unwrap();
        let link = mail.headers.get_first_value("List-Unsubscribe");
        if id.starts_with("<manual.") {
            assert_eq!(link, None, "manual reminders carry no unsubscribe header");
        } else {
            let link = link.expect("automatic reminders carry List-Unsubscribe");
            let token = link.split("token=").nth(1).unwrap().trim_end_matches('>');
            let (student, _family) = verify(&secret, token).expect("a token core can verify");
            let to = mail.headers.get_first_value("To").unwrap();
            assert!(
                to.contains(if student.get() == 1 { "awa@" } else { "lucas@" }),
                "{to}"
            );
            assert_eq!(
                mail.headers
                    .get_first_value("List-Unsubscribe-Post")
                    .as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
        }
    }
}
