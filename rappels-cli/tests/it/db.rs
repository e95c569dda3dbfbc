//! `rappels migrate`, `import` and `plan --db`, running the real binary on SQLite in a temp
//! dir and, when `RAPPELS_TEST_POSTGRES` names a server, on a fresh PostgreSQL database per
//! test: `plan --db` must print exactly what `plan --scenario` prints for the same data.

use std::path::{Path, PathBuf};
use std::sync::Once;

use tempfile::TempDir;

use crate::fixture;
use crate::support::{
    TestDb, cli, import, note_once, on, plan_db, postgres_server, stderr, stdout, succeeded,
    with_database,
};

/// Instants around the fixtures' week: before and after the eve slots, the morning after,
/// the weekly digest's Sunday evening (20:00 Paris is 19:00Z), and the next Monday.
const SCHOOL_INSTANTS: [&str; 6] = [
    "2026-11-26T09:00:00Z",
    "2026-11-26T15:00:00Z",
    "2026-11-26T18:45:00Z",
    "2026-11-27T08:30:00+01:00",
    "2026-11-29T19:30:00Z",
    "2026-11-30T10:00:00Z",
];

fn plan_scenario(file: &Path, at: &str) -> String {
    succeeded(
        cli()
            .args(["plan", "--scenario"])
            .arg(file)
            .args(["--at", at])
            .output()
            .unwrap(),
        &format!("plan --scenario {} at {at}", file.display()),
    )
}

/// Imports `file` into `db`, then checks that at every instant `plan --db` prints what
/// `plan --scenario` prints: the whole JSON, subjects included, byte for byte.
fn assert_parity(db: &TestDb, file: &Path, instants: &[&str]) {
    import(db, file);
    // A few instants at a time: each run mostly waits for its connections (TLS handshakes
    // with PostgreSQL), and a few keep the server far from its connection limit.
    for chunk in instants.chunks(8) {
        let plans: Vec<(String, String)> = std::thread::scope(|scope| {
            let runs: Vec<_> = chunk
                .iter()
                .map(|at| scope.spawn(move || (plan_scenario(file, at), plan_db(db, at))))
                .collect();
            runs.into_iter().map(|run| run.join().unwrap()).collect()
        });
        for (at, (expected, from_db)) in chunk.iter().zip(plans) {
            assert!(
                serde_json::from_str::<serde_json::Value>(&expected).is_ok(),
                "{expected}"
            );
            assert_eq!(
                from_db,
                expected,
                "{} at {at} on {}",
                file.display(),
                db.url
            );
        }
    }
}

fn migrate_is_idempotent(db: &TestDb) {
    for _ in 0..2 {
        let printed = succeeded(on(db, &["migrate"]), "migrate");
        assert_eq!(printed, format!("migrated {}: schema up to date\n", db.url));
    }
}
on_both!(migrate_is_idempotent: migrate_twice_on_sqlite, migrate_twice_on_postgres);

#[test]
fn migrate_creates_the_sqlite_file() {
    let db = TestDb::sqlite();
    let path = db.url.strip_prefix("sqlite://").unwrap();
    assert!(!Path::new(path).exists());
    succeeded(on(&db, &["migrate"]), "migrate");
    assert!(Path::new(path).exists());
}

fn school_parity(db: &TestDb) {
    assert_parity(db, &fixture("school.json"), &SCHOOL_INSTANTS);
}
on_both!(school_parity: plan_db_prints_plan_scenario_on_sqlite, plan_db_prints_plan_scenario_on_postgres);

/// Study plans and `sent` keys: the imported keys are never due again.
fn history_parity(db: &TestDb) {
    assert_parity(db, &fixture("school_history.json"), &SCHOOL_INSTANTS);
}
on_both!(history_parity: imported_sent_keys_are_not_due_on_sqlite, imported_sent_keys_are_not_due_on_postgres);

/// The acceptance scenarios of `../shared/scenarios/public`, each into its own database, at
/// every instant of its `NAME.at.txt`.
fn shared_scenarios_parity(fresh: impl Fn() -> TestDb) {
    static NOTE: Once = Once::new();
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenarios/public");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        note_once(
            &NOTE,
            &format!(
                "shared-scenario parity of plan --db did not run: no folder {}",
                folder.display()
            ),
        );
        return;
    };
    let mut scenarios: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    scenarios.sort();
    assert!(!scenarios.is_empty(), "no scenario in {}", folder.display());
    for scenario in scenarios {
        let instants = std::fs::read_to_string(scenario.with_extension("at.txt")).unwrap();
        let instants: Vec<&str> = instants.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!instants.is_empty(), "{}", scenario.display());
        assert_parity(&fresh(), &scenario, &instants);
    }
}

