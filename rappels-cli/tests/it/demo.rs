//! `rappels demo`: the README's first command, run as a newcomer would, in an empty folder
//! with no configuration.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use mailparse::MailHeaderMap;
use serde_json::Value;

use crate::support::{cli, stderr, succeeded};

/// The files the demo writes: one per reminder, named after its Message-ID. The school and
/// the instants are fixed, so this list is the same on every run and every day.
const FILES: [&str; 15] = [
    "inactivity.4.2026-11-26@localhost.eml",
    "inactivity.5.2026-11-26@localhost.eml",
    "inactivity.6.2026-11-25@localhost.eml",
    "manual.500@localhost.eml",
    "manual.501@localhost.eml",
    "session_day.3.102.2026-11-26@localhost.eml",
    "session_day.7.104.2026-11-26@localhost.eml",
    "session_eve.2.101.2026-11-25@localhost.eml",
    "session_eve.3.102.2026-11-25@localhost.eml",
    "session_eve.7.104.2026-11-25@localhost.eml",
    "weekly.2.2026-11-29@localhost.eml",
    "weekly.3.2026-11-29@localhost.eml",
    "weekly.4.2026-11-29@localhost.eml",
    "weekly.7.2026-11-29@localhost.eml",
    "weekly.8.2026-11-29@localhost.eml",
];

const KINDS: [&str; 5] = [
    "session_eve",
    "session_day",
    "inactivity",
    "weekly",
    "manual",
];

fn demo_in(dir: &Path, args: &[&str]) -> Output {
    cli()
        .current_dir(dir)
        .arg("demo")
        .args(args)
        .output()
        .unwrap()
}

