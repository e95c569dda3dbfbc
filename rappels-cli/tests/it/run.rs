//! `rappels run` and `rappels unsubscribe`: the real binary sends the small school's
//! reminders into `.eml` files or to an SMTP server in this process, on SQLite and, when
//! `RAPPELS_TEST_POSTGRES` is set, on PostgreSQL.

use std::path::PathBuf;
use std::process::Output;

use mailparse::MailHeaderMap;
use serde_json::Value;
use tempfile::TempDir;

use crate::fixture;
use crate::support::{TestDb, cli, import, on, plan_db, stderr, stdout, succeeded};
use rappels_smtp::testing::{Answer, TestServer};

/// The instant of README's example: four reminders are due in the small school.
const AT: &str = "2026-11-26T18:45:00Z";
const SENDER: &str = "École Horizon <rappels@ecole.example.org>";
const SITE: &str = "https://ecole.example.org";
const SECRET: &str = "a secret long enough for HMAC";

/// What a first run at `AT` prints.
const SENT_4: &str = "run at 2026-11-26T18:45:00Z: sent 4, retried 0, failed 0, expired 0, \
                      cancelled 0, skipped 0 (planned 4, newly recorded 4)\n";

/// The Message-IDs of the four reminders due at `AT`: each reminder key, colons as dots.
const MESSAGE_IDS: [&str; 4] = [
    "<inactivity.3.2026-11-26@ecole.example.org>",
    "<manual.500@ecole.example.org>",
    "<session_eve.1.100.2026-11-26@ecole.example.org>",
    "<session_eve.2.101.2026-11-26@ecole.example.org>",
];

/// A folder for `.eml` files, in a temp dir; the folder itself is created by the mailer.
struct Outbox {
    dir: TempDir,
}

impl Outbox {
    fn new() -> Outbox {
        Outbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    fn mailer(&self) -> String {
        format!("file:{}", self.path().display())
    }

    /// The `.eml` files written, sorted by name.
    fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.path()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    /// The raw messages, sorted by file name.
    fn messages(&self) -> Vec<Vec<u8>> {
        self.files()
            .iter()
            .map(|f| {
                assert!(f.extension().is_some_and(|e| e == "eml"), "{}", f.display());
                std::fs::read(f).unwrap()
            })
            .collect()
    }

    fn message_ids(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|raw| header(raw, "Message-ID").unwrap())
            .collect()
    }
}

/// The first value of a header of a raw message, decoded.
fn header(raw: &[u8], name: &str) -> Option<String> {
    mailparse::parse_mail(raw)
        .unwrap()
        .headers
        .get_first_value(name)
}

/// `rappels run ARGS` on `db`, with the mail variables `env`.
fn run(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = cli();
    cmd.arg("run").args(args).args(["--database-url", &db.url]);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

/// `.eml` files from `SENDER`, with unsubscribe links to `SITE`.
fn file_env(outbox: &Outbox) -> Vec<(&'static str, String)> {
    vec![
        ("RAPPELS_MAILER", outbox.mailer()),
        ("RAPPELS_FROM", SENDER.to_owned()),
        ("RAPPELS_SITE_URL", SITE.to_owned()),
        ("RAPPELS_SECRET", SECRET.to_owned()),
    ]
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn due_keys(db: &TestDb, at: &str) -> Vec<String> {
    let plan: Value = serde_json::from_str(&plan_db(db, at)).unwrap();
    plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let mut key = format!("{}:{}", d["kind"].as_str().unwrap(), d["student_id"]);
            for id in ["session_id", "manual_id"] {
                if let Some(id) = d[id].as_i64() {
                    key = format!("{key}:{id}");
                }
            }
            key
        })
        .collect()
}