#[test]
fn shared_scenarios_plan_the_same_from_sqlite() {
    shared_scenarios_parity(TestDb::sqlite);
}

#[test]
fn shared_scenarios_plan_the_same_from_postgres() {
    if postgres_server().is_some() {
        shared_scenarios_parity(|| TestDb::postgres().unwrap());
    }
}

fn importing_twice_changes_nothing(db: &TestDb) {
    let file = fixture("school_history.json");
    let summary = |students, parents, links, sessions, plans, manual, new_keys| {
        format!(
            "imported {} into {} (merge mode)\n\
             \x20 students         {students} added, 0 changed, 0 removed (3 in the file)\n\
             \x20 parents          {parents} added, 0 changed, 0 removed (1 in the file)\n\
             \x20 links            {links} added, 0 changed, 0 removed\n\
             \x20 sessions         {sessions} added, 0 changed, 0 removed (2 in the file)\n\
             \x20 study plans      {plans} added, 0 changed, 0 removed (1 in the file)\n\
             \x20 manual requests  {manual} added, 0 changed, 0 removed (2 in the file)\n\
             \x20 sent keys        3 ({new_keys} new)\n",
            file.display(),
            db.url
        )
    };
    assert_eq!(import(db, &file), summary(3, 1, 1, 2, 1, 2, 3));
    let instants = ["2026-11-26T18:45:00Z", "2026-11-27T08:30:00Z"];
    let before: Vec<String> = instants.iter().map(|at| plan_db(db, at)).collect();
    // Nothing added, nothing changed: the upserts leave rows already so untouched.
    assert_eq!(import(db, &file), summary(0, 0, 0, 0, 0, 0, 0));
    let after: Vec<String> = instants.iter().map(|at| plan_db(db, at)).collect();
    assert_eq!(before, after);
}
on_both!(importing_twice_changes_nothing: importing_twice_changes_nothing_on_sqlite, importing_twice_changes_nothing_on_postgres);

/// Everything a database holds, to compare before and after a command: a SQLite file's
/// bytes (and its write-ahead log's, if one is left), or every row of every PostgreSQL table
/// as text (read with `psql`).
fn contents(db: &TestDb) -> Vec<String> {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let read = |p: &str| std::fs::read(p).map(|bytes| format!("{p}: {bytes:?}"));
        return [path.to_owned(), format!("{path}-wal")]
            .iter()
            .filter_map(|p| read(p).ok())
            .collect();
    }
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &db.url,
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(out.status.success(), "psql: {}", stderr(&out));
        stdout(&out)
    };
    let tables = psql(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY 1",
    );
    assert!(tables.contains("reminders"), "{tables}");
    tables
        .lines()
        .map(|table| {
            psql(&format!(
                "SELECT '{table}: ' || t::text FROM {table} t ORDER BY 1"
            ))
        })
        .collect()
}

/// The commands that only read leave the database exactly as it was: they never write the
/// settings (nor anything else), whatever the configuration says.
fn reading_commands_write_nothing(db: &TestDb) {
    import(db, &fixture("school_history.json"));
    // A run leaves a log with every status to read back.
    let run = cli()
        .args([
            "run",
            "--at",
            "2026-11-26T18:45:00Z",
            "--database-url",
            &db.url,
        ])
        .env("RAPPELS_MAILER", "stdout")
        .output()
        .unwrap();
    succeeded(run, "run");
    let before = contents(db);
    for args in [
        &["plan", "--db", "--at", "2026-11-29T19:30:00Z"][..],
        &["history", "--as", "admin"],
        &["history", "--as", "parent:10"],
        &["stats"],
        &["explain", "--student", "1", "--at", "2026-11-26T18:50:00Z"],
        &["settings", "show"],
    ] {
        succeeded(on(db, args), &args.join(" "));
        assert!(contents(db) == before, "{args:?} changed the database");
    }
    // Nor does a command refused for a configuration at odds with the database.
    let out = cli()
        .args([
            "plan",
            "--db",
            "--at",
            "2026-11-26T18:45:00Z",
            "--database-url",
            &db.url,
        ])
        .env("RAPPELS_GRACE_MINUTES", "17")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        contents(db) == before,
        "a refused plan changed the database"
    );
}
on_both!(reading_commands_write_nothing: reading_commands_write_nothing_on_sqlite, reading_commands_write_nothing_on_postgres);

