//! Crash: a runner killed with SIGKILL in the middle of a batch loses nothing. The next run
//! after the lease sends what was left; a message is repeated only if the server accepted it
//! before the kill and its outcome was not yet recorded (a number the runner bounds by its
//! connections, whatever the backlog), and always with the same Message-ID.

use std::time::{Duration, Instant};

use rappels_smtp::testing::{Answer, TestServer};

use crate::support::{Db, SUNDAY, assert_delivered_once, due, run, school, smtp, spawn, succeeded};

/// Connections of the killed runner.
const POOL: usize = 4;

/// What a crash can repeat: the messages the server accepted whose outcome the log does not
/// hold yet, which a run bounds by 9 × its connections + 3 (sends in flight, outcomes queued
/// for their transaction, and those being written).
const UNRECORDED_AT_MOST: usize = 9 * POOL + 3;

fn a_killed_runner_loses_nothing(db: &Db) {
    let _school = school(db, 3_000);
    let expected = due(db, SUNDAY);
    let server = TestServer::start(Answer::Accept);
    let env = smtp(server.port, POOL);
    let mut runner = spawn(&db.url, &env, &["-q", "run", "--at", SUNDAY]);
    // Killed once a fifth of the messages are in: in the middle of a batch.
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.received().len() < expected.len() / 5 {
        assert!(
            Instant::now() < deadline,
            "{}: the runner sends nothing",
            db.name
        );
        assert!(
            runner.try_wait().unwrap().is_none(),
            "{}: the runner ended first",
            db.name
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    runner.kill().unwrap();
    runner.wait().unwrap();
    let before = server.received().len();
    assert!(before < expected.len(), "{}: killed too late", db.name);

    // Its claims are leased (5 minutes by default): a run after the lease takes them over.
    // Digests stay due for 24 hours, so nothing expires meanwhile.
    let after_lease = "2026-11-29T19:10:00Z";
    succeeded(
        run(&db.url, &env, &["-q", "run", "--at", after_lease]),
        "the run after the lease",
    );
    assert_delivered_once(db, &server.received(), &expected, UNRECORDED_AT_MOST);
}

#[test]
fn a_runner_killed_mid_batch_loses_nothing_on_sqlite() {
    a_killed_runner_loses_nothing(&Db::sqlite());
}

#[test]
fn a_runner_killed_mid_batch_loses_nothing_on_postgres() {
    if let Some(db) = Db::postgres() {
        a_killed_runner_loses_nothing(&db);
    }
}
