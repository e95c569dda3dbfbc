//! Outage: the mail server down, then closing sessions (421), answering "try later" (451),
//! dropping connections at the end of DATA, stalling past the client's timeout, then back.
//! Reminders stay pending with a growing delay and are delivered once, exactly, when it is
//! back; no run hangs past its timeouts. A 550 is `failed` once and never retried.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use rappels_smtp::testing::{Answer, Fault, TestServer};

use crate::support::{Db, SUNDAY, due, received_ids, run, school, smtp, stats};

/// The client's SMTP timeout in these runs, in seconds.
const TIMEOUT: &str = "1";

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `rappels run --at AT` through the server on `port`: its exit code, its JSON summary
/// (empty when it failed) and how long it took.
fn run_at(db: &Db, port: u16, at: &str) -> (Option<i32>, serde_json::Value, Duration) {
    let mut env = smtp(port, 4);
    env.push(("RAPPELS_SMTP_TIMEOUT", TIMEOUT.to_owned()));
    let started = Instant::now();
    let out = run(
        &db.url,
        &env,
        &["-q", "run", "--at", at, "--format", "json"],
    );
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), summary, started.elapsed())
}

fn pending(db: &Db) -> u64 {
    stats(db)["pending"].as_u64().unwrap()
}

#[test]
fn through_an_outage_every_reminder_is_delivered_once_when_the_server_is_back() {
    let db = Db::sqlite();
    let _school = school(&db, 70);
    let expected = due(&db, SUNDAY);
    let n = expected.len() as u64;
    assert!(n >= 20, "{n} due");

    // Down: the mail session fails, the run exits 1, everything stays pending.
    let (code, _, _) = run_at(&db, closed_port(), SUNDAY);
    assert_eq!((code, pending(&db)), (Some(1), n));

    let server = TestServer::start(Answer::Accept);
    // 421 at RCPT: the server closes the session; the run stops, nothing is counted.
    server.set_fault(Some(Fault::Answer(Answer::Closing)));
    let (code, _, _) = run_at(&db, server.port, "2026-11-29T19:01:00Z");
    assert_eq!((code, pending(&db)), (Some(1), n));
    // 451: every reminder is retried later (first delay: about a minute).
    server.set_fault(Some(Fault::Answer(Answer::Busy)));
    let (code, summary, _) = run_at(&db, server.port, "2026-11-29T19:02:00Z");
    assert_eq!(
        (code, summary["retried"].as_u64()),
        (Some(0), Some(n)),
        "{summary}"
    );
    // Connections dropped at the end of DATA: retried again (next delay: about 5 minutes).
    server.set_fault(Some(Fault::DropInData));
    let (code, summary, _) = run_at(&db, server.port, "2026-11-29T19:15:00Z");
    assert_eq!(
        (code, summary["retried"].as_u64()),
        (Some(0), Some(n)),
        "{summary}"
    );
    // A server that stalls past the client's timeout: each attempt ends at the timeout,
    // and the run ends (retried, or stopped as a failed session), never hangs.
    server.set_fault(Some(Fault::StallInData(Duration::from_secs(3))));
    let (code, _, took) = run_at(&db, server.port, "2026-11-29T19:45:00Z");
    assert!(code == Some(0) || code == Some(1), "{code:?}");
    assert!(took < Duration::from_secs(90), "the run took {took:?}");
    assert_eq!(pending(&db), n);
    assert!(server.received().is_empty(), "nothing was delivered yet");

    // Back, past every delay: each reminder delivered exactly once, with those that became
    // due meanwhile (the digests of zones further west).
    server.set_fault(None);
    let back = "2026-11-29T22:00:00Z";
    let mut all = expected.clone();
    all.extend(due(&db, back));
    let (code, summary, _) = run_at(&db, server.port, back);
    assert_eq!(
        (code, summary["sent"].as_u64()),
        (Some(0), Some(all.len() as u64)),
        "{summary}"
    );
    let received = received_ids(&server.received());
    let distinct: BTreeSet<String> = received.iter().cloned().collect();
    assert_eq!(
        received.len(),
        distinct.len(),
        "a reminder was delivered twice"
    );
    assert_eq!(distinct, all);
    let stats = stats(&db);
    assert_eq!(
        (stats["sent_in_period"].as_u64(), stats["pending"].as_u64()),
        (Some(all.len() as u64), Some(0)),
        "{stats}"
    );
}

