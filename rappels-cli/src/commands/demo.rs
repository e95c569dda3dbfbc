//! `rappels demo`: a sample school in a SQLite file, a week of sending into `.eml` files, and
//! a report of what went where — the README's first command.
//!
//! The demo is the real pipeline (`SqlStore` import, `Reminders::run`, the `.eml` mailer) on
//! embedded data whose dates are all in the week of 2026-11-23, run at fixed instants: its
//! output is the same whatever today is. It reads no configuration, so it can never send
//! real mail nor touch a production database.

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clap::Args;
use rappels_core::clock::SystemClock;
use rappels_core::domain::{Kind, Zone, format_instant, parse_instant};
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::ports::{Delivery, Email, MailError, Mailer};
use rappels_core::scenario::Scenario;
use rappels_core::service::{RunOptions, RunReport, Sender, ServiceConfig};
use rappels_core::unsubscribe::{UnsubscribeConfig, UnsubscribeSecret};
use rappels_smtp::{FileMailer, eml_file_name, parse_sender};
use rappels_sqlx::DatabaseUrl;

use crate::database;
use crate::failure::Failure;
use crate::output::table;
use crate::shell::shell_word;
use crate::urls::sqlite_url;

pub(crate) const LONG_ABOUT: &str = "\
Build a sample school in a SQLite file and send it a week of reminders into .eml files, \
to see what rappels does before configuring anything.

The school (École Horizon: eight students in Paris, Abidjan, New York and Réunion, their \
parents, sessions — one cancelled, one completed, one at 07:30 —, study plans and parents' \
messages) is built into the program, and every date in it falls in the week of 23 November \
2026. The demo imports it into DIR/rappels-demo.db, then runs the sending, exactly as \
`rappels run --at` would, at five instants of that week: the eve of Thursday's sessions, \
Thursday morning, the 10:00 inactivity reminders, parents' messages, and the Sunday digest. \
It prints each instant, the reminders sent then (kind, recipient, subject, file), the \
totals, and commands to explore the result.

Nothing leaves the machine: the e-mails are written to DIR/outbox, one .eml file per \
reminder, which any mail client opens. The demo reads no configuration (no RAPPELS_* \
variable, no database URL); its unsubscribe links are signed with a fixed demo secret. \
The output is the same on every run and every day.

DIR is created if needed. If it exists it must be empty or hold a previous demo (a \
rappels-demo.db file); a previous demo's database and .eml files are removed first, and \
nothing else is touched.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels demo
  rappels demo --dir /tmp/rappels-demo
  cargo run -q -p rappels-cli -- demo        # from a clone, nothing installed";

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Folder for the demo's database and e-mails; created if missing, and a previous
    /// demo in it is replaced.
    #[arg(long, value_name = "DIR", default_value = "rappels-demo")]
    dir: PathBuf,
}

/// The sample school, in the scenario format of RULES.md.
const SCHOOL: &str = include_str!("../../data/demo_school.json");

/// When the school was "exported" from the platform: Wednesday 18:00 in Paris, before the
/// first run. Only the import's bookkeeping uses it.
const EXPORTED_AT: &str = "2026-11-25T17:00:00Z";

/// The demo's files in DIR; nothing else is ever written or removed there.
const DATABASE_FILE: &str = "rappels-demo.db";
/// SQLite's companions of the database file.
const DATABASE_COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];
const OUTBOX: &str = "outbox";

/// Signs the demo's unsubscribe links. It is public, so it must never sign real links.
const DEMO_SECRET: &str = "rappels demo secret, not for production";

/// Where `rappels-web` listens by default, for the demo's sign-in links.
const WEB_SITE: &str = "http://127.0.0.1:8080";
/// The original system's development server, as in `run` without configuration.
const SITE_URL: &str = "http://localhost:8000";
/// The sample school signs its messages; `localhost` ends the Message-IDs, as in `run`
/// without configuration.
const SCHOOL_NAME: &str = "École Horizon";
const SENDER: &str = "École Horizon <noreply@localhost>";

