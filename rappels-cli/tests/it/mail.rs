//! The mail configuration of the environment and `rappels test-email`: a real SMTP server in
//! this process, a closed port, invalid variables, and a password that never shows.

use std::net::TcpListener;
use std::process::Output;

use mailparse::MailHeaderMap;

use crate::fixture;
use crate::support::{TestDb, cli, import, stderr, stdout, succeeded};
use rappels_smtp::testing::{Answer, TestServer};

const PASSWORD: &str = "hunter2-secret";

/// SMTP without TLS to 127.0.0.1:`port`.
pub(crate) fn smtp(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("RAPPELS_MAILER", "smtp".to_owned()),
        ("RAPPELS_SMTP_HOST", "127.0.0.1".to_owned()),
        ("RAPPELS_SMTP_PORT", port.to_string()),
        ("RAPPELS_SMTP_TLS", "none".to_owned()),
    ]
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub(crate) fn rappels_with(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = cli();
    cmd.args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

#[test]
fn the_test_email_reaches_the_server_and_prints_its_reply() {
    let server = TestServer::start(Answer::Accept);
    let mut env = smtp(server.port);
    env.push((
        "RAPPELS_FROM",
        "École Horizon <rappels@ecole.example.org>".to_owned(),
    ));
    env.push(("RAPPELS_SITE_URL", "https://ecole.example.org".to_owned()));
    let out = rappels_with(
        &["test-email", "--to", "admin@example.org", "--locale", "en"],
        &env,
    );
    let printed = succeeded(out, "test-email");
    let expected = format!(
        "test e-mail sent to admin@example.org via smtp 127.0.0.1:{} (no TLS): 250",
        server.port
    );
    assert!(printed.starts_with(&expected), "{printed}");

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "rappels@ecole.example.org");
    assert_eq!(received[0].to, ["admin@example.org"]);
    let mail = mailparse::parse_mail(&received[0].data).unwrap();
    let get = |name: &str| mail.headers.get_first_value(name);
    assert_eq!(
        get("Subject").as_deref(),
        Some("Test e-mail from MyKarfour")
    );
    assert_eq!(get("List-Unsubscribe"), None);
    let id = get("Message-ID").unwrap();
    assert!(
        id.starts_with("<test.") && id.ends_with("@ecole.example.org>"),
        "{id}"
    );
    let text = mail.subparts[0].get_body().unwrap();
    assert!(text.contains("https://ecole.example.org"), "{text}");
}