fn a_run_sends_what_is_due_once(db: &TestDb) {
    import(db, &fixture("school.json"));
    let outbox = Outbox::new();
    let env = file_env(&outbox);
    let out = run(db, &["--at", AT], &pairs(&env));
    assert_eq!(succeeded(out, "first run"), SENT_4);
    assert_eq!(outbox.message_ids(), MESSAGE_IDS);
    assert!(due_keys(db, AT).is_empty(), "everything due was recorded");

    // The same run again finds everything recorded and sent: nothing goes out twice.
    let out = run(db, &["--at", AT, "--format", "json"], &pairs(&env));
    let summary: Value = serde_json::from_str(&succeeded(out, "second run")).unwrap();
    assert_eq!(
        summary,
        serde_json::json!({
            "at": AT, "dry_run": false, "planned": 0, "recorded": 0, "sent": 0, "retried": 0,
            "failed": 0, "expired": 0, "cancelled": 0, "skipped": 0, "would_record": []
        })
    );
    assert_eq!(outbox.message_ids(), MESSAGE_IDS);
}
on_both!(a_run_sends_what_is_due_once: a_run_sends_what_is_due_once_on_sqlite, a_run_sends_what_is_due_once_on_postgres);

/// On a terminal, a run draws a progress bar on standard error; in a pipe (cron, logs,
/// every other test here) it draws nothing. The terminal is the pseudo-terminal of
/// util-linux's `script`, which CI installs; where it is missing the test says so and
/// checks only the pipe.
#[test]
fn a_run_on_a_terminal_shows_its_progress() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let outbox = Outbox::new();
    let env = file_env(&outbox);
    let piped = run(&db, &["--at", AT, "--dry-run"], &pairs(&env));
    assert!(
        !stderr(&piped).contains("reminders ("),
        "{}",
        stderr(&piped)
    );
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "note: `script` (util-linux) is missing: the progress bar on a terminal was not checked"
        );
        return;
    }
    let binary = assert_cmd::cargo::cargo_bin("rappels");
    let command = format!(
        "{} run --at {AT} --database-url {}",
        binary.display(),
        db.url
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &command, "/dev/null"]);
    for (name, value) in &env {
        script.env(name, value);
    }
    script.env("RAPPELS_LOG", "error").env("COLUMNS", "120");
    let out = script.output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("4/4 reminders (sent 4, retried 0, failed 0, expired 0, cancelled 0)"),
        "{screen}"
    );
    assert_eq!(outbox.message_ids(), MESSAGE_IDS);
}

#[test]
fn a_dry_run_records_and_writes_nothing() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let outbox = Outbox::new();
    let env = file_env(&outbox);
    let text = succeeded(
        run(&db, &["--at", AT, "--dry-run"], &pairs(&env)),
        "dry run",
    );
    assert!(
        text.starts_with(
            "dry run at 2026-11-26T18:45:00Z: would record 4, skipped 0 (planned 4); \
             nothing was recorded or sent\n"
        ),
        "{text}"
    );
    for line in [
        "inactivity   inactivity:3:2026-11-26       noah@example.org   We miss you, Noah!",
        "manual       manual:500                    awa@example.org    Message de Mariam : Révise ce soir",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let json: Value = serde_json::from_str(&succeeded(
        run(
            &db,
            &["--at", AT, "--dry-run", "--format", "json"],
            &pairs(&env),
        ),
        "dry run as JSON",
    ))
    .unwrap();
    assert_eq!(json["would_record"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["would_record"][2],
        serde_json::json!({ "kind": "manual", "key": "manual:500", "to": "awa@example.org",
                            "subject": "Message de Mariam : Révise ce soir" })
    );
    assert!(!outbox.path().exists(), "a dry run creates no outbox");
    assert_eq!(due_keys(&db, AT).len(), 4, "a dry run records nothing");

    assert_eq!(
        succeeded(run(&db, &["--at", AT], &pairs(&env)), "real run"),
        SENT_4
    );
}

#[test]
fn kinds_narrow_the_run() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let outbox = Outbox::new();
    let env = file_env(&outbox);
    let out = run(&db, &["--at", AT, "--kind", "manual"], &pairs(&env));
    assert_eq!(
        succeeded(out, "run --kind manual"),
        "run at 2026-11-26T18:45:00Z: sent 1, retried 0, failed 0, expired 0, cancelled 0, skipped 0 \
         (planned 1, newly recorded 1)\n"
    );
    assert_eq!(outbox.message_ids(), ["<manual.500@ecole.example.org>"]);
    assert_eq!(
        due_keys(&db, AT),
        ["inactivity:3", "session_eve:2:101", "session_eve:1:100"]
    );
    let out = run(
        &db,
        &["--at", AT, "--kind", "inactivity,session_eve"],
        &pairs(&env),
    );
    assert!(succeeded(out, "two kinds").contains("sent 3,"));
    assert_eq!(outbox.files().len(), 4);

    let out = run(&db, &["--kind", "reminder"], &pairs(&env));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("session_eve"), "{}", stderr(&out));
}

