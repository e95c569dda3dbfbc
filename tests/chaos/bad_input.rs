//! Bad input: proptest-driven fuzzing of everything a user hands the command line — the
//! scenario file (`import`, `plan --scenario`), the configuration file, the feed of changes
//! (`ingest`) and every flag that takes user data. Each case must end in exit status 2,
//! with a message that names the input, never a panic, within a bounded amount of memory
//! (the binary runs under `ulimit -v`), and with the database exactly as it was (a dump of
//! every table compared before and after).
//!
//! The cases are built to be wrong by RULES.md (a truncated file, a wrong type, an unknown
//! field, a duplicate or dangling id, a bad zone, instant, address or text length, invalid
//! UTF-8, deep nesting), so an exit status 0 is a finding too. What proptest finds is kept:
//! its seeds in `tests/proptest-regressions/`, and the inputs worth keeping as files in
//! `tests/chaos/corpus/`, which `the_corpus_is_refused` replays on every run.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError};
use serde_json::{Value, json};
use sqlx::{Connection as _, Row as _};
use tempfile::TempDir;

use crate::support::binary;

/// The instant of every command that takes one.
const AT: &str = "2026-11-26T18:45:00Z";

/// The school every case starts from (three students, a parent, two sessions, two manual
/// requests).
const SCHOOL: &str = include_str!("../../rappels-cli/tests/fixtures/school.json");

/// The address space a case may use, in KiB (`ulimit -v`): far above what rappels needs
/// (its reading is bounded by the input), far below what an unbounded allocation takes.
const MEMORY_KIB: u64 = 768 * 1024;

/// Cases per property: each starts a process, so a few dozen; `PROPTEST_CASES=1000` for a
/// longer hunt.
fn config() -> Config {
    let config = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            config.cases
        } else {
            40
        },
        ..config
    }
}

/// A database holding the school with a reminder log (one run), and its dump.
struct Setup {
    dir: TempDir,
    url: String,
    dump: String,
}

/// The setup, made once for all the cases of the file.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rappels.db").display());
        let school = dir.path().join("school.json");
        std::fs::write(&school, SCHOOL).unwrap();
        let mut setup = Setup {
            dir,
            url,
            dump: String::new(),
        };
        for args in [
            &["-q", "import", school.to_str().unwrap()][..],
            &["-q", "run", "--at", AT],
        ] {
            let out = rappels(&setup, args.iter().map(OsString::from).collect(), None);
            assert!(out.0 == Some(0), "{args:?}: {}", out.1);
        }
        setup.dump = dump(&setup.url);
        assert!(setup.dump.contains("reminders: "), "{}", setup.dump);
        setup
    })
}

/// Every row of every table, as text, in a stable order.
fn dump(url: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut out = String::new();
            for table in tables {
                let columns: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| format!("quote(\"{}\")", row.get::<String, _>(0)))
                .collect();
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM \"{table}\" ORDER BY 1",
                    columns.join(" || ',' || ")
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for row in rows {
                    out.push_str(&format!("{table}: {row}\n"));
                }
            }
            out
        })
}

