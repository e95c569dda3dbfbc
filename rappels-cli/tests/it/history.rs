//! `rappels history` and `rappels stats`: the real binary reads the reminder log that a real
//! run of the small school wrote, under the permission rules, on SQLite and, when
//! `RAPPELS_TEST_POSTGRES` is set, on PostgreSQL.

use std::process::Output;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::fixture;
use crate::support::{TestDb, cli, import, on, stderr, succeeded};
use rappels_smtp::testing::{Answer, TestServer};

/// The instant of README's example: four reminders are due in the small school.
const AT: &str = "2026-11-26T18:45:00Z";

/// The four reminders of the run at `AT`, newest first (by due instant): Awa's (student 1,
/// Mariam's only child) at 18:30 and 18:00, Lucas's at 17:30, Noah's at 15:00.
const ALL: [&str; 4] = [
    "session_eve:1:100:2026-11-26",
    "manual:500",
    "session_eve:2:101:2026-11-26",
    "inactivity:3:2026-11-26",
];

/// Imports the small school and sends what is due at `AT` into `.eml` files; the returned
/// folder holds them until it is dropped.
fn school_after_a_run(db: &TestDb) -> TempDir {
    import(db, &fixture("school.json"));
    let outbox = tempfile::tempdir().unwrap();
    let out = cli()
        .args(["run", "--at", AT, "--database-url", &db.url])
        .env(
            "RAPPELS_MAILER",
            format!("file:{}", outbox.path().join("outbox").display()),
        )
        .output()
        .unwrap();
    assert!(succeeded(out, "run").contains("sent 4,"));
    outbox
}

/// `rappels run --at INSTANT` against an SMTP server on loopback that answers `answer`.
fn run_over_smtp(db: &TestDb, at: &str, args: &[&str], answer: Answer) -> String {
    let server = TestServer::start(answer);
    let out = cli()
        .args(["run", "--at", at, "--database-url", &db.url])
        .args(args)
        .env("RAPPELS_MAILER", "smtp")
        .env("RAPPELS_SMTP_HOST", "127.0.0.1")
        .env("RAPPELS_SMTP_PORT", server.port.to_string())
        .env("RAPPELS_SMTP_TLS", "none")
        .output()
        .unwrap();
    succeeded(
        out,
        &format!("run at {at} against a server answering {answer:?}"),
    )
}

/// `rappels history ARGS --format json`, parsed.
fn history(db: &TestDb, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["history"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let text = succeeded(on(db, &all), &format!("history {}", args.join(" ")));
    match serde_json::from_str(&text) {
        Ok(Value::Array(lines)) => lines,
        other => panic!("history {args:?} printed {other:?}: {text}"),
    }
}

fn keys(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["key"].as_str().unwrap()).collect()
}

/// `rappels stats ARGS --format json`, parsed.
fn stats(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["stats"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let text = succeeded(on(db, &all), &format!("stats {}", args.join(" ")));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("stats printed {text}: {e}"))
}

/// Asserts a usage or permission failure: exit 2, with `message` on standard error.
fn refused(out: Output, message: &str) {
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(message), "{message:?} in {err}");
    assert!(out.stdout.is_empty(), "nothing on stdout when refused");
}

fn each_actor_reads_what_it_may(db: &TestDb) {
    let _outbox = school_after_a_run(db);

    let own = history(db, &["--as", "student:1"]);
    assert_eq!(keys(&own), ["session_eve:1:100:2026-11-26", "manual:500"]);
    assert_eq!(
        own[1],
        json!({
            "key": "manual:500", "kind": "manual", "student_id": 1,
            "due_at": "2026-11-26T18:00:00Z", "status": "sent", "attempts": 1,
            "sent_at": AT, "last_error": null, "subject": "Message de Mariam : Révise ce soir"
        })
    );
    assert_eq!(own[0]["kind"], "session_eve");
    assert_eq!(own[0]["due_at"], "2026-11-26T18:30:00Z");
    assert_eq!(history(db, &["--as", "student:1", "--child", "1"]), own);

    // Mariam (parent 10) has one child, Awa.
    assert_eq!(history(db, &["--as", "parent:10"]), own);
    assert_eq!(history(db, &["--as", "parent:10", "--child", "1"]), own);

    let everyone = history(db, &["--as", "admin"]);
    assert_eq!(keys(&everyone), ALL);
    let students: Vec<i64> = everyone
        .iter()
        .map(|l| l["student_id"].as_i64().unwrap())
        .collect();
    assert_eq!(students, [1, 1, 2, 3]);
    assert!(everyone.iter().all(|l| l["status"] == "sent"));
    assert_eq!(
        keys(&history(db, &["--as", "admin", "--child", "2"])),
        ["session_eve:2:101:2026-11-26"]
    );
    assert_eq!(
        keys(&history(db, &["--as", "admin", "--limit", "2"])),
        ALL[..2]
    );
    assert!(history(db, &["--as", "admin", "--child", "99"]).is_empty());
}
on_both!(each_actor_reads_what_it_may: each_actor_reads_what_it_may_on_sqlite, each_actor_reads_what_it_may_on_postgres);