/// One sending of the demo: the instant, and what to notice in it.
struct DemoRun {
    at: &'static str,
    what: &'static str,
}

/// The instants of the demo, in order. Each note says what the school's data makes due
/// then; the CLI tests check that every kind is sent.
const RUNS: [DemoRun; 5] = [
    DemoRun {
        at: "2026-11-25T17:45:00Z",
        what: "The eve of Thursday's sessions (18:30 in each student's zone; Léa's, in \
               Reunion, is caught up within the grace period), and Noah's reminder after 30 \
               days without activity (10:00 in New York).",
    },
    DemoRun {
        at: "2026-11-26T07:15:00Z",
        what: "Thursday morning: the 08:00 reminders of the day's sessions. Lucas's session \
               started at 07:30, so he gets none; Inès's was cancelled.",
    },
    DemoRun {
        at: "2026-11-26T09:30:00Z",
        what: "Inactivity reminders at 10:00: Inès, 3 days without activity, and Hugo, 7 days.",
    },
    DemoRun {
        at: "2026-11-26T12:05:00Z",
        what: "Parents' messages: Mariam to Awa, Sophie to Lucas. Mariam's message to Chloé is \
               refused: Chloé is not her child.",
    },
    DemoRun {
        at: "2026-11-29T19:15:00Z",
        what: "Sunday digests (20:00 local; Reunion's caught up): the week's sessions and next \
               week's goals. Hugo opted out of them; Abidjan's and New York's come later.",
    },
];

/// The instant to suggest for `plan` afterwards: Thursday 19:45 in Paris, when Awa's eve
/// reminder (18:30 in Abidjan) is due and no demo run has sent it.
const NEXT_AT: &str = "2026-11-26T19:45:00+01:00";

/// One reminder the demo wrote.
#[derive(Debug, Clone)]
struct SentLine {
    kind: Kind,
    to: String,
    subject: String,
    file: String,
}

/// The `.eml` mailer, noting what it wrote so the demo can list it per instant.
struct DemoMailer {
    files: FileMailer,
    sent: Mutex<Vec<SentLine>>,
}

impl DemoMailer {
    /// What was written since the last call, by kind then file: the run sends several
    /// messages at once, so the order they were written in differs from run to run.
    fn take(&self) -> Vec<SentLine> {
        let mut lines = std::mem::take(
            &mut *self
                .sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        lines.sort_by(|a, b| (a.kind, &a.file).cmp(&(b.kind, &b.file)));
        lines
    }
}

#[async_trait]
impl Mailer for DemoMailer {
    async fn send(&self, email: &Email) -> Result<Delivery, MailError> {
        let delivery = self.files.send(email).await?;
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(SentLine {
                kind: email.kind,
                to: email.to.to_string(),
                subject: email.message.subject.clone(),
                file: eml_file_name(email),
            });
        Ok(delivery)
    }
}

/// What one instant of the demo did.
struct RunResult {
    at: DateTime<Utc>,
    what: &'static str,
    report: RunReport,
    sent: Vec<SentLine>,
}

/// `show_engine_log`: the user asked for log output (`-v`). Otherwise the engine's log lines,
/// which repeat what the demo prints, are left out.
pub(crate) fn run(args: DemoArgs, show_engine_log: bool) -> Result<(), Failure> {
    let school = Scenario::from_json(SCHOOL).map_err(|e| {
        Failure::Failed(anyhow::anyhow!(
            "the demo school built into rappels is invalid: {e}"
        ))
    })?;
    let dir = args.dir;
    let url = sqlite_url(&dir.join(DATABASE_FILE))?;
    prepare_dir(&dir)?;
    let outbox = dir.join(OUTBOX);
    let database_url = DatabaseUrl::parse(&url).map_err(database::sql_failure)?;
    let work = || database::block_on(send_the_week(&database_url, &school, &outbox));
    let results = if show_engine_log {
        work()
    } else {
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), work)
    }?;
    let files = count_eml_files(&outbox)?;
    crate::output::emit(&report_text(&dir, &url, &school, &results, files))
}

