//! `rappels daemon` and `rappels doctor`: the daemon's next wake-up under a fixed clock (a
//! slot, or a retry after a 451), its lifecycle under SIGTERM and SIGINT, and each doctor
//! check passing and failing against real databases and a real SMTP server.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SubsecRound, TimeDelta};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{ReminderKey, format_instant, parse_instant};
use rappels_core::retry::RetryPolicy;
use tempfile::TempDir;

use crate::fixture;
use crate::support::{TestDb, cli, import, on, stderr, stdout, succeeded};
use rappels_smtp::testing::{Answer, TestServer};

/// The instant the fixture's plan is checked at elsewhere: four reminders are due.
const AT: &str = "2026-11-26T18:45:00Z";

/// A secret long enough for unsubscribe links.
const SECRET: &str = "a secret of at least sixteen bytes";

/// `rappels ARGS --database-url URL` with these variables.
fn on_with(db: &TestDb, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = cli();
    cmd.args(args).args(["--database-url", &db.url]);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

/// `.eml` files in `dir/outbox`.
fn outbox(dir: &TempDir) -> (&'static str, String) {
    (
        "RAPPELS_MAILER",
        format!("file:{}", dir.path().join("outbox").display()),
    )
}

/// SMTP without TLS to 127.0.0.1:`port`.
fn smtp(port: u16) -> Vec<(&'static str, String)> {
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

// --- daemon: the schedule under a fixed clock -------------------------------------------

/// After the run at 18:45Z every due reminder is sent, and the next slot of the school's
/// three zones is Noah's 18:30 in New York (UTC−5 in November): 23:30Z. Paris's 18:30
/// (17:30Z) and Abidjan's (18:30Z) have passed; their next slots are 07:00Z and 08:00Z on
/// the 27th, and nothing weekly falls on a Thursday.
fn wakes_at_the_next_slot(db: &TestDb) {
    import(db, &fixture("school.json"));
    let dir = tempfile::tempdir().unwrap();
    let args = ["daemon", "--print-schedule", "--once-at", AT];
    let out = on_with(db, &args, &[outbox(&dir)]);
    let err = stderr(&out);
    assert_eq!(
        succeeded(out, "daemon --print-schedule"),
        "next wake-up: 2026-11-26T23:30:00Z (slot)\n"
    );
    assert!(
        err.contains("run finished") && err.contains("sent=4"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .count(),
        4
    );

    // Once Noah's eve reminder is due, the next slot is Paris's morning, 07:00Z.
    let args = [
        "daemon",
        "--print-schedule",
        "--once-at",
        "2026-11-26T23:30:00Z",
    ];
    let out = on_with(db, &args, &[outbox(&dir)]);
    assert_eq!(
        succeeded(out, "daemon --print-schedule at 23:30Z"),
        "next wake-up: 2026-11-27T07:00:00Z (slot)\n"
    );
}
on_both!(wakes_at_the_next_slot: the_daemon_wakes_at_the_next_slot_on_sqlite, the_daemon_wakes_at_the_next_slot_on_postgres);

/// A server answering 451 fails every delivery transiently: the daemon wakes for the
/// earliest retry, about a minute later (the jitter is derived from each reminder's key,
/// so the exact instant is known), long before the next slot.
#[test]
fn a_transient_failure_wakes_the_daemon_for_the_retry() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let busy = TestServer::start(Answer::Busy);
    let out = on_with(
        &db,
        &["daemon", "--print-schedule", "--once-at", AT],
        &smtp(busy.port),
    );
    let err = stderr(&out);
    let printed = succeeded(out, "daemon against a busy server");
    assert!(err.contains("retried=4") && err.contains("451"), "{err}");
    assert!(busy.received().is_empty());

    let at = parse_instant(AT).unwrap();
    let policy = RetryPolicy::default();
    let first_retry = [
        "inactivity:3:2026-11-26",
        "session_eve:2:101:2026-11-26",
        "manual:500",
        "session_eve:1:100:2026-11-26",
    ]
    .map(|key| at + policy.delay(&key.parse::<ReminderKey>().unwrap(), 1))
    .into_iter()
    .min()
    .unwrap();
    assert!(
        (TimeDelta::seconds(48)..=TimeDelta::seconds(72)).contains(&(first_retry - at)),
        "{first_retry}"
    );
    assert_eq!(
        printed,
        format!("next wake-up: {} (retry)\n", format_instant(first_retry))
    );
}

#[test]
fn max_sleep_must_be_a_positive_number_of_seconds() {
    let db = TestDb::sqlite();
    for value in ["0", "-5", "soon", "86401"] {
        let out = on_with(&db, &["daemon", &format!("--max-sleep={value}")], &[]);
        assert_eq!(out.status.code(), Some(2), "{value}: {}", stderr(&out));
        assert!(stderr(&out).contains("--max-sleep"), "{}", stderr(&out));
    }
}

#[test]
fn a_database_never_imported_stops_the_daemon_with_the_hint() {
    let db = TestDb::sqlite();
    succeeded(on(&db, &["migrate"]), "migrate");
    let dir = tempfile::tempdir().unwrap();
    let out = on_with(&db, &["daemon"], &[outbox(&dir)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("rappels import"), "{}", stderr(&out));
}

// --- daemon: the real loop and its signals ----------------------------------------------

/// How long the daemon may take to reach its first sleep, and to stop once signalled. Both
/// are events the test waits for, not delays it relies on: a healthy daemon takes well
/// under a second.
const PATIENCE: Duration = Duration::from_secs(60);

/// A daemon started by a test, killed if the test ends before it has exited.
struct Running {
    child: Child,
    log: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(db: &TestDb, dir: &TempDir, env: &[(&str, String)]) -> Running {
        Running::command(db, dir, env, &["daemon"])
    }

    /// `rappels ARGS` on `db`, as a process of its own (`run`, or `daemon`).
    fn command(db: &TestDb, dir: &TempDir, env: &[(&str, String)], args: &[&str]) -> Running {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("rappels"))
            // None of the caller's configuration: the daemon gets only what is set here.
            .env_clear()
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("RAPPELS_SECRET", SECRET)
            .args(args)
            .args(["--database-url", &db.url])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = lines_of(child.stderr.take().unwrap());
        Running {
            child,
            log,
            seen: Vec::new(),
        }
    }

    /// Reads the log until a line contains `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no {text:?} in the log within {PATIENCE:?}: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the daemon closed its log before {text:?}: {:#?}",
                    self.seen
                ),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the log to end (the process exits and its stderr closes), then for the
    /// exit status.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self
                .log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "the daemon did not stop within {PATIENCE:?}: {:#?}",
                        self.seen
                    )
                }
            }
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The lines of `stderr`, read on a thread of their own; the channel closes at the end.
fn lines_of(stderr: ChildStderr) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn stops_cleanly_on(signal: &str) {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = Running::start(&db, &dir, &[outbox(&dir)]);
    daemon.wait_for_line("sleeping until");
    daemon.signal(signal);
    let status = daemon.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{:#?}", daemon.seen);
    let last = daemon.seen.last().unwrap();
    assert!(last.contains(&format!("stopped on SIG{signal}")), "{last}");
    assert!(
        daemon.seen.iter().any(|l| l.contains("run finished")),
        "{:#?}",
        daemon.seen
    );
}

#[test]
fn the_daemon_stops_cleanly_on_sigterm() {
    stops_cleanly_on("TERM");
}

#[test]
fn the_daemon_stops_cleanly_on_sigint() {
    stops_cleanly_on("INT");
}

/// A mail server that holds the first message at the end of DATA until the test releases it:
/// the daemon then has a message in flight for as long as the test needs.
#[derive(Clone)]
struct Gate {
    arrived: mpsc::Sender<()>,
    release: Arc<Mutex<Receiver<()>>>,
    held: Arc<AtomicBool>,
    received: Arc<AtomicUsize>,
}

impl mailin_embedded::Handler for Gate {
    fn data_end(&mut self) -> mailin_embedded::Response {
        if !self.held.swap(true, Ordering::SeqCst) {
            let _ = self.arrived.send(());
            let _ = self.release.lock().unwrap().recv_timeout(PATIENCE);
        }
        self.received.fetch_add(1, Ordering::SeqCst);
        mailin_embedded::response::OK
    }
}

/// Starts a gated server; returns its port, the "a message arrived" events, the sender that
/// releases it, and the count of messages accepted.
fn gated_server() -> (u16, Receiver<()>, mpsc::Sender<()>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (arrived, arrivals) = mpsc::channel();
    let (release, released) = mpsc::channel();
    let received = Arc::new(AtomicUsize::new(0));
    let gate = Gate {
        arrived,
        release: Arc::new(Mutex::new(released)),
        held: Arc::new(AtomicBool::new(false)),
        received: Arc::clone(&received),
    };
    let mut server = mailin_embedded::Server::new(gate);
    server
        .with_name("rappels-gate.local")
        .with_num_threads(4)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        if let Err(error) = server.serve() {
            panic!("the gated SMTP server stopped: {error}");
        }
    });
    (port, arrivals, release, received)
}