/// `rappels ARGS` on the setup's database, under the memory limit, from the setup's
/// folder, with nothing but `PATH` and the database in its environment: its exit code and
/// its standard error.
fn rappels(setup: &Setup, args: Vec<OsString>, config: Option<&Path>) -> (Option<i32>, String) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(binary())
        .args(args)
        .current_dir(setup.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RAPPELS_DATABASE_URL", &setup.url)
        .stdin(Stdio::null());
    match config {
        // The environment overrides the file: with a file, its mailer is what is read.
        Some(config) => cmd.env("RAPPELS_CONFIG", config),
        None => cmd.env("RAPPELS_MAILER", "stdout"),
    };
    let out = cmd.output().expect("sh runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a case and checks what every case promises: exit 2, no panic, a message that
/// names each of `names` (each a list of alternatives: `"--at|2026"` is named when either
/// is), and the database unchanged.
fn refused(
    args: Vec<OsString>,
    config: Option<&Path>,
    names: &[&str],
) -> Result<(), TestCaseError> {
    let setup = setup();
    let (code, stderr) = rappels(setup, args.clone(), config);
    prop_assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    prop_assert_eq!(code, Some(2), "{:?}:\n{}", args, stderr);
    for name in names {
        prop_assert!(
            name.split('|')
                .any(|alternative| stderr.contains(alternative)),
            "{args:?}: the message does not name {name:?}:\n{stderr}"
        );
    }
    prop_assert!(
        dump(&setup.url) == setup.dump,
        "{args:?} changed the database:\n{stderr}"
    );
    Ok(())
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Writes `bytes` to a new file of the setup's folder named after `stem`, and returns it.
fn file(stem: &str, ext: &str, bytes: &[u8]) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let path = setup().dir.path().join(format!("{stem}-{n}.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// A scenario file must be refused by `import` (nothing written) and by `plan --scenario`.
fn scenario_refused(bytes: &[u8], names: &[&str]) -> Result<(), TestCaseError> {
    let path = file("scenario", "json", bytes);
    let file_name = name_of(&path);
    let mut all = vec![file_name.as_str()];
    all.extend_from_slice(names);
    let path = path.into_os_string();
    refused(vec!["import".into(), path.clone()], None, &all)?;
    refused(
        vec![
            "plan".into(),
            "--scenario".into(),
            path,
            "--at".into(),
            AT.into(),
        ],
        None,
        &all,
    )
}

// --- Values that RULES.md refuses -------------------------------------------------------

/// Not an instant: RFC 3339 with seconds and an offset is required.
fn bad_instant() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9:T+ Z-]{0,25}",
        "2026-1[0-2]-[0-3][0-9]( |T)[0-2][0-9]:[0-5][0-9]",
        "2026-02-3[0-1]T10:00:00Z",
        "2026-11-26T2[4-9]:00:00Z",
        "\\PC{0,20}",
    ]
    .prop_filter("a valid instant", |s| {
        chrono::DateTime::parse_from_rfc3339(s).is_err()
    })
}

/// Not a zone of the tz database.
fn bad_zone() -> impl Strategy<Value = String> {
    prop_oneof![
        "Nowhere/[A-Za-z_]{0,12}",
        "Europe/[a-z]{0,3}x",
        "[ -~]{0,3}/?[ -~]{0,3} "
    ]
}

/// Not an e-mail address: white space, a control character, no `@` or two, a domain
/// without a dot.
fn bad_email() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}[ \t\r\n\u{0}\u{7}\u{7f}][a-z]{0,4}@example\\.org",
        "[a-z]{0,12}(\\.[a-z]{1,5})?",
        "[a-z]{1,6}@[a-z]{1,6}@example\\.org",
        "[a-z]{1,6}@[a-z]{1,10}",
        "@example\\.org",
        "[a-z]{1,6}@\\.example\\.org",
        "[a-z]{250,260}@example\\.org",
    ]
}

/// Longer than `limit` characters.
fn too_long(limit: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zé ]{{{},{}}}", limit + 1, limit + 40)).unwrap()
}

/// A value of the wrong type for a field holding `kind`.
fn wrong_type(kind: &'static str) -> BoxedStrategy<Value> {
    let any_but = move |v: &Value| match kind {
        "string" => !v.is_string(),
        "integer" => !(v.is_i64() || v.is_u64()),
        "bool" => !v.is_boolean(),
        "array" => !v.is_array(),
        _ => true,
    };
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9)
            .prop_filter("a fraction", |f| f.fract() != 0.0)
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
    ]
    .prop_filter("the right type", any_but)
    .boxed()
}

/// An id RULES.md refuses: 0, negative, past 2^63 − 1, or not an integer.
fn bad_id() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(0)),
        (i64::MIN..0).prop_map(Value::from),
        Just(json!(9_223_372_036_854_775_808u64)),
        wrong_type("integer"),
    ]
    .boxed()
}

