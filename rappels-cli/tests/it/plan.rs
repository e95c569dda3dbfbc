//! `rappels plan`: RULES.md's output, the table, and the exit statuses.

use serde_json::Value;

use crate::support::due_subjects;
use crate::{fixture, rappels};

fn plan_json(at: &str) -> Value {
    plan_file_json(&fixture("school.json"), at)
}

fn plan_file_json(file: &std::path::Path, at: &str) -> Value {
    let out = rappels()
        .args(["plan", "--scenario"])
        .arg(file)
        .args(["--at", at, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("plan prints one JSON object")
}

/// The compared part of a due line: (kind, student, session, manual, slot date, due at, to).
type Row = (
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
);

fn rows(plan: &Value) -> Vec<Row> {
    plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["student_id"].as_i64().unwrap(),
                d["session_id"].as_i64(),
                d["manual_id"].as_i64(),
                d["slot_date"].as_str().unwrap().to_owned(),
                d["due_at"].as_str().unwrap().to_owned(),
                d["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(
    kind: &str,
    student: i64,
    session: Option<i64>,
    manual: Option<i64>,
    date: &str,
    due_at: &str,
    to: &str,
) -> Row {
    (
        kind.into(),
        student,
        session,
        manual,
        date.into(),
        due_at.into(),
        to.into(),
    )
}

#[test]
fn plan_prints_the_due_reminders_in_the_spec_order() {
    let plan = plan_json("2026-11-26T18:45:00Z");
    assert_eq!(plan["at"], "2026-11-26T18:45:00Z");
    assert_eq!(
        rows(&plan),
        vec![
            // Noah's last activity is the 23rd in New York: day 3 at 10:00 EST.
            row(
                "inactivity",
                3,
                None,
                None,
                "2026-11-26",
                "2026-11-26T15:00:00Z",
                "noah@example.org"
            ),
            // Lucas's 07:30 session: eve at 18:30 Paris.
            row(
                "session_eve",
                2,
                Some(101),
                None,
                "2026-11-26",
                "2026-11-26T17:30:00Z",
                "lucas@example.org"
            ),
            row(
                "manual",
                1,
                None,
                Some(500),
                "2026-11-26",
                "2026-11-26T18:00:00Z",
                "awa@example.org"
            ),
            // Awa lives in Abidjan (UTC): eve at 18:30Z.
            row(
                "session_eve",
                1,
                Some(100),
                None,
                "2026-11-26",
                "2026-11-26T18:30:00Z",
                "awa@example.org"
            ),
        ]
    );
    assert_eq!(
        plan["rejected"],
        serde_json::json!([{ "manual_id": 501, "reason": "not_your_child" }])
    );
    let subjects = due_subjects(&plan);
    assert_eq!(subjects[2], "Message de Mariam : Révise ce soir");
    assert!(subjects[3].contains("Mathématiques"), "{subjects:?}");
}

#[test]
fn the_next_morning_only_the_unsent_manual_and_awas_morning_reminder_are_due() {
    let plan = plan_json("2026-11-27T08:30:00+00:00");
    assert_eq!(
        rows(&plan),
        vec![
            row(
                "manual",
                1,
                None,
                Some(500),
                "2026-11-26",
                "2026-11-26T18:00:00Z",
                "awa@example.org"
            ),
            row(
                "session_day",
                1,
                Some(100),
                None,
                "2026-11-27",
                "2026-11-27T08:00:00Z",
                "awa@example.org"
            ),
        ],
        "Lucas's 07:30 session gets no 08:00 reminder, and manual reminders never expire"
    );
}

#[test]
fn plan_as_a_table_for_people() {
    let out = rappels()
        .args([
            "plan",
            "--format",
            "table",
            "--at",
            "2026-11-26T18:45:00Z",
            "--scenario",
        ])
        .arg(fixture("school.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Plan at 2026-11-26T18:45:00Z: 4 due"),
        "{text}"
    );
    assert!(text.contains("session_eve  1        session 100"), "{text}");
    assert!(text.contains("request 501: not_your_child"), "{text}");
}

#[test]
fn plan_without_at_plans_now() {
    let out = rappels()
        .args(["plan", "--scenario"])
        .arg(fixture("school.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan["at"].as_str().unwrap().ends_with('Z'));
}

fn failing(args: &[&str], scenario: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rappels();
    cmd.args(args);
    if let Some(text) = scenario {
        let path = dir.path().join("bad.json");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--scenario").arg(path);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn invalid_scenarios_exit_2_and_name_the_record() {
    let good = std::fs::read_to_string(fixture("school.json")).unwrap();
    let cases = [
        (
            good.replace("America/New_York", "America/New_Yrok"),
            "students[2].timezone: unknown time zone \"America/New_Yrok\"",
        ),
        (
            good.replace("\"children\": [1]", "\"children\": [1, 77]"),
            "parents[0].children[1]: no student has id 77",
        ),
        (
            good.replace("\"id\": 2,", "\"id\": 1,"),
            "students[1].id: duplicate student id 1",
        ),
        (
            good.replace("mariam@example.org", "mariam at example.org"),
            "parents[0].email",
        ),
        (
            good.replace("2026-11-27T14:00:00Z", "2026-11-27 14:00"),
            "sessions[0].starts_at",
        ),
        (
            good.replace("\"opt_out\"", "\"opt_outs\""),
            "students[0].opt_outs: unknown field",
        ),
        (
            good.replace("\"timezone\": \"Europe/Paris\"", "\"grace_minutes\": 0"),
            "settings.grace_minutes",
        ),
        ("{ \"students\": [".to_owned(), "bad.json"),
    ];
    for (text, expected) in cases {
        let (code, stderr) = failing(&["plan", "--at", "2026-11-26T18:45:00Z"], Some(&text));
        assert_eq!(code, 2, "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let (code, stderr) = failing(&["plan", "--scenario", "/nonexistent/school.json"], None);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read scenario /nonexistent/school.json"),
        "{stderr}"
    );
    let school = fixture("school.json");
    let school = school.to_str().unwrap();
    let (code, stderr) = failing(
        &["plan", "--scenario", school, "--at", "2026-11-26 18:45"],
        None,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid instant"), "{stderr}");
    let (code, _) = failing(&["plan", "--scenario", school, "--format", "yaml"], None);
    assert_eq!(code, 2);
    let (code, _) = failing(&["plan"], None);
    assert_eq!(code, 2);
}

#[test]
fn help_teaches_with_an_example() {
    let out = rappels().args(["plan", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rappels plan --scenario school.json --at 2026-11-26T18:45:00Z"),
        "{text}"
    );
    assert!(text.contains("grace"), "{text}");
}

/// A scenario saved with a UTF-8 byte order mark (as some Windows editors do) plans exactly
/// like the same file without it.
#[test]
fn a_byte_order_mark_is_skipped() {
    let text = std::fs::read_to_string(fixture("school.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bom.json");
    std::fs::write(&file, format!("\u{feff}{text}")).unwrap();
    assert_eq!(
        plan_file_json(&file, "2026-11-26T18:45:00Z"),
        plan_json("2026-11-26T18:45:00Z")
    );
}

/// RULES.md's limits are input errors that name the record (exit 2) on `plan` too.
#[test]
fn over_long_text_and_zero_minutes_are_refused() {
    let text = std::fs::read_to_string(fixture("school.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            text.replace(
                "\"subject\": \"Physique\"",
                &format!("\"subject\": \"{}\"", "x".repeat(201)),
            ),
            "sessions[1].subject: longer than 200 characters",
        ),
        (
            text.replace(
                "\"first_name\": \"Mariam\"",
                &format!("\"first_name\": \"{}\"", "ß".repeat(101)),
            ),
            "parents[0].first_name: longer than 100 characters",
        ),
        (
            text.replace(
                "\"subject\": \"Physique\",",
                "\"subject\": \"Physique\", \"duration_minutes\": 0,",
            ),
            "sessions[1].duration_minutes: duration_minutes must be a positive integer",
        ),
    ];
    for (i, (bad, expected)) in cases.into_iter().enumerate() {
        assert_ne!(bad, text);
        let file = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&file, bad).unwrap();
        let out = rappels()
            .args(["plan", "--scenario"])
            .arg(&file)
            .args(["--at", "2026-11-26T18:45:00Z"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "expected {expected:?} in {err}");
        assert!(out.stdout.is_empty());
    }
}
