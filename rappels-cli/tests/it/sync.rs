//! Staying in step with the platform: a full import removes what the export no longer
//! holds, `rappels ingest` applies changes line by line, and every change reaches the next
//! run — a reminder recorded for data that no longer wants it is cancelled, never sent.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::fixture;
use crate::mail::{rappels_with, smtp};
use crate::support::{TestDb, cli, import, on, stderr, stdout, succeeded};
use rappels_smtp::testing::{Answer, TestServer};

/// The small school of the fixtures, as JSON to edit.
fn school() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("school.json")).unwrap()).unwrap()
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// JSON Lines of `changes`.
fn feed(changes: &[Value]) -> String {
    changes.iter().map(|c| format!("{c}\n")).collect()
}

fn ingest(db: &TestDb, args: &[&str]) -> Output {
    on(db, &[&["ingest"], args].concat())
}

/// Records the four reminders due at 18:45 (Awa's eve reminder for session 100, Lucas's
/// for session 101, Noah's inactivity reminder and Mariam's manual request 500 to Awa)
/// while the server answers 451: they stay in the log, pending.
fn record_while_the_server_is_busy(db: &TestDb) {
    let busy = TestServer::start(Answer::Busy);
    let mut env = smtp(busy.port);
    env.push(("RAPPELS_DATABASE_URL", db.url.clone()));
    let out = rappels_with(
        &["run", "--at", "2026-11-26T18:45:00Z", "--format", "json"],
        &env,
    );
    let summary: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["retried"], 4, "{summary}");
    assert!(busy.received().is_empty());
}

/// Runs at 21:00 against a server that accepts: the run's summary, what the server got
/// (Message-IDs) and each reminder's status and reason, by key.
fn run_when_the_server_is_back(
    db: &TestDb,
) -> (Value, Vec<String>, BTreeMap<String, (String, String)>) {
    let server = TestServer::start(Answer::Accept);
    let mut env = smtp(server.port);
    env.push(("RAPPELS_DATABASE_URL", db.url.clone()));
    let out = rappels_with(
        &["run", "--at", "2026-11-26T21:00:00Z", "--format", "json"],
        &env,
    );
    let summary: Value = serde_json::from_str(&succeeded(out, "run")).unwrap();
    let received = server
        .received()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.data).into_owned())
        .collect();
    let history: Value = serde_json::from_str(&succeeded(
        on(db, &["history", "--as", "admin", "--format", "json"]),
        "history",
    ))
    .unwrap();
    let log = history
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_owned(),
                (
                    l["status"].as_str().unwrap().to_owned(),
                    l["last_error"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect();
    (summary, received, log)
}

/// Runs when the server is back and asserts that the reminders recorded at 18:45 named in
/// `reasons` (key, part of the reason) were cancelled, for that reason, and the others
/// sent.
fn cancelled_for(db: &TestDb, reasons: &[(&str, &str)]) {
    let (summary, received, log) = run_when_the_server_is_back(db);
    let cancelled = reasons.len() as u64;
    assert_eq!(
        (summary["cancelled"].as_u64(), summary["sent"].as_u64()),
        (Some(cancelled), Some(4 - cancelled)),
        "{summary} {log:?}"
    );
    assert_eq!(received.len() as u64, 4 - cancelled);
    for (key, why) in reasons {
        let (status, error) = &log[*key];
        assert_eq!(status, "cancelled", "{key}: {log:?}");
        assert!(error.contains(why), "{key}: {error:?} should say {why:?}");
        let id = format!("<{}@", key.replace(':', "."));
        assert!(received.iter().all(|m| !m.contains(&id)), "{key} went out");
    }
}

/// Session 101 moved two days later, session 100 deleted, Noah active again, Mariam no
/// longer linked to Awa: each as a line of the platform's feed.
fn the_days_changes() -> Vec<Value> {
    vec![
        json!({"session": {"id": 101, "student_id": 2, "subject": "Physique",
                           "starts_at": "2026-11-29T07:30:00+01:00"}}),
        json!({"delete": {"session": 100}}),
        json!({"activity": {"student_id": 3, "at": "2026-11-26T19:00:00Z"}}),
        json!({"unlink": {"parent_id": 10, "student_id": 1}}),
    ]
}

fn changes_from_the_feed_reach_the_next_run(db: &TestDb) {
    import(db, &fixture("school.json"));
    record_while_the_server_is_busy(db);
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "changes.jsonl", &feed(&the_days_changes()));
    let out = succeeded(ingest(db, &[file.to_str().unwrap()]), "ingest");
    assert!(
        out.starts_with("4 written, 0 unchanged, 0 about records not stored, 0 bad"),
        "{out}"
    );
    // The same feed again writes nothing; the session already deleted is reported.
    let again = succeeded(ingest(db, &[file.to_str().unwrap()]), "ingest again");
    assert!(
        again.starts_with("0 written, 3 unchanged, 1 about records not stored, 0 bad"),
        "{again}"
    );
    assert!(again.contains("line 2: skipped, no session 100"), "{again}");
    cancelled_for(
        db,
        &[
            ("session_eve:2:101:2026-11-26", "moved to another day"),
            ("session_eve:1:100:2026-11-26", "the session was removed"),
            ("inactivity:3:2026-11-26", "active since"),
            ("manual:500", "not_your_child"),
        ],
    );
}
on_both!(changes_from_the_feed_reach_the_next_run: changes_from_the_feed_reach_the_next_run_on_sqlite, changes_from_the_feed_reach_the_next_run_on_postgres);

