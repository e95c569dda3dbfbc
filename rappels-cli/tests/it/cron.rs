//! `rappels cron`: the crontab entries parse as cron reads them and run as `sh` runs them,
//! the systemd units have the keys they need and pass `systemd-analyze verify` where it is
//! installed, and paths that need quoting are quoted for each.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

use crate::fixture;
use crate::support::{cli, note_once, stderr, succeeded};

/// The binary the tests run, which `cron` names by default.
fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rappels")
}

fn cron(args: &[&str]) -> String {
    succeeded(
        cli().arg("cron").args(args).output().unwrap(),
        &format!("cron {args:?}"),
    )
}

/// One crontab entry: five time fields and a command.
#[derive(Debug)]
struct Entry {
    fields: [String; 5],
    command: String,
}

/// The entries of a crontab: every line that is neither blank nor a comment.
fn entries(crontab: &str) -> Vec<Entry> {
    crontab
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|line| {
            let mut rest = line.trim_start();
            let fields = std::array::from_fn(|_| {
                let (field, after) = rest
                    .split_once(char::is_whitespace)
                    .unwrap_or_else(|| panic!("fewer than 6 fields: {line:?}"));
                rest = after.trim_start();
                field.to_owned()
            });
            assert!(!rest.is_empty(), "no command: {line:?}");
            Entry {
                fields,
                command: rest.to_owned(),
            }
        })
        .collect()
}

/// True when `field` is a cron time field over `min..=max`: a comma-separated list of `*`,
/// `N` or `N-M`, each optionally followed by `/STEP`.
fn valid_field(field: &str, min: u32, max: u32) -> bool {
    let number = |s: &str| s.parse::<u32>().ok().filter(|n| (min..=max).contains(n));
    field.split(',').all(|item| {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let step_ok = step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| n > 0));
        let range_ok = match range.split_once('-') {
            _ if range == "*" => true,
            Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
            None => number(range).is_some(),
        };
        step_ok && range_ok
    })
}

/// The command as cron hands it to `sh`: `\%` becomes `%`, and an unescaped `%` (which cron
/// would turn into a new line) is a bug of the generator.
fn as_cron_runs_it(command: &str) -> String {
    let mut out = String::new();
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                out.push('%');
                chars.next();
            }
            '%' => panic!("unescaped % in a crontab command: {command}"),
            c => out.push(c),
        }
    }
    out
}

#[test]
fn time_fields_are_checked() {
    assert!(valid_field("*/5", 0, 59));
    assert!(valid_field("15", 0, 59));
    assert!(valid_field("1-5,7", 0, 7));
    assert!(!valid_field("60", 0, 59));
    assert!(!valid_field("*/0", 0, 59));
    assert!(!valid_field("5-1", 0, 59));
    assert!(!valid_field("mon", 0, 7));
}

#[test]
fn crontab_entries_are_valid_and_use_flock_and_a_log() {
    let tmp = tempfile::tempdir().unwrap();
    // A secret in the environment must never reach the output.
    let out = cli()
        .current_dir(tmp.path())
        .env("RAPPELS_SMTP_PASSWORD", "hunter2-do-not-print")
        .env("RAPPELS_SECRET", "a secret long enough to sign links")
        .arg("cron")
        .output()
        .unwrap();
    let out = succeeded(out, "cron");
    assert!(
        !out.contains("hunter2") && !out.contains("a secret long enough"),
        "{out}"
    );
    let entries = entries(&out);
    assert_eq!(entries.len(), 2, "{out}");
    let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    for entry in &entries {
        for (field, (min, max)) in entry.fields.iter().zip(ranges) {
            assert!(valid_field(field, min, max), "{field:?} in {entry:?}");
        }
    }
    let bin = binary().display().to_string();
    let here = std::fs::canonicalize(tmp.path()).unwrap();
    let log = here.join("rappels.log").display().to_string();
    let run = &entries[0];
    assert_eq!(run.fields.join(" "), "*/5 * * * *");
    assert_eq!(
        run.command,
        format!(
            "flock -n {} {bin} run >> {log} 2>&1",
            here.join("rappels.lock").display()
        )
    );
    let schedule = &entries[1];
    assert_eq!(schedule.fields.join(" "), "15 2 * * *");
    assert_eq!(
        schedule.command,
        format!(
            "flock -n {} {bin} schedule-sessions --days 14 >> {log} 2>&1",
            here.join("rappels-schedule-sessions.lock").display()
        )
    );
    // The variables are comments with placeholders, the database made absolute.
    for name in [
        "RAPPELS_DATABASE_URL",
        "RAPPELS_MAILER",
        "RAPPELS_SMTP_PASSWORD",
    ] {
        assert!(out.contains(&format!("\n# {name}=")), "{name} in:\n{out}");
    }
    assert!(
        out.contains(&format!(
            "# RAPPELS_DATABASE_URL=sqlite://{}",
            here.join("rappels.db").display()
        )),
        "{out}"
    );
}

