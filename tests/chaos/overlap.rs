//! Overlap: eight `rappels run` started together on one database deliver each due reminder
//! exactly once, and the reminder log says so.

use rappels_smtp::testing::{Answer, TestServer};

use crate::support::{Db, SUNDAY, assert_delivered_once, due, school, smtp, spawn};

/// Runners started at once.
const RUNNERS: usize = 8;

fn eight_runners_deliver_each_reminder_once(db: &Db) {
    let _school = school(db, 9_000);
    let expected = due(db, SUNDAY);
    assert!(expected.len() >= 5_000, "{} due", expected.len());
    let server = TestServer::start(Answer::Accept);
    let env = smtp(server.port, 4);
    let runners: Vec<_> = (0..RUNNERS)
        .map(|_| {
            spawn(
                &db.url,
                &env,
                &["-q", "run", "--at", SUNDAY, "--format", "json"],
            )
        })
        .collect();
    let mut sent = 0;
    for runner in runners {
        let out = runner.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}: {:?}\n{}",
            db.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        sent += summary["sent"].as_u64().unwrap();
    }
    assert_eq!(
        sent as usize,
        expected.len(),
        "{}: the runners' reports",
        db.name
    );
    assert_delivered_once(db, &server.received(), &expected, 0);
}

#[test]
fn eight_overlapping_runs_deliver_each_reminder_once_on_sqlite() {
    eight_runners_deliver_each_reminder_once(&Db::sqlite());
}

#[test]
fn eight_overlapping_runs_deliver_each_reminder_once_on_postgres() {
    if let Some(db) = Db::postgres() {
        eight_runners_deliver_each_reminder_once(&db);
    }
}
