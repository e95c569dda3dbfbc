//! `rappels remind`, `rappels explain` and `rappels schedule-sessions` on the small school:
//! the real binary on SQLite and, when `RAPPELS_TEST_POSTGRES` is set, on PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Output;

use mailparse::MailHeaderMap;
use serde_json::{Value, json};

use crate::fixture;
use crate::support::{TestDb, cli, import, on, plan_db, stderr, succeeded};

/// The instant of README's example; request 500 was made at 18:00 the same day.
const AT: &str = "2026-11-26T18:45:00Z";
/// An hour after request 500, on the same local day of student 1 (Africa/Abidjan, UTC).
const LATER: &str = "2026-11-26T19:00:00Z";
const SENDER: &str = "École Horizon <rappels@ecole.example.org>";

/// `rappels remind` from parent `parent` to student `student` at `at`, plus `extra`.
fn remind(db: &TestDb, parent: &str, student: &str, title: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "remind",
        "--parent",
        parent,
        "--student",
        student,
        "--title",
        title,
        "--message",
        "Courage pour demain !",
    ];
    args.extend_from_slice(extra);
    on(db, &args)
}

fn accepted(id: u32) -> String {
    format!(
        "manual reminder {id} from parent 10 to student 1 accepted; it goes out with the next run\n"
    )
}