#[cfg(unix)]
#[test]
fn crontab_commands_run_with_paths_that_need_quoting() {
    if Command::new("flock").arg("--version").output().is_err() {
        static NOTE: Once = Once::new();
        note_once(
            &NOTE,
            "flock is not installed: the crontab command was not run",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("l'école à 100% $HOME");
    std::fs::create_dir(&odd).unwrap();
    let bin = odd.join("rap pels");
    std::os::unix::fs::symlink(binary(), &bin).unwrap();
    let log = odd.join("my log.txt");
    let lock = odd.join("run lock");
    let out = cron(&[
        "--binary",
        bin.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--lock",
        lock.to_str().unwrap(),
    ]);
    let entries = entries(&out);
    // A database with the small school, and a folder for the messages.
    let db = format!("sqlite://{}", tmp.path().join("rappels.db").display());
    succeeded(
        cli()
            .args(["import", fixture("school.json").to_str().unwrap()])
            .args(["--database-url", &db])
            .output()
            .unwrap(),
        "import",
    );
    let outbox = tmp.path().join("outbox");
    let sh = |entry: &Entry| {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(as_cron_runs_it(&entry.command))
            .current_dir(tmp.path())
            .env("RAPPELS_DATABASE_URL", &db)
            .env("RAPPELS_MAILER", format!("file:{}", outbox.display()));
        for name in [
            "DATABASE_URL",
            "RAPPELS_LOG",
            "RAPPELS_FROM",
            "RAPPELS_SITE_URL",
            "RAPPELS_SECRET",
        ] {
            sh.env_remove(name);
        }
        sh.status().unwrap()
    };
    let status = sh(&entries[0]);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{status}; log:\n{logged}");
    assert!(logged.contains("run at 20"), "log:\n{logged}");
    // Whether anything is due depends on today; the run itself is what is checked.
    assert!(lock.exists(), "the lock file was not created");

    // The daily entry runs too, under its own lock next to the first; whether
    // `schedule-sessions` succeeds is its own tests' business: here, that flock found the
    // lock and rappels was started.
    sh(&entries[1]);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        odd.join("run lock-schedule-sessions").exists(),
        "log:\n{logged}"
    );
    assert!(
        !logged.contains("flock:") && !logged.contains("not found"),
        "log:\n{logged}"
    );
}

/// The files of `cron --systemd`, by name, from the `# --- file: NAME ---` markers.
fn unit_files(out: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in out.lines() {
        if let Some(name) = line
            .strip_prefix("# --- file: ")
            .and_then(|rest| rest.strip_suffix(" ---"))
        {
            files.extend(current.take());
            current = Some((name.to_owned(), String::new()));
        } else if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    files.extend(current);
    files
}

/// A unit's settings: section → key → values, comments left out.
fn sections(unit: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut sections: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            sections.entry(section.clone()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a setting: {line:?}"));
        assert!(!section.is_empty(), "{line:?} before any section");
        sections
            .get_mut(&section)
            .unwrap()
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    sections
}

fn value<'a>(
    sections: &'a BTreeMap<String, BTreeMap<String, Vec<String>>>,
    section: &str,
    key: &str,
) -> &'a str {
    let values = &sections[section][key];
    assert_eq!(values.len(), 1, "[{section}] {key}");
    &values[0]
}

/// Runs `systemd-analyze verify` on the units in a temp dir, or says once that it is not
/// installed.
fn verify(files: &BTreeMap<String, String>) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        static NOTE: Once = Once::new();
        note_once(
            &NOTE,
            "systemd-analyze is not installed: the systemd units were checked by key only",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}\n{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Checks the four units of `cron --systemd` and returns their `ExecStart=` lines.
fn check_units(out: &str) -> Vec<String> {
    let files = unit_files(out);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "rappels-run.service",
            "rappels-run.timer",
            "rappels-schedule-sessions.service",
            "rappels-schedule-sessions.timer"
        ],
        "{out}"
    );
    let mut exec_starts = Vec::new();
    for job in ["rappels-run", "rappels-schedule-sessions"] {
        let service = sections(&files[&format!("{job}.service")]);
        assert!(service.contains_key("Unit"), "{job}.service");
        assert_eq!(value(&service, "Service", "Type"), "oneshot");
        assert_eq!(
            value(&service, "Service", "EnvironmentFile"),
            "-/etc/rappels/env"
        );
        exec_starts.push(value(&service, "Service", "ExecStart").to_owned());
        let settings: Vec<&String> = service.values().flat_map(|s| s.keys()).collect();
        assert!(
            !settings
                .iter()
                .any(|k| k.contains("Environment") && k.as_str() != "EnvironmentFile"),
            "no variable inline: {settings:?}"
        );

        let timer = sections(&files[&format!("{job}.timer")]);
        assert!(timer.contains_key("Unit"), "{job}.timer");
        assert!(!value(&timer, "Timer", "OnCalendar").is_empty());
        assert_eq!(value(&timer, "Timer", "Persistent"), "true");
        assert_eq!(value(&timer, "Install", "WantedBy"), "timers.target");
    }
    let run_timer = sections(&files["rappels-run.timer"]);
    assert_eq!(value(&run_timer, "Timer", "OnCalendar"), "*:0/5");
    verify(&files);
    exec_starts
}

