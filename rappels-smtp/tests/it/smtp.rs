//! `SmtpMailer` against a real server: headers, parts and encoding, the pool and its
//! connections, pipelining, TLS and AUTH, and how each kind of failure is classified.

use std::time::Duration;

use mailparse::MailHeaderMap;
use rappels_core::domain::{EmailAddress, Kind, ReminderKey, StudentId, parse_instant};
use rappels_core::message::RenderedMessage;
use rappels_core::ports::{Email, Mailer, message_id};
use rappels_smtp::testing::{
    Answer, AuthMechanism, CloseAfterMessage, ServerAuth, ServerOptions, ServerTls, TestServer,
};
use rappels_smtp::{Password, SmtpMailer, SmtpSettings, TlsMode, parse_sender};

fn settings(port: u16, pool_size: u32) -> SmtpSettings {
    let mut settings = SmtpSettings::new(
        "127.0.0.1",
        parse_sender("MyKarfour <noreply@example.org>").unwrap(),
    );
    settings.port = Some(port);
    settings.tls = TlsMode::None;
    settings.pool_size = pool_size;
    settings.timeout = Duration::from_secs(10);
    settings.hello_name = Some("rappels.test".into());
    settings
}

fn mailer(port: u16, pool_size: u32) -> SmtpMailer {
    SmtpMailer::new(settings(port, pool_size)).unwrap()
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
    assert!(error.is_transient() && !error.is_session(), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "127.0.0.1:{}: refused the recipient chloe.dubois@example.org: 451 4.3.2 Try again later",
            server.port
        )
        .replacen(": refused", " refused", 1)
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_5xx_reply_is_a_permanent_failure() {
    let server = TestServer::start(Answer::Reject);
    let error = mailer(server.port, 1).send(&email(1)).await.unwrap_err();
    assert!(error.is_permanent() && !error.is_session(), "{error}");
    assert!(
        error.to_string().contains("550 5.1.1 No such mailbox"),
        "{error}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_session_failure() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = mailer(port, 1);
    let error = mailer.send(&email(1)).await.unwrap_err();
    assert!(error.is_session() && error.is_transient(), "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")),
        "{error}"
    );
    assert!(mailer.check_connection().await.unwrap_err().is_session());
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
    use rappels_core::service::{RunOptions, Sender, ServiceConfig};
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
    let engine = Sender::new(
        MemoryStore::new(scenario),
        mailer(server.port, 2),
        FixedClock::new(parse_instant("2026-11-26T18:45:00Z").unwrap()),
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

/// A refusal leaves the connection in step (the group's other replies read, then RSET), so
/// the next message goes over the same connection, with or without pipelining.
#[tokio::test]
async fn refusals_keep_the_connection_in_step() {
    for pipelining in [true, false] {
        for answer in [Answer::Reject, Answer::Busy] {
            let server = TestServer::with(ServerOptions {
                answer,
                pipelining,
                ..ServerOptions::default()
            });
            let mailer = mailer(server.port, 1);
            for n in 1..=3 {
                let error = mailer.send(&email(n)).await.unwrap_err();
                assert!(!error.is_session(), "{error}");
            }
            assert_eq!(
                server.connections(),
                1,
                "{answer:?}, pipelining {pipelining}"
            );
        }
    }
}

#[tokio::test]
async fn the_end_of_the_content_is_classified_too() {
    for (answer, permanent, text) in [
        (Answer::Busy, false, "451 4.3.0 Queue full"),
        (Answer::Reject, true, "554 5.6.0 Message refused"),
    ] {
        let server = TestServer::with(ServerOptions {
            end_of_data: answer,
            ..ServerOptions::default()
        });
        let mailer = mailer(server.port, 1);
        let error = mailer.send(&email(1)).await.unwrap_err();
        assert_eq!(error.is_permanent(), permanent, "{error}");
        assert!(!error.is_session(), "{error}");
        assert!(error.to_string().contains(text), "{error}");
        // The transaction is over: the connection carries the next message.
        mailer.send(&email(2)).await.unwrap_err();
        assert_eq!(server.connections(), 1);
    }
    let closing = TestServer::with(ServerOptions {
        end_of_data: Answer::Closing,
        ..ServerOptions::default()
    });
    let error = mailer(closing.port, 1).send(&email(1)).await.unwrap_err();
    assert!(error.is_session(), "{error}");
    assert!(
        error.to_string().contains("is closing the session: 421"),
        "{error}"
    );
}

/// 421 and a refused sender are the session's failures, not the message's.
#[tokio::test]
async fn a_421_or_a_refused_sender_is_a_session_failure() {
    for pipelining in [true, false] {
        let closing = TestServer::with(ServerOptions {
            answer: Answer::Closing,
            pipelining,
            ..ServerOptions::default()
        });
        let error = mailer(closing.port, 1).send(&email(1)).await.unwrap_err();
        assert!(error.is_session(), "{error}");
        assert!(
            error.to_string().contains("is closing the session: 421"),
            "{error}"
        );

        let refusing = TestServer::with(ServerOptions {
            refuse_sender: true,
            pipelining,
            ..ServerOptions::default()
        });
        let mailer = mailer(refusing.port, 1);
        let error = mailer.send(&email(1)).await.unwrap_err();
        assert!(error.is_session(), "{error}");
        assert!(
            error
                .to_string()
                .contains("refused the sender noreply@example.org: 553 5.7.1"),
            "{error}"
        );
        // Still in step: the next attempt is refused the same way on the same connection.
        assert!(mailer.send(&email(2)).await.unwrap_err().is_session());
        assert_eq!(refusing.connections(), 1);
    }
}

/// The server holds its replies to MAIL and RCPT until DATA arrives (RFC 2920 lets it), so
/// only a client that sends the three without waiting gets through; and per message the
/// client waits twice, for the group's replies and for the content's.
#[tokio::test]
async fn the_envelope_is_pipelined_in_one_round_trip() {
    for (pipelining, round_trips) in [(true, 2), (false, 4)] {
        let server = TestServer::with(ServerOptions {
            pipelining,
            ..ServerOptions::default()
        });
        let mut settings = settings(server.port, 1);
        // A client that waited for MAIL's reply would wait this long, then fail.
        settings.timeout = Duration::from_secs(5);
        let mailer = SmtpMailer::new(settings).unwrap();
        mailer.send(&email(1)).await.expect("delivered");
        let before = server.reply_batches();
        for n in 2..=11 {
            mailer.send(&email(n)).await.expect("delivered");
        }
        assert_eq!(
            server.reply_batches() - before,
            10 * round_trips,
            "pipelining {pipelining}"
        );
        assert_eq!(server.connections(), 1);
        assert_eq!(server.received().len(), 11);
    }
}

/// A server that closed a pooled connection (while it was idle) costs nothing but a new
/// connection: the message was not written on the dead one, so it goes on the new one.
#[tokio::test]
async fn a_connection_the_server_closed_is_replaced() {
    for close in [CloseAfterMessage::Silently, CloseAfterMessage::With421] {
        for pipelining in [true, false] {
            let server = TestServer::with(ServerOptions {
                close_after_message: Some(close),
                pipelining,
                ..ServerOptions::default()
            });
            let mailer = mailer(server.port, 1);
            for n in 1..=3 {
                mailer
                    .send(&email(n))
                    .await
                    .unwrap_or_else(|e| panic!("{close:?}, pipelining {pipelining}: {e}"));
            }
            assert_eq!(server.received().len(), 3, "each message once");
            assert_eq!(server.connections(), 3);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_sends_share_four_connections() {
    let server = TestServer::start(Answer::Accept);
    let mailer = mailer(server.port, 4);
    assert_eq!(mailer.concurrency(), 4);
    let mut sends = tokio::task::JoinSet::new();
    for n in 1..=8 {
        let mailer = mailer.clone();
        sends.spawn(async move { mailer.send(&email(n)).await });
    }
    while let Some(result) = sends.join_next().await {
        result.unwrap().expect("every message is accepted");
    }
    assert!(
        server.most_connections_at_once() <= 4,
        "{} connections at once",
        server.most_connections_at_once()
    );
    assert!(server.connections() <= 4, "{}", server.connections());
    let mut ids: Vec<String> = server
        .received()
        .iter()
        .map(|r| {
            mailparse::parse_mail(&r.data)
                .unwrap()
                .headers
                .get_first_value("Message-ID")
                .unwrap()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "every message arrived once");
    assert_eq!(server.received().len(), 8);
}

fn tls_settings(server: &TestServer, mode: TlsMode) -> SmtpSettings {
    let mut settings = settings(server.port, 1);
    settings.tls = mode;
    settings.extra_root_certificate = server.certificate_pem();
    settings
}

#[tokio::test]
async fn starttls_and_implicit_tls_deliver() {
    for (server_tls, mode) in [
        (ServerTls::StartTls, TlsMode::StartTls),
        (ServerTls::Implicit, TlsMode::Tls),
    ] {
        let server = TestServer::with(ServerOptions {
            tls: server_tls,
            ..ServerOptions::default()
        });
        let mailer = SmtpMailer::new(tls_settings(&server, mode)).unwrap();
        mailer.check_connection().await.expect("TLS set up");
        for n in 1..=3 {
            mailer.send(&email(n)).await.expect("delivered over TLS");
        }
        assert_eq!(server.received().len(), 3);
        // The check's connection, then one for the three messages.
        assert_eq!(server.connections(), 2, "{mode:?}");
    }
}

#[tokio::test]
async fn tls_failures_are_session_failures() {
    // STARTTLS required, not offered.
    let plain = TestServer::start(Answer::Accept);
    let mut settings = settings(plain.port, 1);
    settings.tls = TlsMode::StartTls;
    let error = SmtpMailer::new(settings.clone())
        .unwrap()
        .send(&email(1))
        .await
        .unwrap_err();
    assert!(error.is_session(), "{error}");
    assert!(
        error.to_string().contains("does not offer STARTTLS"),
        "{error}"
    );
    // Implicit TLS against a plain server: the handshake fails.
    settings.tls = TlsMode::Tls;
    let error = SmtpMailer::new(settings)
        .unwrap()
        .send(&email(1))
        .await
        .unwrap_err();
    assert!(error.is_session(), "{error}");
    assert!(error.to_string().contains("TLS failed"), "{error}");
    assert!(plain.received().is_empty());
    // A certificate nobody vouches for.
    for (server_tls, mode) in [
        (ServerTls::StartTls, TlsMode::StartTls),
        (ServerTls::Implicit, TlsMode::Tls),
    ] {
        let server = TestServer::with(ServerOptions {
            tls: server_tls,
            ..ServerOptions::default()
        });
        let mut untrusted = tls_settings(&server, mode);
        untrusted.extra_root_certificate = None;
        let mailer = SmtpMailer::new(untrusted).unwrap();
        let error = mailer.send(&email(1)).await.unwrap_err();
        assert!(error.is_session(), "{error}");
        assert!(error.to_string().contains("certificate"), "{error}");
        assert!(mailer.check_connection().await.unwrap_err().is_session());
        assert!(server.received().is_empty());
    }
}

#[tokio::test]
async fn an_extra_root_certificate_must_be_a_certificate() {
    let mut settings = settings(25, 1);
    settings.tls = TlsMode::StartTls;
    settings.extra_root_certificate = Some(b"not a certificate".to_vec());
    let error = SmtpMailer::new(settings).unwrap_err().to_string();
    assert!(error.starts_with("cannot set up TLS: "), "{error}");
}

#[tokio::test]
async fn auth_plain_and_login_deliver_and_a_wrong_password_is_a_session_failure() {
    for mechanism in [AuthMechanism::Plain, AuthMechanism::Login] {
        let server = TestServer::with(ServerOptions {
            tls: ServerTls::StartTls,
            auth: Some(ServerAuth {
                mechanisms: vec![mechanism.clone()],
                user: "ecole".into(),
                password: "s3cret-Pa55".into(),
            }),
            ..ServerOptions::default()
        });
        let mut right = tls_settings(&server, TlsMode::StartTls);
        right.user = Some("ecole".into());
        right.password = Some(Password::new("s3cret-Pa55"));
        let mailer = SmtpMailer::new(right.clone()).unwrap();
        mailer.check_connection().await.expect("authenticated");
        mailer.send(&email(1)).await.expect("delivered");
        assert_eq!(server.received().len(), 1, "{mechanism:?}");

        let mut wrong = right.clone();
        wrong.password = Some(Password::new("hunter2-wrong"));
        let mailer = SmtpMailer::new(wrong).unwrap();
        let error = mailer.send(&email(2)).await.unwrap_err();
        assert!(error.is_session(), "{error}");
        let text = error.to_string();
        assert!(text.contains("authentication failed: 535"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(mailer.check_connection().await.unwrap_err().is_session());

        // Without credentials the server refuses the sender (mailin says 503, others 530): a
        // session failure too.
        let mut anonymous = right;
        anonymous.user = None;
        anonymous.password = None;
        let error = SmtpMailer::new(anonymous)
            .unwrap()
            .send(&email(3))
            .await
            .unwrap_err();
        assert!(error.is_session(), "{error}");
        assert!(error.to_string().contains("refused the sender"), "{error}");
        assert_eq!(server.received().len(), 1);
    }
}