#[test]
fn the_test_email_goes_to_the_outbox_by_default() {
    let cwd = tempfile::tempdir().unwrap();
    let out = cli()
        .args(["test-email", "--to", "admin@example.org"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let printed = succeeded(out, "test-email");
    assert!(
        printed.starts_with(
            "test e-mail sent to admin@example.org via folder rappels-outbox: written to rappels-outbox/test."
        ),
        "{printed}"
    );
    let files: Vec<_> = std::fs::read_dir(cwd.path().join("rappels-outbox"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(files[0].as_ref().unwrap().path()).unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    assert_eq!(
        mail.headers.get_first_value("Subject").as_deref(),
        Some("E-mail de test de MyKarfour")
    );
}

#[test]
fn an_unreachable_server_is_a_session_failure() {
    let out = rappels_with(
        &["test-email", "--to", "admin@example.org"],
        &smtp(closed_port()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not delivered (the mail session failed"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn a_refused_recipient_is_a_permanent_failure() {
    let server = TestServer::start(Answer::Reject);
    let out = rappels_with(
        &["test-email", "--to", "nobody@example.org"],
        &smtp(server.port),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not delivered (permanent failure"), "{err}");
    assert!(err.contains("550"), "{err}");
}

/// A folder that cannot be created is an IO failure, not a usage error.
#[test]
fn an_outbox_that_cannot_be_created_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    let mailer = format!("file:{}", file.join("outbox").display());
    let out = rappels_with(
        &["test-email", "--to", "admin@example.org"],
        &[("RAPPELS_MAILER", mailer)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("RAPPELS_MAILER: cannot create the mail folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_arguments_exit_2() {
    for args in [
        vec!["test-email", "--to", "not an address"],
        vec!["test-email", "--to", "admin@"],
        vec!["test-email", "--to", "admin@example.org", "--locale", "de"],
        vec!["test-email"],
    ] {
        let out = rappels_with(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = rappels_with(&["test-email", "--to", "not an address"], &[]);
    assert!(
        stderr(&out).contains("invalid e-mail address \"not an address\""),
        "{}",
        stderr(&out)
    );
}

/// Invalid variables are usage errors naming the variable, found before any database or
/// server is touched.
#[test]
fn invalid_configuration_exits_2_and_names_the_variable() {
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&[("RAPPELS_MAILER", "carrier-pigeon")], "RAPPELS_MAILER"),
        (&[("RAPPELS_MAILER", "smtp")], "RAPPELS_SMTP_HOST"),
        (
            &[
                ("RAPPELS_MAILER", "smtp"),
                ("RAPPELS_SMTP_HOST", "localhost"),
                ("RAPPELS_SMTP_TLS", "ssl"),
            ],
            "RAPPELS_SMTP_TLS: invalid TLS mode \"ssl\": expected starttls, tls or none",
        ),
        (
            &[
                ("RAPPELS_MAILER", "smtp"),
                ("RAPPELS_SMTP_HOST", "localhost"),
                ("RAPPELS_SMTP_PORT", "99999"),
            ],
            "RAPPELS_SMTP_PORT",
        ),
        (
            &[
                ("RAPPELS_MAILER", "smtp"),
                ("RAPPELS_SMTP_HOST", "localhost"),
                ("RAPPELS_SMTP_USER", "u"),
            ],
            "RAPPELS_SMTP_PASSWORD",
        ),
        (&[("RAPPELS_FROM", "rappels")], "RAPPELS_FROM"),
        (
            &[("RAPPELS_SITE_URL", "www.example.org")],
            "RAPPELS_SITE_URL",
        ),
        (
            &[("RAPPELS_SECRET", "short")],
            "RAPPELS_SECRET: unsubscribe secret is too short: 5 bytes, at least 16 are needed",
        ),
    ];
    let cwd = tempfile::tempdir().unwrap();
    for (env, expected) in cases {
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut commands = vec![vec![
            "run",
            "--database-url",
            "sqlite:///nonexistent/dir/rappels.db",
        ]];
        // The secret is only the concern of run and unsubscribe.
        if env[0].0 != "RAPPELS_SECRET" {
            commands.push(vec!["test-email", "--to", "admin@example.org"]);
        }
        for args in commands {
            let mut cmd = cli();
            cmd.args(&args).current_dir(cwd.path());
            for (name, value) in &env {
                cmd.env(name, value);
            }
            let out = cmd.output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
            assert!(
                err.contains(expected),
                "{args:?}: expected {expected:?} in {err}"
            );
        }
    }
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "nothing was written"
    );
}

/// The SMTP password never reaches the terminal, at the most verbose level, whether the
/// server cannot be reached, cannot authenticate (the test server offers no AUTH), or the
/// configuration is refused.
#[test]
fn the_password_never_shows() {
    let server = TestServer::start(Answer::Accept);
    let credentials = [
        ("RAPPELS_SMTP_USER", "u".to_owned()),
        ("RAPPELS_SMTP_PASSWORD", PASSWORD.to_owned()),
    ];
    let mut runs = Vec::new();
    for port in [closed_port(), server.port] {
        let db = TestDb::sqlite();
        import(&db, &fixture("school.json"));
        let mut env = smtp(port);
        env.extend(credentials.iter().cloned());
        runs.push(rappels_with(
            &["-vv", "test-email", "--to", "admin@example.org"],
            &env,
        ));
        runs.push(rappels_with(
            &[
                "run",
                "-vv",
                "--at",
                "2026-11-26T18:45:00Z",
                "--database-url",
                &db.url,
            ],
            &env,
        ));
    }
    // A configuration error: the password without a user.
    let mut env = smtp(server.port);
    env.push(("RAPPELS_SMTP_PASSWORD", PASSWORD.to_owned()));
    runs.push(rappels_with(
        &["-vv", "test-email", "--to", "admin@example.org"],
        &env,
    ));
    let codes: Vec<Option<i32>> = runs.iter().map(|out| out.status.code()).collect();
    assert_eq!(
        codes,
        [Some(1), Some(1), Some(1), Some(1), Some(2)],
        "test-email and run fail on both servers: the session fails (no server, no AUTH)"
    );
    for out in &runs {
        let (out_text, err_text) = (stdout(out), stderr(out));
        assert!(!out_text.contains(PASSWORD), "{out_text}");
        assert!(!err_text.contains(PASSWORD), "{err_text}");
        assert!(!err_text.is_empty(), "-vv logs something");
    }
    assert!(
        stderr(&runs[2]).contains("authentication"),
        "the server without AUTH: {}",
        stderr(&runs[2])
    );
    assert!(
        server.received().is_empty(),
        "nothing got through without AUTH"
    );
}

#[test]
fn help_lists_the_mail_variables() {
    let out = cli().args(["test-email", "--help"]).output().unwrap();
    let text = stdout(&out);
    for expected in [
        "rappels test-email --to admin@example.org",
        "RAPPELS_SMTP_PASSWORD",
        "RAPPELS_SMTP_TLS",
        "file:rappels-outbox",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

/// A server that cannot be reached fails the session, not the reminders: the run exits 1
/// saying so, and every reminder it recorded is still pending, its attempt not counted, for
/// the next run to send.
#[test]
fn a_run_whose_mail_session_fails_exits_1_and_leaves_the_reminders_pending() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let at = "2026-11-26T18:45:00Z";
    let mut env = smtp(closed_port());
    env.push(("RAPPELS_DATABASE_URL", db.url.clone()));
    let out = rappels_with(&["run", "--at", at], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the reminders not sent stay pending"), "{err}");
    let history = succeeded(
        crate::support::on(&db, &["history", "--as", "admin", "--format", "json"]),
        "history",
    );
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let lines = history.as_array().unwrap();
    assert!(!lines.is_empty(), "{history}");
    assert!(
        lines
            .iter()
            .all(|l| l["status"] == "pending" && l["attempts"] == 0),
        "{history}"
    );
    // Once the server is there, the next run sends them.
    let server = TestServer::start(Answer::Accept);
    let mut env = smtp(server.port);
    env.push(("RAPPELS_DATABASE_URL", db.url.clone()));
    let out = rappels_with(&["run", "--at", at, "--format", "json"], &env);
    let summary: serde_json::Value =
        serde_json::from_str(&succeeded(out, "run after the outage")).unwrap();
    let sent = summary["sent"].as_u64().unwrap() as usize;
    assert_eq!(
        (summary["recorded"].as_u64(), sent),
        (Some(0), lines.len()),
        "{summary}"
    );
    assert_eq!(server.received().len(), sent);
    let history = succeeded(
        crate::support::on(&db, &["history", "--as", "admin", "--format", "json"]),
        "history",
    );
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let after = history.as_array().unwrap();
    assert_eq!(after.len(), sent, "{history}");
    assert!(after.iter().all(|l| l["status"] == "sent"), "{history}");
}

/// The hole a review found: a session reminder recorded while the server answered 451,
/// whose session a new import then cancelled, went out when the server came back. Now the
/// data is read again when the reminder is to be sent: it is recorded as cancelled, never
/// sent, and `history` and `stats` say so.
#[test]
fn a_reminder_whose_session_was_cancelled_after_recording_is_cancelled_not_sent() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let busy = TestServer::start(Answer::Busy);
    let mut env = smtp(busy.port);
    env.push(("RAPPELS_DATABASE_URL", db.url.clone()));
    let out = rappels_with(
        &["run", "--at", "2026-11-26T18:45:00Z", "--format", "json"],
        &env,
    );
    let first: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(first["retried"].as_u64().unwrap() >= 2, "{first}");
    assert!(busy.received().is_empty());

    // The platform cancels Awa's session 100; the nightly import brings it.
    let mut school: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("school.json")).unwrap()).unwrap();
    let session = school["sessions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["id"] == 100)
        .unwrap();
    session["status"] = "cancelled".into();
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("school.json");
    std::fs::write(&changed, school.to_string()).unwrap();
    import(&db, &changed);

    let server = TestServer::start(Answer::Accept);
    let mut env = smtp(server.port);
    env.push(("RAPPELS_DATABASE_URL", db.url.clone()));
    let out = rappels_with(
        &["run", "--at", "2026-11-26T21:00:00Z", "--format", "json"],
        &env,
    );
    let summary: serde_json::Value =
        serde_json::from_str(&succeeded(out, "run after the import")).unwrap();
    assert_eq!(summary["cancelled"], 1, "{summary}");
    let received = server.received();
    assert_eq!(
        received.len() as u64,
        summary["sent"].as_u64().unwrap(),
        "{summary}"
    );
    assert!(
        received.iter().all(|m| {
            let text = String::from_utf8_lossy(&m.data);
            !text.contains("session_eve.1.100.")
        }),
        "the cancelled session's reminder went out"
    );
    let history: serde_json::Value = serde_json::from_str(&succeeded(
        crate::support::on(&db, &["history", "--as", "admin", "--format", "json"]),
        "history",
    ))
    .unwrap();
    let line = history
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == "session_eve:1:100:2026-11-26")
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(line["status"], "cancelled", "{line}");
    assert_eq!(
        line["attempts"], 1,
        "only the 451 counts as an attempt: {line}"
    );
    let stats: serde_json::Value = serde_json::from_str(&succeeded(
        crate::support::on(&db, &["stats", "--format", "json"]),
        "stats",
    ))
    .unwrap();
    assert_eq!(stats["cancelled"], 1, "{stats}");
}