fn refusals_exit_2_with_the_rule(db: &TestDb) {
    let _outbox = school_after_a_run(db);
    refused(
        on(db, &["history", "--as", "parent:10", "--child", "2"]),
        "error: a parent can only read the reminders of their own children\n",
    );
    refused(
        on(db, &["history", "--as", "student:1", "--child", "3"]),
        "error: a student can only read their own reminders\n",
    );
    refused(
        on(db, &["history", "--as", "parent:99"]),
        "error: parent 99 is not in the database\n",
    );
    // An unknown student is refused the same way, not shown an empty history.
    refused(
        on(db, &["history", "--as", "student:999"]),
        "error: student 999 is not in the database\n",
    );
}
on_both!(refusals_exit_2_with_the_rule: refusals_exit_2_with_the_rule_on_sqlite, refusals_exit_2_with_the_rule_on_postgres);

#[test]
fn malformed_arguments_are_usage_errors() {
    let db = TestDb::sqlite();
    let _outbox = school_after_a_run(&db);
    for actor in ["teacher:1", "student", "student:abc", "parent:0", "admin:1"] {
        refused(on(&db, &["history", "--as", actor]), "--as <ACTOR>");
    }
    refused(
        on(&db, &["history", "--as", "teacher:1"]),
        "expected student:ID, parent:ID or admin",
    );
    refused(on(&db, &["history"]), "--as <ACTOR>");
    refused(
        on(&db, &["history", "--as", "admin", "--limit", "0"]),
        "--limit <N>",
    );
    refused(
        on(&db, &["history", "--as", "admin", "--child", "0"]),
        "--child <STUDENT_ID>",
    );
    refused(
        on(&db, &["history", "--as", "admin", "--format", "csv"]),
        "--format <FORMAT>",
    );
    refused(on(&db, &["stats", "--days", "0"]), "--days <N>");
    refused(on(&db, &["stats", "--days=-1"]), "--days <N>");
    refused(on(&db, &["stats", "--days", "100001"]), "--days <N>");
}

#[test]
fn the_history_table_is_for_people() {
    let db = TestDb::sqlite();
    let _outbox = school_after_a_run(&db);
    let text = succeeded(on(&db, &["history", "--as", "student:1"]), "history");
    assert_eq!(
        text,
        "History of student 1: 2 reminders, newest first\n\
         \n\
         DUE AT                KIND         STUDENT  STATUS  ATTEMPTS  SENT AT               SUBJECT\n\
         2026-11-26T18:30:00Z  session_eve  1        sent    1         2026-11-26T18:45:00Z  Demain : Mathématiques à 14:00\n\
         2026-11-26T18:00:00Z  manual       1        sent    1         2026-11-26T18:45:00Z  Message de Mariam : Révise ce soir\n"
    );
    let text = succeeded(
        on(&db, &["history", "--as", "parent:10", "--limit", "1"]),
        "history --limit 1",
    );
    assert!(
        text.starts_with(
            "History of the children of parent 10: 1 reminder, newest first \
             (the 1 newest: raise --limit to see more)\n"
        ),
        "{text}"
    );
}

/// Nothing sent by rappels yet: the history is empty and every count is zero, all five kinds
/// listed. The reminders the scenario lists as already sent (imported `sent` keys) are in
/// neither.
fn before_any_run_everything_is_zero(db: &TestDb) {
    assert!(import(db, &fixture("school_history.json")).contains("sent keys        3 (3 new)"));
    assert!(history(db, &["--as", "admin"]).is_empty());
    let text = succeeded(on(db, &["history", "--as", "student:1"]), "history");
    assert_eq!(
        text,
        "History of student 1: 0 reminders, newest first\n\nNo reminder recorded.\n"
    );
    let counts = stats(db, &[]);
    assert_eq!(counts["days"], 7);
    assert_eq!(counts["timezone"], "Europe/Paris");
    for name in [
        "sent_today",
        "sent_in_period",
        "failed",
        "pending",
        "expired",
    ] {
        assert_eq!(counts[name], 0, "{name}");
    }
    assert_eq!(
        counts["sent_by_kind"],
        json!({ "session_eve": 0, "session_day": 0, "inactivity": 0, "weekly": 0, "manual": 0 })
    );
}
on_both!(before_any_run_everything_is_zero: before_any_run_everything_is_zero_on_sqlite, before_any_run_everything_is_zero_on_postgres);

