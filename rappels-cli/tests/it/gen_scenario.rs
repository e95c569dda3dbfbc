//! `rappels gen-scenario`: its output is a scenario `plan` and `import` accept, the same
//! arguments give the same bytes, and bad input exits 2 naming the flag.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use rappels_core::clock::{Clock, SystemClock};
use serde_json::Value;

use crate::support::{TestDb, cli, import, plan_db, stderr, succeeded};

const ARGS: [&str; 7] = [
    "gen-scenario",
    "--students",
    "200",
    "--seed",
    "7",
    "--from",
    "2026-11-30",
];

/// Sunday 20:00 in Paris (the weekly digest), the next Monday at 08:30 and 10:00 in Paris.
const INSTANTS: [&str; 3] = [
    "2026-12-06T19:00:00Z",
    "2026-12-07T08:30:00+01:00",
    "2026-12-07T10:00:00+01:00",
];

fn generate(out: &Path) {
    succeeded(
        cli().args(ARGS).arg("--out").arg(out).output().unwrap(),
        "gen-scenario --out",
    );
}

fn plan_scenario(file: &Path, at: &str) -> String {
    succeeded(
        cli()
            .args(["plan", "--scenario"])
            .arg(file)
            .args(["--at", at])
            .output()
            .unwrap(),
        &format!("plan --scenario at {at}"),
    )
}

fn kinds(plan: &str) -> BTreeSet<String> {
    let plan: Value = serde_json::from_str(plan).unwrap();
    plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|due| due["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The generated school is a valid scenario in which every automatic kind falls due, the
/// database takes it whole, and planning from the database prints the same plans.
fn generated_school_is_planned_and_imported(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("school.json");
    generate(&file);
    let plans: Vec<String> = INSTANTS.iter().map(|at| plan_scenario(&file, at)).collect();
    assert!(kinds(&plans[0]).contains("weekly"), "{}", plans[0]);
    assert!(kinds(&plans[0]).contains("session_eve"), "{}", plans[0]);
    assert!(kinds(&plans[1]).contains("session_day"), "{}", plans[1]);
    assert!(kinds(&plans[2]).contains("inactivity"), "{}", plans[2]);
    let sunday: Value = serde_json::from_str(&plans[0]).unwrap();
    assert!(
        !sunday["rejected"].as_array().unwrap().is_empty(),
        "{sunday}"
    );

    let imported = import(db, &file);
    assert!(
        imported.contains("students         200 added, 0 changed, 0 removed (200 in the file)"),
        "{imported}"
    );
    for (at, expected) in INSTANTS.iter().zip(&plans) {
        assert_eq!(&plan_db(db, at), expected, "plan --db at {at}");
    }
}
on_both!(generated_school_is_planned_and_imported: generated_school_imports_into_sqlite, generated_school_imports_into_postgres);

#[test]
fn the_same_arguments_give_the_same_bytes() {
    let first = cli().args(ARGS).output().unwrap();
    let second = cli().args(ARGS).output().unwrap();
    let first = succeeded(first, "gen-scenario");
    assert_eq!(first, succeeded(second, "gen-scenario again"));
    let mut other = ARGS;
    other[4] = "8";
    let other_seed = cli().args(other).output().unwrap();
    assert_ne!(first, succeeded(other_seed, "gen-scenario --seed 8"));
    assert!(first.starts_with("{\"settings\":"), "{first:.200}");
}

#[test]
fn out_writes_the_file_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("school.json");
    generate(&file);
    let written = std::fs::read_to_string(&file).unwrap();
    let printed = succeeded(cli().args(ARGS).output().unwrap(), "gen-scenario");
    assert_eq!(written, printed);
    // The temporary file was renamed, not left beside it.
    let names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names, std::slice::from_ref(&file));
    // A second run replaces the file.
    generate(&file);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let tuesday = cli()
        .args(["gen-scenario", "--students", "10", "--from", "2026-12-01"])
        .output()
        .unwrap();
    assert_eq!(tuesday.status.code(), Some(2));
    let message = stderr(&tuesday);
    assert!(message.contains("--from"), "{message}");
    assert!(message.contains("2026-12-01 is a tuesday"), "{message}");
    assert!(message.contains("2026-11-30"), "{message}");
    assert!(tuesday.stdout.is_empty());

    for args in [
        &["gen-scenario", "--students", "10", "--from", "30/11/2026"][..],
        &["gen-scenario", "--students", "-3"],
        &["gen-scenario", "--students", "ten"],
        &["gen-scenario"],
    ] {
        let out = cli().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = cli()
        .args(["gen-scenario", "--students", "10", "--from", "30/11/2026"])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("--from"), "{}", stderr(&out));

    // A folder that does not exist is not written to, and is named.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/school.json");
    let out = cli()
        .args(["gen-scenario", "--students", "10", "--out"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no/such/folder"), "{}", stderr(&out));
}

#[test]
fn without_from_the_data_starts_around_this_weeks_monday() {
    let out = succeeded(
        cli()
            .args(["gen-scenario", "--students", "30"])
            .output()
            .unwrap(),
        "gen-scenario without --from",
    );
    let scenario: Value = serde_json::from_str(&out).unwrap();
    // Sessions span the two weeks from this week's Monday. The margins of a week on either
    // side keep the test true when it runs across midnight on a Sunday.
    let now = SystemClock.now();
    let starts: Vec<DateTime<Utc>> = scenario["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["starts_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(!starts.is_empty());
    for start in starts {
        assert!(
            now - TimeDelta::days(15) < start && start < now + TimeDelta::days(22),
            "{start} is not in the weeks around {now}"
        );
    }
}

#[test]
fn help_shows_an_example() {
    let help = succeeded(
        cli().args(["help", "gen-scenario"]).output().unwrap(),
        "help gen-scenario",
    );
    assert!(
        help.contains("rappels gen-scenario --students 1000 --from 2026-11-30 --out school.json"),
        "{help}"
    );
}