/// The `(manual_id, due_at)` of the manual reminders due at `at`.
fn manual_due(db: &TestDb, at: &str) -> Vec<(i64, String)> {
    let plan: Value = serde_json::from_str(&plan_db(db, at)).unwrap();
    plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "manual")
        .map(|d| {
            (
                d["manual_id"].as_i64().unwrap(),
                d["due_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn refused(out: &Output, reason: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let message = stderr(out);
    assert!(
        message.contains(&format!("error: manual reminder refused: {reason} (")),
        "{message}"
    );
}

fn refusals_write_nothing(db: &TestDb) {
    import(db, &fixture("school.json"));
    let before = plan_db(db, LATER);

    let out = remind(db, "10", "2", "Coucou", &["--at", LATER]);
    refused(&out, "not_your_child");
    assert!(
        stderr(&out).contains(
            "manual reminder refused: not_your_child (this student is not one of the parent's children)"
        ),
        "{}",
        stderr(&out)
    );
    let out = remind(db, "10", "1", "Bonne\r\nchance", &["--at", LATER]);
    refused(&out, "invalid_title");
    refused(
        &remind(db, "99", "1", "Coucou", &["--at", LATER]),
        "unknown_parent",
    );

    // No new request to judge, none newly refused: the plan is what it was.
    assert_eq!(plan_db(db, LATER), before);
    let plan: Value = serde_json::from_str(&before).unwrap();
    assert_eq!(
        plan["rejected"],
        json!([{ "manual_id": 501, "reason": "not_your_child" }])
    );
    assert_eq!(
        manual_due(db, LATER),
        [(500, "2026-11-26T18:00:00Z".to_owned())]
    );
}
on_both!(refusals_write_nothing: refusals_write_nothing_on_sqlite, refusals_write_nothing_on_postgres);

fn the_daily_limit_counts_the_imported_request(db: &TestDb) {
    import(db, &fixture("school.json"));
    // Request 500 was accepted earlier that day: four more reach the limit of five.
    for id in 502..=505 {
        let out = remind(db, "10", "1", &format!("Rappel {id}"), &["--at", LATER]);
        assert_eq!(succeeded(out, "an accepted request"), accepted(id));
    }
    refused(
        &remind(db, "10", "1", "Un de trop", &["--at", LATER]),
        "rate_limited",
    );
    let mut due = vec![(500, "2026-11-26T18:00:00Z".to_owned())];
    due.extend((502..=505).map(|id| (id, LATER.to_owned())));
    assert_eq!(manual_due(db, LATER), due);
    // Accepted requests are due from their instant, not before.
    assert_eq!(
        manual_due(db, AT),
        [(500, "2026-11-26T18:00:00Z".to_owned())]
    );

    // The limit is per local day of the student: the next day starts afresh.
    let out = remind(db, "10", "1", "Demain", &["--at", "2026-11-27T00:00:00Z"]);
    assert_eq!(succeeded(out, "the next day"), accepted(506));
}
on_both!(the_daily_limit_counts_the_imported_request: the_daily_limit_counts_the_imported_request_on_sqlite, the_daily_limit_counts_the_imported_request_on_postgres);

/// The `.eml` files written into `dir`, sorted by name.
fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn send_now_sends_the_manual_reminders(db: &TestDb) {
    import(db, &fixture("school.json"));
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let out = cli()
        .args(["remind", "--parent", "10", "--student", "1"])
        .args(["--title", "Bonne chance", "--message", "Tu vas y arriver."])
        .args(["--send-now", "--at", LATER, "--database-url", &db.url])
        .env("RAPPELS_MAILER", format!("file:{}", outbox.display()))
        .env("RAPPELS_FROM", SENDER)
        .output()
        .unwrap();
    // Request 500, due since 18:00, goes out with it: a run of manual reminders sends all.
    assert_eq!(
        succeeded(out, "remind --send-now"),
        "manual reminder 502 from parent 10 to student 1 accepted; sending it now\n\
         run at 2026-11-26T19:00:00Z: sent 2, retried 0, failed 0, expired 0, cancelled 0, skipped 0 \
         (planned 2, newly recorded 2)\n"
    );
    let files = eml_files(&outbox);
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "manual.500@ecole.example.org.eml",
            "manual.502@ecole.example.org.eml"
        ]
    );
    let raw = std::fs::read(&files[1]).unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap();
    let header = |name: &str| mail.headers.get_first_value(name).unwrap();
    assert_eq!(header("Message-ID"), "<manual.502@ecole.example.org>");
    assert_eq!(header("To"), "Awa Koné <awa@example.org>");
    assert_eq!(header("Subject"), "Message de Mariam : Bonne chance");
    assert!(
        mail.headers.get_first_value("List-Unsubscribe").is_none(),
        "manual reminders carry no unsubscribe link"
    );
    assert!(
        manual_due(db, LATER).is_empty(),
        "both were recorded as sent"
    );
}
on_both!(send_now_sends_the_manual_reminders: send_now_sends_the_manual_reminders_on_sqlite, send_now_sends_the_manual_reminders_on_postgres);

#[test]
fn send_now_checks_the_mail_configuration_before_recording() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let out = cli()
        .args(["remind", "--parent", "10", "--student", "1", "--title", "T"])
        .args(["--message", "M", "--send-now", "--at", LATER])
        .args(["--database-url", &db.url])
        .env("RAPPELS_MAILER", "pigeon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("RAPPELS_MAILER"), "{}", stderr(&out));
    assert_eq!(manual_due(&db, LATER).len(), 1, "only request 500");
}

fn explain_text(db: &TestDb, student: &str, at: &str) -> String {
    succeeded(
        on(db, &["explain", "--student", student, "--at", at]),
        &format!("explain --student {student}"),
    )
}

fn explain_names_the_reasons(db: &TestDb) {
    import(db, &fixture("school.json"));
    let header = "Reminders of student 1 (Awa Koné) at 2026-11-26T18:45:00Z \
                  (Thursday 2026-11-26 18:45 in Africa/Abidjan):\n";
    let rest = "  session_day (session 100): not yet, due at 2026-11-27T08:00:00Z\n\
                \x20 inactivity: not due, 6 days inactive is not a reminder day (next: 2026-11-27)\n\
                \x20 weekly: not due, the student opted out of weekly reminders\n";
    assert_eq!(
        explain_text(db, "1", AT),
        format!(
            "{header}  session_eve (session 100): due since 2026-11-26T18:30:00Z\n{rest}\
             \x20 manual (request 500): due since 2026-11-26T18:00:00Z\n"
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let out = cli()
        .args(["run", "--at", AT, "--database-url", &db.url])
        .env(
            "RAPPELS_MAILER",
            format!("file:{}", dir.path().join("outbox").display()),
        )
        .output()
        .unwrap();
    succeeded(out, "run");
    assert_eq!(
        explain_text(db, "1", AT),
        format!(
            "{header}  session_eve (session 100): already sent\n{rest}\
             \x20 manual (request 500): already sent\n"
        )
    );

    // Lucas: an early session, no ladder day yet, and a request his parent may not make.
    let out = on(
        db,
        &["explain", "--student", "2", "--at", AT, "--format", "json"],
    );
    let lines: Value = serde_json::from_str(&succeeded(out, "explain as JSON")).unwrap();
    assert_eq!(
        lines,
        json!([
            { "kind": "session_eve", "session_id": 101, "manual_id": null,
              "verdict": "already_sent", "reason": "already sent or recorded for sending",
              "due_at": null },
            { "kind": "session_day", "session_id": 101, "manual_id": null, "verdict": "not_due",
              "reason": "its slot (2026-11-27T07:00:00Z) is not before the session's start (2026-11-27T06:30:00Z)",
              "due_at": null },
            { "kind": "inactivity", "session_id": null, "manual_id": null, "verdict": "not_due",
              "reason": "1 day inactive is not a reminder day (next: 2026-11-28)",
              "due_at": null },
            { "kind": "weekly", "session_id": null, "manual_id": null, "verdict": "not_due",
              "reason": "not the digest's day (next: 2026-11-29T19:00:00Z)", "due_at": null },
            { "kind": "manual", "session_id": null, "manual_id": 501, "verdict": "not_due",
              "reason": "refused: not_your_child (this student is not one of the parent's children)",
              "due_at": null }
        ])
    );
    let text = explain_text(db, "2", AT);
    assert!(
        text.ends_with(
            "  manual (request 501): not due, refused: not_your_child \
             (this student is not one of the parent's children)\n"
        ),
        "{text}"
    );

    let out = on(db, &["explain", "--student", "99", "--at", AT]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: unknown student 99: no such student in the database\n"
    );
}
on_both!(explain_names_the_reasons: explain_names_the_reasons_on_sqlite, explain_names_the_reasons_on_postgres);

fn schedule_sessions_creates_the_study_plans_sessions_once(db: &TestDb) {
    // Study plan 7: Lucas (Europe/Paris), Wednesdays at 17:00, 45 minutes.
    import(db, &fixture("school_history.json"));
    let schedule = |what| succeeded(on(db, &["schedule-sessions", "--at", AT]), what);
    assert_eq!(
        schedule("first schedule"),
        "SESSION  STUDENT  SUBJECT   STARTS AT (UTC)       MINUTES\n\
         102      2        Physique  2026-12-02T16:00:00Z  45\n\
         103      2        Physique  2026-12-09T16:00:00Z  45\n\
         \n\
         created 2 sessions from the study plans for the next 14 days\n"
    );
    assert_eq!(
        schedule("second schedule"),
        "no session created: the study plans' sessions for the next 14 days already exist \
         (or no active student has a study plan)\n"
    );
    // A longer horizon adds only the sessions beyond the first one's.
    let out = on(db, &["schedule-sessions", "--at", AT, "--days", "21", "-q"]);
    assert!(succeeded(out, "21 days").contains(
        "104      2        Physique  2026-12-16T16:00:00Z  45\n\
             \n\
             created 1 session from the study plans for the next 21 days\n"
    ));

    // The new sessions get their reminders: the eve of the first, 18:30 in Paris.
    let plan: Value = serde_json::from_str(&plan_db(db, "2026-12-01T17:45:00Z")).unwrap();
    let eve: Vec<&Value> = plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "session_eve")
        .collect();
    assert_eq!(eve.len(), 1, "{plan}");
    assert_eq!(eve[0]["session_id"], 102);
    assert_eq!(eve[0]["student_id"], 2);
    assert_eq!(eve[0]["due_at"], "2026-12-01T17:30:00Z");
    assert_eq!(eve[0]["subject"], "Demain : Physique à 17:00");
}
on_both!(schedule_sessions_creates_the_study_plans_sessions_once: schedule_sessions_creates_the_study_plans_sessions_once_on_sqlite, schedule_sessions_creates_the_study_plans_sessions_once_on_postgres);

#[test]
fn schedule_sessions_refuses_a_horizon_out_of_range() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school_history.json"));
    for days in ["0", "367", "two"] {
        let out = on(&db, &["schedule-sessions", "--days", days]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--days {days}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--days"), "{}", stderr(&out));
    }
}