/// A school whose one reminder is due on the real clock: a parent's manual request made a
/// minute ago. The student has no subscription, so nothing else can be due, whatever the day.
fn due_now() -> String {
    let now = SystemClock.now().trunc_subsecs(0);
    let ago = |minutes| format_instant(now - TimeDelta::minutes(minutes));
    format!(
        r#"{{
  "settings": {{ "timezone": "Europe/Paris" }},
  "students": [
    {{ "id": 1, "first_name": "Awa", "email": "awa@example.org", "account_active": true,
      "subscription_active": false, "last_activity_at": "{active}" }}
  ],
  "parents": [ {{ "id": 10, "first_name": "Mariam", "email": "mariam@example.org", "children": [1] }} ],
  "sessions": [],
  "manual": [
    {{ "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise ce soir",
      "message": "Courage !", "requested_at": "{requested}" }}
  ]
}}"#,
        active = ago(60),
        requested = ago(1),
    )
}

/// SIGTERM while a message is in flight: the message is delivered and recorded, then the
/// daemon stops without sleeping.
#[test]
fn a_signal_during_a_run_lets_the_message_in_flight_finish() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("due-now.json");
    std::fs::write(&scenario, due_now()).unwrap();
    import(&db, &scenario);
    let (port, arrivals, release, received) = gated_server();
    let mut daemon = Running::start(&db, &dir, &smtp(port));

    arrivals
        .recv_timeout(PATIENCE)
        .expect("the daemon sends the manual reminder");
    daemon.signal("TERM");
    daemon.wait_for_line("SIGTERM received");
    release.send(()).unwrap();
    let status = daemon.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{:#?}", daemon.seen);
    assert_eq!(received.load(Ordering::SeqCst), 1);

    let position = |text: &str| {
        daemon
            .seen
            .iter()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no {text:?} in {:#?}", daemon.seen))
    };
    // The run in flight at the signal ends after it, having sent its message.
    let signalled = position("SIGTERM received");
    let finished = position("run finished");
    let stopped = position("stopped on SIGTERM");
    assert!(
        daemon.seen[finished].contains(" sent=1 "),
        "{:#?}",
        daemon.seen
    );
    assert!(
        signalled < finished && finished < stopped,
        "{:#?}",
        daemon.seen
    );
    assert!(
        !daemon.seen.iter().any(|l| l.contains("sleeping until")),
        "{:#?}",
        daemon.seen
    );
    // Recorded as sent: a run now has nothing left to send.
    let out = on_with(&db, &["run"], &smtp(port));
    assert!(
        succeeded(out, "run after the daemon").contains("sent 0, retried 0"),
        "the reminder was not recorded as sent"
    );
}

/// SIGTERM to `rappels run` while a message is in flight: the message is finished and
/// recorded, the claims not tried are given back, and the run exits 0 saying it stopped
/// early. The four reminders are recorded first (a server answering 451), so that the
/// stopped run claims all four in one batch; a run at the same instant, within the lease
/// that run took, then sends exactly the other three: had they stayed leased it could claim
/// none.
#[test]
fn sigterm_to_a_run_finishes_the_message_in_flight_and_gives_back_the_rest() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    import(&db, &fixture("school.json"));
    let busy = TestServer::start(Answer::Busy);
    let first: serde_json::Value = serde_json::from_str(&succeeded(
        on_with(
            &db,
            &["run", "--at", AT, "--format", "json"],
            &smtp(busy.port),
        ),
        "a run against a busy server",
    ))
    .unwrap();
    assert_eq!(
        (&first["recorded"], &first["retried"]),
        (&4.into(), &4.into()),
        "{first}"
    );

    // Past the retry delay: the four are due again.
    let later = "2026-11-26T18:55:00Z";
    let (port, arrivals, release, received) = gated_server();
    let mut env = smtp(port);
    env.push(("RAPPELS_SMTP_POOL_SIZE", "1".to_owned()));
    let mut run = Running::command(&db, &dir, &env, &["run", "--at", later, "--format", "json"]);
    arrivals
        .recv_timeout(PATIENCE)
        .expect("the run sends its first reminder");
    run.signal("TERM");
    // Once the run has stopped taking reminders, the held message may end.
    run.wait_for_line("stopping: finishing the messages in flight");
    release.send(()).unwrap();
    let mut stdout = run.child.stdout.take().unwrap();
    let status = run.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{:#?}", run.seen);
    let mut summary = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut summary).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        (&summary["sent"], &summary["stopped_early"]),
        (&1.into(), &true.into()),
        "{summary}"
    );
    assert_eq!(received.load(Ordering::SeqCst), 1);

    let server = TestServer::start(Answer::Accept);
    let out = on_with(
        &db,
        &["run", "--at", later, "--format", "json"],
        &smtp(server.port),
    );
    let again: serde_json::Value = serde_json::from_str(&succeeded(out, "run again")).unwrap();
    assert_eq!(again["sent"], 3, "{again}");
    assert_eq!(server.received().len(), 3);
}