/// The four reminders reach a real server: decoded subjects, the sender, and one-click
/// unsubscribe headers on the automatic kinds only.
#[test]
fn a_run_delivers_over_smtp() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let server = TestServer::start(Answer::Accept);
    let port = server.port.to_string();
    let env = [
        ("RAPPELS_MAILER", "smtp"),
        ("RAPPELS_SMTP_HOST", "127.0.0.1"),
        ("RAPPELS_SMTP_PORT", &port),
        ("RAPPELS_SMTP_TLS", "none"),
        ("RAPPELS_FROM", SENDER),
        ("RAPPELS_SITE_URL", "https://ecole.example.org/"),
        ("RAPPELS_SECRET", SECRET),
    ];
    assert_eq!(succeeded(run(&db, &["--at", AT], &env), "run"), SENT_4);

    let mut received = server.received();
    assert_eq!(received.len(), 4);
    received.sort_by_key(|m| header(&m.data, "Message-ID"));
    let mut subjects = Vec::new();
    let recipients = [
        "noah@example.org",
        "awa@example.org",
        "awa@example.org",
        "lucas@example.org",
    ];
    for ((message, id), to) in received.iter().zip(MESSAGE_IDS).zip(recipients) {
        assert_eq!(message.from, "rappels@ecole.example.org");
        assert_eq!(message.to, [to]);
        let mail = mailparse::parse_mail(&message.data).unwrap();
        let get = |name: &str| mail.headers.get_first_value(name);
        assert_eq!(get("Message-ID").as_deref(), Some(id));
        assert_eq!(get("From").as_deref(), Some(SENDER));
        subjects.push(get("Subject").unwrap());
        let unsubscribe = get("List-Unsubscribe");
        if id.starts_with("<manual.") {
            assert_eq!(
                unsubscribe, None,
                "a parent's reminder has no unsubscribe link"
            );
            assert_eq!(get("List-Unsubscribe-Post"), None);
        } else {
            let link = unsubscribe.unwrap_or_else(|| panic!("{id} has no List-Unsubscribe"));
            assert!(
                link.starts_with("<https://ecole.example.org/unsubscribe?token="),
                "{link}"
            );
            assert_eq!(
                get("List-Unsubscribe-Post").as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
        }
    }
    assert_eq!(
        subjects,
        [
            "We miss you, Noah!",
            "Message de Mariam : Révise ce soir",
            "Demain : Mathématiques à 14:00",
            "Demain : Physique à 07:30",
        ]
    );
}