/// Writes `text` as a scenario file in a temp dir.
fn scenario_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn invalid_input_writes_nothing(db: &TestDb) {
    let good = fixture("school.json");
    import(db, &good);
    let at = "2026-11-26T18:45:00Z";
    let before = plan_db(db, at);
    let text = std::fs::read_to_string(&good).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Each bad file also changes a record that comes before the fault, so a partial write
    // would show in the plan.
    let renamed = text.replace("\"first_name\": \"Awa\"", "\"first_name\": \"Awa-Changed\"");
    assert_ne!(renamed, text);
    let cases = [
        (
            scenario_file(
                &dir,
                "bad_zone.json",
                &renamed.replace(
                    "\"email\": \"lucas@example.org\",",
                    "\"email\": \"lucas@example.org\", \"timezone\": \"Europe/Pari\",",
                ),
            ),
            "students[1].timezone",
        ),
        (
            scenario_file(
                &dir,
                "nanoseconds.json",
                &renamed.replace("2026-11-27T14:00:00Z", "2026-11-27T14:00:00.123456789Z"),
            ),
            "sessions[0].starts_at",
        ),
        (
            // RULES.md: names hold at most 100 characters (counted as characters: "é" is
            // two bytes but one character).
            scenario_file(
                &dir,
                "long_name.json",
                &renamed.replace(
                    "\"first_name\": \"Lucas\"",
                    &format!("\"first_name\": \"{}\"", "é".repeat(101)),
                ),
            ),
            "students[1].first_name",
        ),
        (
            scenario_file(
                &dir,
                "zero_minutes.json",
                &renamed.replace(
                    "\"subject\": \"Physique\",",
                    "\"subject\": \"Physique\", \"duration_minutes\": 0,",
                ),
            ),
            "sessions[1].duration_minutes",
        ),
    ];
    let stored = contents(db);
    for (file, record) in cases {
        let out = on(db, &["import", file.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{record}: {err}");
        assert!(
            err.contains(&format!("invalid scenario {}: {record}", file.display())),
            "expected {record} in {err:?}"
        );
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        assert_eq!(plan_db(db, at), before, "after {record}");
        assert!(contents(db) == stored, "{record} changed the database");
    }
}
on_both!(invalid_input_writes_nothing: invalid_input_writes_nothing_on_sqlite, invalid_input_writes_nothing_on_postgres);

fn plan_before_import_exits_2(db: &TestDb) {
    succeeded(on(db, &["migrate"]), "migrate");
    let out = on(db, &["plan", "--db", "--at", "2026-11-26T18:45:00Z"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("import a scenario first (rappels import FILE)"),
        "{}",
        stderr(&out)
    );
}
on_both!(plan_before_import_exits_2: plan_before_import_exits_2_on_sqlite, plan_before_import_exits_2_on_postgres);

/// `import` migrates first, so a fresh file needs nothing else; `--format table` works from
/// the database too.
#[test]
fn import_into_a_new_file_then_plan_as_a_table() {
    let db = TestDb::sqlite();
    import(&db, &fixture("school.json"));
    let out = succeeded(
        on(
            &db,
            &[
                "plan",
                "--db",
                "--at",
                "2026-11-26T18:45:00Z",
                "--format",
                "table",
            ],
        ),
        "plan --db --format table",
    );
    assert!(
        out.starts_with("Plan at 2026-11-26T18:45:00Z: 4 due"),
        "{out}"
    );
    assert!(out.contains("request 501: not_your_child"), "{out}");
}

/// A database that was never migrated cannot tell "no table" from other query failures; the
/// message says what to run.
#[test]
fn plan_on_a_database_never_migrated_says_what_to_run() {
    let db = TestDb::sqlite();
    // An existing file without the schema: the user must run migrate (exit 2).
    let path = db.url.strip_prefix("sqlite://").unwrap();
    std::fs::write(path, b"").unwrap();
    let out = on(&db, &["plan", "--db"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("rappels migrate"), "{}", stderr(&out));
}

#[test]
fn plan_on_a_mistyped_sqlite_path_creates_nothing() {
    let db = TestDb::sqlite();
    let out = on(&db, &["plan", "--db"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot connect to sqlite://"),
        "{}",
        stderr(&out)
    );
    let path = db.url.strip_prefix("sqlite://").unwrap();
    assert!(
        !std::path::Path::new(path).exists(),
        "plan --db created {path}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let db = TestDb::sqlite();
    let school = fixture("school.json");
    let school = school.to_str().unwrap();
    // One source, and exactly one.
    for args in [
        vec!["plan", "--db", "--scenario", school],
        vec!["plan"],
        vec!["plan", "--scenario", school, "--database-url", &db.url],
    ] {
        let out = cli().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // A URL no backend serves is a usage error, whichever command gets it.
    for args in [
        vec!["migrate"],
        vec!["import", school],
        vec!["plan", "--db"],
    ] {
        let out = cli()
            .args(&args)
            .args(["--database-url", "mysql://x"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("unsupported database URL \"mysql://x\""),
            "{}",
            stderr(&out)
        );
    }
    // A bad file is refused before any database is touched.
    let out = on(&db, &["import", "/nonexistent/school.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read scenario /nonexistent/school.json"));
    let path = db.url.strip_prefix("sqlite://").unwrap();
    assert!(!Path::new(path).exists(), "nothing was created");
}

#[test]
fn a_database_that_cannot_be_opened_exits_1() {
    let out = cli()
        .args([
            "plan",
            "--db",
            "--database-url",
            "sqlite:///nonexistent/dir/rappels.db",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot connect to sqlite:///nonexistent/dir/rappels.db"),
        "{}",
        stderr(&out)
    );
}

/// A refused login: exit 1, and the password never reaches the terminal.
#[test]
fn a_refused_postgres_login_exits_1_without_the_password() {
    let Some(server) = postgres_server() else {
        return;
    };
    let rest = server.split_once("://").unwrap().1;
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    let url = format!("postgres://rappels_nobody:s3cret@{host}");
    let out = cli()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to postgres://rappels_nobody:***@"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

/// `--database-url`, then `RAPPELS_DATABASE_URL`, then `DATABASE_URL`, then
/// `sqlite://rappels.db` in the working directory.
#[test]
fn the_url_comes_from_the_flag_then_the_environment_then_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let migrated = |cmd: &mut assert_cmd::Command| {
        succeeded(cmd.current_dir(dir.path()).output().unwrap(), "migrate")
    };
    assert_eq!(
        migrated(cli().arg("migrate")),
        "migrated sqlite://rappels.db: schema up to date\n"
    );
    assert!(dir.path().join("rappels.db").exists());
    assert_eq!(
        migrated(cli().arg("migrate").env("DATABASE_URL", url("a.db"))),
        format!("migrated {}: schema up to date\n", url("a.db"))
    );
    assert_eq!(
        migrated(
            cli()
                .arg("migrate")
                .env("DATABASE_URL", url("a.db"))
                .env("RAPPELS_DATABASE_URL", url("b.db"))
        ),
        format!("migrated {}: schema up to date\n", url("b.db"))
    );
    assert_eq!(
        migrated(
            cli()
                .args(["migrate", "--database-url", &url("c.db")])
                .env("DATABASE_URL", url("a.db"))
                .env("RAPPELS_DATABASE_URL", url("b.db"))
        ),
        format!("migrated {}: schema up to date\n", url("c.db"))
    );
    // A URL from the environment does not make `plan --scenario` a usage error.
    let out = cli()
        .args(["plan", "--scenario"])
        .arg(fixture("school.json"))
        .env("DATABASE_URL", url("a.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn help_teaches_with_an_example() {
    for (command, example) in [
        ("migrate", "rappels migrate --database-url sqlite://"),
        ("import", "rappels import school.json"),
        ("plan", "rappels plan --db --at 2026-11-26T18:45:00Z"),
    ] {
        let out = cli().args([command, "--help"]).output().unwrap();
        let text = stdout(&out);
        assert!(text.contains(example), "{command}: {text}");
        assert!(text.contains("DATABASE_URL"), "{command}: {text}");
    }
}

#[test]
fn postgres_urls_name_the_test_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

#[test]
fn an_address_the_mailer_refuses_is_imported_with_a_warning_naming_it() {
    let db = TestDb::sqlite();
    let text = std::fs::read_to_string(fixture("school.json")).unwrap();
    let odd = text.replace(
        "\"email\": \"lucas@example.org\"",
        r#""email": "a\"b<c>@example.org""#,
    );
    assert_ne!(odd, text);
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(&dir, "odd_address.json", &odd);
    let out = on(&db, &["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains("students[1].email") && log.contains("the mailer will refuse this address"),
        "{log}"
    );
    // The doctor names it too, from the database.
    let doctor = stdout(&on(&db, &["doctor"]));
    assert!(
        doctor.contains("warn addresses: 1 the mailer will refuse")
            && doctor.contains("student 2 <a\"b<c>@example.org>"),
        "{doctor}"
    );
    // The good file warns of nothing.
    let out = on(&db, &["import", fixture("school.json").to_str().unwrap()]);
    let doctor = stdout(&on(&db, &["doctor"]));
    assert!(doctor.contains("ok   addresses: "), "{doctor}");
    assert!(!stderr(&out).contains("will refuse"), "{}", stderr(&out));
}