/// The `.eml` files of an outbox, by name.
fn eml_files(outbox: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

/// The number in "Sent N reminders: …".
fn printed_total(out: &str) -> usize {
    let line = out
        .lines()
        .find(|l| l.starts_with("Sent "))
        .unwrap_or_else(|| panic!("no total in:\n{out}"));
    line["Sent ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The instants the demo ran at, from its headings ("… in Paris (2026-11-25T17:45:00Z)").
fn printed_instants(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with(' ') && l.contains(" in Paris ("))
        .map(|l| {
            let start = l.rfind('(').unwrap() + 1;
            l[start..l.len() - 1].to_owned()
        })
        .collect()
}

fn plan_json(url: &str, at: &str) -> Value {
    let out = succeeded(
        cli()
            .args(["plan", "--db", "--database-url", url, "--at", at])
            .output()
            .unwrap(),
        &format!("plan --db at {at}"),
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_demo_sends_every_kind_into_eml_files_and_leaves_nothing_due() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo_in(tmp.path(), &[]);
    // The engine's log would repeat the report: without -v, standard error stays quiet.
    assert_eq!(stderr(&out), "");
    let out = succeeded(out, "demo");
    let dir = tmp.path().join("rappels-demo");
    let outbox = dir.join("outbox");

    // One file per reminder sent, as many as the totals say and as the tables list.
    let files = eml_files(&outbox);
    assert_eq!(files, FILES, "{out}");
    assert_eq!(printed_total(&out), files.len(), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.ends_with("@localhost.eml"))
            .count(),
        files.len(),
        "{out}"
    );
    assert!(
        out.contains("15 .eml files") && out.contains("rappels-demo/outbox"),
        "{out}"
    );

    // Every kind is among the Message-IDs; automatic kinds carry an unsubscribe link
    // signed with the demo secret, parents' messages none.
    let mut kinds = BTreeSet::new();
    for name in &files {
        let raw = std::fs::read(outbox.join(name)).unwrap();
        let (headers, _) = mailparse::parse_headers(&raw).unwrap();
        let id = headers.get_first_value("Message-ID").unwrap();
        let kind = id
            .trim_start_matches('<')
            .split('.')
            .next()
            .unwrap()
            .to_owned();
        let unsubscribe = headers.get_first_value("List-Unsubscribe");
        assert_eq!(
            unsubscribe.is_none(),
            kind == "manual",
            "{name}: {unsubscribe:?}"
        );
        if let Some(url) = unsubscribe {
            assert!(
                url.starts_with("<http://localhost:8000/unsubscribe?token="),
                "{url}"
            );
        }
        kinds.insert(kind);
    }
    assert_eq!(kinds, KINDS.iter().map(|k| (*k).to_owned()).collect());

    // The database holds the history: nothing is left due at any instant the demo ran.
    assert!(dir.join("rappels-demo.db").is_file());
    let url = format!("sqlite://{}", dir.join("rappels-demo.db").display());
    let instants = printed_instants(&out);
    assert_eq!(instants.len(), 5, "{out}");
    for at in &instants {
        let plan = plan_json(&url, at);
        assert_eq!(plan["due"], Value::Array(Vec::new()), "at {at}: {plan}");
    }
    // What the output suggests trying next is what it says: Awa's reminder for Friday.
    assert!(
        out.contains(
            "rappels plan --db --database-url sqlite://rappels-demo/rappels-demo.db \
             --at 2026-11-26T19:45:00+01:00 --format table"
        ),
        "{out}"
    );
    let next = plan_json(&url, "2026-11-26T19:45:00+01:00");
    let due = next["due"].as_array().unwrap();
    assert_eq!(due.len(), 1, "{next}");
    assert_eq!(due[0]["kind"], "session_eve");
    assert_eq!(due[0]["to"], "awa.kone@example.org");

    // The printed demo secret is the one that signed the links: `unsubscribe` accepts them.
    let secret = out
        .split("demo secret \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no demo secret in:\n{out}"));
    let raw = std::fs::read(outbox.join("weekly.7.2026-11-29@localhost.eml")).unwrap();
    let (headers, _) = mailparse::parse_headers(&raw).unwrap();
    let link = headers.get_first_value("List-Unsubscribe").unwrap();
    let link = link.trim_start_matches('<').trim_end_matches('>');
    let done = succeeded(
        cli()
            .env("RAPPELS_SECRET", secret)
            .args(["unsubscribe", "--token", link, "--database-url", &url])
            .output()
            .unwrap(),
        "unsubscribe with the demo secret",
    );
    assert_eq!(done, "student 7 will no longer receive weekly reminders\n");
}

#[test]
fn a_second_demo_starts_afresh_and_prints_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let first = succeeded(demo_in(tmp.path(), &[]), "first demo");
    let dir = tmp.path().join("rappels-demo");
    // Files of the user's own in the folder are not the demo's: they stay.
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let second = succeeded(demo_in(tmp.path(), &[]), "second demo");
    assert_eq!(first, second);
    assert_eq!(eml_files(&dir.join("outbox")), FILES);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_folder_that_is_not_a_demo_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rappels-demo");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("thesis.tex"), "six years of work").unwrap();
    let out = demo_in(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    let left: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left, [dir.join("thesis.tex")]);

    // A file where the folder should be is refused too.
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    let out = demo_in(tmp.path(), &["--dir", "plain-file"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn the_demo_ignores_the_mail_and_database_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    // A configuration that would send real mail, or fail, if the demo read it.
    let out = cli()
        .current_dir(tmp.path())
        .env("RAPPELS_MAILER", "smtp")
        .env("RAPPELS_SMTP_HOST", "smtp.invalid")
        .env(
            "RAPPELS_DATABASE_URL",
            "postgres://nobody@db.invalid/rappels",
        )
        .env("DATABASE_URL", "postgres://nobody@db.invalid/rappels")
        .env("RAPPELS_SECRET", "short")
        .env("RAPPELS_FROM", "not an address")
        .args(["demo", "--dir", "a demo folder?"])
        .output()
        .unwrap();
    let out = succeeded(out, "demo with a hostile environment");
    assert_eq!(
        eml_files(&tmp.path().join("a demo folder?/outbox")),
        FILES,
        "{out}"
    );
    assert!(tmp.path().join("a demo folder?/rappels-demo.db").is_file());
    // The suggested commands quote the folder for the shell.
    assert!(out.contains("ls 'a demo folder?/outbox'"), "{out}");
}

#[test]
fn help_explains_the_demo() {
    let out = succeeded(
        cli().args(["demo", "--help"]).output().unwrap(),
        "demo --help",
    );
    // Lines are wrapped to the terminal: compare words.
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in ["sample school", ".eml", "--dir", "reads no configuration"] {
        assert!(out.contains(words), "{words:?} in:\n{out}");
    }
}