#[test]
fn a_refused_reminder_fails_once_and_is_never_retried() {
    let db = Db::sqlite();
    let _school = school(&db, 70);
    let refused = due(&db, SUNDAY);
    let n = refused.len() as u64;
    let server = TestServer::start(Answer::Reject);
    let (code, summary, _) = run_at(&db, server.port, SUNDAY);
    assert_eq!(
        (code, summary["failed"].as_u64()),
        (Some(0), Some(n)),
        "{summary}"
    );
    // The server accepts again: the refused reminders stay failed; only those that became
    // due meanwhile go out.
    server.set_fault(Some(Fault::Answer(Answer::Accept)));
    let later = "2026-11-29T22:00:00Z";
    let new = due(&db, later);
    assert!(new.is_disjoint(&refused));
    let (code, summary, _) = run_at(&db, server.port, later);
    assert_eq!(
        (code, summary["sent"].as_u64()),
        (Some(0), Some(new.len() as u64)),
        "{summary}"
    );
    let received: BTreeSet<String> = received_ids(&server.received()).into_iter().collect();
    assert_eq!(received, new, "a refused reminder was retried");
    assert_eq!(stats(&db)["failed"].as_u64(), Some(n));
}

/// An outage longer than the reminders' moment: the server is down from Sunday evening to
/// Monday night. When it is back, what passed is `expired` (counted in `stats`), never sent
/// late: the digests (due for 24 hours) and the eve reminders of sessions that have started.
/// A manual request (due for 7 days) still goes out, once, with what is due now.
#[test]
fn reminders_whose_moment_passed_during_an_outage_expire_and_are_never_sent_late() {
    let db = Db::sqlite();
    let _school = school(&db, 70);
    let first = due(&db, SUNDAY);
    let (code, _, _) = run_at(&db, closed_port(), SUNDAY);
    assert_eq!((code, pending(&db)), (Some(1), first.len() as u64));
    let kind = |key: &str| key.split('.').next().unwrap_or_default().to_owned();
    let (still_due, passed): (BTreeSet<String>, BTreeSet<String>) =
        first.iter().cloned().partition(|key| kind(key) == "manual");
    assert!(
        passed.iter().any(|k| kind(k) == "weekly")
            && passed.iter().any(|k| kind(k) == "session_eve"),
        "the outage should hold digests and eve reminders: {passed:?}"
    );

    // Back on Monday at 23:00 in Paris (22:00Z), 27 hours later: every Monday session of
    // the zones whose eve reminder was due on Sunday at 19:00Z has started.
    let back = "2026-11-30T22:00:00Z";
    let newly_due = due(&db, back);
    let server = TestServer::start(Answer::Accept);
    let (code, summary, _) = run_at(&db, server.port, back);
    assert_eq!(code, Some(0), "{summary}");
    let received = received_ids(&server.received());
    let distinct: BTreeSet<String> = received.iter().cloned().collect();
    assert_eq!(distinct.len(), received.len(), "a reminder went out twice");
    assert!(
        distinct.is_disjoint(&passed),
        "sent late: {:?}",
        distinct.intersection(&passed).collect::<Vec<_>>()
    );
    let expected: BTreeSet<String> = still_due.union(&newly_due).cloned().collect();
    assert_eq!(distinct, expected);
    let stats = stats(&db);
    assert_eq!(
        (stats["expired"].as_u64(), stats["pending"].as_u64()),
        (Some(passed.len() as u64), Some(0)),
        "{stats}"
    );
    assert_eq!(
        summary["expired"].as_u64(),
        Some(passed.len() as u64),
        "{summary}"
    );
}