/// Imports the school into a fresh database and runs the sending at each demo instant.
async fn send_the_week(
    url: &DatabaseUrl,
    school: &Scenario,
    outbox: &Path,
) -> Result<Vec<RunResult>, Failure> {
    let store = database::connect(url).await?;
    let result = async {
        store.migrate().await.map_err(database::sql_failure)?;
        store
            .import(school, instant(EXPORTED_AT), &|_| {})
            .await
            .map_err(database::sql_failure)?;
        let from = parse_sender(SENDER)
            .map_err(|e| Failure::Failed(anyhow::anyhow!("the demo sender is invalid: {e}")))?;
        let mailer = DemoMailer {
            files: FileMailer::new(outbox, from.clone()).map_err(|e| {
                Failure::Failed(anyhow::anyhow!("cannot create the demo's outbox: {e}"))
            })?,
            sent: Mutex::new(Vec::new()),
        };
        let config = ServiceConfig {
            runner_id: "rappels-demo".to_owned(),
            message_id_domain: from.email.domain().to_owned(),
            messages: MessageConfig {
                site_url: SITE_URL.to_owned(),
                platform_name: SCHOOL_NAME.to_owned(),
                ..MessageConfig::default()
            },
            unsubscribe: Some(UnsubscribeConfig {
                secret: UnsubscribeSecret::new(DEMO_SECRET)
                    .expect("the demo secret is long enough"),
                base_url: SITE_URL.to_owned(),
            }),
            ..ServiceConfig::default()
        };
        // The system clock is never read: every run gives its instant.
        let engine = Sender::new(
            store.clone(),
            mailer,
            SystemClock,
            Templates::embedded(),
            config,
        );
        let mut results = Vec::new();
        for run in &RUNS {
            let at = instant(run.at);
            let options = RunOptions {
                at: Some(at),
                ..RunOptions::default()
            };
            let report = engine.run(&options).await.map_err(|e| {
                Failure::Failed(anyhow::anyhow!(
                    "the demo's run at {} failed: {e}",
                    format_instant(at)
                ))
            })?;
            results.push(RunResult {
                at,
                what: run.what,
                report,
                sent: engine.mailer().take(),
            });
        }
        Ok(results)
    }
    .await;
    store.close().await;
    result
}

/// One of the demo's fixed instants.
fn instant(raw: &str) -> DateTime<Utc> {
    parse_instant(raw).expect("the demo's instants are valid")
}

/// Makes DIR ready: created if missing, used as is if empty, emptied of a previous demo's
/// files (and only those) if it holds one; any other folder is refused.
fn prepare_dir(dir: &Path) -> Result<(), Failure> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Failure::Failed(anyhow::anyhow!("cannot {what} {}: {e}", path.display()))
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e));
        }
        Err(e) => return Err(io("read", dir, e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(Failure::invalid(format_args!(
                "--dir {}: it exists and is not a folder",
                dir.display()
            )));
        }
        Ok(_) => {}
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| io("read", dir, e))?
        .next()
        .is_none();
    if empty {
        return Ok(());
    }
    if !dir.join(DATABASE_FILE).is_file() {
        return Err(Failure::invalid(format_args!(
            "--dir {}: the folder is not empty and holds no previous demo ({DATABASE_FILE}); \
             choose another folder with --dir, or empty this one",
            dir.display()
        )));
    }
    let remove = |path: &Path| match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io("remove", path, e)),
        _ => Ok(()),
    };
    remove(&dir.join(DATABASE_FILE))?;
    for suffix in DATABASE_COMPANIONS {
        remove(&dir.join(format!("{DATABASE_FILE}{suffix}")))?;
    }
    let outbox = dir.join(OUTBOX);
    if outbox.is_dir() {
        for entry in std::fs::read_dir(&outbox).map_err(|e| io("read", &outbox, e))? {
            let path = entry.map_err(|e| io("read", &outbox, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".eml") || name.ends_with(".eml.partial") {
                remove(&path)?;
            }
        }
    }
    Ok(())
}