/// A field of a record of the school, and a value RULES.md refuses there: an input error,
/// never a rejection (an unknown parent in a manual request is a rejection, so its ids only
/// get wrong types).
fn bad_field() -> impl Strategy<Value = (&'static str, &'static str, Value)> {
    let student = prop_oneof![
        bad_id().prop_map(|v| ("id", v)),
        too_long(100).prop_map(|v| ("first_name", v.into())),
        wrong_type("string").prop_map(|v| ("first_name", v)),
        too_long(100).prop_map(|v| ("last_name", v.into())),
        bad_email().prop_map(|v| ("email", v.into())),
        bad_zone().prop_map(|v| ("timezone", v.into())),
        "[a-z]{0,5}"
            .prop_filter("a locale", |l| l != "fr" && l != "en")
            .prop_map(|v| ("locale", v.into())),
        wrong_type("bool").prop_map(|v| ("account_active", v)),
        wrong_type("bool").prop_map(|v| ("subscription_active", v)),
        bad_instant().prop_map(|v| ("last_activity_at", v.into())),
        "[a-z]{0,10}"
            .prop_filter("a family", |f| {
                !["session", "inactivity", "weekly", "all"].contains(&f.as_str())
            })
            .prop_map(|v| ("opt_out", json!([v]))),
    ]
    .prop_map(|(f, v)| ("students", f, v));
    let parent = prop_oneof![
        bad_id().prop_map(|v| ("id", v)),
        bad_email().prop_map(|v| ("email", v.into())),
        (100_000i64..1_000_000).prop_map(|v| ("children", json!([v]))),
        wrong_type("array").prop_map(|v| ("children", v)),
    ]
    .prop_map(|(f, v)| ("parents", f, v));
    let session = prop_oneof![
        bad_id().prop_map(|v| ("id", v)),
        (100_000i64..1_000_000).prop_map(|v| ("student_id", v.into())),
        too_long(200).prop_map(|v| ("subject", v.into())),
        too_long(1000).prop_map(|v| ("objective", v.into())),
        bad_instant().prop_map(|v| ("starts_at", v.into())),
        "[a-z]{0,10}"
            .prop_filter("a status", |s| {
                !["scheduled", "completed", "cancelled"].contains(&s.as_str())
            })
            .prop_map(|v| ("status", v.into())),
        (i64::MIN..=0).prop_map(|v| ("duration_minutes", v.into())),
    ]
    .prop_map(|(f, v)| ("sessions", f, v));
    let manual = prop_oneof![
        bad_id().prop_map(|v| ("id", v)),
        wrong_type("integer").prop_map(|v| ("parent_id", v)),
        wrong_type("integer").prop_map(|v| ("student_id", v)),
        wrong_type("string").prop_map(|v| ("title", v)),
        bad_instant().prop_map(|v| ("requested_at", v.into())),
    ]
    .prop_map(|(f, v)| ("manual", f, v));
    prop_oneof![student, parent, session, manual]
}

/// A setting RULES.md refuses.
fn bad_setting() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        bad_zone().prop_map(|v| ("timezone", v.into())),
        prop_oneof![Just(0i64), 1441i64..100_000, i64::MIN..0]
            .prop_map(|v| ("grace_minutes", v.into())),
        "(2[4-9]|[3-9][0-9]):[0-5][0-9]".prop_map(|v| ("session_eve_time", v.into())),
        "[0-9]{1,2}:[6-9][0-9]".prop_map(|v| ("session_day_time", v.into())),
        "[a-z]{0,9}day"
            .prop_filter("a weekday", |d| {
                ![
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                ]
                .contains(&d.as_str())
            })
            .prop_map(|v| ("weekly_day", v.into())),
        wrong_type("array").prop_map(|v| ("inactivity_days", v)),
    ]
    .prop_map(|(k, v)| (k.to_owned(), v))
    .boxed()
    .prop_union("x_[a-z_]{1,12}".prop_map(|k| (k, json!(1))).boxed())
}

/// The school as JSON.
fn school() -> Value {
    serde_json::from_str(SCHOOL).unwrap()
}