/// The run's reminders were sent "at" `AT`, which is also their `sent_at`: how many of them
/// fall in today or in the last 7 days depends on the real date, so the period is a century.
#[test]
fn stats_count_the_sent_reminders_by_kind() {
    let db = TestDb::sqlite();
    let _outbox = school_after_a_run(&db);
    let counts = stats(&db, &["--days", "36500"]);
    assert_eq!(counts["days"], 36500);
    assert_eq!(counts["timezone"], "Europe/Paris");
    assert_eq!(counts["sent_in_period"], 4);
    assert_eq!(
        counts["sent_by_kind"],
        json!({ "session_eve": 2, "session_day": 0, "inactivity": 1, "weekly": 0, "manual": 1 })
    );
    assert_eq!(
        (&counts["failed"], &counts["pending"], &counts["expired"]),
        (&json!(0), &json!(0), &json!(0))
    );
    let today = counts["today"].as_str().unwrap();
    let table = succeeded(on(&db, &["stats", "--days", "36500"]), "stats");
    assert!(
        table.starts_with(&format!(
            "Reminders on {today} (local days in Europe/Paris)\n\n"
        )),
        "{table}"
    );
    for line in [
        "  session_eve",
        "  session_day",
        "  inactivity",
        "  weekly",
        "  manual",
    ] {
        assert!(table.contains(line), "{line:?} in\n{table}");
    }
    assert!(
        table.contains("sent in the last 36500 days (since "),
        "{table}"
    );
}

/// Refused, retried and expired reminders: the history shows their status and error, the
/// stats count them.
fn failures_show_in_history_and_stats(db: &TestDb) {
    import(db, &fixture("school.json"));
    // The manual reminder is refused for good (550), the three others put off (451).
    let out = run_over_smtp(db, AT, &["--kind", "manual"], Answer::Reject);
    assert!(out.contains("failed 1,"), "{out}");
    let out = run_over_smtp(db, AT, &[], Answer::Busy);
    assert!(out.contains("retried 3,"), "{out}");

    let counts = stats(db, &["--days", "36500"]);
    assert_eq!(
        [
            &counts["sent_in_period"],
            &counts["failed"],
            &counts["pending"],
            &counts["expired"]
        ],
        [&json!(0), &json!(1), &json!(3), &json!(0)]
    );
    let everyone = history(db, &["--as", "admin"]);
    assert_eq!(keys(&everyone), ALL);
    let manual = &everyone[1];
    assert_eq!(
        (&manual["status"], &manual["attempts"], &manual["sent_at"]),
        (&json!("failed"), &json!(1), &Value::Null)
    );
    assert!(
        manual["last_error"].as_str().unwrap().contains("550"),
        "{manual}"
    );
    assert!(
        everyone
            .iter()
            .filter(|l| l["key"] != "manual:500")
            .all(|l| l["status"] == "pending" && l["last_error"].as_str().unwrap().contains("451"))
    );
    let table = succeeded(on(db, &["history", "--as", "parent:10"]), "history");
    assert!(
        table.contains("SUBJECT                             LAST ERROR\n"),
        "{table}"
    );
    assert!(table.contains("  failed   1         -  "), "{table}");

    // The next morning Lucas's session (101, 07:30 in Paris) has started: its eve reminder
    // expires; Awa's and Noah's go out.
    let out = run_over_smtp(db, "2026-11-27T07:00:00Z", &[], Answer::Accept);
    assert!(
        out.contains("sent 2, retried 0, failed 0, expired 1,"),
        "{out}"
    );
    let counts = stats(db, &["--days", "36500"]);
    assert_eq!(
        [
            &counts["sent_in_period"],
            &counts["failed"],
            &counts["pending"],
            &counts["expired"]
        ],
        [&json!(2), &json!(1), &json!(0), &json!(1)]
    );
    assert_eq!(
        counts["sent_by_kind"],
        json!({ "session_eve": 1, "session_day": 0, "inactivity": 1, "weekly": 0, "manual": 0 })
    );
    let lucas = history(db, &["--as", "student:2"]);
    assert_eq!(
        (&lucas[0]["status"], &lucas[0]["sent_at"]),
        (&json!("expired"), &Value::Null)
    );
}
on_both!(failures_show_in_history_and_stats: failures_show_in_history_and_stats_on_sqlite, failures_show_in_history_and_stats_on_postgres);

#[test]
fn history_and_stats_need_an_imported_database() {
    let db = TestDb::sqlite();
    succeeded(on(&db, &["migrate"]), "migrate");
    for args in [&["history", "--as", "admin"][..], &["stats"][..]] {
        refused(
            on(&db, args),
            "import a scenario first (rappels import FILE)",
        );
    }
}

/// Control characters in names reach the terminal escaped: no ANSI colour, no carriage
/// return, no forged `Bcc:` line.
#[test]
fn explain_escapes_control_characters() {
    let db = TestDb::sqlite();
    let text = std::fs::read_to_string(fixture("school.json")).unwrap();
    let hostile = text.replace(
        "\"first_name\": \"Awa\"",
        "\"first_name\": \"A\\u001b[31mwa\\r\\nBcc: x\"",
    );
    assert_ne!(hostile, text);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.json");
    std::fs::write(&file, hostile).unwrap();
    import(&db, &file);
    let out = succeeded(
        on(&db, &["explain", "--student", "1", "--at", AT]),
        "explain",
    );
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    assert!(!out.lines().any(|l| l.starts_with("Bcc:")), "{out:?}");
    assert!(out.contains("A\\u{1b}[31mwa\\u{d}\\u{a}Bcc: x"), "{out:?}");
}