#[test]
fn systemd_units_have_their_keys_and_verify() {
    let out = cron(&["--systemd"]);
    assert!(
        out.contains("systemctl enable --now rappels-run.timer"),
        "{out}"
    );
    assert!(out.contains("RAPPELS_SMTP_PASSWORD=change-me"), "{out}");
    let bin = binary().display().to_string();
    assert_eq!(
        check_units(&out),
        [
            format!("{bin} run"),
            format!("{bin} schedule-sessions --days 14")
        ]
    );
}

#[cfg(unix)]
#[test]
fn systemd_units_quote_a_program_path_with_spaces() {
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("my apps 100% $HOME");
    std::fs::create_dir(&odd).unwrap();
    let bin = odd.join("rap pels");
    std::os::unix::fs::symlink(binary(), &bin).unwrap();
    let out = cron(&["--systemd", "--binary", bin.to_str().unwrap()]);
    let quoted = format!("\"{}\"", bin.display().to_string().replace('%', "%%"));
    assert_eq!(
        check_units(&out),
        [
            format!("{quoted} run"),
            format!("{quoted} schedule-sessions --days 14")
        ]
    );
}

#[test]
fn log_and_lock_are_for_crontab_only() {
    for flag in ["--log", "--lock"] {
        let out = cli()
            .args(["cron", "--systemd", flag, "/tmp/x"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
    }
}

#[test]
fn a_program_path_systemd_refuses_is_a_usage_error() {
    let out = cli()
        .args(["cron", "--systemd", "--binary", "/opt/l'école/rappels"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("quote"), "{}", stderr(&out));
}

#[test]
fn relative_paths_are_made_absolute() {
    let tmp = tempfile::tempdir().unwrap();
    let out = succeeded(
        cli()
            .current_dir(tmp.path())
            .args([
                "cron",
                "--binary",
                "bin/rappels",
                "--log",
                "logs/rappels.log",
            ])
            .output()
            .unwrap(),
        "cron with relative paths",
    );
    let here = std::fs::canonicalize(tmp.path()).unwrap();
    let entries = entries(&out);
    let words: Vec<&str> = entries[0].command.split(' ').collect();
    assert_eq!(words[3], here.join("bin/rappels").display().to_string());
    assert_eq!(
        words[6],
        here.join("logs/rappels.log").display().to_string(),
        "{out}"
    );
}

#[test]
fn a_folder_name_with_a_line_break_never_reaches_the_crontab() {
    let tmp = tempfile::tempdir().unwrap();
    // Without the check, the folder's name (through the default database URL) ends a
    // comment line and makes a live job of the rest.
    let here = tmp.path().join("school\n* * * * * touch pwned #");
    std::fs::create_dir(&here).unwrap();
    let log = tmp.path().join("rappels.log");
    let lock = tmp.path().join("rappels.lock");
    let out = cli()
        .current_dir(&here)
        .arg("cron")
        .arg("--log")
        .arg(&log)
        .arg("--lock")
        .arg(&lock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("control character"),
        "{}",
        stderr(&out)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(entries(&printed).is_empty(), "{printed}");
}