/// A server that answers 451 fails every delivery, not the run: exit 0, the failures in the
/// summary and the log, and a later run sends them.
#[test]
fn failed_deliveries_do_not_fail_the_run() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let smtp = |port: &str| {
        vec![
            ("RAPPELS_MAILER", "smtp".to_owned()),
            ("RAPPELS_SMTP_HOST", "127.0.0.1".to_owned()),
            ("RAPPELS_SMTP_PORT", port.to_owned()),
            ("RAPPELS_SMTP_TLS", "none".to_owned()),
        ]
    };
    let busy = TestServer::start(Answer::Busy);
    let out = run(&db, &["--at", AT], &pairs(&smtp(&busy.port.to_string())));
    let err = stderr(&out);
    assert_eq!(
        succeeded(out, "run against a busy server"),
        "run at 2026-11-26T18:45:00Z: sent 0, retried 4, failed 0, expired 0, cancelled 0, skipped 0 \
         (planned 4, newly recorded 4)\n"
    );
    assert!(err.contains("delivery failed"), "{err}");
    assert!(err.contains("451"), "{err}");

    // The first retry comes about a minute later.
    let ready = TestServer::start(Answer::Accept);
    let out = run(
        &db,
        &["--at", "2026-11-26T18:50:00Z"],
        &pairs(&smtp(&ready.port.to_string())),
    );
    assert_eq!(
        succeeded(out, "run against a ready server"),
        "run at 2026-11-26T18:50:00Z: sent 4, retried 0, failed 0, expired 0, cancelled 0, skipped 0 \
         (planned 0, newly recorded 0)\n"
    );
    assert_eq!(ready.received().len(), 4);
}

/// With nothing configured, messages go to `./rappels-outbox` as `noreply@localhost`, and a
/// warning says that they carry no unsubscribe link.
#[test]
fn with_nothing_configured_a_run_writes_to_the_outbox_without_unsubscribe_links() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let cwd = tempfile::tempdir().unwrap();
    let out = cli()
        .args(["run", "--at", AT, "--database-url", &db.url])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(succeeded(out, "run"), SENT_4);
    assert_eq!(
        err.matches("RAPPELS_SECRET is not set").count(),
        1,
        "one warning: {err}"
    );
    let outbox = cwd.path().join("rappels-outbox");
    let mut names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "inactivity.3.2026-11-26@localhost.eml",
            "manual.500@localhost.eml",
            "session_eve.1.100.2026-11-26@localhost.eml",
            "session_eve.2.101.2026-11-26@localhost.eml",
        ]
    );
    for name in names {
        let raw = std::fs::read(outbox.join(&name)).unwrap();
        assert_eq!(header(&raw, "List-Unsubscribe"), None, "{name}");
        assert_eq!(
            header(&raw, "From").as_deref(),
            Some("rappels <noreply@localhost>")
        );
    }
}

#[test]
fn a_run_that_cannot_reach_its_database_exits_1() {
    let outbox = Outbox::new();
    let out = cli()
        .args([
            "run",
            "--database-url",
            "sqlite:///nonexistent/dir/rappels.db",
        ])
        .env("RAPPELS_MAILER", outbox.mailer())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot connect to sqlite:///nonexistent/dir/rappels.db"),
        "{}",
        stderr(&out)
    );
    assert!(!outbox.path().exists());
}

/// A database never migrated, or migrated but never imported, is the user's to fix.
#[test]
fn a_run_on_an_empty_database_says_what_to_run() {
    let db = TestDb::sqlite();
    let outbox = Outbox::new();
    let env = file_env(&outbox);
    std::fs::write(db.url.strip_prefix("sqlite://").unwrap(), b"").unwrap();
    let out = run(&db, &[], &pairs(&env));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("rappels migrate"), "{}", stderr(&out));
    succeeded(on(&db, &["migrate"]), "migrate");
    let out = run(&db, &[], &pairs(&env));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("import a scenario first"),
        "{}",
        stderr(&out)
    );
    assert!(!outbox.path().exists());
}

/// The token of the List-Unsubscribe header of a written message.
fn token_in(raw: &[u8]) -> String {
    let link = header(raw, "List-Unsubscribe").expect("an unsubscribe link");
    link.split_once("?token=")
        .unwrap()
        .1
        .trim_end_matches('>')
        .to_owned()
}