fn compact(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

proptest! {
    #![proptest_config(config())]

    /// A record holding a value RULES.md refuses: named by its path.
    #[test]
    fn a_scenario_with_a_bad_field_is_refused((array, field, value) in bad_field(), at in any::<Index>()) {
        let mut school = school();
        let records = school[array].as_array_mut().unwrap();
        let i = at.index(records.len());
        records[i][field] = value;
        let path = format!("{array}[{i}].{field}");
        scenario_refused(&compact(&school), &[&path])?;
    }

    /// A setting RULES.md refuses, or an unknown one.
    #[test]
    fn a_scenario_with_a_bad_setting_is_refused((key, value) in bad_setting()) {
        let mut school = school();
        school["settings"][&key] = value;
        scenario_refused(&compact(&school), &[&key])?;
    }

    /// A field no record has, at any level.
    #[test]
    fn a_scenario_with_an_unknown_field_is_refused(
        array in prop::sample::select(vec!["students", "parents", "sessions", "manual"]),
        at in any::<Index>(),
        name in "[a-z_]{1,12}",
        top in any::<bool>(),
    ) {
        let name = format!("x_{name}");
        let mut school = school();
        if top {
            school[&name] = json!(1);
        } else {
            let records = school[array].as_array_mut().unwrap();
            let i = at.index(records.len());
            records[i][&name] = json!("?");
        }
        scenario_refused(&compact(&school), &[&name])?;
    }

    /// Two records of a kind with one id.
    #[test]
    fn a_scenario_with_a_duplicate_id_is_refused(
        array in prop::sample::select(vec!["students", "parents", "sessions", "manual"]),
        at in any::<Index>(),
    ) {
        let mut school = school();
        let records = school[array].as_array_mut().unwrap();
        let copy = records[at.index(records.len())].clone();
        records.push(copy);
        scenario_refused(&compact(&school), &["duplicate"])?;
    }

    /// The file cut anywhere, invalid UTF-8 anywhere, or a value nested deeper than any
    /// parser's stack.
    #[test]
    fn a_broken_scenario_file_is_refused(
        cut in any::<Index>(),
        byte in 0x80u8..=0xff,
        depth in 200usize..50_000,
        how in 0..3u8,
    ) {
        let bytes = compact(&school());
        let broken = match how {
            0 => bytes[..cut.index(bytes.len())].to_vec(),
            1 => {
                // A lone byte of 0x80–0xFF is never valid UTF-8 on its own; its neighbours
                // are ASCII, so it cannot complete a sequence.
                let mut b = bytes.clone();
                b.insert(cut.index(b.len()), byte);
                b
            }
            _ => {
                let text = String::from_utf8(bytes).unwrap();
                text.replacen("\"Awa\"", &format!("{}{}", "[".repeat(depth), "]".repeat(depth)), 1)
                    .into_bytes()
            }
        };
        scenario_refused(&broken, &[])?;
    }

    /// A configuration file that is not TOML, holds an unknown key, a value of the wrong
    /// type, a secret, or a setting RULES.md refuses: named by the file.
    #[test]
    fn a_bad_configuration_file_is_refused(
        line in prop_oneof![
            "x_[a-z_]{1,10} = 1",
            // The SMTP keys are read when the mailer is SMTP.
            "mailer = \"smtp\"\nsmtp\\.host = \"127\\.0\\.0\\.1\"\nsmtp\\.pool_size = \"[a-z]{1,5}\"",
            "mailer = \"smtp\"\nsmtp\\.host = \"127\\.0\\.0\\.1\"\nsmtp\\.timeout = -[0-9]{1,4}",
            "mailer = \"smtp\"\nsmtp\\.host = \"127\\.0\\.0\\.1\"\nsmtp\\.port = [0-9]{6,8}",
            "mailer = \"smtp\"\nsmtp\\.host = \"127\\.0\\.0\\.1\"\nsmtp\\.tls = \"[a-z]{1,3}\"",
            "mailer = [0-9]{1,3}",
            "mailer = \"(pigeon|ftp|file):?\"",
            "lease = \"[a-z]{1,4}\"",
            "from = \"[a-z]{1,10}\"",
            "smtp\\.password = \"[a-z]{1,8}\"",
            "\\[settings\\]\ngrace_minutes = (0|-[0-9]{1,3}|[2-9][0-9]{4})",
            "\\[settings\\]\ntimezone = \"Nowhere/[a-z]{1,5}\"",
            "\\[settings\\]\nsession_eve_time = \"(2[4-9]|[3-9][0-9]):00\"",
            "\\[[a-z]{1,8}",
            "[a-z]{1,8} = \"[a-z]{0,8}",
            "[a-z]{1,8} =",
        ],
        garbage in proptest::collection::vec(0x80u8..=0xff, 0..3),
    ) {
        let mut bytes = line.into_bytes();
        if !garbage.is_empty() {
            // Invalid UTF-8 inside a comment: the file is still refused as a whole.
            bytes.extend_from_slice(b"\n# ");
            bytes.extend_from_slice(&garbage);
        }
        let path = file("rappels", "toml", &bytes);
        let name = name_of(&path);
        refused(os(&["-q", "run", "--at", AT]), Some(&path), &[&name])?;
    }

    /// A line of the feed of changes that RULES.md refuses: named by its line, nothing
    /// written.
    #[test]
    fn a_bad_change_is_refused(
        (array, field, value) in bad_field().prop_filter("students and sessions", |(a, f, _)| {
            // Parents' children and session's student ids that do not exist are "records
            // not stored" in the feed (skipped, exit 0), not input errors.
            (*a == "students") || (*a == "sessions" && *f != "student_id")
        }),
        cut in any::<Index>(),
        truncate in any::<bool>(),
    ) {
        let school = school();
        let (change, record) = match array {
            "students" => ("student", school["students"][0].clone()),
            _ => ("session", school["sessions"][0].clone()),
        };
        let mut record = record;
        record[field] = value;
        let mut line = compact(&json!({ change: record }));
        if truncate {
            line.truncate(cut.index(line.len() - 1) + 1);
        }
        line.push(b'\n');
        let path = file("changes", "jsonl", &line);
        let name = name_of(&path);
        refused(vec!["ingest".into(), path.into_os_string()], None, &[&name, "line 1"])?;
    }

    /// Flags that take an instant, an id, a number, an actor, a token or a database URL,
    /// given a value they refuse: the message names the flag or the value.
    #[test]
    fn a_bad_flag_value_is_refused(
        instant in bad_instant(),
        word in "[a-z:_]{1,12}",
        number in prop_oneof!["-[0-9]{1,5}", "[0-9]{1,3}[a-z.]{1,3}", "0", "[0-9]{25,30}"],
        flag in 0..10u8,
    ) {
        let url = format!("{word}://x");
        // clap reads a value that starts with '-' ("-12", "-T-") as an option of its own,
        // and names its first two characters.
        let named_by_clap = |value: &str| value.get(..2).unwrap_or(value).to_owned();
        let number_or_flag = |flag: &str| format!("{flag}|{}", named_by_clap(&number));
        let (args, named) = match flag {
            0 => (vec!["plan", "--db", "--at", &instant], format!("--at|{instant}|{}", named_by_clap(&instant))),
            1 => (vec!["run", "--dry-run", "--at", &instant], format!("--at|{instant}|{}", named_by_clap(&instant))),
            2 => (vec!["explain", "--student", &number, "--at", AT], number_or_flag("--student")),
            3 => (vec!["history", "--as", &word], "--as".to_owned()),
            4 => (vec!["history", "--as", "parent:10", "--child", &number], number_or_flag("--child")),
            5 => (vec!["stats", "--days", &number], number_or_flag("--days")),
            6 => (vec!["schedule-sessions", "--days", &number, "--at", AT], number_or_flag("--days")),
            7 => (vec!["gen-scenario", "--students", &number], number_or_flag("--students")),
            8 => (vec!["plan", "--db", "--at", AT, "--database-url", &url], "--database-url".to_owned()),
            _ => (vec!["import", "--mode", &word, "school.json"], "--mode".to_owned()),
        };
        prop_assume!(!(flag == 3 && word == "admin"));
        prop_assume!(!(flag == 8 && ["sqlite", "postgres", "postgresql"].contains(&word.as_str())));
        prop_assume!(!(flag == 9 && ["merge", "full"].contains(&word.as_str())));
        refused(os(&args), None, &[&named])?;
    }

    /// A manual reminder the rules refuse (a title with a control character or over 200
    /// characters, a blank message, another family's child, an unknown parent): refused
    /// in words, nothing recorded.
    #[test]
    fn a_refused_manual_reminder_writes_nothing(
        title in prop_oneof![
            "[a-z]{0,5}[\r\n\t\u{7}\u{1b}][a-z]{0,5}",
            "[a-z]{201,230}",
            "[ \t]{0,4}",
        ],
        case in 0..4u8,
    ) {
        let (args, named) = match case {
            0 => (vec!["remind", "--parent", "10", "--student", "1", "--title", &title, "--message", "ok", "--at", AT], "title"),
            1 => (vec!["remind", "--parent", "10", "--student", "1", "--title", "ok", "--message", " ", "--at", AT], "message"),
            2 => (vec!["remind", "--parent", "10", "--student", "2", "--title", "ok", "--message", "ok", "--at", AT], "not_your_child"),
            _ => (vec!["remind", "--parent", "99", "--student", "1", "--title", "ok", "--message", "ok", "--at", AT], "unknown_parent"),
        };
        refused(os(&args), None, &[named])?;
    }

    /// Arguments that are not UTF-8 at all.
    #[test]
    fn arguments_that_are_not_utf8_are_refused(
        bytes in proptest::collection::vec(1u8..=255, 1..12).prop_filter("invalid UTF-8", |b| std::str::from_utf8(b).is_err()),
        flag in prop::sample::select(vec!["--at", "--as", "--database-url", "--config"]),
    ) {
        let value = OsString::from_vec(bytes);
        let mut args = match flag {
            "--as" => os(&["history"]),
            _ => os(&["plan", "--db"]),
        };
        args.push(flag.into());
        args.push(value);
        refused(args, None, &[flag.trim_start_matches('-')])?;
    }
}

/// A scenario far larger than any school, with one name of 100 MiB: refused for the name's
/// length, within the memory limit (the reading holds the file and that one string).
#[test]
fn a_huge_scenario_is_refused_within_the_memory_limit() {
    let text = SCHOOL.replacen("\"Awa\"", &format!("\"{}\"", "a".repeat(100 << 20)), 1);
    let result = scenario_refused(text.as_bytes(), &["students[0].first_name"]);
    if let Err(error) = result {
        panic!("{error}");
    }
}

/// The corpus: inputs kept because they were found, or are worth keeping, each refused as
/// its folder says (`scenario/` by `import` and `plan --scenario`, `config/` as the
/// configuration file, `changes/` by `ingest`).
#[test]
fn the_corpus_is_refused() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("chaos/corpus");
    let mut seen = 0;
    for kind in ["scenario", "config", "changes"] {
        let mut entries: Vec<_> = std::fs::read_dir(corpus.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let bytes = std::fs::read(&path).unwrap();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let result = match kind {
                "scenario" => scenario_refused(&bytes, &[]),
                "config" => {
                    let copy = file(&stem, "toml", &bytes);
                    let name = name_of(&copy);
                    refused(os(&["-q", "run", "--at", AT]), Some(&copy), &[&name])
                }
                _ => {
                    let copy = file(&stem, "jsonl", &bytes);
                    let name = name_of(&copy);
                    refused(vec!["ingest".into(), copy.into_os_string()], None, &[&name])
                }
            };
            if let Err(error) = result {
                panic!("{}: {error}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "the corpus holds {seen} cases");
}
