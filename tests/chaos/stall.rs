//! Stall: a runner stopped (SIGSTOP) in the middle of a batch, for longer than its lease,
//! while another runner takes its claims over and sends them. When it continues, it sends
//! none of the claims it held: past half its lease it gives them back instead. Without
//! that check it would send its whole batch a second time, although the log refuses the
//! outcomes (the lease owner check comes too late for a message already sent).

use std::process::Command;
use std::time::{Duration, Instant};

use rappels_smtp::testing::{Answer, Fault, TestServer};

use crate::support::{
    Db, SUNDAY, assert_delivered_once, due, run, school, smtp, spawn, stats, succeeded,
};

/// The lease of these runs, in seconds: short, so that the test waits past it; twice the
/// SMTP timeout, as the CLI requires.
const LEASE: &str = "4";
const TIMEOUT: &str = "2";

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

fn a_stalled_runner_sends_nothing_it_lost(db: &Db) {
    let _school = school(db, 400);
    let expected = due(db, SUNDAY);
    // More than a claim batch (100): the stalled runner holds a full batch.
    assert!(expected.len() > 150, "{}: {} due", db.name, expected.len());
    let server = TestServer::start(Answer::Accept);
    // The first message stalls at the end of its content (and is never delivered): runner
    // A then holds a claimed batch, one message in flight.
    server.set_fault(Some(Fault::StallInData(Duration::from_secs(3))));
    let mut env = smtp(server.port, 1);
    env.push(("RAPPELS_LEASE", LEASE.to_owned()));
    env.push(("RAPPELS_SMTP_TIMEOUT", TIMEOUT.to_owned()));
    let runner = spawn(&db.url, &env, &["-q", "run", "--at", SUNDAY]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.stalls() == 0 {
        assert!(
            Instant::now() < deadline,
            "{}: runner A sends nothing",
            db.name
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Stopped once everything due is recorded, so that it holds no write transaction: on
    // SQLite a process stopped inside one keeps the database's only write lock, and every
    // other runner waits for it (then fails after its busy timeout).
    while stats(db)["pending"].as_u64() != Some(expected.len() as u64) {
        assert!(
            Instant::now() < deadline,
            "{}: runner A records nothing",
            db.name
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(runner.id(), "STOP");
    server.set_fault(None);
    // Past A's lease on the monotonic clock, and B runs a minute later by its own clock:
    // A's leases (until Sunday 19:00:04) have ended, B takes everything over.
    std::thread::sleep(Duration::from_secs(5));
    succeeded(
        run(
            &db.url,
            &env,
            &["-q", "run", "--at", "2026-11-29T19:01:00Z"],
        ),
        "runner B",
    );
    let after_b = server.received().len();
    assert_eq!(
        after_b,
        expected.len(),
        "{}: runner B sent everything",
        db.name
    );
    signal(runner.id(), "CONT");
    let out = runner.wait_with_output().unwrap();
    // Its stalled message failed (a timeout, or a closed connection): either a failed
    // delivery whose outcome the log refuses, or a failed mail session (exit 1).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: runner A ended with {:?}\n{}",
        db.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_delivered_once(db, &server.received(), &expected, 0);
}

#[test]
fn a_runner_stalled_past_its_lease_sends_none_of_its_claims_on_sqlite() {
    a_stalled_runner_sends_nothing_it_lost(&Db::sqlite());
}

#[test]
fn a_runner_stalled_past_its_lease_sends_none_of_its_claims_on_postgres() {
    if let Some(db) = Db::postgres() {
        a_stalled_runner_sends_nothing_it_lost(&db);
    }
}