/// The `.eml` files in the outbox: what a mail client would show.
fn count_eml_files(outbox: &Path) -> Result<usize, Failure> {
    let entries = std::fs::read_dir(outbox)
        .map_err(|e| Failure::Failed(anyhow::anyhow!("cannot read {}: {e}", outbox.display())))?;
    Ok(entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count())
}

/// The whole printed report: each instant with what it sent, the totals, where the files
/// are, and what to try next.
fn report_text(
    dir: &Path,
    url: &str,
    school: &Scenario,
    results: &[RunResult],
    files: usize,
) -> String {
    let home = school.settings.timezone;
    let mut other_zones: Vec<Zone> = school
        .students
        .iter()
        .map(|s| s.zone(home))
        .filter(|&zone| zone != home)
        .collect();
    other_zones.sort_by_key(|zone| zone.name());
    other_zones.dedup();
    let mut out = format!(
        "rappels demo: a sample school ({} students, {} parents, {} sessions) in {}, and a \
         week of its reminders sent at {} instants.\n",
        school.students.len(),
        school.parents.len(),
        school.sessions.len(),
        dir.join(DATABASE_FILE).display(),
        results.len()
    );
    for result in results {
        out.push('\n');
        out.push_str(&run_text(result, home, &other_zones));
    }
    let sent: Vec<&SentLine> = results.iter().flat_map(|r| &r.sent).collect();
    let by_kind: Vec<String> = Kind::ALL
        .iter()
        .map(|&kind| {
            let n = sent.iter().filter(|s| s.kind == kind).count();
            format!("{n} {}", kind.as_str())
        })
        .collect();
    let _ = writeln!(
        out,
        "\nSent {} reminders: {}.",
        sent.len(),
        by_kind.join(", ")
    );
    let trouble = results
        .iter()
        .map(|r| r.report.failed + r.report.retried + r.report.expired + r.report.skipped)
        .sum::<usize>();
    if trouble > 0 {
        let _ = writeln!(
            out,
            "{trouble} reminders were not sent (failed, retried, expired or skipped): run \
             `rappels -v demo` to see why."
        );
    }
    let database = dir.join(DATABASE_FILE);
    let outbox = dir.join(OUTBOX);
    let _ = writeln!(out, "Database: {} ({url})", database.display());
    let _ = writeln!(
        out,
        "E-mails:  {}{} ({files} .eml files, one per reminder; any mail client opens them)",
        outbox.display(),
        std::path::MAIN_SEPARATOR
    );
    let _ = writeln!(
        out,
        "\nNothing left this machine: the school is made up, the e-mails are files, and the \
         unsubscribe links are signed with the demo secret {DEMO_SECRET:?}."
    );
    let url = shell_word(url);
    let _ = writeln!(
        out,
        "\nTry next:\n  \
         rappels plan --db --database-url {url} --at {NEXT_AT} --format table\n      \
         # what a run at 19:45 in Paris on Thursday would send: Awa's reminder for Friday\n  \
         ls {}\n  \
         RAPPELS_MAILER={} rappels run --database-url {url} --at {NEXT_AT}\n      \
         # send it, into the same folder\n  \
         rappels init\n      \
         # your own school: a commented rappels.toml and an empty database (see the README)",
        shell_word(&outbox.display().to_string()),
        shell_word(&format!("file:{}", outbox.display())),
    );
    // The web pages read the same database from wherever they are started: an absolute
    // path.
    let absolute = std::fs::canonicalize(&database).map_or_else(
        |_| url.clone(),
        |path| shell_word(&format!("sqlite://{}", path.display())),
    );
    let _ = writeln!(
        out,
        "\nThe web pages of the demo school (from a checkout of rappels):\n  \
         export RAPPELS_DATABASE_URL={absolute} RAPPELS_SECRET={} RAPPELS_SITE_URL={WEB_SITE}\n  \
         cargo run -p rappels-web\n      \
         # serves {WEB_SITE}; in another terminal, with the same variables:\n  \
         rappels login-link --parent 10\n      \
         # a sign-in link for Mariam, Awa's mother: open it (or --student 1, --admin YOUR_NAME)",
        shell_word(DEMO_SECRET),
    );
    out
}