// --- doctor -------------------------------------------------------------------------------

/// The check names, in the order they are printed.
const CHECKS: [&str; 10] = [
    "configuration",
    "unsubscribe",
    "database",
    "settings",
    "time zones",
    "addresses",
    "templates",
    "smtp",
    "mail folder",
    "clock",
];

/// The doctor's lines as (status, check, detail).
fn checks(out: &Output) -> Vec<(String, String, String)> {
    stdout(out)
        .lines()
        .map(|line| {
            let (status, rest) = line.split_once(' ').unwrap_or_else(|| panic!("{line:?}"));
            let (name, detail) = rest
                .trim_start()
                .split_once(": ")
                .unwrap_or_else(|| panic!("{line:?}"));
            (status.to_owned(), name.to_owned(), detail.to_owned())
        })
        .collect()
}

/// The line of check `name`.
fn check<'c>(checks: &'c [(String, String, String)], name: &str) -> &'c (String, String, String) {
    checks
        .iter()
        .find(|(_, n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks:#?}"))
}

fn doctor(db: &TestDb, env: &[(&str, String)]) -> Output {
    on_with(db, &["doctor"], env)
}

fn a_ready_installation_passes(db: &TestDb) {
    import(db, &fixture("school.json"));
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(db, &[outbox(&dir), ("RAPPELS_SECRET", SECRET.to_owned())]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let checks = checks(&out);
    let names: Vec<&str> = checks.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names, CHECKS);
    for (status, name, detail) in &checks {
        assert!(
            status == "ok" || status == "skip",
            "{status} {name}: {detail}"
        );
    }
    let zones = &check(&checks, "time zones").2;
    assert!(
        zones.starts_with("3 in use, all known (Africa/Abidjan, America/New_York, Europe/Paris)"),
        "{zones}"
    );
    assert_eq!(check(&checks, "smtp").0, "skip");
    assert_eq!(check(&checks, "mail folder").0, "ok");
    // The folder does not exist yet, and the doctor does not create it.
    assert!(!dir.path().join("outbox").exists());
}
on_both!(a_ready_installation_passes: the_doctor_passes_on_sqlite, the_doctor_passes_on_postgres);

#[test]
fn a_missing_secret_is_a_warning_and_an_invalid_one_a_failure() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(&db, &[outbox(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let unsubscribe = check(&checks(&out), "unsubscribe").clone();
    assert_eq!(unsubscribe.0, "warn", "{unsubscribe:?}");
    assert!(unsubscribe.2.contains("RAPPELS_SECRET is not set"));

    let out = doctor(&db, &[outbox(&dir), ("RAPPELS_SECRET", "short".to_owned())]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(check(&checks(&out), "unsubscribe").0, "FAIL");
    assert!(stderr(&out).contains("1 check failed"), "{}", stderr(&out));
}

#[test]
fn a_database_never_migrated_fails_with_the_hint() {
    let db = TestDb::sqlite();
    // An empty file is an empty SQLite database: reachable, without tables.
    let path = db.url.strip_prefix("sqlite://").unwrap();
    std::fs::write(path, b"").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(&db, &[outbox(&dir), ("RAPPELS_SECRET", SECRET.to_owned())]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let checks = checks(&out);
    let (status, _, detail) = check(&checks, "database");
    assert_eq!(status, "FAIL");
    assert!(detail.contains("run `rappels migrate`"), "{detail}");
    assert_eq!(check(&checks, "settings").0, "skip");
    assert_eq!(check(&checks, "time zones").0, "skip");
    // The other checks still ran.
    assert_eq!(checks.len(), CHECKS.len());
    assert_eq!(check(&checks, "templates").0, "ok");
}

#[test]
fn a_database_file_that_does_not_exist_is_not_created() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(&db, &[outbox(&dir)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let (status, _, detail) = check(&checks(&out), "database").clone();
    assert_eq!(status, "FAIL");
    assert!(detail.contains("cannot connect"), "{detail}");
    assert!(!std::path::Path::new(db.url.strip_prefix("sqlite://").unwrap()).exists());
}

#[test]
fn an_unreachable_smtp_server_fails() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let port = closed_port();
    let out = doctor(&db, &smtp(port));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let checks = checks(&out);
    let (status, _, detail) = check(&checks, "smtp");
    assert_eq!(status, "FAIL");
    assert!(
        detail.starts_with(&format!("smtp 127.0.0.1:{port} (no TLS): ")),
        "{detail}"
    );
    assert_eq!(check(&checks, "mail folder").0, "skip");
}

#[test]
fn a_reachable_smtp_server_passes() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let server = TestServer::start(Answer::Accept);
    let out = doctor(&db, &smtp(server.port));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let (status, _, detail) = check(&checks(&out), "smtp").clone();
    assert_eq!(status, "ok");
    assert_eq!(
        detail,
        format!("smtp 127.0.0.1:{} (no TLS): EHLO accepted", server.port)
    );
    assert!(server.received().is_empty(), "the doctor sends nothing");
}

#[test]
fn an_invalid_configuration_fails_and_skips_the_mail_checks() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let out = doctor(&db, &[("RAPPELS_MAILER", "carrier-pigeon".to_owned())]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let checks = checks(&out);
    let (status, _, detail) = check(&checks, "configuration");
    assert_eq!(status, "FAIL");
    assert!(detail.contains("RAPPELS_MAILER"), "{detail}");
    assert_eq!(check(&checks, "smtp").0, "skip");
    assert_eq!(check(&checks, "mail folder").0, "skip");
    assert_eq!(check(&checks, "database").0, "ok");
}