fn unsubscribe(db: &TestDb, token: &str, secret: Option<&str>) -> Output {
    let mut cmd = cli();
    cmd.args(["unsubscribe", "--token", token, "--database-url", &db.url]);
    if let Some(secret) = secret {
        cmd.env("RAPPELS_SECRET", secret);
    }
    cmd.output().unwrap()
}

/// The token of Awa's eve reminder opts her out of session reminders: the next morning's
/// reminder is no longer due, and applying it again says so.
fn a_token_opts_out_of_its_family(db: &TestDb) {
    import(db, &fixture("school.json"));
    let outbox = Outbox::new();
    let env = file_env(&outbox);
    assert_eq!(
        succeeded(run(db, &["--at", AT], &pairs(&env)), "run"),
        SENT_4
    );
    let awa_eve = outbox
        .files()
        .into_iter()
        .find(|f| f.ends_with("session_eve.1.100.2026-11-26@ecole.example.org.eml"))
        .unwrap();
    let token = token_in(&std::fs::read(&awa_eve).unwrap());
    let morning = "2026-11-27T08:30:00Z";
    assert_eq!(due_keys(db, morning), ["session_day:1:100"]);

    // Refused tokens change nothing.
    let mut tampered = token.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (token, secret, expected) in [
        (
            tampered.as_str(),
            Some(SECRET),
            "unsubscribe token signature does not match",
        ),
        (
            token.as_str(),
            Some("another secret, also long"),
            "unsubscribe token signature does not match",
        ),
        ("garbage", Some(SECRET), "malformed unsubscribe token"),
        (token.as_str(), None, "RAPPELS_SECRET is not set"),
        (
            token.as_str(),
            Some("short"),
            "RAPPELS_SECRET: unsubscribe secret is too short",
        ),
    ] {
        let out = unsubscribe(db, token, secret);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{token} {secret:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(expected),
            "{expected}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    }
    assert_eq!(due_keys(db, morning), ["session_day:1:100"]);

    let out = unsubscribe(db, &token, Some(SECRET));
    assert_eq!(
        succeeded(out, "unsubscribe"),
        "student 1 will no longer receive session reminders\n"
    );
    assert!(
        due_keys(db, morning).is_empty(),
        "no session reminder for Awa"
    );
    // The whole link works too, and a second click changes nothing.
    let link = format!("{SITE}/unsubscribe?token={token}");
    let out = unsubscribe(db, &link, Some(SECRET));
    assert_eq!(
        succeeded(out, "unsubscribe again"),
        "student 1 had already unsubscribed from session reminders\n"
    );
}
on_both!(a_token_opts_out_of_its_family: a_token_opts_out_of_its_family_on_sqlite, a_token_opts_out_of_its_family_on_postgres);

/// An authentic token for a student the database does not hold.
#[test]
fn a_token_for_an_unknown_student_exits_2() {
    use rappels_core::domain::{Family, StudentId};
    use rappels_core::unsubscribe::{UnsubscribeSecret, sign};
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let token = sign(
        &UnsubscribeSecret::new(SECRET).unwrap(),
        StudentId::new(99).unwrap(),
        Family::Weekly,
    );
    let out = unsubscribe(&db, &token, Some(SECRET));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the token names student 99, who is not in the database"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_teaches_cron_and_the_environment() {
    for (command, expected) in [
        ("run", "*/5 * * * * rappels run"),
        ("run", "RAPPELS_MAILER"),
        ("run", "RAPPELS_SECRET"),
        ("run", "DATABASE_URL"),
        ("unsubscribe", "rappels unsubscribe --token"),
        ("unsubscribe", "RAPPELS_SECRET"),
    ] {
        let out = cli().args([command, "--help"]).output().unwrap();
        assert!(
            stdout(&out).contains(expected),
            "{command}: {expected}: {}",
            stdout(&out)
        );
    }
}