fn a_full_import_removes_what_the_export_no_longer_holds(db: &TestDb) {
    import(db, &fixture("school.json"));
    record_while_the_server_is_busy(db);
    // The next export: Lucas (student 2) and his session have left, session 100 was
    // deleted, and Mariam (parent 10) closed her account.
    let mut export = school();
    export["students"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["id"] != 2);
    export["sessions"] = json!([]);
    export["parents"] = json!([]);
    export["manual"] = json!([]);
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "export.json", &export.to_string());
    let path = file.to_str().unwrap();

    let before = plan(db);
    let dry = succeeded(
        on(db, &["import", "--mode", "full", "--dry-run", path]),
        "dry run",
    );
    assert!(dry.starts_with("dry run, nothing written"), "{dry}");
    for line in [
        "students         0 added, 0 changed, 1 removed (2 in the file)",
        "parents          0 added, 0 changed, 1 removed (0 in the file)",
        "links            0 added, 0 changed, 1 removed",
        "sessions         0 added, 0 changed, 2 removed (0 in the file)",
    ] {
        assert!(dry.contains(line), "{line:?} in\n{dry}");
    }
    assert_eq!(plan(db), before, "a dry run wrote");
    // Merge, the default, keeps what the file does not hold.
    let merged = succeeded(on(db, &["import", path]), "merge");
    assert!(
        merged.contains("students         0 added, 0 changed, 0 removed"),
        "{merged}"
    );
    assert_eq!(plan(db), before, "a merge removed something");

    let full = succeeded(on(db, &["import", "--mode", "full", path]), "full import");
    assert!(full.contains("(full mode)"), "{full}");
    // Mariam is gone: she reads no history and cannot send a reminder.
    let out = on(db, &["history", "--as", "parent:10"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = on(
        db,
        &[
            "remind",
            "--parent",
            "10",
            "--student",
            "1",
            "--title",
            "Hé",
            "--message",
            "Révise",
            "--at",
            "2026-11-26T20:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("unknown_parent"), "{}", stderr(&out));
    cancelled_for(
        db,
        &[
            ("session_eve:2:101:2026-11-26", "the student was removed"),
            ("session_eve:1:100:2026-11-26", "the session was removed"),
            ("manual:500", "unknown_parent"),
        ],
    );
    // The history of what was recorded stays.
    let history = succeeded(on(db, &["history", "--as", "admin"]), "history");
    assert!(
        history.starts_with("History of all students: 4 reminders"),
        "{history}"
    );
}
on_both!(a_full_import_removes_what_the_export_no_longer_holds: a_full_import_removes_what_the_export_no_longer_holds_on_sqlite, a_full_import_removes_what_the_export_no_longer_holds_on_postgres);

/// The plan at 18:45 as the database gives it.
fn plan(db: &TestDb) -> String {
    succeeded(
        on(db, &["plan", "--db", "--at", "2026-11-26T18:45:00Z"]),
        "plan --db",
    )
}

fn bad_lines_are_named_and_the_good_ones_applied(db: &TestDb) {
    import(db, &fixture("school.json"));
    let dir = tempfile::tempdir().unwrap();
    let text = [
        json!({"activity": {"student_id": 2, "at": "2026-11-26T18:00:00Z"}}).to_string(),
        r#"{"activity": {"student_id": 3, "at": "yesterday"}}"#.to_owned(),
        String::new(),
        json!({"session": {"id": 102, "student_id": 3, "subject": "Chimie",
                           "starts_at": "2026-11-27T15:00:00Z", "duration_minutes": 0}})
        .to_string(),
        json!({"session": {"id": 103, "student_id": 99, "subject": "Chimie",
                           "starts_at": "2026-11-27T15:00:00Z"}})
        .to_string(),
        "not json".to_owned(),
    ]
    .join("\n");
    let file = write(&dir, "changes.jsonl", &text);
    let path = file.to_str().unwrap();
    let before = plan(db);

    // All or nothing: three bad lines, nothing written.
    let out = ingest(db, &["--atomic", path]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for said in [
        "line 2: activity.at: ",
        "line 4: session.duration_minutes: ",
        "line 6: ",
        "3 bad lines in",
        "nothing was written (--atomic)",
    ] {
        assert!(err.contains(said), "{said:?} in\n{err}");
    }
    assert_eq!(plan(db), before, "--atomic wrote");

    // Without --atomic the good lines go in, the bad ones are named, and the exit is 2.
    let out = ingest(db, &[path]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.starts_with("1 written, 0 unchanged, 1 about records not stored, 3 bad"),
        "{said}"
    );
    assert!(
        said.contains("line 5: skipped, session 103: no student 99"),
        "{said}"
    );
    assert!(
        stderr(&out).contains("the other lines were applied"),
        "{}",
        stderr(&out)
    );
    // Lucas was active at 18:00: his inactivity clock restarted, so nothing else changed
    // at 18:45, where he had nothing due for inactivity.
    assert_eq!(plan(db), before);
    // An activity older than the one stored moves nothing.
    let older = write(
        &dir,
        "older.jsonl",
        &feed(&[json!({"activity": {"student_id": 2, "at": "2026-11-20T08:00:00Z"}})]),
    );
    let out = succeeded(ingest(db, &[older.to_str().unwrap()]), "older activity");
    assert!(out.starts_with("0 written, 1 unchanged"), "{out}");
}
on_both!(bad_lines_are_named_and_the_good_ones_applied: bad_lines_are_named_and_the_good_ones_applied_on_sqlite, bad_lines_are_named_and_the_good_ones_applied_on_postgres);

#[test]
fn ingest_reads_standard_input_and_new_records_are_planned() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    // Noah (student 3, New York) books a session for tomorrow afternoon: its eve reminder
    // is due at 18:30 New York time.
    let changes = feed(&[
        json!({"session": {"id": 200, "student_id": 3, "subject": "Chimie",
                                            "starts_at": "2026-11-27T20:00:00Z"}}),
    ]);
    let out = cli()
        .args(["ingest", "-", "--database-url", &db.url])
        .write_stdin(changes)
        .output()
        .unwrap();
    let said = succeeded(out, "ingest -");
    assert!(said.starts_with("1 written"), "{said}");
    let plan: Value = serde_json::from_str(&succeeded(
        on(&db, &["plan", "--db", "--at", "2026-11-26T23:30:00Z"]),
        "plan",
    ))
    .unwrap();
    assert!(
        plan["due"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "session_eve" && d["student_id"] == 3 && d["session_id"] == 200),
        "{plan}"
    );
}