/// One instant: when it is in the school's zones, what to notice, and the table of what
/// was sent.
fn run_text(result: &RunResult, home: Zone, others: &[Zone]) -> String {
    let local = result.at.with_timezone(&home.tz());
    let mut out = format!(
        "{} in {} ({})\n",
        local.format("%A %-d %B %Y, %H:%M"),
        place(home),
        format_instant(result.at)
    );
    let elsewhere: Vec<String> = others
        .iter()
        .map(|&zone| {
            format!(
                "{} in {}",
                result.at.with_timezone(&zone.tz()).format("%H:%M"),
                place(zone)
            )
        })
        .collect();
    if !elsewhere.is_empty() {
        let _ = writeln!(out, "  ({})", elsewhere.join(", "));
    }
    out.push_str(&wrap(result.what, 90, "  "));
    if result.sent.is_empty() {
        out.push_str("  Nothing was sent.\n");
    } else {
        let mut rows = vec![[
            "KIND".to_owned(),
            "TO".to_owned(),
            "SUBJECT".to_owned(),
            "FILE".to_owned(),
        ]];
        rows.extend(result.sent.iter().map(|s| {
            [
                s.kind.as_str().to_owned(),
                s.to.clone(),
                s.subject.clone(),
                s.file.clone(),
            ]
        }));
        out.push('\n');
        for line in table(&rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let r = &result.report;
    let trouble = [
        (r.retried, "retried"),
        (r.failed, "failed"),
        (r.expired, "expired"),
        (r.cancelled, "cancelled"),
        (r.skipped, "skipped"),
    ];
    let trouble: Vec<String> = trouble
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if !trouble.is_empty() {
        let _ = writeln!(out, "  Not sent: {}.", trouble.join(", "));
    }
    out
}

/// `text` in lines of at most `width` characters (a longer word stands alone), each
/// starting with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        let empty = line.len() == indent.len();
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
        } else if !empty {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The place a zone is named after: `America/New_York` → `New York`.
fn place(zone: Zone) -> String {
    let name = zone.name();
    name.rsplit('/').next().unwrap_or(name).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_school_is_valid_and_storable() {
        let school = Scenario::from_json(SCHOOL).unwrap();
        rappels_sqlx::check_storable(&school).unwrap();
        assert_eq!(school.students.len(), 8);
    }

    #[test]
    fn the_instants_are_valid_and_in_order() {
        let instants: Vec<DateTime<Utc>> = RUNS.iter().map(|r| instant(r.at)).collect();
        assert!(instants.windows(2).all(|w| w[0] < w[1]));
        assert!(instant(EXPORTED_AT) < instants[0]);
        assert!(parse_instant(NEXT_AT).is_ok());
        assert!(UnsubscribeSecret::new(DEMO_SECRET).is_ok());
    }

    #[test]
    fn notes_are_wrapped() {
        assert_eq!(
            wrap("one two three four", 12, "  "),
            "  one two\n  three four\n"
        );
        assert_eq!(wrap("unbreakable", 5, "  "), "  unbreakable\n");
    }

    #[test]
    fn places_are_named_after_their_zone() {
        assert_eq!(place(Zone::parse("America/New_York").unwrap()), "New York");
        assert_eq!(place(Zone::parse("Europe/Paris").unwrap()), "Paris");
    }
}
